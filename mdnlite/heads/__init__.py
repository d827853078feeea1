"""Heads: what the raw network outputs z mean, the loss they give, and dL/dz in closed form.

A head has no weights. ``MixtureHead`` reads z as a Gaussian mixture and its loss is the
negative log-likelihood; ``EnsembleHead`` averages the densities of several networks;
``SquaredError`` is the least-squares head of ``Regressor``.
"""

from .ensemble import EnsembleHead
from .mixture import MixtureHead
from .squared_error import SquaredError

__all__ = ["MixtureHead", "EnsembleHead", "SquaredError"]
