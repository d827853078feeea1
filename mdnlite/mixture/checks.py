"""The checks at the public boundary of ``mixture``: is this a batch of Gaussian mixtures?

``check_mixture`` validates the shapes and values of targets and mixture parameters and
raises a ValueError (or a TypeError for non-numbers) that names the argument and its shape.
It computes nothing about the mixtures; the unchecked functions (``density`` and the rest)
skip it.
"""

import math

import numpy as np

from ..backend import array_module, logsumexp

__all__ = ["check_mixture", "check_log_weights", "NORMALISATION_TOLERANCE"]

# allowed distance of logsumexp_k log π_k from 0: float32 rounding passes
NORMALISATION_TOLERANCE = 1e-4


def check_mixture(y=None, log_weights=None, means=None, scales=None, normalised=False):
    """Check targets and mixture parameters; return the given ones as floating arrays.

    Parameters
    ----------
    y : array (N, D) or None
    log_weights : array (N, K) or None
    means : array (N, K, D)
    scales : array (N, K, S), S in {1, D}, or Cholesky factors (N, K, D, D), or None
    normalised : bool
        Whether the caller's result depends on the weights' total (``log_prob``, ``mean``,
        ``variance``, ``covariance``): then every row's logsumexp of the log-weights must be
        0 within ``NORMALISATION_TOLERANCE`` (1e-4), which float32 rounding passes and
        weights or logits passed for log-weights do not. The other functions use only
        ratios of the weights.

    Returns
    -------
    tuple
        The arguments that are not None, in the order above; integer arrays as float64.

    Raises
    ------
    ValueError
        Shapes that disagree in N, K or D (the parameters share one batch N, and y has N
        rows, or any number of rows if N = 1: one mixture for every target); non-finite y
        or means; NaN or +inf log-weights (-inf is a zero weight, allowed), a row of zero
        weights, or unnormalised ones; scales that are not positive and finite; factors with
        non-finite entries, a diagonal that is not positive, or entries above the diagonal.
    TypeError
        Arrays of something other than real numbers.

    Notes
    -----
    Shapes cost nothing; each value check is a pass over one array and, on a device, one
    host synchronisation.
    """
    xp = array_module(means)
    means = _floating(means, "means", xp)
    if means.ndim != 3 or 0 in means.shape[1:]:
        raise ValueError(f"means must be 3-D (N, K, D) with K, D >= 1, got shape {means.shape}")
    N, K, D = means.shape
    if log_weights is not None:
        log_weights = _floating(log_weights, "log_weights", xp)
        if log_weights.ndim != 2:
            raise ValueError(f"log_weights must be 2-D (N, K), got shape {log_weights.shape}")
        if log_weights.shape != (N, K):
            raise ValueError(f"log_weights has shape {log_weights.shape}, but means "
                             f"{means.shape} needs (N, K) = ({N}, {K}): the batch N and "
                             f"K = {K} components")
    if scales is not None:
        scales = _floating(scales, "scales", xp)
        if scales.shape[:2] != (N, K) or scales.shape[2:] not in ((1,), (D,), (D, D)):
            raise ValueError(f"scales has shape {scales.shape}, but means {means.shape} needs "
                             f"(N, K, 1), (N, K, D) or (N, K, D, D) with the batch N = {N}, "
                             f"K = {K} and D = {D}")
    if y is not None:
        y = _floating(y, "y", xp)
        if y.ndim != 2:
            raise ValueError(f"y must be 2-D (N, D), got shape {y.shape}")
        if y.shape[1] != D:
            raise ValueError(f"y has shape {y.shape}, but means {means.shape} needs (N, D) with "
                             f"D = {D}")
        if N not in (1, y.shape[0]):
            raise ValueError(f"y has {y.shape[0]} rows, but the mixture parameters have a batch "
                             f"of {N} (means {means.shape}): give one mixture per target, or a "
                             "batch of 1 for all of them")
        _check_finite(xp.isfinite(y), "y")
    _check_finite(xp.isfinite(means), "means")
    if log_weights is not None:
        _check_log_weights(log_weights, xp, normalised)
    if scales is not None:
        _check_scales(scales, xp)
    return tuple(a for a in (y, log_weights, means, scales) if a is not None)


def check_log_weights(log_weights, normalised=False):
    """Log-weights (N, K) alone, checked as ``check_mixture`` checks them; returned as a
    floating array."""
    xp = array_module(log_weights)
    log_weights = _floating(log_weights, "log_weights", xp)
    if log_weights.ndim != 2 or 0 in log_weights.shape[1:]:
        raise ValueError(f"log_weights must be 2-D (N, K) with K >= 1, got shape "
                         f"{log_weights.shape}")
    _check_log_weights(log_weights, xp, normalised)
    return log_weights


def _floating(a, name, xp):
    """``a`` as a floating array of ``xp``: integers become float64, other kinds are refused."""
    if not hasattr(a, "dtype"):
        a = xp.asarray(a)
    kind = np.dtype(a.dtype).kind
    if kind in "iu":
        return a.astype(np.float64)
    if kind != "f":
        raise TypeError(f"{name} must hold real floating-point numbers, got dtype {a.dtype}")
    return a


def _check_finite(finite, name):
    if not bool(finite.all()):
        raise ValueError(f"{name} contains NaN or infinity")


def _check_log_weights(log_weights, xp, normalised):
    if not bool((log_weights < math.inf).all()):  # False for NaN too
        raise ValueError("log_weights contains NaN or +inf (a zero weight is log 0 = -inf, "
                         "which is allowed)")
    empty = log_weights.max(axis=1) == -math.inf  # (N,)
    if bool(empty.any()):
        raise ValueError(f"log_weights gives every component of row {int(empty.argmax())} a "
                         "zero weight (all -inf): at least one weight must be positive")
    if normalised:
        total = logsumexp(log_weights, axis=1)  # (N,)
        error = xp.abs(total)
        if not bool((error <= NORMALISATION_TOLERANCE).all()):
            row = int(error.argmax())
            raise ValueError(f"log_weights are not normalised: their logsumexp over the "
                             f"components is {float(total[row]):.6g} in row {row}, not 0 "
                             f"(within {NORMALISATION_TOLERANCE}); pass log-weights, e.g. "
                             "backend.log_softmax(logits, axis=1)")


def _check_scales(scales, xp):
    if scales.ndim == 3:  # standard deviations
        if not bool(((scales > 0) & (scales < math.inf)).all()):
            raise ValueError("scales must be positive and finite (standard deviations)")
        return
    _check_finite(xp.isfinite(scales), "scales")
    D = scales.shape[-1]
    diagonal = scales[..., list(range(D)), list(range(D))]  # (N, K, D)
    if not bool((diagonal > 0).all()):
        raise ValueError("scales: the diagonal of every Cholesky factor must be positive")
    rows, columns = np.triu_indices(D, 1)
    if D > 1 and not bool((scales[..., rows.tolist(), columns.tolist()] == 0).all()):
        raise ValueError("scales: Cholesky factors must be lower-triangular (0 above the "
                         "diagonal, where covariance and sample would read them)")
