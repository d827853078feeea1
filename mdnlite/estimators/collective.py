"""Data-parallel training over an mpi4py communicator: each rank holds a shard of the rows.

``fit(X, y, comm=comm)`` and ``partial_fit(..., comm=comm)`` run the same training on every
rank, as one process would on all the rows together:

- the standardisation's statistics are combined from each rank's count, mean and sum of
  squared deviations (Chan, Golub and LeVeque's parallel update), in rank order;
- the "auto" rules (epochs, noise, weight decay, early stopping) see the global row count;
- the initialisation (network weights and the k-means start of the output layer) runs on
  every rank on the same gathered sample of at most ``SAMPLE_ROWS`` rows, then rank 0's
  weights are broadcast, so that every rank starts bit-identical;
- each epoch draws one permutation of the global training rows (every rank the same, from
  the shared seed); step i's global batch is rows i B .. (i + 1) B of it, and each rank
  computes the gradient of its own rows of that batch. The gradients, scaled by each rank's
  row count, are summed by one ``Allreduce`` of one flat buffer per step (the parameters'
  gradient, the loss and the row count together), and every rank takes the same optimizer
  step: the training is that of one process with batch B, up to the order of the sums;
- the validation loss (of each rank's held-out rows) is combined the same way, so the
  early-stopping decisions agree.

Buffers are host NumPy arrays. With CuPy, a CUDA-aware MPI can take device buffers (mpi4py
reads ``__cuda_array_interface__``) once the stream is synchronised; this path has not been
run without two GPUs. mpi4py is imported by the caller's communicator, never by mdnlite.
"""

import numpy as np

from ..backend import array_module, to_host
from ..exceptions import NonFiniteLossError
from . import training

__all__ = ["Collective", "SAMPLE_ROWS"]

SAMPLE_ROWS = 4096  # rows gathered on every rank for the initialisation


class Collective:
    """The collective operations a data-parallel fit needs, over ``comm``."""

    def __init__(self, comm):
        for name in ("allgather", "allreduce", "Allreduce", "Bcast", "bcast"):
            if not hasattr(comm, name):
                raise TypeError(f"comm must be an mpi4py communicator, got {comm!r}")
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def agree(self, check):
        """``check()`` on every rank; where it raised on any rank, every rank raises (a rank
        whose data are refused must not leave the others waiting in a collective)."""
        try:
            result, error = check(), None
        except (ValueError, TypeError) as exc:
            result, error = None, exc
        failures = self.comm.allgather(None if error is None else f"{type(error).__name__}: "
                                                                   f"{error}")
        if error is not None:
            raise error
        for rank, message in enumerate(failures):
            if message:
                raise ValueError(f"rank {rank} of {self.size} refused its data ({message})")
        return result

    def total(self, n):
        """The sum over ranks of an int."""
        return int(self.comm.allreduce(int(n)))

    def offset(self, n):
        """(this rank's first global index, the global count) for ``n`` rows per rank."""
        counts = self.comm.allgather(int(n))
        return sum(counts[:self.rank]), sum(counts)

    def moments(self, a):
        """Column means and standard deviations of the rows of every rank's ``a``, combined
        in rank order: the same numbers on every rank."""
        from .scaling import block_moments, combine_moments
        local = to_host(a)
        mine = block_moments(local) if local.shape[0] else (0, None, None)
        return combine_moments(self.comm.allgather(mine))

    def sample(self, data, rows):
        """Up to SAMPLE_ROWS of the rows ``rows`` of every rank's packed ``data``, the same
        on every rank: each rank's share in proportion to its rows, in rank order."""
        xp = array_module(data)
        _, N = self.offset(len(rows))
        take = len(rows) if N <= SAMPLE_ROWS else int(round(SAMPLE_ROWS * len(rows) / N))
        mine = to_host(data[xp.asarray(rows[:take])])
        return xp.asarray(np.concatenate(self.comm.allgather(mine), axis=0))

    def broadcast(self, array):
        """Rank 0's values of a host or device array, in place on every rank."""
        host = to_host(array).copy()
        self.comm.Bcast(host, root=0)
        array[...] = array_module(array).asarray(host)

    def seed(self, rng):
        """A seed drawn by rank 0's generator, the same on every rank."""
        return self.comm.bcast(int(rng.integers(2 ** 63)) if self.rank == 0 else None, root=0)

    def sum_(self, buffer):
        """Sum a float64 host buffer over ranks, in place (one message)."""
        from_ = buffer.copy()
        self.comm.Allreduce(from_, buffer)
        return buffer


def run_epoch(collective, net, head, optimizer, data, rows, n_features, batch_size, rng,
              epoch, noise=None):
    """``training.run_epoch`` over the global training rows: every rank draws the same
    permutation, computes the gradient of its own rows of each global batch, and one
    Allreduce per step sums gradients, losses and row counts. Returns the global mean
    training loss (the same float on every rank)."""
    xp = array_module(data)
    start, N = collective.offset(len(rows))
    B = min(batch_size, N)
    if getattr(collective, "order", None) is None or len(collective.order) != N:
        collective.order = np.arange(N)  # shuffled in place from epoch to epoch, as one
    order = collective.order             # process shuffles its rows
    if B < N:
        rng.shuffle(order)
    jitter = None
    if noise is not None:  # the same draws as one process: one row per global position
        jitter = rng.standard_normal((N, data.shape[1]), dtype=data.dtype)
    grads = net.flat_grads
    buffer = np.zeros(grads.size + 2, dtype=np.float64)
    total = 0.0
    for first in range(0, N, B):
        batch = order[first:first + B]
        mine = (batch >= start) & (batch < start + len(rows))
        local = rows[batch[mine] - start]
        b = int(local.shape[0])
        buffer[:] = 0.0
        if b:
            x = xp.take(data, xp.asarray(local), axis=0)
            if jitter is not None:
                x += xp.asarray(jitter[first + np.flatnonzero(mine)]) * noise
            loss = training.gradient(net, head, x[:, :n_features], x[:, n_features:])
            buffer[:-2] = to_host(grads) * b
            buffer[-2] = float(loss) * b
            buffer[-1] = b
        collective.sum_(buffer)
        grads[...] = xp.asarray(buffer[:-2] / buffer[-1], dtype=grads.dtype)
        optimizer.step([net.flat_params], [grads])
        total += buffer[-2]
    if optimizer.weight_decay and (epoch + 1) % training.FLUSH_EVERY == 0:
        optimizer.flush_subnormals([net.flat_params])
    loss = total / N
    if not (np.isfinite(loss) and bool(xp.isfinite(net.flat_params).all())):
        raise NonFiniteLossError(f"the training loss became {loss} in epoch {epoch} (on "
                                 f"{collective.size} ranks): try a smaller learning_rate or "
                                 f"clip_norm", usable=False, epoch=epoch, loss=loss)
    return loss


def mean_loss(collective, net, head, X, y):
    """``training.mean_loss`` over every rank's rows (the same float on every rank)."""
    n = X.shape[0]
    local = training.mean_loss(net, head, X, y) * n if n else 0.0
    both = collective.sum_(np.array([local, n], dtype=np.float64))
    return both[0] / both[1]
