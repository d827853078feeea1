"""Model quality with the defaults: held-out NLL over seeds, against baselines and floors.

    python benchmarks/quality.py [--seeds 5] [--only sine-10000,...] [--json out.json]
                                 [--markdown table.md]

For each data set an ``MDN`` with its default hyperparameters (only ``random_state`` set) is
fitted, and scored on fresh test data (100,000 samples) as a mean negative log-likelihood in
nats per sample (lower is better). Beside it: mdnlite's Gaussian mixture fitted to the joint
data and conditioned on x, with the number of components chosen by BIC (as a user would),
and with the number that scores best on the test data (an optimistic reference that no fit
can reach honestly: BIC over-fits badly at N = 300), the least-squares
``Regressor`` (a Gaussian with its training residual variance), and, where it is known, the
NLL of the true density on the same test data (the floor no model can beat on average).

At N = 300 the training data are one fixed draw, so that the seeds vary only the model's
initialisation, shuffling and noise: the spread then says how reliably a fit converges.

The units rows fit the same data with x and y both mapped v -> a (v + 100), a = 1e6 and
1e-6 (shifted by a few hundred spreads and scaled): since the estimator standardises, the
held-out NLL must move by exactly the log-Jacobian log a (D = 1), and the table shows by how
much it misses that.
"""

import math
import time

import numpy as np

import mdnlite
from mdnlite import datasets

import report

N_TEST = 100_000
GMM_COMPONENTS = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 25, 30, 40)
UNITS = (1e6, 1e-6)
SHIFT = 100.0


def inverse_sine(n, seed):
    """t -> x; N = 300 is the PyTorch article's own draw (default_rng(19)) for every seed."""
    rng = np.random.default_rng(19) if n == 300 else np.random.default_rng(1000 + seed)
    X, y = datasets.inverse_sine(n, direction="inverse", random_state=rng)
    X_test, y_test = datasets.inverse_sine(N_TEST, direction="inverse", random_state=7)
    return X, y, X_test, y_test


def spiral(n, seed):
    """The Keras article's ten spirals; N = 300 is one fixed draw for every seed."""
    X, y = datasets.noisy_spiral(n, random_state=1000 + (0 if n == 300 else seed))
    X_test, y_test = datasets.noisy_spiral(N_TEST, random_state=7)
    return X, y, X_test, y_test


def inverse_sine_floor(t, x, noise=0.1):
    """-log p(x | t) of the true density, averaged: p(x, t) = 1/(2 noise) on the band
    |t - g(x)| < noise over x in [0, 1], so -log p(x | t) = log(2 noise) + log p(t), with
    p(t) = (1 / (2 noise)) |{x in [0, 1] : |t - g(x)| < noise}| measured on a fine grid."""
    grid = (np.arange(20_000) + 0.5) / 20_000
    g = np.sort(grid + 0.3 * np.sin(2 * np.pi * grid))  # the measure of {g < v} is a count
    covered = (np.searchsorted(g, t + noise) - np.searchsorted(g, t - noise)) / grid.size
    inside = covered > 0  # every test t is inside by construction
    return float(np.mean(np.log(covered[inside])))


DATASETS = {
    "sine-10000": (inverse_sine, 10_000, inverse_sine_floor),
    "sine-300": (inverse_sine, 300, inverse_sine_floor),
    "spiral-10000": (spiral, 10_000, None),
    "spiral-300": (spiral, 300, None),
}


def fit_mdn(X, y, seed):
    start = time.perf_counter()
    model = mdnlite.MDN(random_state=seed).fit(X, y)
    return model, time.perf_counter() - start


def fit_least_squares(X, y, seed):
    start = time.perf_counter()
    model = mdnlite.Regressor(random_state=seed).fit(X, y)
    return model, time.perf_counter() - start


def fit_gmm(X, y, seed, X_test, y_test):
    """Joint Gaussian mixtures over GMM_COMPONENTS, conditioned on x: the one with the
    lowest BIC (what a user can choose), and the one with the best held-out NLL (chosen on
    the test data itself, so an optimistic reference no user could reach)."""
    start = time.perf_counter()
    joint = np.column_stack([X, y])
    fits = []
    for k in GMM_COMPONENTS:
        if k * 6 >= joint.shape[0]:  # 6 parameters a component in 2-D: keep N well above
            break
        gmm = mdnlite.GaussianMixture(k, n_init=2, random_state=seed).fit(joint)
        fits.append((gmm.bic(joint), gmm.condition(inputs=[0])))
    seconds = time.perf_counter() - start  # all the fits of the search
    by_bic = min(fits, key=lambda f: f[0])[1]
    best = min(held_out_nll(c, X_test, y_test) for _, c in fits)
    return held_out_nll(by_bic, X_test, y_test), best, seconds


def held_out_nll(model, X, y):
    return -model.score(X, y)


def run(name, seeds, log):
    make, n, floor = DATASETS[name]
    rows = {}

    def record(label, nll, seconds):
        rows.setdefault(label, {"nll": [], "seconds": []})
        rows[label]["nll"].append(nll)
        rows[label]["seconds"].append(seconds)
        log(f"  {name:13s} {label:26s} {nll:9.4f} nats {seconds:6.1f} s")

    for seed in seeds:
        X, y, X_test, y_test = make(n, seed)
        mdn, seconds = fit_mdn(X, y, seed)
        base = held_out_nll(mdn, X_test, y_test)
        record("MDN (defaults)", base, seconds)
        for a in UNITS:  # the same fit in other units: only the log-Jacobian may change
            scaled, seconds = fit_mdn(a * (X + SHIFT), a * (y + SHIFT), seed)
            shift = held_out_nll(scaled, a * (X_test + SHIFT), a * (y_test + SHIFT))
            record(f"units x{a:g}: NLL - log a", shift - math.log(a), seconds)
        by_bic, best, seconds = fit_gmm(X, y, seed, X_test, y_test)
        record("Gaussian mixture (BIC)", by_bic, seconds)
        record("Gaussian mixture (best K on test)", best, seconds)
        model, seconds = fit_least_squares(X, y, seed)
        record("least squares", held_out_nll(model, X_test, y_test), seconds)
        if floor is not None:
            record("true density (floor)", floor(X_test, y_test), 0.0)
    return rows


def summarise(name, rows):
    out = []
    mdn = np.asarray(rows["MDN (defaults)"]["nll"])
    for label, r in rows.items():
        nll = np.asarray(r["nll"])
        bad = int(np.sum(~np.isfinite(nll) | (nll > 0)))
        entry = {"dataset": name, "model": label, "mean": float(np.mean(nll)),
                 "std": float(np.std(nll)), "min": float(np.min(nll)),
                 "max": float(np.max(nll)), "runs": len(nll), "above_0_or_nan": bad,
                 "seconds": float(np.mean(r["seconds"]))}
        if label.startswith("units"):
            entry["largest_miss"] = float(np.max(np.abs(nll - mdn)))
        out.append(entry)
    return out


def markdown(summary):
    lines = ["| data set | model | mean NLL | std | worst | runs > 0 or NaN | s per fit |",
             "|---|---|---|---|---|---|---|"]
    for e in summary:
        model = e["model"]
        if "largest_miss" in e:
            model += f" (misses by at most {e['largest_miss']:.1e})"
        lines.append(f"| {e['dataset']} | {model} | {e['mean']:.3f} | {e['std']:.3f} | "
                     f"{e['max']:.3f} | {e['above_0_or_nan']}/{e['runs']} | "
                     f"{e['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    p = report.parser(__doc__, DATASETS)
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    names = report.chosen(p, args.only, DATASETS)

    summary = []
    for name in names:
        summary += summarise(name, run(name, range(args.seeds), report.log))
    report.write(markdown(summary), summary, args, seeds=args.seeds)


if __name__ == "__main__":
    main()
