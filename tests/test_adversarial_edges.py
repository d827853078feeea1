"""The predictive API at its edges, each case against an independent oracle: extreme quantile
levels (scipy's log-CDF and brentq), small highest-density coverages (scipy's CDF), modes in
2-D (BFGS from many starts), a large offset with a tiny spread in float32, stale
standardisation, sizes that overflow the dtype, and the argument checks that were missing."""

import math
import os
import warnings

import numpy as np
import pytest
from scipy import optimize, stats

import mdnlite
from mdnlite import mixture
from strict_backend import strict

DTYPES = [np.float32, np.float64]

W, MU, SD = [0.2, 0.5, 0.3], [-2.0, 0.0, 3.0], [0.5, 1.0, 0.3]


def mixture_of(dtype, w=W, mu=MU, sd=SD):
    return (np.log(np.asarray([w], dtype)), np.asarray(mu, dtype)[None, :, None],
            np.asarray(sd, dtype)[None, :, None])


def oracle_quantile(q, upper=False):
    """The root of log F(y) = log q (or log S(y) = log(1 - q)) with scipy, to 1e-14."""
    parts = [(math.log(w), m, s) for w, m, s in zip(W, MU, SD)]
    if upper:
        f = lambda y: np.logaddexp.reduce([lw + stats.norm.logsf(y, m, s) for lw, m, s in parts])
        target = math.log(1 - q)
        return optimize.brentq(lambda y: target - f(y), -200, 200, xtol=1e-14)
    f = lambda y: np.logaddexp.reduce([lw + stats.norm.logcdf(y, m, s) for lw, m, s in parts])
    return optimize.brentq(lambda y: f(y) - math.log(q), -200, 200, xtol=1e-14)


@pytest.mark.parametrize("q", [1e-300, 1e-100, 1e-20, 1e-9, 1e-3, 0.3, 0.5])
def test_lower_tail_quantiles_keep_their_precision_in_float64(q):
    got = mixture.quantiles(q, *mixture_of(np.float64))[0, 0, 0]
    np.testing.assert_allclose(got, oracle_quantile(q), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tail", [1e-15, 1e-12, 1e-6])
def test_upper_tail_quantiles_keep_their_precision_in_float64(tail):
    q = 1 - tail
    got = mixture.quantiles(q, *mixture_of(np.float64))[0, 0, 0]
    np.testing.assert_allclose(got, oracle_quantile(q, upper=True), rtol=1e-9)


@pytest.mark.parametrize("q", [1e-30, 1e-7, 1e-4])
def test_tail_quantiles_in_float32_are_right_to_float32(q):
    got = mixture.quantiles(q, *mixture_of(np.float32))[0, 0, 0]
    assert got.dtype == np.float32
    # the float32 quantile is at most a few float32 ulps of the scales away
    assert abs(float(got) - oracle_quantile(q)) < 1e-5 * (1 + abs(oracle_quantile(q)))


def test_a_float32_model_quantile_at_1e_7_is_right_to_its_own_mixture():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 1))
    y = np.sin(3 * x[:, 0]) + 0.2 * rng.normal(size=300)
    model = mdnlite.MDN(3, max_epochs=20, random_state=0, verbose=0).fit(x, y)
    w, mu, s = model.predict_mixture(x[:20])
    got = model.predict_quantiles(x[:20], 1e-7)
    for n in range(20):  # the oracle on the model's own mixture, in float64
        f = lambda t: np.logaddexp.reduce([math.log(w[n, k]) + stats.norm.logcdf(
            t, mu[n, k, 0], s[n, k, 0]) for k in range(w.shape[1])]) - math.log(1e-7)
        true = optimize.brentq(f, -100, 100, xtol=1e-12)
        assert abs(got[n] - true) < 1e-3 * s[n].min()


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_hdr_of_a_normal_is_centred_with_the_right_mass(dtype):
    for c in (1e-3, 1e-5):
        iv, _ = mixture.highest_density_intervals(c, np.zeros((1, 1), dtype),
                                                  np.zeros((1, 1, 1), dtype),
                                                  np.ones((1, 1, 1), dtype))
        half = stats.norm.ppf(0.5 + c / 2)
        np.testing.assert_allclose(iv[0, 0].astype(float), [-half, half],
                                   rtol=1e-3 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [1e-2, 1e-6])
def test_small_hdr_of_a_flat_topped_mixture_holds_its_coverage(dtype, c):
    # 1/2 N(-1, 1) + 1/2 N(1, 1): flat to fourth order at 0, where the threshold cannot be
    # told from the top
    iv, _ = mixture.highest_density_intervals(c, np.log(np.full((1, 2), 0.5, dtype)),
                                              np.array([[[-1.0], [1.0]]], dtype),
                                              np.ones((1, 2, 1), dtype))
    lower, upper = iv[0, 0].astype(float)
    assert np.isnan(iv[0, 1:]).all()
    mass = 0.5 * sum(stats.norm.cdf(upper, m, 1) - stats.norm.cdf(lower, m, 1) for m in (-1, 1))
    np.testing.assert_allclose(mass, c, rtol=1e-3 if dtype == np.float32 else 1e-6)
    assert abs(lower + upper) < 1e-3  # about the mode at 0, to the mode's resolution


def bfgs_modes(lw, mu, s, starts=400, seed=0):
    """Local maxima of a 2-D isotropic mixture by BFGS from many random starts (an oracle
    that shares no code with mdnlite), merged at 1e-4."""
    rng = np.random.default_rng(seed)
    w, m, sd = np.exp(lw[0]), mu[0], s[0, :, 0]

    def minus_p(x):
        d = ((x - m) ** 2).sum(axis=1)
        return -(w * np.exp(-0.5 * d / sd ** 2) / (2 * np.pi * sd ** 2)).sum()

    found = []
    lo, hi = m.min(axis=0) - 2, m.max(axis=0) + 2
    for x0 in rng.uniform(lo, hi, (starts, 2)):
        r = optimize.minimize(minus_p, x0, method="BFGS", options={"gtol": 1e-10})
        if not any(np.linalg.norm(r.x - f) < 1e-4 for f in found):
            found.append(r.x)
    return np.array(found)


def test_the_centre_of_three_components_on_a_triangle_is_found_and_ranked_first():
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    mu = np.stack([np.cos(angles), np.sin(angles)], -1)[None]
    s, lw = np.full((1, 3, 1), 0.737), np.log(np.full((1, 3), 1 / 3))
    values, _, count = mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0)
    oracle = bfgs_modes(lw, mu, s)
    assert count[0] == len(oracle) == 4  # more modes than components
    for point in oracle:
        assert np.linalg.norm(values[0, :count[0]] - point, axis=1).min() < 1e-6
    np.testing.assert_allclose(mixture.mode(lw, mu, s)[0], [0, 0], atol=1e-8)


def test_random_2d_mixtures_lose_no_mode_that_bfgs_finds():
    rng = np.random.default_rng(3)
    for _ in range(6):
        K = 4
        mu = rng.uniform(-1.5, 1.5, (1, K, 2))
        s, lw = rng.uniform(0.5, 0.9, (1, K, 1)), np.log(rng.dirichlet(np.ones(K)))[None]
        values, _, count = mixture.modes(lw, mu, s, min_prominence=0, min_density_ratio=0)
        for point in bfgs_modes(lw, mu, s, starts=150):
            assert np.linalg.norm(values[0, :count[0]] - point, axis=1).min() < 1e-5


def test_a_large_offset_with_a_tiny_spread_in_float32_keeps_its_digits():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (500, 1))
    y = 1e12 + rng.normal(0, 1e-3, 500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mdnlite.MDN(random_state=0, verbose=0, max_epochs=30).fit(x, y)
    assert model.dtype == "float32"
    assert np.abs(model.predict(x) - 1e12).max() < 0.01  # float64 resolves 1e12 to 1.2e-4
    sd = np.sqrt(model.predict_variance(x))
    assert 3e-4 < sd.mean() < 3e-3
    lower, upper = model.predict_interval(x, 0.9)
    assert 0.8 < ((y >= lower) & (y <= upper)).mean() <= 1.0
    assert model.pit(x, y).std() > 0.2  # uniform-like, not all 0.5
    assert 3e-4 < model.sample(x[:5], 200, random_state=0).std() < 3e-3


@pytest.mark.parametrize("backend", ["numpy", strict])
def test_partial_fit_on_data_far_from_the_first_standardisation_warns(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=200)
    model = mdnlite.MDN(2, random_state=0, verbose=0, max_epochs=5, backend=backend).fit(x, y)
    with pytest.warns(mdnlite.ScalingWarning, match="y column 0 lies .* spreads.*Refit"):
        model.partial_fit(x, y * 0.001 + 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mdnlite.ScalingWarning)
        model.partial_fit(x[:50], np.sin(x[:50, 0]))  # data like the first: no warning
    model = mdnlite.MDN(2, random_state=0, verbose=0, max_epochs=2, warm_start=True,
                        backend=backend).fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdnlite.DivergenceWarning)
        with pytest.warns(mdnlite.ScalingWarning, match="X column 0"):
            model.fit(x * 100 + 1e4, y)


@pytest.mark.parametrize("dtype, size", [(np.float32, 1e30), (np.float64, 1e200)])
def test_sizes_that_overflow_the_dtype_give_finite_answers(dtype, size):
    lw = np.log(np.full((1, 2), 0.5, dtype))
    means = np.array([[[size], [3 * size]]], dtype)
    scales = np.full((1, 2, 1), size, dtype)
    y = np.array([[2 * size]], dtype)
    # the same mixture at unit size, scaled: each answer must scale with it
    unit = (lw.astype(np.float64), np.array([[[1.0], [3.0]]]), np.ones((1, 2, 1)))
    iv, _ = mixture.highest_density_intervals(0.9, lw, means, scales)
    iv1, _ = mixture.highest_density_intervals(0.9, *unit)
    np.testing.assert_allclose(iv.astype(float) / size, iv1, rtol=1e-4)
    values, _, count = mixture.modes(lw, means, scales)
    values1, _, count1 = mixture.modes(*unit)
    assert count[0] == count1[0]
    np.testing.assert_allclose(values[0, :count[0]].astype(float) / size,
                               values1[0, :count1[0]], rtol=1e-4)
    crps = mixture.crps(y, lw, means, scales)
    np.testing.assert_allclose(crps.astype(float) / size, mixture.crps(np.array([[2.0]]), *unit),
                               rtol=1e-4)
    energy = mixture.energy_score(y, lw, means, scales, n_samples=2000, rng=0)
    assert np.isfinite(energy).all() and 0.1 * size < energy[0] < 10 * size


def test_a_float32_model_far_outside_its_inputs_gives_finite_predictions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    y = np.sin(x[:, 0]) + 0.1 * rng.normal(size=200)
    model = mdnlite.MDN(3, random_state=0, verbose=0, max_epochs=5).fit(x, y)
    far = np.array([[1e30], [-1e30]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        hdr = model.predict_interval(far, 0.9, kind="hdr")
        modes = model.predict_modes(far)
        crps = model.crps(far, np.zeros(2))
    assert np.isfinite(hdr[:, 0]).all() and (modes.count >= 1).all()
    assert np.isfinite(modes.values[:, 0]).all() and np.isfinite(crps).all()


def test_energy_score_and_crps_of_a_target_at_1e300_are_finite():
    lw, mu, s = np.log([[0.5, 0.5]]), np.array([[[0.0], [1.0]]]), np.ones((1, 2, 1))
    np.testing.assert_allclose(mixture.crps(np.array([[1e300]]), lw, mu, s), [[1e300]])
    np.testing.assert_allclose(mixture.energy_score(np.array([[1e300]]), lw, mu, s,
                                                    n_samples=100, rng=0), [1e300])


@pytest.fixture(scope="module")
def small_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 1))
    y = x[:, 0] + 0.1 * rng.normal(size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mdnlite.MDN(2, max_epochs=2, random_state=0, verbose=0).fit(x, y), x, y


def test_set_weights_refuses_what_load_refuses(small_model):
    model, x, _ = small_model
    weights = model.get_weights()
    for bad in (np.nan, np.inf, 1e300):
        with pytest.raises(ValueError, match="not finite in float32"):
            model.set_weights(np.full_like(weights, bad, dtype=np.float64))
    np.testing.assert_array_equal(model.get_weights(), weights)  # nothing changed
    with pytest.raises(TypeError, match="real numbers"):
        model.set_weights(weights.astype(str))


@pytest.mark.parametrize("levels", ["0.5", np.array(["0.5"], dtype=object),
                                    np.array([True], dtype=object), np.array([True]), None,
                                    b"0.5"])
def test_levels_and_coverages_must_be_numbers(small_model, levels):
    model, x, y = small_model
    with pytest.raises(TypeError, match="must be"):
        model.predict_quantiles(x[:2], levels)
    with pytest.raises(TypeError, match="coverage"):
        model.predict_interval(x[:2], levels)
    with pytest.raises(TypeError, match="coverage"):
        model.interval_coverage(x, y, levels)
    with pytest.raises(TypeError, match="coverage levels"):
        model.calibration(x, y, levels=[levels] if isinstance(levels, str) else levels)


def test_a_pandas_string_column_of_levels_is_refused(small_model):
    pd = pytest.importorskip("pandas")
    model, x, _ = small_model
    with pytest.raises(TypeError, match="quantile levels"):
        model.predict_quantiles(x[:2], pd.Series(["0.1", "0.9"], dtype="string"))


def test_interval_coverage_refuses_nan_targets(small_model):
    model, x, _ = small_model
    with pytest.raises(ValueError, match="y contains NaN"):
        model.interval_coverage(x, np.full(len(x), np.nan))


def test_a_constant_huge_column_in_float32_is_only_centred():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=60), np.full(60, 1e39)])
    y = x[:, 0] + 0.1 * rng.normal(size=60)
    model = mdnlite.MDN(2, max_epochs=3, random_state=0, verbose=0).fit(x, y)
    assert np.isfinite(model.predict(x)).all()


def test_unclear_errors_are_clear():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 1)), rng.normal(size=5)
    with pytest.raises(TypeError, match="X is None"):
        mdnlite.MDN().fit(None, y)
    with pytest.raises(ValueError, match="y to be passed"):
        mdnlite.MDN().fit(x, None)
    with pytest.raises(ValueError, match="needs at least 2 samples"):
        mdnlite.Regressor().fit(x[:1], y[:1])
    with pytest.raises(ValueError, match="y must be a rectangular array"):
        mdnlite.MDN().fit(x[:3], [[1.0], [2.0, 3.0], [4.0]])


def test_files_edges(small_model, tmp_path):
    model, _, _ = small_model
    path = model.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="backend must be"):
        mdnlite.load(path, backend="")
    with pytest.raises(IsADirectoryError, match="a file name is needed"):
        model.save(str(tmp_path / "other.npz") + os.sep)
    assert not (tmp_path / "other.npz").exists()
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    with pytest.raises(OSError, match="points to itself"):
        model.save(loop)
    with pytest.raises(mdnlite.ModelFileError, match="cannot be opened"):
        mdnlite.load(loop)
