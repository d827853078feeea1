"""The prediction interface every conditional-density model of mdnlite shares.

A model says what p(y | x) is for checked inputs (``_mixture``) and how it checks them
(``_inputs``, ``_pair``); every prediction below is then the same function of that mixture,
for the MDN, the least-squares Regressor and the conditioned Gaussian mixture: the unchecked
maths of ``mixture.density``, ``univariate``, ``meanshift`` and ``scores``, since a model's
mixture is valid by construction. Nothing here trains or knows about networks.
"""

import numpy as np

from ..backend import array_module, to_host
from ..mixture import density, meanshift, scores, univariate
from ..config import row_blocks
from ..validation import check_fraction, check_positive_int, check_random_state, check_real
from .lazy import is_dask, lazy_rows
from .progress import block_progress
from .results import MixtureParameters, Modes, result_dtype

__all__ = ["MixturePredictions", "MixtureParameters", "Modes", "result_dtype"]

class MixturePredictions:
    """Mixin: predictions from ``self._mixture(X)`` (a ``mixture.Mixture`` on the model's
    device, in the units of y), with inputs checked by ``self._inputs(X)`` and
    ``self._pair(X, y)``, and log-densities from ``self._log_prob(X, y)`` for checked X, y
    (a model that standardises computes them in its own units, then adds the log-Jacobian);
    ``self._targets_and_mixture(X, y)`` gives checked y and p(y | x) both in the user's units
    (for the CDF and the scores).

    Results are arrays on the model's device, except ``predict_mixture`` (host arrays) and
    ``score`` (a float). Their shapes and dtypes follow the data, as in scikit-learn:

    - a model fitted on a 1-D y (N,) predicts without the target axis: ``predict`` (N,),
      ``sample`` (N, n_samples), ...; fitted on y (N, D), even D = 1, it keeps it: (N, D).
      ``predict_mixture`` always keeps it, so that its arrays feed ``mdnlite.mixture``.
    - results are float32 when X is float32 and float64 otherwise (float64, integers,
      lists), whatever precision the model computes in (its ``dtype``).
    """

    _target_ndim = 2  # set to 1 by a fit on 1-D targets

    def _result(self, value, X, target_axes=1):
        """``value`` in the result dtype for the inputs X, without its last ``target_axes``
        axes (each of length 1 then) if the model was fitted on 1-D targets."""
        value = value.astype(result_dtype(X), copy=False)
        if self._target_ndim == 1:
            value = value.reshape(value.shape[:value.ndim - target_axes])
        return value

    # --- rows in blocks ---------------------------------------------------------------------
    #
    # Every method checks its inputs once, then computes p(y | x) and its answer for blocks of
    # rows small enough for ``config.prediction_memory`` (``_ELEMENTS``: the array elements
    # a row needs at once, from the mixture's sizes), and joins the blocks' results: memory
    # stays bounded whatever N, and the results are those of one block to the last bit.

    def _sizes(self, X):
        """(K, D, S) of the mixtures of checked inputs X: components, target dimensions and
        scale entries per component (D for standard deviations, D² for factors)."""
        m = self._mixture(X[:1])
        K, D = m.means.shape[1:]
        return K, D, D * D if density.is_full(m.means, m.scales) else D

    def _blockwise(self, name, X, compute, elements, y=None, multiple=None):
        """``compute(mixture of X[b], y[b])`` for each block b of rows of checked X, joined
        along rows; ``elements(K, D, S)``: the array elements one row needs; ``y``: None,
        an array or a tuple of arrays (or None) with X's rows; ``multiple(K, D, S)``: a
        number of rows that every block but the last is a multiple of."""
        N = X.shape[0]
        blocks = [slice(0, N)]
        if N > 1:
            K, D, S = self._sizes(X)
            blocks = row_blocks(N, elements(K, D, S) + _MIXTURE * K * (1 + D + S),
                                multiple=1 if multiple is None else multiple(K, D, S))
        if len(blocks) == 1:
            return compute(self._mixture(X), y)
        display = block_progress(getattr(self, "verbose", 0), name, N, len(blocks))
        out = None
        for i, rows in enumerate(blocks):
            out = _place(out, compute(self._mixture(X[rows]), _rows(y, rows)), rows, N)
            if display is not None:
                display.update(i, rows.stop)
        if display is not None:
            display.close()
        return out

    def _at(self, name, X, compute, elements=lambda K, D, S: 0):
        """``compute(mixture)`` over the rows of inputs X (checked here), in blocks."""
        return self._blockwise(name, self._inputs(X), lambda m, _: compute(m), elements)

    def _with_targets(self, name, X, y, compute, elements=lambda K, D, S: 0):
        """``compute(mixture, y)`` over the rows of X and y (checked here), in blocks; y in
        the user's units and in the mixture's dtype."""
        y, X = self._targets_and_inputs(X, y)
        return self._blockwise(name, X, compute, elements, y)

    @lazy_rows
    def predict(self, X):
        """Conditional mean E[y | x] = Σ_k π_k(x) μ_k(x), (N, D) (or (N,), see above)."""
        return self._result(self._at("predict", X,
                                     lambda m: density.mean(m.log_weights, m.means)), X)

    @lazy_rows
    def predict_variance(self, X):
        """Conditional variance of each target dimension (law of total variance), (N, D)."""
        return self._result(self._at("predict_variance", X,
                                     lambda m: density.variance(*m)), X)

    @lazy_rows
    def predict_covariance(self, X):
        """Conditional covariance matrix (law of total covariance), (N, D, D); (N,), the
        variance, for a model fitted on 1-D targets."""
        return self._result(self._at("predict_covariance", X, lambda m: density.covariance(*m),
                                     lambda K, D, S: 4 * K * D * D), X, target_axes=2)

    @lazy_rows
    def predict_mode(self, X):
        """The highest mode of p(y | x), the most probable y, (N, D): found among every
        local mode (``predict_modes``), so it follows one branch of a multi-valued map
        instead of jumping with the heaviest component."""
        # the highest mode is kept whatever the threshold: no prominence to work out
        top = self._at("predict_mode", X, lambda m: meanshift.modes(
            *m, min_prominence=0, min_density_ratio=0)[0][:, 0], _MODES)
        return self._result(top, X)

    @lazy_rows
    def predict_approx_mode(self, X):
        """Mean of the heaviest component, μ_{argmax π}, the usual approximate mode, (N, D).
        Cheap, but it jumps between branches where two weights cross."""
        return self._result(self._at("predict_approx_mode", X, lambda m: density.approx_mode(
            m.log_weights, m.means)), X)

    @lazy_rows
    def predict_modes(self, X, min_prominence=meanshift.MIN_PROMINENCE,
                      min_density_ratio=meanshift.MIN_DENSITY_RATIO):
        """The modes of p(y | x) that stand out, highest density first (``Modes``): values
        (N, M, D) (or (N, M)), NaN after the last mode of each row; log_density (N, M),
        -inf there; count (N,).

        A local maximum counts as a mode if its prominence is at least ``min_prominence``
        (0.5 by default: on every way from it to a higher mode the density falls below
        (1 - min_prominence) times its own) and its density is at least
        ``min_density_ratio`` (0.05) times the highest mode's. The ripples of a mixture
        that approximates a flat or skewed density, and bumps of no weight far in the
        tails, are not modes; both 0 keep every local maximum. See ``meanshift.modes``."""
        check_fraction(min_prominence, "min_prominence", closed=True)
        check_fraction(min_density_ratio, "min_density_ratio", closed=True)
        values, log_density, count = self._at("predict_modes", X, lambda m: meanshift.modes(
            *m, min_prominence=min_prominence, min_density_ratio=min_density_ratio), _MODES)
        return Modes(self._result(values, X), log_density.astype(result_dtype(X)), count)

    @lazy_rows
    def cdf(self, X, y):
        """P(Y_d <= y_d | x) for each sample and target dimension, (N, D) (or (N,)): the
        marginal CDFs when D > 1."""
        return self._result(self._with_targets("cdf", X, y, lambda m, t: univariate.cdf(t, *m),
                                               _CDF), X)

    @lazy_rows
    def predict_quantiles(self, X, q):
        """The quantiles of each target's conditional distribution at levels q in (0, 1):
        (N, Q, D), (N, Q) for 1-D targets, and without the Q axis for a scalar q.
        Root finding on the CDF, to about 1e-12 of the narrowest scale in float64."""
        n_levels = int(np.size(q))
        univariate.check_levels(q)  # refused before any work
        values = self._at("predict_quantiles", X, lambda m: univariate.quantiles(q, *m),
                          lambda K, D, S: _QUANTILE * max(n_levels, 1) * K * D)
        if np.ndim(q) == 0:
            values = values[:, 0]
        return self._result(values, X)

    @lazy_rows
    def predict_interval(self, X, coverage=0.9, kind="central"):
        """A prediction interval of probability ``coverage`` for each input.

        ``kind="central"``: (lower, upper), the quantiles at (1 ∓ coverage)/2, each (N, D)
        (or (N,)). ``kind="hdr"`` (1-D targets): the highest-density region, the shortest
        set of that probability, a union of at most K intervals for a multimodal p(y | x):
        an array (N, K, 2) of [lower, upper] rows, left to right, NaN-padded.
        """
        _check_kind(kind)
        univariate.check_coverage(coverage)  # refused before any work
        lower, upper = self._at("predict_interval", X,
                                lambda m: _interval(m, coverage, kind), _interval_cost(kind))
        if kind == "hdr":
            xp = array_module(lower)
            return xp.stack([lower, upper], axis=-1).astype(result_dtype(X), copy=False)
        return self._result(lower, X), self._result(upper, X)

    @lazy_rows
    def crps(self, X, y):
        """The continuous ranked probability score of each sample (closed form, in the
        units of y; lower is better), (N, D) per target dimension (or (N,))."""
        return self._result(self._with_targets("crps", X, y, lambda m, t: scores.crps(t, *m),
                                               lambda K, D, S: _PAIRS * K * K * D), X)

    @lazy_rows
    def energy_score(self, X, y, n_samples=1000, random_state=None):
        """The energy score E‖Y - y‖ - ½ E‖Y - Y'‖ of each sample, (N,), from
        2 ``n_samples`` draws per input seeded by ``random_state``: the multivariate
        CRPS (equal to it for one target dimension, up to Monte Carlo error)."""
        n = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)  # one generator for every block, in order
        y, Xc = self._targets_and_inputs(X, y)
        # blocks of whole chunks of density.energy_score draw what one call would
        values = self._blockwise("energy_score", Xc, lambda m, t: density.energy_score(
            t, *m, n, rng=rng), lambda K, D, S: 0, y,
            multiple=lambda K, D, S: density.energy_rows(n, D))
        return values.astype(result_dtype(X), copy=False)

    @lazy_rows
    def pit(self, X, y):
        """Probability integral transform values F(y | x), (N, D) (or (N,)): uniform on
        (0, 1) for a calibrated model (``plot.pit_histogram``)."""
        return self.cdf(X, y)

    @lazy_rows
    def calibration(self, X, y, levels=scores.CALIBRATION_LEVELS):
        """How often y falls in the central prediction interval of each nominal coverage
        (``scores.Calibration``, host arrays; ``observed`` (L, D), or (L,) for 1-D
        targets). A calibrated model has observed ≈ levels within a few standard errors."""
        scores.check_levels(levels)
        u = self._with_targets("calibration", X, y, lambda m, t: univariate.cdf(t, *m), _CDF)
        report = scores.calibration_of_pit(u, levels)
        observed = to_host(report.observed)
        if self._target_ndim == 1:
            observed = observed[:, 0]
        return report._replace(observed=observed)

    @lazy_rows
    def interval_coverage(self, X, y, coverage=0.9, kind="central"):
        """(fraction of samples whose y lies in the prediction interval, mean width of the
        interval) for ``predict_interval(X, coverage, kind)``; host arrays (D,), or floats
        for 1-D targets."""
        _check_kind(kind)
        univariate.check_coverage(coverage)
        y, Xc = self._targets_and_inputs(X, y)
        lower, upper = self._blockwise("interval_coverage", Xc,
                                       lambda m, _: _interval(m, coverage, kind),
                                       _interval_cost(kind))
        inside, width = (to_host(a) for a in scores.interval_coverage(y, lower, upper))
        if self._target_ndim == 1:
            return float(inside[0]), float(width[0])
        return inside, width

    def diagnostics(self, X, y=None):
        """What the fitted mixtures look like over X (a dict of host values).

        - ``effective_components``: 1/Σ_k π_k² per sample (N,), and its mean
          ``mean_effective_components``: how many components a prediction really uses.
        - ``mean_weights`` (K,): each component's mean weight; ``dead_components``: those
          whose weight stays below ``DEAD_WEIGHT`` (1e-3) for every sample (for an
          ensemble, the weight within its own network's mixture).
        - ``mean_responsibilities`` (K,), given y: each component's mean posterior share.
        - ``scales_at_floor``: the fraction of the scales within 1% of the floor
          ``min_scale``, in the standardised units where it applies (below 1e-6 without a
          floor); MDN only.
        """
        if is_dask(X) or is_dask(y):
            raise TypeError("diagnostics returns host values for every row and needs X (and "
                            "y) in memory: call it on a block, e.g. "
                            "model.diagnostics(X[:100_000].compute())")
        X_checked = self._inputs(X)
        if y is not None:
            y, X_targets = self._targets_and_inputs(X, y)

        def summary(m, t):
            resp = None if t is None else density.responsibilities(t, *m)  # (B, K)
            return (density.effective_components(m.log_weights),
                    array_module(m.means).exp(m.log_weights), resp)

        effective, weights, resp = self._blockwise(
            "diagnostics", X_checked if y is None else X_targets, summary,
            lambda K, D, S: 4 * K, y)
        effective = to_host(effective)
        report = {"effective_components": effective,
                  "mean_effective_components": float(effective.mean()),
                  "mean_weights": to_host(weights.mean(axis=0)),
                  "dead_components": dead_components(weights, self._mixture_members)}
        if y is not None:
            report["mean_responsibilities"] = to_host(resp.mean(axis=0))
        at_floor = self._scales_at_floor(X_checked)
        if at_floor is not None:
            report["scales_at_floor"] = at_floor
        return report

    def _scales_at_floor(self, X):
        """The fraction of scales at the floor for checked X; None for a model without."""
        return None

    # the model's mixture is the average of this many mixtures of equal weight, side by side
    # (an MDN ensemble's members): diagnostics judge each component within its own
    _mixture_members = 1

    @lazy_rows
    def predict_mixture(self, X):
        """p(y | x) as host arrays (``MixtureParameters``): weights (N, K), means
        (N, K, D) and scales, (N, K, D) standard deviations or (N, K, D, D) Cholesky factors
        L of the component covariances Σ = L Lᵀ (covariance "full", conditioned mixtures).
        The target axis is kept even for a model fitted on 1-D targets."""
        dtype = result_dtype(X)

        def host(m):
            xp = array_module(m.means)
            shape = m.scales.shape if density.is_full(m.means, m.scales) else m.means.shape
            return (to_host(xp.exp(m.log_weights)).astype(dtype, copy=False),
                    to_host(m.means).astype(dtype, copy=False),
                    np.ascontiguousarray(to_host(xp.broadcast_to(m.scales, shape)),
                                         dtype=dtype))

        parts = self._at("predict_mixture", X, host)
        return MixtureParameters(*parts)

    @lazy_rows
    def score_samples(self, X, y):
        """log p(y | x) for each sample, (N,), in nats."""
        X_checked, y_checked = self._pair(X, y)
        blocks = [slice(0, X_checked.shape[0])]
        if X_checked.shape[0] > 1:
            K, D, S = self._sizes(X_checked)
            blocks = row_blocks(X_checked.shape[0], _MIXTURE * K * (1 + D + S))
        out = None
        for rows in blocks:
            out = _place(out, self._log_prob(X_checked[rows], y_checked[rows]), rows,
                         X_checked.shape[0])
        return out.astype(result_dtype(X), copy=False)

    @lazy_rows
    def score(self, X, y):
        """Mean log p(y | x) over the samples, as a float: a log-likelihood, so higher is
        better (what scikit-learn's model selection maximises by default)."""
        return float(self.score_samples(X, y).mean())

    @lazy_rows
    def sample(self, X, n_samples=1, temperature=1.0, sigma_temperature=1.0,
               random_state=None):
        """Draw from p(y | x) for each input: (N, n_samples, D), or (N, n_samples) for a
        model fitted on 1-D targets.

        ``temperature`` divides the log weights (0: always the heaviest component);
        ``sigma_temperature`` multiplies every component's covariance (see ``mixture.sample``).
        ``random_state`` seeds a host generator, so a seed gives the same samples on every
        backend.
        """
        n = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        temperature = check_real(temperature, "temperature")
        Xc = self._inputs(X)
        if Xc.shape[0] == 0:
            return self._result(density.sample(*self._mixture(Xc), n, rng=rng), X)
        first = self._mixture(Xc[:1])
        # every random number drawn first, in one call's order: a sample in blocks of rows
        # is the same as one in a single block
        noise = density.sample_noise(rng, Xc.shape[0], n, first.means.shape[2], temperature,
                                     first.log_weights.dtype)
        draws = self._blockwise("sample", Xc, lambda m, z: density.sample(
            *m, n_samples=n, temperature=temperature, sigma_temperature=sigma_temperature,
            noise=z), lambda K, D, S: n * (4 * D + 2 * K), noise)
        return self._result(draws, X)


# array elements a row needs at once, as multiples of the sizes of its mixture (K components,
# D dimensions, S scale entries each): measured by benchmarks/bench_predict.py
_MIXTURE = 8  # the mixture itself and a few temporaries of its size
_CDF = lambda K, D, S: 8 * K * D  # noqa: E731
_QUANTILE = 16  # per level, component and dimension: the bracketed Newton iteration
_PAIRS = 8  # per pair of components and dimension: CRPS's closed form
_MODES = lambda K, D, S: 12 * K * K * D  # noqa: E731  (mean-shift from every mean)


def _place(out, part, rows, N):
    """Write one block's result (an array, or a tuple of arrays or None, with the block's
    rows) into the whole result ``out``, allocated from the first block: the result is
    built once, never joined from copies."""
    if isinstance(part, tuple):
        fields = [_place(None if out is None else out[i], p, rows, N)
                  for i, p in enumerate(part)]
        return type(part)(*fields) if hasattr(part, "_fields") else tuple(fields)
    if part is None:
        return None
    if out is None:
        out = array_module(part).empty((N,) + part.shape[1:], dtype=part.dtype)
    out[rows] = part
    return out


def _rows(y, rows):
    """The rows of y (None, an array, or a tuple of arrays or None) in a block."""
    if isinstance(y, tuple):
        return tuple(_rows(part, rows) for part in y)
    return None if y is None else y[rows]


def _interval_cost(kind):
    if kind == "hdr":
        return lambda K, D, S: 64 * K * K  # the density's turning points and their masses
    return lambda K, D, S: _QUANTILE * 2 * K * D


def _check_kind(kind):
    if kind not in ("central", "hdr"):
        raise ValueError(f"kind must be 'central' or 'hdr', got {kind!r}")


DEAD_WEIGHT = 1e-3  # a component whose weight stays below this for every sample is dead


def dead_components(weights, members=1):
    """The components whose weight stays below ``DEAD_WEIGHT`` on every row of weights
    (N, K), as a list of ints; for the average of ``members`` mixtures (an ensemble's), the
    weight within its own mixture, ``members`` times its share of the average."""
    top = to_host(weights.max(axis=0)) * members
    return [int(k) for k in np.flatnonzero(top < DEAD_WEIGHT)]


def _interval(m, coverage, kind):
    """(lower, upper) of the prediction intervals of mixture ``m``: (N, D) each for
    ``kind="central"``, (N, K) each, NaN-padded, for the highest-density region ("hdr");
    ``kind`` checked by ``_check_kind``."""
    if kind == "central":
        return univariate.central_interval(coverage, *m)
    intervals, _ = univariate.highest_density_intervals(coverage, *m)
    return intervals[..., 0], intervals[..., 1]


