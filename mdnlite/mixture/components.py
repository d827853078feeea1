"""The components of M Gaussian mixtures, held components first, for the searches of
``meanshift``: whitening v = W_k (x - μ_k), log p with the responsibilities at one point or
several per mixture, and the small-D products they need, written as sums of whole-array
products (NumPy's batched products of small matrices, and its reductions over a short last
axis, cost several times more)."""

from ..backend import LOG_2PI, array_module
from .density import is_full

__all__ = ["Components", "squared_norm", "dot", "lower_product", "lower_transposed_product",
           "solve"]


class Components:
    """What the iteration needs of the components of M mixtures, laid out components first
    so that every sum over the K components is K - 1 additions of whole rows: log π_k +
    log-normaliser (K, M), the means (K, M, D), and a whitening map v = W_k (x - μ_k) with
    W_k = 1/σ_k (diagonal, (K, M, D)) or L_k⁻¹ (full, (K, M, D, D)); for full covariances
    also the precisions Σ_k⁻¹ = W_kᵀ W_k (K, M, D, D), formed once."""

    def __init__(self, log_norm, means, W, precision=None):
        self.xp = array_module(means)
        self.log_norm, self.means, self.W = log_norm, means, W
        self.full = W.ndim == means.ndim + 1
        if self.full and precision is None:
            precision = self.xp.einsum("k...jd,k...je->k...de", W, W)
        self.precision = precision

    @classmethod
    def of(cls, log_weights, means, scales):
        xp = array_module(means)
        D = means.shape[-1]
        if is_full(means, scales):
            W = xp.tril(xp.linalg.inv(scales))  # (N, K, D, D): L⁻¹, lower-triangular as L
            log_det = xp.log(xp.diagonal(scales, axis1=-2, axis2=-1)).sum(axis=-1)
        else:
            W = 1.0 / xp.broadcast_to(scales, means.shape)  # (N, K, D)
            log_det = -xp.log(W).sum(axis=-1)
        log_norm = log_weights - log_det - 0.5 * D * LOG_2PI
        first = [xp.ascontiguousarray(xp.moveaxis(a, 1, 0)) for a in (log_norm, means, W)]
        return cls(*first)

    def take(self, rows):
        """The components of mixtures ``rows`` (device integers)."""
        return Components(self.log_norm[:, rows], self.means[:, rows], self.W[:, rows],
                          None if self.precision is None else self.precision[:, rows])

    def _spread(self, extra):
        """The component arrays with ``extra`` unit axes after the mixtures' axis, to meet
        points (M, ..., D) that hold several points per mixture."""
        def spread(a, tail):
            return a.reshape(a.shape[:2] + (1,) * extra + a.shape[2:2 + tail])
        return spread(self.log_norm, 0), spread(self.means, 1), spread(self.W, self.W.ndim - 2)

    def whiten(self, x):
        """v (K, M, ..., D) for points x (M, ..., D): one point or several per mixture."""
        _, means, W = self._spread(x.ndim - 2)
        r = x - means
        return lower_product(W, r) if self.full else r * W

    def pull(self, v):
        """g_k = Σ_k⁻¹ (μ_k - x) = -Wᵀ v, (K, M, D)."""
        return -lower_transposed_product(self.W, v) if self.full else -v * self.W

    def log_prob(self, x):
        """log p(x) (M, ...), the responsibilities r (K, M, ...) and the whitened points
        v (K, M, ..., D), for points x (M, ..., D)."""
        xp = self.xp
        v = self.whiten(x)
        log_comp = self._spread(x.ndim - 2)[0] - 0.5 * squared_norm(v)  # (K, M, ...)
        top = log_comp.max(axis=0)
        r = xp.exp(log_comp - top)
        total = r.sum(axis=0)
        r /= total
        return xp.log(total) + top, r, v


def squared_norm(a):
    """Σ a² over the last axis."""
    return dot(a, a)


def lower_product(W, r):
    """W r for lower-triangular W (..., D, D) and r (..., D), broadcast: v_d = Σ_{j<=d} W_dj
    r_j, a sum of whole-array products (a batched product of small matrices is slower)."""
    D = r.shape[-1]
    parts = []
    for d in range(D):
        v_d = W[..., d, 0] * r[..., 0]
        for j in range(1, d + 1):
            v_d = v_d + W[..., d, j] * r[..., j]
        parts.append(v_d)
    return array_module(r).stack(parts, axis=-1)


def lower_transposed_product(W, v):
    """Wᵀ v for lower-triangular W (..., D, D): (Wᵀ v)_j = Σ_{d>=j} W_dj v_d."""
    D = v.shape[-1]
    parts = []
    for j in range(D):
        w_j = W[..., j, j] * v[..., j]
        for d in range(j + 1, D):
            w_j = w_j + W[..., d, j] * v[..., d]
        parts.append(w_j)
    return array_module(v).stack(parts, axis=-1)


def dot(a, b):
    """Σ a b over the last axis, as a sum of whole-array products where that axis is short
    (NumPy's reduction over a short last axis costs as much as over a long one)."""
    if a.shape[-1] > 8:
        return (a * b).sum(axis=-1)
    total = a[..., 0] * b[..., 0]
    for d in range(1, a.shape[-1]):
        total = total + a[..., d] * b[..., d]
    return total


def solve(A, b):
    """A⁻¹ b for (M, D, D) and (M, D)."""
    return array_module(A).linalg.solve(A, b[..., None])[..., 0]
