"""What the figures share: Axes to draw into, p(y | x) at given inputs, host copies, limits.

``mixture_at`` turns any source (a fitted model, or plain mixture parameters) into host
arrays for one target dimension; the rest places points, lines and labels. No figure lives
here, and matplotlib is imported only inside the functions that draw.
"""

import numpy as np

from .. import mixture
from ..backend import to_host
from ..estimators.predictions import MixtureParameters
from ..mixture.meanshift import marginal_scales

__all__ = ["axes", "mixture_at", "log", "draw", "host", "samples", "data", "scatter_samples",
           "scatter_data", "names", "limits", "free_corner", "faded_lines"]


def axes(axes, nrows, ncols, panel=(3.6, 3.2), **subplots_kw):
    """(figure, flat list of nrows * ncols Axes): the given ones, or a new figure's."""
    if axes is not None:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes) != nrows * ncols:
            raise ValueError(f"axes must hold {nrows * ncols} Axes, got {len(axes)}")
        return axes[0].figure, axes
    try:
        import matplotlib  # noqa: F401  (first: a missing package fails here, not half-way)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("mdnlite.plot needs matplotlib: pip install 'mdnlite[plot]'") from None
    fig, grid = plt.subplots(nrows, ncols, squeeze=False, constrained_layout=True,
                             figsize=(panel[0] * ncols, panel[1] * nrows), **subplots_kw)
    return fig, list(grid.ravel())


def mixture_at(source, x, dim=0):
    """MixtureParameters (N, K), (N, K, D), (N, K, D) as float64 host arrays at inputs ``x``.

    ``source`` is a fitted model (anything with ``predict_mixture``) or plain parameters
    already evaluated at ``x``: weights (N, K), means (N, K, D), scales (N, K, D) or (N, K, 1)
    or Cholesky factors (N, K, D, D), replaced by the marginal standard deviations.
    ``x`` = None skips the row check of plain parameters; ``dim`` is checked against D.
    """
    if hasattr(source, "predict_mixture"):
        source = source.predict_mixture(x)
    if not (isinstance(source, (tuple, list)) and len(source) == 3):
        raise TypeError("source must be a fitted model with predict_mixture or a tuple "
                        f"(weights, means, scales), got {type(source).__name__}")
    weights, means, scales = (np.asarray(to_host(a), dtype=np.float64) for a in source)
    if scales.ndim == means.ndim + 1:  # Cholesky factors: every plot here shows one
        scales = marginal_scales(means, scales)  # dimension at a time, its marginal sd
    if not (weights.ndim == 2 and means.ndim == scales.ndim == 3
            and means.shape[:2] == weights.shape == scales.shape[:2]
            and scales.shape[2] in (1, means.shape[2])):
        raise ValueError(f"mixture parameters must be weights (N, K), means (N, K, D) and scales "
                         f"(N, K, D) or (N, K, 1), got shapes {weights.shape}, {means.shape}, "
                         f"{scales.shape}")
    if x is not None and len(x) != len(weights):
        raise ValueError(f"the mixture parameters have {len(weights)} rows but there are "
                         f"{len(x)} inputs: give the parameters evaluated at these inputs")
    if not 0 <= dim < means.shape[2]:
        raise ValueError(f"dim must be in [0, {means.shape[2]}), got {dim!r}")
    return MixtureParameters(weights, means, np.broadcast_to(scales, means.shape))


def log(weights):
    with np.errstate(divide="ignore"):  # a weight that underflowed to 0 is log 0 = -inf, exact
        return np.log(weights)


def draw(params, n_samples, rng, dim, temperature=1.0, sigma_temperature=1.0):
    """(N, n_samples) host samples of target dimension ``dim`` (see ``mixture.sample``)."""
    weights, means, scales = params
    return mixture.sample(log(weights), means, scales, n_samples, rng=rng,
                          temperature=temperature, sigma_temperature=sigma_temperature)[:, :, dim]


def host(a, name, n_rows=None, dim=None):
    """Inputs (N,) or (N, 1), or with ``dim`` column ``dim`` of (N, D), as a host array (N,)."""
    a = np.asarray(to_host(a), dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    if dim is None and not (a.ndim == 2 and a.shape[1] == 1):
        raise ValueError(f"{name} must have one input feature, shape (N,) or (N, 1), to be "
                         f"drawn against; got shape {a.shape}")
    if a.ndim != 2 or not 0 <= (dim or 0) < a.shape[1]:
        raise ValueError(f"{name} must be (N,) or (N, D) with D > dim={dim}, got shape {a.shape}")
    if n_rows is not None and len(a) != n_rows:
        raise ValueError(f"{name} has {len(a)} rows, expected {n_rows}")
    return a[:, dim or 0]


def samples(samples, dim, n_rows):
    """Samples (N,), (N, S) or (N, S, D) as host (N, S) values of target dimension ``dim``."""
    s = np.asarray(to_host(samples), dtype=np.float64)
    shape = s.shape
    s = s.reshape(shape + (1,) * (3 - s.ndim)) if 1 <= s.ndim <= 3 else s
    if s.ndim != 3 or len(s) != n_rows or not 0 <= dim < s.shape[2]:
        raise ValueError(f"samples must be (N,), (N, S) or (N, S, D) with N={n_rows} and "
                         f"D > dim={dim}, got shape {shape}")
    return s[:, :, dim]


def data(data, dim):
    """A (x, y) pair to scatter, as host arrays (N,) and (N,); None stays None."""
    if data is None:
        return None
    dx = host(data[0], "data x")
    return dx, host(data[1], "data y", len(dx), dim)


def scatter_samples(ax, x, samples, **kw):
    """Scatter (N, S) samples against their inputs x (N,)."""
    ax.scatter(np.repeat(x, samples.shape[1]), samples.ravel(), **{"s": 4, "alpha": 0.5, **kw})


def scatter_data(ax, data, max_points, color):
    """Data points (x, y) over a figure: all of them, or ``max_points`` of them, a random
    subset that is the same for the same N (its generator is seeded), labelled as such."""
    n = len(data[0])
    if max_points is not None and n > max_points:
        keep = np.random.default_rng(0).choice(n, max_points, replace=False)
        data = (data[0][keep], data[1][keep])
    label = "data" if len(data[0]) == n else f"data ({len(data[0]):,} of {n:,})"
    ax.scatter(*data, s=3, color=color, alpha=0.5, lw=0, label=label)


def names(names, dim, n_dims):
    """(input name, target name) from ``names``; the target is "y[d]" when there are D > 1."""
    x_name, y_name = names
    return x_name, (y_name if n_dims == 1 else f"{y_name}[{dim}]")


def limits(values, q=(0, 100), margin=0.05):
    """(low, high): the q percentiles of the finite values, widened by ``margin`` of the span."""
    v = np.asarray(values, dtype=np.float64).ravel()
    low, high = np.percentile(v[np.isfinite(v)], q)
    pad = margin * (high - low) or 0.5  # constant values still get an axis around them
    return low - pad, high + pad


def free_corner(ax, x, y, weight=1.0):
    """The legend location whose corner of ``ax`` holds the least weight of the points (x, y)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    u, v = (np.ravel(x) - x0) / (x1 - x0), (np.ravel(y) - y0) / (y1 - y0)
    weight = np.broadcast_to(weight, u.shape)
    side = {"left": u < 0.45, "right": u > 0.55, "lower": v < 0.35, "upper": v > 0.65}
    shown = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)

    def load(corner):
        vertical, horizontal = corner.split()
        return weight[shown & side[vertical] & side[horizontal]].sum()

    return min(("upper left", "upper right", "lower right", "lower left"), key=load)


def faded_lines(ax, grid, values, opacity, colours):
    """One line per component k through (grid, values[:, k]), each segment as opaque as
    ``opacity[:, k]`` (G, K) at its ends; a LineCollection per component."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    for k, colour in enumerate(colours):
        points = np.column_stack([grid, values[:, k]])  # (G, 2)
        rgba = np.tile(to_rgba(colour), (len(grid) - 1, 1))  # (G - 1, 4)
        rgba[:, 3] = (opacity[1:, k] + opacity[:-1, k]) / 2
        ax.add_collection(LineCollection(np.stack([points[:-1], points[1:]], axis=1),
                                         colors=rgba, lw=1.2))
