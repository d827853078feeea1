"""The head of an ensemble of MDNs: M member networks, one mixture.

An ensemble of M networks (``nn.Parallel``) with one ``MixtureHead`` each predicts the
average of its members' densities,

    p(y | x) = (1/M) Σ_m p_m(y | x) = Σ_m Σ_k (π_mk(x) / M) N(y | μ_mk(x), Σ_mk(x)),

itself a Gaussian mixture of M K components, so every prediction of a single MDN (moments,
modes, quantiles, intervals, scores, samples) works on it unchanged (Lakshminarayanan et al.
2017, "Deep Ensembles").

Each member is trained on its own negative log-likelihood, as if it were alone: the gradient
that reaches member m is dNLL_m/dz_m of its own head, and one optimizer step over the shared
parameter vector is M independent element-wise updates (only ``clip_norm`` couples them: it
bounds the norm of all the members' gradients together). What the ensemble reports as
its loss (the training curve, validation, early stopping) is the NLL of the averaged
density, -(1/N) Σ_n log (1/M) Σ_m p_m(y_n | x_n), the loss of the model the user gets.
"""

import math

from ..backend import LOG_2PI, array_module, logsumexp
from ..mixture.density import Mixture

__all__ = ["EnsembleHead"]


class EnsembleHead:
    """M copies of one ``heads.MixtureHead`` on the M outputs of a ``nn.Parallel``.

    Parameters
    ----------
    head : heads.MixtureHead
        The head of every member (it keeps no state between calls).
    n_members : int >= 2

    Notes
    -----
    Raw outputs are lists of M arrays, one per member: z_m (N, n_outputs) for ``mixture``
    and ``nll_forward``, zᵀ_m (n_outputs, N) for ``nll_forward_t``; ``nll_backward`` returns
    the list of dL_m/dz_m (N, n_outputs).
    """

    def __init__(self, head, n_members):
        self.head, self.n_members = head, int(n_members)

    def __repr__(self):
        return f"EnsembleHead({self.head!r}, n_members={self.n_members})"

    def __getattr__(self, name):
        # what describes the mixtures (n_dims, covariance, min_scale, ...) is the members'
        # head's; __getattr__ is only asked for names the ensemble does not have itself
        if name.startswith("__") or name == "head":
            raise AttributeError(name)
        return getattr(self.head, name)

    @property
    def n_outputs(self):
        """Raw outputs of each member."""
        return self.head.n_outputs

    @property
    def n_components(self):
        """Components of the ensemble's mixture: M K."""
        return self.n_members * self.head.n_components

    def mixture(self, zs):
        """The averaged density for the members' raw outputs (list of M (N, n_outputs)):
        their components side by side, each member's weights divided by M."""
        parts = [self.head.mixture(z) for z in zs]
        xp = array_module(parts[0].means)
        log_weights = xp.concatenate([p.log_weights for p in parts], axis=1)
        log_weights -= math.log(self.n_members)
        return Mixture(log_weights, xp.concatenate([p.means for p in parts], axis=1),
                       xp.concatenate([p.scales for p in parts], axis=1))

    def nll_forward(self, zs, y):
        """(NLL of the averaged density on targets y (N, D), the members' caches), for raw
        outputs zs (list of M (N, n_outputs)), checked as ``MixtureHead.nll_forward`` does."""
        checked = [self.head._check_outputs(z) for z in zs]
        return self.nll_forward_t([array_module(z).ascontiguousarray(z.T) for z in checked], y)

    def nll_forward_t(self, zts, y):
        """``nll_forward`` on the transposed outputs zᵀ_m (n_outputs, N), unchecked: the
        training step's path."""
        xp = array_module(zts[0])
        parts = [self.head.log_likelihoods_t(zt, y) for zt in zts]
        log_p = logsumexp(xp.concatenate([p for p, _ in parts], axis=0), axis=0)  # (N,)
        N = zts[0].shape[1]
        loss = log_p.sum() * (-1.0 / N) + (math.log(self.n_members)
                                           + 0.5 * self.head.n_dims * LOG_2PI)
        return loss, [cache for _, cache in parts]

    def nll_backward(self, caches):
        """Each member's dNLL_m/dz_m (N, n_outputs), a list: members train independently."""
        return [self.head.nll_backward(cache) for cache in caches]

    # the loss of this head is its NLL: the names every head answers to (``training_step``)
    loss_forward, loss_forward_t, loss_backward = nll_forward, nll_forward_t, nll_backward
