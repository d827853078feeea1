"""How long ``MDN().fit`` takes on a small table: 500 rows, 13 inputs, the defaults.

    python benchmarks/bench_table_fit.py [--repeats 3] [--rows 500] [--inputs 13]

The defaults on such a table: an ensemble of five networks, 10% of the rows held out for early
stopping (which ends the fit some 2,500 steps after the best epoch), and the full budget of
10,000 steps at most. The table is synthetic (a smooth function of three of the inputs with
noise whose spread follows a fourth), so that the run needs no download; the real tables of
``benchmarks/tabular.py`` report their own seconds per fit. Prints the median and the range
of the wall-clock times over the repeats, and the epochs each fit ran.
"""

import argparse
import time

import numpy as np

import mdnlite


def table(n_rows, n_inputs, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_inputs))
    noise = 0.3 * np.exp(0.5 * X[:, 3]) * rng.normal(size=n_rows)
    return X, np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + noise


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rows", type=int, default=500)
    p.add_argument("--inputs", type=int, default=13)
    args = p.parse_args(argv)
    X, y = table(args.rows, args.inputs)
    seconds, epochs = [], []
    for seed in range(args.repeats):
        start = time.perf_counter()
        model = mdnlite.MDN(random_state=seed, verbose=0).fit(X, y)
        seconds.append(time.perf_counter() - start)
        epochs.append(model.n_epochs_)
    print(f"MDN() on {args.rows} rows x {args.inputs} inputs: median {np.median(seconds):.1f} s "
          f"(range {min(seconds):.1f} to {max(seconds):.1f} s over {args.repeats} fits), "
          f"epochs {epochs}, {model.n_members} members")


if __name__ == "__main__":
    main()
