"""The TF article's comparison: an MDN against a Gaussian mixture fitted to the joint data.

A Gaussian mixture (EM, full covariances) fitted to the joint samples (x, y) and conditioned
on x is again a mixture, p(y | x); it trains in seconds and answers y -> x as well, from the
same fit. An MDN models p(y | x) directly. On Bishop's inverse sine (t -> x) and on one of
the odd data sets this example fits both, for several numbers of GMM components (and the one
BIC picks), and reports fit time and held-out conditional NLL; it draws the conditional
densities of both models at a few inputs on one axis, and the GMM's reverse conditional.

    python examples/mdn_vs_gmm.py [--backend numpy|cupy] [--epochs N] [--out DIR] [--seed S]
"""

import argparse
import os
import time

import numpy as np

import mdnlite
from mdnlite import datasets, plot
from mdnlite.plot.headless import prepare


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--epochs", type=int, default=200, help="MDN epochs (default 200)")
    p.add_argument("--components", type=int, nargs="+", default=[5, 10, 20, 40],
                   help="numbers of GMM components to try")
    p.add_argument("--max-iter", type=int, default=200, help="EM iterations at most")
    p.add_argument("--out", default="figures/mdn_vs_gmm", help="folder for the PNG figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=20_000)
    p.add_argument("--n-test", type=int, default=50_000)
    p.add_argument("--dpi", type=int, default=110)
    return p.parse_args(argv)


def problems(args):
    """name -> (the data set's generator, input values to slice at, (input, target) names)."""
    def inverse_sine(n, seed):
        return datasets.inverse_sine(n, direction="inverse", random_state=seed)

    def heteroscedastic(n, seed):
        return datasets.heteroscedastic(n, random_state=seed)

    return {
        "inverse_sine": (inverse_sine, [0.2, 0.5, 0.8], ("t", "x")),
        "heteroscedastic": (heteroscedastic, [0.1, 0.5, 0.9], ("x", "y")),
    }


def compare(name, make, slices, names, args, plt):
    x, y = make(args.n_train, args.seed)
    x_test, y_test = make(args.n_test, args.seed + 1)
    joint = np.column_stack([x, y])
    rows = []

    mdn = mdnlite.MDN(n_components=20, n_members=1, hidden_sizes=(64, 64), activation="relu",
                      learning_rate=5e-3, batch_size=512, max_epochs=args.epochs,
                      backend=args.backend, random_state=args.seed)
    start = time.perf_counter()
    mdn.fit(x, y, callbacks=[mdnlite.ReduceLROnPlateau(monitor="loss", factor=0.5,
                                                       patience=8, min_lr=5e-5)])
    rows.append(("MDN, K=20", time.perf_counter() - start, -mdn.score(x_test, y_test), None))

    gmms = {}
    for K in args.components:
        gmm = mdnlite.GaussianMixture(K, covariance="full", max_iter=args.max_iter,
                                      backend=args.backend, random_state=args.seed)
        start = time.perf_counter()
        gmm.fit(joint)
        elapsed = time.perf_counter() - start
        conditional = gmm.condition(inputs=[0])
        gmms[K] = gmm
        rows.append((f"GMM, K={K}", elapsed, -conditional.score(x_test, y_test),
                     gmm.bic(joint)))
    best = min(gmms, key=lambda K: gmms[K].bic(joint))

    print(f"\n{name}: {args.n_train} training and {args.n_test} test samples, backend "
          f"{args.backend}")
    print(f"{'model':12s} {'fit time':>9s} {'held-out NLL of y | x':>22s} {'BIC':>12s}")
    for label, elapsed, nll, bic in rows:
        mark = "  <- BIC's choice" if label == f"GMM, K={best}" else ""
        bic_text = f"{bic:12.0f}" if bic is not None else " " * 12
        print(f"{label:12s} {elapsed:>8.1f}s {nll:>17.3f} nats {bic_text}{mark}")

    os.makedirs(args.out, exist_ok=True)
    span = y.max() - y.min()
    y_grid = np.linspace(y.min() - 0.1 * span, y.max() + 0.1 * span, 400)
    forward = gmms[best].condition(inputs=[0])
    fig = plot.density_slices({"MDN": mdn, f"GMM, K={best}": forward}, slices, y_grid,
                              names=names)
    fig.axes[0].set_title(f"{name}: p({names[1]} | {names[0]}) of both models")
    paths = [os.path.join(args.out, f"{name}_slices.png")]
    fig.savefig(paths[-1], dpi=args.dpi)

    reverse = gmms[best].condition(inputs=[1])  # the same fit, asked y -> x
    x_span = x.max() - x.min()
    fig = plot.density_heatmap(reverse, y_grid,
                               np.linspace(x.min() - 0.1 * x_span, x.max() + 0.1 * x_span, 300),
                               data=(y, x), show_mode=False, names=names[::-1])
    fig.axes[0].set_title(f"{name}: the GMM's reverse conditional "
                          f"p({names[0]} | {names[1]})")
    paths.append(os.path.join(args.out, f"{name}_reverse.png"))
    fig.savefig(paths[-1], dpi=args.dpi)
    plt.close("all")
    return paths


def main(argv=None):
    args = parse_args(argv)
    plt = prepare(args.backend)
    paths = []
    for name, (make, slices, names) in problems(args).items():
        paths += compare(name, make, slices, names, args, plt)
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
