"""The normal distribution's special functions on any backend: erfc, Φ (``ndtr``) and φ.

NumPy has no vectorised error function and mdnlite does not depend on SciPy, so ``erfc`` is
W. J. Cody's rational Chebyshev approximation (Math. Comp. 23, 1969, 631-638; the
coefficients of his CALERF), which is accurate to a few units in the last place of float64
over the whole real line, written with ``xp`` operations so that it runs unchanged on NumPy and
CuPy. The normal quantile of a few host levels comes from the standard library
(``statistics.NormalDist``), which needs no array version here.
"""

import math

import numpy as np

from ..backend import array_module

__all__ = ["erfc", "ndtr", "log_ndtr", "normal_pdf"]

# erf(x) = x R(x²) for |x| <= 0.46875
_A = (3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947,
      0.185777706184603153)
_B = (23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062)
# erfc(x) = exp(-x²) R(x) for 0.46875 < x <= 4
_C = (0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131,
      881.95222124176909, 1712.04761263407058, 2051.07837782607147, 1230.33935479799725,
      2.15311535474403846e-8)
_D = (15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019,
      3290.79923573345963, 4362.61909014324716, 3439.36767414372164, 1230.33935480374942)
# erfc(x) = exp(-x²)/x (1/√π + R(1/x²)/x²) for x > 4
_P = (0.305326634961232344, 0.360344899949804439, 0.125781726111229246,
      0.0160837851487422766, 6.58749161529837803e-4, 0.0163153871373020978)
_Q = (2.56852019228982242, 1.87295284992346047, 0.527905102951428412,
      0.0605183413124413191, 0.00233520497626869185)
_SMALL, _LARGE = 0.46875, 4.0
_BIG = 26.543  # erfc underflows in float64 beyond this
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _ratio(t, num, den):
    """(num[-1] t^n + ... ) / (t^n + ...): Cody's nested form, the leading numerator
    coefficient stored last, the denominator monic."""
    top, bottom = num[-1] * t, t
    for a, b in zip(num[:-2], den[:-1]):
        top = (top + a) * t
        bottom = (bottom + b) * t
    return (top + num[-2]) / (bottom + den[-1])


def erfc(x):
    """The complementary error function erfc(x) = 1 - erf(x), elementwise, in x's dtype.

    Accurate to a few ulps in float64 (Cody 1969), also deep in the upper tail where
    1 - erf(x) would lose every digit; 2 for x -> -inf, 0 beyond x = 26.5.
    """
    xp = array_module(x)
    y = xp.abs(x)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # of discarded branches
        # exp(-y²) as exp(-s²) exp(-(y - s)(y + s)), s = y rounded down to 1/16: exact s² keeps
        # the relative error of the tail from growing with y²
        s = xp.floor(y * 16.0) / 16.0
        tail = xp.exp(-s * s) * xp.exp(-(y - s) * (y + s))
        upper = tail * _ratio(y, _C, _D)  # erfc(|x|) for |x| <= 4
        if bool((y > _LARGE).any()):  # each further branch only where some x needs it
            w = 1.0 / (y * y)
            large = tail * (_INV_SQRT_PI - w * _ratio(w, _P, _Q)) / y
            upper = xp.where(y <= _LARGE, upper, xp.where(y >= _BIG, 0.0, large))  # NaN stays
        upper = xp.where(x < 0, 2.0 - upper, upper)
        if bool((y <= _SMALL).any()):
            upper = xp.where(y <= _SMALL, 1.0 - x * _ratio(x * x, _A, _B), upper)
    return upper


def _erfcx(y):
    """exp(y²) erfc(y) for y > 0.46875 (Cody's two outer ranges without their exp(-y²)):
    the scaled complementary error function, finite and ~1/(y√π) however large y is."""
    xp = array_module(y)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        w = 1.0 / (y * y)
        large = (_INV_SQRT_PI - w * _ratio(w, _P, _Q)) / y
        return xp.where(y <= _LARGE, _ratio(y, _C, _D), large)


def ndtr(x):
    """Φ(x), the standard normal CDF, elementwise: erfc(-x/√2)/2, accurate in both tails'
    probabilities (Φ(-30) is 4.9e-198, not 0)."""
    return 0.5 * erfc(x * -(1 / math.sqrt(2)))


def log_ndtr(x):
    """log Φ(x), elementwise, to a few ulps relative also where Φ(x) underflows: for x < -3,
    with y = -x/√2, log Φ(x) = -y² + log(exp(y²) erfc(y)) - log 2 (``_erfcx``), never -inf
    for finite x; for x > 0, log1p(-Φ(-x)), which keeps the tiny values near 0."""
    xp = array_module(x)
    y = x * -(1 / math.sqrt(2))
    with np.errstate(divide="ignore", invalid="ignore"):
        deep = -y * y + xp.log(_erfcx(xp.maximum(y, 1.0))) - math.log(2.0)
        near = xp.where(x > 0, xp.log1p(-ndtr(-xp.abs(x))), xp.log(ndtr(x)))
        return xp.where(x < -3.0, deep, near)


def normal_pdf(x):
    """φ(x) = exp(-x²/2)/√(2π), elementwise."""
    xp = array_module(x)
    return xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
