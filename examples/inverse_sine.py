"""Bishop's inverse-sine problem: least squares fails on the inverse, a mixture density network does not.

Data: x ~ U(0, 1), t = x + 0.3 sin(2πx) + U(-0.1, 0.1). The forward problem x -> t is a
function, and least squares fits it well. The inverse problem t -> x is many-valued: for t
between about 0.3 and 0.7 the x that give t lie on separate branches of the curve (the noise
joins them into one flat stretch near t = 0.5); least squares returns their useless average,
while an MDN learns the whole conditional density p(x | t).

    python examples/inverse_sine.py [--backend numpy|cupy] [--epochs N] [--out DIR] [--seed S]

Prints each model's held-out negative log-likelihood (nats per sample, on fresh data), its
CRPS (closed form, in units of the target), the coverage of its central 90% intervals, and
its fit time, and writes PNG figures to --out: both least-squares fits, the MDN's five charts
(data, samples, means, weights and scales against t), its conditional density with the mean,
the approximate mode and samples, the same density with its modes (``predict_modes``: one
dot per branch, none for the ripples of a flat stretch), quantile bands, p(x | t) at three t
for both inverse models, the training history, and the PIT histogram and reliability
diagram on the fresh data.
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
    p.add_argument("--epochs", type=int, default=250, help="MDN training epochs (default 250)")
    p.add_argument("--out", default="figures/inverse_sine", help="folder for the PNG figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=50_000)
    p.add_argument("--n-test", type=int, default=100_000)
    p.add_argument("--dpi", type=int, default=110)
    return p.parse_args(argv)


def fit_models(args, x, t):
    """The forward and inverse least-squares networks and the inverse MDN, timed."""
    common = dict(backend=args.backend, random_state=args.seed)
    ls_epochs = max(1, args.epochs // 10)
    models = {
        "forward least squares (x -> t)": (mdnlite.Regressor(
            hidden_sizes=(16, 16), activation="tanh", learning_rate=1e-2, batch_size=256,
            max_epochs=ls_epochs, **common), x, t),
        "inverse least squares (t -> x)": (mdnlite.Regressor(
            hidden_sizes=(16, 16), activation="tanh", learning_rate=1e-2, batch_size=256,
            max_epochs=ls_epochs, **common), t, x),
        # 20 components of a 1-64-64 relu network: enough to draw the sharp edges that the
        # uniform noise leaves in p(x | t); the learning rate halves whenever the loss stalls.
        # One network, not the default ensemble of five: at 50,000 samples one network's
        # variance is small, and five would take five times as long
        "inverse MDN (t -> x)": (mdnlite.MDN(
            n_components=20, n_members=1, hidden_sizes=(64, 64), activation="relu",
            learning_rate=5e-3, batch_size=512, max_epochs=args.epochs, **common), t, x),
    }
    times = {}
    for name, (model, inputs, targets) in models.items():
        callbacks = []
        if isinstance(model, mdnlite.MDN):
            callbacks = [mdnlite.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=8,
                                                   min_lr=5e-5)]
        start = time.perf_counter()
        model.fit(inputs, targets, callbacks=callbacks)
        times[name] = time.perf_counter() - start
    return models, times


def plot_figures(models, x, t, held_out, args, plt):
    forward, inverse, mdn = (m for m, _, _ in models.values())
    show = slice(0, 1500)  # a readable subsample of the data
    grid_x = np.linspace(0, 1, 400)
    grid_t = np.linspace(t.min(), t.max(), 400)
    figures = {}

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    axes[0].scatter(x[show], t[show], s=6, facecolors="none", edgecolors="tab:green", lw=0.6)
    axes[0].plot(grid_x, mdnlite.to_host(forward.predict(grid_x)), "k", lw=2)
    axes[0].set(title="forward: least squares fits x -> t", xlabel="x", ylabel="t")
    axes[1].scatter(t[show], x[show], s=6, facecolors="none", edgecolors="tab:green", lw=0.6)
    axes[1].plot(grid_t, mdnlite.to_host(inverse.predict(grid_t)), "k", lw=2)
    axes[1].set(title="inverse: least squares averages the branches", xlabel="t", ylabel="x")
    figures["least_squares.png"] = fig

    names = ("t", "x")  # the inverse problem: input t, target x
    figures["mixture_parameters.png"] = plot.five_charts(mdn, t[show], x[show], x_grid=grid_t,
                                                        random_state=1, names=names)
    figures["conditional_density.png"] = plot.density_heatmap(
        mdn, grid_t, np.linspace(-0.1, 1.1, 300), data=(t, x), n_samples=1, random_state=1,
        names=names)  # 1,000 of the data points over the image
    figures["density_slices.png"] = plot.density_slices(
        {"MDN": mdn, "least squares": inverse}, [0.2, 0.5, 0.8], np.linspace(-0.2, 1.2, 400),
        names=names)
    figures["training_history.png"] = plot.training_history(mdn)
    figures["modes.png"] = plot.density_heatmap(
        mdn, grid_t, np.linspace(-0.1, 1.1, 300), show_mode=False, show_mean=False,
        show_modes=True, names=names)  # the modes that stand out: one dot per branch
    figures["quantile_bands.png"] = plot.quantile_bands(mdn, grid_t, data=(t, x), names=names)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    t_test, x_test = held_out
    plot.pit_histogram(mdn, t_test, x_test, ax=axes[0])
    plot.reliability_diagram(mdn, t_test, x_test, ax=axes[1])
    figures["calibration.png"] = fig
    return save_figures(figures, args.out, args.dpi, plt)


def main(argv=None):
    args = parse_args(argv)
    plt = prepare(args.backend)  # checked before any training starts
    x, t = datasets.inverse_sine(args.n_train, random_state=args.seed)
    x_test, t_test = datasets.inverse_sine(args.n_test, random_state=args.seed + 1)

    start = time.perf_counter()
    models, times = fit_models(args, x, t)
    print(f"inverse sine, {args.n_train} training and {args.n_test} fresh test samples, "
          f"backend {args.backend}")
    print(f"{'model':34s} {'held-out NLL':>14s} {'CRPS':>7s} {'90% cover':>9s} {'fit time':>9s}")
    for name, (model, inputs, _) in models.items():
        test_inputs, test_targets = (x_test, t_test) if inputs is x else (t_test, x_test)
        nll = -model.score(test_inputs, test_targets)
        crps = float(mdnlite.to_host(model.crps(test_inputs, test_targets)).mean())
        cover, _ = model.interval_coverage(test_inputs, test_targets, 0.9)
        print(f"{name:34s} {nll:>9.3f} nats {crps:>7.4f} {cover:>9.3f} {times[name]:>8.1f}s")
    for path in plot_figures(models, x, t, (t_test, x_test), args, plt):
        print(f"wrote {path}")
    print(f"total {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
