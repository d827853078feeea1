"""The minibatch loop under ``NetworkEstimator.fit``: the training step, and epochs of it.

``training_step`` is the five lines of the README, through public functions: forward, loss,
closed-form backward through the head, backward through the layers, optimizer update. An
epoch (``run_epoch``) reads the loss back once, at its end; if the loss stopped being finite,
or the epoch is interrupted, the weights and optimizer state of the epoch's start come back
before the exception propagates. Nothing here knows which head or which estimator it trains.
"""

import math

import numpy as np

from ..backend import array_module
from ..exceptions import (DivergenceWarning, NonFiniteLossError,  # noqa: F401 (0.1.0 names)
                          OverfittingWarning)

__all__ = ["EVAL_BATCH", "training_step", "gradient", "pack", "run_epoch", "mean_loss",
           "finite_loss", "snapshot", "restore", "cosine_factor"]

EVAL_BATCH = 65536  # rows per forward pass outside training: bounds memory on large inputs
FLUSH_EVERY = 16  # epochs between flushes of subnormal weights (see Optimizer.flush_subnormals)


def pack(X, y, xp, dtype, scaler, names=("X", "y")):
    """X and y standardised side by side in one (N, D_in + D) array of ``dtype``.

    One copy of the data, written chunk by chunk by ``scaler`` (a ``scaling.Standardizer``)
    so that no converted copy of X or y exists beside it; minibatches are then one gather
    of rows. Values that overflow ``dtype`` once scaled are refused here.
    """
    D_in = X.shape[1]
    data = xp.empty((X.shape[0], D_in + y.shape[1]), dtype)
    with np.errstate(over="ignore"):
        scaler.write_inputs(data[:, :D_in], X)
        scaler.write_targets(data[:, D_in:], y)
    for start in range(0, data.shape[0], EVAL_BATCH):  # in chunks: no full-size mask
        chunk = data[start:start + EVAL_BATCH]
        for name, part in zip(names, (chunk[:, :D_in], chunk[:, D_in:])):
            if not bool(xp.isfinite(part).all()):
                raise ValueError(f"{name} has values too large for {np.dtype(dtype).name}")
    return data


def training_step(net, head, optimizer, x, y):
    """One step of minibatch gradient descent on inputs x (N, D_in) and targets y (N, D);
    returns the batch's mean loss, a 0-d array on the device (no host synchronisation).

    For an MDN the step reads, in the layout users see::

        z = net.forward(x)                      # raw outputs (N, n_outputs)
        loss, cache = head.nll_forward(z, y)    # mean NLL, and what its gradient needs
        dz = head.nll_backward(cache)           # dNLL/dz in closed form
        net.backward(dz)                        # fills net.flat_grads
        optimizer.step([net.flat_params], [net.flat_grads])

    which is what runs here, with one speed-up: the head works components first, on zᵀ, and
    the network's last ``Dense`` writes zᵀ directly (``forward(x, transpose=True)``) instead
    of z that ``nll_forward`` would copy into zᵀ; ``nll_forward_t`` is ``nll_forward``
    on zᵀ without its checks. Every head answers to the names ``loss_forward_t`` and
    ``loss_backward`` (for ``MixtureHead`` they are ``nll_forward_t`` and ``nll_backward``).
    """
    loss = gradient(net, head, x, y)
    optimizer.step([net.flat_params], [net.flat_grads])
    return loss


def gradient(net, head, x, y):
    """The batch's mean loss (a 0-d device array), with its gradient left in
    ``net.flat_grads``: the step before the optimizer's (a data-parallel step sums these
    over the ranks first, ``collective.run_epoch``)."""
    zt = net.forward(x, transpose=True)  # zᵀ (n_outputs, N)
    loss, cache = head.loss_forward_t(zt, y)
    net.backward(head.loss_backward(cache))
    return loss


def run_epoch(net, head, optimizer, data, rows, n_features, batch_size, rng, epoch,
              noise=None, saved=None):
    """One pass of minibatch steps over ``data[rows]``; returns the mean training loss.

    ``rows`` (host integers) is reshuffled in place with the host generator ``rng`` (so
    one seed gives the same batches on every backend); each step gathers one batch of rows.
    ``noise`` (D_in + D,), if given, holds the standard deviation of the Gaussian noise
    added to each column of every batch (noise regularisation); the epoch's noise is drawn
    on the host by ``rng`` too, and moved to the device once. ``saved`` is the ``snapshot``
    of the epoch's start, if the caller took it (else it is taken here).

    Raises
    ------
    NonFiniteLossError
        The loss or the weights stopped being finite; the network and the optimizer are put
        back as they were when the epoch began, and the error says whether those weights give
        a finite loss on every training sample (``usable``).
    KeyboardInterrupt
        Propagated after the same restoration: no part of an epoch is ever kept.
    """
    xp = array_module(data)
    saved = snapshot(net, optimizer) if saved is None else saved
    N, B = len(rows), min(batch_size, len(rows))
    params = [net.flat_params]
    try:
        if B < N:
            rng.shuffle(rows)
        order = xp.asarray(rows)
        if noise is not None:
            jitter = xp.asarray(rng.standard_normal((N, data.shape[1]), dtype=data.dtype))
            jitter *= noise  # (N, D_in + D)
        total = None  # the epoch's loss, summed on the device
        for start in range(0, N, B):
            batch = xp.take(data, order[start:start + B], axis=0)  # (B, D_in + D), a copy
            if noise is not None:
                batch += jitter[start:start + B]
            loss = training_step(net, head, optimizer, batch[:, :n_features],
                                 batch[:, n_features:])
            part = loss * batch.shape[0]
            total = part if total is None else total + part
        if optimizer.weight_decay and (epoch + 1) % FLUSH_EVERY == 0:
            optimizer.flush_subnormals(params)
        # whether the weights are finite (the last step's update, which no loss has seen, can
        # make them not) is queued before the loss is read: the read is the epoch's one wait
        # for the device, and the flag is ready by then
        weights_finite = xp.isfinite(net.flat_params).all()
        train_loss = float(total) / N
    except KeyboardInterrupt:
        restore(net, optimizer, saved)
        raise
    if not (math.isfinite(train_loss) and bool(weights_finite)):
        restore(net, optimizer, saved)
        kept = f"after epoch {epoch - 1}" if epoch else "before training"
        usable = finite_loss(net, head, data, order, n_features)
        advice = ("Try a smaller learning_rate, a larger min_scale, or clip_norm" if usable else
                  "These weights give a non-finite loss on some training samples too (a scale "
                  "that underflowed to 0, or an overflow), so their predictions and scores "
                  "there are not finite either: refit with a smaller learning_rate, a larger "
                  "min_scale, or clip_norm")
        raise NonFiniteLossError(
            f"the training loss became {train_loss} in epoch {epoch}; the model keeps the "
            f"weights it had {kept}. {advice}", usable=usable, epoch=epoch, loss=train_loss)
    return train_loss


def mean_loss(net, head, X, y):
    """The training loss on (X, y) without updating anything, as a float."""
    total = 0.0
    for start in range(0, X.shape[0], EVAL_BATCH):
        stop = start + EVAL_BATCH
        loss, _ = head.loss_forward_t(net.predict(X[start:stop], transpose=True), y[start:stop])
        total += float(loss) * X[start:stop].shape[0]
    return total / X.shape[0]


def finite_loss(net, head, data, order, n_features):
    """Whether the loss is finite on every row ``order`` (device integers) of packed data,
    evaluated in chunks of EVAL_BATCH rows: a finite mean needs a finite loss on each row."""
    xp = array_module(data)
    for start in range(0, order.shape[0], EVAL_BATCH):
        chunk = xp.take(data, order[start:start + EVAL_BATCH], axis=0)
        with np.errstate(all="ignore"):  # the point is to find out whether something overflows
            loss, _ = head.loss_forward_t(net.predict(chunk[:, :n_features], transpose=True),
                                          chunk[:, n_features:])
        if not math.isfinite(float(loss)):
            return False
    return True


def snapshot(net, optimizer):
    """Copies of the weights and the optimizer's state, for ``restore``."""
    state = optimizer.state or {}
    return (net.flat_params.copy(), optimizer.iterations,
            {k: [a.copy() for a in v] for k, v in state.items()})


def restore(net, optimizer, saved):
    """Put back the weights and optimizer state of a ``snapshot``."""
    params, iterations, state = saved
    net.flat_params[...] = params
    optimizer.iterations = iterations
    optimizer.state = state or None


def cosine_factor(epoch, n_epochs):
    """Learning-rate factor of ``epoch`` in a cosine schedule from 1 down to 0.01."""
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * epoch / n_epochs))
