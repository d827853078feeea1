"""The prediction interface every conditional-density model of mdnlite shares.

A model says what p(y | x) is for checked inputs (``_mixture``) and how it checks them
(``_inputs``, ``_pair``); every prediction below is then the same ``mixture.py`` function of
that mixture, for the MDN, the least-squares Regressor and the conditioned Gaussian mixture:
its unchecked twin, since a model's mixture is valid by construction.
"""

from collections import namedtuple

import numpy as np

from . import mixture
from .backend import array_module, to_host

__all__ = ["MixturePredictions", "MixtureParameters", "result_dtype"]

MixtureParameters = namedtuple("MixtureParameters", ["weights", "means", "scales"])
MixtureParameters.__doc__ = """Host (NumPy) arrays describing p(y | x) for N inputs.

Attributes
----------
weights : array (N, K)
    Mixture weights, each row summing to 1.
means : array (N, K, D)
    Component means.
scales : array (N, K, D) or (N, K, D, D)
    Component standard deviations per dimension (an isotropic head repeats its one scale
    over the D dimensions), or the lower-triangular Cholesky factors L of the covariances
    Σ = L Lᵀ (covariance="full", conditioned mixtures).
"""


class MixturePredictions:
    """Mixin: predictions from ``self._mixture(X)`` (a ``mixture.Mixture`` on the model's
    device, in the units of y), with inputs checked by ``self._inputs(X)`` and
    ``self._pair(X, y)``, and log-densities from ``self._log_prob(X, y)`` for checked X, y
    (a model that standardises computes them in its own units, then adds the log-Jacobian).

    Results are arrays on the model's device, except ``predict_mixture`` (host arrays) and
    ``score`` (a float). Their shapes and dtypes follow the data, as in scikit-learn:

    - a model fitted on a 1-D y (N,) predicts without the target axis: ``predict`` (N,),
      ``sample`` (N, n_samples), ...; fitted on y (N, D), even D = 1, it keeps it: (N, D).
      ``predict_mixture`` always keeps it, so that its arrays feed ``mdnlite.mixture``.
    - results are float32 when X is float32 and float64 otherwise (float64, integers,
      lists), whatever precision the model computes in (its ``dtype``).
    """

    _target_ndim = 2  # set to 1 by a fit on 1-D targets

    def _result(self, value, X, target_axes=1):
        """``value`` in the result dtype for the inputs X, without its last ``target_axes``
        axes (each of length 1 then) if the model was fitted on 1-D targets."""
        value = value.astype(result_dtype(X), copy=False)
        if self._target_ndim == 1:
            value = value.reshape(value.shape[:value.ndim - target_axes])
        return value

    def _mixture_at(self, X):
        return self._mixture(self._inputs(X))

    def predict(self, X):
        """Conditional mean E[y | x] = Σ_k π_k(x) μ_k(x), (N, D) (or (N,), see above)."""
        m = self._mixture_at(X)
        return self._result(mixture._mean(m.log_weights, m.means), X)

    def predict_variance(self, X):
        """Conditional variance of each target dimension (law of total variance), (N, D)."""
        return self._result(mixture._variance(*self._mixture_at(X)), X)

    def predict_covariance(self, X):
        """Conditional covariance matrix (law of total covariance), (N, D, D); (N,), the
        variance, for a model fitted on 1-D targets."""
        return self._result(mixture._covariance(*self._mixture_at(X)), X, target_axes=2)

    def predict_mode(self, X):
        """Mean of the heaviest component, the usual approximate mode, (N, D)."""
        m = self._mixture_at(X)
        return self._result(mixture._approx_mode(m.log_weights, m.means), X)

    def predict_mixture(self, X):
        """p(y | x) as host arrays (``model.MixtureParameters``): weights (N, K), means
        (N, K, D) and scales, (N, K, D) standard deviations or (N, K, D, D) Cholesky factors
        L of the component covariances Σ = L Lᵀ (covariance "full", conditioned mixtures).
        The target axis is kept even for a model fitted on 1-D targets."""
        m = self._mixture_at(X)
        xp = array_module(m.means)
        dtype = result_dtype(X)
        shape = m.scales.shape if mixture.is_full(m.means, m.scales) else m.means.shape
        scales = np.ascontiguousarray(to_host(xp.broadcast_to(m.scales, shape)), dtype=dtype)
        return MixtureParameters(to_host(xp.exp(m.log_weights)).astype(dtype, copy=False),
                                 to_host(m.means).astype(dtype, copy=False), scales)

    def score_samples(self, X, y):
        """log p(y | x) for each sample, (N,), in nats."""
        X_checked, y = self._pair(X, y)
        return self._log_prob(X_checked, y).astype(result_dtype(X), copy=False)

    def score(self, X, y):
        """Mean log p(y | x) over the samples, as a float: a log-likelihood, so higher is
        better (what scikit-learn's model selection maximises by default)."""
        return float(self.score_samples(X, y).mean())

    def sample(self, X, n_samples=1, temperature=1.0, sigma_temperature=1.0,
               random_state=None):
        """Draw from p(y | x) for each input: (N, n_samples, D), or (N, n_samples) for a
        model fitted on 1-D targets.

        ``temperature`` divides the log weights (0: always the heaviest component);
        ``sigma_temperature`` multiplies every component's covariance (see ``mixture.sample``).
        ``random_state`` seeds a host generator, so a seed gives the same samples on every
        backend.
        """
        draws = mixture._sample(*self._mixture_at(X), n_samples=n_samples, rng=random_state,
                               temperature=temperature, sigma_temperature=sigma_temperature)
        return self._result(draws, X)


def result_dtype(X):
    """The dtype of results for inputs X: float32 for float32 arrays, float64 otherwise."""
    return np.dtype(np.float32) if getattr(X, "dtype", None) == np.float32 else \
        np.dtype(np.float64)
