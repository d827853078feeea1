"""``ConditionalGaussianMixture``: p(targets | inputs) of a joint Gaussian mixture, in closed form.

``GaussianMixture.condition`` builds one. It answers with the MDN's prediction interface
(``predictions.MixturePredictions``): every prediction is the same ``mixture`` function of
the conditional mixture that the MDN uses. It holds no data, does no fitting, and is a
snapshot: refitting the joint model leaves it as it was.
"""

import numbers

from ..backend import array_module, log_softmax
from ..mixture import cholesky, density
from ..validation import check_array, check_pair
from .predictions import MixturePredictions

__all__ = ["ConditionalGaussianMixture", "check_columns"]


class ConditionalGaussianMixture(MixturePredictions):
    """The conditional p(y | x) of p(x, y) = Σ_k π_k N((x, y) | μ_k, Σ_k).

    Each component conditions in closed form, and the weights become posteriors given x::

        π_k(x)  ∝ π_k N(x | μ_x,k, Σ_xx,k)                 (renormalised by log-softmax)
        μ_k(x)  = μ_y,k + A_k (x - μ_x,k),    A_k = Σ_yx,k Σ_xx,k⁻¹
        Σ_y|x,k = Σ_yy,k - Σ_yx,k Σ_xx,k⁻¹ Σ_xy,k          (the same for every x)

    Nothing is inverted. With the joint covariance reordered inputs first and factored,
    Σ_k = L_k L_kᵀ with blocks L_xx (top left), B (bottom left) and L_yy (bottom right), one
    has Σ_xx = L_xx L_xxᵀ, Σ_yx = B L_xxᵀ and Σ_yy = B Bᵀ + L_yy L_yyᵀ, so that::

        A_k = B_k L_xx,k⁻¹            (a back substitution: L_xxᵀ A_kᵀ = B_kᵀ)
        Σ_y|x,k = L_yy,k L_yy,kᵀ      (L_yy is the conditional Cholesky factor, with no
                                       subtraction and so no cancellation)

    and log N(x | μ_x,k, Σ_xx,k) is one forward substitution with L_xx,k.

    Parameters
    ----------
    log_weights : array (K,)
        log π_k of the joint mixture.
    means : array (K, F)
        Joint component means, columns reordered inputs first, then targets.
    factors : array (K, F, F)
        Cholesky factors of the joint covariances in that same order.
    inputs, targets : tuple of int
        The joint model's column numbers of x and of y, in the order X and y use them.
    target_ndim : {1, 2}
        1: y is 1-D (one target; predictions without the target axis, as for an ``MDN``
        fitted on a 1-D y); 2: y is (N, Dy).

    Attributes
    ----------
    inputs, targets : tuple of int
    n_features_in_, n_targets_ : int
        Dx = len(inputs) and Dy = len(targets).
    log_weights_ : array (K,)
    input_means_ : array (K, Dx)
    target_means_ : array (K, Dy)
    input_factors_ : array (K, Dx, Dx)
        Cholesky factors of Σ_xx,k.
    regression_matrices_ : array (K, Dy, Dx)
        A_k = Σ_yx,k Σ_xx,k⁻¹.
    conditional_factors_ : array (K, Dy, Dy)
        Cholesky factors of Σ_y|x,k.
    """

    def __init__(self, log_weights, means, factors, inputs, targets, target_ndim=2):
        Dx = len(inputs)
        if target_ndim not in (1, 2) or (target_ndim == 1 and len(targets) != 1):
            raise ValueError(f"target_ndim must be 2, or 1 for one target, got {target_ndim!r}")
        self._target_ndim = target_ndim
        self.inputs, self.targets = tuple(inputs), tuple(targets)
        self.n_features_in_, self.n_targets_ = Dx, len(targets)
        self.log_weights_ = log_weights.copy()
        self.input_means_, self.target_means_ = means[:, :Dx], means[:, Dx:]
        self.input_factors_ = factors[:, :Dx, :Dx].copy()
        below = factors[:, Dx:, :Dx]  # (K, Dy, Dx): B, with Σ_yx = B L_xxᵀ
        # dimensions first for cholesky.py: L_xx as (Dx, Dx, K, 1), Bᵀ as (Dx, K, Dy)
        a_t = cholesky.solve_lower_transposed(self.input_factors_.transpose(1, 2, 0)[..., None],
                                              below.transpose(2, 0, 1))
        self.regression_matrices_ = a_t.transpose(1, 2, 0).copy()  # (K, Dy, Dx)
        self.conditional_factors_ = factors[:, Dx:, Dx:].copy()  # (K, Dy, Dy)

    @property
    def _xp(self):
        return array_module(self.target_means_)

    def __repr__(self):
        return (f"{type(self).__name__}(inputs={list(self.inputs)}, "
                f"targets={list(self.targets)}, n_components={self.log_weights_.shape[0]})")

    def _mixture_sizes(self):
        """(components K, targets D, full covariances?) of the mixture it predicts."""
        return self.log_weights_.shape[0], self.target_means_.shape[-1], True

    def _inputs(self, X):
        return check_array(X, "X", xp=self._xp, dtype=self.target_means_.dtype,
                           n_features=self.n_features_in_, owner=type(self).__name__)

    def _mixture(self, X):
        """The conditional mixture for checked inputs X (N, Dx), on the model's device."""
        xp = self._xp
        # log N(x | μ_x,k, Σ_xx,k), all N inputs against the K components at once
        log_marginal, _ = density.component_log_density(X, self.input_means_[None],
                                                        self.input_factors_[None])  # (N, K)
        log_weights = log_softmax(self.log_weights_ + log_marginal, axis=1)
        residual = X[:, None, :] - self.input_means_  # (N, K, Dx)
        means = xp.matmul(self.regression_matrices_, residual[..., None])[..., 0]  # (N, K, Dy)
        means += self.target_means_
        factors = self.conditional_factors_
        scales = xp.broadcast_to(factors, (X.shape[0],) + factors.shape)  # (N, K, Dy, Dy)
        return density.Mixture(log_weights, means, scales)

    def _log_prob(self, X, y):
        return density.log_prob(y, *self._mixture(X))

    def _targets_and_inputs(self, X, y):
        X, y = self._pair(X, y)
        return y, X

    def _pair(self, X, y):
        return check_pair(X, y, xp=self._xp, dtype=self.target_means_.dtype,
                          n_features=self.n_features_in_, n_targets=self.n_targets_,
                          owner=type(self).__name__)


def check_columns(inputs, targets, F):
    """Validate a choice of input and target columns of F joint columns.

    Parameters
    ----------
    inputs : int or sequence of int
    targets : int, sequence of int, or None
        None: every column not in ``inputs``, in increasing order.
    F : int

    Returns
    -------
    inputs, targets : tuple of int
        Distinct column numbers in [0, F), none in both.
    """
    inputs = _columns(inputs, "inputs", F)
    if targets is None:
        targets = tuple(c for c in range(F) if c not in inputs)
        if not targets:
            raise ValueError(f"inputs name all {F} columns: nothing is left to predict")
    else:
        targets = _columns(targets, "targets", F)
    shared = sorted(set(inputs) & set(targets))
    if shared:
        raise ValueError(f"columns {shared} are in both inputs and targets")
    return inputs, targets


def is_column(c):
    """Whether ``c`` is one column number (an integer, not a bool), not a sequence of them."""
    return isinstance(c, numbers.Integral) and not isinstance(c, bool)


def _columns(columns, name, F):
    values = [columns] if is_column(columns) else columns
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a column number or a list of them, "
                        f"got {columns!r}") from None
    if not all(is_column(c) for c in values):
        raise TypeError(f"{name} must hold integer column numbers, got {columns!r}")
    values = [int(c) for c in values]
    if not values:
        raise ValueError(f"{name} must name at least one column")
    if not all(0 <= c < F for c in values):
        raise ValueError(f"{name} must be column numbers in [0, {F}), got {values}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} names a column twice: {values}")
    return tuple(values)
