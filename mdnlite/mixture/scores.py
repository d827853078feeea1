"""Proper scores and calibration of Gaussian-mixture forecasts: CRPS, PIT, interval coverage.

The continuous ranked probability score of a forecast F for an outcome y is
CRPS(F, y) = E|X - y| - ½ E|X - X'| with X, X' independent draws of F; for a mixture of
normals both expectations are closed-form (Grimit, Gneiting, Berrocal and Johnson 2006). It
is in the units of y, and lower is better. The probability integral transform F(y) is
uniform on (0, 1) when y is drawn from F: its histogram, and the coverage of central
intervals, say whether a model's spreads are right. Mixture parameters are laid out as in
``mixture``; nothing here checks them (``mixture`` does, then calls these).
"""

import math
from collections import namedtuple

import numpy as np

from ..backend import array_module
from ..validation import check_unit_levels
from .density import rescaled
from .meanshift import marginal_scales
from .special import ndtr, normal_pdf
from .univariate import cdf

__all__ = ["crps", "pit", "calibration", "calibration_of_pit", "check_levels",
           "interval_coverage", "Calibration", "CALIBRATION_LEVELS"]

CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)

Calibration = namedtuple("Calibration", ["levels", "observed", "n_samples", "standard_error"])
Calibration.__doc__ = """Coverage of central intervals against their nominal level.

Attributes
----------
levels : array (L,)
    The nominal coverages c of the central intervals [Q((1 - c)/2), Q((1 + c)/2)].
observed : array (L, D)
    The fraction of samples whose target lies in each interval, per target dimension.
n_samples : int
standard_error : array (L,)
    sqrt(c (1 - c) / n_samples): the binomial spread of ``observed`` for a calibrated
    model, so that |observed - levels| within about two of them is no evidence against it.
"""


def _expected_distance(m, v):
    """E|Z| for Z ~ N(m, v): 2 s φ(m/s) + m (2 Φ(m/s) - 1), s = sqrt(v)."""
    s = array_module(m).sqrt(v)
    z = m / s
    return 2 * s * normal_pdf(z) + m * (2 * ndtr(z) - 1)


def crps(y, log_weights, means, scales):
    """CRPS of each marginal of each mixture for targets y, (N, D), in the units of y.

    CRPS = Σ_k π_k A(y - μ_k, σ_k²) - ½ Σ_j Σ_k π_j π_k A(μ_j - μ_k, σ_j² + σ_k²), with
    A(m, v) = E|N(m, v)| (Grimit et al. 2006), per dimension with each component's
    marginal variance. The pairwise sum is symmetric, so K(K - 1)/2 pairs are evaluated, an
    (N, K(K - 1)/2, D) array.
    """
    xp = array_module(means)
    far = rescaled(means, scales, y)
    if far is not None:  # sizes whose squares would overflow: at order 1, then scaled back
        _, r, small_means, small_scales, small_y = far
        return (r[:, None] * crps(small_y, log_weights.astype(np.float64), small_means,
                                  small_scales)).astype(means.dtype)
    s = marginal_scales(means, scales)  # (N, K, D)
    w = xp.exp(log_weights)[..., None]  # (N, K, 1)
    variance = s * s
    spread = (w * _expected_distance(y[:, None, :] - means, variance)).sum(axis=1)  # (N, D)
    # the pairwise sum is symmetric: its diagonal is A(0, 2σ_k²) = 2 σ_k/√π, and each pair
    # j < k counts twice
    sharpness = (w * w * s).sum(axis=1) * (2 / math.sqrt(math.pi))  # (N, D)
    K = means.shape[1]
    if K > 1:
        j, k = (xp.asarray(i) for i in np.triu_indices(K, 1))  # (P,) each, P = K(K-1)/2
        pairs = _expected_distance(means[:, j] - means[:, k], variance[:, j] + variance[:, k])
        sharpness += 2 * (w[:, j] * w[:, k] * pairs).sum(axis=1)  # (N, P, D) summed
    return spread - 0.5 * sharpness


def pit(y, log_weights, means, scales):
    """The probability integral transform F_d(y_d) of each target under each marginal,
    (N, D): uniform on (0, 1) for targets drawn from the mixtures."""
    return cdf(y, log_weights, means, scales)


def check_levels(levels):
    return check_unit_levels(levels, "coverage levels")


def calibration(y, log_weights, means, scales, levels=CALIBRATION_LEVELS):
    """Coverage of the central intervals at each level, per dimension (``Calibration``).

    y lies in the central interval of coverage c exactly when its PIT value u does:
    (1 - c)/2 <= u <= (1 + c)/2, so no quantile is computed.
    """
    return calibration_of_pit(pit(y, log_weights, means, scales), levels)


def calibration_of_pit(u, levels=CALIBRATION_LEVELS):
    """``calibration`` from the PIT values u (N, D) themselves."""
    c = check_levels(levels)
    distance = array_module(u).abs(u - 0.5)  # (N, D)
    observed = [(distance <= float(level) / 2).mean(axis=0) for level in c]
    N = u.shape[0]
    return Calibration(c, array_module(u).stack(observed), N, np.sqrt(c * (1 - c) / N))


def interval_coverage(y, lower, upper):
    """(fraction of targets inside, mean width) of intervals, per dimension.

    ``lower`` and ``upper`` are (N, D) for one interval per sample and dimension, or
    (N, M) (for D = 1) for a union of M intervals per sample with NaN padding, as
    ``mixture.highest_density_intervals`` gives: a target inside any of them is covered, and
    the width is their total length.
    """
    xp = array_module(lower)
    if lower.shape[1] == y.shape[1]:
        inside = (lower <= y) & (y <= upper)
        return inside.mean(axis=0), (upper - lower).mean(axis=0)
    if y.shape[1] != 1:
        raise ValueError("a union of intervals per sample needs 1-D targets")
    inside = ((lower <= y) & (y <= upper)).any(axis=1)  # NaN compares False
    width = xp.where(xp.isnan(lower), 0.0, upper - lower).sum(axis=1)
    return inside.mean(axis=0, keepdims=True), width.mean(axis=0, keepdims=True)

