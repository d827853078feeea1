"""A real data set: Engel's 1857 food expenditure against income, fitted with the defaults.

235 Belgian households (``datasets.engel``, public domain): the spread of food expenditure
grows with income, so a constant-variance model is wrong however good its mean. The MDN is
fitted on the raw francs with its defaults (it standardises, sizes its training and its
regularisation from N itself), and compared by 5-fold cross-validation with least squares
(the ``Regressor``: a Gaussian of one fitted variance) and with a Gaussian mixture fitted to
(income, expenditure) and conditioned on income (K chosen by BIC), on held-out NLL and CRPS
(both per household; lower is better) and on the coverage of central 90% intervals.

    python examples/engel.py [--backend numpy|cupy] [--folds 5] [--out DIR] [--seed S]

Prints each model's cross-validated scores, and the Kolmogorov-Smirnov distance of its
out-of-fold PIT values from the uniform; writes to --out the MDN's quantile bands over the
data, its conditional density with its modes (beyond 2,500 francs, where a few households
are all there is, its components fan out: no model knows much there), and the PIT
histogram and reliability diagram of its fit to all the data.
"""

import argparse
import time

import numpy as np

import mdnlite
from mdnlite import datasets, plot
from mdnlite.plot.headless import prepare, save_figures


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per network fit (default: the estimators' own, 'auto')")
    p.add_argument("--out", default="figures/engel", help="folder for the PNG figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dpi", type=int, default=110)
    return p.parse_args(argv)


def gmm_by_bic(x, y, seed, components=range(1, 9)):
    joint = np.column_stack([x, y])
    fits = [mdnlite.GaussianMixture(k, random_state=seed).fit(joint) for k in components]
    best = min(fits, key=lambda g: g.bic(joint))
    return best.condition(inputs=[0])


def models(args):
    """name -> a function fitting that model to (x, y)."""
    common = dict(random_state=args.seed, verbose=0, backend=args.backend,
                  max_epochs="auto" if args.epochs is None else args.epochs)
    return {
        "MDN (defaults)": lambda x, y: mdnlite.MDN(**common).fit(x, y),
        "least squares": lambda x, y: mdnlite.Regressor(**common).fit(x, y),
        "Gaussian mixture (BIC)": lambda x, y: gmm_by_bic(x, y, args.seed),
    }


def cross_validate(args, x, y):
    """Out-of-fold scores of every model: name -> dict of per-household arrays, and seconds."""
    folds = np.random.default_rng(args.seed).permutation(len(x)) % args.folds
    results = {}
    for name, fit in models(args).items():
        nll, crps, pit, inside = (np.empty(len(x)) for _ in range(4))
        start = time.perf_counter()
        for k in range(args.folds):
            test = folds == k
            model = fit(x[~test], y[~test])
            nll[test] = -mdnlite.to_host(model.score_samples(x[test], y[test]))
            crps[test] = mdnlite.to_host(model.crps(x[test], y[test])).reshape(-1)
            pit[test] = mdnlite.to_host(model.pit(x[test], y[test])).reshape(-1)
            lower, upper = (mdnlite.to_host(b).reshape(-1)
                            for b in model.predict_interval(x[test], 0.9))
            inside[test] = (lower <= y[test]) & (y[test] <= upper)
        results[name] = dict(nll=nll, crps=crps, pit=pit, inside=inside,
                             seconds=(time.perf_counter() - start) / args.folds)
    return results


def plot_figures(args, x, y, mdn, plt):
    names = ("income (francs)", "food expenditure (francs)")
    grid = np.linspace(x.min(), x.max(), 300)
    figures = {
        "quantile_bands.png": plot.quantile_bands(mdn, grid, coverages=(0.5, 0.8, 0.95),
                                                  data=(x, y), names=names),
        "conditional_density.png": plot.density_heatmap(
            mdn, grid, np.linspace(0, 1.1 * y.max(), 300), data=(x, y), show_mode=False,
            show_modes=True, names=names),
    }
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    plot.pit_histogram(mdn, x, y, bins=10, ax=axes[0])
    plot.reliability_diagram(mdn, x, y, ax=axes[1])
    axes[0].set_title("PIT on the training data (N = 235)")
    figures["calibration.png"] = fig
    return save_figures(figures, args.out, args.dpi, plt)


def main(argv=None):
    args = parse_args(argv)
    plt = prepare(args.backend)
    x, y = datasets.engel()
    start = time.perf_counter()
    results = cross_validate(args, x, y)
    print(f"Engel food expenditure, {len(x)} households, {args.folds}-fold cross-validation, "
          f"backend {args.backend}")
    print(f"{'model':24s} {'NLL':>8s} {'CRPS':>8s} {'90% cover':>10s} {'PIT KS':>7s} "
          f"{'s per fit':>9s}")
    for name, r in results.items():
        # the largest gap between the PIT values' empirical CDF and the uniform one
        u = np.sort(r["pit"])
        steps = np.arange(len(u) + 1) / len(u)
        ks = np.max(np.maximum(steps[1:] - u, u - steps[:-1]))
        print(f"{name:24s} {r['nll'].mean():>8.3f} {r['crps'].mean():>8.2f} "
              f"{r['inside'].mean():>10.3f} {ks:>7.3f} {r['seconds']:>9.1f}")
    mdn = models(args)["MDN (defaults)"](x, y)  # on all the data, for the figures
    for path in plot_figures(args, x, y, mdn, plt):
        print(f"wrote {path}")
    print(f"total {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
