"""The array module (NumPy or CuPy), the dtype policy, host/device moves, log-space helpers.

Everything else in mdnlite is written once against ``xp``, the array module that holds its
arrays. This file is the only one that knows CuPy exists, and it imports CuPy only when asked.
"""

import importlib
import math
import sys

import numpy as np

from .exceptions import BackendUnavailableError

__all__ = [
    "BackendUnavailableError",
    "get_xp",
    "array_module",
    "resolve_dtype",
    "to_device",
    "to_host",
    "logsumexp",
    "log_softmax",
    "softplus",
    "softmax_parts",
    "LOG_2PI",
]

LOG_2PI = math.log(2.0 * math.pi)

_CUPY_HINT = (
    "backend='cupy' needs CuPy with a CUDA device: install the wheel that matches your CUDA, "
    "for example `pip install cupy-cuda12x` (or `pip install 'mdnlite[cuda]'` for CUDA 12)"
)


def _cupy_with_device():
    """Import CuPy and check that it sees a CUDA device; raise BackendUnavailableError if not."""
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        raise BackendUnavailableError(f"{_CUPY_HINT} ({exc})") from None
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA runtime errors have no common base class
        raise BackendUnavailableError(
            f"{_CUPY_HINT}; CuPy found no usable device ({exc})") from None
    if n_devices < 1:
        raise BackendUnavailableError(f"{_CUPY_HINT}; CuPy found no CUDA device")
    return cupy


def get_xp(backend="numpy"):
    """Return the array module for a backend name.

    Parameters
    ----------
    backend : {"numpy", "cupy", "auto"} or module
        ``"auto"`` picks CuPy when it imports and sees a CUDA device, else NumPy. A module
        object that follows NumPy's API is returned unchanged (the tests pass a strict
        stand-in for CuPy this way).

    Returns
    -------
    module
        ``numpy`` or ``cupy``.

    Raises
    ------
    BackendUnavailableError
        ``"cupy"`` was asked for and CuPy or a device is missing; the message says what to
        install.
    ValueError
        Any other name.
    """
    if not isinstance(backend, str):
        if hasattr(backend, "asarray") and hasattr(backend, "matmul"):
            return backend
        raise TypeError(f"backend must be 'numpy', 'cupy', 'auto' or an array module, "
                        f"got {backend!r}")
    if backend == "numpy":
        return np
    if backend == "cupy":
        return _cupy_with_device()
    if backend == "auto":
        try:
            return _cupy_with_device()
        except BackendUnavailableError:
            return np
    raise ValueError(f"backend must be 'numpy', 'cupy' or 'auto', got {backend!r}")


def array_module(x):
    """Return the array module that owns ``x`` (NumPy for host arrays and Python scalars)."""
    if isinstance(x, (np.ndarray, np.generic, int, float)):
        return np
    if type(x).__module__.partition(".")[0] == "cupy":
        return sys.modules["cupy"]
    get_namespace = getattr(x, "__array_namespace__", None)
    if get_namespace is not None:
        return get_namespace()
    return np


def resolve_dtype(dtype):
    """Return ``numpy.float32`` or ``numpy.float64``; anything else is a TypeError.

    float32 is the default for training; float64 is for gradient checks and for users who
    need it. Half precision is refused: the log-density of a narrow component overflows it.
    """
    if dtype is None:
        return np.dtype(np.float32)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if resolved.type not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    return resolved


def to_device(a, xp, dtype=None):
    """Copy host data onto ``xp``'s device (a no-op for arrays already there in ``dtype``)."""
    return xp.asarray(a, dtype=dtype)


def to_host(a):
    """Return ``a`` as a NumPy array (a copy from the device where ``a`` lives on one)."""
    xp = array_module(a)
    if xp is np:
        return np.asarray(a)
    return xp.asnumpy(a)


def logsumexp(a, axis=-1, keepdims=False):
    """log(sum(exp(a))) along ``axis``, shifted by the maximum so that nothing overflows."""
    _, _, log_total, m = softmax_parts(a, axis)
    log_total += m
    return log_total if keepdims else log_total.squeeze(axis)


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact and overflow-free for any x.

    (``logaddexp(0, x)`` computes the same, several times slower in NumPy.)
    """
    xp = array_module(x)
    y = xp.abs(x)
    xp.negative(y, out=y)
    xp.exp(y, out=y)
    xp.log1p(y, out=y)
    y += xp.maximum(x, 0)
    return y


def log_softmax(logits, axis=-1):
    """logits - logsumexp(logits), formed from the max-shifted logits so that it stays exact
    for logits of any size (no large number is subtracted from another)."""
    shifted, _, log_total, _ = softmax_parts(logits, axis)
    shifted -= log_total
    return shifted


def softmax_parts(a, axis=-1):
    """The pieces of a softmax along ``axis``, with a single exp; callers combine what they need.

    With m = max(a) along ``axis``: log-softmax = shifted - log_total, softmax = p and
    logsumexp = log_total + m. Shifting by the maximum keeps exp from overflowing, and every
    result is formed without subtracting one large number from another.

    Returns
    -------
    shifted : array, shape of ``a``
        a - m.
    p : array, shape of ``a``
        softmax(a), each slice along ``axis`` summing to 1.
    log_total : array, ``a``'s shape with ``axis`` kept as 1
        log Σ exp(a - m), in [0, log K].
    m : array, shaped like ``log_total``
    """
    xp = array_module(a)
    m = a.max(axis=axis, keepdims=True)
    shifted = a - m
    p = xp.exp(shifted)
    total = p.sum(axis=axis, keepdims=True)
    p /= total
    return shifted, p, xp.log(total), m
