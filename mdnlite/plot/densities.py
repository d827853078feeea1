"""Figures of p(y | x): conditional densities, heatmaps, quantile bands, slices, samples.

Each draws into the Axes it is given (or a new figure) and returns the Figure; ``source`` is
a fitted model or plain mixture parameters (weights, means, scales). ``conditional_density``
is plain NumPy; the rest import matplotlib when they draw.
"""

import numpy as np

from .. import mixture
from ..backend import to_host
from . import common

__all__ = ["conditional_density", "five_charts", "three_panels", "density_heatmap",
           "density_slices", "sample_grid", "quantile_bands", "LOG_DECADES", "FULL_WEIGHT",
           "COLOR_SCALES"]

LOG_DECADES = 4  # density_heatmap(color_scale="log") shows this many decades below the top
FULL_WEIGHT = 0.2  # five_charts draws a component fully opaque where it is at least this heavy


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
    weights, means, scales = common.mixture_at(source, x, dim)
    y = np.asarray(to_host(y_grid), dtype=np.float64).ravel()  # (G,)
    N, G = len(weights), len(y)
    # one row per (input, grid value) pair: the mixture of input n evaluated at y_g
    log_p = mixture.log_prob(np.tile(y, N)[:, None], np.repeat(common.log(weights), G, axis=0),
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
    xh, yh = common.host(x, "x"), common.host(y, "y", len(x), dim)
    model = hasattr(source, "predict_mixture")
    if x_grid is None:
        grid = np.linspace(xh.min(), xh.max(), 300) if model else xh
    else:
        grid = common.host(x_grid, "x_grid")
    params = common.mixture_at(source, grid, dim)
    if samples is not None:
        drawn = common.samples(samples, dim, len(xh))
    elif model or x_grid is None:
        drawn = common.draw(common.mixture_at(source, x, dim) if model else params, n_samples,
                      random_state, dim)
    else:
        raise ValueError("plain parameters at x_grid cannot be sampled at the data inputs: "
                         "pass samples=, or parameters at x without x_grid")
    order = np.argsort(grid)
    grid, weights, means, scales = grid[order], *(a[order] for a in params)
    means, scales = means[:, :, dim], scales[:, :, dim]  # (G, K) each
    x_name, y_name = common.names(names, dim, params.means.shape[2])
    heavy = weights.max(axis=0) >= min_weight  # (K,)
    colours = [f"C{k % 10}" if h else "0.6" for k, h in enumerate(heavy)]
    opacity = np.where(heavy, np.clip(weights / FULL_WEIGHT, 0.05, 1.0), 0.3)  # (G, K)
    shown = weights >= min(0.05, weights.max())  # lines as opaque as the legend's 5%
    fig, axes = common.axes(axes, 1, 5, panel=(3.2, 3.0), sharex=True)
    axes[0].scatter(xh, yh, s=4, alpha=0.5)
    axes[1].scatter(xh, yh, s=4, alpha=0.3, label="data")
    common.scatter_samples(axes[1], xh, drawn, color="tab:orange", label="samples")
    for ax in axes[:2]:
        ax.set_ylim(common.limits(yh))
    axes[1].legend(fontsize=8, markerscale=2)  # "best": the corner with the fewest points
    for k, colour in enumerate(colours):  # one line per component, same colours throughout
        axes[3].plot(grid, weights[:, k], color=colour, lw=1.2 if heavy[k] else 0.8)
    for ax, values in ((axes[2], means), (axes[4], scales)):
        common.faded_lines(ax, grid, values, opacity, colours)
        ax.autoscale_view(scaley=False)
    axes[2].set_ylim(common.limits(np.concatenate([yh, means[shown]])))
    axes[4].set_ylim(0, common.limits(scales[shown])[1])
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
    loc = common.free_corner(ax, np.repeat(grid, values.shape[1]), values.ravel(), opacity.ravel())
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
    xh = common.host(x, "x")
    yh = common.host(y, "y", len(xh), dim)
    if hasattr(least_squares, "predict"):
        least_squares = least_squares.predict(x)
    predicted = common.host(least_squares, "least_squares", len(xh), dim)
    if hasattr(mdn, "predict_mixture") or isinstance(mdn, tuple):
        drawn = common.draw(common.mixture_at(mdn, x, dim), 1, random_state, dim)
    else:
        drawn = common.samples(mdn, dim, len(xh))
    x_name, y_name = common.names(names, dim, 1 if np.ndim(y) == 1 else np.shape(y)[1])
    fig, axes = common.axes(axes, 1, 3, sharex=True, sharey=True)
    axes[0].scatter(xh, yh, s=4, alpha=0.3, color="tab:blue")
    axes[1].scatter(xh, predicted, s=4, alpha=0.3, color="tab:red")
    common.scatter_samples(axes[2], xh, drawn, alpha=0.3, color="tab:green")
    for ax, title in zip(axes, ("ground truth", "least squares", "MDN samples")):
        ax.set(title=title, xlabel=x_name, ylabel=y_name,
               ylim=common.limits(np.concatenate([yh, predicted])))
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
    xg, yg = common.host(x_grid, "x_grid"), np.asarray(to_host(y_grid), dtype=np.float64).ravel()
    params = common.mixture_at(source, x_grid, dim)
    density = conditional_density(params, None, yg, dim=dim)  # (G_x, G_y)
    data = common.data(data, dim)
    x_name, y_name = common.names(names, dim, params.means.shape[2])
    fig, (ax,) = common.axes(ax, 1, 1, panel=(6.5, 5))
    image, label, limits, extend = _color_scale(density, color_scale, x_name, y_name)
    mesh = ax.pcolormesh(xg, yg, image.T, shading="auto", cmap="magma", vmin=limits[0],
                         vmax=limits[1])
    # fixed to the grids: points beyond them are clipped instead of stretching the axes
    ax.set(xlim=ax.get_xlim(), ylim=(yg.min(), yg.max()))
    fig.colorbar(mesh, ax=ax, label=label, extend=extend)
    if data is not None:
        common.scatter_data(ax, data, max_points, color="tab:cyan")
    if n_samples:
        drawn = common.draw(params, n_samples, random_state, dim)
        common.scatter_samples(ax, xg, drawn, s=2, alpha=1.0, color="tab:olive",
                               label="samples")
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
        loc = common.free_corner(ax, np.repeat(xg, len(yg)), np.tile(yg, len(xg)), density.ravel())
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
    values, _, _ = mixture.modes(common.log(weights), means[:, :, dim:dim + 1],
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
    xg = common.host(x_grid, "x_grid")
    weights, means, scales = common.mixture_at(source, x_grid, dim)
    levels = sorted({0.5} | {(1 - c) / 2 for c in coverages} | {(1 + c) / 2 for c in coverages})
    q = mixture.quantiles(levels, common.log(weights), means[:, :, dim:dim + 1],
                          scales[:, :, dim:dim + 1])
    q = dict(zip(levels, q[..., 0].T))  # level -> (G,)
    x_name, y_name = common.names(names, dim, means.shape[2])
    fig, (ax,) = common.axes(ax, 1, 1, panel=(6.5, 4.5))
    data = common.data(data, dim)
    if data is not None:
        common.scatter_data(ax, data, max_points, color="0.4")
    for c in sorted(coverages, reverse=True):  # widest first, so narrower ones sit on top
        ax.fill_between(xg, q[(1 - c) / 2], q[(1 + c) / 2], color="tab:blue",
                        alpha=0.15 + 0.25 * (1 - c), lw=0, label=f"central {c:.0%}")
    ax.plot(xg, q[0.5], color="tab:blue", lw=1.5, label="median")
    ax.set(xlabel=x_name, ylabel=y_name, title="quantile bands")
    ax.legend(fontsize=8, loc="best")
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
    xv = common.host(x_values, "x_values")
    yg = np.asarray(to_host(y_grid), dtype=np.float64).ravel()
    mixtures = {name: common.mixture_at(source, x_values, dim) for name, source in sources.items()}
    x_name, y_name = common.names(names, dim, next(iter(mixtures.values())).means.shape[2])
    fig, (ax,) = common.axes(ax, 1, 1, panel=(6, 4))
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
    xh, params, data = common.host(x, "x"), common.mixture_at(model, x, dim), common.data(data, dim)
    seed = np.random.default_rng(random_state).integers(2**63)
    panels = [(t, s) for t in temperatures for s in sigma_temperatures]
    drawn = [common.draw(params, 1, seed, dim, t, s) for t, s in panels]
    ylim = common.limits(data[1]) if data is not None else common.limits(drawn, q=(0.5, 99.5))
    x_name, y_name = common.names(names, dim, params.means.shape[2])
    rows, columns = len(temperatures), len(sigma_temperatures)
    fig, axes = common.axes(axes, rows, columns, panel=(3.2, 2.8), sharex=True, sharey=True)
    for i, (ax, (t, s), samples) in enumerate(zip(axes, panels, drawn)):
        if data is not None:
            ax.scatter(*data, s=3, color="0.8")
        common.scatter_samples(ax, xh, samples, color="tab:orange")
        ax.set(ylim=ylim, xlabel=x_name if i >= (rows - 1) * columns else "",
               ylabel=y_name if i % columns == 0 else "")
        ax.set_title(f"τ = {t:g}, τ_σ = {s:g}", fontsize=9)
    return fig
