"""The Keras article's noisy spiral: y is many-valued in x, least squares draws its mean, an MDN the spiral.

Ten noisy spirals, each scaled to [-5, 5]. A least-squares network (128-128 relu, Adam)
learns the useless conditional mean; an MDN with K = 20 diagonal components on the same
network, trained with EarlyStopping and ReduceLROnPlateau on a validation split, learns the
whole conditional density. Samples from it redraw the spirals, and a grid of weight and
sigma temperatures shows what each does.

    python examples/noisy_spiral.py [--backend numpy|cupy] [--epochs N] [--out DIR] [--seed S]
"""

import argparse
import os
import time

import mdnlite
from mdnlite import datasets
from mdnlite.plot.headless import prepare


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--epochs", type=int, default=200, help="most epochs per model (default 200)")
    p.add_argument("--out", default="figures/noisy_spiral", help="folder for the PNG figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-samples", type=int, default=10_000)
    p.add_argument("--dpi", type=int, default=110)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    plt = prepare(args.backend)

    x, y = datasets.noisy_spiral(args.n_samples, random_state=args.seed)
    x_test, y_test = datasets.noisy_spiral(args.n_samples, random_state=args.seed + 1)
    common = dict(hidden_sizes=(128, 128), activation="relu", optimizer="adam",
                  learning_rate=1e-3, batch_size=128, max_epochs=args.epochs,
                  backend=args.backend, random_state=args.seed)
    least_squares = mdnlite.Regressor(**common)
    mdn = mdnlite.MDN(n_components=20, covariance="diagonal", scale_activation="elu1",
                      min_scale=1e-3, n_members=1, **common)  # one network, as the article

    timings = {}
    for name, model in (("least squares", least_squares), ("MDN", mdn)):
        callbacks = [mdnlite.EarlyStopping(monitor="val_loss", patience=10,
                                           restore_best_weights=True),
                     mdnlite.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5)]
        start = time.perf_counter()
        model.fit(x, y, validation_split=0.15, callbacks=callbacks)
        timings[name] = time.perf_counter() - start

    print(f"noisy spiral, {args.n_samples} samples, backend {args.backend}")
    print(f"{'model':15s} {'held-out NLL':>14s} {'epochs':>7s} {'fit time':>9s}")
    for name, model in (("least squares", least_squares), ("MDN", mdn)):
        print(f"{name:15s} {-model.score(x_test, y_test):>9.3f} nats {model.n_epochs_:>7d} "
              f"{timings[name]:>8.1f}s")

    os.makedirs(args.out, exist_ok=True)
    figures = {
        "three_panels.png": mdnlite.plot.three_panels(x, y, least_squares, mdn, random_state=1),
        "temperatures.png": mdnlite.plot.sample_grid(
            mdn, x, temperatures=(0.05, 0.5, 1.0), sigma_temperatures=(0.05, 0.5, 1.0),
            data=(x, y), random_state=1),
        "training_history.png": mdnlite.plot.training_history(mdn),
    }
    for name, fig in figures.items():
        path = os.path.join(args.out, name)
        fig.savefig(path, dpi=args.dpi)
        print(f"wrote {path}")
    plt.close("all")


if __name__ == "__main__":
    main()
