"""Invariants of the MDN head and of the pure mixture functions, beyond finite differences.

Every reference value here is written independently of mdnlite, in float64: the closed-form
Gaussian for K = 1, the moments of a mixture by direct sums, the mixture CDF with math.erf,
and (when scipy is installed) scipy's normal densities combined with its logsumexp.
"""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mdnlite import MixtureHead, mixture

LOG_2PI = math.log(2.0 * math.pi)
ACTIVATIONS = ("exp", "softplus", "elu1")
COVARIANCES = ("isotropic", "diagonal")


def bounded(shape, lo=-3.0, hi=3.0, dtype=np.float64):
    return arrays(dtype, shape, elements=st.floats(lo, hi, width=np.dtype(dtype).itemsize * 8))


@st.composite
def heads(draw, n_components=None):
    K = n_components if n_components is not None else draw(st.integers(1, 5))
    return MixtureHead(
        K,
        draw(st.integers(1, 4)),
        covariance=draw(st.sampled_from(COVARIANCES)),
        scale_activation=draw(st.sampled_from(ACTIVATIONS)),
        min_scale=draw(st.sampled_from([0.0, 1e-3, 0.25])),
    )


@st.composite
def head_batches(draw, n_components=None):
    """(head, z (N, n_outputs), y (N, D)), all values in [-3, 3], float64."""
    head = draw(heads(n_components))
    N = draw(st.integers(1, 8))
    z = draw(bounded((N, head.n_outputs)))
    y = draw(bounded((N, head.n_dims)))
    return head, z, y


@st.composite
def mixtures(draw):
    """(log_weights (N, K), means (N, K, D), scales (N, K, S)) with σ in [0.05, 3], float64."""
    N, K, D = draw(st.integers(1, 8)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    S = 1 if draw(st.sampled_from(COVARIANCES)) == "isotropic" else D
    logits = draw(bounded((N, K)))
    log_weights = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return log_weights, draw(bounded((N, K, D))), draw(bounded((N, K, S), 0.05, 3.0))


def act_and_derivative(s, name):
    """Scale activation a(s) and da/ds for one float, written from the head's docstrings."""
    if name == "exp":
        return math.exp(s), math.exp(s)
    if name == "softplus":
        return math.log1p(math.exp(s)), 1.0 / (1.0 + math.exp(-s))
    return (s + 1.0, 1.0) if s > 0 else (math.exp(s), math.exp(s))


# --- the head -------------------------------------------------------------------------------


@given(head_batches(n_components=1))
def test_single_component_is_the_closed_form_gaussian(case):
    head, z, y = case
    N, D = y.shape
    S = head.n_scales
    expected_loss = 0.0
    expected_dz = np.zeros_like(z)  # the logit column stays 0: one weight is always 1
    for n in range(N):
        for d in range(D):
            mu = z[n, 1 + d]
            j = 0 if S == 1 else d
            a, da = act_and_derivative(z[n, 1 + D + j], head.scale_activation)
            sigma = a + head.min_scale
            r = (y[n, d] - mu) / sigma
            expected_loss += (0.5 * r * r + math.log(sigma) + 0.5 * LOG_2PI) / N
            expected_dz[n, 1 + d] = -r / sigma / N
            expected_dz[n, 1 + D + j] += (1.0 - r * r) / sigma * da / N

    loss, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dz, expected_dz, rtol=1e-9, atol=1e-12)


@given(head_batches(), st.floats(-50.0, 50.0))
def test_shifting_every_logit_of_a_row_changes_nothing(case, shift):
    head, z, y = case
    loss, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    shifted = z.copy()
    shifted[:, : head.n_components] += shift
    loss2, cache2 = head.nll_forward(shifted, y)
    np.testing.assert_allclose(float(loss2), float(loss), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(head.nll_backward(cache2), dz, rtol=1e-8, atol=1e-10)


@given(head_batches())
def test_responsibilities_are_a_distribution_and_logit_gradients_sum_to_zero(case):
    head, z, y = case
    loss, cache = head.nll_forward(z, y)
    resp = mixture.responsibilities(y, *head.mixture(z))
    N = y.shape[0]
    for gamma in (resp, cache.resp.T):
        assert gamma.shape == (N, head.n_components)
        assert np.all(gamma >= 0) and np.all(gamma <= 1 + 1e-12)
        np.testing.assert_allclose(gamma.sum(axis=1), np.ones(N), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cache.resp.T, resp, rtol=1e-9, atol=1e-12)
    dlogits = head.split(head.nll_backward(cache)).logits
    np.testing.assert_allclose(dlogits.sum(axis=1), np.zeros(N), rtol=0, atol=1e-12)
    # and each entry is (π_k - γ_k)/N, with π the softmax of the logits
    logits = z[:, : head.n_components]
    weights = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(dlogits, (weights - resp) / N, rtol=1e-9, atol=1e-12)


@given(head_batches())
def test_head_loss_is_the_mean_of_mixture_log_prob(case):
    head, z, y = case
    loss, _ = head.nll_forward(z, y)
    log_p = mixture.log_prob(y, *head.mixture(z))
    assert log_p.shape == (y.shape[0],)
    np.testing.assert_allclose(log_p.sum(), -float(loss) * y.shape[0], rtol=1e-10, atol=1e-10)


@st.composite
def extreme_batches(draw):
    head = draw(heads())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    N, K, D = draw(st.integers(1, 8)), head.n_components, head.n_dims
    logits = draw(arrays(np.float64, (N, K), elements=st.sampled_from([-1e3, 1e3])))
    rest = draw(bounded((N, head.n_outputs - K)))
    # means lie in [-3, 3], so every target is at least 997 away from every mean
    y = draw(arrays(np.float64, (N, D), elements=st.sampled_from([-1e3, 1e3])))
    return head, np.concatenate([logits, rest], axis=1).astype(dtype), y.astype(dtype)


@given(extreme_batches())
# float32: a large log p(y) rounds to a multiple of 1/32, so responsibilities formed as
# exp(log_joint - log p) summed to 1.0057 here before they were normalised directly
@example((MixtureHead(2, 1, covariance="isotropic", scale_activation="exp", min_scale=0.0),
          np.array([[-1e3, -1e3, 0.0, 0.0, 0.0, 0.0]], dtype=np.float32),
          np.array([[-1e3]], dtype=np.float32)))
def test_extreme_logits_and_far_targets_give_finite_loss_and_gradient(case):
    head, z, y = case
    loss, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    assert np.isfinite(loss) and float(loss) > 1e3  # far targets: a large but finite NLL
    assert np.all(np.isfinite(dz))
    assert np.all(np.isfinite(mixture.log_prob(y, *head.mixture(z))))
    tol = 1e-5 if z.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(cache.resp.sum(axis=0), np.ones(y.shape[0]), rtol=0, atol=tol)


# --- moments and mode -----------------------------------------------------------------------


@given(mixtures())
def test_mean_and_variance_match_direct_sums(mix):
    log_weights, means, scales = mix
    N, K, D = means.shape
    w = np.exp(log_weights)
    w = w / w.sum(axis=1, keepdims=True)
    first = np.zeros((N, D))
    second = np.zeros((N, D))
    for n in range(N):
        for k in range(K):
            for d in range(D):
                sigma = scales[n, k, 0 if scales.shape[2] == 1 else d]
                first[n, d] += w[n, k] * means[n, k, d]
                second[n, d] += w[n, k] * (sigma ** 2 + means[n, k, d] ** 2)
    np.testing.assert_allclose(mixture.mean(log_weights, means), first, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mixture.variance(log_weights, means, scales), second - first ** 2,
                               rtol=1e-9, atol=1e-10)


@given(mixtures())
def test_approx_mode_is_the_mean_of_a_heaviest_component(mix):
    log_weights, means, _ = mix
    mode = mixture.approx_mode(log_weights, means)
    assert mode.shape == (means.shape[0], means.shape[2])
    for n in range(means.shape[0]):
        heaviest = np.flatnonzero(log_weights[n] == log_weights[n].max())  # ties: any of them
        assert any(np.allclose(mode[n], means[n, k], rtol=1e-12, atol=0) for k in heaviest)


# --- sampling -------------------------------------------------------------------------------


@given(mixtures(), st.sampled_from([0.0, 1e-3, 1e-320]), st.integers(0, 2**32 - 1))
def test_cold_sampling_draws_only_the_heaviest_component(mix, temperature, seed):
    log_weights, means, scales = mix
    # separate the heaviest weight from the rest by a factor e^0.1: at τ = 1e-3 the others
    # then have relative probability at most e^-100; at the subnormal τ = 1e-320 every
    # log π / τ overflows, and still only the heaviest may be drawn
    rows = np.arange(means.shape[0])
    top = log_weights.argmax(axis=1)
    log_weights = log_weights.copy()
    log_weights[rows, top] += 0.1
    samples = mixture.sample(log_weights, means, scales, 50, rng=seed, temperature=temperature,
                             sigma_temperature=0.0)
    assert samples.shape == (means.shape[0], 50, means.shape[2])
    expected = np.broadcast_to(means[rows, top][:, None, :], samples.shape)
    np.testing.assert_allclose(samples, expected, rtol=0, atol=1e-12)


class ConstantUniformRng(np.random.Generator):
    """A generator whose uniforms all equal one value: drives the inverse CDF to its edges."""

    def __init__(self, value):
        super().__init__(np.random.PCG64(0))
        self.value = value

    def random(self, size=None, dtype=np.float64, out=None):
        return np.full(size, self.value)


@given(st.integers(1, 4).flatmap(lambda K: arrays(np.float64, K, elements=st.floats(0.01, 1))),
       st.sampled_from([np.float32, np.float64]),
       st.sampled_from([0.0, np.nextafter(1.0, 0.0)]))
# float32 weights whose cumulative sum rounds to just below 1, with either end of [0, 1)
@example(np.array([0.45673117, 0.09213561, 0.45113322]), np.float32, np.nextafter(1.0, 0.0))
@example(np.array([0.40490534, 0.27059461, 0.32450005]), np.float32, np.nextafter(1.0, 0.0))
@example(np.array([0.40490534, 0.27059461, 0.32450005]), np.float32, 0.0)
def test_zero_weight_components_are_never_drawn(inner_weights, dtype, uniform):
    # components 0 and K-1 have weight 0; the uniform sits at either end of [0, 1)
    weights = np.concatenate([[0.0], inner_weights / inner_weights.sum(), [0.0]])
    K = weights.size
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)[None].astype(dtype)
    means = np.arange(K, dtype=dtype)[None, :, None]
    samples = mixture.sample(log_weights, means, np.ones((1, K, 1), dtype), 4,
                             rng=ConstantUniformRng(uniform), sigma_temperature=0.0)
    assert np.all((samples > 0.5) & (samples < K - 1.5)), samples.ravel()


# A fixed 1-D mixture for the statistical tests: every tolerance below is 5 standard errors of
# the estimate, and the seeds are fixed, so the tests are deterministic.
WEIGHTS = np.array([0.2, 0.5, 0.3])
MEANS = np.array([-2.0, 0.5, 3.0])
SCALES = np.array([0.5, 1.0, 0.3])
N_DRAWS = 200_000


def fixed_mixture():
    return np.log(WEIGHTS)[None, :], MEANS[None, :, None], SCALES[None, :, None]


def component_counts(samples):
    return np.array([np.count_nonzero(np.isclose(samples, m, rtol=0, atol=1e-9)) for m in MEANS])


@pytest.mark.parametrize("temperature", [0.0, 1e-3, 1e-320])
def test_cold_sampling_of_a_fixed_mixture_picks_its_heaviest_component(temperature):
    # the heaviest component (weight 0.5) is the middle one, so "always the first" fails
    samples = mixture.sample(*fixed_mixture(), 1000, rng=0, temperature=temperature,
                             sigma_temperature=0.0)
    np.testing.assert_allclose(samples, np.full((1, 1000, 1), MEANS[1]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_component_frequencies_follow_tempered_weights(temperature):
    samples = mixture.sample(*fixed_mixture(), N_DRAWS, rng=1, temperature=temperature,
                             sigma_temperature=0.0).ravel()
    counts = component_counts(samples)
    assert counts.sum() == N_DRAWS  # every sample is exactly one of the means
    p = WEIGHTS ** (1.0 / temperature)
    p /= p.sum()
    se = np.sqrt(p * (1 - p) / N_DRAWS)
    np.testing.assert_allclose(counts / N_DRAWS, p, rtol=0, atol=5 * se.max())


def test_samples_follow_the_mixture_distribution():
    samples = mixture.sample(*fixed_mixture(), N_DRAWS, rng=2).ravel()
    exact_mean = float(WEIGHTS @ MEANS)
    dev = MEANS - exact_mean
    exact_var = float(WEIGHTS @ (SCALES ** 2 + dev ** 2))
    central4 = float(WEIGHTS @ (dev ** 4 + 6 * dev ** 2 * SCALES ** 2 + 3 * SCALES ** 4))
    se_mean = math.sqrt(exact_var / N_DRAWS)
    se_var = math.sqrt((central4 - exact_var ** 2) / N_DRAWS)
    assert abs(samples.mean() - exact_mean) < 5 * se_mean
    assert abs(samples.var() - exact_var) < 5 * se_var

    # Kolmogorov-Smirnov distance to the exact CDF; 1.95/sqrt(n) is the asymptotic critical
    # value at the 0.1% level
    erf = np.frompyfunc(math.erf, 1, 1)
    x = np.sort(samples)
    cdf = sum(w * 0.5 * (1.0 + erf((x - m) / (s * math.sqrt(2.0))).astype(np.float64))
              for w, m, s in zip(WEIGHTS, MEANS, SCALES))
    i = np.arange(1, N_DRAWS + 1)
    ks = max(np.max(i / N_DRAWS - cdf), np.max(cdf - (i - 1) / N_DRAWS))
    assert ks < 1.95 / math.sqrt(N_DRAWS)


@pytest.mark.parametrize("sigma_temperature", [0.25, 1.0, 3.0])
def test_sigma_temperature_multiplies_the_variance(sigma_temperature):
    n = 100_000
    means = np.array([[[1.0, -2.0]]])  # one diagonal component in two dimensions
    scales = np.array([[[2.0, 0.5]]])
    samples = mixture.sample(np.zeros((1, 1)), means, scales, n, rng=3,
                             sigma_temperature=sigma_temperature)[0]
    expected_var = sigma_temperature * scales[0, 0] ** 2
    se_var = expected_var * math.sqrt(2.0 / (n - 1))  # a normal sample variance
    np.testing.assert_allclose(samples.var(axis=0, ddof=1), expected_var, rtol=0,
                               atol=5 * se_var.max())
    np.testing.assert_allclose(samples.mean(axis=0), means[0, 0], rtol=0,
                               atol=5 * math.sqrt(expected_var.max() / n))


def test_same_seed_gives_identical_samples():
    mix = fixed_mixture()
    first = mixture.sample(*mix, 100, rng=7)
    # bitwise reproducibility is the property, hence exact comparisons
    np.testing.assert_array_equal(mixture.sample(*mix, 100, rng=7), first)
    np.testing.assert_array_equal(mixture.sample(*mix, 100, rng=np.random.default_rng(7)), first)
    assert not np.array_equal(mixture.sample(*mix, 100, rng=8), first)


@pytest.mark.parametrize("kwargs", [
    {"temperature": -1.0},
    {"temperature": float("nan")},
    {"sigma_temperature": -0.5},
    {"sigma_temperature": float("nan")},
    {"temperature": float("inf")},
    {"sigma_temperature": float("inf")},
    {"n_samples": 0},
    {"n_samples": -3},
])
def test_bad_sampling_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        mixture.sample(*fixed_mixture(), **kwargs)


def test_a_fractional_number_of_samples_is_a_type_error():
    with pytest.raises(TypeError, match="n_samples must be an integer, got 2.5"):
        mixture.sample(*fixed_mixture(), n_samples=2.5)


# --- oracle: scipy's densities --------------------------------------------------------------


@pytest.fixture(scope="module")
def scipy_modules():
    pytest.importorskip("scipy")
    from scipy import special, stats

    return special, stats


@given(mixtures(), st.data())
def test_log_prob_matches_scipy(scipy_modules, mix, data):
    special, stats = scipy_modules
    log_weights, means, scales = mix
    N, K, D = means.shape
    y = data.draw(bounded((N, D)))
    expected = np.empty(N)
    for n in range(N):
        joint = []
        for k in range(K):
            sigma = np.broadcast_to(scales[n, k], (D,))
            if scales.shape[2] == 1:  # isotropic: a multivariate normal with covariance σ² I
                log_comp = stats.multivariate_normal.logpdf(
                    y[n], mean=means[n, k], cov=sigma[0] ** 2 * np.eye(D))
            else:  # diagonal: a product of independent normals
                log_comp = stats.norm.logpdf(y[n], loc=means[n, k], scale=sigma).sum()
            joint.append(log_weights[n, k] + log_comp)
        expected[n] = special.logsumexp(joint)
    np.testing.assert_allclose(mixture.log_prob(y, log_weights, means, scales), expected,
                               rtol=1e-9, atol=1e-9)
