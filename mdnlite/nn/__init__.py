"""The network: dense layers, activations, their composition, optimizers and gradient checks.

Nothing here knows about mixtures: a network maps x (N, D_in) to raw outputs z, carries dL/dz
back to one flat gradient buffer, and an optimizer updates the flat parameter buffer.
The heads (``mdnlite.heads``) say what z means and what the loss is.
"""

from . import gradcheck
from .layers import ELU, Dense, Identity, ReLU, Sigmoid, Softplus, Tanh
from .network import Parallel, Sequential, mlp
from .optim import SGD, Adam, RMSProp

__all__ = ["Dense", "ELU", "Identity", "ReLU", "Sigmoid", "Softplus", "Tanh", "Sequential",
           "Parallel", "mlp", "SGD", "RMSProp", "Adam", "gradcheck"]
