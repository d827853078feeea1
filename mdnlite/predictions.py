"""The prediction interface every conditional-density model of mdnlite shares.

A model says what p(y | x) is for checked inputs (``_mixture``) and how it checks them
(``_inputs``, ``_pair``); every prediction below is then the same ``mixture.py`` function of
that mixture, for the MDN, the least-squares Regressor and the conditioned Gaussian mixture.
"""

from collections import namedtuple

import numpy as np

from . import mixture
from .backend import array_module, to_host

__all__ = ["MixturePredictions", "MixtureParameters"]

MixtureParameters = namedtuple("MixtureParameters", ["weights", "means", "scales"])
MixtureParameters.__doc__ = """Host (NumPy) arrays describing p(y | x) for N inputs.

weights : (N, K) mixture weights, each row summing to 1
means : (N, K, D) component means
scales : (N, K, D) component standard deviations per dimension (an isotropic head repeats
    its one scale over the D dimensions), or (N, K, D, D) the lower-triangular Cholesky
    factors L of the covariances Σ = L Lᵀ (covariance="full", conditioned mixtures)
"""


class MixturePredictions:
    """Mixin: predictions from ``self._mixture(X)`` (a ``mixture.Mixture`` on the model's
    device, in the units of y), with inputs checked by ``self._inputs(X)`` and
    ``self._pair(X, y)``, and log-densities from ``self._log_prob(X, y)`` for checked X, y
    (a model that standardises computes them in its own units, then adds the log-Jacobian).

    Results are arrays on the model's device, except ``predict_mixture`` (host arrays) and
    ``score`` (a float).
    """

    def _mixture_at(self, X):
        return self._mixture(self._inputs(X))

    def predict(self, X):
        """Conditional mean E[y | x] = Σ_k π_k(x) μ_k(x), (N, D)."""
        m = self._mixture_at(X)
        return mixture.mean(m.log_weights, m.means)

    def predict_variance(self, X):
        """Conditional variance of each target dimension (law of total variance), (N, D)."""
        return mixture.variance(*self._mixture_at(X))

    def predict_covariance(self, X):
        """Conditional covariance matrix (law of total covariance), (N, D, D)."""
        return mixture.covariance(*self._mixture_at(X))

    def predict_mode(self, X):
        """Mean of the heaviest component, the usual approximate mode, (N, D)."""
        m = self._mixture_at(X)
        return mixture.approx_mode(m.log_weights, m.means)

    def predict_mixture(self, X):
        """p(y | x) as host arrays (``model.MixtureParameters``): weights (N, K), means
        (N, K, D) and scales, (N, K, D) standard deviations or (N, K, D, D) Cholesky factors
        L of the component covariances Σ = L Lᵀ (covariance "full", conditioned mixtures)."""
        m = self._mixture_at(X)
        xp = array_module(m.means)
        shape = m.scales.shape if mixture.is_full(m.means, m.scales) else m.means.shape
        scales = np.ascontiguousarray(to_host(xp.broadcast_to(m.scales, shape)))
        return MixtureParameters(to_host(xp.exp(m.log_weights)), to_host(m.means), scales)

    def score_samples(self, X, y):
        """log p(y | x) for each sample, (N,), in nats."""
        X, y = self._pair(X, y)
        return self._log_prob(X, y)

    def score(self, X, y):
        """Mean log p(y | x) over the samples (higher is better), as a float."""
        return float(self.score_samples(X, y).mean())

    def sample(self, X, n_samples=1, temperature=1.0, sigma_temperature=1.0,
               random_state=None):
        """Draw from p(y | x) for each input: (N, n_samples, D).

        ``temperature`` divides the log weights (0: always the heaviest component);
        ``sigma_temperature`` multiplies every component's covariance (see ``mixture.sample``).
        ``random_state`` seeds a host generator, so a seed gives the same samples on every
        backend.
        """
        return mixture.sample(*self._mixture_at(X), n_samples=n_samples, rng=random_state,
                              temperature=temperature, sigma_temperature=sigma_temperature)
