"""The mixture maths under adversarial inputs: silent wrong answers and unnamed errors.

Four groups, each a case that once failed: sampling at temperatures too small (or too large)
for the weights' dtype; the head's gradient over wide values in float32 and float64 (wherever
the loss is finite the gradient must be, for every head); mismatched shapes and bad values at
the public boundary of ``mixture`` and ``MixtureHead``, while the training step and the
estimators' predictions use the unchecked path; and ``MixtureHead``'s own arguments.
"""

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mdnlite
from mdnlite import MDN, MixtureHead, datasets, mixture
from mdnlite.backend import to_host
from mdnlite.heads.mixture import COVARIANCES, SCALE_ACTIVATIONS

from strict_backend import strict

BACKENDS = {"numpy": np, "strict": strict}


# --- 1. sampling temperatures beyond the dtype's range -----------------------------------

WEIGHTS = [0.2, 0.5, 0.3]  # the heaviest is the middle one: "always the first" fails
MEANS = [-2.0, 0.5, 3.0]
# temperatures below the dtype's smallest normal number: each is the τ -> 0 limit
TINY_TEMPERATURES = {np.float32: [1e-300, 1e-45, 1e-40, 1e-39], np.float64: [1e-320, 5e-324]}


def fixed_mixture(xp, dtype, weights=WEIGHTS):
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(weights))[None]
    K = log_weights.shape[1]
    return (xp.asarray(log_weights.astype(dtype)),
            xp.asarray(np.asarray(MEANS[:K], dtype)[None, :, None]),
            xp.asarray(np.ones((1, K, 1), dtype)))


def tiny_cases():
    return [(backend, dtype, t) for backend in BACKENDS for dtype, ts in TINY_TEMPERATURES.items()
            for t in ts]


@pytest.mark.parametrize("backend, dtype, temperature", tiny_cases())
def test_a_tiny_temperature_draws_the_heaviest_component(backend, dtype, temperature):
    mix = fixed_mixture(BACKENDS[backend], dtype)
    samples = to_host(mixture.sample(*mix, 200, rng=0, temperature=temperature,
                                     sigma_temperature=0.0))
    np.testing.assert_array_equal(samples, np.full((1, 200, 1), MEANS[1], dtype))
    # the τ -> 0 limit is τ = 0 itself, draw for draw
    spread = to_host(mixture.sample(*mix, 50, rng=3, temperature=temperature))
    np.testing.assert_array_equal(spread, to_host(mixture.sample(*mix, 50, rng=3, temperature=0)))


@pytest.mark.parametrize("backend, dtype, temperature", tiny_cases())
def test_a_tiny_temperature_breaks_ties_as_argmax(backend, dtype, temperature):
    mix = fixed_mixture(BACKENDS[backend], dtype, weights=[0.25, 0.375, 0.375])
    samples = to_host(mixture.sample(*mix, 100, rng=1, temperature=temperature,
                                     sigma_temperature=0.0))
    np.testing.assert_array_equal(samples, np.full((1, 100, 1), MEANS[1], dtype))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype, temperature", [(np.float32, 1e-30), (np.float64, 1e-300)])
def test_a_small_normal_temperature_still_draws_the_heaviest_component(backend, dtype,
                                                                       temperature):
    mix = fixed_mixture(BACKENDS[backend], dtype)
    samples = to_host(mixture.sample(*mix, 200, rng=0, temperature=temperature,
                                     sigma_temperature=0.0))
    np.testing.assert_array_equal(samples, np.full((1, 200, 1), MEANS[1], dtype))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype, temperature", [(np.float32, 1e300), (np.float32, 1e39),
                                                (np.float64, 1.7e308)])
def test_a_huge_temperature_is_uniform_over_the_nonzero_weights(backend, dtype, temperature):
    # τ beyond the dtype's largest number: a zero weight would give -inf/inf = NaN
    mix = fixed_mixture(BACKENDS[backend], dtype, weights=[0.1, 0.9, 0.0])
    n = 4000
    samples = to_host(mixture.sample(*mix, n, rng=2, temperature=temperature,
                                     sigma_temperature=0.0)).ravel()
    counts = [np.count_nonzero(samples == np.asarray(m, dtype)) for m in MEANS]
    assert counts[2] == 0 and counts[0] + counts[1] == n
    assert abs(counts[0] / n - 0.5) < 5 * math.sqrt(0.25 / n)


@pytest.fixture(scope="module")
def float32_mdn():
    X, y = datasets.inverse_sine(400, direction="inverse", random_state=0)
    model = MDN(3, hidden_sizes=(8,), max_epochs=5, random_state=0, dtype="float32").fit(X, y)
    return model, X.astype(np.float32)


def test_estimator_sampling_at_a_tiny_temperature(float32_mdn):
    model, X = float32_mdn
    weights = model.predict_mixture(X).weights
    assert np.any(weights.argmax(axis=1) != 0)  # "always component 0" would be wrong
    cold = model.sample(X, 3, temperature=1e-300, sigma_temperature=0.0, random_state=0)
    np.testing.assert_allclose(cold, np.repeat(model.predict_approx_mode(X)[:, None], 3, axis=1),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(model.sample(X, 2, temperature=1e-300, random_state=4),
                                  model.sample(X, 2, temperature=0.0, random_state=4))


# --- 2. the head's gradient over wide values ---------------------------------------------

HEADS = [(c, a, m) for c in COVARIANCES for a in sorted(SCALE_ACTIVATIONS) for m in (0.0, 1e-3)]
FLOAT32_MAX = float(np.finfo(np.float32).max)


def loss_and_gradient(head, z, y):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        loss, cache = head.nll_forward(z, y)
        return float(loss), head.nll_backward(cache)


@pytest.mark.parametrize("covariance", COVARIANCES)
@pytest.mark.parametrize("min_scale", [0.0, 1e-3])
def test_exp_scale_that_overflows_float32_has_a_finite_gradient(covariance, min_scale):
    # component 0's scale exp(88.75) overflows to inf: its density is 0, the loss is that of
    # component 1, and the gradient was 0 * inf = NaN
    head = MixtureHead(2, 2, covariance, "exp", min_scale=min_scale)
    z = np.zeros((1, head.n_outputs), np.float32)
    head.split(z).scales[0, 0] = 88.75
    loss, dz = loss_and_gradient(head, z, np.ones((1, 2), np.float32))
    assert math.isfinite(loss) and np.isfinite(dz).all()
    assert (head.split(dz).scales[0, 0] == 0).all()


@pytest.mark.parametrize("covariance", COVARIANCES)
@pytest.mark.parametrize("scale_activation", sorted(SCALE_ACTIVATIONS))
def test_a_subnormal_scale_far_from_its_target_has_a_zero_gradient(covariance, scale_activation):
    # float32, no floor: σ ≈ e^-100 is subnormal and (y - μ)/σ overflows to inf; the
    # component's responsibility is 0, and 0 * inf was NaN
    head = MixtureHead(2, 1, covariance, scale_activation, min_scale=0.0)
    z = np.zeros((1, head.n_outputs), np.float32)
    head.split(z).scales[0, 1] = -100.0
    loss, dz = loss_and_gradient(head, z, np.full((1, 1), 5.0, np.float32))
    assert math.isfinite(loss) and np.isfinite(dz).all()
    assert head.split(dz).means[0, 1, 0] == 0 and head.split(dz).scales[0, 1, 0] == 0


@pytest.mark.parametrize("covariance", COVARIANCES)
def test_targets_at_the_float32_limit_give_a_finite_gradient(covariance):
    # y - μ overflows for component 0 only; component 1 sits on the target
    head = MixtureHead(2, 1, covariance)
    z = np.zeros((1, head.n_outputs), np.float32)
    head.split(z).means[0, :, 0] = [-3e38, 3e38]
    loss, dz = loss_and_gradient(head, z, np.full((1, 1), 3e38, np.float32))
    assert math.isfinite(loss) and np.isfinite(dz).all()


def wide(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_subnormal=False)


@st.composite
def wide_batches(draw, covariance, scale_activation, min_scale):
    """(head, z, y) in float64: logits ±1e3, means ±1e3, scale pre-activations and
    strictly-lower entries ±100, targets ±1e6."""
    head = MixtureHead(draw(st.integers(1, 3)), draw(st.integers(1, 3)), covariance,
                       scale_activation, min_scale=min_scale)
    N, K, D = draw(st.integers(1, 4)), head.n_components, head.n_dims
    z = np.empty((N, head.n_outputs))
    parts = head.split(z)
    parts.logits[...] = draw(arrays(np.float64, (N, K), elements=wide(-1e3, 1e3)))
    parts.means[...] = draw(arrays(np.float64, (N, K, D), elements=wide(-1e3, 1e3)))
    parts.scales[...] = draw(arrays(np.float64, parts.scales.shape, elements=wide(-100, 100)))
    parts.lower[...] = draw(arrays(np.float64, parts.lower.shape, elements=wide(-100, 100)))
    y = draw(arrays(np.float64, (N, D), elements=wide(-1e6, 1e6)))
    return head, z, y


@pytest.mark.parametrize("covariance, scale_activation, min_scale", HEADS)
@given(data=st.data())
def test_float64_gradient_is_finite_wherever_the_loss_is(covariance, scale_activation,
                                                          min_scale, data):
    head, z, y = data.draw(wide_batches(covariance, scale_activation, min_scale))
    loss, dz = loss_and_gradient(head, z, y)
    if math.isfinite(loss):
        assert np.isfinite(dz).all()


@pytest.mark.parametrize("covariance, scale_activation, min_scale", HEADS)
@given(data=st.data())
def test_float32_gradient_is_finite_wherever_it_can_be(covariance, scale_activation, min_scale,
                                                        data):
    head, z, y = data.draw(wide_batches(covariance, scale_activation, min_scale))
    z, y = z.astype(np.float32), y.astype(np.float32)
    loss, dz = loss_and_gradient(head, z, y)
    if not math.isfinite(loss):
        return
    # the float64 gradient of the same float32 values says whether the float32 one fits:
    # without a floor, a subnormal σ can make the exact gradient itself exceed float32
    loss64, dz64 = loss_and_gradient(head, z.astype(np.float64), y.astype(np.float64))
    assert math.isfinite(loss64) and np.isfinite(dz64).all()
    # ... if float32 holds the same mixture: a σ beyond its range (exp(89) = inf) removes a
    # component that float64 keeps, and the float32 loss is then of another mixture
    same_mixture = abs(loss - loss64) <= 1e-3 * max(1.0, abs(loss64))
    if same_mixture and np.abs(dz64).max() < 1e-6 * FLOAT32_MAX:
        assert np.isfinite(dz).all()


# --- 3. the public boundary: shapes and values -------------------------------------------

N, K, D = 4, 3, 2


def valid(kind="diagonal"):
    """A valid (y, log_weights, means, scales) batch, float64."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(N, K))
    log_weights = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    means = rng.normal(size=(N, K, D))
    if kind == "full":
        scales = np.tril(rng.normal(size=(N, K, D, D)), -1) + np.eye(D) * 0.5
    else:
        scales = rng.uniform(0.5, 1.5, size=(N, K, 1 if kind == "isotropic" else D))
    return rng.normal(size=(N, D)), log_weights, means, scales


def call(name, y, log_weights, means, scales):
    """Call mixture.<name> with the arguments it takes."""
    if name == "component_log_density":
        return mixture.component_log_density(y, means, scales)
    if name in ("log_prob", "responsibilities"):
        return getattr(mixture, name)(y, log_weights, means, scales)
    if name in ("mean", "approx_mode"):
        return getattr(mixture, name)(log_weights, means)
    if name == "sample":
        return mixture.sample(log_weights, means, scales, 2, rng=0)
    return getattr(mixture, name)(log_weights, means, scales)


FUNCTIONS = ["log_prob", "responsibilities", "mean", "variance", "covariance", "approx_mode",
             "sample", "component_log_density"]
TAKES = {
    "y": {"log_prob", "responsibilities", "component_log_density"},
    "log_weights": set(FUNCTIONS) - {"component_log_density"},
    "scales": set(FUNCTIONS) - {"mean", "approx_mode"},
    "means": set(FUNCTIONS),
}
# the functions whose result depends on the weights' total (the others use only ratios)
NORMALISED = {"log_prob", "mean", "variance", "covariance"}


def _set(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def _with_upper(a):
    a = a.copy()
    a[1, 2, 0, 1] = 0.3
    return a


# (argument, kind, how to break it, the message it must give)
BAD_ARRAYS = [
    ("y", "diagonal", lambda a: a[:, :1], r"y .*\(4, 1\).*D = 2"),
    ("y", "diagonal", lambda a: a[:3], r"y has 3 rows.*batch of 4"),
    ("y", "diagonal", lambda a: a[:, 0], r"y must be 2-D \(N, D\).*\(4,\)"),
    ("y", "diagonal", lambda a: _set(a, (0, 1), np.nan), r"y contains NaN or infinity"),
    ("y", "full", lambda a: _set(a, (2, 0), np.inf), r"y contains NaN or infinity"),
    ("log_weights", "diagonal", lambda a: a[:, :2], r"log_weights .*\(4, 2\).*K = 3"),
    ("log_weights", "diagonal", lambda a: a[:3], r"log_weights .*\(3, 3\).*batch"),
    ("log_weights", "diagonal", lambda a: a[0], r"log_weights must be 2-D \(N, K\).*\(3,\)"),
    ("log_weights", "diagonal", lambda a: _set(a, (1, 1), np.nan), r"log_weights .*NaN"),
    ("log_weights", "full", lambda a: _set(a, (0, 0), np.inf), r"log_weights .*\+inf"),
    ("log_weights", "diagonal", lambda a: _set(a, 2, -np.inf), r"log_weights .*row 2.*zero"),
    ("means", "diagonal", lambda a: a[:, :, 0], r"means must be 3-D \(N, K, D\).*\(4, 3\)"),
    ("means", "diagonal", lambda a: a[:, :2], r"means \(4, 2, 2\)"),
    ("means", "diagonal", lambda a: _set(a, (0, 1, 1), np.nan), r"means contains NaN"),
    ("means", "isotropic", lambda a: _set(a, (3, 2, 0), -np.inf), r"means contains NaN"),
    ("scales", "diagonal", lambda a: a[:, :2], r"scales .*\(4, 2, 2\).*means \(4, 3, 2\)"),
    ("scales", "diagonal", lambda a: np.concatenate([a, a[:, :, :1]], axis=2),
     r"scales .*\(4, 3, 3\)"),
    ("scales", "diagonal", lambda a: a[:2], r"scales .*\(2, 3, 2\)"),
    ("scales", "diagonal", lambda a: a[:, :, :, None], r"scales .*\(4, 3, 2, 1\)"),
    ("scales", "full", lambda a: a[..., :1, :1], r"scales .*\(4, 3, 1, 1\)"),
    ("scales", "diagonal", lambda a: _set(a, (0, 0, 0), 0.0), r"scales must be positive"),
    ("scales", "isotropic", lambda a: _set(a, (1, 2, 0), -0.5), r"scales must be positive"),
    ("scales", "diagonal", lambda a: _set(a, (2, 1, 1), np.nan), r"scales must be positive"),
    ("scales", "diagonal", lambda a: _set(a, (2, 1, 1), np.inf), r"scales must be positive"),
    ("scales", "full", lambda a: _set(a, (0, 1, 1, 1), -0.5), r"diagonal .*positive"),
    ("scales", "full", lambda a: _set(a, (0, 1, 1, 1), 0.0), r"diagonal .*positive"),
    ("scales", "full", lambda a: _set(a, (3, 0, 1, 0), np.nan), r"scales .*NaN"),
    ("scales", "full", _with_upper, r"lower-triangular"),
]
TYPE_ERRORS = [
    ("means", lambda a: a.astype(complex)), ("y", lambda a: a > 0),
    ("log_weights", lambda a: a.astype(str)), ("scales", lambda a: a.astype(object)),
]


def _bad_array_cases():
    cases = []
    for argument, kind, breaking, match in BAD_ARRAYS:
        for name in FUNCTIONS:
            if name in TAKES[argument]:
                cases.append(pytest.param(name, argument, kind, breaking, match,
                                          id=f"{name}-{argument}-{len(cases)}"))
    return cases


@pytest.mark.parametrize("name, argument, kind, breaking, match", _bad_array_cases())
def test_bad_arrays_get_a_value_error_naming_them(name, argument, kind, breaking, match):
    args = dict(zip(("y", "log_weights", "means", "scales"), valid(kind)))
    args[argument] = breaking(args[argument])
    with pytest.raises(ValueError, match=match):
        call(name, **args)


@pytest.mark.parametrize("name, argument, breaking", [
    pytest.param(name, argument, breaking, id=f"{name}-{argument}")
    for argument, breaking in TYPE_ERRORS for name in FUNCTIONS if name in TAKES[argument]])
def test_non_real_arrays_get_a_type_error_naming_them(name, argument, breaking):
    args = dict(zip(("y", "log_weights", "means", "scales"), valid()))
    args[argument] = breaking(args[argument])
    with pytest.raises(TypeError, match=argument):
        call(name, **args)


NOT_LOG_WEIGHTS = {
    "weights": lambda lw: np.exp(lw),  # the weights themselves, not their logs
    "logits": lambda lw: lw + 1.0,
    "one dropped": lambda lw: _set(lw, (0, 0), -np.inf),
}


@pytest.mark.parametrize("mistake", NOT_LOG_WEIGHTS)
@pytest.mark.parametrize("name", sorted(NORMALISED))
def test_unnormalised_log_weights_are_refused_where_the_total_matters(name, mistake):
    y, log_weights, means, scales = valid()
    with pytest.raises(ValueError, match=r"log_weights .*not normalised"):
        call(name, y, NOT_LOG_WEIGHTS[mistake](log_weights), means, scales)


@pytest.mark.parametrize("name", sorted(set(TAKES["log_weights"]) - NORMALISED))
def test_functions_of_weight_ratios_take_unnormalised_log_weights(name):
    y, log_weights, means, scales = valid()
    expected = call(name, y, log_weights, means, scales)
    np.testing.assert_allclose(call(name, y, log_weights + 2.0, means, scales), expected,
                               rtol=1e-12)


def _first(result):
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("kind", ["isotropic", "diagonal", "full"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_zero_weights_float32_rounding_and_one_mixture_for_all_are_accepted(name, kind):
    y, log_weights, means, scales = valid(kind)
    log_weights[:, 0] = -np.inf  # a legitimate zero weight, the other two renormalised
    log_weights[:, 1:] -= np.log(np.exp(log_weights[:, 1:]).sum(axis=1, keepdims=True))
    assert np.all(np.isfinite(_first(call(name, y, log_weights, means, scales))))
    single = call(name, *(a.astype(np.float32) for a in (y, log_weights, means, scales)))
    assert np.all(np.isfinite(_first(single)))
    if name in TAKES["y"]:  # one mixture (a batch of 1) for every target, as GaussianMixture
        params = (log_weights[:1], means[:1], scales[:1])
        repeated = (np.repeat(a, N, axis=0) for a in params)
        np.testing.assert_allclose(_first(call(name, y, *params)),
                                   _first(call(name, y, *repeated)), rtol=1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_checks_run_on_device_arrays(name):
    args = [strict.asarray(a) for a in valid()]
    call(name, *args)  # valid: no host conversion in the checks
    args[3] = strict.asarray(_set(valid()[3], (0, 0, 0), -1.0))
    if name in TAKES["scales"]:
        with pytest.raises(ValueError, match="scales must be positive"):
            call(name, *args)


def head_and_batch(covariance="diagonal"):
    head = MixtureHead(3, 2, covariance)
    rng = np.random.default_rng(1)
    return head, rng.normal(size=(5, head.n_outputs)), rng.normal(size=(5, 2))


BAD_HEAD_CALLS = [
    ("nll_forward", lambda z, y: (z[:, :-1], y), r"z must be \(N, 15\).*\(5, 14\)"),
    ("nll_forward", lambda z, y: (np.concatenate([z, z[:, :3]], axis=1), y),
     r"z must be \(N, 15\).*\(5, 18\)"),
    ("nll_forward", lambda z, y: (z[0], y), r"z must be \(N, 15\).*\(15,\)"),
    ("nll_forward", lambda z, y: (z[None], y), r"z must be \(N, 15\).*\(1, 5, 15\)"),
    ("nll_forward", lambda z, y: (z, y[:, :1]), r"y must be \(N, D\) = \(5, 2\).*\(5, 1\)"),
    ("nll_forward", lambda z, y: (z, y[:4]), r"y must be \(N, D\) = \(5, 2\).*\(4, 2\)"),
    ("nll_forward", lambda z, y: (z, y[:, 0]), r"y must be \(N, D\) = \(5, 2\).*\(5,\)"),
    ("nll_forward", lambda z, y: (z, np.concatenate([y, y], axis=1)), r"y must be .*\(5, 4\)"),
    ("nll_forward", lambda z, y: (z[:0], y[:0]), r"z holds no samples"),
    ("mixture", lambda z, y: (z[:, :-1],), r"z must be \(N, 15\).*\(5, 14\)"),
    ("mixture", lambda z, y: (z[0],), r"z must be \(N, 15\).*\(15,\)"),
    ("split", lambda z, y: (z[:, :12],), r"z must be \(N, 15\).*\(5, 12\)"),
    ("split", lambda z, y: (z.reshape(15, 5),), r"z must be \(N, 15\).*\(15, 5\)"),
]


@pytest.mark.parametrize("method, breaking, match", BAD_HEAD_CALLS)
def test_head_calls_with_bad_shapes_name_the_argument(method, breaking, match):
    head, z, y = head_and_batch()
    with pytest.raises(ValueError, match=match):
        getattr(head, method)(*breaking(z, y))


@pytest.mark.parametrize("method", ["nll_forward", "mixture", "split"])
def test_head_calls_with_non_real_outputs_get_a_type_error(method):
    head, z, y = head_and_batch()
    args = (z.astype(np.int64), y) if method == "nll_forward" else (z.astype(np.int64),)
    with pytest.raises(TypeError, match="z must hold floating-point"):
        getattr(head, method)(*args)
    with pytest.raises(TypeError, match="z must be an array"):
        getattr(head, method)(*((z.tolist(), y) if method == "nll_forward" else (z.tolist(),)))


def test_full_head_checks_its_width_too():
    head, z, y = head_and_batch("full")
    assert head.n_outputs == 18
    with pytest.raises(ValueError, match=r"z must be \(N, 18\).*\(5, 15\)"):
        head.nll_forward(z[:, :15], y)


def test_training_and_predictions_take_the_unchecked_path(monkeypatch, float32_mdn):
    model, X = float32_mdn

    def refuse(*args, **kwargs):
        raise AssertionError("a checked public function was called on the hot path")

    monkeypatch.setattr(MixtureHead, "nll_forward", refuse)
    monkeypatch.setattr(mixture, "_check_mixture", refuse)
    MDN(3, hidden_sizes=(8,), max_epochs=2, random_state=0).fit(
        X[:100], model.predict(X[:100]), validation_split=0.2)
    for method in ("predict", "predict_variance", "predict_covariance", "predict_mode",
                   "predict_mixture", "sample"):
        getattr(model, method)(X[:10])


# --- 4. MixtureHead's own arguments ------------------------------------------------------

BAD_HEAD_ARGUMENTS = [
    (dict(n_components=float("inf")), TypeError, "n_components"),
    (dict(n_components=float("nan")), TypeError, "n_components"),
    (dict(n_components=True), TypeError, "n_components"),
    (dict(n_components=False), TypeError, "n_components"),
    (dict(n_components="3"), TypeError, "n_components"),
    (dict(n_components=2.5), TypeError, "n_components"),
    (dict(n_components=3.0), TypeError, "n_components"),
    (dict(n_components=None), TypeError, "n_components"),
    (dict(n_components=0), ValueError, "n_components"),
    (dict(n_components=-2), ValueError, "n_components"),
    (dict(n_components=np.int64(0)), ValueError, "n_components"),
    (dict(n_dims=None), TypeError, "n_dims"),
    (dict(n_dims=True), TypeError, "n_dims"),
    (dict(n_dims=float("inf")), TypeError, "n_dims"),
    (dict(n_dims="2"), TypeError, "n_dims"),
    (dict(n_dims=1.5), TypeError, "n_dims"),
    (dict(n_dims=0), ValueError, "n_dims"),
    (dict(min_scale=float("nan")), ValueError, "min_scale"),
    (dict(min_scale=float("inf")), ValueError, "min_scale"),
    (dict(min_scale=-1e-3), ValueError, "min_scale"),
    (dict(min_scale=True), TypeError, "min_scale"),
    (dict(min_scale="0.1"), TypeError, "min_scale"),
    (dict(min_scale=None), TypeError, "min_scale"),
    (dict(covariance="spherical"), ValueError, "covariance"),
    (dict(covariance=None), ValueError, "covariance"),
    (dict(covariance=["diagonal"]), ValueError, "covariance"),
    (dict(scale_activation="relu"), ValueError, "scale_activation"),
    (dict(scale_activation=None), ValueError, "scale_activation"),
    (dict(scale_activation=["exp"]), ValueError, "scale_activation"),
]


@pytest.mark.parametrize("kwargs, error, name", BAD_HEAD_ARGUMENTS,
                         ids=[repr(k) for k, _, _ in BAD_HEAD_ARGUMENTS])
def test_bad_head_arguments_are_named(kwargs, error, name):
    arguments = dict(n_components=3, n_dims=2)
    arguments.update(kwargs)
    with pytest.raises(error, match=f"^{name} "):
        MixtureHead(**arguments)


def test_numpy_integers_and_floats_are_accepted():
    head = MixtureHead(np.int64(3), np.int32(2), min_scale=np.float32(0.01))
    assert (head.n_components, head.n_dims) == (3, 2)
    assert type(head.n_components) is int and type(head.min_scale) is float


def test_head_defaults_are_the_mdns():
    head, mdn = inspect.signature(MixtureHead).parameters, inspect.signature(MDN).parameters
    for name in ("covariance", "scale_activation", "min_scale"):
        assert head[name].default == mdn[name].default, name
    default = MixtureHead(2)
    assert (default.covariance, default.scale_activation, default.min_scale) == \
        ("diagonal", "softplus", 1e-3)
