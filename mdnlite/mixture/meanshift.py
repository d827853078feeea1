"""The modes of a Gaussian mixture, by the fixed-point (mean-shift) iteration.

For p(x) = Σ_k π_k N(x | μ_k, Σ_k) the stationary points satisfy x = (Σ_k r_k Σ_k⁻¹)⁻¹
Σ_k r_k Σ_k⁻¹ μ_k with r_k = p(k | x) (Carreira-Perpiñán 2000); iterating that map from
every component mean climbs to every mode. Each step here also tries Newton's step on
log p, and keeps whichever of the two gives the higher density: mean-shift is safe far
from a mode, Newton converges quadratically near one. All starts of all samples move
together (no loop over rows); the results are merged, saddle points dropped, and the modes
ranked by density. Mixture parameters are laid out as in ``mixture``.

Not every local maximum is worth reporting. A mixture that approximates a flat or skewed
density has ripples, shallow maxima a few tens of per cent above the dips beside them; and a
component left far out in the tail makes a bump of no weight, separated from the rest by
nothing. ``modes`` keeps a local maximum if

- its *prominence* 1 - p(col) / p(mode) is at least ``min_prominence`` (``MIN_PROMINENCE``
  = 0.5 by default): the col is the highest point to which one must descend to reach a
  higher mode (the lowest point of the best path there), so the density must fall to half
  of the mode's on every way to a higher one. It is 1 for the highest mode and for a mode
  separated from every higher one by a region of no density, near 0 for a ripple. Two
  equal Gaussians of one scale σ count as two modes from 3.4 σ apart (their sum has two
  maxima from 2 σ apart).
- its density is at least ``min_density_ratio`` (``MIN_DENSITY_RATIO`` = 0.05 by default)
  times the highest mode's.

For 1-D mixtures the col is exact (the path is the interval between the modes, and each dip
between neighbouring modes is found by a bracketed search); for D > 1 the path is the
straight segment to each higher mode, whose lowest point lies at or below the true col, so
a mode is never dropped for lack of a deep enough dip on a curved path, only kept where one
might exist.
"""

import math

import numpy as np

from ..backend import LOG_2PI, array_module, logsumexp
from .density import is_full

__all__ = ["modes", "prominence", "marginal_scales", "MIN_PROMINENCE", "MIN_DENSITY_RATIO"]

MIN_PROMINENCE = 0.5  # the density must fall to half a mode's on every way to a higher one
MIN_DENSITY_RATIO = 0.05  # ... and the mode's density be at least 5% of the highest mode's
DIP_GRID, DIP_ROUNDS = 32, 4  # points per search of the lowest point of a segment, and rounds
PROMINENCE_BLOCK = 2**20  # segment points times components a block of rows evaluates at once
MODES_BLOCK = 2**19  # starts times components a block of rows climbs with at once


def marginal_scales(means, scales):
    """Each component's standard deviation along each axis, (N, K, D): σ itself for
    isotropic and diagonal scales, sqrt(Σ_j L_dj²) = sqrt(Σ_dd) for Cholesky factors."""
    xp = array_module(means)
    if is_full(means, scales):
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
        if is_full(means, scales):
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


def modes(log_weights, means, scales, *, min_prominence=MIN_PROMINENCE,
          min_density_ratio=MIN_DENSITY_RATIO, max_iter=200, tol=None):
    """The local modes of each of N mixtures that stand out, ranked by density.

    Parameters
    ----------
    log_weights : array (N, K)
    means : array (N, K, D)
    scales : array (N, K, S), S in {1, D}, or Cholesky factors (N, K, D, D)
    min_prominence : float in [0, 1]
        Keep the modes whose prominence (see the module's docstring) is at least this; 0
        keeps every local maximum, ripples included. The highest mode is always kept.
    min_density_ratio : float in [0, 1]
        Keep the modes whose density is at least this times the highest mode's (0 keeps
        them all, bumps of no weight far in the tails included).
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
    rows = max(1, MODES_BLOCK // ((2 * K if D == 1 else K) * K * D))
    if N > rows:  # in blocks of rows: every start climbs against every component
        parts = [modes(log_weights[s:s + rows], means[s:s + rows], scales[s:s + rows],
                       min_prominence=min_prominence, min_density_ratio=min_density_ratio,
                       max_iter=max_iter, tol=tol) for s in range(0, N, rows)]
        return tuple(xp.concatenate(part, axis=0) for part in zip(*parts))
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
    x, log_p = x[:, :K], log_p[:, :K]
    if min_prominence > 0 or min_density_ratio > 0:
        floor = math.log(min_density_ratio) if min_density_ratio > 0 else -math.inf
        keep = xp.isfinite(log_p) & (log_p >= log_p[:, :1] + floor)  # no padding
        M = int(n_modes.max())  # the columns past it are padding in every row
        if min_prominence > 0 and M > 1:
            keep[:, :M] &= prominence(log_weights, means, scales, x[:, :M],
                                      log_p[:, :M]) >= min_prominence
        x, log_p, n_modes = _compact(x, log_p, keep)
    return x, log_p, n_modes


def prominence(log_weights, means, scales, x, log_p):
    """The prominence 1 - p(col) / p(mode) of each mode (see the module's docstring), (N, M),
    NaN in the padding, for modes x (N, M, D) ranked by their log-density log_p (N, M)
    and NaN/-inf padded, as ``modes`` returns them. 1 for the highest mode."""
    xp = array_module(means)
    N, M, D = x.shape
    rows = max(1, PROMINENCE_BLOCK // (M * DIP_GRID * means.shape[1] * D))
    if N > rows:  # in blocks of rows: the segments' points against every component
        return xp.concatenate([prominence(log_weights[s:s + rows], means[s:s + rows],
                                          scales[s:s + rows], x[s:s + rows], log_p[s:s + rows])
                               for s in range(0, N, rows)], axis=0)
    comp = _Components.of(log_weights, means, scales)
    valid = xp.isfinite(log_p)
    if D == 1:
        col = _cols_1d(comp, x[..., 0], log_p, valid)
    else:
        col = xp.full((N, M), -math.inf, dtype=log_p.dtype)
        for j in range(1, M):  # the best straight way from mode j to a higher mode i < j
            lowest = _lowest(comp, xp.repeat(x[:, j:j + 1], j, axis=1), x[:, :j])  # (N, j)
            lowest = xp.where(valid[:, :j], lowest, -math.inf)
            col[:, j] = lowest.max(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        result = 1.0 - xp.exp(xp.minimum(col - log_p, 0.0))
    return xp.where(valid, result, math.nan)


def _cols_1d(comp, x, log_p, valid):
    """log p at the col of each 1-D mode, (N, M): -inf for the highest. The modes are sorted
    by position; between two neighbours p falls and rises once, so the lowest point of each
    gap is found by a bracketed search; a mode's col is the higher of its two sides' cols,
    each the lowest dip met before a higher-ranked mode (-inf on a side with none: p falls to
    0). Of two modes of equal density, the one ranked first counts as the higher."""
    xp = array_module(x)
    N, M = x.shape
    order = xp.argsort(xp.where(valid, x, math.inf), axis=1)  # padding last
    rows = xp.arange(N)[:, None]
    xs, vs = x[rows, order], valid[rows, order]  # order[:, m]: the rank of the m-th from the left
    dips = _lowest(comp, xs[:, :-1, None], xs[:, 1:, None])  # (N, M - 1): gap m..m+1
    dips = xp.where(vs[:, 1:], dips, -math.inf)
    col = xp.full((N, M), -math.inf, dtype=log_p.dtype)
    for j in range(M):
        for step in (-1, 1):  # walk left, then right, until a higher mode
            lowest = xp.full(N, math.inf, dtype=log_p.dtype)
            found = xp.zeros(N, dtype=bool)
            i = j + step
            while 0 <= i < M:
                gap = dips[:, min(i, i - step)]  # the dip between i - step and i
                searching = ~found & vs[:, i]
                lowest = xp.where(searching, xp.minimum(lowest, gap), lowest)
                found |= searching & (order[:, i] < order[:, j])  # ranked higher
                i += step
            col[:, j] = xp.maximum(col[:, j], xp.where(found, lowest, -math.inf))
    out = xp.empty_like(col)
    out[rows, order] = col
    return out


def _lowest(comp, a, b):
    """The lowest log p on each straight segment from a to b, (N, P) for ends (N, P, D): a
    grid of DIP_GRID points, then DIP_ROUNDS searches of the two grid cells around the
    lowest point (exact to rounding where p falls and then rises along the segment)."""
    xp = array_module(a)
    N, P, D = a.shape
    lo = xp.zeros((N, P, 1), dtype=a.dtype)
    hi = xp.ones((N, P, 1), dtype=a.dtype)
    grid = xp.linspace(0.0, 1.0, DIP_GRID, dtype=a.dtype)
    whole = comp.take(xp.repeat(xp.arange(N), P * DIP_GRID))
    finite = xp.isfinite(a).all(axis=-1) & xp.isfinite(b).all(axis=-1)  # (N, P)
    a = xp.where(finite[..., None], a, 0.0)
    b = xp.where(finite[..., None], b, 0.0)
    for _ in range(DIP_ROUNDS):
        s = lo + (hi - lo) * grid  # (N, P, G)
        points = a[:, :, None, :] + s[..., None] * (b - a)[:, :, None, :]  # (N, P, G, D)
        log_p, _ = whole.log_prob(points.reshape(-1, D))
        log_p = log_p.reshape(N, P, DIP_GRID)
        g = log_p.argmin(axis=-1)[..., None]  # (N, P, 1)
        step = (hi - lo) / (DIP_GRID - 1)
        centre = xp.take_along_axis(s, g, axis=-1)
        lo, hi = xp.maximum(centre - step, 0.0), xp.minimum(centre + step, 1.0)
    return xp.where(finite, log_p.min(axis=-1), -math.inf)


def _compact(x, log_p, keep):
    """Move the kept modes (N, M) to the front, in their order; NaN/-inf padding after."""
    xp = array_module(x)
    rows = xp.arange(x.shape[0])[:, None]
    first = xp.argsort(~keep, axis=1, kind="stable")
    x, log_p, keep = x[rows, first], log_p[rows, first], keep[rows, first]
    return (xp.where(keep[..., None], x, math.nan), xp.where(keep, log_p, -math.inf),
            keep.sum(axis=1))


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
