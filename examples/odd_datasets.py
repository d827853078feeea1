"""The TF article's odd data sets: a 1-25-10 tanh MDN with K = 10, RMSProp, five charts each.

For each data set (many-valued, heteroscedastic, a gap in x, noise whose shape changes with
x) the same small MDN is trained twice, without and with L2 weight decay (the article's cure
for spikes in the scales), and drawn as the article's five charts: data, data with samples,
means, weights and scales against x. The x grid runs past both ends of the data, and a last
figure samples there on purpose: the weights always sum to one, so the model keeps
producing confident-looking samples where it has seen no data.

    python examples/odd_datasets.py [--backend numpy|cupy] [--epochs N] [--out DIR] [--seed S]
"""

import argparse
import os
import time

import numpy as np

import mdnlite
from mdnlite import datasets
from mdnlite.plot.headless import prepare


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--epochs", type=int, default=400, help="epochs per model (default 400)")
    p.add_argument("--out", default="figures/odd_datasets", help="folder for the PNG figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-samples", type=int, default=2000)
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--dpi", type=int, default=110)
    return p.parse_args(argv)


def make_model(args, weight_decay):
    return mdnlite.MDN(n_components=10, n_members=1, hidden_sizes=(25, 10), activation="tanh",
                       scale_activation="exp", min_scale=1e-3, optimizer="rmsprop",
                       learning_rate=0.01, batch_size=256, max_epochs=args.epochs,
                       weight_decay=weight_decay, backend=args.backend,
                       random_state=args.seed)


def empty_intervals(x, grid, gap=0.02):
    """Intervals of ``grid`` farther than ``gap`` (a fraction of the span) from every x."""
    xs = np.sort(x)
    i = np.clip(np.searchsorted(xs, grid), 1, len(xs) - 1)
    nearest = np.minimum(np.abs(grid - xs[i - 1]), np.abs(grid - xs[i]))
    empty = nearest > gap * (xs[-1] - xs[0])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], empty.astype(int), [0]])))
    return [(grid[a], grid[b - 1]) for a, b in zip(edges[::2], edges[1::2])]


def main(argv=None):
    args = parse_args(argv)
    plt = prepare(args.backend)
    os.makedirs(args.out, exist_ok=True)
    names = list(datasets.ODD_DATASETS)
    edge_fig, edge_axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6),
                                       constrained_layout=True)
    print(f"odd data sets, {args.n_samples} samples each, backend {args.backend}")
    print(f"{'data set':15s} {'weight decay':>12s} {'held-out NLL':>14s} {'largest scale':>14s} "
          f"{'fit time':>9s}")
    for i, name in enumerate(names):
        make = datasets.ODD_DATASETS[name]
        x, y = make(args.n_samples, random_state=args.seed)
        x_test, y_test = make(args.n_samples, random_state=args.seed + 1)
        span = x.max() - x.min()
        x_grid = np.linspace(x.min() - 0.25 * span, x.max() + 0.25 * span, 300)
        fig, axes = plt.subplots(2, 5, figsize=(20, 7), constrained_layout=True)
        for row, decay in enumerate((0.0, args.weight_decay)):
            model = make_model(args, decay)
            start = time.perf_counter()
            model.fit(x, y)
            elapsed = time.perf_counter() - start
            inside = x_grid[(x_grid >= x.min()) & (x_grid <= x.max())]
            largest = model.predict_mixture(inside).scales.max()
            print(f"{name:15s} {decay:>12g} {-model.score(x_test, y_test):>9.3f} nats "
                  f"{largest:>14.3g} {elapsed:>8.1f}s")
            mdnlite.plot.five_charts(model, x, y, x_grid=x_grid, random_state=1,
                                     axes=axes[row])
            axes[row, 0].set_ylabel(f"weight decay {decay:g}\ny")
        fig.suptitle(f"{name}: without (top) and with (bottom) weight decay")
        fig.savefig(os.path.join(args.out, f"{name}.png"), dpi=args.dpi)
        plt.close(fig)

        # sampling past the data: the model answers everywhere, with no sign of doubt
        ax = edge_axes[i]
        samples = mdnlite.to_host(model.sample(x_grid, n_samples=3, random_state=2))
        ax.scatter(x, y, s=3, color="tab:blue", alpha=0.3, label="data")
        ax.scatter(np.repeat(x_grid, 3), samples.ravel(), s=3, color="tab:orange",
                   alpha=0.6, label="samples")
        for lo, hi in empty_intervals(x, x_grid):
            ax.axvspan(lo, hi, color="0.9", zorder=0)
        ax.set(title=name, xlabel="x", ylabel="y")
    # one legend for all four panels, below them: none of it covers the data
    legend = edge_fig.legend(*edge_axes[0].get_legend_handles_labels(), ncol=2,
                             loc="outside lower center", fontsize=8, markerscale=3)
    legend.legend_handles[1].set_alpha(1)
    edge_fig.suptitle("samples from the models with weight decay; grey: x with no data")
    edge_fig.savefig(os.path.join(args.out, "edges.png"), dpi=args.dpi)
    plt.close("all")
    for name in names + ["edges"]:
        print(f"wrote {os.path.join(args.out, name + '.png')}")


if __name__ == "__main__":
    main()
