"""The predictive distribution: CDF, quantiles, intervals, true modes, CRPS, PIT, calibration.

Oracles written elsewhere: scipy (normal CDF and PDF, root finding, quadrature, KS test) and
scoringrules (the CRPS of a normal mixture). Every function also runs on the strict backend.
"""

import math

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, GaussianMixture, Regressor, datasets, mixture
from mdnlite.mixture import meanshift, special
from mdnlite.backend import to_host
from strict_backend import strict

stats = pytest.importorskip("scipy.stats")
optimize = pytest.importorskip("scipy.optimize")
integrate = pytest.importorskip("scipy.integrate")


def random_mixtures(N=40, K=4, D=1, kind="diagonal", seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(N, K))
    log_weights = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    means = rng.normal(size=(N, K, D)) * spread
    if kind == "full":
        scales = np.tril(rng.normal(size=(N, K, D, D)) * 0.3, -1)
        idx = np.arange(D)
        scales[..., idx, idx] = rng.uniform(0.2, 1.5, size=(N, K, D))
    else:
        scales = rng.uniform(0.2, 1.5, size=(N, K, 1 if kind == "isotropic" else D))
    return log_weights, means, scales


def marginal_sd(means, scales):
    if scales.ndim == means.ndim + 1:
        return np.sqrt((scales ** 2).sum(axis=-1))
    return np.broadcast_to(scales, means.shape)


def oracle_cdf(y, log_weights, means, scales):
    sd = marginal_sd(means, scales)
    return (np.exp(log_weights)[..., None] * stats.norm.cdf(y[:, None, :], means, sd)).sum(1)


# --- special functions ----------------------------------------------------------------------


def test_erfc_and_ndtr_against_scipy():
    x = np.concatenate([np.linspace(-37, 37, 20001), [0.0, 1e-300, -1e-300, 26.5, -26.5]])
    # Φ and φ at x move by x² relative to x's own rounding (x φ/Φ ~ x² in the tail): two
    # correct implementations differ by up to a few eps (1 + x²)
    bound = 4 * np.finfo(float).eps * (1 + x * x)
    for ours, theirs in [(special.ndtr(x), stats.norm.cdf(x)),
                         (special.normal_pdf(x), stats.norm.pdf(x)),
                         (special.erfc(x / 8), __import__("scipy.special").special.erfc(x / 8))]:
        assert (np.abs(ours - theirs) <= bound * theirs).all()
    assert special.ndtr(np.array([-40.0]))[0] == 0 and special.ndtr(np.array([40.0]))[0] == 1
    assert np.isnan(special.ndtr(np.array([np.nan]))).all()


# --- CDF and quantiles ----------------------------------------------------------------------


@pytest.mark.parametrize("kind, D", [("diagonal", 1), ("isotropic", 2), ("diagonal", 3),
                                     ("full", 2)])
def test_cdf_matches_scipy(kind, D):
    lw, mu, s = random_mixtures(D=D, kind=kind)
    y = np.random.default_rng(1).normal(size=(lw.shape[0], D)) * 3
    np.testing.assert_allclose(mixture.cdf(y, lw, mu, s), oracle_cdf(y, lw, mu, s),
                               rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("kind, D", [("diagonal", 1), ("full", 2)])
def test_quantiles_invert_the_cdf_and_match_brentq(kind, D):
    lw, mu, s = random_mixtures(D=D, kind=kind)
    levels = [1e-6, 0.01, 0.25, 0.5, 0.75, 0.99, 1 - 1e-6]
    q = mixture.quantiles(levels, lw, mu, s)  # (N, Q, D)
    assert q.shape == (lw.shape[0], len(levels), D)
    for j, level in enumerate(levels):
        F = mixture.cdf(q[:, j], lw, mu, s)
        np.testing.assert_allclose(F, level, rtol=1e-9)
    for n in range(0, lw.shape[0], 7):  # brute force on a few rows
        for d in range(D):
            for j, level in enumerate(levels):
                f = lambda t: oracle_cdf(np.full((1, D), t), lw[n:n + 1], mu[n:n + 1],
                                         s[n:n + 1])[0, d] - level
                root = optimize.brentq(f, -60, 60, xtol=1e-14, rtol=1e-15)
                assert abs(q[n, j, d] - root) <= 1e-6 * max(1.0, abs(root))


def test_quantiles_are_monotone_in_the_level():
    lw, mu, s = random_mixtures(N=100, K=6)
    q = mixture.quantiles(np.linspace(0.001, 0.999, 57), lw, mu, s)[..., 0]
    assert (np.diff(q, axis=1) > 0).all()


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, [0.5, 1.5], [], float("nan")])
def test_levels_outside_zero_one_are_refused(bad):
    lw, mu, s = random_mixtures(N=3)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        mixture.quantiles(bad, lw, mu, s)


# --- intervals ------------------------------------------------------------------------------


def mixture_pdf(t, lw, mu, s):
    return float((np.exp(lw) * stats.norm.pdf(t, mu[:, 0], s[:, 0])).sum())


def test_central_interval_has_its_mass():
    lw, mu, s = random_mixtures()
    lower, upper = mixture.central_interval(0.8, lw, mu, s)
    mass = mixture.cdf(upper, lw, mu, s) - mixture.cdf(lower, lw, mu, s)
    np.testing.assert_allclose(mass, 0.8, rtol=1e-10)


@pytest.mark.parametrize("coverage", [0.5, 0.9, 0.99])
def test_highest_density_region_has_its_mass_and_is_shortest(coverage):
    lw, mu, s = random_mixtures(N=25, K=4, spread=4.0)
    intervals, threshold = mixture.highest_density_intervals(coverage, lw, mu, s)
    lower, upper = mixture.central_interval(coverage, lw, mu, s)
    n_multiple = 0
    for n in range(lw.shape[0]):
        rows = intervals[n][~np.isnan(intervals[n, :, 0])]
        n_multiple += len(rows) > 1
        assert (rows[:, 0] < rows[:, 1]).all() and (rows[1:, 0] > rows[:-1, 1]).all()
        mass = sum(integrate.quad(mixture_pdf, a, b, args=(lw[n], mu[n], s[n]),
                                  epsabs=1e-13, epsrel=1e-12, limit=200)[0] for a, b in rows)
        assert abs(mass - coverage) < 1e-8
        for end in rows.ravel():  # the density is the threshold at every end
            assert math.isclose(mixture_pdf(end, lw[n], mu[n], s[n]), threshold[n],
                                rel_tol=1e-7)
        assert (rows[:, 1] - rows[:, 0]).sum() <= upper[n, 0] - lower[n, 0] + 1e-9
    assert n_multiple > 0  # the draw has multimodal rows with unions of intervals


def test_highest_density_region_of_two_separated_components():
    lw = np.log([[0.5, 0.5]])
    mu, s = np.array([[[-10.0], [10.0]]]), np.ones((1, 2, 1))
    intervals, _ = mixture.highest_density_intervals(0.9, lw, mu, s)
    z = stats.norm.ppf(0.95)  # each half holds 0.45 of its own 0.5
    np.testing.assert_allclose(intervals[0, :2], [[-10 - z, -10 + z], [10 - z, 10 + z]],
                               atol=1e-9)


def test_highest_density_region_keeps_a_narrow_light_component():
    # the second peak is under 5% of the first's density: no mode to report, but the
    # highest-density region of 99.5% still has a stretch around it
    lw, mu, s = np.log([[0.99, 0.01]]), np.array([[[0.0], [8.0]]]), np.array([[[1.0], [0.3]]])
    assert mixture.modes(lw, mu, s)[2][0] == 1
    intervals, threshold = mixture.highest_density_intervals(0.995, lw, mu, s)
    kept = intervals[0][~np.isnan(intervals[0, :, 0])]
    assert len(kept) == 2 and kept[0, 1] < 4 < kept[1, 0] < 8 < kept[1, 1]
    grid = np.linspace(-8, 12, 200001)
    p = np.exp(mixture.log_prob(grid[:, None], np.repeat(lw, len(grid), 0),
                                np.repeat(mu, len(grid), 0), np.repeat(s, len(grid), 0)))
    inside = ((grid[:, None] >= kept[:, 0]) & (grid[:, None] <= kept[:, 1])).any(axis=1)
    np.testing.assert_allclose(p[inside].sum() * (grid[1] - grid[0]), 0.995, atol=1e-4)


# --- true modes -----------------------------------------------------------------------------


def test_modes_of_known_mixtures():
    lw = np.log(np.full((3, 2), 0.5))
    mu = np.array([[[-3.0], [3.0]], [[-0.5], [0.5]], [[0.0], [0.0]]])
    s = np.ones((3, 2, 1))
    values, log_density, count = mixture.modes(lw, mu, s)
    assert count.tolist() == [2, 1, 1]
    np.testing.assert_allclose(np.sort(values[0, :2, 0]), [-3, 3], atol=1e-3)
    np.testing.assert_allclose(values[1:, 0, 0], [0, 0], atol=1e-12)
    assert np.isneginf(log_density[1:, 1]).all() and np.isnan(values[1:, 1]).all()


def grad_log_p(x, lw, mu, s, h=1e-6):
    """Central differences of log p along each axis at points x (N, D)."""
    out = np.empty_like(x)
    for d in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[d] = h
        out[:, d] = (mixture.log_prob(x + e, lw, mu, s) - mixture.log_prob(x - e, lw, mu, s)) / (2 * h)
    return out


@pytest.mark.parametrize("kind, D", [("diagonal", 1), ("isotropic", 2), ("diagonal", 2),
                                     ("full", 2), ("full", 3)])
def test_every_mode_is_a_stationary_maximum_ranked_by_density(kind, D):
    lw, mu, s = random_mixtures(N=30, K=4, D=D, kind=kind)
    values, log_density, count = mixture.modes(lw, mu, s)
    assert (count >= 1).all()
    for n in range(lw.shape[0]):
        x = values[n, :count[n]]
        assert np.isfinite(x).all() and np.isnan(values[n, count[n]:]).all()
        g = grad_log_p(x, lw[[n] * len(x)], mu[[n] * len(x)], s[[n] * len(x)])
        assert np.abs(g).max() < 1e-5 / marginal_sd(mu[n], s[n]).min()
        np.testing.assert_allclose(log_density[n, :count[n]],
                                   mixture.log_prob(x, lw[[n] * len(x)], mu[[n] * len(x)],
                                                    s[[n] * len(x)]), rtol=1e-12)
        assert (np.diff(log_density[n, :count[n]]) <= 0).all()
    np.testing.assert_array_equal(mixture.mode(lw, mu, s), values[:, 0])


def test_one_dimensional_modes_agree_with_a_grid():
    lw, mu, s = random_mixtures(N=300, K=5, spread=2.0, seed=3)
    _, _, count = mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0)  # all
    values, _, prominent = mixture.modes(lw, mu, s, min_prominence=0.3, min_density_ratio=0)
    _, _, dense = mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0.2)
    grid = np.linspace(-15, 15, 60001)
    for n in range(lw.shape[0]):  # the normal pdf written out: scipy's costs 3 times as much
        z = (grid[:, None] - mu[n, :, 0]) / s[n, :, 0]
        p = (np.exp(lw[n]) * np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * s[n, :, 0])).sum(1)
        peaks = np.flatnonzero((p[1:-1] > p[:-2]) & (p[1:-1] > p[2:])) + 1
        assert count[n] == len(peaks)
        # prominence on the grid: the density must fall below 70% of a peak's on the way to
        # every higher (or equal, earlier-ranked) peak, or to the ends
        kept = []
        for i in peaks:
            cols = []
            for side in (p[i::-1], p[i:]):
                higher = np.flatnonzero(side > p[i])
                cols.append(side[:higher[0]].min() if len(higher) else 0.0)
            if 1 - max(cols) / p[i] >= 0.3:
                kept.append(grid[i])
        assert prominent[n] == len(kept)
        np.testing.assert_allclose(np.sort(values[n, :prominent[n], 0]), kept, atol=1e-3)
        assert dense[n] == (p[peaks] >= 0.2 * p[peaks].max()).sum()


@pytest.fixture(scope="module")
def inverse_sine_model():
    X, y = datasets.inverse_sine(2000, direction="inverse", random_state=0)
    return MDN(5, max_epochs=400, random_state=0, verbose=0).fit(X, y)


def branches(x):
    """Every t with t + 0.3 sin(2πt) = x (the inverse sine's forward map)."""
    t = np.linspace(-0.2, 1.2, 14001)
    f = t + 0.3 * np.sin(2 * np.pi * t) - x
    return t[:-1][np.sign(f[:-1]) != np.sign(f[1:])]


def test_ripples_of_a_flat_top_are_not_modes():
    # eight equal components 1.9 σ apart: a plateau with shallow ripples on it
    K = 8
    lw, mu, s = np.full((1, K), -math.log(K)), np.linspace(0, 7 * 1.9, K)[None, :, None], \
        np.ones((1, K, 1))
    assert mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0)[2][0] == 8
    x, log_p, count = mixture.modes(lw, mu, s)
    assert count[0] == 1 and mu[0, 0, 0] < x[0, 0, 0] < mu[0, -1, 0]
    np.testing.assert_allclose(mixture.mode(lw, mu, s), x[:, 0])  # the highest is kept
    values, heights, _ = mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0)
    prominence = meanshift.prominence(lw, mu, s, values, heights)
    assert np.nanmax(prominence[0, 1:]) < 0.05 and prominence[0, 0] == 1.0


@pytest.mark.parametrize("apart, expected", [(3.3, 1), (3.5, 2), (8.0, 2)])
def test_two_equal_gaussians_count_as_two_modes_from_3_4_scales_apart(apart, expected):
    lw, mu, s = np.log([[0.5, 0.5]]), np.array([[[0.0], [apart]]]), np.ones((1, 2, 1))
    assert mixture.modes(lw, mu, s)[2][0] == expected
    assert mixture.modes(lw, mu, s, min_prominence=0)[2][0] == 2  # two maxima from 2 σ


def test_a_bump_of_no_weight_far_out_is_not_a_mode():
    lw, mu, s = np.log([[1 - 1e-6, 1e-6]]), np.array([[[0.0], [50.0]]]), np.ones((1, 2, 1))
    x, _, count = mixture.modes(lw, mu, s)
    assert count[0] == 1 and abs(x[0, 0, 0]) < 1e-6
    assert mixture.modes(lw, mu, s, min_density_ratio=0)[2][0] == 2  # prominence 1: kept
    assert mixture.modes(lw, mu, s, min_density_ratio=1e-7)[2][0] == 2


def test_prominence_in_two_dimensions_follows_the_dip_between_the_modes():
    # two round bumps 4 σ apart (a deep dip) and, in a second mixture, 2.6 σ apart (shallow)
    lw = np.log([[0.6, 0.4], [0.6, 0.4]])
    mu = np.array([[[0.0, 0.0], [4.0, 0.0]], [[0.0, 0.0], [2.6, 0.0]]])
    s = np.ones((2, 2, 2))
    values, heights, count = mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0)
    assert list(count) == [2, 2]
    prominence = meanshift.prominence(lw, mu, s, values, heights)
    # on the line between the two modes the lowest density is the col (by symmetry)
    for n in range(2):
        line = values[n, 0] + np.linspace(0, 1, 20001)[:, None] * (values[n, 1] - values[n, 0])
        log_p = mixture.log_prob(line, lw[[n] * len(line)], mu[[n] * len(line)],
                                 s[[n] * len(line)])
        np.testing.assert_allclose(prominence[n, 1], 1 - np.exp(log_p.min() - heights[n, 1]),
                                   rtol=1e-6)
    assert list(mixture.modes(lw, mu, s)[2]) == [2, 1]


def test_modes_in_blocks_of_rows_are_the_modes_of_all_rows_at_once(monkeypatch):
    lw, mu, s = random_mixtures(N=60, K=6, spread=2.0, seed=5)
    whole = mixture.modes(lw, mu, s)
    monkeypatch.setattr(meanshift, "MODES_BLOCK", 200)  # blocks of a few rows
    monkeypatch.setattr(meanshift, "PROMINENCE_BLOCK", 2000)
    for a, b in zip(mixture.modes(lw, mu, s), whole):
        np.testing.assert_array_equal(a, b)


def test_mode_thresholds_are_checked():
    lw, mu, s = np.log([[0.5, 0.5]]), np.array([[[0.0], [5.0]]]), np.ones((1, 2, 1))
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="min_prominence"):
            mixture.modes(lw, mu, s, min_prominence=bad)
        with pytest.raises(ValueError, match="min_density_ratio"):
            mixture.modes(lw, mu, s, min_density_ratio=bad)
    with pytest.raises(TypeError, match="min_prominence"):
        mixture.modes(lw, mu, s, min_prominence="high")


def test_the_inverse_sine_at_one_half_has_three_modes_on_its_branches():
    # p(x | t) for t = x + 0.3 sin 2πx + N(0, 0.02²), x uniform: near each root x_i of
    # f(x) = t a Gaussian of width 0.02/|f'(x_i)| and weight ∝ 1/|f'(x_i)|
    roots = branches(0.5)
    slope = np.abs(1 + 0.6 * np.pi * np.cos(2 * np.pi * roots))
    lw = np.log((1 / slope) / (1 / slope).sum())[None]
    values, _, count = mixture.modes(lw, roots[None, :, None], (0.02 / slope)[None, :, None])
    assert count[0] == 3
    np.testing.assert_allclose(np.sort(values[0, :3, 0]), roots, atol=1e-9)


def test_a_fitted_models_modes_are_the_peaks_of_its_density(inverse_sine_model):
    m = inverse_sine_model
    t = np.linspace(0.1, 0.9, 17)
    modes = m.predict_modes(t, min_prominence=0, min_density_ratio=0)  # every local maximum
    grid = np.linspace(-0.5, 1.5, 4001)
    for n in range(len(t)):
        log_p = m.score_samples(np.full_like(grid, t[n]), grid)
        peaks = grid[1:-1][(log_p[1:-1] > log_p[:-2]) & (log_p[1:-1] > log_p[2:])]
        found = modes.values[n, :modes.count[n]]
        assert len(peaks) == modes.count[n]
        np.testing.assert_allclose(np.sort(found), peaks, atol=1e-3)


def test_predict_mode_is_the_highest_mode(inverse_sine_model):
    x = np.linspace(0.0, 1.0, 41)
    m = inverse_sine_model
    top = m.predict_mode(x)
    log_p = m.score_samples(x, top)
    for other in m.predict_modes(x, min_prominence=0, min_density_ratio=0).values.T:
        ok = ~np.isnan(other)
        if not ok.any():
            continue
        assert (log_p[ok] >= m.score_samples(x[ok], other[ok]) - 1e-6).all()
    w, mu, _ = m.predict_mixture(x)
    np.testing.assert_array_equal(m.predict_approx_mode(x), mu[np.arange(len(x)), w.argmax(1), 0])


# --- scores ---------------------------------------------------------------------------------


def test_crps_matches_scoringrules():
    sr = pytest.importorskip("scoringrules")
    lw, mu, s = random_mixtures(N=200, K=5)
    y = np.random.default_rng(2).normal(size=(200, 1)) * 4
    theirs = sr.crps_mixnorm(y[:, 0], mu[..., 0], s[..., 0], np.exp(lw), backend="numpy")
    np.testing.assert_allclose(mixture.crps(y, lw, mu, s)[:, 0], theirs, rtol=1e-8, atol=1e-12)


def test_crps_of_full_marginals_matches_scoringrules():
    sr = pytest.importorskip("scoringrules")
    lw, mu, L = random_mixtures(N=50, K=3, D=2, kind="full")
    y = np.random.default_rng(4).normal(size=(50, 2))
    sd = marginal_sd(mu, L)
    ours = mixture.crps(y, lw, mu, L)
    for d in range(2):
        theirs = sr.crps_mixnorm(y[:, d], mu[..., d], sd[..., d], np.exp(lw), backend="numpy")
        np.testing.assert_allclose(ours[:, d], theirs, rtol=1e-8, atol=1e-12)


def mean_norm_2d(m, S, n_angles=256):
    """E‖Z‖ for Z ~ N(m, S) in two dimensions, m (..., 2), S (..., 2, 2), without sampling.

    In polar coordinates z = r u(θ) about the origin, (z - m)ᵀ S⁻¹ (z - m) = a r² - 2 b r + c,
    and the radial integral of r² exp(-(a r² - 2 b r + c) / 2) over r > 0 is
    √(2π) s ((μ² + s²) Φ(μ/s) + μ s φ(μ/s)) exp(-(c - b μ) / 2) with μ = b/a, s² = 1/a. What
    is left is a smooth periodic function of θ, which the trapezoidal rule integrates to
    rounding error (256 angles agree with 1024 to 1e-13 on the mixtures below).
    """
    theta = np.arange(n_angles) * (2 * np.pi / n_angles)
    u = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    P = np.linalg.inv(S)
    a = np.einsum("ti,...ij,tj->...t", u, P, u)
    b = np.einsum("ti,...ij,...j->...t", u, P, m)
    c = np.einsum("...i,...ij,...j->...", m, P, m)[..., None]
    mu, s = b / a, 1 / np.sqrt(a)
    radial = math.sqrt(2 * math.pi) * s * ((mu ** 2 + s ** 2) * stats.norm.cdf(mu / s)
                                          + mu * s * stats.norm.pdf(mu / s))
    return (radial * np.exp(-0.5 * (c - b * mu))).mean(axis=-1) / np.sqrt(np.linalg.det(S))


def exact_energy_score_2d(y, log_weights, means, factors):
    """E‖X - y‖ - ½ E‖X - X'‖ of two-dimensional mixtures with Cholesky factors, term by term:
    X - y is N(μ_k - y, Σ_k) for component k, X - X' is N(μ_j - μ_k, Σ_j + Σ_k) for a pair."""
    w = np.exp(log_weights)
    cov = factors @ np.swapaxes(factors, -1, -2)
    to_y = (w * mean_norm_2d(means - y[:, None], cov)).sum(axis=1)
    apart = mean_norm_2d(means[:, :, None] - means[:, None], cov[:, :, None] + cov[:, None])
    return to_y - 0.5 * np.einsum("nj,nk,njk->n", w, w, apart)


def test_energy_score_is_the_crps_in_one_dimension_and_the_exact_score_in_two():
    # The estimate from m = 20,000 pairs of draws is a mean of m independent copies of
    # ψ = (‖X - y‖ + ‖X' - y‖)/2 - ‖X - X'‖/2, so its standard error is sd(ψ)/√m: the
    # tolerance (0.01 + 3%) is 3.3 standard errors or more on every row in one dimension and
    # 4.1 or more in two, so a correct estimate passes whatever the seed. The references have
    # no Monte Carlo error (the closed-form CRPS; exact_energy_score_2d). A factor of 2 on
    # either term moves the score by half of E‖X - X'‖: in two dimensions over 1.5, fourteen
    # tolerances and more.
    lw, mu, s = random_mixtures(N=20, K=3)
    y = np.random.default_rng(5).normal(size=(20, 1))
    es = mixture.energy_score(y, lw, mu, s, n_samples=20000, rng=0)
    np.testing.assert_allclose(es, mixture.crps(y, lw, mu, s)[:, 0], rtol=0.03, atol=0.01)
    # the reference where scipy knows the answer: ‖Z‖ of a round normal is Rice-distributed
    rice = [stats.rice(0, scale=0.7).mean(), stats.rice(1.3 / 0.7, scale=0.7).mean()]
    np.testing.assert_allclose(mean_norm_2d(np.array([[0.0, 0.0], [1.2, -0.5]]), 0.49 * np.eye(2)),
                               rice, rtol=1e-12)
    lw, mu, L = random_mixtures(N=10, K=3, D=2, kind="full")
    y = np.random.default_rng(6).normal(size=(10, 2))
    ours = mixture.energy_score(y, lw, mu, L, n_samples=20000, rng=1)
    np.testing.assert_allclose(ours, exact_energy_score_2d(y, lw, mu, L), rtol=0.03, atol=0.01)
    np.testing.assert_array_equal(ours, mixture.energy_score(y, lw, mu, L, 20000, rng=1))


def test_pit_of_draws_from_the_mixture_is_uniform_and_calibration_nominal():
    lw, mu, s = random_mixtures(N=4000, K=3, D=2, kind="full", seed=7)
    y = mixture.sample(lw, mu, s, 1, rng=8)[:, 0]
    u = mixture.pit(y, lw, mu, s)
    for d in range(2):  # fixed seeds; a calibrated forecast passes at the 1% level
        assert stats.kstest(u[:, d], "uniform").pvalue > 0.01
    report = mixture.calibration(y, lw, mu, s)
    assert report.observed.shape == (len(report.levels), 2)
    assert (np.abs(report.observed - report.levels[:, None])
            <= 4 * report.standard_error[:, None]).all()


def test_interval_coverage_of_unions_and_single_intervals():
    y = np.array([[0.0], [5.0], [2.0]])
    lower = np.array([[-1.0, 4.0], [-1.0, 4.0], [-1.0, np.nan]])
    upper = np.array([[1.0, 6.0], [1.0, 6.0], [1.0, np.nan]])
    inside, width = mixture.interval_coverage(y, lower, upper)
    np.testing.assert_allclose(inside, [2 / 3]) and np.testing.assert_allclose(width, [10 / 3])
    inside, width = mixture.interval_coverage(y, lower[:, :1], upper[:, :1])
    np.testing.assert_allclose(inside, [1 / 3])


def test_effective_components():
    with np.errstate(divide="ignore"):  # log 0 = -inf: a zero weight
        lw = np.log(np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0, 0, 0], [0.5, 0.5, 0, 0]]))
    np.testing.assert_allclose(mixture.effective_components(lw), [4, 1, 2])


# --- the estimators' methods ----------------------------------------------------------------


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    y1 = np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=300)
    y2 = np.c_[y1, X[:, 1] + 0.2 * rng.normal(size=300)]
    tiny = dict(hidden_sizes=(16,), max_epochs=30, random_state=0, verbose=0)
    return {
        "mdn-1d": (MDN(3, **tiny).fit(X, y1), X, y1),
        "mdn-2d-full": (MDN(2, covariance="full", **tiny).fit(X, y2), X, y2),
        "regressor": (Regressor(**tiny).fit(X, y1), X, y1),
        "gmm": (GaussianMixture(3, random_state=0).fit(np.c_[X, y1]).condition([0, 1]),
                X, y1),
    }


@pytest.mark.parametrize("name", ["mdn-1d", "mdn-2d-full", "regressor", "gmm"])
def test_every_estimator_predicts_the_whole_distribution(models, name):
    model, X, y = models[name]
    N, shape = len(X), y.shape[1:]
    w, mu, s = model.predict_mixture(X)
    lw = np.log(w)
    assert model.cdf(X, y).shape == (N,) + shape
    np.testing.assert_allclose(model.cdf(X, y).reshape(N, -1),
                               oracle_cdf(y.reshape(N, -1), lw, mu, s), rtol=1e-5, atol=1e-7)
    assert model.predict_quantiles(X, [0.1, 0.9]).shape == (N, 2) + shape
    assert model.predict_quantiles(X, 0.5).shape == (N,) + shape
    lower, upper = model.predict_interval(X, 0.9)
    assert lower.shape == upper.shape == (N,) + shape and (lower < upper).all()
    modes = model.predict_modes(X)
    width = w.shape[1] * (1 if mu.shape[-1] == 1 else 2)  # D >= 2: more modes than K allowed
    assert modes.values.shape == (N, width) + shape and (modes.count >= 1).all()
    assert model.predict_mode(X).shape == (N,) + shape
    assert model.predict_approx_mode(X).shape == (N,) + shape
    crps = model.crps(X, y)
    assert crps.shape == (N,) + shape and (crps > 0).all()
    np.testing.assert_allclose(crps.reshape(N, -1),
                               mixture.crps(y.reshape(N, -1), lw, mu, s), rtol=1e-4, atol=1e-6)
    assert model.energy_score(X[:20], y[:20], n_samples=200, random_state=0).shape == (20,)
    report = model.calibration(X, y)
    assert report.observed.shape == (len(report.levels),) + shape
    inside, width = model.interval_coverage(X, y, 0.9)
    assert np.all(np.asarray(inside) >= 0) and np.all(np.asarray(width) > 0)
    d = model.diagnostics(X, y)
    assert d["effective_components"].shape == (N,)
    np.testing.assert_allclose(d["mean_responsibilities"].sum(), 1, rtol=1e-5)
    if len(shape) == 0 or shape == (1,):
        assert model.predict_interval(X, 0.9, kind="hdr").shape == (N, w.shape[1], 2)


def test_interval_kind_is_checked(models):
    model, X, y = models["mdn-1d"]
    with pytest.raises(ValueError, match="kind must be"):
        model.predict_interval(X, 0.9, kind="widest")
    with pytest.raises(ValueError, match="coverage must lie"):
        model.predict_interval(X, 1.5)


def test_the_regressors_mode_quantiles_and_crps_are_the_gaussians(models):
    model, X, y = models["regressor"]
    mean, sd = model.predict(X), np.sqrt(model.predict_variance(X))
    np.testing.assert_allclose(model.predict_mode(X), mean, rtol=1e-6)
    np.testing.assert_allclose(model.predict_quantiles(X, 0.9),
                               mean + sd * stats.norm.ppf(0.9), rtol=1e-5, atol=1e-6)
    z = (y - mean) / sd
    gaussian_crps = sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z)
                          - 1 / np.sqrt(np.pi))
    np.testing.assert_allclose(model.crps(X, y), gaussian_crps, rtol=1e-4, atol=1e-6)


# --- the strict backend ---------------------------------------------------------------------


PREDICTIVE = ["cdf", "quantiles", "central_interval", "highest_density_intervals", "modes",
              "mode", "effective_components", "crps", "energy_score", "pit", "calibration",
              "interval_coverage"]


def _run(xp, name):
    lw, mu, s = random_mixtures(N=12, K=3, D=1, spread=3.0)
    y = np.random.default_rng(9).normal(size=(12, 1))
    dev = strict.asarray if xp is strict else np.asarray
    lw, mu, s, y = dev(lw), dev(mu), dev(s), dev(y)
    if name in ("cdf", "crps", "pit"):
        return getattr(mixture, name)(y, lw, mu, s)
    if name == "energy_score":
        return mixture.energy_score(y, lw, mu, s, 50, rng=0)
    if name == "calibration":
        return mixture.calibration(y, lw, mu, s).observed
    if name == "quantiles":
        return mixture.quantiles([0.1, 0.5], lw, mu, s)
    if name == "central_interval":
        return mixture.central_interval(0.8, lw, mu, s)[1]
    if name == "highest_density_intervals":
        return mixture.highest_density_intervals(0.8, lw, mu, s)[0]
    if name in ("modes",):
        return mixture.modes(lw, mu, s)[0]
    if name == "mode":
        return mixture.mode(lw, mu, s)
    if name == "effective_components":
        return mixture.effective_components(lw)
    if name == "interval_coverage":
        lower, upper = mixture.central_interval(0.8, lw, mu, s)
        return mixture.interval_coverage(y, lower, upper)[0]
    raise AssertionError(name)


@pytest.mark.parametrize("name", PREDICTIVE)
def test_predictive_functions_on_the_strict_backend(name):
    on_device = _run(strict, name)
    assert isinstance(on_device, strict.DeviceArray)
    np.testing.assert_allclose(to_host(on_device), _run(np, name), rtol=1e-12, equal_nan=True)


def test_estimator_methods_on_the_strict_backend():
    X, y = datasets.inverse_sine(200, random_state=0)
    host = MDN(3, hidden_sizes=(8,), max_epochs=5, random_state=0, verbose=0).fit(X, y)
    device = MDN(3, hidden_sizes=(8,), max_epochs=5, random_state=0, verbose=0,
                 backend=strict).fit(X, y)
    for method, args in [("predict_mode", ()), ("predict_quantiles", ([0.2, 0.8],)),
                         ("predict_interval", (0.9, "hdr"))]:
        np.testing.assert_allclose(to_host(getattr(device, method)(X, *args)),
                                   getattr(host, method)(X, *args), rtol=1e-4, atol=1e-5,
                                   equal_nan=True)
    for method in ("crps", "cdf"):
        np.testing.assert_allclose(to_host(getattr(device, method)(X, y)),
                                   getattr(host, method)(X, y), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(device.calibration(X, y).observed,
                               host.calibration(X, y).observed)
    np.testing.assert_allclose(to_host(device.predict_modes(X).values),
                               host.predict_modes(X).values, rtol=1e-4, atol=1e-5,
                               equal_nan=True)
    np.testing.assert_allclose(to_host(device.predict_interval(X, 0.8)[1]),
                               host.predict_interval(X, 0.8)[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(device.interval_coverage(X, y, 0.8, "hdr"),
                               host.interval_coverage(X, y, 0.8, "hdr"), rtol=1e-4)
    np.testing.assert_allclose(to_host(device.energy_score(X, y, 50, random_state=0)),
                               host.energy_score(X, y, 50, random_state=0), rtol=1e-4)
    np.testing.assert_allclose(to_host(device.pit(X, y)), host.pit(X, y), rtol=1e-4, atol=1e-6)
    assert device.diagnostics(X, y)["dead_components"] == host.diagnostics(X, y)["dead_components"]


def test_diagnostics_and_the_progress_note_name_dead_components_and_floored_scales(capsys):
    X, y = datasets.inverse_sine(300, random_state=0)

    class Kill(mdnlite.Callback):  # after the last epoch: components 1 and 3 lose all weight
        def on_epoch_end(self, model, epoch, logs):
            if epoch == 2:
                W, b = model.network_.layers[-1].params
                W[:, [1, 3]] = 0
                b[[1, 3]] = -60.0
            return False

    model = MDN(4, n_members=1, hidden_sizes=(8,), max_epochs=3, random_state=0, verbose=2)
    with pytest.warns(mdnlite.DivergenceWarning, match="no epoch's mean loss was above"):
        model.fit(X, y, callbacks=[Kill()])  # the data of 1 and 3 now have no component
    err = capsys.readouterr().err
    assert "diagnostics: 2 of 4 components carry under 1e-3" in err and "dead: 1, 3" in err
    report = model.diagnostics(X, y)
    assert report["dead_components"] == [1, 3]
    assert report["mean_responsibilities"][[1, 3]].max() < 1e-6
    assert 1 <= report["mean_effective_components"] <= 2
    assert report["scales_at_floor"] == 0.0
    quiet = MDN(4, n_members=1, hidden_sizes=(8,), max_epochs=3, random_state=0,
                verbose=2).fit(X, y)
    assert "diagnostics" not in capsys.readouterr().err
    # every scale pre-activation at -60: softplus gives 1e-26, and σ is the floor
    W, b = quiet.network_.layers[-1].params
    K = 4
    W[:, 2 * K:3 * K] = 0
    b[2 * K:3 * K] = -60.0
    assert quiet.diagnostics(X)["scales_at_floor"] == 1.0


def test_pit_of_draws_from_a_fitted_model_is_uniform(models):
    # targets drawn from the model itself, 10 per input: their PIT must be uniform (KS test
    # at the 1% level, fixed seed), on one and on two target dimensions
    for name in ("mdn-1d", "mdn-2d-full", "gmm"):
        model, X, _ = models[name]
        inputs = np.repeat(X, 10, axis=0)
        drawn = model.sample(inputs, 1, random_state=3)[:, 0]
        u = np.asarray(model.pit(inputs, drawn)).reshape(len(inputs), -1)
        for d in range(u.shape[1]):
            assert stats.kstest(u[:, d], "uniform").pvalue > 0.01, (name, d)
