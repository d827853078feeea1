"""mdnlite.plot: each figure draws what it says from a model or from plain parameters, headless;
conditional_density against an explicit normal-pdf sum; matplotlib stays optional."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mdnlite  # noqa: E402
from mdnlite import mixture, plot  # noqa: E402
from strict_backend import strict  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 120


@pytest.fixture(scope="module")
def fitted():
    """Bishop's inverse-sine data (y multi-valued in x), an MDN and a least-squares net."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, N)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-0.1, 0.1, N)
    halve = mdnlite.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_delta=1e9)
    mdn = mdnlite.MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=5, learning_rate=1e-2, random_state=0,
                      learning_rate_schedule="constant")
    mdn.fit(x, t, validation_split=0.25, callbacks=[halve])
    ls = mdnlite.Regressor(hidden_sizes=(8,), max_epochs=3, random_state=0).fit(x, t)
    return x, t, mdn, ls


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def explicit_density(params, y_grid, dim):
    """Σ_k π_k exp(-(y - μ_k)² / 2σ_k²) / (σ_k √(2π)), written out: (N, G)."""
    w, mu, sd = (np.asarray(a, dtype=np.float64) for a in params)
    sd = np.broadcast_to(sd, mu.shape)
    out = np.zeros((len(w), len(y_grid)))
    for n in range(len(w)):
        for k in range(w.shape[1]):
            m, s = mu[n, k, dim], sd[n, k, dim]
            out[n] += w[n, k] * np.exp(-0.5 * ((y_grid - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    return out


def random_params(n, k=4, d=2, isotropic=False, seed=1):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(k), size=n)
    return w, rng.normal(size=(n, k, d)), rng.uniform(0.2, 1.0, (n, k, 1 if isotropic else d))


def sources(mdn, x):
    """The same mixture three ways: the model, its MixtureParameters, a plain tuple with the
    isotropic (N, K, 1) scale layout (this MDN is diagonal with D = 1, so both coincide)."""
    w, mu, sd = mdn.predict_mixture(x)
    return {"model": mdn, "params": mdn.predict_mixture(x), "tuple": (w, mu, sd[:, :, :1])}


def line_values(collection):
    """The y values of a line drawn as a LineCollection of segments, one per grid point."""
    segments = np.asarray(collection.get_segments())  # (G - 1, 2, 2)
    return np.append(segments[:, 0, 1], segments[-1, 1, 1])


def legend_covers(ax, x, y):
    """How many of the points (x, y) lie under the legend of ``ax``, once drawn."""
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent()
    return box.count_contains(ax.transData.transform(np.column_stack([x, y])))


def shifting_mixture(G=60):
    """Three components on a grid in [0, 1]: one with no weight anywhere, one whose weight
    grows from 0 to 1 along the grid and one that fades as it grows; means 5, x and 1 - x."""
    grid = np.linspace(0, 1, G)
    growing = np.linspace(0, 1, G)
    w = np.column_stack([np.zeros(G), growing, 1 - growing])
    mu = np.stack([np.full(G, 5.0), grid, 1 - grid], axis=1)[:, :, None]
    return grid, (w, mu, np.full((G, 3, 1), 0.05))


# --- conditional_density -------------------------------------------------------------------------

@pytest.mark.parametrize("isotropic", [False, True])
@pytest.mark.parametrize("dim", [0, 1])
def test_conditional_density_matches_explicit_pdf_sum_and_integrates_to_one(dim, isotropic):
    params = random_params(5, isotropic=isotropic)
    y_grid = np.linspace(-9, 9, 6001)
    density = plot.conditional_density(params, np.zeros(5), y_grid, dim=dim)
    assert density.shape == (5, 6001)
    np.testing.assert_allclose(density, explicit_density(params, y_grid, dim), rtol=1e-10,
                               atol=1e-300)
    np.testing.assert_allclose(np.trapezoid(density, y_grid, axis=1), 1.0, atol=1e-6)
    # the mass of [a, b] against the mixture CDF Σ π_k (Φ_k(b) - Φ_k(a)), through math.erf
    w, mu, sd = params
    sd = np.broadcast_to(sd, mu.shape)
    a, b = -0.3, 0.8
    inside = np.linspace(a, b, 1001)
    mass = np.trapezoid(plot.conditional_density(params, None, inside, dim=dim), inside, axis=1)
    for n in range(5):
        def phi(c, k):
            return 0.5 * (1 + math.erf((c - mu[n, k, dim]) / (sd[n, k, dim] * math.sqrt(2))))

        cdf = sum(w[n, k] * (phi(b, k) - phi(a, k)) for k in range(w.shape[1]))
        assert mass[n] == pytest.approx(cdf, abs=1e-6)


def test_conditional_density_of_a_model_equals_that_of_its_parameters(fitted):
    x, _, mdn, _ = fitted
    xg, y_grid = np.linspace(-0.2, 1.2, 7), np.linspace(-30, 30, 12001)
    density = plot.conditional_density(mdn, xg, y_grid)
    for source in sources(mdn, xg).values():
        np.testing.assert_allclose(plot.conditional_density(source, xg, y_grid), density)
    np.testing.assert_allclose(density, explicit_density(mdn.predict_mixture(xg), y_grid, 0),
                               rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(np.trapezoid(density, y_grid, axis=1), 1.0, atol=1e-4)


def test_conditional_density_survives_weights_that_underflowed_to_zero():
    w, mu, sd = random_params(3, d=1)
    w[:, 0], w[:, 1:] = 0.0, w[:, 1:] / w[:, 1:].sum(axis=1, keepdims=True)
    density = plot.conditional_density((w, mu, sd), None, np.linspace(-3, 3, 50))
    assert np.isfinite(density).all()


def test_device_inputs_and_a_device_model_give_the_host_figures(fitted):
    x, t, mdn, _ = fitted
    on_device = mdnlite.MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=2, backend=strict, random_state=0)
    on_device.fit(strict.asarray(x), strict.asarray(t))
    xg, y_grid = np.linspace(0, 1, 9), np.linspace(-1, 2, 31)
    density = plot.conditional_density(on_device, strict.asarray(xg), strict.asarray(y_grid))
    assert isinstance(density, np.ndarray)
    np.testing.assert_allclose(density, plot.conditional_density(on_device, xg, y_grid))
    fig = plot.density_heatmap(on_device, strict.asarray(xg), strict.asarray(y_grid),
                               n_samples=1, data=(strict.asarray(x), strict.asarray(t)))
    np.testing.assert_allclose(fig.axes[0].collections[0].get_array().reshape(31, 9),
                               (density / density.max(axis=1, keepdims=True)).T)
    assert len(plot.five_charts(on_device, strict.asarray(x), strict.asarray(t)).axes) == 5


# --- the figures ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["model", "params", "tuple"])
def test_five_charts(fitted, kind):
    x, t, mdn, _ = fitted
    # plain parameters are given at the data inputs, a model is evaluated on a wider grid
    source = sources(mdn, x)[kind] if kind != "model" else mdn
    x_grid = np.linspace(-0.5, 1.5, 50) if kind == "model" else None
    fig = plot.five_charts(source, x, t, x_grid=x_grid, n_samples=2, random_state=0)
    data, sampled, means, weights, scales = fig.axes
    assert len(fig.axes) == 5
    assert len(sampled.collections[1].get_offsets()) == 2 * N
    grid = x_grid if x_grid is not None else np.sort(x)
    w, mu, sd = mdn.predict_mixture(grid)
    weight_lines = [line for line in weights.get_lines() if line.get_linestyle() == "-"]
    np.testing.assert_allclose(np.column_stack([line.get_ydata() for line in weight_lines]), w,
                               rtol=1e-6, atol=1e-7)
    for ax, expected in ((means, mu[:, :, 0]), (scales, sd[:, :, 0])):
        assert len(ax.collections) == 3  # one faded line per component
        np.testing.assert_allclose(np.column_stack([line_values(c) for c in ax.collections]),
                                   expected, rtol=1e-6, atol=1e-7)
    # dotted lines mark where the data end only when the grid reaches beyond them
    assert len(means.get_lines()) == (2 if kind == "model" else 0)


def test_five_charts_into_given_axes_with_precomputed_samples(fitted):
    x, t, mdn, _ = fitted
    fig, axes = plt.subplots(2, 5)
    xg = np.linspace(0, 1, 40)
    samples = mdn.sample(x, 3, random_state=1)
    assert plot.five_charts(mdn.predict_mixture(xg), x, t, x_grid=xg, samples=samples,
                            axes=axes[1]) is fig
    assert len(axes[1, 1].collections[1].get_offsets()) == 3 * N
    assert not axes[0, 0].has_data() and axes[1, 0].has_data()
    with pytest.raises(ValueError, match="samples="):
        plot.five_charts(mdn.predict_mixture(xg), x, t, x_grid=xg)


@pytest.mark.parametrize("shape", [(N,), (N, 4), (N, 4, 1)])
def test_three_panels_from_arrays(fitted, shape):
    x, t, _, ls = fitted
    samples = np.random.default_rng(2).normal(size=shape)
    predictions = np.asarray(ls.predict(x))
    fig = plot.three_panels(x, t, predictions, samples)
    assert [ax.get_title() for ax in fig.axes] == ["ground truth", "least squares", "MDN samples"]
    assert len(fig.axes[2].collections[0].get_offsets()) == samples.size
    np.testing.assert_allclose(fig.axes[1].collections[0].get_offsets()[:, 1], predictions)


def test_three_panels_from_models_into_given_axes(fitted):
    x, t, mdn, ls = fitted
    fig, axes = plt.subplots(1, 3)
    assert plot.three_panels(x, t, ls, mdn, random_state=0, axes=axes) is fig
    assert len(fig.axes) == 3
    drawn = axes[2].collections[0].get_offsets()
    assert len(drawn) == N
    again = plot.three_panels(x, t, ls, mdn.predict_mixture(x), random_state=0)
    np.testing.assert_allclose(again.axes[2].collections[0].get_offsets(), drawn)


@pytest.mark.parametrize("kind", ["model", "params", "tuple"])
def test_density_heatmap(fitted, kind):
    x, t, mdn, _ = fitted
    xg, y_grid = np.linspace(-0.2, 1.2, 30), np.linspace(-0.5, 1.5, 40)
    fig = plot.density_heatmap(sources(mdn, xg)[kind], xg, y_grid, data=(x, t), n_samples=2,
                               random_state=0)
    ax, colorbar = fig.axes
    image = ax.collections[0].get_array().reshape(40, 30)
    density = plot.conditional_density(mdn, xg, y_grid).T  # (G_y, G_x)
    np.testing.assert_allclose(image, density / density.max(axis=0))  # column by column
    mode, mean = ax.get_lines()
    np.testing.assert_allclose(mode.get_ydata(), np.asarray(mdn.predict_approx_mode(xg)),
                               rtol=1e-6)
    np.testing.assert_allclose(mean.get_ydata(), np.asarray(mdn.predict(xg)), rtol=1e-5,
                               atol=1e-6)
    assert [len(c.get_offsets()) for c in ax.collections[1:]] == [N, 60]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "data", "samples", "approximate mode", "conditional mean"]


def test_density_heatmap_colour_scales_show_narrow_and_wide_columns():
    # the spread grows 100-fold along x: on a shared linear scale the wide end is black
    grid = np.linspace(0, 1, 6)
    sd = 0.002 * 100.0 ** grid
    params = (np.ones((6, 1)), np.zeros((6, 1, 1)), sd[:, None, None])
    y_grid = np.linspace(-0.5, 0.5, 2001)
    density = plot.conditional_density(params, None, y_grid)  # (6, G_y)

    def drawn(scale):
        fig = plot.density_heatmap(params, grid, y_grid, color_scale=scale, show_mean=False,
                                   show_mode=False)
        mesh = fig.axes[0].collections[0]
        return mesh.get_array().reshape(len(y_grid), 6), mesh.get_clim(), fig.axes[1]

    column, limits, bar = drawn("column")
    np.testing.assert_allclose(column.max(axis=0), 1.0)  # every x reaches the top colour
    np.testing.assert_allclose(column, (density / density.max(axis=1, keepdims=True)).T)
    assert limits == (0.0, 1.0) and bar.get_ylabel() == "p(y | x) / its maximum"
    linear, limits, _ = drawn("linear")
    np.testing.assert_allclose(linear, density.T)
    assert limits[1] == pytest.approx(np.quantile(density, 0.995))
    assert linear[:, -1].max() < 0.1 * limits[1]  # the widest column: all but black
    log, limits, bar = drawn("log")
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(log, np.log10(density.T))
    top = np.log10(density.max())
    assert limits == pytest.approx((top - plot.LOG_DECADES, top))
    assert bar.get_ylabel() == "log10 p(y | x)"
    with pytest.raises(ValueError, match="color_scale must be one of"):
        plot.density_heatmap(params, grid, y_grid, color_scale="sqrt")


def test_density_heatmap_into_given_axes_without_overlays(fitted):
    _, _, mdn, _ = fitted
    fig, (left, right) = plt.subplots(1, 2)
    out = plot.density_heatmap(mdn, np.linspace(0, 1, 5), np.linspace(0, 1, 6), ax=right,
                               show_mean=False, show_mode=False)
    assert out is fig and len(fig.axes) == 3  # the colour bar joins the figure
    assert not left.has_data() and not right.get_lines() and right.get_legend() is None


def test_density_slices_several_models_share_one_axis(fitted):
    _, _, mdn, _ = fitted
    xv, y_grid = np.array([0.1, 0.5, 0.9]), np.linspace(-1, 2, 101)
    fig = plot.density_slices({"MDN": mdn, "parameters": mdn.predict_mixture(xv)}, xv, y_grid)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 6
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        f"{name}, x = {v:g}" for name in ("MDN", "parameters") for v in xv]
    # one colour per x value, one line style per model
    assert lines[0].get_color() == lines[3].get_color() != lines[1].get_color()
    assert lines[0].get_linestyle() != lines[3].get_linestyle()
    density = plot.conditional_density(mdn, xv, y_grid)
    for i, line in enumerate(lines):
        np.testing.assert_allclose(line.get_ydata(), density[i % 3])


def test_density_slices_one_x_into_given_axis(fitted):
    _, _, mdn, _ = fitted
    fig, ax = plt.subplots()
    xv = np.array([0.5])
    out = plot.density_slices({"a": mdn, "b": mdn.predict_mixture(xv)}, xv,
                              np.linspace(0, 1, 11), ax=ax)
    assert out is fig and len(fig.axes) == 1
    first, second = ax.get_lines()
    assert first.get_color() != second.get_color()  # one colour per model
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]


def test_training_history_marks_learning_rate_changes(fitted):
    _, _, mdn, _ = fitted
    rates = mdn.learning_rate_curve_
    changes = [e + 1 for e in range(1, len(rates)) if rates[e] != rates[e - 1]]
    assert changes and rates[-1] < rates[0]  # the callback really did lower the rate
    fig, ax = plt.subplots()
    assert plot.training_history(mdn, ax=ax) is fig and len(fig.axes) == 1
    training, validation, *markers = ax.get_lines()
    np.testing.assert_allclose(training.get_ydata(), mdn.loss_curve_)
    np.testing.assert_allclose(validation.get_ydata(), mdn.validation_loss_curve_)
    assert [line.get_xdata()[0] for line in markers] == changes
    new_rates = [rates[e - 1] for e in changes]
    assert [text.get_text() for text in ax.texts] == [f" lr {r:.2g}" for r in new_rates]


def test_training_history_of_a_regressor_without_validation(fitted):
    *_, ls = fitted
    fig = plot.training_history(ls)  # its cosine schedule: the rate on a second axis
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 1 and not fig.axes[0].texts
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), ls.learning_rate_curve_)
    with pytest.raises(mdnlite.NotFittedError, match="fit it first"):
        plot.training_history(mdnlite.MDN())


@pytest.mark.parametrize("kind", ["model", "params"])
def test_sample_grid(fitted, kind):
    x, t, mdn, _ = fitted
    fig = plot.sample_grid(sources(mdn, x)[kind], x, data=(x, t), random_state=0)
    assert len(fig.axes) == 9
    assert fig.axes[1].get_title() == "τ = 0.1, τ_σ = 0.5"
    assert all(len(ax.collections[1].get_offsets()) == N for ax in fig.axes)


def test_sample_grid_at_zero_temperatures_draws_the_approximate_mode(fitted):
    x, _, mdn, _ = fitted
    fig, axes = plt.subplots(1, 2)
    assert plot.sample_grid(mdn, x, temperatures=(0,), sigma_temperatures=(0, 1), axes=axes,
                            random_state=0) is fig
    mode = np.asarray(mdn.predict_approx_mode(x))
    np.testing.assert_allclose(axes[0].collections[0].get_offsets()[:, 1], mode, rtol=1e-6)
    assert not np.allclose(axes[1].collections[0].get_offsets()[:, 1], mode)


def test_sample_grid_panels_share_their_random_numbers(fitted):
    x, _, mdn, _ = fitted
    fig = plot.sample_grid(mdn, x, temperatures=(1,), sigma_temperatures=(0, 0.25, 1),
                           random_state=3)
    # the same components and the same ε in every panel: y = μ + sqrt(τ_σ) σ ε
    at_mean, half, full = (ax.collections[0].get_offsets()[:, 1] for ax in fig.axes)
    np.testing.assert_allclose(full - at_mean, 2 * (half - at_mean), rtol=1e-9, atol=1e-12)


def test_density_slices_of_one_source_at_one_x(fitted):
    _, _, mdn, _ = fitted
    fig = plot.density_slices(mdn, 0.5, np.linspace(0, 1, 11))
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 1 and ax.get_legend() is None
    assert ax.get_title() == "p(y | x = 0.5)"


# --- what the figures must not mislead about ------------------------------------------------

def test_every_figure_names_the_input_and_the_target(fitted):
    x, t, mdn, ls = fitted
    names, xv, y_grid = ("t", "x"), [0.2, 0.8], np.linspace(-0.5, 1.5, 20)
    five = plot.five_charts(mdn, x, t, random_state=0, names=names)
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in five.axes] == [
        ("t", "x"), ("t", "x"), ("t", "μ_k"), ("t", "π_k"), ("t", "σ_k")]
    assert [ax.get_title() for ax in five.axes[2:]] == ["means μ_k(t)", "weights π_k(t)",
                                                      "scales σ_k(t)"]
    for ax in plot.three_panels(x, t, ls, mdn, random_state=0, names=names).axes:
        assert (ax.get_xlabel(), ax.get_ylabel()) == names
    image, colorbar = plot.density_heatmap(mdn, xv, y_grid, names=names).axes
    assert (image.get_xlabel(), image.get_ylabel(), colorbar.get_ylabel()) == (
        "t", "x", "p(x | t) / its maximum")
    (slices,) = plot.density_slices({"MDN": mdn}, xv, y_grid, names=names).axes
    assert (slices.get_xlabel(), slices.get_title()) == ("x", "p(x | t)")
    assert [text.get_text() for text in slices.get_legend().get_texts()] == [
        "MDN, t = 0.2", "MDN, t = 0.8"]
    grid = plot.sample_grid(mdn, x, temperatures=(0.5, 1), sigma_temperatures=(0.5, 1),
                            names=names, random_state=0).axes
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in grid] == [
        ("", "x"), ("", ""), ("t", "x"), ("t", "")]  # the outer panels only
    # a second target dimension is named by its index
    w, mu, sd = random_params(5)
    assert plot.density_heatmap((w, mu, sd), np.linspace(0, 1, 5), y_grid, dim=1,
                                names=names).axes[0].get_ylabel() == "x[1]"


def test_five_charts_fade_the_means_and_scales_where_a_component_has_no_weight():
    grid, params = shifting_mixture()
    fig = plot.five_charts(params, grid, grid, samples=np.tile(grid[:, None], 2))
    data, sampled, means, weights, scales = fig.axes
    for ax in (means, scales):
        empty, growing, fading = (c.get_colors() for c in ax.collections)  # (G - 1, 4) each
        # the component without weight is grey and faint all along; the others are coloured
        assert np.allclose(empty[:, :3], matplotlib.colors.to_rgb("0.6"))
        assert (empty[:, 3] <= 0.3).all()
        assert not np.allclose(growing[:, :3], empty[:, :3])
        # opacity follows the weight at each x: faint where π_k is 0, opaque where it is 1
        assert growing[0, 3] < 0.1 and growing[-1, 3] == 1.0
        assert (np.diff(growing[:, 3]) >= 0).all() and (np.diff(fading[:, 3]) <= 0).all()
        np.testing.assert_allclose(growing[:, 3], fading[::-1, 3])
    assert weights.get_lines()[0].get_color() == "0.6"
    labels = [text.get_text() for text in means.get_legend().get_texts()]
    assert labels == ["π_k ≥ 20%", "π_k = 5%", "π_k < 1% everywhere"]
    # the mean at 5 of the component without weight does not stretch the means chart
    assert means.get_ylim()[1] < 1.2
    # with every component above min_weight somewhere, nothing is grey and the key says so
    fig = plot.five_charts(params, grid, grid, samples=grid, min_weight=0)
    assert not np.allclose(fig.axes[2].collections[0].get_colors()[:, :3],
                           matplotlib.colors.to_rgb("0.6"))
    assert len(fig.axes[2].get_legend().get_texts()) == 2


def test_legends_sit_where_they_cover_no_data():
    grid, params = shifting_mixture()
    # the means run along both diagonals; the legend goes to a corner free of heavy lines
    fig = plot.five_charts(params, grid, grid, samples=grid)
    w, mu, _ = params
    heavy = w >= 0.25
    assert legend_covers(fig.axes[2], np.tile(grid[:, None], 3)[heavy], mu[:, :, 0][heavy]) == 0
    # a density along y = x: the legend goes upper left or lower right, over no data
    x = np.random.default_rng(0).uniform(0, 1, 500)
    band = (np.ones((60, 1)), grid[:, None, None], np.full((60, 1, 1), 0.05))
    ax = plot.density_heatmap(band, grid, np.linspace(0, 1, 50), data=(x, x)).axes[0]
    assert legend_covers(ax, x, x) == 0
    assert legend_covers(ax, grid, grid) == 0  # nor the conditional mean


def test_far_samples_are_clipped_not_stretching_the_axes(fitted):
    x, t, mdn, ls = fitted
    samples = np.asarray(mdn.sample(x, 2, random_state=0))
    samples[7, 1] = 1e6
    low, high = t.min(), t.max()
    span = high - low

    def unstretched(ax):
        bottom, top = ax.get_ylim()
        return low - 0.1 * span < bottom <= low and high <= top < high + 0.1 * span

    five = plot.five_charts(mdn, x, t, samples=samples)
    assert unstretched(five.axes[1]) and unstretched(five.axes[0])
    assert five.axes[1].collections[1].get_offsets()[:, 1].max() == 1e6  # drawn, then clipped
    assert all(unstretched(ax) for ax in plot.three_panels(x, t, t, samples).axes)
    # sample_grid: limits from the data, or without data from the bulk of the samples
    w, mu, sd = mdn.predict_mixture(x)
    mu[7] = 1e6  # every panel draws one sample there
    grid = plot.sample_grid((w, mu, sd), x, data=(x, t), random_state=0)
    assert all(unstretched(ax) for ax in grid.axes)
    many = np.linspace(0, 1, 400)  # one far input in 400: under the top 0.5% of the samples
    w, mu, sd = mdn.predict_mixture(many)
    mu[7] = 1e6
    grid = plot.sample_grid((w, mu, sd), many, random_state=0)
    assert all(ax.get_ylim()[1] < 10 for ax in grid.axes)
    # the heat map spans its grids, whatever the data and the samples
    xg, y_grid = np.linspace(0, 1, 10), np.linspace(-0.5, 1.5, 20)
    ax = plot.density_heatmap(mdn, xg, y_grid, data=(np.append(x, 9.0), np.append(t, 1e6)),
                              n_samples=3, random_state=0).axes[0]
    assert ax.get_ylim() == (-0.5, 1.5) and -0.1 < ax.get_xlim()[0] < ax.get_xlim()[1] < 1.1


def test_density_heatmap_draws_a_seeded_subsample_of_many_data_points(fitted):
    *_, mdn, _ = fitted
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 1, 5000), rng.uniform(0, 1, 5000)
    xg, y_grid = np.linspace(0, 1, 8), np.linspace(0, 1, 9)

    def drawn(**kw):
        ax = plot.density_heatmap(mdn, xg, y_grid, data=(x, y), show_mean=False,
                                  show_mode=False, **kw).axes[0]
        return ax.collections[1].get_offsets(), ax.get_legend().get_texts()[0].get_text()

    points, label = drawn()
    assert len(points) == 1000 and label == "data (1,000 of 5,000)"
    order = np.argsort(x)
    rows = order[np.searchsorted(x[order], points[:, 0])]  # the data rows drawn, each once
    assert len(np.unique(rows)) == 1000
    np.testing.assert_array_equal(points, np.column_stack([x, y])[rows])  # pairs kept together
    np.testing.assert_array_equal(drawn()[0], points)  # the same subsample every time
    assert len(drawn(max_points=300)[0]) == 300
    points, label = drawn(max_points=None)
    assert len(points) == 5000 and label == "data"


# --- bad input and the optional dependency -------------------------------------------------------

def test_bad_input_gives_clear_errors(fitted):
    x, t, mdn, _ = fitted
    w, mu, sd = mdn.predict_mixture(x)
    with pytest.raises(ValueError, match="axes must hold 5 Axes"):
        plot.five_charts(mdn, x, t, axes=plt.subplots(1, 4)[1])
    plt.close("all")
    with pytest.raises(ValueError, match="one input feature"):
        plot.three_panels(np.ones((N, 2)), t, t, t)
    with pytest.raises(TypeError, match="predict_mixture"):
        plot.conditional_density("model", x, [0.0])
    with pytest.raises(ValueError, match="evaluated at these inputs"):
        plot.density_heatmap((w, mu, sd), np.linspace(0, 1, 7), np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="mixture parameters must be"):
        plot.conditional_density((w, mu, sd[:, :2]), x, [0.0])
    with pytest.raises(ValueError, match="dim must be in"):
        plot.conditional_density(mdn, x, [0.0], dim=1)
    with pytest.raises(ValueError, match="samples must be"):
        plot.three_panels(x, t, t, np.ones((N - 1, 2)))
    assert not plt.get_fignums()  # refused before any figure was made


def test_importing_the_module_does_not_import_matplotlib():
    code = "import sys, mdnlite.plot; assert 'matplotlib' not in sys.modules, 'imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr


def test_without_matplotlib_a_figure_is_one_clear_import_error(fitted, monkeypatch):
    x, t, mdn, _ = fitted
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'mdnlite\[plot\]'"):
        plot.five_charts(mdn, x, t)
    assert plot.conditional_density(mdn, x[:3], [0.0, 1.0]).shape == (3, 2)  # no matplotlib


# --- the predictive distribution's figures ---------------------------------------------------


def test_density_heatmap_draws_the_strong_true_modes(fitted):
    _, _, mdn, _ = fitted
    xg = np.linspace(0.0, 1.0, 25)
    fig = plot.density_heatmap(mdn, xg, np.linspace(-0.5, 1.5, 40), show_mode=False,
                               show_mean=False, show_modes=True)
    (line,) = fig.axes[0].get_lines()
    # like with like: the figure finds the modes of the float64 mixture the model predicts
    w, mu, s = mdn.predict_mixture(xg)
    values, _, count = mixture.modes(np.log(w), mu, s)
    drawn = line.get_ydata().reshape(len(xg), -1)
    np.testing.assert_array_equal(drawn, values[..., 0])
    # and predict_modes (float32 here) finds the same modes, to its solver's tolerance
    modes = mdn.predict_modes(xg)
    np.testing.assert_array_equal(modes.count, count)
    np.testing.assert_allclose(modes.values, values[..., 0], atol=1e-4, equal_nan=True)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["modes"]


def test_quantile_bands_are_the_models_quantiles(fitted):
    x, t, mdn, _ = fitted
    xg = np.linspace(0.0, 1.0, 20)
    fig = plot.quantile_bands(mdn, xg, coverages=(0.5, 0.9), data=(x, t))
    ax = fig.axes[0]
    (median,) = ax.get_lines()
    # the figure works in float64 on the float32 parameters: rounding apart
    np.testing.assert_allclose(median.get_ydata(), mdn.predict_quantiles(xg, 0.5), rtol=1e-5)
    wide = ax.collections[1].get_paths()[0].vertices  # the 90% band, drawn first
    q = mdn.predict_quantiles(xg, [0.05, 0.95])
    assert np.isclose(wide[:, 1].min(), q[:, 0].min()) and np.isclose(wide[:, 1].max(),
                                                                      q[:, 1].max())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "data", "central 90%", "central 50%", "median"]


def test_pit_histogram_and_reliability_diagram(fitted):
    x, t, mdn, _ = fitted
    fig = plot.pit_histogram(mdn, x, t, bins=10)
    heights = [p.get_height() for p in fig.axes[0].patches[:10]]  # then the ±2 s.d. band
    expected, _ = np.histogram(mdn.pit(x, t), bins=10, range=(0, 1), density=True)
    np.testing.assert_allclose(heights, expected)
    fig = plot.reliability_diagram(mdn, x, t, levels=(0.2, 0.5, 0.8))
    (diagonal, observed) = fig.axes[0].get_lines()
    np.testing.assert_allclose(observed.get_xdata(), [0.2, 0.5, 0.8])
    np.testing.assert_allclose(observed.get_ydata(), mdn.calibration(x, t, (0.2, 0.5, 0.8)).observed)


def test_the_predictive_figures_draw_a_strict_backend_model(fitted):
    x, t, _, _ = fitted
    mdn = mdnlite.MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=3, random_state=0,
                      backend=strict).fit(x, t)
    xg = np.linspace(0.0, 1.0, 10)
    plot.quantile_bands(mdn, xg, data=(x, t))
    plot.density_heatmap(mdn, xg, np.linspace(-0.5, 1.5, 20), show_modes=True)
    plot.pit_histogram(mdn, x, t)
    plot.reliability_diagram(mdn, x, t)
