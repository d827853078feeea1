"""Every local mode of a Gaussian mixture, by the fixed-point (mean-shift) iteration.

For p(x) = Σ_k π_k N(x | μ_k, Σ_k) the stationary points satisfy x = (Σ_k r_k Σ_k⁻¹)⁻¹
Σ_k r_k Σ_k⁻¹ μ_k with r_k = p(k | x) (Carreira-Perpiñán 2000); iterating that map from
every component mean climbs to every mode. Each step here also tries Newton's step on
log p, and keeps whichever of the two gives the higher density: mean-shift is safe far
from a mode, Newton converges quadratically near one. All starts of all samples move
together (no loop over rows); the results are merged, saddle points dropped, and the modes
ranked by density. Mixture parameters are laid out as in ``mixture``.
"""

import math

import numpy as np

from .backend import LOG_2PI, array_module, logsumexp

__all__ = ["modes", "marginal_scales"]


def marginal_scales(means, scales):
    """Each component's standard deviation along each axis, (N, K, D): σ itself for
    isotropic and diagonal scales, sqrt(Σ_j L_dj²) = sqrt(Σ_dd) for Cholesky factors."""
    xp = array_module(means)
    if scales.ndim == means.ndim + 1:
        return xp.sqrt((scales * scales).sum(axis=-1))
    return xp.broadcast_to(scales, means.shape)


class _Components:
    """What the iteration needs of the components of M mixtures: log π_k + log-normaliser
    (M, K), the means (M, K, D), and a whitening map v = W_k (x - μ_k) with W_k = 1/σ_k
    (diagonal, (M, K, D)) or L_k⁻¹ (full, (M, K, D, D))."""

    def __init__(self, log_norm, means, W):
        self.xp = array_module(means)
        self.log_norm, self.means, self.W = log_norm, means, W
        self.full = W.ndim == means.ndim + 1

    @classmethod
    def of(cls, log_weights, means, scales):
        xp = array_module(means)
        D = means.shape[-1]
        if scales.ndim == means.ndim + 1:
            W = xp.linalg.inv(scales)  # (N, K, D, D): L⁻¹
            log_det = xp.log(xp.diagonal(scales, axis1=-2, axis2=-1)).sum(axis=-1)
        else:
            W = 1.0 / xp.broadcast_to(scales, means.shape)  # (N, K, D)
            log_det = -xp.log(W).sum(axis=-1)
        return cls(log_weights - log_det - 0.5 * D * LOG_2PI, means, W)

    def take(self, rows):
        """The components of mixtures ``rows`` (device integers)."""
        return _Components(self.log_norm[rows], self.means[rows], self.W[rows])

    def whiten(self, x):
        """v (M, K, D) for points x (M, D)."""
        r = x[:, None, :] - self.means
        return (self.W @ r[..., None])[..., 0] if self.full else r * self.W

    def pull(self, v):
        """g_k = Σ_k⁻¹ (μ_k - x) = -Wᵀ v, (M, K, D)."""
        return -(self.W.swapaxes(-1, -2) @ v[..., None])[..., 0] if self.full else -v * self.W

    def log_prob(self, x):
        """log p(x) (M,) and the responsibilities r (M, K)."""
        v = self.whiten(x)
        log_comp = self.log_norm - 0.5 * (v * v).sum(axis=-1)  # (M, K)
        log_p = logsumexp(log_comp, axis=-1)  # (M,)
        return log_p, self.xp.exp(log_comp - log_p[:, None])


def _solve(A, b):
    """A⁻¹ b for (M, D, D) and (M, D); a division when D = 1 (no batched LAPACK call)."""
    if A.shape[-1] == 1:
        return b / A[..., 0]
    return array_module(A).linalg.solve(A, b[..., None])[..., 0]


def _step(comp, x, reference):
    """One step from x (M, D): the better of the mean-shift and Newton points (Newton only
    within 0.25 ``reference`` (M,) of x), and whether the Hessian of log p at x is negative
    definite (M,)."""
    xp = comp.xp
    M, D = x.shape
    _, r = comp.log_prob(x)
    g_k = comp.pull(comp.whiten(x))  # (M, K, D)
    g = (r[..., None] * g_k).sum(axis=1)  # (M, D): ∇ log p
    if comp.full:
        A = (r[..., None, None] * (comp.W.swapaxes(-1, -2) @ comp.W)).sum(axis=1)  # Σ r Σ⁻¹
        shift = x + _solve(A, g)
    else:
        A = (r[..., None] * comp.W * comp.W).sum(axis=1)  # (M, D): its diagonal
        shift = x + g / A
        A = A[..., None] * xp.eye(D, dtype=x.dtype)
    outer = (r[..., None, None] * g_k[..., :, None] * g_k[..., None, :]).sum(axis=1)
    H = outer - A - g[:, :, None] * g[:, None, :]  # (M, D, D): ∇² log p
    concave = (H[:, 0, 0] if D == 1 else xp.linalg.eigvalsh(H).max(axis=-1)) < 0  # (M,)
    # where H is not negative definite, solve with -I instead: that Newton point is x + g,
    # a gradient step that the comparison below can still reject
    H = xp.where(concave[:, None, None], H, -xp.eye(D, dtype=x.dtype))
    newton = x - _solve(H, g)
    log_shift, _ = comp.log_prob(shift)
    log_newton, _ = comp.log_prob(newton)
    # a long Newton step may land in another mode's basin and lose this one: Newton only
    # finishes a climb, within a quarter of the narrowest scale
    near = xp.sqrt(((newton - x) ** 2).sum(axis=-1)) <= 0.25 * reference
    return xp.where(((log_newton >= log_shift) & near)[:, None], newton, shift), concave


def modes(log_weights, means, scales, *, max_iter=200, tol=None):
    """Every local mode of each of N mixtures, ranked by density.

    Parameters
    ----------
    log_weights : array (N, K)
    means : array (N, K, D)
    scales : array (N, K, S), S in {1, D}, or Cholesky factors (N, K, D, D)
    max_iter : int
        Steps at most; a start stops once it moves by less than ``tol`` times the
        narrowest component's scale in its mixture.
    tol : float, optional
        1e-10 in float64 and 1e-5 in float32 by default.

    Returns
    -------
    modes : array (N, K, D)
        The modes of each mixture, highest density first; rows with fewer than K modes are
        padded with NaN.
    log_density : array (N, K)
        log p at each mode (-inf in the padding).
    n_modes : array (N,) of int
    """
    xp = array_module(means)
    N, K, D = means.shape
    if tol is None:
        tol = 1e-10 if means.dtype == np.float64 else 1e-5
    x = means
    if D == 1 and K > 1:  # also midway between neighbouring means, where a mode made by
        ordered = xp.sort(means, axis=1)  # overlapping tails has its basin (N, K, 1)
        x = xp.concatenate([means, 0.5 * (ordered[:, 1:] + ordered[:, :-1])], axis=1)
    S = x.shape[1]
    starts = xp.repeat(xp.arange(N), S)  # (N S,): the mixture of each start
    comp = _Components.of(log_weights, means, scales).take(starts)
    reference = marginal_scales(means, scales).min(axis=(1, 2))[starts]  # (N S,)
    x = x.reshape(N * S, D).copy()
    concave = xp.zeros(N * S, dtype=bool)
    active = xp.arange(N * S)
    for _ in range(max_iter):  # only the starts still moving take part in a step
        part = comp.take(active)
        new, concave[active] = _step(part, x[active], reference[active])
        moved = xp.sqrt(((new - x[active]) ** 2).sum(axis=-1)) / reference[active]
        x[active] = new
        active = active[moved > tol]
        if active.size == 0:  # one host sync per step
            break
    log_p, _ = comp.log_prob(x)
    x, log_p, n_modes = _merge(x.reshape(N, S, D), log_p.reshape(N, S), concave.reshape(N, S),
                               reference.reshape(N, S)[:, :1], merge_tol=max(1e3 * tol, 1e-6))
    return x[:, :K], log_p[:, :K], n_modes


def _merge(x, log_p, concave, reference, merge_tol):
    """Collapse starts that reached the same point (within ``merge_tol`` scales), drop
    points where log p is not concave (saddles), rank by density, pad with NaN."""
    xp = array_module(x)
    N, S, D = x.shape
    order = xp.argsort(-log_p, axis=1)  # (N, S): highest density first
    rows = xp.arange(N)[:, None]
    x, log_p, concave = x[rows, order], log_p[rows, order], concave[rows, order]
    keep = concave.copy()
    for j in range(1, S):  # over starts (at most K), never over rows
        dist = xp.sqrt(((x[:, :j] - x[:, j:j + 1]) ** 2).sum(axis=-1)) / reference  # (N, j)
        keep[:, j] &= ~(keep[:, :j] & (dist < merge_tol)).any(axis=1)
    # a mixture always has a mode: if rounding hid the concavity of them all, keep the best
    keep[:, 0] |= ~keep.any(axis=1)
    first = xp.argsort(~keep, axis=1, kind="stable")  # kept ones first, in density order
    x, log_p, keep = x[rows, first], log_p[rows, first], keep[rows, first]
    x = xp.where(keep[..., None], x, math.nan)
    log_p = xp.where(keep, log_p, -math.inf)
    return x, log_p, keep.sum(axis=1)
