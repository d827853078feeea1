"""mdnlite: Mixture Density Networks in NumPy, and unchanged on the GPU through CuPy.

A network maps x to the parameters of a Gaussian mixture p(y|x) = Σ_k π_k(x) N(y | μ_k(x), Σ_k(x))
and is trained by minimising the negative log-likelihood, with every gradient derived by hand.
"""

from . import datasets, gradcheck, mixture, plot
from .backend import BackendUnavailableError, get_xp, resolve_dtype, to_host
from .callbacks import Callback, EarlyStopping, ReduceLROnPlateau
from .estimator import DivergenceWarning, NonFiniteLossError, NotFittedError, OverfittingWarning
from .gmm import GaussianMixture
from .head import MixtureHead
from .io import ModelFileError, load
from .model import MDN
from .predictions import MixtureParameters
from .regressor import Regressor
from .layers import ELU, Dense, Identity, ReLU, Sigmoid, Softplus, Tanh
from .network import Parallel, Sequential, mlp
from .optim import SGD, Adam, RMSProp

__version__ = "0.1.0"

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
    "to_host",
]
