"""Mixtures on a line: a 1-D mixture's log-density with its first two derivatives, and
the safeguarded root finding that the quantiles, the highest-density intervals and the 1-D
modes all run on. Everything is elementwise over rows (no loop over them), and rows that are
done leave the iteration."""

import math

import numpy as np

from ..backend import array_module
from .special import ndtr

__all__ = ["LineMixtures", "root", "ITERATIONS"]

ITERATIONS = 100  # Newton-bisection steps at most; about 10 are needed in practice


class LineMixtures:
    """N one-dimensional mixtures, from log weights, means and standard deviations, each
    (N, K), held components first ((K, N)) so that every sum over the components is K - 1
    additions of whole arrays (NumPy reduces a short last axis slowly).

    Extra arrays with one row per mixture may ride along (keyword arguments): ``take``
    carries them with the rows it keeps, so a search can hold its state here."""

    def __init__(self, log_weights, mu, s, **extra):
        xp = array_module(mu)
        first = [xp.ascontiguousarray(a.T) for a in (log_weights, mu, s)]
        self._set(*first, extra)

    def _set(self, log_w, mu, s, extra):
        self.xp = array_module(mu)
        self.log_w, self.mu, self.s = log_w, mu, s  # (K, N) each
        self._extra = tuple(extra)
        self.__dict__.update(extra)

    def take(self, rows):
        """The mixtures ``rows`` (a boolean mask or device integers), extras included."""
        new = object.__new__(type(self))
        new._set(self.log_w[:, rows], self.mu[:, rows], self.s[:, rows],
                 {name: getattr(self, name)[rows] for name in self._extra})
        return new

    def _standardised(self, y):
        """u = (y - μ_k)/σ_k (K, N, ...) for points y (N, ...), with μ and σ spread to it."""
        shape = self.mu.shape + (1,) * (y.ndim - 1)
        mu, s = self.mu.reshape(shape), self.s.reshape(shape)
        return (y - mu) / s, s

    def log_density(self, y, curvature=False):
        """log p(y), d/dy log p and (if asked) d²/dy² log p at points y (N, ...) of each
        row's mixture. Each term is taken relative to the largest, so that the derivatives
        stay finite far in the tails, where p itself underflows."""
        return self._derivatives(y, curvature)[:3 if curvature else 2]

    def ascent(self, y):
        """log p, its slope and curvature at y (N, ...), and Σ_k r_k/σ_k² (r_k = p(k | y)):
        the mean-shift point is y + slope / Σ_k r_k/σ_k²."""
        return self._derivatives(y, True, True)

    def _derivatives(self, y, curvature, precision=False):
        xp = self.xp
        u, s = self._standardised(y)
        log_norm = (self.log_w - xp.log(self.s)).reshape(s.shape)
        log_terms = log_norm - 0.5 * u * u
        top = log_terms.max(axis=0)
        share = xp.exp(log_terms - top)
        total = share.sum(axis=0)
        pull = -u / s  # d/dy of each term's log
        slope = (share * pull).sum(axis=0) / total
        log_p = xp.log(total) + top - 0.5 * math.log(2 * math.pi)
        if not curvature:
            return log_p, slope
        inverse_variance = 1 / (s * s)
        bend = (share * (pull * pull - inverse_variance)).sum(axis=0) / total
        if not precision:
            return log_p, slope, bend - slope * slope
        weight = (share * inverse_variance).sum(axis=0) / total
        return log_p, slope, bend - slope * slope, weight

    def mass_below(self, y):
        """F(y) = Σ_k π_k Φ((y - μ_k)/σ_k) at points y (N, ...)."""
        u, s = self._standardised(y)
        return (self.xp.exp(self.log_w).reshape(s.shape) * ndtr(u)).sum(axis=0)


def root(f, lo, hi, y, tol, ftol, take=None):
    """The root of an increasing f in [lo, hi] (f(lo) <= 0 <= f(hi)) from y, elementwise;
    stops when no step exceeds ``tol`` or |f| <= ``ftol`` (zero to rounding). ``f(y)``
    returns (f, df/dy).

    Newton's step is taken where it stays inside the shrinking bracket; where it does not
    (it overshoots from the flat side of a curved f), the secant through the bracket's ends
    if the last step halved the bracket, and bisection otherwise (the secant alone can
    creep towards one end for ever): never much slower than bisection, quadratic near a
    root. An element is done when its bracket is narrower than ``tol``, when Newton's step
    is, or when |f| <= ``ftol``.

    With ``take``, the rows (first axis) whose elements are all done leave the iteration:
    ``take(keep)`` must then restrict f to the rows ``keep`` (a boolean mask over the rows
    still in it), so that each step costs what the unfinished rows cost, and a row's result
    does not depend on which other rows share its call.
    """
    xp = array_module(y)
    f_lo, f_hi = f(lo)[0], f(hi)[0]
    last = xp.full(y.shape, math.inf, dtype=y.dtype)  # the bracket's width a step ago
    if take is not None:
        out, rows = y.copy(), xp.arange(y.shape[0])
        tol, ftol = xp.broadcast_to(tol, y.shape), xp.broadcast_to(ftol, y.shape)
    for _ in range(ITERATIONS):
        value, slope = f(y)
        below, above = value < 0, value > 0
        lo, f_lo = xp.where(below, y, lo), xp.where(below, value, f_lo)
        hi, f_hi = xp.where(above, y, hi), xp.where(above, value, f_hi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = y - value / slope
            secant = lo - f_lo * (hi - lo) / (f_hi - f_lo)
        width = hi - lo
        by_newton = (newton > lo) & (newton < hi)
        by_secant = (secant > lo) & (secant < hi) & (width <= 0.5 * last)
        new = xp.where(by_newton, newton, xp.where(by_secant, secant, 0.5 * (lo + hi)))
        # an end of the bracket where f is zero to rounding is the root: Newton from the
        # other side overshoots it, and the steps alone would only halve towards it
        zero = xp.abs(value) <= ftol
        new = xp.where(xp.abs(f_lo) <= ftol, lo, xp.where(xp.abs(f_hi) <= ftol, hi, new))
        done = zero | (width <= tol) | (by_newton & (xp.abs(newton - y) <= tol))
        y = xp.where(zero, y, new)
        last = width
        if take is None:
            if bool(done.all()):  # one host sync per step
                break
            continue
        finished = done.reshape(done.shape[0], -1).all(axis=1)  # (rows,)
        n_finished = int(finished.sum())  # one host sync per step
        if n_finished:
            out[rows[finished]] = y[finished]
            if n_finished == finished.shape[0]:
                return out
            keep = ~finished
            rows, y, lo, hi, f_lo, f_hi, last, tol, ftol = (
                a[keep] for a in (rows, y, lo, hi, f_lo, f_hi, last, tol, ftol))
            take(keep)
    if take is not None:
        out[rows] = y
        return out
    return y
