"""Figures of a fitted MDN, or of plain mixture parameters, drawn with matplotlib.

Each figure function draws into the Axes it is given (or a new figure) and returns the Figure;
none calls ``plt.show`` or picks a backend. Every figure of data takes ``names=(input, target)``
for its axis labels and formulas, ("x", "y") by default. matplotlib is imported only when a
figure is drawn (``pip install 'mdnlite[plot]'``); ``conditional_density`` is plain NumPy.
"""

import numpy as np

from .. import mixture
from ..mixture.meanshift import marginal_scales
from ..backend import to_host
from ..estimators.base import NotFittedError
from ..estimators.predictions import MixtureParameters

__all__ = ["conditional_density", "five_charts", "three_panels", "density_heatmap",
           "density_slices", "training_history", "sample_grid", "quantile_bands",
           "pit_histogram", "reliability_diagram"]

LOG_DECADES = 4  # density_heatmap(color_scale="log") shows this many decades below the top
FULL_WEIGHT = 0.2  # five_charts draws a component fully opaque where it is at least this heavy


def _axes(axes, nrows, ncols, panel=(3.6, 3.2), **subplots_kw):
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


def _mixture_at(source, x, dim=0):
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


def _log(weights):
    with np.errstate(divide="ignore"):  # a weight that underflowed to 0 is log 0 = -inf, exact
        return np.log(weights)


def _draw(params, n_samples, rng, dim, temperature=1.0, sigma_temperature=1.0):
    """(N, n_samples) host samples of target dimension ``dim`` (see ``mixture.sample``)."""
    weights, means, scales = params
    return mixture.sample(_log(weights), means, scales, n_samples, rng=rng,
                          temperature=temperature, sigma_temperature=sigma_temperature)[:, :, dim]


def _host(a, name, n_rows=None, dim=None):
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


def _samples(samples, dim, n_rows):
    """Samples (N,), (N, S) or (N, S, D) as host (N, S) values of target dimension ``dim``."""
    s = np.asarray(to_host(samples), dtype=np.float64)
    shape = s.shape
    s = s.reshape(shape + (1,) * (3 - s.ndim)) if 1 <= s.ndim <= 3 else s
    if s.ndim != 3 or len(s) != n_rows or not 0 <= dim < s.shape[2]:
        raise ValueError(f"samples must be (N,), (N, S) or (N, S, D) with N={n_rows} and "
                         f"D > dim={dim}, got shape {shape}")
    return s[:, :, dim]


def _data(data, dim):
    """A (x, y) pair to scatter, as host arrays (N,) and (N,); None stays None."""
    if data is None:
        return None
    dx = _host(data[0], "data x")
    return dx, _host(data[1], "data y", len(dx), dim)


def _scatter_samples(ax, x, samples, **kw):
    """Scatter (N, S) samples against their inputs x (N,)."""
    ax.scatter(np.repeat(x, samples.shape[1]), samples.ravel(), **{"s": 4, "alpha": 0.5, **kw})


def _scatter_data(ax, data, max_points, color):
    """Data points (x, y) over a figure: all of them, or ``max_points`` of them, a random
    subset that is the same for the same N (its generator is seeded), labelled as such."""
    n = len(data[0])
    if max_points is not None and n > max_points:
        keep = np.random.default_rng(0).choice(n, max_points, replace=False)
        data = (data[0][keep], data[1][keep])
    label = "data" if len(data[0]) == n else f"data ({len(data[0]):,} of {n:,})"
    ax.scatter(*data, s=3, color=color, alpha=0.5, lw=0, label=label)


def _names(names, dim, n_dims):
    """(input name, target name) from ``names``; the target is "y[d]" when there are D > 1."""
    x_name, y_name = names
    return x_name, (y_name if n_dims == 1 else f"{y_name}[{dim}]")


def _limits(values, q=(0, 100), margin=0.05):
    """(low, high): the q percentiles of the finite values, widened by ``margin`` of the span."""
    v = np.asarray(values, dtype=np.float64).ravel()
    low, high = np.percentile(v[np.isfinite(v)], q)
    pad = margin * (high - low) or 0.5  # constant values still get an axis around them
    return low - pad, high + pad


def _free_corner(ax, x, y, weight=1.0):
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


def _faded_lines(ax, grid, values, opacity, colours):
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


def conditional_density(source, x, y_grid, *, dim=0):
    """The marginal density p(y_dim | x) of one target dimension on a grid, exactly.

    A diagonal mixture's marginal in dimension d is the 1-D mixture
    p(y_d | x) = Σ_k π_k(x) N(y_d | μ_kd(x), σ_kd(x)²); it is evaluated in log space with
    ``mixture.log_prob`` on 1-D slices of the parameters, then exponentiated.

    Parameters
    ----------
    source : fitted model, or (weights, means, scales) evaluated at ``x``
    x : array (N,) or (N, D_in); None for plain parameters skips their row check
    y_grid : array (G,)
    dim : int
        The target dimension d.

    Returns
    -------
    array (N, G)
        Row n is the density of y_d at every grid value, given x_n (a host array).
    """
    weights, means, scales = _mixture_at(source, x, dim)
    y = np.asarray(to_host(y_grid), dtype=np.float64).ravel()  # (G,)
    N, G = len(weights), len(y)
    # one row per (input, grid value) pair: the mixture of input n evaluated at y_g
    log_p = mixture.log_prob(np.tile(y, N)[:, None], np.repeat(_log(weights), G, axis=0),
                             np.repeat(means[:, :, dim:dim + 1], G, axis=0),
                             np.repeat(scales[:, :, dim:dim + 1], G, axis=0))  # (N * G,)
    return np.exp(log_p).reshape(N, G)


def five_charts(source, x, y, *, x_grid=None, n_samples=1, random_state=None, dim=0, axes=None,
                samples=None, min_weight=0.01, names=("x", "y")):
    """Five charts in a row: the data; the data with samples drawn at each data x; the means,
    the weights and the scales of the components against x.

    A mean or scale matters only where its component carries weight, so each of those lines
    is as opaque as π_k(x) / 0.2 (at least 0.05) at each x: a faded line is no branch of the
    answer. A component whose weight stays below ``min_weight`` on the whole grid is grey in
    all three charts; a legend on the means chart says so.

    Parameters
    ----------
    source : fitted model, or (weights, means, scales) evaluated at ``x_grid`` if given, else
        at ``x`` (then also sampled at ``x``)
    x : array (N,) or (N, 1)
    y : array (N,) or (N, D)
    x_grid : array (G,), optional
        Inputs of the parameter charts; for a model, 300 points spanning x by default. A grid
        wider than the data shows the mixture beyond it (dotted lines mark the data's ends).
    n_samples : int
        Samples drawn per data input.
    random_state : None, int or numpy.random.Generator
    dim : int
        The target dimension drawn.
    axes : sequence of 5 Axes, optional
    samples : array (N,), (N, S) or (N, S, D), optional
        Samples at ``x`` to draw instead of drawing new ones.
    min_weight : float
        Components whose weight never reaches it on the grid are drawn grey.
    names : (str, str)
        Names of the input and the target, for the axis labels and titles.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The data and sample charts take their y limits from the data (plus 5%), so that a far
    sample is clipped rather than squeezing the data; the means chart spans the data and the
    means where π_k ≥ 0.05, the scales chart those scales.
    """
    xh, yh = _host(x, "x"), _host(y, "y", len(x), dim)
    model = hasattr(source, "predict_mixture")
    if x_grid is None:
        grid = np.linspace(xh.min(), xh.max(), 300) if model else xh
    else:
        grid = _host(x_grid, "x_grid")
    params = _mixture_at(source, grid, dim)
    if samples is not None:
        drawn = _samples(samples, dim, len(xh))
    elif model or x_grid is None:
        drawn = _draw(_mixture_at(source, x, dim) if model else params, n_samples,
                      random_state, dim)
    else:
        raise ValueError("plain parameters at x_grid cannot be sampled at the data inputs: "
                         "pass samples=, or parameters at x without x_grid")
    order = np.argsort(grid)
    grid, weights, means, scales = grid[order], *(a[order] for a in params)
    means, scales = means[:, :, dim], scales[:, :, dim]  # (G, K) each
    x_name, y_name = _names(names, dim, params.means.shape[2])
    heavy = weights.max(axis=0) >= min_weight  # (K,)
    colours = [f"C{k % 10}" if h else "0.6" for k, h in enumerate(heavy)]
    opacity = np.where(heavy, np.clip(weights / FULL_WEIGHT, 0.05, 1.0), 0.3)  # (G, K)
    shown = weights >= min(0.05, weights.max())  # lines as opaque as the legend's 5%
    fig, axes = _axes(axes, 1, 5, panel=(3.2, 3.0), sharex=True)
    axes[0].scatter(xh, yh, s=4, alpha=0.5)
    axes[1].scatter(xh, yh, s=4, alpha=0.3, label="data")
    _scatter_samples(axes[1], xh, drawn, color="tab:orange", label="samples")
    for ax in axes[:2]:
        ax.set_ylim(_limits(yh))
    axes[1].legend(fontsize=8, markerscale=2)  # "best": the corner with the fewest points
    for k, colour in enumerate(colours):  # one line per component, same colours throughout
        axes[3].plot(grid, weights[:, k], color=colour, lw=1.2 if heavy[k] else 0.8)
    for ax, values in ((axes[2], means), (axes[4], scales)):
        _faded_lines(ax, grid, values, opacity, colours)
        ax.autoscale_view(scaley=False)
    axes[2].set_ylim(_limits(np.concatenate([yh, means[shown]])))
    axes[4].set_ylim(0, _limits(scales[shown])[1])
    for ax in axes[2:]:
        if grid.min() < xh.min() or grid.max() > xh.max():
            for edge in (xh.min(), xh.max()):
                ax.axvline(edge, color="0.6", ls=":", lw=1)
    titles = ("data", "data and samples", f"means μ_k({x_name})", f"weights π_k({x_name})",
              f"scales σ_k({x_name})")
    for ax, title, label in zip(axes, titles, (y_name, y_name, "μ_k", "π_k", "σ_k")):
        ax.set(title=title, xlabel=x_name, ylabel=label)
    _fading_legend(axes[2], grid, means, opacity, min_weight if not heavy.all() else None)
    return fig


def _fading_legend(ax, grid, values, opacity, min_weight):
    """The key to five_charts' opacities, in the corner of ``ax`` where the lines are faintest."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="C0", lw=1.2, label=f"π_k ≥ {FULL_WEIGHT:.0%}"),
               Line2D([], [], color="C0", lw=1.2, alpha=0.05 / FULL_WEIGHT, label="π_k = 5%")]
    if min_weight is not None:  # drawn as the grey lines are
        handles.append(Line2D([], [], color="0.6", lw=1.2, alpha=0.3,
                              label=f"π_k < {min_weight:.0%} everywhere"))
    loc = _free_corner(ax, np.repeat(grid, values.shape[1]), values.ravel(), opacity.ravel())
    ax.legend(handles=handles, loc=loc, fontsize=7, handlelength=1.5)


def three_panels(x, y, least_squares, mdn, *, random_state=None, axes=None, dim=0,
                 names=("x", "y")):
    """Ground truth, least-squares predictions and MDN samples side by side, on shared axes.

    The y limits are those of the data and the predictions (plus 5%): a far sample is clipped.

    Parameters
    ----------
    x : array (N,) or (N, 1)
    y : array (N,) or (N, D)
    least_squares : fitted model with ``predict``, or its predictions (N,) or (N, D) at x
    mdn : fitted model or (weights, means, scales) at x (one sample per input is drawn), or
        samples (N,), (N, S) or (N, S, D)
    random_state : None, int or numpy.random.Generator
    axes : sequence of 3 Axes, optional
    dim : int
        The target dimension drawn.
    names : (str, str)
        Names of the input and the target, for the axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    xh = _host(x, "x")
    yh = _host(y, "y", len(xh), dim)
    if hasattr(least_squares, "predict"):
        least_squares = least_squares.predict(x)
    predicted = _host(least_squares, "least_squares", len(xh), dim)
    if hasattr(mdn, "predict_mixture") or isinstance(mdn, tuple):
        drawn = _draw(_mixture_at(mdn, x, dim), 1, random_state, dim)
    else:
        drawn = _samples(mdn, dim, len(xh))
    x_name, y_name = _names(names, dim, 1 if np.ndim(y) == 1 else np.shape(y)[1])
    fig, axes = _axes(axes, 1, 3, sharex=True, sharey=True)
    axes[0].scatter(xh, yh, s=4, alpha=0.3, color="tab:blue")
    axes[1].scatter(xh, predicted, s=4, alpha=0.3, color="tab:red")
    _scatter_samples(axes[2], xh, drawn, alpha=0.3, color="tab:green")
    for ax, title in zip(axes, ("ground truth", "least squares", "MDN samples")):
        ax.set(title=title, xlabel=x_name, ylabel=y_name,
               ylim=_limits(np.concatenate([yh, predicted])))
    return fig


def density_heatmap(source, x_grid, y_grid, *, dim=0, data=None, show_mean=True, show_mode=True,
                    n_samples=0, random_state=None, ax=None, max_points=1000,
                    names=("x", "y"), show_modes=False, color_scale="column"):
    """The conditional density p(y_dim | x) as an image over (x, y), with a colour bar.

    The axes span the grids: points outside them are clipped. The legend goes to the corner
    of least density.

    Parameters
    ----------
    source : fitted model, or (weights, means, scales) evaluated at ``x_grid``
    x_grid : array (G_x,) or (G_x, 1)
    y_grid : array (G_y,)
    dim : int
        The target dimension drawn.
    data : (x (N,), y (N,) or (N, D)), optional
        Points scattered over the image: all of them, or ``max_points`` of them.
    show_mean, show_mode : bool
        Overlay the conditional mean Σ_k π_k μ_k (a line) and the approximate mode, the mean
        of the heaviest component (dots: it jumps between branches).
    show_modes : bool
        Overlay the modes of p(y_dim | x) at each grid x (``mixture.modes`` with its
        defaults, as ``predict_modes``: no ripples of a flat top, no bump of under 5% of
        the highest mode's density): they follow the branches of a multi-valued answer.
    color_scale : {"column", "linear", "log"}
        "column" (the default) divides each column by its highest density, so that every x
        shows the shape of its own p(y | x) from 0 to 1, however narrow or wide it is
        (where the spread grows along x, a shared scale leaves the wide end black);
        "linear" draws p(y | x) itself, the colour topped at its 99.5% quantile (a few
        needle-thin components would otherwise set it); "log" draws log10 p(y | x) over
        the ``LOG_DECADES`` (4) decades below its highest value.
    n_samples : int
        Samples per grid input to overlay (0: none).
    random_state : None, int or numpy.random.Generator
    ax : Axes, optional
    max_points : int or None
        At most this many data points are drawn, a random subset (the same for the same N:
        its generator is seeded), so that they do not hide the density; None draws them all.
    names : (str, str)
        Names of the input and the target, for the axis labels and the colour bar.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if color_scale not in COLOR_SCALES:
        raise ValueError(f"color_scale must be one of {COLOR_SCALES}, got {color_scale!r}")
    xg, yg = _host(x_grid, "x_grid"), np.asarray(to_host(y_grid), dtype=np.float64).ravel()
    params = _mixture_at(source, x_grid, dim)
    density = conditional_density(params, None, yg, dim=dim)  # (G_x, G_y)
    data = _data(data, dim)
    x_name, y_name = _names(names, dim, params.means.shape[2])
    fig, (ax,) = _axes(ax, 1, 1, panel=(6.5, 5))
    image, label, limits, extend = _color_scale(density, color_scale, x_name, y_name)
    mesh = ax.pcolormesh(xg, yg, image.T, shading="auto", cmap="magma", vmin=limits[0],
                         vmax=limits[1])
    # fixed to the grids: points beyond them are clipped instead of stretching the axes
    ax.set(xlim=ax.get_xlim(), ylim=(yg.min(), yg.max()))
    fig.colorbar(mesh, ax=ax, label=label, extend=extend)
    if data is not None:
        _scatter_data(ax, data, max_points, color="tab:cyan")
    if n_samples:
        _scatter_samples(ax, xg, _draw(params, n_samples, random_state, dim), s=2, alpha=1.0,
                         color="tab:olive", label="samples")
    weights, means = params.weights, params.means[:, :, dim]  # (G_x, K) each
    if show_modes:
        peaks = _marginal_modes(params, dim)  # (G_x, K), NaN-padded
        ax.plot(np.repeat(xg, peaks.shape[1]), peaks.ravel(), "o", ms=2.5, mfc="none",
                mew=0.8, color="tab:cyan", label="modes")
    if show_mode:
        mode = means[np.arange(len(xg)), weights.argmax(axis=1)]
        ax.plot(xg, mode, ".", ms=3, color="white", label="approximate mode")
    if show_mean:
        ax.plot(xg, (weights * means).sum(axis=1), color="tab:green", lw=1.5,
                label="conditional mean")
    ax.set(xlabel=x_name, ylabel=y_name, title="conditional density")
    if ax.get_legend_handles_labels()[0]:
        loc = _free_corner(ax, np.repeat(xg, len(yg)), np.tile(yg, len(xg)), density.ravel())
        ax.legend(loc=loc, fontsize=8, markerscale=2)
    return fig


COLOR_SCALES = ("column", "linear", "log")


def _color_scale(density, scale, x_name, y_name):
    """(image, colour-bar label, (vmin, vmax), colour-bar extension) of a density (G_x, G_y)
    on a ``density_heatmap`` colour scale."""
    label = f"p({y_name} | {x_name})"
    if scale == "column":
        top = density.max(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):  # a column of zeros stays 0
            image = np.where(top > 0, density / top, 0.0)
        return image, f"{label} / its maximum", (0.0, 1.0), "neither"  # in each column
    if scale == "linear":
        return density, label, (None, np.quantile(density, 0.995)), "max"
    if scale == "log":
        with np.errstate(divide="ignore"):
            image = np.log10(density)
        top = float(np.max(image))
        return image, f"log10 {label}", (top - LOG_DECADES, top), "min"
    raise AssertionError(scale)  # checked by density_heatmap


def _marginal_modes(params, dim):
    """The modes of the 1-D marginal p(y_dim | x) at each row (``mixture.modes``), (N, K),
    highest first, NaN-padded."""
    weights, means, scales = params  # marginal standard deviations (``_mixture_at``)
    values, _, _ = mixture.modes(_log(weights), means[:, :, dim:dim + 1],
                                 scales[:, :, dim:dim + 1])
    return values[..., 0]


def quantile_bands(source, x_grid, *, coverages=(0.5, 0.8, 0.95), dim=0, data=None, ax=None,
                   max_points=1000, names=("x", "y")):
    """Central prediction intervals of p(y_dim | x) as nested bands over a 1-D input, with
    the median: the quantiles at (1 ∓ c)/2 for each coverage c (``mixture.quantiles``).

    Parameters
    ----------
    source : fitted model, or (weights, means, scales) evaluated at ``x_grid``
    x_grid : array (G,) or (G, 1)
    coverages : sequence of floats in (0, 1)
    data : (x (N,), y (N,) or (N, D)), optional
        Points scattered over the bands (at most ``max_points`` of them).

    Returns
    -------
    matplotlib.figure.Figure
    """
    xg = _host(x_grid, "x_grid")
    weights, means, scales = _mixture_at(source, x_grid, dim)
    levels = sorted({0.5} | {(1 - c) / 2 for c in coverages} | {(1 + c) / 2 for c in coverages})
    q = mixture.quantiles(levels, _log(weights), means[:, :, dim:dim + 1],
                          scales[:, :, dim:dim + 1])
    q = dict(zip(levels, q[..., 0].T))  # level -> (G,)
    x_name, y_name = _names(names, dim, means.shape[2])
    fig, (ax,) = _axes(ax, 1, 1, panel=(6.5, 4.5))
    data = _data(data, dim)
    if data is not None:
        _scatter_data(ax, data, max_points, color="0.4")
    for c in sorted(coverages, reverse=True):  # widest first, so narrower ones sit on top
        ax.fill_between(xg, q[(1 - c) / 2], q[(1 + c) / 2], color="tab:blue",
                        alpha=0.15 + 0.25 * (1 - c), lw=0, label=f"central {c:.0%}")
    ax.plot(xg, q[0.5], color="tab:blue", lw=1.5, label="median")
    ax.set(xlabel=x_name, ylabel=y_name, title="quantile bands")
    ax.legend(fontsize=8, loc="best")
    return fig


def pit_histogram(model, X, y, *, bins=20, dim=0, ax=None):
    """Histogram of the probability integral transform F(y | x) on held-out data, with the
    flat line of a calibrated model and the band of ±2 binomial standard deviations around
    it: a U shape means intervals too narrow, a hump too wide, a slope a biased centre."""
    u = np.asarray(to_host(model.pit(X, y)), dtype=np.float64)
    u = u.reshape(len(u), -1)[:, dim]
    fig, (ax,) = _axes(ax, 1, 1, panel=(4.5, 3.5))
    n, p = len(u), 1 / bins
    ax.hist(u, bins=bins, range=(0, 1), density=True, color="tab:blue", alpha=0.7,
            label="PIT values")
    spread = 2 * np.sqrt(n * p * (1 - p)) / (n * p)  # in units of the flat density 1
    ax.axhspan(1 - spread, 1 + spread, color="0.5", alpha=0.2, lw=0, label="±2 s.d.")
    ax.axhline(1, color="k", lw=1)
    ax.set(xlim=(0, 1), xlabel="F(y | x)", ylabel="density", title=f"PIT histogram (N = {n:,})")
    ax.legend(fontsize=8, loc="lower center")
    return fig


def reliability_diagram(model, X, y, *, levels=None, dim=0, ax=None):
    """Observed coverage of the central prediction intervals against their nominal level
    (``calibration``), with the diagonal and ±2 binomial standard errors around it."""
    report = model.calibration(X, y) if levels is None else model.calibration(X, y, levels)
    observed = np.asarray(report.observed, dtype=np.float64).reshape(len(report.levels), -1)
    c = np.asarray(report.levels)
    fig, (ax,) = _axes(ax, 1, 1, panel=(4, 4))
    ax.fill_between(c, c - 2 * report.standard_error, c + 2 * report.standard_error,
                    color="0.5", alpha=0.25, lw=0, label="±2 s.e.")
    ax.plot([0, 1], [0, 1], color="k", lw=1)
    ax.plot(c, observed[:, dim], "o-", color="tab:blue", ms=4, label="observed")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="nominal coverage", ylabel="observed coverage",
           title=f"reliability (N = {report.n_samples:,})", aspect="equal")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def density_slices(sources, x_values, y_grid, *, dim=0, ax=None, names=("x", "y")):
    """p(y_dim | x) at a few chosen x as curves over y, for one or several models on one axis.

    Several x values get one colour each (and several models one line style each); a single
    x value gets one colour per model. The legend names model and x.

    Parameters
    ----------
    sources : dict {label: source}, or one source
        Each a fitted model or (weights, means, scales) evaluated at ``x_values``.
    x_values : float or array (M,)
    y_grid : array (G,)
    dim : int
    ax : Axes, optional
    names : (str, str)
        Names of the input and the target, for the axis labels, legend and title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(sources, dict):
        sources = {None: sources}
    if np.isscalar(x_values):
        x_values = [x_values]
    xv = _host(x_values, "x_values")
    yg = np.asarray(to_host(y_grid), dtype=np.float64).ravel()
    mixtures = {name: _mixture_at(source, x_values, dim) for name, source in sources.items()}
    x_name, y_name = _names(names, dim, next(iter(mixtures.values())).means.shape[2])
    fig, (ax,) = _axes(ax, 1, 1, panel=(6, 4))
    for m, (name, params) in enumerate(mixtures.items()):
        density = conditional_density(params, None, yg, dim=dim)  # (M, G)
        for i, x in enumerate(xv):
            colour, style = (i, ("-", "--", ":", "-.")[m % 4]) if len(xv) > 1 else (m, "-")
            given = f"{x_name} = {x:.3g}" if len(xv) > 1 else ""
            label = ", ".join(p for p in (name, given) if p)
            ax.plot(yg, density[i], color=f"C{colour % 10}", ls=style, lw=1.5,
                    label=label or None)
    given = f"{x_name} = {xv[0]:.3g}" if len(xv) == 1 else x_name
    ax.set(xlabel=y_name, ylabel="density", title=f"p({y_name} | {given})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig


def training_history(model, *, ax=None):
    """Training and validation loss per epoch, with the learning-rate changes marked.

    A dotted vertical line marks each first epoch trained at a new learning rate, labelled
    with that rate (changes that follow closely on a labelled one are left unlabelled).

    Parameters
    ----------
    model : fitted estimator with ``loss_curve_``, ``validation_loss_curve_`` and
        ``learning_rate_curve_`` (lists of float, one entry per epoch). With a learning-rate
        schedule the rate is drawn on a second, logarithmic axis; otherwise each change of
        the rate (a callback's) is marked by a vertical line.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    loss = getattr(model, "loss_curve_", None)
    if not loss:
        raise NotFittedError(f"this {type(model).__name__} has no training history: fit it first")
    fig, (ax,) = _axes(ax, 1, 1, panel=(6, 4))
    epochs = np.arange(1, len(loss) + 1)
    ax.plot(epochs, loss, label="training")
    validation = getattr(model, "validation_loss_curve_", [])
    if validation:
        ax.plot(epochs[:len(validation)], validation, label="validation")
    rates, labelled = list(getattr(model, "learning_rate_curve_", [])), -np.inf
    if getattr(model, "learning_rate_schedule", "constant") != "constant" and rates:
        # a schedule changes the rate every epoch: its curve, on a second axis
        twin = ax.twinx()
        twin.plot(epochs[:len(rates)], rates, color="0.5", ls=":", lw=1)
        twin.set_yscale("log")
        twin.set_ylabel("learning rate (dotted)", color="0.4")
        rates = []
    for epoch, (old, new) in enumerate(zip(rates, rates[1:]), start=2):
        if new != old:
            ax.axvline(epoch, color="0.5", ls=":", lw=1)
            if epoch - labelled >= len(loss) / 30:  # labels of changes close together overlap
                ax.text(epoch, 0.98, f" lr {new:.2g}", transform=ax.get_xaxis_transform(),
                        rotation=90, va="top", ha="left", fontsize=7, color="0.3")
                labelled = epoch
    ax.set(xlabel="epoch", ylabel="loss", title="training history")
    ax.legend(fontsize=8)
    return fig


def sample_grid(model, x, *, temperatures=(0.1, 0.5, 1.0), sigma_temperatures=(0.1, 0.5, 1.0),
                data=None, random_state=None, axes=None, dim=0, names=("x", "y")):
    """One sample per input at each (temperature, sigma_temperature) pair, as a grid of
    scatter plots: rows are weight temperatures τ, columns sigma temperatures τ_σ.

    Small τ draws from the heaviest component, small τ_σ near the component means (see
    ``mixture.sample``). Every panel uses the same random numbers, so that panels differ only
    by their temperatures. The y limits are those of the data (plus 5%), or without data the
    0.5 and 99.5 percentiles of all the samples: a far sample is clipped.

    Parameters
    ----------
    model : fitted model, or (weights, means, scales) evaluated at ``x``
    x : array (N,) or (N, 1)
    temperatures, sigma_temperatures : sequences of float >= 0
    data : (x (N',), y (N',) or (N', D)), optional
        Points drawn in grey behind the samples.
    random_state : None, int or numpy.random.Generator
    axes : sequence of len(temperatures) * len(sigma_temperatures) Axes, row by row, optional
    dim : int
    names : (str, str)
        Names of the input and the target, for the axis labels (of the outer panels).

    Returns
    -------
    matplotlib.figure.Figure
    """
    xh, params, data = _host(x, "x"), _mixture_at(model, x, dim), _data(data, dim)
    seed = np.random.default_rng(random_state).integers(2**63)
    panels = [(t, s) for t in temperatures for s in sigma_temperatures]
    drawn = [_draw(params, 1, seed, dim, t, s) for t, s in panels]
    ylim = _limits(data[1]) if data is not None else _limits(drawn, q=(0.5, 99.5))
    x_name, y_name = _names(names, dim, params.means.shape[2])
    rows, columns = len(temperatures), len(sigma_temperatures)
    fig, axes = _axes(axes, rows, columns, panel=(3.2, 2.8), sharex=True, sharey=True)
    for i, (ax, (t, s), samples) in enumerate(zip(axes, panels, drawn)):
        if data is not None:
            ax.scatter(*data, s=3, color="0.8")
        _scatter_samples(ax, xh, samples, color="tab:orange")
        ax.set(ylim=ylim, xlabel=x_name if i >= (rows - 1) * columns else "",
               ylabel=y_name if i % columns == 0 else "")
        ax.set_title(f"τ = {t:g}, τ_σ = {s:g}", fontsize=9)
    return fig
