"""Finite-difference gradient checks, public so that users can test their own layers.

``numerical_gradient`` perturbs one element at a time (central differences);
``directional_derivative_error`` checks a whole parameter set along one random direction,
for sets too large to perturb element by element. Both want float64 arrays: in float32 the
differences drown in rounding.
"""

import numpy as np

from ..backend import array_module, to_device, to_host

__all__ = [
    "numerical_gradient",
    "relative_error",
    "gradient_error",
    "directional_derivative_error",
]


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function with respect to an array.

    Parameters
    ----------
    f : callable () -> float
        Evaluates the scalar at the current contents of ``x``.
    x : array, any shape, NumPy or CuPy
        Perturbed in place, one element at a time, and restored exactly.
    eps : float
        Step: df/dx_i ≈ (f(x + ε e_i) - f(x - ε e_i)) / 2ε, with error O(ε²).

    Returns
    -------
    numpy.ndarray, float64, shape of ``x``
    """
    grad = np.empty(x.shape, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        old = x[idx].copy()
        x[idx] = old + eps
        f_plus = float(f())
        x[idx] = old - eps
        f_minus = float(f())
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def relative_error(a, b, floor=0.0):
    """Norm-wise relative error ‖a - b‖ / max(‖a‖, ‖b‖, floor) (0 when all three are 0).

    Norm-wise rather than element-wise: an element that is zero up to rounding in both
    gradients would make an element-wise ratio meaningless. ``floor`` bounds the
    denominator from below for gradients so small that central differences cannot resolve
    them (their rounding noise is about 1e-16 |f| / ε).
    """
    a = to_host(a).astype(np.float64).ravel()
    b = to_host(b).astype(np.float64).ravel()
    scale = max(np.linalg.norm(a), np.linalg.norm(b), floor)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def gradient_error(f, x, analytic, eps=1e-6, floor=0.0):
    """Relative error between an analytic gradient and central differences of ``f`` at ``x``.

    Parameters
    ----------
    f : callable () -> float
    x : array
        The variable, perturbed in place and restored.
    analytic : array, shape of ``x``
        The gradient to check, computed before the call (``x`` is restored afterwards, but
        anything computed from it in between is not).
    eps, floor : float
        See ``numerical_gradient`` and ``relative_error``.

    Returns
    -------
    float
        ``relative_error(analytic, numerical_gradient(f, x, eps), floor)``.
    """
    analytic = to_host(analytic).copy()
    return relative_error(analytic, numerical_gradient(f, x, eps), floor)


def directional_derivative_error(f, params, grads, rng=None, eps=1e-6, floor=0.0):
    """Check a gradient along one random unit direction through all parameters at once.

    The analytic derivative along v is Σ_i ⟨grads_i, v_i⟩; the numerical one is
    (f(p + ε v) - f(p - ε v)) / 2ε. One pair of evaluations, whatever the number of
    parameters, so it suits whole networks; a wrong gradient passes only if its error is
    orthogonal to v, which a random v makes vanishingly unlikely.

    Parameters
    ----------
    f : callable () -> float
    params : list of arrays
        Perturbed in place along v and restored.
    grads : list of arrays, parallel to ``params``
        Analytic gradients, taken before the call.
    rng : None, int or numpy.random.Generator
    floor : float
        Smallest denominator. A random direction can be nearly orthogonal to the gradient,
        leaving a directional derivative much smaller than the gradient itself and below what
        central differences resolve; passing the gradient's norm ‖g‖ (the largest value the
        derivative along a unit direction can take) measures the error on that scale.

    Returns
    -------
    float
        |analytic - numerical| / max(|analytic|, |numerical|, floor) (0 when all are 0).
    """
    rng = np.random.default_rng(rng)
    directions = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum(float((d * d).sum()) for d in directions))
    directions = [d / norm for d in directions]
    analytic = sum(float((to_host(g).astype(np.float64) * d).sum())
                   for g, d in zip(grads, directions))
    originals = [p.copy() for p in params]
    device_dirs = [_like(p, d) for p, d in zip(params, directions)]

    def shifted(sign):
        for p, p0, d in zip(params, originals, device_dirs):
            p[...] = p0 + (sign * eps) * d
        return float(f())

    numerical = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps)
    for p, p0 in zip(params, originals):
        p[...] = p0
    scale = max(abs(analytic), abs(numerical), floor)
    return 0.0 if scale == 0 else abs(analytic - numerical) / scale


def _like(p, host_array):
    """Move a host array to the device of ``p``, in ``p``'s dtype."""
    return to_device(host_array, array_module(p), dtype=p.dtype)
