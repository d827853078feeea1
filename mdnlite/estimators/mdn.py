"""``MDN``: the Mixture Density Network estimator (fit, predict, score, sample).

The network maps x to the raw outputs of a ``MixtureHead``; every prediction is a function of
the mixture those outputs describe (``predictions``). Training lives in ``base`` and
``training``, the saved state in ``persistence`` and the file format in ``mdnlite.io``.
"""

import numpy as np

from ..backend import to_host
from ..config import row_blocks
from ..heads.ensemble import EnsembleHead
from ..heads.mixture import MixtureHead
from ..mixture import density
from ..nn.network import Parallel
from ..validation import Integer, Options
from .base import NetworkEstimator
from .initialisation import mdninit
from .predictions import MixtureParameters, MixturePredictions, dead_components

__all__ = ["MDN", "MixtureParameters"]


class MDN(MixturePredictions, NetworkEstimator):
    """Mixture Density Network: p(y | x) = Σ_k π_k(x) N(y | μ_k(x), Σ_k(x)).

    Parameters
    ----------
    n_components : int >= 1, default=10
        K, the number of Gaussian components.
    covariance : {"diagonal", "isotropic", "full"}, default="diagonal"
        One scale per component and target dimension, one per component, or a full
        covariance per component through its Cholesky factor (see ``heads.MixtureHead``).
    scale_activation : {"softplus", "exp", "elu1"}, default="softplus"
        Maps the raw scale outputs to positive scales.
    min_scale : float >= 0, default=1e-3
        Floor added to every scale; keeps components from collapsing onto single points.
        It acts in the units the network sees: standardised units (a thousandth of each
        target's standard deviation by default) unless ``standardize=False``.
    init : {"kmeans", "random"}, default="kmeans"
        "kmeans" starts the output layer from a k-means fit of the standardised targets
        (``initialisation.mdninit``: means at the cluster centres, scales from their spread, equal
        weights, small output weights); "random" leaves the layer as initialised.
    n_members : int >= 1, default=5
        An ensemble of this many networks (``heads.EnsembleHead``), each with its own
        initial weights and k-means start, trained side by side on the same minibatches,
        each on its own NLL (as if alone, but for ``clip_norm``, which bounds the norm of
        all their gradients together); the model is the average of their densities, a
        mixture of ``n_members * n_components`` components, on which every prediction works
        as for one network. Averaging smooths the overconfident spikes that any one network fits
        to a small data set (0.01 to 0.1 nats better held-out NLL on
        ``benchmarks/tabular.py``), at ``n_members`` times the cost of one fit. 1 trains a
        single network.
    {network_parameters}

    Attributes
    ----------
    network_ : nn.Sequential, or nn.Parallel of ``n_members`` of them
    head_ : heads.MixtureHead, or heads.EnsembleHead over one per member
        What the raw network outputs mean (``loss_`` before, which was not a loss).
    optimizer_ : nn.optim.Optimizer
    standardizer_ : scaling.Standardizer
        The means and scales of the inputs and targets learned by the first fit.
    noise_ : (float, float)
        The input and target noise levels of the last fit (standardised units).
    loss_curve_, validation_loss_curve_ : list of float
        Mean training / validation NLL after each epoch, in nats per sample in the units of
        y (the log-Jacobian included, as in ``score``; the training loss is measured on the
        noisy batches), of the model's density (an ensemble's average of its members').
    best_epoch_ : int or None
        The epoch whose weights early stopping kept (see ``early_stopping``); None when
        the last fit did not stop early.
    learning_rate_curve_ : list of float
        The learning rate each epoch trained with (callbacks may lower it).
    n_features_in_, n_targets_ : int
    n_epochs_ : int
        Epochs trained so far, over all calls.

    Examples
    --------
    >>> import mdnlite
    >>> from mdnlite import datasets
    >>> t, x = datasets.inverse_sine(500, direction="inverse", random_state=0)
    >>> mdn = mdnlite.MDN(n_components=3, hidden_sizes=(16, 16), max_epochs=20,
    ...                   random_state=0).fit(t, x)          # p(x | t), many-valued
    >>> mdn.predict(t[:5]).shape                             # the conditional mean
    (5,)
    >>> weights, means, scales = mdn.predict_mixture(t[:5])  # 5 members of 3 components
    >>> weights.shape, means.shape, scales.shape
    ((5, 15), (5, 15, 1), (5, 15, 1))
    >>> mdn.sample(t[:5], n_samples=10, random_state=1).shape
    (5, 10)
    >>> score = mdn.score(t, x)          # mean log p(x | t) in nats: higher is better
    >>> isinstance(score, float)
    True
    """

    def __init__(self, n_components=10, *, covariance="diagonal", scale_activation="softplus",
                 min_scale=1e-3, init="kmeans", n_members=5, hidden_sizes=(64, 64),
                 activation="relu", optimizer="adam", learning_rate=3e-3, weight_decay="auto",
                 clip_norm=None, max_epochs="auto", batch_size=256,
                 learning_rate_schedule="cosine", standardize=True, input_noise="auto",
                 target_noise="auto", early_stopping="auto", validation_fraction=0.1,
                 backend="numpy", dtype="float32", random_state=None, warm_start=False,
                 verbose="auto"):
        super().__init__(hidden_sizes=hidden_sizes, activation=activation, optimizer=optimizer,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         clip_norm=clip_norm, max_epochs=max_epochs, batch_size=batch_size,
                         learning_rate_schedule=learning_rate_schedule, standardize=standardize,
                         input_noise=input_noise, target_noise=target_noise,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         backend=backend, dtype=dtype, random_state=random_state,
                         warm_start=warm_start, verbose=verbose)
        self.n_components = n_components
        self.covariance = covariance
        self.scale_activation = scale_activation
        self.min_scale = min_scale
        self.init = init
        self.n_members = n_members

    _ARCHITECTURE = NetworkEstimator._ARCHITECTURE + (
        "n_components", "covariance", "scale_activation", "min_scale", "n_members")
    _PARAMS_ADDED = {**NetworkEstimator._PARAMS_ADDED, "n_members": 1}
    INITS = ("kmeans", "random")

    @property
    def _n_members(self):
        return int(self.n_members)

    def _mixture_sizes(self):
        """(components K, targets D, full covariances?) of the mixture it predicts."""
        return self.head_.n_components, self.n_targets_, self.covariance == "full"

    @property
    def _mixture_members(self):
        net = self.network_
        return len(net.members) if isinstance(net, Parallel) else 1

    _parameter_constraints = {
        **{name: MixtureHead._parameter_constraints[name]
           for name in ("n_components", "covariance", "scale_activation", "min_scale")},
        "init": Options(*INITS),
        "n_members": Integer(1),
        **NetworkEstimator._parameter_constraints,
    }

    def _make_head(self, n_targets):
        head = MixtureHead(self.n_components, n_targets, self.covariance,
                           self.scale_activation, self.min_scale)
        return head if self._n_members == 1 else EnsembleHead(head, self._n_members)

    def _standardized_mixture(self, X):
        """The mixture for standardised inputs X, in standardised units, on the model's
        device (``mixture.Mixture``)."""
        return self.head_.mixture(self._raw_outputs(X))

    def _set_output(self, data):
        if self.init == "kmeans":  # each member from its own k-means run
            net, head = self.network_, self.head_
            members, head = (net.members, head.head) if isinstance(net, Parallel) else ([net], head)
            for member in members:
                mdninit(head, member.layers[-1], self._unpack(data)[1], self._rng)

    @property
    def _loss_offset(self):
        return self.standardizer_.log_jacobian

    _CONSTANT = "one Gaussian fitted to the training targets"

    def _constant_losses(self, targets, fitted_to):
        # N(y | m, diag(v)) with the mean m and variance v of the targets it is fitted to:
        # -log N = ½ Σ_d [log(2π v_d) + (y_d - m_d)² / v_d]; a constant column has none (NaN)
        mean = to_host(fitted_to.mean(axis=0)).astype(np.float64)
        variance = to_host(fitted_to.var(axis=0)).astype(np.float64)
        y = to_host(targets).astype(np.float64)
        loss = 0.5 * (np.log(2 * np.pi * variance) + (y - mean) ** 2 / variance).sum(axis=1)
        return loss + self._loss_offset

    def _sample_losses(self, sample):
        X, y = self._unpack(sample)
        log_p = density.log_prob(y, *self._standardized_mixture(X))
        return self._loss_offset - to_host(log_p).astype(np.float64)

    def _diverged_above(self, start):
        return start + self.n_targets_  # e^D times less likely than at the start, per sample

    def _at_floor(self, m):
        """Which scales of a standardised mixture sit at the floor: within 1% of min_scale
        (1e-6 of the targets' spread without a floor); for "full", the factors' diagonals."""
        scales = m.scales
        if density.is_full(m.means, scales):  # the floor is on the diagonal of each factor
            D = scales.shape[-1]
            scales = scales[..., list(range(D)), list(range(D))]
        return scales <= (1.01 * self.min_scale if self.min_scale > 0 else 1e-6)

    def _scales_at_floor(self, X):
        blocks = row_blocks(X.shape[0], 8 * self.head_.n_components * self.n_targets_ ** 2)
        at_floor = sum(float(self._at_floor(self._standardized_mixture(X[rows])).sum())
                       for rows in blocks)
        n_scales = self._at_floor(self._standardized_mixture(X[:1])).size * X.shape[0]
        return at_floor / n_scales if n_scales else float("nan")

    def _training_note(self, sample):
        """A line on what looks wrong in the fitted mixtures over training rows, or None."""
        m = self._standardized_mixture(self._unpack(sample)[0])
        dead = dead_components(self._xp.exp(m.log_weights), self._mixture_members)
        at_floor = float(self._at_floor(m).mean())
        notes = []
        if dead:
            notes.append(f"{len(dead)} of {m.log_weights.shape[1]} components carry under "
                         "1e-3 (DEAD_WEIGHT) of the weight on every training sample (dead: "
                         f"{', '.join(map(str, dead))}): fewer would do")
        if at_floor > 0.5:
            notes.append(f"{at_floor:.0%} of the scales sit at the floor min_scale="
                         f"{self.min_scale} (standardised units): targets with few distinct "
                         "values, or a floor too high")
        if not notes:
            return None
        return "diagnostics: " + "; ".join(notes) + " (model.diagnostics(X, y) says more)"

    def _degenerate(self, sample):
        X, y = self._unpack(sample)
        with np.errstate(all="ignore"):
            m = self._standardized_mixture(X)
            resp = density.responsibilities(y, *m)  # (N, K)
        problems = []
        if bool(self._at_floor(m).all()):
            problems.append(f"every scale is at its floor (min_scale={self.min_scale}, in "
                            "standardised units) on the training samples, which only targets "
                            "with a few distinct values explain")
        N, K = resp.shape
        M = self._mixture_members
        K //= M  # each member's components on their own: their posterior within the member
        resp = resp.reshape(N, M, K)
        with np.errstate(all="ignore"):  # a member with no share at all: NaN, never "takes"
            resp = resp / resp.sum(axis=2, keepdims=True)
        if K > 1 and N >= 2 * K:
            heaviest = resp.argmax(axis=2)  # (N, M)
            taken = (heaviest == heaviest[:1]).all(axis=0) & (resp.max(axis=2) >= 1 - 1e-6).all(
                axis=0)  # (M,): one component of the member takes every sample
            for member in np.flatnonzero(to_host(taken)):
                k = int(heaviest[0, member]) + member * K
                problems.append(f"component {k} takes every training sample "
                                f"(responsibility above 1 - 1e-6), the other {K - 1} of its "
                                "network none")
        return problems
