"""The two-link robot arm (the PyTorch article's motivating problem): joint angles from the hand position.

Forward kinematics maps joint angles (θ1, θ2) to the hand position; the inverse has two
answers for most positions, the elbow on one side of the shoulder-hand line or the other.
Least squares averages them into a pose that misses the target; an MDN finds both. The hand
positions are measured with a little noise, so each answer is a small correlated cloud of
angles: a full covariance (Cholesky) head describes it better than a diagonal one.

    python examples/robot_arm.py [--backend numpy|cupy] [--epochs N] [--out DIR] [--seed S]

Prints the hand-position error of the least-squares answer and of the MDN's approximate
mode, and the held-out NLL of the diagonal and full-covariance MDNs; draws the arm in the
poses each model proposes for a few targets, and the angle samples for one target.
"""

import argparse
import os
import time

import numpy as np

import mdnlite
from mdnlite import datasets
from mdnlite.plot.headless import prepare

LENGTHS = (1.0, 0.8)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--epochs", type=int, default=300, help="epochs per model (default 300)")
    p.add_argument("--out", default="figures/robot_arm", help="folder for the PNG figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=20_000)
    p.add_argument("--n-test", type=int, default=20_000)
    p.add_argument("--noise", type=float, default=0.02, help="sd of the measured hand position")
    p.add_argument("--dpi", type=int, default=110)
    return p.parse_args(argv)


def measured_arm(n, noise, seed):
    """Hand positions measured with Gaussian noise, and the joint angles that produced them."""
    positions, angles = datasets.robot_arm(n, lengths=LENGTHS, random_state=seed)
    noise = np.random.default_rng(seed + 1000).normal(0.0, noise, positions.shape)
    return positions + noise, angles


def hand_error(angles, targets):
    """Distance from each target to where the hand goes with these joint angles."""
    reached = datasets.robot_arm_forward(angles[:, 0], angles[:, 1], LENGTHS)
    return np.linalg.norm(reached - targets, axis=1)


def draw_arm(ax, theta1, theta2, **style):
    elbow = LENGTHS[0] * np.array([np.cos(theta1), np.sin(theta1)])
    hand = datasets.robot_arm_forward(theta1, theta2, LENGTHS)
    ax.plot([0, elbow[0], hand[0]], [0, elbow[1], hand[1]], "-o", ms=3, **style)


def main(argv=None):
    args = parse_args(argv)
    plt = prepare(args.backend)

    X, angles = measured_arm(args.n_train, args.noise, args.seed)
    X_test, angles_test = measured_arm(args.n_test, args.noise, args.seed + 1)
    # the article's setting: one network each, every sample trained on for a fixed budget
    common = dict(hidden_sizes=(64, 64), activation="tanh", learning_rate=3e-3,
                  batch_size=256, max_epochs=args.epochs, early_stopping=False,
                  backend=args.backend, random_state=args.seed)
    models = {
        "least squares": mdnlite.Regressor(**common),
        "MDN, diagonal": mdnlite.MDN(n_components=4, covariance="diagonal", n_members=1,
                                     **common),
        "MDN, full": mdnlite.MDN(n_components=4, covariance="full", n_members=1, **common),
    }
    print(f"two-link arm, {args.n_train} training and {args.n_test} test samples, hand "
          f"noise {args.noise}, backend {args.backend}")
    print(f"{'model':15s} {'held-out NLL':>14s} {'hand error: median':>19s} {'mean':>7s} "
          f"{'fit time':>9s}")
    answers = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X, angles, callbacks=[
            mdnlite.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=5, min_lr=1e-4)])
        elapsed = time.perf_counter() - start
        guess = model.predict_mode(X_test) if hasattr(model, "predict_mode") else \
            model.predict(X_test)
        answers[name] = mdnlite.to_host(guess)
        error = hand_error(answers[name], X_test)
        print(f"{name:15s} {-model.score(X_test, angles_test):>9.3f} nats "
              f"{np.median(error):>19.3f} {error.mean():>7.3f} {elapsed:>8.1f}s")

    os.makedirs(args.out, exist_ok=True)
    # targets whose two solutions both lie inside the training angles (θ1 in (0, π))
    targets = np.array([[0.3, 1.3], [-0.9, 0.9], [0.8, 1.0], [0.0, 1.0]])
    full = models["MDN, full"]
    weights, means, _ = full.predict_mixture(targets)
    least = mdnlite.to_host(models["least squares"].predict(targets))
    fig, axes = plt.subplots(1, len(targets), figsize=(4 * len(targets), 4),
                             constrained_layout=True)
    for ax, target, w, mu, ls in zip(axes, targets, weights, means, least):
        heavy = np.argsort(w)[::-1][:2]  # the two heaviest components: the two elbows
        for rank, k in enumerate(heavy):
            draw_arm(ax, *mu[k], color=("tab:blue", "tab:cyan")[rank],
                     label=f"MDN component, π = {w[k]:.2f}")
        draw_arm(ax, *ls, color="tab:red", label="least squares")
        ax.plot(*target, "k*", ms=12, label="target")
        ax.set(xlim=(-1.9, 1.9), ylim=(-1.3, 1.9), aspect="equal",
               title=f"target ({target[0]:.1f}, {target[1]:.1f})")
        ax.legend(loc="lower left", fontsize=7)
    fig.suptitle("poses proposed for each target: the MDN's two heaviest components and "
                 "least squares")
    fig.savefig(os.path.join(args.out, "poses.png"), dpi=args.dpi)

    target = targets[:1]
    exact = datasets.robot_arm_inverse(target, LENGTHS)[0]  # (2 solutions, 2 angles)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True,
                             constrained_layout=True)
    drawn = {name: mdnlite.to_host(models[name].sample(target, n_samples=3000,
                                                       random_state=1))[0]
             for name in ["MDN, diagonal", "MDN, full"]}
    # limits from the bulk of the samples (0.5 to 99.5%) and the solutions: a stray is clipped
    bulk = np.vstack([np.percentile(np.vstack(list(drawn.values())), [0.5, 99.5], axis=0),
                      exact])
    low, high = bulk.min(axis=0), bulk.max(axis=0)
    low, high = low - 0.1 * (high - low), high + 0.1 * (high - low)
    for ax, (name, samples) in zip(axes, drawn.items()):
        ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.3, color="tab:blue",
                   label="samples")
        ax.plot(exact[:, 0], exact[:, 1], "r+", ms=14, mew=2, label="exact solutions")
        ax.set(title=f"{name}: p(θ | hand at ({target[0, 0]:.1f}, {target[0, 1]:.1f}))",
               xlabel="θ1", ylabel="θ2", xlim=(low[0], high[0]), ylim=(low[1], high[1]))
        legend = ax.legend(loc="upper right", fontsize=8)
        legend.legend_handles[0].set_sizes([20])  # legible sample dots; the crosses as drawn
        legend.legend_handles[0].set_alpha(1)
    fig.savefig(os.path.join(args.out, "angle_samples.png"), dpi=args.dpi)
    plt.close("all")
    for name in ("poses.png", "angle_samples.png"):
        print(f"wrote {os.path.join(args.out, name)}")


if __name__ == "__main__":
    main()
