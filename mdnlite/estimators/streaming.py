"""Out-of-core training: ``fit`` on data that stay where they are (a ``numpy.memmap``, an
h5py or zarr dataset, a Dask array), read a block of rows at a time.

Memory is bounded by ``BUFFER_ROWS`` rows, not by N:

- the standardisation's statistics come from one streaming pass over blocks of rows (each
  block's count, mean and sum of squared deviations combined by Chan's parallel update);
- the k-means start of the output layer, and the end-of-fit checks, use a sample of at
  most ``collective.SAMPLE_ROWS`` rows drawn at random (read in increasing order, as h5py
  asks);
- each epoch visits the blocks of ``BLOCK_ROWS`` rows in a random order; ``BUFFER_ROWS /
  BLOCK_ROWS`` of them at a time are read, standardised into one buffer, and trained on in
  minibatches drawn at random from the whole buffer. What the shuffle guarantees: every row
  is seen once per epoch, batches mix rows of several random blocks, and the order of the
  blocks and of the rows in a buffer changes each epoch; rows of blocks far apart on disk
  meet in a batch only when their blocks share a buffer. Data already in memory (a plain
  NumPy or CuPy array, a list) take the in-memory path, whose every row can meet every other.

Held-out rows for early stopping are the caller's ``validation_data`` (in memory): with
streamed data ``early_stopping="auto"`` holds nothing out and stops nothing. The
Regressor's noise variance is estimated on the sample.
"""

import numpy as np

from ..validation import check_pair
from . import training
from .collective import SAMPLE_ROWS

__all__ = ["is_out_of_core", "BLOCK_ROWS", "BUFFER_ROWS", "fit_streamed", "partial_fit_streamed"]

BLOCK_ROWS = 16384  # rows read at once
BUFFER_ROWS = 262144  # rows trained on together: blocks are shuffled within this many rows


IN_MEMORY = ("numpy", "cupy", "pandas", "polars", "builtins", "scipy", "torch")


def is_out_of_core(a):
    """Whether ``a`` holds rows that stay outside memory until read: a memory-mapped array,
    an h5py, zarr or Dask array, or any other array-like with a dtype, a shape of one or two
    axes and row slicing (none of their libraries is imported to find out). NumPy, CuPy and
    other array-API arrays, lists, and pandas or polars frames are in memory."""
    if isinstance(a, np.memmap):
        return True
    root = type(a).__module__.split(".")[0]
    rows = len(getattr(a, "shape", ())) in (1, 2)
    if root in ("dask", "h5py", "zarr"):
        return rows
    if root in IN_MEMORY or hasattr(a, "__array_namespace__"):  # array-API arrays (CuPy and
        return False                                             # the like) are in memory
    return rows and hasattr(a, "dtype") and hasattr(a, "__getitem__")


def read(a, rows):
    """Rows ``rows`` (a slice, or increasing host integers) of ``a`` as a NumPy array."""
    block = a[rows]
    if hasattr(block, "compute"):  # Dask
        block = block.compute()
    return np.asarray(block)


def _checked(model, X, y, rows, xp, what):
    """Rows of X and y read and checked like in-memory data (NaN, shapes, numbers)."""
    x_block, y_block = read(X, rows), read(y, rows)
    start = rows.start if isinstance(rows, slice) else int(rows[0])
    try:
        return check_pair(x_block, y_block, xp=xp, dtype=None, owner=type(model).__name__)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{what} from row {start}: {exc}") from None


def _blocks(model, X, y):
    """The blocks of rows of X and y, after checking that they have the same rows."""
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"X and y must have the same number of samples, got {N} and "
                         f"{y.shape[0]}")
    if N < max(2, model._min_samples):
        raise ValueError(f"{type(model).__name__} needs at least 2 samples to fit, got "
                         f"n_samples={N}")
    return [slice(s, min(s + BLOCK_ROWS, N)) for s in range(0, N, BLOCK_ROWS)]


def _start(model, X, y, blocks, xp, dtype):
    """A first fit's start: the streaming pass for the standardisation, the network, and
    the output layer from a sample."""
    from .scaling import Standardizer, _constant_columns, block_moments, combine_moments
    stats_x, stats_y = [], []
    for rows in blocks:  # one streaming pass: checks and statistics
        x_block, y_block = _checked(model, X, y, rows, np, "streamed data")
        stats_x.append(block_moments(x_block))
        stats_y.append(block_moments(y_block))
    F, D = stats_x[0][1].size, stats_y[0][1].size
    scaler = (Standardizer(*_constant_columns(*combine_moments(stats_x)),
                           *_constant_columns(*combine_moments(stats_y)))
              if model.standardize else Standardizer.identity(F, D))
    model._initialise(F, D, xp, dtype, scaler, (1 if len(y.shape) == 1 else 2, None))
    model._initialise_output(_sample(model, X, y, xp))


def _sample(model, X, y, xp):
    """At most SAMPLE_ROWS rows drawn at random, read in increasing order, packed."""
    N = X.shape[0]
    chosen = np.sort(model._rng.choice(N, size=min(N, SAMPLE_ROWS), replace=False))
    return training.pack(*_checked(model, X, y, chosen, xp, "sample"), xp,
                         model.network_.flat_params.dtype, model.standardizer_)


def _epoch(model, X, y, blocks, noise):
    """One epoch through the shuffle buffer; the mean training loss (curves' units)."""
    xp, dtype, rng = model._xp, model.network_.flat_params.dtype, model._rng
    per_buffer = max(1, BUFFER_ROWS // BLOCK_ROWS)
    saved = training.snapshot(model.network_, model.optimizer_)
    order = rng.permutation(len(blocks))
    total = 0.0
    for first in range(0, len(order), per_buffer):
        parts = [training.pack(*_checked(model, X, y, blocks[b], xp, "streamed data"), xp,
                               dtype, model.standardizer_)
                 for b in sorted(order[first:first + per_buffer])]
        buffer = parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=0)
        loss = training.run_epoch(model.network_, model.head_, model.optimizer_, buffer,
                                  np.arange(buffer.shape[0]), model.n_features_in_,
                                  model.batch_size, rng, model.n_epochs_, noise, saved)
        total += loss * buffer.shape[0]
    return total / X.shape[0] + model._loss_offset


def _record(model, logs):
    model.n_epochs_ += 1
    model.loss_curve_.append(logs["loss"])
    model.learning_rate_curve_.append(model.optimizer_.learning_rate)
    if "val_loss" in logs:
        model.validation_loss_curve_.append(logs["val_loss"])


def fit_streamed(model, X, y, xp, dtype, validation_data=None, callbacks=()):
    """``model.fit(X, y)`` for out-of-core X or y (see the module docstring)."""
    from .callbacks import check_callbacks
    from .defaults import auto_epochs, early_stopper, regularise

    blocks = _blocks(model, X, y)
    callbacks = check_callbacks(callbacks, validation=None)
    F, D = (X.shape[1] if len(X.shape) == 2 else 1), (y.shape[1] if len(y.shape) == 2 else 1)
    val = None
    if validation_data is not None:
        X_val, y_val = check_pair(*validation_data, xp=xp, dtype=None, n_features=F,
                                  n_targets=D, names=("X_val", "y_val"),
                                  owner=type(model).__name__)
    _start(model, X, y, blocks, xp, dtype)
    if validation_data is not None:
        val = training.pack(X_val, y_val, xp, dtype, model.standardizer_,
                            names=("X_val", "y_val"))
    stopper = None  # early stopping only on the caller's held-out rows
    if val is not None:
        stopper = early_stopper(model, (X.shape[0], F), len(val), callbacks, False)
        if stopper is not None:
            callbacks.append(stopper)
    N = X.shape[0]
    n_epochs = auto_epochs(N, model.batch_size) if model.max_epochs == "auto" \
        else model.max_epochs
    noise = regularise(model, N)
    sample = _sample(model, X, y, xp)
    watch = model._watch(sample, np.arange(sample.shape[0]))
    for cb in callbacks:
        cb.on_train_begin(model)
    try:
        for epoch in range(n_epochs):
            logs = {"loss": _epoch(model, X, y, blocks, noise)}
            if val is not None:
                logs["val_loss"] = training.mean_loss(model.network_, model.head_,
                                                      *model._unpack(val)) + model._loss_offset
            _record(model, logs)
            if any([cb.on_epoch_end(model, epoch, logs) for cb in callbacks]):
                break
    finally:
        for cb in callbacks:
            cb.on_train_end(model)
        model._after_fit(*model._unpack(sample))
    model.best_epoch_ = None if stopper is None or stopper.best_epoch is None \
        else stopper.best_epoch
    model._warn_if_diverged(watch)
    return model


def partial_fit_streamed(model, X, y):
    """``model.partial_fit(X, y)`` for out-of-core X or y: one streamed epoch (the first
    call also learns the standardisation in one streaming pass)."""
    from .defaults import regularise

    blocks = _blocks(model, X, y)
    if not hasattr(model, "network_"):
        xp, dtype = model._check_params()
        _start(model, X, y, blocks, xp, dtype)
    sample = _sample(model, X, y, model._xp)
    watch = model._watch(sample, np.arange(sample.shape[0]))
    model.best_epoch_ = None
    try:
        _record(model, {"loss": _epoch(model, X, y, blocks, regularise(model, X.shape[0]))})
    finally:
        model._after_fit(*model._unpack(sample))
    model._warn_if_diverged(watch)
    return model
