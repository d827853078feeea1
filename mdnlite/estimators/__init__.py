"""The estimators, in scikit-learn's conventions, and everything their fit needs.

``MDN`` and ``Regressor`` train a network (``base.NetworkEstimator``: the fit loop);
``GaussianMixture`` fits a joint mixture by EM and conditions it. All three share the
prediction interface of ``predictions.MixturePredictions``.
"""

from .callbacks import Callback, EarlyStopping, ReduceLROnPlateau
from .gmm import GaussianMixture
from .mdn import MDN
from .predictions import MixtureParameters
from .regressor import Regressor

__all__ = ["MDN", "Regressor", "GaussianMixture", "MixtureParameters", "Callback",
           "EarlyStopping", "ReduceLROnPlateau"]
