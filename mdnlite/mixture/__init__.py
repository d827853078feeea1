"""The Gaussian mixture itself, as pure functions of its parameters (no network needed).

A batch of N mixtures with K components in D dimensions is described by
``log_weights`` (N, K), ``means`` (N, K, D) and ``scales``: (N, K, S) standard deviations,
S = 1 for an isotropic mixture and S = D for a diagonal one, or (N, K, D, D) lower-triangular
Cholesky factors L for full covariances Σ = L Lᵀ. Everything is computed in log space;
nothing here holds state or knows about training.

This module is the checked front: each function checks its arguments (``checks``), then
calls the maths in ``density``, ``univariate``, ``meanshift`` or ``scores``, which the
estimators call directly on mixtures that are valid by construction.
"""

from ..backend import array_module
from ..validation import check_fraction
from . import density, scores as _scores, univariate as _univariate
from .checks import check_log_weights, check_mixture as _check_mixture
from .density import Mixture, is_full, log_normal  # noqa: F401  (names of the front, and of 0.1.0)
from .meanshift import MIN_DENSITY_RATIO, MIN_PROMINENCE, modes as _modes

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
    return density.component_log_density(*_check_mixture(y=y, means=means, scales=scales))


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
        ``checks.check_mixture``, which every public function here applies).
    """
    return density.log_prob(*_check_mixture(y, log_weights, means, scales, normalised=True))


def responsibilities(y, log_weights, means, scales):
    """Posterior probability of each component given y: γ_nk = π_nk N_nk / Σ_j π_nj N_nj.

    Arguments and checks as ``log_prob``; the log-weights need not be normalised.

    Returns
    -------
    array (N, K); each row sums to 1.
    """
    return density.responsibilities(*_check_mixture(y, log_weights, means, scales))


def mean(log_weights, means):
    """Conditional mean E[y] = Σ_k π_k μ_k. Arguments and checks as ``log_prob``.

    Returns
    -------
    array (N, D)
    """
    return density.mean(*_check_mixture(log_weights=log_weights, means=means, normalised=True))


def variance(log_weights, means, scales):
    """Conditional variance of each target dimension, by the law of total variance.

    Var[y_d] = Σ_k π_k Σ_k,dd + Σ_k π_k (μ_kd - E[y_d])²: the expected within-component
    variance plus the variance of the component means. Written with centred means so that
    no large terms cancel. Arguments and checks as ``log_prob``.

    Returns
    -------
    array (N, D)
    """
    return density.variance(*_check_mixture(None, log_weights, means, scales, normalised=True))


def covariance(log_weights, means, scales):
    """Conditional covariance matrix, by the law of total covariance.

    Cov[y] = Σ_k π_k Σ_k + Σ_k π_k (μ_k - E[y])(μ_k - E[y])ᵀ, with Σ_k = L_k L_kᵀ for
    Cholesky factors and diag(σ_k²) otherwise. Arguments and checks as ``log_prob``.

    Returns
    -------
    array (N, D, D)
    """
    return density.covariance(*_check_mixture(None, log_weights, means, scales, normalised=True))


def approx_mode(log_weights, means):
    """Mean of the heaviest component, μ_{argmax_k π_k}: the usual approximate mode.

    Arguments and checks as ``log_prob``; the log-weights need not be normalised.

    Returns
    -------
    array (N, D)
    """
    return density.approx_mode(*_check_mixture(log_weights=log_weights, means=means))


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
    return density.sample(*_check_mixture(None, log_weights, means, scales), n_samples, rng=rng,
                   temperature=temperature, sigma_temperature=sigma_temperature)


# --- the predictive distribution: CDF, quantiles, intervals, modes, scores -------------------
# (the work is in univariate.py, meanshift.py and scores.py; here the arguments are checked)


def cdf(y, log_weights, means, scales):
    """P(Y_d <= y_d) under each marginal of each mixture, (N, D): the CDF itself for D = 1.

    The marginal of a Gaussian along axis d is Gaussian with variance Σ_dd, so full
    covariances are handled too. Arguments and checks as ``log_prob``."""
    return _univariate.cdf(*_check_mixture(y, log_weights, means, scales, normalised=True))


def quantiles(levels, log_weights, means, scales):
    """The marginal quantiles Q_d(q) of each mixture at each level q in (0, 1), (N, Q, D).

    Monotone root finding on the mixture CDF, bracketed by the component quantiles:
    relative accuracy about 1e-12 of the narrowest scale in float64 (see
    ``univariate.quantiles``)."""
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
    keep every local maximum, the ripples of a flat top included (see ``meanshift.modes``)."""
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
    return density.effective_components(check_log_weights(log_weights, normalised=True))


def crps(y, log_weights, means, scales):
    """The continuous ranked probability score of each marginal for targets y, (N, D), in
    the units of y, in closed form (Grimit et al. 2006; see ``scores.crps``); lower is
    better."""
    return _scores.crps(*_check_mixture(y, log_weights, means, scales, normalised=True))


def energy_score(y, log_weights, means, scales, n_samples=1000, *, rng=None):
    """The energy score E‖X - y‖ - ½ E‖X - X'‖ of each mixture for targets y (N, D), (N,),
    estimated from draws (seeded by ``rng``); the CRPS when D = 1."""
    return density.energy_score(*_check_mixture(y, log_weights, means, scales, normalised=True),
                         n_samples, rng=rng)


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
