"""mdnlite: Mixture Density Networks in NumPy, and unchanged on the GPU through CuPy.

A network maps x to the parameters of a Gaussian mixture p(y|x) = Σ_k π_k(x) N(y | μ_k(x), Σ_k(x))
and is trained by minimising the negative log-likelihood, with every gradient derived by hand.
"""

from . import _aliases, datasets, mixture, plot
from .backend import get_xp, resolve_dtype, to_host
from .config import config_context, get_config, set_config
from .estimators.callbacks import Callback, EarlyStopping, ReduceLROnPlateau
from .estimators.gmm import GaussianMixture
from .estimators.mdn import MDN
from .estimators.predictions import MixtureParameters
from .estimators.regressor import Regressor
from .exceptions import (BackendUnavailableError, DivergenceWarning, ModelFileError,
                         NonFiniteLossError, NotFittedError, OverfittingWarning,
                         ScalingWarning)
from .heads.mixture import MixtureHead
from .io import load
from .nn import gradcheck
from .nn.layers import ELU, Dense, Identity, ReLU, Sigmoid, Softplus, Tanh
from .nn.network import Parallel, Sequential, mlp
from .nn.optim import SGD, Adam, RMSProp

__version__ = "0.1.0"

_aliases.install(__name__)  # the module paths of 0.1.0 (old imports and pickles)
__getattr__ = _aliases.module_getattr(__name__)

__all__ = [
    "MDN",
    "Regressor",
    "GaussianMixture",
    "load",
    "MixtureParameters",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "Callback",
    "NonFiniteLossError",
    "DivergenceWarning",
    "OverfittingWarning",
    "ScalingWarning",
    "NotFittedError",
    "ModelFileError",
    "Adam",
    "BackendUnavailableError",
    "Dense",
    "ELU",
    "Identity",
    "MixtureHead",
    "RMSProp",
    "ReLU",
    "SGD",
    "Sequential",
    "Parallel",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "get_xp",
    "datasets",
    "gradcheck",
    "mixture",
    "plot",
    "mlp",
    "resolve_dtype",
    "config_context",
    "get_config",
    "set_config",
    "to_host",
]
