"""What predictions return: the named tuples ``Modes`` and ``MixtureParameters``, and the
dtype of results for given inputs."""

from collections import namedtuple

import numpy as np

from ..mixture.density import ScaleNames

__all__ = ["Modes", "MixtureParameters", "result_dtype"]

Modes = namedtuple("Modes", ["values", "log_density", "count"])
Modes.__doc__ = """The modes of p(y | x) for N inputs that stand out (``meanshift.modes``), highest
density first.

Attributes
----------
values : array (N, M, D), or (N, M) for a model fitted on 1-D targets
    The modes, NaN after the last one of each row. M = K for D = 1 and 2K for D >= 2 (a
    mixture in two or more dimensions can have more modes than components).
log_density : array (N, M)
    log p(mode | x), -inf in the padding.
count : array (N,) of int
    How many modes each p(y | x) has.
"""


class MixtureParameters(ScaleNames,
                        namedtuple("MixtureParameters", ["weights", "means", "scales"])):
    __slots__ = ()


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
    Σ = L Lᵀ (covariance="full", conditioned mixtures). ``sigmas`` and ``factors`` name
    them (asking for the kind the mixture does not hold is an AttributeError), and
    ``covariance_kind`` says which ("diagonal" or "full").
"""


def result_dtype(X):
    """The dtype of results for inputs X: float32 for float32 arrays, float64 otherwise."""
    return np.dtype(np.float32) if getattr(X, "dtype", None) == np.float32 else \
        np.dtype(np.float64)
