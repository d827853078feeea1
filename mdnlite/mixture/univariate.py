"""The mixture's distribution function and what inverts it: CDF, quantiles, intervals, HDR.

For D > 1 everything is per dimension, on the marginals (the marginal of a Gaussian along
axis d is Gaussian with variance Σ_dd, so full covariances are handled too). Quantiles are
found by safeguarded Newton iteration on the mixture CDF inside the bracket that the
component quantiles give; the highest-density region of a 1-D mixture is a union of
intervals found between its modes. Everything runs on all rows at once, on any backend.
"""

import math
from statistics import NormalDist

import numpy as np

from ..backend import array_module
from ..validation import check_unit_levels
from .density import rescaled
from .line import ITERATIONS, LineMixtures, root
from .meanshift import marginal_scales, modes
from .special import log_ndtr, ndtr, normal_pdf

__all__ = ["cdf", "quantiles", "central_interval", "highest_density_intervals", "check_levels"]

def cdf(y, log_weights, means, scales):
    """P(Y_d <= y_d | mixture) for each row and dimension, (N, D):
    Σ_k π_k Φ((y_d - μ_kd)/s_kd) with s_kd the marginal scale (``meanshift.marginal_scales``);
    the arrays are laid out as in ``mixture.log_prob``."""
    s = marginal_scales(means, scales)
    weights = array_module(means).exp(log_weights)[..., None]  # (N, K, 1)
    return (weights * ndtr((y[:, None, :] - means) / s)).sum(axis=1)


TAIL = 1e-3  # levels nearer than this to 0 or 1 are solved on log F (relative precision)


def check_levels(levels):
    """Levels as a host float64 vector in (0, 1)."""
    return check_unit_levels(levels, "quantile levels")


def check_coverage(coverage):
    """One coverage, a number strictly between 0 and 1, as a float."""
    if np.ndim(coverage) != 0:
        raise TypeError(f"coverage must be one number in (0, 1), got {coverage!r}")
    return float(check_unit_levels(coverage, "coverage")[0])


def quantiles(levels, log_weights, means, scales, *, rtol=None):
    """The marginal quantiles Q_d(q) of each mixture for each level q.

    Parameters
    ----------
    levels : float or sequence of floats in (0, 1)
    log_weights, means, scales : the mixtures (see ``cdf``)
    rtol : float, optional
        Iteration stops when every step is below ``rtol`` times the narrowest scale; 1e-12
        in float64, 1e-6 in float32 by default.

    Returns
    -------
    array (N, Q, D)

    Notes
    -----
    F(y) = Σ_k π_k Φ((y - μ_k)/s_k) is increasing, and each Φ_k is at most q at the smallest
    component quantile μ_k + s_k z_q and at least q at the largest, so the root of F(y) = q
    lies in that bracket. Newton's step y - (F(y) - q)/p(y) is taken when it stays inside
    the (shrinking) bracket, bisection otherwise. Levels above 1/2 are solved on the
    mirrored mixture, with 1 - q, so that upper-tail levels keep their precision.
    """
    q = check_levels(levels)
    xp = array_module(means)
    dtype = means.dtype
    if rtol is None:
        rtol = 1e-12 if dtype == np.float64 else 1e-6
    upper = q > 0.5
    sign = xp.asarray(np.where(upper, -1.0, 1.0), dtype=dtype)[None, :, None, None]  # (1,Q,1,1)
    target = xp.asarray(np.where(upper, 1 - q, q), dtype=dtype)[None, :, None]  # (1, Q, 1)
    z = xp.asarray([NormalDist().inv_cdf(float(t)) for t in np.where(upper, 1 - q, q)],
                   dtype=dtype)[None, :, None, None]
    mu = sign * means[:, None]  # (N, Q, K, D): the mirrored mixture for upper levels
    s = marginal_scales(means, scales)[:, None]  # (N, 1, K, D)
    w = xp.exp(log_weights)[:, None, :, None]  # (N, 1, K, 1)
    component = mu + s * z  # (N, Q, K, D)
    lo, hi = component.min(axis=2), component.max(axis=2)  # (N, Q, D): the bracket
    y = (w * component).sum(axis=2)  # a start inside it

    log_w = xp.log(w)
    log_target = xp.log(target)
    parts = [mu, s, w, log_w]  # the rows still iterating (``line.root``'s take)

    def F(y):  # F(y) - q and its slope p(y): where every level is 1e-3 or more from 0 and 1
        mu, s, w, _ = parts
        u = (y[:, :, None] - mu) / s
        return ((w * ndtr(u)).sum(axis=2) - target, (w * normal_pdf(u) / s).sum(axis=2))

    def log_F(y):  # log F(y) - log q and its slope p(y)/F(y), in log space: exact in the tails
        mu, s, _, log_w = parts
        u = (y[:, :, None] - mu) / s
        log_terms = log_w + log_ndtr(u)  # (N, Q, K, D): log π_k Φ(u_k)
        top = log_terms.max(axis=2)
        log_cdf = xp.log(xp.exp(log_terms - top[:, :, None]).sum(axis=2)) + top
        log_pdf = log_w - 0.5 * u * u - xp.log(s) - 0.5 * math.log(2 * math.pi)
        return log_cdf - log_target, xp.exp(log_pdf - log_cdf[:, :, None]).sum(axis=2)

    def take(keep):
        parts[:] = [a[keep] for a in parts]

    # a tolerance relative to q either way: |F - q| <= 4 eps q where every level is TAIL or
    # more from 0 and 1; in the tails, log F - log q zero to rounding (1.6 times the work)
    eps = float(np.finfo(dtype).eps)
    tail = bool((np.where(upper, 1 - q, q) < TAIL).any())
    y = root(log_F if tail else F, lo, hi, y, rtol * s.min(axis=2),
             ftol=8 * eps if tail else 4 * eps * target, take=take)
    return y * sign[..., 0]


def central_interval(coverage, log_weights, means, scales):
    """The central interval of each marginal with probability ``coverage``: the quantiles at
    (1 - c)/2 and (1 + c)/2, as (lower, upper), each (N, D)."""
    c = check_coverage(coverage)
    bounds = quantiles([(1 - c) / 2, (1 + c) / 2], log_weights, means, scales)
    return bounds[:, 0], bounds[:, 1]


class _Stretches(LineMixtures):
    """N one-dimensional mixtures, each cut into M stretches between its density minima,
    with the arrays that the search for the threshold t reads (starts, stops, peaks, top,
    floor_start, floor_stop), one row per mixture, so that the rows still searching can be
    taken out together (``take``)."""

    def ends(self, t, lower, upper, tol, eps):
        """Where p >= t on each stretch, from guesses: (lower, upper, alive) (N, M)."""
        xp = self.xp
        alive = self.top >= t
        whole_left, whole_right = self.floor_start >= t, self.floor_stop >= t  # no root there
        with np.errstate(divide="ignore"):
            log_t = xp.log(t)
        ftol = 8 * eps * (1 + xp.abs(log_t))  # log p - log t is zero to rounding

        # the rows whose ends are all found leave each search (``root``'s take)
        state = [self, alive & ~whole_left, log_t]

        def rising(y):  # log p - log t, increasing from a stretch's start to its peak
            line, searching, log_t = state
            lp, slope = line.log_density(y)
            return xp.where(searching, lp - log_t, 0.0), slope

        def falling(y):
            line, searching, log_t = state
            lp, slope = line.log_density(y)
            return xp.where(searching, log_t - lp, 0.0), -slope

        def take(keep):
            state[:] = [state[0].take(keep), state[1][keep], state[2][keep]]

        lower = root(rising, self.starts, self.peaks,
                     xp.clip(lower, self.starts, self.peaks), tol, ftol, take=take)
        state[:] = [self, alive & ~whole_right, log_t]
        upper = root(falling, self.peaks, self.stops,
                     xp.clip(upper, self.peaks, self.stops), tol, ftol, take=take)
        lower = xp.where(whole_left, self.starts, lower)
        upper = xp.where(whole_right, self.stops, upper)
        return lower, upper, alive

    def excess(self, t, lower, upper, c, tol, eps):
        """The mass of {p >= t} less the coverage and its derivative in t, (N, 1), with the
        ends. An end at p = t moves by 1/p'(end) per unit of t, so the mass by
        Σ t (1/p'(upper) - 1/p'(lower)) = Σ 1/(log p)'(upper) - 1/(log p)'(lower)."""
        xp = self.xp
        lower, upper, alive = self.ends(t, lower, upper, tol, eps)
        inside = xp.where(alive, self.mass_below(upper) - self.mass_below(lower), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            moves = (xp.where(upper == self.stops, 0.0, 1 / self.log_density(upper)[1])
                     - xp.where(lower == self.starts, 0.0, 1 / self.log_density(lower)[1]))
        slope = xp.where(alive, moves, 0.0).sum(axis=1, keepdims=True)
        return inside.sum(axis=1, keepdims=True) - c, slope, lower, upper, alive


def highest_density_intervals(coverage, log_weights, means, scales):
    """The highest-density region of each 1-D mixture with probability ``coverage``: the
    set {y : p(y) >= t} whose mass is ``coverage``, a union of at most K intervals.

    Returns
    -------
    intervals : array (N, K, 2)
        [lower, upper] of each interval, left to right; NaN padding after the last.
    threshold : array (N,)
        The density t at the interval ends.

    Notes
    -----
    Between two neighbouring modes p has one minimum, where d log p/dy changes sign, so on
    each stretch from one minimum to the next p rises to a mode and falls again: the part
    of it where p >= t is one interval, whose ends are the roots of log p = log t. The mass
    of the union, Σ F(upper) - F(lower), falls as t rises, and t is found by Newton's
    method on it (with the derivative in closed form), each step starting the ends from
    the last ones; rows leave the search as they converge, so that a few slow ones do not
    keep the others computing.
    """
    c = check_coverage(coverage)
    if means.shape[-1] != 1:
        raise ValueError(f"highest-density intervals need 1-D mixtures, got D = "
                         f"{means.shape[-1]} (use central_interval per dimension)")
    xp = array_module(means)
    far = rescaled(means, scales)
    if far is not None:  # sizes that would overflow: found at order 1, then moved back
        centre, r, small_means, small_scales, _ = far
        intervals, threshold = highest_density_intervals(
            coverage, log_weights.astype(np.float64), small_means, small_scales)
        return ((centre + r[:, None, None] * intervals).astype(means.dtype),
                (threshold / r).astype(means.dtype))
    N, K, _ = means.shape
    mu = means[..., 0]  # (N, K)
    s = marginal_scales(means, scales)[..., 0]  # (N, K)
    peaks, _, n = modes(log_weights, means, scales, min_prominence=0,
                        min_density_ratio=0)  # every maximum: the stretches need them all
    M = int(n.max())  # stretches: one per mode, at most K
    peaks = xp.sort(peaks[:, :M, 0], axis=1)  # (N, M), left to right, NaN last
    real = xp.arange(M)[None] < n[:, None]  # (N, M)
    far = 40 * s.max(axis=1, keepdims=True)  # beyond this, no mass in float64
    left_end, right_end = mu.min(axis=1, keepdims=True) - far, mu.max(axis=1, keepdims=True) + far
    peaks = xp.where(real, peaks, right_end)  # padding sits at the far right, weightless
    eps = float(np.finfo(means.dtype).eps)
    s_min = s.min(axis=1, keepdims=True)
    # positions to 1e-12 of the narrowest scale (1e-6 in float32), and never finer than the
    # dtype resolves at the means' magnitude (a finer tolerance is never met)
    rtol = 1e-12 if means.dtype == np.float64 else 1e-6
    tol = xp.maximum(rtol * s_min, 4 * eps * xp.abs(mu).max(axis=1, keepdims=True))
    rows = _Stretches(log_weights, mu, s, starts=None, stops=None, peaks=peaks, top=None,
                      floor_start=None, floor_stop=None)
    # the minimum between neighbouring peaks: where d log p / dy turns from - to +; the
    # last real peak's stretch runs to the right end (the padding's gaps are empty there)
    a = xp.where(real[:, 1:], peaks[:, :-1], right_end)
    b = peaks[:, 1:]
    gap = 1e-6 * (b - a)
    state = [LineMixtures(log_weights, mu, s)]

    def turning(y):
        _, slope, bend = state[0].log_density(y, curvature=True)
        return slope, bend

    def take(keep):
        state[0] = state[0].take(keep)

    valleys = root(turning, a + gap, b - gap, 0.5 * (a + b), tol, 0.0, take=take)  # (N, M - 1)
    rows.starts = xp.concatenate([left_end, valleys], axis=1)  # each stretch's left end
    rows.stops = xp.concatenate([valleys, right_end], axis=1)
    rows.top = xp.where(real, xp.exp(rows.log_density(peaks)[0]), 0.0)  # (N, M)
    rows.floor_start = xp.exp(rows.log_density(rows.starts)[0])
    rows.floor_stop = xp.exp(rows.log_density(rows.stops)[0])

    # t in [0, the highest peak], where the excess falls from 1 - c to -c: Newton's step on
    # t where it stays inside the bracket, bisection otherwise
    lo, hi = xp.zeros((N, 1), dtype=means.dtype), rows.top.max(axis=1, keepdims=True)
    t = 0.5 * hi
    lower, upper = peaks - 0.5 * s_min, peaks + 0.5 * s_min
    last = hi - lo
    found_t, found_lower, found_upper = xp.empty_like(t), xp.empty_like(lower), xp.empty_like(upper)
    found_alive = xp.zeros(lower.shape, dtype=bool)
    index, tol_rows = xp.arange(N), tol
    for _ in range(ITERATIONS):
        f, slope, lower, upper, alive = rows.excess(t, lower, upper, c, tol_rows, eps)
        lo, hi = xp.where(f > 0, t, lo), xp.where(f < 0, t, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = t - f / slope
        # the mass has kinks (where intervals appear or merge), around which Newton can
        # cycle: a step that does not halve the last one gives way to bisection
        good = (newton > lo) & (newton < hi) & (xp.abs(newton - t) <= 0.5 * last)
        new = xp.where(good, newton, 0.5 * (lo + hi))
        done = ((xp.abs(f) <= 16 * eps) | (hi - lo <= 4 * eps * hi))[:, 0]
        last = xp.abs(new - t)
        t = xp.where(done[:, None], t, new)
        if bool(done.any()):  # the converged rows leave: their ends are those at their t
            finished = index[done]
            found_t[finished], found_lower[finished] = t[done], lower[done]
            found_upper[finished], found_alive[finished] = upper[done], alive[done]
            keep = ~done
            index, rows = index[keep], rows.take(keep)
            t, lo, hi, last = t[keep], lo[keep], hi[keep], last[keep]
            lower, upper, tol_rows = lower[keep], upper[keep], tol_rows[keep]
            if index.shape[0] == 0:
                break
    if index.shape[0]:  # out of iterations: the last ends
        _, _, lower, upper, alive = rows.excess(t, lower, upper, c, tol_rows, eps)
        found_t[index], found_lower[index], found_upper[index] = t, lower, upper
        found_alive[index] = alive
    # A small coverage puts t so near the top that the dtype cannot tell the two apart (p
    # varies by less than its resolution across the interval): the mass found then misses c.
    # There the region is, to that resolution, an interval centred on the highest mode m:
    # [m - h, m + h] with F(m + h) - F(m - h) = c, a root that is well conditioned in h.
    line = LineMixtures(log_weights, mu, s)
    mass = xp.where(found_alive, line.mass_below(found_upper) - line.mass_below(found_lower),
                    0.0).sum(axis=1)
    flat = xp.abs(mass - c) > 1e4 * eps * c  # about 1e-12 c in float64, 1e-3 c in float32
    if bool(flat.any()):  # in float64 whatever the dtype: its mode is better resolved
        rows_flat = xp.flatnonzero(flat)
        lw64, mu64, s64 = (a[rows_flat].astype(np.float64) for a in (log_weights, mu, s))
        top = LineMixtures(lw64, mu64, s64)
        centre = modes(lw64, mu64[..., None], s64[..., None], min_prominence=0,
                       min_density_ratio=0)[0][:, :1, 0]
        state = [top, centre]

        def spread(h):  # F(m + h) - F(m - h) - c and its slope p(m + h) + p(m - h)
            line, m = state
            return (line.mass_below(m + h) - line.mass_below(m - h) - c,
                    xp.exp(line.log_density(m + h)[0]) + xp.exp(line.log_density(m - h)[0]))

        def take(keep):
            state[:] = [state[0].take(keep), state[1][keep]]

        reach = 40 * s64.max(axis=1, keepdims=True)
        guess = xp.minimum(0.5 * c / xp.exp(top.log_density(centre)[0]), reach)
        h = root(spread, xp.zeros_like(centre), reach, guess, 1e-15 * s64.min(axis=1)[:, None],
                 ftol=1e-15 * c, take=take)
        found_lower[rows_flat], found_upper[rows_flat] = centre - h, centre + h
        found_alive[rows_flat] = xp.arange(M)[None] == 0
        found_t[rows_flat] = xp.exp(xp.minimum(top.log_density(centre - h)[0],
                                               top.log_density(centre + h)[0]))
    intervals = _join(xp.where(found_alive, found_lower, xp.nan),
                      xp.where(found_alive, found_upper, xp.nan), K)
    return intervals, found_t[:, 0]


def _join(lower, upper, K):
    """Intervals (N, M) on consecutive stretches, merged where one ends where the next begins
    (at a minimum above the threshold), empty ones dropped, packed left: (N, K, 2)."""
    xp = array_module(lower)
    N, M = lower.shape
    out_lo, out_hi = xp.full((N, K), xp.nan, dtype=lower.dtype), xp.full((N, K), xp.nan,
                                                                           dtype=lower.dtype)
    count = xp.zeros(N, dtype=np.int64)
    rows = xp.arange(N)
    open_ = xp.zeros(N, dtype=bool)  # an interval is open, waiting to be continued
    for k in range(M):  # over stretches (at most K), never over rows
        alive = ~xp.isnan(lower[:, k])
        continues = alive & open_ & (out_hi[rows, xp.maximum(count - 1, 0)] == lower[:, k])
        fresh = alive & ~continues
        slot = xp.where(fresh, count, xp.maximum(count - 1, 0))
        out_lo[rows, slot] = xp.where(fresh, lower[:, k], out_lo[rows, slot])
        out_hi[rows, slot] = xp.where(alive, upper[:, k], out_hi[rows, slot])
        count = count + fresh
        open_ = alive
    return xp.stack([out_lo, out_hi], axis=-1)
