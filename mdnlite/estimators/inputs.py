"""How a fitted network estimator reads its inputs and turns them into p(y | x).

A mixin of ``NetworkEstimator``: it checks X (and y) against what the model was fitted on,
standardises them, runs the network in bounded chunks of rows (keeping nothing in the
layers), and hands the mixture back in the user's units. What the mixture then answers is
the prediction interface of ``predictions.MixturePredictions``.
"""

import numpy as np

from ..config import blas_limit
from ..mixture import density
from ..nn.network import Parallel
from ..validation import check_array, check_feature_names, check_pair, feature_names
from .training import EVAL_BATCH

__all__ = ["Inputs", "data_layout"]


class Inputs:
    """Mixin: checked inputs, network outputs and the mixture of a fitted network estimator."""

    def _check_data(self, X, y):
        """X and y checked for a fitted model, on its device, in their own dtype."""
        self._check_fitted()
        check_feature_names(self, X)
        return check_pair(X, y, xp=self._xp, dtype=None, n_features=self.n_features_in_,
                          n_targets=self.n_targets_, owner=type(self).__name__)

    def _inputs(self, X):
        """Check X for a fitted model; return it standardised, on the model's device and in
        its dtype."""
        self._check_fitted()
        check_feature_names(self, X)
        X = check_array(X, "X", xp=self._xp, dtype=None, n_features=self.n_features_in_,
                        owner=type(self).__name__)
        return self.standardizer_.inputs(X, self.network_.flat_params.dtype)

    def _pair(self, X, y):
        """Check X and y for a fitted model; return both standardised (see ``_inputs``)."""
        X, y = self._check_data(X, y)
        dtype = self.network_.flat_params.dtype
        return self.standardizer_.inputs(X, dtype), self.standardizer_.targets(y, dtype)

    def _targets_and_inputs(self, X, y):
        """(y checked, in the user's units and the dtype of the mixture there; X checked and
        standardised): what ``_mixture`` takes, with the targets its answers are for."""
        X, y = self._check_data(X, y)
        dtype = self.network_.flat_params.dtype
        return (self._xp.asarray(y, dtype=self.standardizer_.user_dtype(dtype)),
                self.standardizer_.inputs(X, dtype))

    def _log_prob(self, X, y):
        """log p(y | x) in the user's units for standardised X and y: the log-density of the
        standardised mixture less the log-Jacobian Σ_d log s_d."""
        log_p = density.log_prob(y, *self._standardized_mixture(X))
        log_p -= self.standardizer_.log_jacobian
        return log_p

    def _mixture(self, X):
        """p(y | x) in the user's units for standardised X (``density.Mixture``)."""
        return density.Mixture(*self.standardizer_.unscale_mixture(
            *self._standardized_mixture(X)))

    def _standardized_mixture(self, X):
        raise NotImplementedError

    def _raw_outputs(self, X):
        """Network outputs for checked X, in chunks of EVAL_BATCH rows; the layers keep none
        of X (a pickle of the model after a prediction carries no data)."""
        net = self.network_
        with blas_limit(min(X.shape[0], EVAL_BATCH) * net.largest_product, self._xp):
            if X.shape[0] <= EVAL_BATCH:
                return net.predict(X)
            parts = [net.predict(X[s:s + EVAL_BATCH])
                     for s in range(0, X.shape[0], EVAL_BATCH)]
        if isinstance(net, Parallel):  # a list of outputs per chunk: joined member by member
            return [self._xp.concatenate(member, axis=0) for member in zip(*parts)]
        return self._xp.concatenate(parts, axis=0)


def data_layout(X, y):
    """(1 for a 1-D y else 2, the column names of a DataFrame X or None), before checks."""
    if hasattr(y, "ndim"):  # no host copy of device y
        ndim = y.ndim
    else:
        try:
            ndim = np.asarray(y).ndim
        except (ValueError, TypeError):  # ragged lists: check_pair names the fault
            ndim = 2
    return (1 if ndim == 1 else 2), feature_names(X)
