"""A default fit on a quiet machine and on a busy one, with mdnlite's BLAS thread policy and with
two threads forced.

    python benchmarks/bench_busy.py [--sizes 300,10000] [--repeats 1] [--json FILE]

"Busy" is one other process spinning on a core for the whole fit (a second job, a browser, a
build): on a machine of two cores it leaves one free. Each fit is ``MDN(random_state=0)`` on
the inverse sine with the defaults (five networks, about 10,000 optimizer steps), once under
``config_context(blas_threads="auto")`` (the policy: one thread for these small products)
and once under ``config_context(blas_threads=2)``. The runs are interleaved (for each
repeat: quiet, then busy; in each, the policy, then two threads), and the table gives the
median seconds and the ratios measured in the same run. Needs threadpoolctl (without it the
two settings are the same). Target: a busy fit at most 1.5 times a quiet one.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import time

import numpy as np

import mdnlite


def spin():
    while True:
        pass


def fit_seconds(n, threads):
    X, y = mdnlite.datasets.inverse_sine(n, random_state=0)
    with mdnlite.config_context(blas_threads=threads):
        start = time.perf_counter()
        mdnlite.MDN(random_state=0, verbose=0).fit(X, y)
        return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="300,10000")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = {"policy": "auto", "two threads": 2}
    times = {(n, load, name): [] for n in sizes for load in ("quiet", "busy")
             for name in settings}
    for _ in range(args.repeats):
        for n in sizes:
            for load in ("quiet", "busy"):
                spinner = None
                if load == "busy":
                    spinner = multiprocessing.Process(target=spin, daemon=True)
                    spinner.start()
                    time.sleep(0.5)
                try:
                    for name, threads in settings.items():
                        seconds = fit_seconds(n, threads)
                        times[n, load, name].append(seconds)
                        print(f"N={n} {load} {name}: {seconds:.2f} s", flush=True)
                finally:
                    if spinner is not None:
                        spinner.terminate()
                        spinner.join()
    median = {key: statistics.median(value) for key, value in times.items()}
    rows = ["| N | setting | quiet (s) | busy (s) | busy / quiet |", "|---|---|---|---|---|"]
    summary = []
    for n in sizes:
        for name in settings:
            quiet, busy = median[n, "quiet", name], median[n, "busy", name]
            rows.append(f"| {n:,} | {name} | {quiet:.2f} | {busy:.2f} | {busy / quiet:.2f} |")
            summary.append({"n": n, "setting": name, "quiet": quiet, "busy": busy})
        for load in ("quiet", "busy"):
            ratio = median[n, load, "two threads"] / median[n, load, "policy"]
            rows.append(f"| {n:,} | two threads / policy, {load} | | | {ratio:.2f} |")
    print("\n".join(rows))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"numpy": np.__version__, "cores": os.cpu_count(),
                       "repeats": args.repeats, "rows": summary}, f, indent=1)


if __name__ == "__main__":
    main()
