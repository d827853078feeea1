"""``Regressor``: the least-squares network, built from the same layers and fit loop as ``MDN``.

It learns the conditional mean E[y | x] and nothing else: the baseline that fails on
multi-valued problems. For comparisons in nats it scores with a Gaussian whose variance per
target dimension is the mean squared residual on the training data.
"""

import numpy as np

from . import mixture
from .backend import LOG_2PI, array_module, to_host
from .estimator import NetworkEstimator
from .model import MixtureParameters

__all__ = ["Regressor", "SquaredError"]


class SquaredError:
    """Mean squared error L = (1/(N D)) Σ_n ‖z_n - y_n‖², with dL/dz = 2 (z - y) / (N D).

    The same interface as ``head.MixtureHead``: ``nll_forward`` and ``nll_backward``.
    """

    def __init__(self, n_dims):
        self.n_outputs = int(n_dims)

    def nll_forward(self, z, y):
        residual = z - y  # (N, D)
        return (residual * residual).mean(), residual

    def nll_backward(self, residual):
        residual *= 2.0 / residual.size
        return residual


class Regressor(NetworkEstimator):
    """Least-squares network: y ≈ f(x), trained on the mean squared error.

    Parameters are those of ``estimator.NetworkEstimator`` (hidden_sizes, activation,
    optimizer, learning_rate, ...).

    Attributes
    ----------
    noise_variance_ : array (D,)
        Mean squared residual per target dimension over the data given to ``fit`` (validation
        rows included), the maximum-likelihood variance of the Gaussian
        p(y | x) = N(f(x), diag(noise_variance_)) used by ``score_samples``.
    loss_curve_, validation_loss_curve_ : list of float
        Mean squared error after each epoch.
    learning_rate_curve_ : list of float
        The learning rate each epoch trained with.
    """

    def _make_loss(self, n_targets):
        return SquaredError(n_targets)

    def _after_fit(self, X, y):
        residual = self._raw_outputs(X) - y
        self.noise_variance_ = (residual * residual).mean(axis=0)  # (D,)

    def _get_state(self):
        state = super()._get_state()
        state["arrays"]["noise_variance"] = self.noise_variance_
        return state

    def _set_state(self, state, arrays):
        super()._set_state(state, arrays)
        self.noise_variance_ = self._xp.asarray(arrays["noise_variance"])

    def predict(self, X):
        """f(x), (N, D), on the model's device."""
        return self._raw_outputs(self._inputs(X))

    def predict_variance(self, X):
        """The fitted noise variance for every input, (N, D)."""
        X = self._inputs(X)
        return self._xp.broadcast_to(self.noise_variance_, (X.shape[0], self.n_targets_)).copy()

    def predict_mixture(self, X):
        """p(y | x) = N(f(x), diag(noise_variance_)) as a one-component mixture on the host.

        The same form as ``MDN.predict_mixture`` (weights (N, 1), means (N, 1, D), scales
        (N, 1, D)), so every plot and metric that takes a mixture takes this model too.
        """
        means = to_host(self.predict(X))[:, None, :]  # (N, 1, D)
        scales = np.broadcast_to(np.sqrt(to_host(self.noise_variance_)), means.shape)
        return MixtureParameters(np.ones(means.shape[:2], dtype=means.dtype), means,
                                 scales.copy())

    def predict_mode(self, X):
        """The mode of a Gaussian is its mean: f(x), (N, D)."""
        return self.predict(X)

    def predict_covariance(self, X):
        """diag(noise_variance_) for every input, (N, D, D)."""
        variance = self.predict_variance(X)  # (N, D)
        xp = array_module(variance)
        return variance[:, :, None] * xp.eye(self.n_targets_, dtype=variance.dtype)

    def sample(self, X, n_samples=1, temperature=1.0, sigma_temperature=1.0,
               random_state=None):
        """Draws from N(f(x), diag(noise_variance_)): (N, n_samples, D) (see ``MDN.sample``)."""
        means = self.predict(X)[:, None, :]  # (N, 1, D)
        xp = array_module(means)
        scales = xp.broadcast_to(xp.sqrt(self.noise_variance_), means.shape)
        log_weights = xp.zeros(means.shape[:2], dtype=means.dtype)
        return mixture.sample(log_weights, means, scales, n_samples=n_samples, rng=random_state,
                              temperature=temperature, sigma_temperature=sigma_temperature)

    def score_samples(self, X, y):
        """log N(y | f(x), diag(noise_variance_)) per sample, (N,), in nats."""
        X, y = self._pair(X, y)
        xp = array_module(y)
        var = self.noise_variance_
        residual = y - self._raw_outputs(X)
        log_det = float(xp.log(var).sum())
        return -0.5 * ((residual * residual) / var).sum(axis=1) - 0.5 * (
            log_det + y.shape[1] * LOG_2PI)

    def score(self, X, y):
        """Mean log-likelihood per sample (higher is better), as a float."""
        return float(self.score_samples(X, y).mean())
