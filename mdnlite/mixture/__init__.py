"""The Gaussian mixture itself, as pure functions of its parameters (no network needed).

A batch of N mixtures with K components in D dimensions is described by
``log_weights`` (N, K), ``means`` (N, K, D) and ``scales``: (N, K, S) standard deviations,
S = 1 for an isotropic mixture and S = D for a diagonal one, or (N, K, D, D) lower-triangular
Cholesky factors L for full covariances Σ = L Lᵀ. Everything is computed in log space;
nothing here holds state or knows about training. The public functions check their
arguments (``mixture_checks.check_mixture``); each has an unchecked twin, its name with a
leading underscore, for callers whose parameters are valid by construction (the estimators).
"""

from collections import namedtuple

import numpy as np

from . import cholesky
from . import univariate as _univariate
from . import scores as _scores
from ..backend import LOG_2PI, array_module, log_softmax, logsumexp
from .checks import check_log_weights, check_mixture as _check_mixture
from .meanshift import MIN_DENSITY_RATIO, MIN_PROMINENCE, modes as _modes
from ..validation import check_fraction, check_number, check_positive_int, check_random_state

__all__ = [
    "Mixture",
    "component_log_density",
    "log_prob",
    "responsibilities",
    "mean",
    "variance",
    "covariance",
    "approx_mode",
    "sample",
    "cdf",
    "quantiles",
    "central_interval",
    "highest_density_intervals",
    "modes",
    "mode",
    "effective_components",
    "crps",
    "energy_score",
    "pit",
    "calibration",
    "interval_coverage",
]

Mixture = namedtuple("Mixture", ["log_weights", "means", "scales"])
Mixture.__doc__ = """Parameters of N Gaussian mixtures.

Attributes
----------
log_weights : array (N, K)
    Log mixture weights, logsumexp over K is 0.
means : array (N, K, D)
    Component means.
scales : array (N, K, S) or (N, K, D, D)
    Component standard deviations, S = 1 (isotropic) or S = D (diagonal), or
    lower-triangular Cholesky factors (full covariance).
"""


def is_full(means, scales):
    """True when ``scales`` holds Cholesky factors (one more axis than ``means``)."""
    return scales.ndim == means.ndim + 1


def component_log_density(y, means, scales):
    """log N(y | μ_k, diag(σ_k²)) for every component, with the pieces its gradient reuses.

    Parameters
    ----------
    y : array (N, D)
    means : array (N, K, D)
    scales : array (N, K, S), S in {1, D}, or Cholesky factors (N, K, D, D)

    Returns
    -------
    log_comp : array (N, K)
        -½ Σ_d u_kd² - (D/S) Σ_s log σ_ks - (D/2) log 2π; for factors,
        -½ |L_k⁻¹ (y - μ_k)|² - Σ_d log L_k,dd - (D/2) log 2π.
    u : array (N, K, D)
        Standardised residuals u_kd = (y_d - μ_kd) / σ_kd, or v = L_k⁻¹ (y - μ_k); an entry
        beyond the dtype's range is its largest finite number (its square is then inf).

    Raises
    ------
    ValueError, TypeError
        Arguments that are not a mixture (see ``log_prob``).
    """
    return _component_log_density(*_check_mixture(y=y, means=means, scales=scales))


def _component_log_density(y, means, scales):
    if is_full(means, scales):  # the solves run dimensions first: (D, N, K)
        r = (y[:, None, :] - means).transpose(2, 0, 1)
        log_comp, v = cholesky.log_density(r, scales.transpose(2, 3, 0, 1))
        log_comp -= 0.5 * means.shape[-1] * LOG_2PI
        return log_comp, v.transpose(1, 2, 0)
    return log_normal(y[:, None, :], means, scales, axis=-1)


def log_normal(y, means, scales, axis, normalised=True):
    """``component_log_density`` for any layout: ``axis`` is the target-dimension axis.

    ``y`` broadcasts against ``means``; ``scales`` has 1 or D entries along ``axis``. The
    head calls it with components first, (K, D, N), where every reduction runs over whole
    contiguous rows, and with ``normalised=False``, which leaves out the constant
    -(D/2) log 2π (added once to its scalar loss instead). Nothing is checked.
    """
    xp = array_module(means)
    D, S = means.shape[axis], scales.shape[axis]
    u = y - means  # (..., D, ...)
    u /= scales
    # an overflowed u saturates: its square is inf all the same, but γ u stays 0 for γ = 0
    big = float(np.finfo(u.dtype).max)
    xp.clip(u, -big, big, out=u)
    log_comp = _sum(u * u, axis)  # squared Mahalanobis distances
    log_comp *= -0.5
    log_det = _sum(xp.log(scales), axis)  # Σ_s log σ_s
    if S != D:  # isotropic: the one σ_k stands for all D dimensions
        log_det *= D
    log_comp -= log_det
    if normalised:
        log_comp -= 0.5 * D * LOG_2PI
    return log_comp, u


def _sum(a, axis):
    """Sum over ``axis``; a length-1 axis (one target dimension) is dropped, not summed."""
    return a.sum(axis=axis) if a.shape[axis] > 1 else a.squeeze(axis)


def log_prob(y, log_weights, means, scales):
    """Log-density of each target under its mixture.

    log p(y_n) = logsumexp_k [ log π_nk + log N(y_n | μ_nk, diag(σ_nk²)) ]

    Parameters
    ----------
    y : array (N, D)
    log_weights : array (N, K)
    means : array (N, K, D)
    scales : array (N, K, S), S in {1, D}, or Cholesky factors (N, K, D, D)

    Returns
    -------
    array (N,)

    Raises
    ------
    ValueError, TypeError
        Arguments that are not a mixture: shapes that disagree in N, K or D, NaN, a
        non-positive scale, log-weights that are not normalised... (see
        ``mixture_checks.check_mixture``, which every public function here applies).
    """
    return _log_prob(*_check_mixture(y, log_weights, means, scales, normalised=True))


def _log_prob(y, log_weights, means, scales):
    log_comp, _ = _component_log_density(y, means, scales)
    return logsumexp(log_weights + log_comp, axis=1)


def responsibilities(y, log_weights, means, scales):
    """Posterior probability of each component given y: γ_nk = π_nk N_nk / Σ_j π_nj N_nj.

    Arguments and checks as ``log_prob``; the log-weights need not be normalised.

    Returns
    -------
    array (N, K); each row sums to 1.
    """
    return _responsibilities(*_check_mixture(y, log_weights, means, scales))


def _responsibilities(y, log_weights, means, scales):
    log_comp, _ = _component_log_density(y, means, scales)
    return array_module(means).exp(log_softmax(log_weights + log_comp, axis=1))


def mean(log_weights, means):
    """Conditional mean E[y] = Σ_k π_k μ_k. Arguments and checks as ``log_prob``.

    Returns
    -------
    array (N, D)
    """
    return _mean(*_check_mixture(log_weights=log_weights, means=means, normalised=True))


def _mean(log_weights, means):
    w = array_module(means).exp(log_weights)  # (N, K)
    return (w[:, :, None] * means).sum(axis=1)


def variance(log_weights, means, scales):
    """Conditional variance of each target dimension, by the law of total variance.

    Var[y_d] = Σ_k π_k Σ_k,dd + Σ_k π_k (μ_kd - E[y_d])²: the expected within-component
    variance plus the variance of the component means. Written with centred means so that
    no large terms cancel. Arguments and checks as ``log_prob``.

    Returns
    -------
    array (N, D)
    """
    return _variance(*_check_mixture(None, log_weights, means, scales, normalised=True))


def _variance(log_weights, means, scales):
    xp = array_module(means)
    w = xp.exp(log_weights)[:, :, None]  # (N, K, 1)
    centred = means - (w * means).sum(axis=1, keepdims=True)  # (N, K, D)
    if is_full(means, scales):
        within = (scales * scales).sum(axis=-1)  # (N, K, D): Σ_dd = Σ_j L_dj²
    else:
        within = scales * scales  # (N, K, S): isotropic σ_k² broadcasts over D
    return (w * (within + centred * centred)).sum(axis=1)


def covariance(log_weights, means, scales):
    """Conditional covariance matrix, by the law of total covariance.

    Cov[y] = Σ_k π_k Σ_k + Σ_k π_k (μ_k - E[y])(μ_k - E[y])ᵀ, with Σ_k = L_k L_kᵀ for
    Cholesky factors and diag(σ_k²) otherwise. Arguments and checks as ``log_prob``.

    Returns
    -------
    array (N, D, D)
    """
    return _covariance(*_check_mixture(None, log_weights, means, scales, normalised=True))


def _covariance(log_weights, means, scales):
    xp = array_module(means)
    w = xp.exp(log_weights)[:, :, None, None]  # (N, K, 1, 1)
    centred = means - (w[..., 0] * means).sum(axis=1, keepdims=True)  # (N, K, D)
    spread = centred[..., :, None] * centred[..., None, :]  # (N, K, D, D)
    if is_full(means, scales):
        spread += xp.matmul(scales, scales.swapaxes(-1, -2))
    else:
        D = means.shape[-1]
        diagonal = xp.broadcast_to(scales * scales, means.shape)  # (N, K, D)
        spread[..., xp.arange(D), xp.arange(D)] += diagonal
    return (w * spread).sum(axis=1)


def approx_mode(log_weights, means):
    """Mean of the heaviest component, μ_{argmax_k π_k}: the usual approximate mode.

    Arguments and checks as ``log_prob``; the log-weights need not be normalised.

    Returns
    -------
    array (N, D)
    """
    return _approx_mode(*_check_mixture(log_weights=log_weights, means=means))


def _approx_mode(log_weights, means):
    rows = array_module(means).arange(means.shape[0])
    return means[rows, log_weights.argmax(axis=1)]


def sample(log_weights, means, scales, n_samples=1, *, rng=None, temperature=1.0,
           sigma_temperature=1.0):
    """Draw samples from each mixture, optionally sharpened or flattened.

    Parameters
    ----------
    log_weights : array (N, K)
        Need not be normalised (checks as ``log_prob``).
    means : array (N, K, D)
    scales : array (N, K, S), S in {1, D}, or Cholesky factors (N, K, D, D)
    n_samples : int
        Samples per mixture.
    rng : None, int or numpy.random.Generator
        Host generator for every random number, so a seed gives the same samples on every
        backend.
    temperature : float >= 0
        Weight temperature τ: components are chosen with probabilities
        softmax(log π / τ), i.e. π_k^(1/τ) renormalised. τ = 1 keeps the model's weights,
        τ -> 0 always chooses the heaviest component, τ -> ∞ chooses uniformly among the
        components of nonzero weight. A τ below the smallest normal number of the weights'
        dtype (1.2e-38 in float32, 2.2e-308 in float64) is τ = 0, which takes the argmax
        (the first of tied heaviest components); a τ beyond its largest number is that
        number.
    sigma_temperature : float >= 0
        Multiplies every component's covariance, so the scales by its square root:
        y = μ_k + sqrt(τ_σ) σ_k ε (y = μ_k + sqrt(τ_σ) L_k ε for Cholesky factors) with
        ε ~ N(0, I). 1 keeps the model's spread, 0 returns the chosen component's mean.

    Returns
    -------
    array (N, n_samples, D), on the device of ``means``.
    """
    return _sample(*_check_mixture(None, log_weights, means, scales), n_samples, rng=rng,
                   temperature=temperature, sigma_temperature=sigma_temperature)


def _sample(log_weights, means, scales, n_samples=1, *, rng=None, temperature=1.0,
            sigma_temperature=1.0):
    """``sample`` with its arrays unchecked; its other arguments are checked all the same."""
    temperature = check_number(temperature, "temperature")
    sigma_temperature = check_number(sigma_temperature, "sigma_temperature")
    if not 0 <= temperature < float("inf"):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if not 0 <= sigma_temperature < float("inf"):
        raise ValueError(f"sigma_temperature must be a finite number >= 0, "
                         f"got {sigma_temperature!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    n_samples = int(n_samples)
    xp = array_module(means)
    rng = check_random_state(rng)
    N, _, D = means.shape
    limits = np.finfo(log_weights.dtype)
    # below the smallest normal τ the limit is reached, and τ may round to 0 (0/0 = NaN)
    if temperature < float(limits.tiny):
        chosen = xp.broadcast_to(log_weights.argmax(axis=1)[:, None], (N, n_samples))
    else:
        # shift before dividing, so that a tiny τ sends the others to -inf, never all of them;
        # a τ that would round to inf would make a zero weight -inf/inf = NaN
        shifted = log_weights - log_weights.max(axis=1, keepdims=True)
        with np.errstate(over="ignore"):  # -inf for the others is the intended limit
            shifted /= min(temperature, float(limits.max))
        cdf = xp.cumsum(xp.exp(log_softmax(shifted, axis=1)), axis=1)  # (N, K)
        u = xp.asarray(1.0 - rng.random((N, n_samples)), dtype=cdf.dtype)  # in (0, 1]
        # inverse CDF against u scaled by the total, which rounding may leave a hair off 1:
        # the count stays below K and never reaches a trailing component of zero weight
        u *= cdf[:, -1:]
        chosen = (cdf[:, None, :] < u[:, :, None]).sum(axis=2)  # (N, n)
    rows = xp.arange(N)[:, None]
    eps = xp.asarray(rng.standard_normal((N, n_samples, D)), dtype=means.dtype)
    if is_full(means, scales):  # y = μ + L ε
        eps = xp.matmul(scales[rows, chosen], eps[..., None])[..., 0]  # (N, n, D)
    else:
        eps *= scales[rows, chosen]  # (N, n, D)
    if sigma_temperature != 1:
        eps *= sigma_temperature ** 0.5
    eps += means[rows, chosen]
    return eps


# --- the predictive distribution: CDF, quantiles, intervals, modes, scores -------------------
# (the work is in quantiles.py, modes.py and scores.py; here the arguments are checked)


def cdf(y, log_weights, means, scales):
    """P(Y_d <= y_d) under each marginal of each mixture, (N, D): the CDF itself for D = 1.

    The marginal of a Gaussian along axis d is Gaussian with variance Σ_dd, so full
    covariances are handled too. Arguments and checks as ``log_prob``."""
    return _univariate.cdf(*_check_mixture(y, log_weights, means, scales, normalised=True))


def quantiles(levels, log_weights, means, scales):
    """The marginal quantiles Q_d(q) of each mixture at each level q in (0, 1), (N, Q, D).

    Monotone root finding on the mixture CDF, bracketed by the component quantiles:
    relative accuracy about 1e-12 of the narrowest scale in float64 (see
    ``quantiles.quantiles``)."""
    return _univariate.quantiles(levels, *_check_mixture(None, log_weights, means, scales,
                                                        normalised=True))


def central_interval(coverage, log_weights, means, scales):
    """(lower, upper), each (N, D): the quantiles at (1 - c)/2 and (1 + c)/2."""
    return _univariate.central_interval(coverage, *_check_mixture(None, log_weights, means,
                                                                  scales, normalised=True))


def highest_density_intervals(coverage, log_weights, means, scales):
    """The highest-density region {y : p(y) >= t} of mass ``coverage`` of each 1-D mixture:
    (intervals (N, K, 2), NaN-padded, left to right; the density threshold t (N,))."""
    return _univariate.highest_density_intervals(
        coverage, *_check_mixture(None, log_weights, means, scales, normalised=True))


def modes(log_weights, means, scales, min_prominence=MIN_PROMINENCE,
          min_density_ratio=MIN_DENSITY_RATIO):
    """The modes of each mixture that stand out, highest density first: (modes (N, K, D)
    NaN-padded, log-density at each (N, K), -inf padded, number of modes (N,)). By the
    fixed-point (mean-shift) iteration from every component mean (Carreira-Perpiñán 2000);
    a local maximum counts if its prominence 1 - p(col)/p(mode) is at least
    ``min_prominence`` (0.5: the density falls to half on every way to a higher mode) and
    its density at least ``min_density_ratio`` (0.05) times the highest mode's; both 0
    keep every local maximum, the ripples of a flat top included (see ``modes.modes``)."""
    check_fraction(min_prominence, "min_prominence", closed=True)
    check_fraction(min_density_ratio, "min_density_ratio", closed=True)
    return _modes(*_check_mixture(None, log_weights, means, scales, normalised=True),
                  min_prominence=min_prominence, min_density_ratio=min_density_ratio)


def mode(log_weights, means, scales):
    """The highest mode of each mixture, (N, D): the most probable value of y."""
    return _modes(*_check_mixture(None, log_weights, means, scales, normalised=True),
                  min_prominence=0, min_density_ratio=0)[0][:, 0]


def effective_components(log_weights):
    """1 / Σ_k π_k² per mixture, (N,): K for equal weights, 1 when one component has them
    all."""
    return _effective_components(check_log_weights(log_weights, normalised=True))


def _effective_components(log_weights):
    return 1.0 / array_module(log_weights).exp(2 * log_weights).sum(axis=1)


def crps(y, log_weights, means, scales):
    """The continuous ranked probability score of each marginal for targets y, (N, D), in
    the units of y, in closed form (Grimit et al. 2006; see ``scores.crps``); lower is
    better."""
    return _scores.crps(*_check_mixture(y, log_weights, means, scales, normalised=True))


def energy_score(y, log_weights, means, scales, n_samples=1000, *, rng=None):
    """The energy score E‖X - y‖ - ½ E‖X - X'‖ of each mixture for targets y (N, D), (N,),
    estimated from draws (seeded by ``rng``); the CRPS when D = 1."""
    return _energy_score(*_check_mixture(y, log_weights, means, scales, normalised=True),
                         n_samples, rng=rng)


def _energy_score(y, log_weights, means, scales, n_samples=1000, *, rng=None):
    """Unbiased: E‖X - y‖ from 2m draws, ½ E‖X - X'‖ from the m pairs of independent
    draws (first half against second), in chunks of rows that hold about 4 million
    numbers."""
    m = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(rng)
    xp = array_module(means)
    N, _, D = means.shape
    rows = max(1, 4_000_000 // (2 * m * D))
    out = []
    for start in range(0, N, rows):
        part = slice(start, start + rows)
        draws = _sample(log_weights[part], means[part], scales[part], 2 * m, rng=rng)
        to_y = xp.sqrt(((draws - y[part][:, None, :]) ** 2).sum(axis=-1)).mean(axis=1)
        apart = xp.sqrt(((draws[:, :m] - draws[:, m:]) ** 2).sum(axis=-1)).mean(axis=1)
        out.append(to_y - 0.5 * apart)
    return xp.concatenate(out)


def pit(y, log_weights, means, scales):
    """The probability integral transform F_d(y_d), (N, D): uniform on (0, 1) for targets
    drawn from the mixtures (a histogram of it says whether the spreads are right)."""
    return _scores.pit(*_check_mixture(y, log_weights, means, scales, normalised=True))


def calibration(y, log_weights, means, scales, levels=_scores.CALIBRATION_LEVELS):
    """Coverage of central intervals at each nominal level (``scores.Calibration``)."""
    return _scores.calibration(*_check_mixture(y, log_weights, means, scales, normalised=True),
                               levels)


def interval_coverage(y, lower, upper):
    """(fraction of targets inside, mean width) per dimension, for intervals (N, D) or, for
    1-D targets, unions of intervals (N, M) with NaN padding (see ``scores``)."""
    xp = array_module(lower)
    y, lower, upper = (xp.asarray(a) for a in (y, lower, upper))
    if y.ndim != 2 or lower.shape != upper.shape or lower.ndim != 2 \
            or lower.shape[0] != y.shape[0]:
        raise ValueError(f"y must be (N, D) and lower, upper (N, D) or (N, M) alike, got "
                         f"{y.shape}, {lower.shape}, {upper.shape}")
    return _scores.interval_coverage(y, lower, upper)
