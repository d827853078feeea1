"""Every prediction method on many rows: seconds and peak memory growth, at N = 1e4, 1e5, 1e6.

    python benchmarks/bench_predict.py [--sizes 10000,100000,1000000] [--cap 60]
                                       [--only predict,sample] [--json FILE]

Two models of K = 10 components on 3 inputs (hidden layers 64 x 64, a short fit: the weights
matter little to the cost): D = 1 with diagonal scales, and D = 3 with full covariances.
Memory is the peak of NumPy's allocations above what was held before the call (tracemalloc,
which NumPy reports to), so the inputs and the model are not counted. A method whose time at
one size, times the growth in N, would pass ``--cap`` seconds is not run at the next size
(shown as "-"). Runs with the default ``prediction_memory`` (256 MiB) and the default BLAS
thread policy. Targets: growth under 512 MiB at 1e6 rows for every method, and time per row
within 1.5 times from the smallest N to the largest.
"""

import argparse
import json
import os
import time
import tracemalloc

import numpy as np

import mdnlite

LEVELS = [0.05, 0.5, 0.95]


def methods(model, D):
    calls = {
        "predict": lambda X, y: model.predict(X),
        "predict_variance": lambda X, y: model.predict_variance(X),
        "predict_covariance": lambda X, y: model.predict_covariance(X),
        "predict_approx_mode": lambda X, y: model.predict_approx_mode(X),
        "predict_mode": lambda X, y: model.predict_mode(X),
        "predict_modes": lambda X, y: model.predict_modes(X),
        "predict_quantiles": lambda X, y: model.predict_quantiles(X, LEVELS),
        "predict_interval": lambda X, y: model.predict_interval(X, 0.9),
        "cdf": lambda X, y: model.cdf(X, y),
        "crps": lambda X, y: model.crps(X, y),
        "energy_score": lambda X, y: model.energy_score(X, y, n_samples=100, random_state=0),
        "calibration": lambda X, y: model.calibration(X, y),
        "interval_coverage": lambda X, y: model.interval_coverage(X, y),
        "score_samples": lambda X, y: model.score_samples(X, y),
        "predict_mixture": lambda X, y: model.predict_mixture(X),
        "sample": lambda X, y: model.sample(X, 1, random_state=0),
        "diagnostics": lambda X, y: model.diagnostics(X, y),
    }
    if D == 1:
        calls["predict_interval hdr"] = lambda X, y: model.predict_interval(X, 0.9, kind="hdr")
    return calls


def model_and_data(D, covariance, n_max):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_max, 3))
    y = np.sin(X[:, :D] * 2) + 0.3 * rng.normal(size=(n_max, D))
    model = mdnlite.MDN(10, covariance=covariance, n_members=1, hidden_sizes=(64, 64),
                        max_epochs=5, random_state=0, verbose=0).fit(X[:5000], y[:5000])
    return model, X, y


def measure(call, X, y):
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    result = call(X, y)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    del result
    return seconds, peak / 2 ** 20


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--cap", type=float, default=60.0, help="seconds a run may be expected to take")
    p.add_argument("--only", help="comma-separated methods")
    p.add_argument("--json", help="write the results here (with --only, the rows of the "
                   "other methods already in the file are kept)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for D, covariance in ((1, "diagonal"), (3, "full")):
        model, X, y = model_and_data(D, covariance, max(sizes))
        for name, call in methods(model, D).items():
            if args.only and name not in args.only.split(","):
                continue
            previous = None
            for n in sizes:
                if previous is not None and previous[1] * n / previous[0] > args.cap:
                    results.append({"D": D, "method": name, "n": n, "seconds": None,
                                    "peak_mib": None})
                    continue
                seconds, peak = measure(call, X[:n], y[:n, 0] if D == 1 else y[:n])
                previous = (n, seconds)
                results.append({"D": D, "method": name, "n": n, "seconds": seconds,
                                "peak_mib": peak})
                print(f"D={D} {covariance} {name} N={n:,}: {seconds:.2f} s, {peak:.0f} MiB",
                      flush=True)
    if args.json and args.only and os.path.exists(args.json):
        with open(args.json) as f:
            kept = [r for r in json.load(f)["rows"] if r["method"] not in args.only.split(",")]
        results = kept + results
    print(table(results, sizes))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"numpy": np.__version__, "config": mdnlite.get_config(),
                       "rows": results}, f, indent=1)


def table(results, sizes):
    head = "| D | method | " + " | ".join(f"N={n:.0e} s, MiB" for n in sizes)
    lines = [head + " | s per row, largest / smallest N |",
             "|---|---|" + "---|" * (len(sizes) + 1)]
    keys = dict.fromkeys((r["D"], r["method"]) for r in results)
    for D, name in keys:
        rows = {r["n"]: r for r in results if r["D"] == D and r["method"] == name}
        cells = []
        for n in sizes:
            r = rows.get(n)
            cells.append("-" if r is None or r["seconds"] is None
                         else f"{r['seconds']:.2f}, {r['peak_mib']:.0f}")
        done = [n for n in sizes if rows.get(n) and rows[n]["seconds"] is not None]
        ratio = "-"
        if len(done) > 1:
            first, last = rows[done[0]], rows[done[-1]]
            ratio = f"{(last['seconds'] / done[-1]) / (first['seconds'] / done[0]):.2f}"
        lines.append(f"| {D} | {name} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
