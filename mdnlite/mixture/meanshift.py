"""The modes of a Gaussian mixture, by the fixed-point (mean-shift) iteration.

For p(x) = Σ_k π_k N(x | μ_k, Σ_k) the stationary points satisfy x = (Σ_k r_k Σ_k⁻¹)⁻¹
Σ_k r_k Σ_k⁻¹ μ_k with r_k = p(k | x) (Carreira-Perpiñán 2000); iterating that map climbs
from a start to the mode whose basin holds it. The starts are the component means, and
midway between neighbouring means in 1-D; in D >= 2 also the midpoints and centroids of
each mean's nearest neighbours and the weighted mean, since there a mixture can have more
modes than components, some where no component is (three equal components on a triangle a
little wider than their spread peak at its centre too). What is guaranteed: every mode
whose basin holds a start is found, and every point reported is a local maximum (the
Hessian is checked); a mode whose basin holds no start can be missed, as by any search from
finitely many starts.
Each step here also tries Newton's step on
log p, and keeps whichever of the two gives the higher density: mean-shift is safe far
from a mode, Newton converges quadratically near one. All starts of all samples move
together (no loop over rows), and a start leaves the iteration once it stops moving; the
results are merged, saddle points dropped, and the modes ranked by density. In 1-D the
climb starts also midway between neighbouring means and costs one evaluation of the mixture
per step (log p with its slope and curvature, ``line.LineMixtures.ascent``). Mixture
parameters are laid out as in ``mixture``.

Cost, K components in D dimensions, per row: 2K - 1 starts (3K + 1 for D > 1, ``_starts``)
of about 5 to 10 steps each, every step O(K D²); the prominence adds, for each pair of
modes, DIP_GRID + DIP_STEPS evaluations of p on the segment between them. Measured times
per row are in ``benchmarks/README.md`` (``bench_predict.py``).

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
between neighbouring modes is found by a grid and Newton's steps, ``_lowest``); for D > 1
the path is the straight segment to each higher mode, whose lowest point lies at or below
the true col, so a mode is never dropped for lack of a deep enough dip on a curved path,
only kept where one might exist.
"""

import math

import numpy as np

from ..backend import array_module
from .components import Components, dot, lower_product, solve, squared_norm
from .density import is_full, rescaled
from .line import LineMixtures

__all__ = ["modes", "prominence", "marginal_scales", "MIN_PROMINENCE", "MIN_DENSITY_RATIO"]

MIN_PROMINENCE = 0.5  # the density must fall to half a mode's on every way to a higher one
MIN_DENSITY_RATIO = 0.05  # ... and the mode's density be at least 5% of the highest mode's
DIP_GRID, DIP_STEPS = 16, 6  # points of the grid on a segment, then Newton's steps to its lowest
PROMINENCE_BLOCK = 2**20  # segment points times components a block of rows evaluates at once
MODES_BLOCK = 2**19  # starts times components a block of rows climbs with at once


def marginal_scales(means, scales):
    """Each component's standard deviation along each axis, (N, K, D): σ itself for
    isotropic and diagonal scales, sqrt(Σ_j L_dj²) = sqrt(Σ_dd) for Cholesky factors."""
    xp = array_module(means)
    if is_full(means, scales):
        return xp.sqrt((scales * scales).sum(axis=-1))
    return xp.broadcast_to(scales, means.shape)


def _step(comp, x, r, v, reference):
    """One step from x (M, D), where the responsibilities are r and the whitened points v:
    the better of the mean-shift and Newton points (Newton only within 0.25 ``reference``
    (M,) of x), with log p, r and v there, and whether the Hessian of log p at x is negative
    definite (M,)."""
    xp = comp.xp
    M, D = x.shape
    g_k = comp.pull(v)  # (K, M, D)
    g = (r[..., None] * g_k).sum(axis=0)  # (M, D): ∇ log p
    if comp.full:
        A = (r[..., None, None] * comp.precision).sum(axis=0)  # Σ r Σ⁻¹
        shift = x + solve(A, g)
    else:
        A = (r[..., None] * comp.W * comp.W).sum(axis=0)  # (M, D): its diagonal
        shift = x + g / A
    if not comp.full:
        A = A[..., None] * xp.eye(D, dtype=x.dtype)
    outer = (r[..., None, None] * g_k[..., :, None] * g_k[..., None, :]).sum(axis=0)
    H = outer - A - g[:, :, None] * g[:, None, :]  # (M, D, D): ∇² log p
    concave = xp.linalg.eigvalsh(H).max(axis=-1) < 0  # (M,)
    # where H is not negative definite, solve with -I instead: that Newton point is x + g, a
    # gradient step that the comparison below can still reject
    H = xp.where(concave[:, None, None], H, -xp.eye(D, dtype=x.dtype))
    newton = x - solve(H, g)
    log_shift, r_shift, v_shift = comp.log_prob(shift)
    log_newton, r_newton, v_newton = comp.log_prob(newton)
    # a long Newton step may land in another mode's basin and lose this one: Newton only
    # finishes a climb, within a quarter of the narrowest scale
    near = xp.sqrt(squared_norm(newton - x)) <= 0.25 * reference
    use = (log_newton >= log_shift) & near  # (M,)
    return (xp.where(use[:, None], newton, shift), xp.where(use, log_newton, log_shift),
            xp.where(use, r_newton, r_shift), xp.where(use[:, None], v_newton, v_shift),
            concave)


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
    modes : array (N, M, D)
        The modes of each mixture, highest density first; rows with fewer than M modes are
        padded with NaN. M = K for D = 1 (a 1-D mixture of K Gaussians has at most K modes
        in every case known), M = 2K for D >= 2, where a mixture can have more modes than
        components (the K highest are kept otherwise, and the 2K highest here).
    log_density : array (N, M)
        log p at each mode (-inf in the padding).
    n_modes : array (N,) of int
    """
    xp = array_module(means)
    N, K, D = means.shape
    rows = max(1, MODES_BLOCK // ((2 * K if D == 1 else 3 * K + 1) * K * D))
    if N > rows:  # in blocks of rows: every start climbs against every component
        parts = [modes(log_weights[s:s + rows], means[s:s + rows], scales[s:s + rows],
                       min_prominence=min_prominence, min_density_ratio=min_density_ratio,
                       max_iter=max_iter, tol=tol) for s in range(0, N, rows)]
        return tuple(xp.concatenate(part, axis=0) for part in zip(*parts))
    if tol is None:
        tol = 1e-10 if means.dtype == np.float64 else 1e-5
    far = rescaled(means, scales)
    if far is not None:  # sizes that would overflow: found at order 1, then moved back
        centre, r, small_means, small_scales, _ = far
        x, log_p, count = modes(log_weights.astype(np.float64), small_means, small_scales,
                                min_prominence=min_prominence,
                                min_density_ratio=min_density_ratio, max_iter=max_iter, tol=tol)
        dtype = means.dtype
        return ((centre + r[:, None, None] * x).astype(dtype),
                (log_p - D * xp.log(r)[:, None]).astype(dtype), count)
    if D == 1:
        x, log_p, n_modes = _modes_1d(log_weights, means, scales, tol, max_iter)
    else:
        x, log_p, n_modes = _climb(log_weights, means, scales, tol, max_iter)
    width = K if D == 1 else 2 * K  # in D >= 2, a mixture can have more modes than components
    x, log_p, n_modes = x[:, :width], log_p[:, :width], xp.minimum(n_modes, width)
    if min_prominence > 0 or min_density_ratio > 0:
        floor = math.log(min_density_ratio) if min_density_ratio > 0 else -math.inf
        keep = xp.isfinite(log_p) & (log_p >= log_p[:, :1] + floor)  # no padding
        M = int(n_modes.max())  # the columns past it are padding in every row
        if min_prominence > 0 and M > 1:
            keep[:, :M] &= prominence(log_weights, means, scales, x[:, :M],
                                      log_p[:, :M]) >= min_prominence
        x, log_p, n_modes = _compact(x, log_p, keep)
    return x, log_p, n_modes


def _starts(log_weights, means):
    """Where the climbs of ``_climb`` begin, (N, 3K + 1, D) for K >= 3: the means; the point
    midway between each mean and its nearest neighbour; the centroid of each mean and its two
    nearest; and the weighted mean of them all. In D >= 2 a mixture can have more modes than
    components, at such centroids: three equal components at the corners of a triangle a
    little wider than their spread peak at its centre as well as at the corners."""
    xp = array_module(means)
    N, K, D = means.shape
    if K == 1:
        return means
    gaps = ((means[:, :, None, :] - means[:, None, :, :]) ** 2).sum(axis=-1)  # (N, K, K)
    gaps += xp.where(xp.eye(K, dtype=bool), xp.inf, 0.0)
    near = xp.argsort(gaps, axis=2)[:, :, :2]  # (N, K, 2): the two nearest of each
    rows = xp.arange(N)[:, None]
    first = means[rows, near[:, :, 0]]  # (N, K, D)
    parts = [means, 0.5 * (means + first)]
    if K >= 3:
        parts.append((means + first + means[rows, near[:, :, 1]]) / 3.0)
    parts.append((xp.exp(log_weights)[..., None] * means).sum(axis=1, keepdims=True))
    return xp.concatenate(parts, axis=1)


def _climb(log_weights, means, scales, tol, max_iter):
    """Every local maximum reached from the ``_starts`` (D > 1): the mean-shift/Newton climb
    of all starts together, merged. (modes (N, S, D), log p (N, S), count (N,))"""
    xp = array_module(means)
    N, K, D = means.shape
    x = _starts(log_weights, means)
    S = x.shape[1]
    starts = xp.repeat(xp.arange(N), S)  # (N S,): the mixture of each start
    comp = Components.of(log_weights, means, scales).take(starts)
    reference = marginal_scales(means, scales).min(axis=(1, 2))[starts]  # (N S,)
    x = x.reshape(N * S, D).copy()
    log_p, r, v = comp.log_prob(x)
    concave = xp.zeros(N * S, dtype=bool)
    active = xp.arange(N * S)
    for _ in range(max_iter):  # only the starts still moving take part in a step
        part = comp.take(active)
        new, log_p[active], r_new, v_new, concave[active] = _step(
            part, x[active], r, v, reference[active])
        moved = xp.sqrt(squared_norm(new - x[active])) / reference[active]
        x[active] = new
        still = moved > tol
        active, r, v = active[still], r_new[:, still], v_new[:, still]
        if active.size == 0:  # one host sync per step
            break
    return _merge(x.reshape(N, S, D), log_p.reshape(N, S), concave.reshape(N, S),
                  reference.reshape(N, S)[:, :1], merge_tol=max(1e3 * tol, 1e-6))


def _modes_1d(log_weights, means, scales, tol, max_iter):
    """Every local maximum of N 1-D mixtures reached from the means and the points midway
    between neighbouring means (where a mode made by overlapping tails has its basin):
    (modes (N, S, 1), log p (N, S), count (N,)), S = 2K - 1, highest first.

    The climb of ``_climb`` costs one evaluation of the mixture per step here: log p, its
    slope and curvature and Σ_k r_k/σ_k² come together (``LineMixtures.ascent``); Newton's
    point is taken where log p is concave and the step is within a quarter of the narrowest
    scale, the mean-shift point y + slope / Σ_k r_k/σ_k² (an ascent from any y) elsewhere
    and wherever Newton's point would lower log p."""
    xp = array_module(means)
    N, K, _ = means.shape
    mu, s = means[..., 0], marginal_scales(means, scales)[..., 0]  # (N, K)
    ordered = xp.sort(mu, axis=1)
    y = xp.concatenate([mu, 0.5 * (ordered[:, 1:] + ordered[:, :-1])], axis=1)  # (N, S)
    S = y.shape[1]
    owner = xp.repeat(xp.arange(N), S)  # the mixture of each start
    part = LineMixtures(log_weights, mu, s).take(owner)  # (K, N S)
    reference = s.min(axis=1)  # (N,)
    y, limit = y.reshape(-1).copy(), reference[owner]
    log_p, slope, curve, weight = part.ascent(y)
    concave = curve < 0
    active = xp.arange(N * S)
    for _ in range(max_iter):  # only the starts still moving take part in a step
        here, limit_here = y[active], limit[active]
        shift = here + slope / weight
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = here - slope / curve
        use = (curve < 0) & (xp.abs(newton - here) <= 0.25 * limit_here)
        new = xp.where(use, newton, shift)
        now = part.ascent(new)
        worse = use & (now[0] < log_p[active])
        if bool(worse.any()):  # rare: back to the mean-shift point
            new = xp.where(worse, shift, new)
            again = part.take(worse).ascent(shift[worse])
            for values, fixed in zip(now, again):
                values[worse] = fixed
        log_p[active], slope, curve, weight = now
        concave[active] = curve < 0
        moved = xp.abs(new - here) / limit_here
        y[active] = new
        still = moved > tol
        if not bool(still.any()):  # one host sync per step
            break
        active, part = active[still], part.take(still)
        slope, curve, weight = slope[still], curve[still], weight[still]
    return _merge(y.reshape(N, S, 1), log_p.reshape(N, S), concave.reshape(N, S),
                  reference[:, None], merge_tol=max(1e3 * tol, 1e-6))


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
    comp = Components.of(log_weights, means, scales)
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
    """The lowest log p on each straight segment from a to b, (N, P) for ends (N, P, D).

    log p at DIP_GRID evenly spaced points brackets the lowest one within a cell on either
    side; DIP_STEPS steps of Newton's method on φ'(s) = 0, φ(s) = log p(a + s (b - a)), then
    close in on it (bisection where Newton's point leaves the bracket or φ is not convex
    there). φ' = Σ_k r_k g_k·d and φ'' = Σ_k r_k ((g_k·d)² - |W_k d|²) - φ'², with d = b - a
    and g_k = Σ_k⁻¹ (μ_k - x). The result is the lowest log p met, exact to rounding where p
    falls and then rises along the segment (always so between neighbouring 1-D modes)."""
    xp = array_module(a)
    N, P, D = a.shape
    finite = xp.isfinite(a).all(axis=-1) & xp.isfinite(b).all(axis=-1)  # (N, P)
    a = xp.where(finite[..., None], a, 0.0)
    d = xp.where(finite[..., None], b, 0.0) - a
    grid = xp.linspace(0.0, 1.0, DIP_GRID, dtype=a.dtype)
    log_p = comp.log_prob(a[:, :, None, :] + grid[:, None] * d[:, :, None, :])[0]  # (N, P, G)
    cell = 1.0 / (DIP_GRID - 1)
    s = grid[log_p.argmin(axis=-1)]  # (N, P)
    lowest = log_p.min(axis=-1)
    lo, hi = xp.maximum(s - cell, 0.0), xp.minimum(s + cell, 1.0)
    _, _, W = comp._spread(1)
    Wd = lower_product(W, d) if comp.full else W * d  # W_k d, (K, N, P, D)
    bend = squared_norm(Wd)  # |W_k d|² = dᵀ Σ_k⁻¹ d, (K, N, P)
    for _ in range(DIP_STEPS):
        log_p, r, v = comp.log_prob(a + s[..., None] * d)
        lowest = xp.minimum(lowest, log_p)
        along = -dot(v, Wd)  # g_k·d = -(Wᵀv)·d = -v·(W d), (K, N, P)
        slope = (r * along).sum(axis=0)
        curve = (r * (along * along - bend)).sum(axis=0) - slope * slope
        lo, hi = xp.where(slope < 0, s, lo), xp.where(slope > 0, s, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = s - slope / curve
        s = xp.where((curve > 0) & (newton > lo) & (newton < hi), newton, 0.5 * (lo + hi))
    return xp.where(finite, lowest, -math.inf)


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
