"""The numerics under ``GaussianMixture``'s EM: the E-step, safe Cholesky factors, a range check.

Each is a pure function of arrays on either backend. The E-step returns the mean
log-likelihood (the one host read of an iteration) with the responsibilities; ``factorise``
tells a covariance that stopped being positive definite from one that is merely small,
on NumPy (which raises) and CuPy (which does not); ``check_range`` refuses data whose sums of
squares would overflow the dtype before EM starts.
"""

import math

import numpy as np

from ..backend import array_module, softmax_parts
from ..mixture import density

__all__ = ["e_step", "factorise", "check_range"]


def e_step(data, fit):
    """Mean log-likelihood (a float: the one host sync per iteration) and responsibilities."""
    log_comp, _ = density.component_log_density(data, fit.means[None], fit.scales[None])
    _, gamma, log_total, shift = softmax_parts(fit.log_weights + log_comp, axis=1)  # (N, K)
    log_total += shift  # (N, 1): log p(z_n)
    return float(log_total.mean()), gamma


def factorise(covariances, resolution):
    """Cholesky factors (K, F, F) of covariances (K, F, F), or None if one is not positive
    definite to working precision (a pivot at or below ``resolution``)."""
    xp = array_module(covariances)
    try:
        factors = xp.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        return None
    # CuPy does not raise: a failed factor comes back partly written (or NaN), which the
    # residual L Lᵀ - Σ shows; rounding alone keeps it within a few ulps of the largest Σ_ii
    F = covariances.shape[-1]
    residual = xp.abs(xp.matmul(factors, factors.swapaxes(1, 2)) - covariances).max(axis=(1, 2))
    largest = xp.diagonal(covariances, axis1=1, axis2=2).max(axis=1)  # (K,)
    pivots = xp.diagonal(factors, axis1=1, axis2=2)  # (K, F)
    eps = np.finfo(covariances.dtype).eps
    fine = (pivots > resolution).all() & (residual <= 16 * F * eps * largest).all()
    return factors if bool(fine) else None


def check_range(largest, shape, dtype):
    """Refuse data whose sums of squares could overflow ``dtype``: k-means adds F squared
    differences of up to (2 max|x|)², and EM's second moments N of them."""
    N, F = shape
    limit = math.sqrt(float(np.finfo(dtype).max) / (4.0 * N * F))
    if not largest <= limit:
        raise ValueError(
            f"X has values up to {largest:.3g} in absolute value: with {N} samples and {F} "
            f"features the squared distances of k-means and the second moments of EM would "
            f"overflow {np.dtype(dtype).name} (they stay finite up to {limit:.3g}); rescale "
            f"the data, for example divide it by {largest:.3g}"
            + (" (or use dtype='float64')" if np.dtype(dtype) != np.float64 else ""))
