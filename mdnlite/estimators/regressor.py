"""``Regressor``: the least-squares network, built from the same layers and fit loop as ``MDN``.

It learns the conditional mean E[y | x] and nothing else: the baseline that fails on
multi-valued problems. For comparisons in nats it scores with a Gaussian whose variance per
target dimension is the mean squared residual on the training data.
"""

import numpy as np

from .. import io
from ..backend import array_module, to_host
from ..heads.squared_error import SquaredError
from ..mixture import density
from .base import NetworkEstimator
from .predictions import MixturePredictions

__all__ = ["Regressor"]


class Regressor(MixturePredictions, NetworkEstimator):
    """Least-squares network: y ≈ f(x), trained on the mean squared error.

    Its parameters are those of ``base.NetworkEstimator``, as for ``MDN``, with no noise
    regularisation by default. Its p(y | x) is the Gaussian N(f(x), diag(σ²)), with
    σ² = ``noise_variance_``, seen as a one-component mixture, so it offers the MDN's whole
    prediction interface (``predictions.MixturePredictions``) and every plot and metric
    takes it.

    Parameters
    ----------
    {network_parameters}

    Attributes
    ----------
    noise_variance_ : array (D,)
        Mean squared residual per target dimension over the data given to ``fit`` (validation
        rows included), in the units of y: the maximum-likelihood variance σ² of the Gaussian
        p(y | x) = N(f(x), diag(σ²)) used by ``score_samples``.
    standardizer_ : scaling.Standardizer
    loss_curve_, validation_loss_curve_ : list of float
        Mean squared error after each epoch, in standardised units (those the network
        trains in; the units of y when ``standardize=False``).
    learning_rate_curve_ : list of float
        The learning rate each epoch trained with.

    Examples
    --------
    >>> import mdnlite
    >>> from mdnlite import datasets
    >>> t, x = datasets.inverse_sine(500, direction="inverse", random_state=0)
    >>> ls = mdnlite.Regressor(hidden_sizes=(16, 16), max_epochs=20,
    ...                        random_state=0).fit(t, x)     # E[x | t] only
    >>> ls.predict(t[:5]).shape
    (5,)
    >>> ls.predict_variance(t[:5]).shape                     # the one fitted noise variance
    (5,)
    >>> score = ls.score(t, x)    # mean log N(x | f(t), σ²) in nats, comparable to an MDN's
    >>> isinstance(score, float)
    True
    """

    _min_samples = 2  # the noise variance is a mean of squared residuals: one would be 0

    def _mixture_sizes(self):
        """(components K, targets D, full covariances?) of the mixture it predicts."""
        return 1, self.n_targets_, False

    def _make_head(self, n_targets):
        return SquaredError(n_targets)

    def _after_fit(self, X, y):
        residual = self._raw_outputs(X) - y  # (N, D), standardised units
        variance = (residual * residual).mean(axis=0)  # (D,)
        # a fit through every point leaves no residual: the variance is kept above the
        # dtype's resolution of the targets (a density needs a positive scale)
        tiny = float(np.finfo(variance.dtype).eps) ** 2
        variance = self._xp.maximum(variance, tiny)
        self.noise_variance_ = self.standardizer_.unscale_variances(variance)

    _CONSTANT = "predicting the mean of the training targets"

    def _constant_losses(self, targets, fitted_to):
        # the mean of the targets fitted to: its squared error, averaged over the D targets
        residual = targets - fitted_to.mean(axis=0)
        return to_host((residual * residual).mean(axis=1)).astype(np.float64)

    def _sample_losses(self, sample):
        X, y = self._unpack(sample)
        residual = self._raw_outputs(X) - y
        return to_host((residual * residual).mean(axis=1)).astype(np.float64)

    def _diverged_above(self, start):
        return 2 * start

    def _get_state(self):
        state = super()._get_state()
        state["arrays"]["noise_variance"] = self.noise_variance_
        return state

    def _expected_arrays(self, state):
        arrays = super()._expected_arrays(state)
        arrays["noise_variance"] = ((state.value["n_targets"],), state.value["dtype"])
        return arrays

    def _set_state(self, state, arrays):
        io.check_values(arrays, "noise_variance", minimum=0)
        super()._set_state(state, arrays)
        self.noise_variance_ = self._xp.asarray(arrays["noise_variance"])

    def _standardized_mixture(self, X):
        """p(y | x) = N(f(x), diag(noise_variance_)) for standardised X, in standardised
        units, as a one-component mixture: log weights 0 (N, 1), means (N, 1, D), scales
        sqrt(noise_variance_) (N, 1, D)."""
        means = self._raw_outputs(X)[:, None, :]  # (N, 1, D)
        xp = array_module(means)
        log_weights = xp.zeros(means.shape[:2], dtype=means.dtype)
        scale = self.standardizer_.y_scale_on(xp).astype(means.dtype)
        scales = xp.broadcast_to(xp.sqrt(self.noise_variance_) / scale, means.shape)
        return density.Mixture(log_weights, means, scales)

    def predict(self, X):
        """f(x), (N, D) or (N,) (as y was), on the model's device (the mean of its one
        component)."""
        outputs = self._raw_outputs(self._inputs(X))  # (N, D), standardised units
        return self._result(self.standardizer_.unscale_means(outputs), X)

    def predict_variance(self, X):
        """The fitted noise variance for every input, (N, D) or (N,), in the units of y."""
        n = self._inputs(X).shape[0]
        return self._result(self._xp.broadcast_to(self.noise_variance_,
                                                  (n, self.n_targets_)).copy(), X)
