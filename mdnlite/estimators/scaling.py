"""Standardisation inside the estimators: the network sees centred, unit-variance data.

``Standardizer`` learns per-column means and standard deviations of the training inputs and
targets, writes standardised data straight into the packed training array, and maps what the
network predicts back to the user's units: a mixture in standardised units becomes one in
the units of y, and its log-density gains the log-Jacobian -Σ_d log s_d. Nothing here trains.
"""

import warnings

import numpy as np

from ..backend import array_module, to_host
from ..exceptions import ScalingWarning
from ..mixture.density import is_full

__all__ = ["Standardizer", "warn_if_rescaled", "block_moments", "combine_moments"]

_CHUNK = 65536  # rows per pass: the statistics and transforms never copy the whole data
OFFSET = 16.0  # target means beyond this many spreads from 0 take the mixture to float64


class Standardizer:
    """Per-column centre and scale of inputs and targets: x̃ = (x - m_x) / s_x, ỹ = (y - m_y) / s_y.

    Parameters
    ----------
    x_mean, x_scale : array-like (D_in,)
    y_mean, y_scale : array-like (D,)
        Float64 host arrays; every scale is finite and > 0.

    Notes
    -----
    A mixture p̃(ỹ | x̃) = Σ_k π_k N(ỹ | μ̃_k, Σ̃_k) in standardised units is, in the user's
    units, p(y | x) = Σ_k π_k N(y | m_y + S μ̃_k, S Σ̃_k S) with S = diag(s_y): means
    scale and shift, standard deviations scale, Cholesky factors L become S L. Hence
    log p(y | x) = log p̃(ỹ | x̃) - Σ_d log s_y,d (``log_jacobian``).
    """

    def __init__(self, x_mean, x_scale, y_mean, y_scale):
        self.x_mean, self.x_scale, self.y_mean, self.y_scale = (
            np.asarray(a, dtype=np.float64).reshape(-1)
            for a in (x_mean, x_scale, y_mean, y_scale))
        for name, scale in (("x_scale", self.x_scale), ("y_scale", self.y_scale)):
            if not (np.isfinite(scale).all() and (scale > 0).all()):
                raise ValueError(f"{name} must hold finite numbers > 0, got {scale}")
        self.log_jacobian = float(np.log(self.y_scale).sum())
        self._device = {}  # xp -> the four vectors on that device, made once

    @classmethod
    def identity(cls, n_features, n_targets):
        """No scaling at all (``standardize=False``)."""
        return cls(np.zeros(n_features), np.ones(n_features), np.zeros(n_targets),
                   np.ones(n_targets))

    @classmethod
    def fit_collective(cls, X, y, collective):
        """``fit`` over the rows of every rank (``collective.Collective``)."""
        return cls(*_constant_columns(*collective.moments(X)),
                   *_constant_columns(*collective.moments(y)))

    @classmethod
    def fit(cls, X, y):
        """Means and standard deviations of each column of X (N, D_in) and y (N, D).

        Computed in float64 in two passes over row chunks (no full-size temporary); a
        column with no spread gets the scale 1, so it is only centred.
        """
        return cls(*_moments(X), *_moments(y))

    def __getstate__(self):  # the device copies are a cache: never pickled or deep-copied
        state = dict(self.__dict__)
        state["_device"] = {}
        return state

    def _on(self, xp):
        if xp not in self._device:
            self._device[xp] = tuple(xp.asarray(a) for a in (
                self.x_mean, self.x_scale, self.y_mean, self.y_scale))
        return self._device[xp]

    def write_inputs(self, out, X):
        """out[...] = (X - m_x) / s_x, chunk by chunk, computed in float64."""
        mean, scale = self._on(array_module(out))[:2]
        _write(out, X, mean, scale)

    def write_targets(self, out, y):
        """out[...] = (y - m_y) / s_y, chunk by chunk, computed in float64."""
        mean, scale = self._on(array_module(out))[2:]
        _write(out, y, mean, scale)

    def inputs(self, X, dtype, name="X"):
        """Standardised X (N, D_in) as a new array of ``dtype``; a ValueError naming ``name``
        if a value overflows ``dtype`` once scaled."""
        out = array_module(X).empty(X.shape, dtype)
        with np.errstate(over="ignore"):
            self.write_inputs(out, X)
        return _finite(out, name)

    def targets(self, y, dtype, name="y"):
        """Standardised y (N, D) as a new array of ``dtype`` (see ``inputs``)."""
        out = array_module(y).empty(y.shape, dtype)
        with np.errstate(over="ignore"):
            self.write_targets(out, y)
        return _finite(out, name)

    def y_scale_on(self, xp):
        """s_y (D,) on the device of ``xp`` (float64)."""
        return self._on(xp)[3]

    def unscale_means(self, means):
        """Means (..., D) in standardised units -> user units, in the dtype of ``means``."""
        _, _, mean, scale = self._on(array_module(means))
        return (means * scale.astype(means.dtype) + mean.astype(means.dtype))

    def unscale_variances(self, variances):
        """Variances (..., D) -> user units."""
        scale = self._on(array_module(variances))[3].astype(variances.dtype)
        return variances * (scale * scale)

    def user_dtype(self, dtype):
        """The dtype of a mixture in the user's units from one of ``dtype`` in standardised
        units: float64 where a target's mean lies more than OFFSET spreads from 0 and
        ``dtype`` is narrower (float32 resolves 1e12 to 6.6e4: a spread of 1e-3 about it
        would be lost), ``dtype`` otherwise."""
        offset = bool((np.abs(self.y_mean) > OFFSET * self.y_scale).any())
        if np.dtype(dtype).itemsize < 8 and offset:
            return np.dtype(np.float64)
        return np.dtype(dtype)

    def unscale_mixture(self, log_weights, means, scales):
        """The mixture in user units: (log_weights, S μ̃ + m_y, S σ̃ or S L̃), in
        ``user_dtype`` of the standardised mixture's dtype."""
        dtype = self.user_dtype(means.dtype)
        log_weights, means, scales = (a.astype(dtype, copy=False)
                                      for a in (log_weights, means, scales))
        scale = self._on(array_module(means))[3].astype(means.dtype)
        if is_full(means, scales):  # Cholesky factors: rows scale, S L̃
            scales = scales * scale[:, None]
        else:  # (N, K, S): an isotropic σ̃ becomes a per-dimension σ̃ s_d
            scales = scales * scale
        return log_weights, self.unscale_means(means), scales

    def state(self):
        """The four vectors as host arrays, for saving."""
        return {"x_mean": self.x_mean, "x_scale": self.x_scale, "y_mean": self.y_mean,
                "y_scale": self.y_scale}


def _moments(a):
    """Column means and standard deviations (scale 1 where a column is constant), float64."""
    xp = array_module(a)
    N, F = a.shape
    # summed about the first row: a constant column's mean is then its value exactly (a sum of
    # 1e39s divided by N is not, and would leave 1e23s where 0s belong)
    first = a[0].astype(np.float64)
    total = xp.zeros(F, dtype=np.float64)
    for s in range(0, N, _CHUNK):
        total += (a[s:s + _CHUNK] - first).sum(axis=0)
    mean = first + total / N
    squares = xp.zeros(F, dtype=np.float64)
    for s in range(0, N, _CHUNK):
        r = a[s:s + _CHUNK] - mean  # float64 (chunk, F)
        squares += (r * r).sum(axis=0)
    return _constant_columns(to_host(mean), np.sqrt(to_host(squares) / N))


def combine_moments(blocks):
    """(mean, std) per column from per-block (n, mean, M2), combined in order by Chan, Golub
    and LeVeque's update; blocks of no rows are skipped."""
    n_all, mean_all, m2_all = 0, None, None
    for n, mean, m2 in blocks:
        if n == 0:
            continue
        if n_all == 0:
            n_all, mean_all, m2_all = n, mean, m2
            continue
        total = n_all + n
        delta = mean - mean_all
        mean_all = mean_all + delta * (n / total)
        m2_all = m2_all + m2 + delta * delta * (n_all * n / total)
        n_all = total
    return mean_all, np.sqrt(m2_all / n_all)


def block_moments(a):
    """(rows, column means, column sums of squared deviations) of a host block, float64;
    the mean summed about the first row (see ``_moments``)."""
    a = np.asarray(a, dtype=np.float64)
    first = a[:1]
    mean = (first + (a - first).sum(axis=0) / a.shape[0]).reshape(-1)
    return a.shape[0], mean, ((a - mean) ** 2).sum(axis=0)


def _constant_columns(mean, std):
    """(mean, std) with the scale of a column without spread set to 1 (only centred)."""
    # a spread at rounding level of the mean is no spread: the column is constant
    constant = ~(std > 4 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1e-300))
    std[constant | ~np.isfinite(std)] = 1.0
    return mean, std


def _finite(a, name):
    if not bool(array_module(a).isfinite(a).all()):
        raise ValueError(f"{name} has values too large for {a.dtype.name}")
    return a


def _write(out, a, mean, scale):
    for s in range(0, a.shape[0], _CHUNK):
        chunk = a[s:s + _CHUNK] - mean  # float64 (chunk, F)
        chunk /= scale
        out[s:s + _CHUNK] = chunk


FAR = 10.0  # spreads: data this far from the first fit's standardisation get a ScalingWarning


def warn_if_rescaled(data, n_features, call):
    """A ``ScalingWarning`` where a column of the standardised data (N, D_in + D) has a mean
    more than FAR spreads from 0 or a spread more than FAR times 1: the data sit far from
    the statistics the model standardises with (those of its first data)."""
    mean = to_host(data.mean(axis=0, dtype=np.float64))
    spread = to_host(data.std(axis=0, dtype=np.float64))
    far = np.flatnonzero((np.abs(mean) > FAR) | (spread > FAR))
    if far.size:
        j = int(far[0])
        column = f"X column {j}" if j < n_features else f"y column {j - n_features}"
        warnings.warn(
            f"{call}: {column} lies {abs(mean[j]):.3g} spreads from the mean the model "
            f"standardises with, with {spread[j]:.3g} times its spread: the standardisation "
            f"is kept from the first fit (so that the weights keep their meaning), and the "
            f"network sees data far outside what it learned on. Refit with warm_start=False "
            f"(or a new model), or, to continue from these weights, set standardizer_ = "
            f"Standardizer.fit(X, y) (mdnlite.estimators.scaling) first", ScalingWarning,
            stacklevel=3)
