"""The Gaussian mixture's density and moments: the unchecked maths under ``mixture``.

A batch of N mixtures with K components in D dimensions is ``log_weights`` (N, K), ``means``
(N, K, D) and ``scales``: standard deviations (N, K, S), S = 1 (isotropic) or D (diagonal),
or lower-triangular Cholesky factors (N, K, D, D) of Σ = L Lᵀ (``is_full`` tells which, and
``Mixture.sigmas`` / ``Mixture.factors`` name them). Everything is in log space. Nothing is
checked here: the estimators call these functions on mixtures that are valid by
construction; users call the checked front in ``mixture/__init__.py``.
"""

from collections import namedtuple

import numpy as np

from ..backend import LOG_2PI, array_module, log_softmax, logsumexp
from ..validation import check_positive_int, check_random_state, check_real
from . import cholesky

__all__ = ["Mixture", "ScaleNames", "is_full", "component_log_density", "log_normal", "log_prob",
           "responsibilities", "mean", "variance", "covariance", "approx_mode", "sample",
           "effective_components", "energy_score", "energy_rows", "sample_noise"]


class ScaleNames:
    """What ``scales`` holds, by name, for a mixture tuple with ``means`` and ``scales``:
    ``sigmas`` the standard deviations (N, K, S) of a diagonal or isotropic mixture,
    ``factors`` the Cholesky factors (N, K, D, D) of a full one; asking a mixture for the
    other kind is an AttributeError that says which it holds (so ``hasattr`` tells)."""

    __slots__ = ()

    @property
    def covariance_kind(self):
        """ "full" for Cholesky factors, "diagonal" for standard deviations."""
        return "full" if is_full(self.means, self.scales) else "diagonal"

    @property
    def sigmas(self):
        """Standard deviations (N, K, S), S = 1 (isotropic) or D (diagonal)."""
        if is_full(self.means, self.scales):
            raise AttributeError("this mixture has full covariances: its scales are Cholesky "
                                 "factors (use .factors), not standard deviations")
        return self.scales

    @property
    def factors(self):
        """Lower-triangular Cholesky factors L (N, K, D, D) of Σ = L Lᵀ."""
        if not is_full(self.means, self.scales):
            raise AttributeError("this mixture has diagonal covariances: its scales are "
                                 "standard deviations (use .sigmas), not Cholesky factors")
        return self.scales


class Mixture(ScaleNames, namedtuple("Mixture", ["log_weights", "means", "scales"])):
    """Parameters of N Gaussian mixtures, on one device.

    Attributes
    ----------
    log_weights : array (N, K)
        Log mixture weights, logsumexp over K is 0.
    means : array (N, K, D)
        Component means.
    scales : array (N, K, S) or (N, K, D, D)
        Component standard deviations, S = 1 (isotropic) or S = D (diagonal), or
        lower-triangular Cholesky factors (full covariance); ``sigmas`` and ``factors``
        name them.
    """

    __slots__ = ()


def is_full(means, scales):
    """True when ``scales`` holds Cholesky factors (one more axis than ``means``)."""
    return scales.ndim == means.ndim + 1


def component_log_density(y, means, scales):
    """log N(y | μ_k, diag(σ_k²)) for every component, with the pieces its gradient reuses.

    Unchecked: arguments as ``mixture.component_log_density``, valid by construction."""
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

    Unchecked: arguments as ``mixture.log_prob``, valid by construction."""
    log_comp, _ = component_log_density(y, means, scales)
    return logsumexp(log_weights + log_comp, axis=1)


def responsibilities(y, log_weights, means, scales):
    """Posterior probability of each component given y: γ_nk = π_nk N_nk / Σ_j π_nj N_nj.

    Unchecked: arguments as ``mixture.responsibilities``, valid by construction."""
    log_comp, _ = component_log_density(y, means, scales)
    return array_module(means).exp(log_softmax(log_weights + log_comp, axis=1))


def mean(log_weights, means):
    """Conditional mean E[y] = Σ_k π_k μ_k. Arguments and checks as ``log_prob``.

    Unchecked: arguments as ``mixture.mean``, valid by construction."""
    return _weighted_mean(*_normalised(log_weights, means))


def _normalised(log_weights, means):
    """(π (N, K, 1) summing to 1 to rounding in ``means``' dtype, means): weights made in a
    narrower dtype (a float32 network's, taken to float64) sum to 1 only to their own
    rounding, and a mean of 1e12 would then move by 1e12 times that."""
    w = array_module(means).exp(log_weights.astype(means.dtype, copy=False))[:, :, None]
    return w / w.sum(axis=1, keepdims=True), means


def _weighted_mean(w, means):
    """Σ_k π_k μ_k (N, D) as μ_1 + Σ_k π_k (μ_k - μ_1): the differences are small where the
    means are large and close, and keep the digits that Σ_k π_k μ_k would round away."""
    first = means[:, :1]
    return first[:, 0] + (w * (means - first)).sum(axis=1)


def variance(log_weights, means, scales):
    """Conditional variance of each target dimension, by the law of total variance.

    Unchecked: arguments as ``mixture.variance``, valid by construction."""
    w, _ = _normalised(log_weights, means)  # (N, K, 1)
    centred = means - _weighted_mean(w, means)[:, None]  # (N, K, D)
    if is_full(means, scales):
        within = (scales * scales).sum(axis=-1)  # (N, K, D): Σ_dd = Σ_j L_dj²
    else:
        within = scales * scales  # (N, K, S): isotropic σ_k² broadcasts over D
    return (w * (within + centred * centred)).sum(axis=1)


def covariance(log_weights, means, scales):
    """Conditional covariance matrix, by the law of total covariance.

    Unchecked: arguments as ``mixture.covariance``, valid by construction."""
    xp = array_module(means)
    w, _ = _normalised(log_weights, means)
    centred = means - _weighted_mean(w, means)[:, None]  # (N, K, D)
    w = w[..., None]  # (N, K, 1, 1)
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

    Unchecked: arguments as ``mixture.approx_mode``, valid by construction."""
    rows = array_module(means).arange(means.shape[0])
    return means[rows, log_weights.argmax(axis=1)]


def sample_noise(rng, N, n_samples, D, temperature, dtype):
    """The random numbers of ``sample`` for N mixtures, drawn on the host in its order:
    (u (N, n) in (0, 1] to choose components, or None when τ takes the heaviest; ε
    (N, n, D) standard normal). Drawn for all rows at once, they make a sample in blocks of
    rows the same as one in a single call."""
    u = None
    if temperature >= float(np.finfo(dtype).tiny):
        u = 1.0 - rng.random((N, n_samples))
    return u, rng.standard_normal((N, n_samples, D))


def sample(log_weights, means, scales, n_samples=1, *, rng=None, temperature=1.0,
           sigma_temperature=1.0, noise=None):
    """``sample`` with its arrays unchecked; its other arguments are checked all the same.
    ``noise``: the ``sample_noise`` of these rows, if drawn already (else drawn from rng)."""
    temperature = check_real(temperature, "temperature")
    sigma_temperature = check_real(sigma_temperature, "sigma_temperature")
    n_samples = check_positive_int(n_samples, "n_samples")
    xp = array_module(means)
    N, _, D = means.shape
    if noise is None:
        noise = sample_noise(check_random_state(rng), N, n_samples, D, temperature,
                             log_weights.dtype)
    u, eps = noise
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
        u = xp.asarray(u, dtype=cdf.dtype)  # in (0, 1]
        # inverse CDF against u scaled by the total, which rounding may leave a hair off 1:
        # the count stays below K and never reaches a trailing component of zero weight
        u *= cdf[:, -1:]
        chosen = (cdf[:, None, :] < u[:, :, None]).sum(axis=2)  # (N, n)
    rows = xp.arange(N)[:, None]
    eps = xp.asarray(eps, dtype=means.dtype)
    if is_full(means, scales):  # y = μ + L ε
        eps = xp.matmul(scales[rows, chosen], eps[..., None])[..., 0]  # (N, n, D)
    else:
        eps *= scales[rows, chosen]  # (N, n, D)
    if sigma_temperature != 1:
        eps *= sigma_temperature ** 0.5
    eps += means[rows, chosen]
    return eps


def effective_components(log_weights):
    """1 / Σ_k π_k² per mixture, (N,): K for equal weights, 1 when one component has them
    all.

    Unchecked: arguments as ``mixture.effective_components``, valid by construction."""
    return 1.0 / array_module(log_weights).exp(2 * log_weights).sum(axis=1)


def energy_rows(n_samples, D):
    """Rows of one chunk of ``energy_score``: 2 n_samples draws of D numbers each, about 4
    million numbers in all. Blocks of a multiple of it draw the same random numbers."""
    return max(1, 4_000_000 // (2 * n_samples * D))


def energy_score(y, log_weights, means, scales, n_samples=1000, *, rng=None):
    """Unbiased: E‖X - y‖ from 2m draws, ½ E‖X - X'‖ from the m pairs of independent
    draws (first half against second), in chunks of rows that hold about 4 million
    numbers."""
    m = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(rng)
    far = rescaled(means, scales, y)
    if far is not None:  # sizes whose squares would overflow: at order 1, then scaled back
        _, r, small_means, small_scales, small_y = far
        return (r * energy_score(small_y, log_weights.astype(np.float64), small_means,
                                 small_scales, m, rng=rng)).astype(means.dtype)
    xp = array_module(means)
    N, _, D = means.shape
    rows = energy_rows(m, D)
    out = []
    for start in range(0, N, rows):
        part = slice(start, start + rows)
        draws = sample(log_weights[part], means[part], scales[part], 2 * m, rng=rng)
        to_y = xp.sqrt(((draws - y[part][:, None, :]) ** 2).sum(axis=-1)).mean(axis=1)
        apart = xp.sqrt(((draws[:, :m] - draws[:, m:]) ** 2).sum(axis=-1)).mean(axis=1)
        out.append(to_y - 0.5 * apart)
    return xp.concatenate(out)


def rescaled(means, scales, y=None):
    """The mixtures moved and shrunk, row by row, to numbers of order 1, where their sizes
    would overflow (or underflow) the products below (σ² of 1e30 in float32, of 1e200 in
    float64), for the functions that move with location and scale (modes, intervals,
    scores); None where nothing needs it.

    Returns (centre (N, 1, D), r (N,), means, scales, y) with means' = (means - centre)/r,
    scales' = scales/r and y' = (y - centre)/r, all in float64: a mode or interval end x'
    maps back to centre + r x', a score to r times it, a density to r^-D times it (callers
    return them in the dtype of ``means``). The centre is each row's first mean and r the
    largest of its scale entries and distances from the centre.
    """
    xp = array_module(means)
    info = np.finfo(means.dtype)
    low, high = float(info.tiny) ** 0.25, float(info.max) ** 0.25
    N = means.shape[0]
    centre = means[:, :1]
    sizes = [xp.abs(scales).reshape(N, -1).max(axis=1),
             xp.abs(means - centre).reshape(N, -1).max(axis=1)]
    if y is not None:
        sizes.append(xp.abs(y - centre[:, 0]).reshape(N, -1).max(axis=1))
    r = sizes[0]
    for size in sizes[1:]:
        r = xp.maximum(r, size)
    if bool(((r > low) & (r < high)).all()):
        return None
    # in float64: scales that span more than float32's range apart (a network far outside its
    # inputs: floors of 1e-3 beside scales of 1e29) still overflow float32's squares
    wide = np.float64
    centre, r = centre.astype(wide), r.astype(wide)
    r_means = r[:, None, None]
    scaled = ((means.astype(wide) - centre) / r_means,
              scales.astype(wide) / (r_means[..., None] if scales.ndim == 4 else r_means))
    small_y = None if y is None else (y.astype(wide) - centre[:, 0]) / r[:, None]
    return centre, r, scaled[0], scaled[1], small_y
