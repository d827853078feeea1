"""Predictions on Dask arrays: lazy, one task per block of rows, with chunks and meta stated.

A prediction method given a Dask array X (and y) returns Dask arrays instead of computing:
each block of X's rows (its columns joined into one chunk) becomes one task that calls the
method on that block, in memory, on whichever worker runs it, and each of the method's
outputs becomes a Dask array built from those tasks with its shape, dtype and ``meta``
given here, from the model's sizes (components K, targets D, covariance) and the method's
arguments: nothing is guessed by calling the method on made-up data. The model travels to
the workers once per graph (it pickles), and the chunks' array type (NumPy, or CuPy on a
GPU cluster) carries over to ``meta``.

Methods that reduce over the rows (``score``, ``calibration``, ``interval_coverage``)
return lazy reductions of the per-row results. Random methods (``sample``,
``energy_score``) seed each block from ``random_state`` with ``numpy.random.SeedSequence``
spawning: reproducible for one chunking, not equal to the in-memory draws.

Dask is imported only here, only when a Dask array comes in: importing mdnlite never
imports it.
"""

import inspect

import numpy as np

from ..backend import array_module
from .results import MixtureParameters, Modes, result_dtype

__all__ = ["is_dask", "rows_lazily"]


def is_dask(a):
    """Whether ``a`` is a Dask array, without importing Dask."""
    return type(a).__module__.split(".")[0] == "dask" and hasattr(a, "to_delayed")


def _target_tail(model, ndim_axes):
    """The target axes of a result for ``model``: (D,)*ndim_axes, () for a 1-D fit."""
    _, D, _ = model._mixture_sizes()
    return () if model._target_ndim == 1 else (D,) * ndim_axes


def output_layout(model, name, args, dtype):
    """[(shape after the row axis, dtype), ...] of each output of method ``name`` called
    with ``args`` (its bound arguments), and how they are put together."""
    K, D, full = model._mixture_sizes()
    one = _target_tail(model, 1)
    if name in ("predict", "predict_variance", "predict_mode", "predict_approx_mode", "cdf",
                "pit", "crps"):
        return [(one, dtype)], None
    if name == "predict_covariance":
        return [(_target_tail(model, 2), dtype)], None
    if name in ("score_samples", "energy_score"):
        return [((), dtype)], None
    if name == "predict_quantiles":
        q = args["q"]
        return [(one if np.ndim(q) == 0 else (int(np.size(q)),) + one, dtype)], None
    if name == "predict_interval":
        if args.get("kind", "central") == "hdr":
            return [((K, 2), dtype)], None
        return [(one, dtype), (one, dtype)], tuple
    if name == "predict_modes":
        M = K if D == 1 else 2 * K
        return [((M,) + one, dtype), ((M,), dtype), ((), np.dtype(np.int64))], Modes
    if name == "sample":
        return [((int(args["n_samples"]),) + one, dtype)], None
    if name == "predict_mixture":
        return [((K,), dtype), ((K, D), dtype), ((K, D, D) if full else (K, D), dtype)], \
            MixtureParameters
    raise TypeError(f"{name} does not take Dask arrays")


def _pieces(result):
    """A method's result as a tuple of arrays."""
    return tuple(result) if isinstance(result, tuple) else (result,)


def _call(model, name, X, y, kwargs):
    method = getattr(model, name)
    return _pieces(method(X, **kwargs) if y is None else method(X, y, **kwargs))


def rows_lazily(model, method, X, args):
    """``method`` (a bound method's function) of ``model`` over the row blocks of Dask X,
    with ``args`` its bound arguments (y, if any, a Dask or in-memory array with X's rows):
    Dask arrays, or a tuple (or named tuple) of them."""
    import dask
    import dask.array as da

    name = method.__name__
    dtype = result_dtype(X)
    X = X.rechunk({1: -1}) if X.ndim == 2 else X.rechunk(X.chunks[0])
    rows = X.chunks[0]
    y = args.pop("y", None)
    if y is not None:
        y = y.rechunk((rows,) + tuple((n,) for n in y.shape[1:])) if is_dask(y) else \
            da.from_array(y, chunks=(rows,) + tuple((n,) for n in np.shape(y)[1:]))
    if name == "score":
        return model.score_samples(X, y).mean()
    if name == "calibration":
        return _calibration(model, X, y, args["levels"])
    if name == "interval_coverage":
        return _coverage(model, X, y, args["coverage"], args["kind"])
    layout, pack = output_layout(model, name, args, dtype)
    seeds = None
    if "random_state" in args:  # one seed per block, spawned from the caller's
        root = args["random_state"]
        entropy = root if isinstance(root, (int, np.integer)) else None
        if isinstance(root, np.random.Generator):
            entropy = int(root.integers(2 ** 63))
        seeds = np.random.SeedSequence(entropy).spawn(len(rows))
    meta_xp = array_module(getattr(X, "_meta", np.empty(0)))
    shared = dask.delayed(model, pure=True)
    X_blocks = X.to_delayed().ravel()
    y_blocks = y.to_delayed().ravel() if y is not None else [None] * len(rows)
    outputs = [[] for _ in layout]
    for i, n in enumerate(rows):
        kwargs = dict(args)
        if seeds is not None:
            kwargs["random_state"] = np.random.default_rng(seeds[i])
        task = dask.delayed(_call, pure=True, nout=len(layout))(shared, name, X_blocks[i],
                                                                 y_blocks[i], kwargs)
        for j, (tail, kind) in enumerate(layout):
            meta = (np if kind.kind == "i" else meta_xp).empty((0,) + tail, dtype=kind)
            outputs[j].append(da.from_delayed(task[j], shape=(n,) + tail, dtype=kind,
                                              meta=meta))
    joined = [da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
              for parts in outputs]
    if pack is None:
        return joined[0]
    return tuple(joined) if pack is tuple else pack(*joined)


def _calibration(model, X, y, levels):
    from ..mixture import scores
    c = scores.check_levels(levels)
    u = model.pit(X, y)
    u = u if u.ndim == 2 else u[:, None]  # (N, D) for the levels' reductions
    distance = abs(u - 0.5)
    import dask.array as da
    observed = da.stack([(distance <= float(level) / 2).mean(axis=0) for level in c])
    if model._target_ndim == 1:
        observed = observed[:, 0]
    N = X.shape[0]
    return scores.Calibration(c, observed, N, np.sqrt(c * (1 - c) / N))


def _coverage(model, X, y, coverage, kind):
    if kind == "hdr":
        raise TypeError("interval_coverage(kind='hdr') needs arrays in memory; give it "
                        "blocks of X and y, or kind='central'")
    lower, upper = model.predict_interval(X, coverage)
    y = y.reshape(lower.shape)  # (N,) or (N, 1) targets of a 1-D fit alike
    inside = ((y >= lower) & (y <= upper)).mean(axis=0)
    return inside, (upper - lower).mean(axis=0)


def lazy_rows(method):
    """Decorator: ``method(self, X, ...)`` runs lazily on the row blocks of a Dask X."""
    signature = inspect.signature(method)

    def run(self, X, *args, **kwargs):
        if is_dask(X):
            bound = signature.bind(self, X, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            del arguments["self"], arguments["X"]
            return rows_lazily(self, method, X, arguments)
        return method(self, X, *args, **kwargs)

    run.__name__, run.__qualname__, run.__doc__ = (method.__name__, method.__qualname__,
                                                    method.__doc__)
    run.__wrapped__ = method
    run.__module__ = method.__module__
    return run
