"""``MDN``: the Mixture Density Network estimator (fit, predict, score, sample).

The network maps x to the raw outputs of a ``MixtureHead``; every prediction is a function of
the mixture those outputs describe (``predictions.py``). Training lives in ``estimator.py``
and ``training.py``, persistence in ``io.py``.
"""

import numpy as np

from .estimator import NetworkEstimator
from .head import MixtureHead
from .predictions import MixturePredictions, MixtureParameters

__all__ = ["MDN", "MixtureParameters"]


class MDN(MixturePredictions, NetworkEstimator):
    """Mixture Density Network: p(y | x) = Σ_k π_k(x) N(y | μ_k(x), Σ_k(x)).

    Parameters
    ----------
    n_components : int >= 1
        K, the number of Gaussian components.
    covariance : {"diagonal", "isotropic", "full"}
        One scale per component and target dimension, one per component, or a full
        covariance per component through its Cholesky factor (see ``head.MixtureHead``).
    scale_activation : {"softplus", "exp", "elu1"}
        Maps the raw scale outputs to positive scales.
    min_scale : float >= 0
        Floor added to every scale; keeps components from collapsing onto single points.
    **kwargs
        The network and training hyperparameters of ``estimator.NetworkEstimator``:
        hidden_sizes, activation, optimizer, learning_rate, weight_decay, clip_norm,
        max_epochs, batch_size, backend, dtype, random_state, warm_start, verbose.

    Attributes
    ----------
    network_ : network.Sequential
    loss_ : head.MixtureHead
    optimizer_ : optim.Optimizer
    loss_curve_, validation_loss_curve_ : list of float
        Mean training / validation NLL (nats per sample) after each epoch.
    learning_rate_curve_ : list of float
        The learning rate each epoch trained with (callbacks may lower it).
    n_features_in_, n_targets_ : int
    n_epochs_ : int
        Epochs trained so far, over all calls.
    """

    def __init__(self, n_components=5, *, covariance="diagonal", scale_activation="softplus",
                 min_scale=1e-3, hidden_sizes=(32, 32), activation="tanh", optimizer="adam",
                 learning_rate=1e-3, weight_decay=0.0, clip_norm=None, max_epochs=200,
                 batch_size=256, backend="numpy", dtype="float32", random_state=None,
                 warm_start=False, verbose=0):
        super().__init__(hidden_sizes=hidden_sizes, activation=activation, optimizer=optimizer,
                         learning_rate=learning_rate, weight_decay=weight_decay,
                         clip_norm=clip_norm, max_epochs=max_epochs, batch_size=batch_size,
                         backend=backend, dtype=dtype, random_state=random_state,
                         warm_start=warm_start, verbose=verbose)
        self.n_components = n_components
        self.covariance = covariance
        self.scale_activation = scale_activation
        self.min_scale = min_scale

    _ARCHITECTURE = NetworkEstimator._ARCHITECTURE + (
        "n_components", "covariance", "scale_activation", "min_scale")

    def _check_params(self):
        if isinstance(self.n_components, bool) or not isinstance(self.n_components,
                                                                  (int, np.integer)):
            raise TypeError(f"n_components must be an integer, got {self.n_components!r}")
        MixtureHead(self.n_components, 1, self.covariance, self.scale_activation,
                    self.min_scale)  # raises a ValueError naming any bad argument
        return super()._check_params()

    def _make_loss(self, n_targets):
        return MixtureHead(self.n_components, n_targets, self.covariance,
                           self.scale_activation, self.min_scale)

    def _mixture(self, X):
        """The mixture for checked inputs X, on the model's device (``mixture.Mixture``)."""
        return self.loss_.mixture(self._raw_outputs(X))
