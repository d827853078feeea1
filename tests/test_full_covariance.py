"""Full-covariance mixtures (covariance="full"): the Cholesky head, its mixtures and the MDN.

Hand-derived gradients against central differences in float64 (the head alone over D up to 4,
and whole networks end to end); the head's documented output layout and its loss against
scipy; log_prob, covariance and variance of Cholesky mixtures against independent
computations; a diagonal L against the diagonal head; nearly singular covariances at the
scale floor; sampling statistics; and the estimator (fit, predictions, a clear win over the
diagonal head on correlated noise, save/load, the strict host/device backend).

Every reference value is written here, independently of mdnlite, in float64.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mdnlite
from mdnlite import MDN, MixtureHead, mixture
from mdnlite.heads.mixture import SCALE_ACTIVATIONS
from mdnlite.nn.gradcheck import gradient_error, relative_error

from strict_backend import assert_same_results, strict

RTOL = 1e-6  # norm-wise relative error of a hand-derived gradient against central differences
ACTS = sorted(SCALE_ACTIVATIONS)
MIN_SCALES = [0.0, 0.05, 0.5]


# --- strategies and independent references -----------------------------------------------


def values(shape, lo=-3.0, hi=3.0):
    return arrays(np.float64, shape, elements=st.floats(lo, hi, allow_subnormal=False))


def nonzero_values(shape, bound=3.0, gap=1e-3):
    """Values with |v| in [gap, bound]: clear of elu1's kink at 0."""
    magnitude = st.floats(gap, bound)
    return arrays(np.float64, shape, elements=st.one_of(magnitude, magnitude.map(lambda v: -v)))


def lower_positions(D):
    """The documented order of the strictly-lower entries: row by row, (1,0), (2,0), (2,1), ..."""
    return [(i, j) for i in range(D) for j in range(i)]


def activation(s, name):
    """a = act(s) and da/ds, elementwise, written from the head's docstrings."""
    if name == "exp":
        return np.exp(s), np.exp(s)
    if name == "softplus":
        return np.logaddexp(0.0, s), 1.0 / (1.0 + np.exp(-s))
    e = np.exp(np.minimum(s, 0.0))
    return np.where(s > 0, s + 1.0, e), np.where(s > 0, 1.0, e)


def reference_parts(z, K, D, name, min_scale):
    """Split raw outputs by the documented layout, K | K*D | K*D | K*M, into the mixture.

    Returns log π (N, K), μ (N, K, D), the factors L (N, K, D, D), the diagonal pre-activations
    s (N, K, D) and the raw strictly-lower block (N, K, M).
    """
    N = z.shape[0]
    M = D * (D - 1) // 2
    assert z.shape[1] == K * (1 + 2 * D + M)
    logits = z[:, :K]
    means = z[:, K:K + K * D].reshape(N, K, D)
    s = z[:, K + K * D:K + 2 * K * D].reshape(N, K, D)
    lower = z[:, K + 2 * K * D:].reshape(N, K, M)
    L = np.zeros((N, K, D, D))
    for d in range(D):
        L[:, :, d, d] = activation(s[:, :, d], name)[0] + min_scale
    for m, (i, j) in enumerate(lower_positions(D)):
        L[:, :, i, j] = lower[:, :, m]
    log_w = logits - logsumexp(logits, axis=1)[:, None]
    return log_w, means, L, s, lower


def logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def scipy_log_prob(y, log_w, means, L):
    """log Σ_k π_k N(y | μ_k, L_k L_kᵀ) by scipy's multivariate normal and logsumexp."""
    stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    N, K, _ = means.shape
    log_comp = np.empty((N, K))
    for n in range(N):
        for k in range(K):
            cov = L[n, k] @ L[n, k].T
            log_comp[n, k] = stats.multivariate_normal(means[n, k], cov).logpdf(y[n])
    return special.logsumexp(log_w + log_comp, axis=1), log_comp


@st.composite
def cholesky_mixtures(draw, max_k=4, max_d=4):
    """(log π (N, K), μ (N, K, D), L (N, K, D, D), y (N, D)); diag(L) in [0.5, 2], |L_ij| <= 1.

    Conditioned well enough (cond Σ below about 1e4) for scipy's eigendecomposition to be
    accurate to 1e-12: with L_ii = 0.25 and L_ij = 2 its densities are off by 1e-6 already.
    """
    N, K, D = draw(st.integers(1, 5)), draw(st.integers(1, max_k)), draw(st.integers(1, max_d))
    logits = draw(values((N, K)))
    log_w = logits - logsumexp(logits, axis=1)[:, None]
    L = np.tril(draw(values((N, K, D, D), -1.0, 1.0)), -1)
    L[..., np.arange(D), np.arange(D)] = draw(values((N, K, D), 0.5, 2.0))
    return log_w, draw(values((N, K, D))), L, draw(values((N, D)))


# --- 1. gradients against central differences --------------------------------------------


@st.composite
def full_head_case(draw, scale_activation):
    K, D, N = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    head = MixtureHead(K, D, "full", scale_activation, min_scale=draw(st.sampled_from(MIN_SCALES)))
    z = draw(nonzero_values((N, head.n_outputs)))
    return head, z, draw(values((N, D)))


@pytest.mark.parametrize("scale_activation", ACTS)
@given(data=st.data())
def test_full_head_gradient(scale_activation, data):
    head, z, y = data.draw(full_head_case(scale_activation))
    assert head.n_outputs == head.n_components * (1 + 2 * head.n_dims + head.n_lower)
    _, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    assert dz.shape == z.shape and dz.dtype == np.float64
    assert gradient_error(lambda: head.nll_forward(z, y)[0], z, dz) <= RTOL


# whole networks with a full head: test_gradients.test_network_end_to_end_gradient draws
# "full" among its covariances (head.COVARIANCES)


# --- 2. the layout, log_prob, covariance and variance against independent references -----


@pytest.mark.parametrize("scale_activation", ACTS)
@given(data=st.data())
def test_head_follows_the_documented_layout_and_its_loss_is_scipys(scale_activation, data):
    K, D, N = (data.draw(st.integers(1, n)) for n in (3, 4, 4))
    min_scale = data.draw(st.sampled_from(MIN_SCALES))
    head = MixtureHead(K, D, "full", scale_activation, min_scale)
    # scale pre-activations >= -1 and |L_ij| <= 1.5 keep Σ well enough conditioned for scipy
    z = np.concatenate([data.draw(values((N, K * (1 + D)))),
                        data.draw(values((N, K * D), -1.0, 2.0)),
                        data.draw(values((N, K * head.n_lower), -1.5, 1.5))], axis=1)
    y = data.draw(values((N, D)))
    log_w, means, L, _, _ = reference_parts(z, K, D, scale_activation, min_scale)
    m = head.mixture(z)
    assert m.scales.shape == (N, K, D, D)
    np.testing.assert_allclose(m.log_weights, log_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m.means, means)
    np.testing.assert_allclose(m.scales, L, rtol=1e-13, atol=0)  # zeros above, exactly
    expected, _ = scipy_log_prob(y, log_w, means, L)
    loss, _ = head.nll_forward(z, y)
    np.testing.assert_allclose(float(loss), -expected.mean(), rtol=1e-7, atol=1e-7)


@given(cholesky_mixtures())
def test_log_prob_with_factors_matches_scipy(case):
    log_w, means, L, y = case
    expected, log_comp = scipy_log_prob(y, log_w, means, L)
    np.testing.assert_allclose(mixture.log_prob(y, log_w, means, L), expected,
                               rtol=1e-9, atol=1e-9)
    gamma = np.exp(log_w + log_comp - expected[:, None])
    np.testing.assert_allclose(mixture.responsibilities(y, log_w, means, L), gamma,
                               rtol=1e-7, atol=1e-9)


@given(cholesky_mixtures())
def test_covariance_is_the_law_of_total_covariance(case):
    log_w, means, L, _ = case
    w = np.exp(log_w)
    N, K, D = means.shape
    expected = np.zeros((N, D, D))  # E[y yᵀ] - E[y] E[y]ᵀ, by raw moments and explicit loops
    for n in range(N):
        mean = sum(w[n, k] * means[n, k] for k in range(K))
        for k in range(K):
            expected[n] += w[n, k] * (L[n, k] @ L[n, k].T + np.outer(means[n, k], means[n, k]))
        expected[n] -= np.outer(mean, mean)
    cov = mixture.covariance(log_w, means, L)
    assert cov.shape == (N, D, D)
    np.testing.assert_allclose(cov, expected, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(cov, cov.swapaxes(1, 2), rtol=1e-14, atol=0)
    assert (np.linalg.eigvalsh(cov) > 0).all()
    var = mixture.variance(log_w, means, L)
    assert var.shape == (N, D)
    np.testing.assert_allclose(var, np.diagonal(cov, axis1=1, axis2=2), rtol=1e-13, atol=1e-15)


# --- 3. a diagonal L is the diagonal head ---------------------------------------------------


@pytest.mark.parametrize("scale_activation", ACTS)
@given(data=st.data())
def test_diagonal_factor_equals_the_diagonal_head(scale_activation, data):
    K, D, N = (data.draw(st.integers(1, n)) for n in (4, 4, 5))
    min_scale = data.draw(st.sampled_from(MIN_SCALES))
    diag = MixtureHead(K, D, "diagonal", scale_activation, min_scale)
    full = MixtureHead(K, D, "full", scale_activation, min_scale)
    z = data.draw(nonzero_values((N, diag.n_outputs)))
    y = data.draw(values((N, D)))
    z_full = np.concatenate([z, np.zeros((N, K * full.n_lower))], axis=1)
    loss_d, cache_d = diag.nll_forward(z, y)
    loss_f, cache_f = full.nll_forward(z_full, y)
    dd, df = diag.split(diag.nll_backward(cache_d)), full.split(full.nll_backward(cache_f))
    # the solves with zero off-diagonal entries do the diagonal head's arithmetic, in its order
    np.testing.assert_array_equal(loss_f, loss_d)
    np.testing.assert_array_equal(df.logits, dd.logits)
    np.testing.assert_array_equal(df.means, dd.means)
    # dL/ds: γ(1 - u²)/(Nσ)·a' against (γu/(Nσ)·a')·u - γa'/(Nσ), the same terms rounded in
    # another order (measured: at most 4.5e-13 apart, 2.5e-12 relatively where 1 - u² cancels);
    # so the bound is 1e-14 of the size of the terms that cancel, elementwise, or 1e-300 where
    # a vanishing γ leaves gradients among the subnormal numbers
    log_w, means, L, s, _ = reference_parts(z_full, K, D, scale_activation, min_scale)
    sigma = np.diagonal(L, axis1=2, axis2=3)  # (N, K, D)
    u = (y[:, None, :] - means) / sigma
    log_comp = (-0.5 * u * u - np.log(sigma)).sum(axis=2) - 0.5 * D * math.log(2 * math.pi)
    log_joint = log_w + log_comp
    gamma = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])  # (N, K)
    dact = activation(s, scale_activation)[1]
    terms = (gamma[:, :, None] * (u * u + 1) / (N * sigma)) * dact
    assert (np.abs(df.scales - dd.scales) <= 1e-14 * terms + 1e-300).all()
    np.testing.assert_allclose(df.scales, gamma[:, :, None] * (1 - u * u) / (N * sigma) * dact,
                               rtol=1e-9, atol=1e-12 * terms.max(initial=0))
    # dL/dL_ij = -(γ/N) w_i v_j with v = u and w = Σ⁻¹ r = u/σ for a diagonal L
    expected = np.zeros((N, K, full.n_lower))
    for m, (i, j) in enumerate(lower_positions(D)):
        expected[:, :, m] = -(gamma / N) * (u[:, :, i] / sigma[:, :, i]) * u[:, :, j]
    np.testing.assert_allclose(df.lower, expected, rtol=1e-9, atol=1e-300)


# --- 4. nearly singular covariances at the floor -----------------------------------------


def nearly_singular_case(D, scale_activation, dtype, target, K=2, N=4, seed=0):
    """Diagonal of L at the floor 1e-3 (pre-activations -30), off-diagonal entries ±50."""
    head = MixtureHead(K, D, "full", scale_activation, min_scale=1e-3)
    rng = np.random.default_rng(seed)
    z = np.zeros((N, head.n_outputs))
    parts = head.split(z)
    parts.logits[...] = rng.normal(size=(N, K))
    parts.means[...] = rng.normal(size=(N, K, D))
    parts.scales[...] = -30.0
    parts.lower[...] = 50.0 * rng.choice([-1.0, 1.0], size=(N, K, head.n_lower))
    offset = {"on the mean": 0.0, "near": 1e-3, "far": 5.0, "very far": 20.0}[target]
    y = parts.means[:, 0, :] + offset * rng.choice([-1.0, 1.0], size=(N, D))
    return head, z.astype(dtype), y.astype(dtype)


def _loss_and_gradient_at_the_floor(head, z, y):
    with np.errstate(under="ignore"):  # exp(-30)² and the weights of far components underflow
        factors = head.mixture(z).scales
        np.testing.assert_allclose(np.diagonal(factors, axis1=2, axis2=3), 1e-3, rtol=1e-6)
        loss, cache = head.nll_forward(z, y)
        dz = head.nll_backward(cache)
    assert loss.dtype == dz.dtype == z.dtype
    assert np.isfinite(loss), float(loss)
    assert np.isfinite(dz).all()
    return float(loss), dz


@pytest.mark.parametrize("target", ["on the mean", "near", "far", "very far"])
@pytest.mark.parametrize("scale_activation", ACTS)
@pytest.mark.parametrize("D", [2, 3, 4])
def test_nearly_singular_covariance_at_the_floor_is_finite(D, scale_activation, target):
    # Σ = L Lᵀ with L_ii = 1e-3 and |L_ij| = 50: condition numbers from about 6e18 (D = 2)
    # upwards; a very far target makes the loss ~3e36 and dL/dL_ii ~1.6e39 (D = 4), beyond
    # float32, while dL/ds = dL/dL_ii · act'(s) ~ 1.5e26 is not, so the float32 gradient
    # must be finite too (the head applies act'(s) before the product that overflows)
    head, z32, y32 = nearly_singular_case(D, scale_activation, np.float32, target)
    z64, y64 = z32.astype(np.float64), y32.astype(np.float64)  # the same inputs, exactly
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss64, dz64 = _loss_and_gradient_at_the_floor(head, z64, y64)
        loss32, dz32 = _loss_and_gradient_at_the_floor(head, z32, y32)
    # and float32 is accurate here (measured: at most 4.3e-7 relative, loss and gradient)
    assert abs(loss32 - loss64) <= 1e-5 * abs(loss64)
    assert relative_error(dz32, dz64) <= 1e-5


# --- 5. sampling ---------------------------------------------------------------------------

FACTOR = np.array([[1.0, 0.0, 0.0],
                   [0.8, 0.5, 0.0],
                   [-0.6, 1.2, 0.3]])
N_SAMPLES = 200_000


def _one_component(mean=(1.0, -2.0, 0.5)):
    return np.zeros((1, 1)), np.array(mean, dtype=float)[None, None], FACTOR[None, None]


def _assert_sample_moments(draws, mean, cov):
    """Sample mean and covariance within 5 standard errors of their expectations.

    The standard error of the sample mean of y_i is sqrt(Σ_ii / n), that of a sample covariance
    entry sqrt((Σ_ii Σ_jj + Σ_ij²) / n) (Gaussian fourth moments).
    """
    n = draws.shape[0]
    sd = np.sqrt(np.diag(cov))
    assert (np.abs(draws.mean(axis=0) - mean) <= 5 * sd / math.sqrt(n)).all()
    tolerance = 5 * np.sqrt((np.outer(sd ** 2, sd ** 2) + cov ** 2) / n)
    error = np.abs(np.cov(draws, rowvar=False) - cov)
    assert (error <= tolerance).all(), (error / tolerance).max()
    return tolerance


def test_sample_covariance_of_one_full_component_is_l_lt():
    log_w, means, L = _one_component()
    draws = mixture.sample(log_w, means, L, n_samples=N_SAMPLES, rng=0)
    assert draws.shape == (1, N_SAMPLES, 3)
    tolerance = _assert_sample_moments(draws[0], means[0, 0], FACTOR @ FACTOR.T)
    # the test has the power to tell L ε from Lᵀ ε (covariance Lᵀ L) by a wide margin
    assert (np.abs(FACTOR.T @ FACTOR - FACTOR @ FACTOR.T) > 20 * tolerance).any()


@pytest.mark.parametrize("t", [0.25, 3.0])
def test_sigma_temperature_multiplies_the_covariance(t):
    log_w, means, L = _one_component()
    draws = mixture.sample(log_w, means, L, n_samples=N_SAMPLES, rng=1, sigma_temperature=t)
    _assert_sample_moments(draws[0], means[0, 0], t * FACTOR @ FACTOR.T)
    # with the same seed, the draws are the t = 1 draws pulled towards the mean by sqrt(t)
    plain = mixture.sample(log_w, means, L, n_samples=10, rng=1)
    tempered = mixture.sample(log_w, means, L, n_samples=10, rng=1, sigma_temperature=t)
    np.testing.assert_allclose(tempered - means[:, 0, None],
                               math.sqrt(t) * (plain - means[:, 0, None]), rtol=1e-12)


def test_zero_temperatures_return_the_heaviest_mean():
    rng = np.random.default_rng(2)
    N, K, D = 6, 3, 3
    log_w = np.log(rng.dirichlet(np.ones(K), size=N))
    means = rng.normal(size=(N, K, D))
    L = np.tril(rng.normal(size=(N, K, D, D)), -1)
    L[..., np.arange(D), np.arange(D)] = rng.uniform(0.5, 2, size=(N, K, D))
    draws = mixture.sample(log_w, means, L, n_samples=5, rng=3, temperature=0,
                           sigma_temperature=0)
    heaviest = means[np.arange(N), log_w.argmax(axis=1)]  # (N, D)
    np.testing.assert_array_equal(draws, np.broadcast_to(heaviest[:, None], (N, 5, D)))


# --- 6. the estimator -------------------------------------------------------------------------

RHO, NOISE = 0.9, 0.1
NOISE_COV = NOISE ** 2 * np.array([[1.0, RHO], [RHO, 1.0]])
FIT = dict(hidden_sizes=(16,), learning_rate=0.01, max_epochs=40, batch_size=100,
           random_state=0)


def correlated(n, seed):
    """x ~ U(-1, 1); y = [x, x] + Gaussian noise with standard deviation 0.1, correlation 0.9."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1))
    return x, np.hstack([x, x]) + rng.standard_normal((n, 2)) @ np.linalg.cholesky(NOISE_COV).T


@pytest.fixture(scope="module")
def fitted():
    X, y = correlated(1000, 0)
    full = MDN(2, n_members=1, covariance="full", dtype="float64", **FIT).fit(X, y)
    diagonal = MDN(2, n_members=1, covariance="diagonal", dtype="float64", **FIT).fit(X, y)
    return full, diagonal


def test_full_mdn_predicts_valid_factors_and_covariances(fitted):
    full, _ = fitted
    X, y = correlated(50, 2)
    assert full.head_.n_outputs == 2 * (1 + 2 + 2 + 1)
    assert full.loss_curve_[-1] < full.loss_curve_[0]
    w, mu, L = full.predict_mixture(X)
    assert all(type(a) is np.ndarray for a in (w, mu, L))
    assert w.shape == (50, 2) and mu.shape == (50, 2, 2) and L.shape == (50, 2, 2, 2)
    assert (np.triu(L, 1) == 0).all()
    assert (np.diagonal(L, axis1=2, axis2=3) >= full.min_scale).all()
    assert (L[:, :, 1, 0] != 0).all()
    cov = full.predict_covariance(X)
    assert type(cov) is np.ndarray and cov.shape == (50, 2, 2)
    np.testing.assert_allclose(cov, cov.swapaxes(1, 2), rtol=1e-14, atol=0)
    assert (np.linalg.eigvalsh(cov) > 0).all()
    np.testing.assert_allclose(cov, mixture.covariance(np.log(w), mu, L), rtol=1e-12)
    np.testing.assert_allclose(full.predict_variance(X), np.diagonal(cov, axis1=1, axis2=2),
                               rtol=1e-13)
    np.testing.assert_allclose(full.score_samples(X, y), mixture.log_prob(y, np.log(w), mu, L),
                               rtol=1e-12)
    # the learnt noise is the correlated one: correlation of the predicted covariance near 0.9
    rho = cov[:, 0, 1] / np.sqrt(cov[:, 0, 0] * cov[:, 1, 1])
    assert np.median(rho) > 0.8, np.median(rho)
    assert full.sample(X, n_samples=3, random_state=0).shape == (50, 3, 2)


def test_full_covariance_beats_diagonal_on_correlated_noise(fitted):
    full, diagonal = fitted
    X, y = correlated(1000, 1)
    # the best possible score is minus the noise entropy, log 2π + 1 + ½ log det Σ ≈ 2.60;
    # a single diagonal Gaussian gives up ½ log(1/(1 - ρ²)) ≈ 0.83 nats of it
    best = -(math.log(2 * math.pi) + 1 + 0.5 * math.log(np.linalg.det(NOISE_COV)))
    full_score, diagonal_score = full.score(X, y), diagonal.score(X, y)
    assert full_score > best - 0.25, (full_score, best)  # measured 2.47
    assert full_score > diagonal_score + 0.3, (full_score, diagonal_score)  # measured 2.01


def test_save_load_round_trip_is_bit_identical(fitted, tmp_path):
    full, _ = fitted
    X, y = correlated(30, 3)
    loaded = mdnlite.load(full.save(str(tmp_path / "full.npz")))
    assert loaded.covariance == "full" and loaded.head_.covariance == "full"
    np.testing.assert_array_equal(loaded.get_weights(), full.get_weights())
    for a, b in zip(loaded.predict_mixture(X), full.predict_mixture(X)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict_covariance(X), full.predict_covariance(X))
    np.testing.assert_array_equal(loaded.score_samples(X, y), full.score_samples(X, y))
    np.testing.assert_array_equal(loaded.sample(X, n_samples=4, random_state=5),
                                  full.sample(X, n_samples=4, random_state=5))


def _every_full_method(xp, tmp_path):
    X, y = correlated(120, 4)
    dev = strict.asarray if xp is strict else np.asarray
    Xd, yd = dev(X), dev(y)
    model = MDN(2, n_members=1, covariance="full", hidden_sizes=(6,), max_epochs=4, batch_size=32,
                random_state=0, backend=xp)
    model.fit(Xd, yd, validation_split=0.25)
    model.partial_fit(Xd, yd)
    out = {
        "weights": model.get_weights(),
        "predict": model.predict(Xd),
        "variance": model.predict_variance(Xd),
        "covariance": model.predict_covariance(Xd),
        "mode": model.predict_mode(Xd),
        "mixture": model.predict_mixture(Xd),
        "score_samples": model.score_samples(Xd, yd),
        "score": model.score(Xd, yd),
        "sample": model.sample(Xd, n_samples=3, temperature=0.5, sigma_temperature=0.7,
                               random_state=1),
        "loss_curve": model.loss_curve_,
        "validation_loss_curve": model.validation_loss_curve_,
    }
    path = model.save(str(tmp_path / f"full-{xp.__name__}.npz"))
    out["loaded"] = mdnlite.load(path, backend=xp).predict_covariance(Xd)
    return out


HOST_RESULTS = {"mixture", "score", "loss_curve", "validation_loss_curve"}


def test_full_covariance_on_the_strict_backend_matches_numpy(tmp_path):
    on_device = _every_full_method(strict, tmp_path)
    on_host = _every_full_method(np, tmp_path)
    assert on_host["mixture"].scales.shape == (120, 2, 2, 2)
    assert_same_results(on_device, on_host, HOST_RESULTS)
