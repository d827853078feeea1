"""Settings of the machine's resources: BLAS threads and the memory of a prediction.

``get_config``, ``set_config`` and the context manager ``config_context`` (scikit-learn's
names) hold two settings, per thread of the caller:

- ``blas_threads``: how many threads the BLAS (OpenBLAS, MKL) may use for mdnlite's own
  matrix products. ``"auto"`` (the default) chooses from the size of the work
  (``blas_threads_for``): one thread for products of a few million multiply-adds, where
  the threads cost more in waiting for each other than they give (and far more on a busy
  machine), and the caller's setting, untouched, for large ones. An integer sets that many;
  ``None`` leaves the caller's setting alone always. The setting applies around the epochs
  of an ``MDN``'s or a ``Regressor``'s ``fit`` and ``partial_fit`` and around the network's
  forward pass of a prediction, never process-wide and never per step, and the caller's is
  restored afterwards (``GaussianMixture``'s EM leaves the BLAS as it is). It needs
  threadpoolctl (``pip install threadpoolctl``); without it nothing is changed.
- ``prediction_memory``: about how many bytes a prediction method may use for its temporary
  arrays (256 MiB by default): rows are predicted in blocks small enough for it, whatever
  N. The result itself comes on top (``predict_mixture`` of a million rows of 10
  full-covariance components in 3 dimensions is 1 GB by itself).

Nothing here imports threadpoolctl until a setting has to be applied.
"""

import contextlib
import sys
import threading

from .validation import check_positive_int

__all__ = ["get_config", "set_config", "config_context", "blas_limit", "blas_threads_for",
           "row_blocks", "SMALL_WORK"]

# multiply-adds of a product below which one BLAS thread is faster for a whole training
# step: measured on 2 cores, a default fit (batch 256, 64 x 64 layers, 1e6 multiply-adds)
# takes 1.35 times as long with two threads on a quiet machine and 3.7 times on a busy one,
# while products of 2.7e8 (batch 4096, 256 x 256) run 1.4 times faster with two
SMALL_WORK = 2 ** 25

_DEFAULTS = {"blas_threads": "auto", "prediction_memory": 256 * 2 ** 20}
_local = threading.local()


def _settings():
    if not hasattr(_local, "settings"):
        _local.settings = dict(_GLOBAL)
    return _local.settings


_GLOBAL = dict(_DEFAULTS)


def get_config():
    """The current settings, as a dict (a copy)."""
    return dict(_settings())


_UNSET = object()


def _checked(blas_threads=_UNSET, prediction_memory=_UNSET, **unknown):
    if unknown:
        raise TypeError(f"unknown setting {sorted(unknown)[0]!r}: the settings are "
                        f"{sorted(_DEFAULTS)}")
    out = {}
    if blas_threads is not _UNSET:
        if not (blas_threads is None or blas_threads == "auto"):
            blas_threads = check_positive_int(blas_threads, "blas_threads")
        out["blas_threads"] = blas_threads
    if prediction_memory is not _UNSET:
        out["prediction_memory"] = check_positive_int(prediction_memory, "prediction_memory",
                                                      minimum=2 ** 20)
    return out


def set_config(*, blas_threads=_UNSET, prediction_memory=_UNSET):
    """Change settings for the rest of the program (in this thread, and in threads started
    afterwards); see the module docstring for what each means."""
    new = _checked(blas_threads=blas_threads, prediction_memory=prediction_memory)
    _GLOBAL.update(new)
    _settings().update(new)


@contextlib.contextmanager
def config_context(*, blas_threads=_UNSET, prediction_memory=_UNSET):
    """Change settings inside a ``with`` block only (in this thread).

    The settings of before come back when the block ends, however it ends::

        with mdnlite.config_context(blas_threads=1, prediction_memory=64 * 2**20):
            model.predict_quantiles(X, [0.1, 0.9])
    """
    new = _checked(blas_threads=blas_threads, prediction_memory=prediction_memory)
    settings = _settings()
    old = dict(settings)
    settings.update(new)
    try:
        yield
    finally:
        settings.clear()
        settings.update(old)


def blas_threads_for(work):
    """The number of BLAS threads for products of ``work`` multiply-adds each under the
    current setting: an int, or None for "leave the caller's setting"."""
    setting = _settings()["blas_threads"]
    if setting == "auto":
        return 1 if work < SMALL_WORK else None
    return setting


_controller = None
_modules_seen = -1  # len(sys.modules) when the controller was made


def _threadpools():
    """threadpoolctl's controller of the loaded BLAS libraries, or None. Made again when
    modules were imported since (one may have loaded another BLAS, SciPy's for one: a
    controller only limits the libraries loaded when it was made)."""
    global _controller, _modules_seen
    if _controller is None or (_controller and len(sys.modules) != _modules_seen):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
        _modules_seen = len(sys.modules)
    return _controller or None


def blas_limit(work, xp=None):
    """A context in which the BLAS runs with ``blas_threads_for(work)`` threads (on the CPU:
    nothing changes for CuPy arrays, ``xp`` not NumPy)."""
    threads = blas_threads_for(work)
    if threads is None or (xp is not None and xp.__name__ != "numpy"):
        return contextlib.nullcontext()
    controller = _threadpools()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=threads, user_api="blas")


def row_blocks(n_rows, elements_per_row, itemsize=8, multiple=1):
    """Slices of at most as many rows as fit ``prediction_memory`` when each row needs
    ``elements_per_row`` array elements of ``itemsize`` bytes at once (a multiple of
    ``multiple`` rows, at least one multiple); one slice for an empty array."""
    budget = _settings()["prediction_memory"]
    rows = max(1, budget // max(1, int(elements_per_row) * itemsize))
    rows = max(multiple, rows - rows % multiple)
    return [slice(start, min(start + rows, n_rows)) for start in range(0, n_rows, rows)] \
        or [slice(0, 0)]

