"""Full-covariance Gaussians through their Cholesky factors, over a small target dimension D.

Σ = L Lᵀ with L lower-triangular and a positive diagonal. Arrays here are dimensions first:
a vector is (D, ...) and a factor (D, D, ...), the trailing axes being any batch (components
and samples), so that the solves below are D(D+1)/2 elementwise operations on whole batches:
forward and back substitution written out over the small D, the same code on every backend,
with no inverse and no determinant ever formed.
"""

import numpy as np

from ..backend import array_module

__all__ = ["n_lower", "lower_pairs", "Triangular", "solve_lower", "solve_lower_transposed",
           "log_det", "mahalanobis", "factors", "log_density", "log_density_gradients"]


def n_lower(D):
    """Number of strictly-lower entries of a D x D matrix: D (D - 1) / 2."""
    return D * (D - 1) // 2


def lower_pairs(D):
    """The strictly-lower positions (i, j), i > j, in the order the head stores them.

    Row by row: (1, 0), (2, 0), (2, 1), (3, 0), ... entry m of the head's off-diagonal block
    is L[i, j] for the m-th pair.
    """
    return [(i, j) for i in range(1, D) for j in range(i)]


class Triangular:
    """Factors L (D, D, ...) kept as their diagonal and strictly-lower entries, never assembled.

    ``L[i, j]`` for i >= j reads ``diagonal[i]`` or the entry of ``lower`` for the pair (i, j)
    (see ``factors`` for the layout). The functions below that take factors L take it too:
    they read nothing above the diagonal. The MDN head trains through it: a dense L
    would be a (D, D, K, N) array of zeros with the D (D + 1) / 2 parts copied into it, each
    step.
    """

    def __init__(self, diagonal, lower):
        self.diagonal, self.lower = diagonal, lower
        self.shape = (diagonal.shape[0],) + tuple(diagonal.shape)  # (D, D, ...), as L's
        self._position = {pair: m for m, pair in enumerate(lower_pairs(diagonal.shape[0]))}

    def __getitem__(self, index):
        i, j = index
        if i == j:
            return self.diagonal[i]
        if j > i:
            raise IndexError(f"L[{i}, {j}] is above the diagonal: a Triangular holds only the "
                             f"diagonal and the entries below it")
        return self.lower[self._position[i, j]]


def solve_lower(L, r, bound=None):
    """v with L v = r, by forward substitution: v_i = (r_i - Σ_{j<i} L_ij v_j) / L_ii.

    Parameters
    ----------
    L : array (D, D, ...)
        Lower-triangular factors; entries above the diagonal are never read.
    r : array (D, ...)
    bound : float, optional
        Clip each v_i to [-bound, bound] as soon as it is formed. With the dtype's largest
        number, an overflow saturates instead of becoming ±inf, which a later zero L_ij (or a
        zero responsibility in the gradient) would turn into 0 × inf = NaN.

    Returns
    -------
    array (D, ...)
    """
    xp = array_module(r)
    v = r.copy()
    for i in range(r.shape[0]):
        v_i = v[i]  # a view: every update below lands in v
        for j in range(i):
            v_i -= L[i, j] * v[j]
        v_i /= L[i, i]
        if bound is not None:
            xp.clip(v_i, -bound, bound, out=v_i)
    return v


def solve_lower_transposed(L, v):
    """w with Lᵀ w = v, by back substitution: w_i = (v_i - Σ_{j>i} L_ji w_j) / L_ii.

    Shapes as ``solve_lower``. With v = L⁻¹ r this gives w = Σ⁻¹ r, the gradient of
    ½ rᵀ Σ⁻¹ r with respect to r.
    """
    return _back_substitution(L, v)[0]


def _back_substitution(L, v):
    """(w, t): w with Lᵀ w = v, and t_i = L_ii w_i, each numerator before its division."""
    w = v.copy()
    t = array_module(v).empty_like(v)
    for i in range(v.shape[0] - 1, -1, -1):
        w_i = w[i]
        for j in range(i + 1, v.shape[0]):
            w_i -= L[j, i] * w[j]
        t[i] = w_i
        w_i /= L[i, i]
    return w, t


def log_det(L):
    """½ log det Σ = Σ_i log L_ii for factors L (D, D, ...); returns the batch shape."""
    xp = array_module(L[0, 0])
    out = xp.log(L[0, 0])
    for i in range(1, L.shape[0]):
        out += xp.log(L[i, i])
    return out


def mahalanobis(v):
    """|v|² = Σ_i v_i² for v (D, ...) (with v = L⁻¹ r this is rᵀ Σ⁻¹ r)."""
    out = v[0] * v[0]
    for i in range(1, v.shape[0]):
        out += v[i] * v[i]
    return out


def factors(diagonal, lower):
    """Assemble factors L (D, D, ...) from their diagonal (D, ...) and strictly-lower entries.

    ``lower`` (M, ...) holds L[i, j] for the pairs of ``lower_pairs(D)``, in that order; the
    entries above the diagonal are zero.
    """
    xp = array_module(diagonal)
    D = diagonal.shape[0]
    L = xp.zeros((D, D) + diagonal.shape[1:], dtype=diagonal.dtype)
    for i in range(D):
        L[i, i] = diagonal[i]
    for m, (i, j) in enumerate(lower_pairs(D)):
        L[i, j] = lower[m]
    return L


def log_density(r, L):
    """log N(r | 0, L Lᵀ) without its -(D/2) log 2π, and v = L⁻¹ r for the gradient.

    log N + (D/2) log 2π = -½ |L⁻¹ r|² - Σ_i log L_ii, from one forward substitution.

    Returns
    -------
    log_comp : array (...)
    v : array (D, ...)
        Saturated at the dtype's largest number (see ``solve_lower``): |v|² is then inf all
        the same, and the density 0.
    """
    v = solve_lower(L, r, bound=float(np.finfo(r.dtype).max))
    log_comp = mahalanobis(v)
    log_comp *= -0.5
    log_comp -= log_det(L)
    return log_comp, v


def log_density_gradients(g, v, L, log_diagonal_slope=None):
    """Gradients of a loss through ``log_density``, given g = dLoss/dlog_comp (...).

    With v = L⁻¹ r and w = L⁻ᵀ v = Σ⁻¹ r:
    d log_comp/dμ = w (r = y - μ), d log_comp/dL_ij = w_i v_j for i > j, and
    d log_comp/d log L_ii = t_i v_i - 1 with t_i = L_ii w_i. Since w is linear in v,
    g w = L⁻ᵀ (g v): g multiplies v before the back substitution, so that a component with
    zero weight far from y gets exactly zero gradients rather than 0 × a huge w.

    ``log_diagonal_slope`` (D, ...), if given, is d log L_ii/ds_i = act'(s_i)/L_ii for the
    pre-activations s of the diagonal, at most 1, and ``ddiagonal`` is then the gradient with
    respect to s: g (t_i v_i - 1) d log L_ii/ds_i. No factor of it is formed alone: g t_i
    comes from the back substitution before its division by L_ii (an L_ii = inf gives 0, not
    0 × inf), and is multiplied by d log L_ii/ds_i before v_i, since at the floor the former
    is tiny while t_i v_i can exceed float32's range on its own, although their product does
    not. Without it, d log L_ii/dL_ii = 1/L_ii gives the gradient with respect to L_ii.

    Returns
    -------
    dmeans : array (D, ...)
    ddiagonal : array (D, ...)
        Gradient with respect to the diagonal of L (or to s, see above).
    dlower : list of M arrays (...)
        Gradients with respect to the strictly-lower entries, in ``lower_pairs`` order.
    """
    gw, ddiagonal = _back_substitution(L, g * v)  # (D, ...): g w, and g t
    D = v.shape[0]
    if log_diagonal_slope is None:
        log_diagonal_slope = 1 / array_module(v).stack([L[i, i] for i in range(D)])
    ddiagonal *= log_diagonal_slope
    ddiagonal *= v
    ddiagonal -= g * log_diagonal_slope  # (D, ...): g (t v - 1) d log L_ii/ds
    dlower = [gw[i] * v[j] for i, j in lower_pairs(D)]
    return gw, ddiagonal, dlower
