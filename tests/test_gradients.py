"""Hand-derived gradients against central differences, in float64, over drawn shapes and values.

Every layer and activation, the head in every covariance x scale activation x floor
combination, and whole networks end to end. Layers are checked with the "fake loss"
L = Σ y ⊙ dy for a random dy, whose gradient with respect to the layer output is dy.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mdnlite import ELU, Dense, MixtureHead, ReLU, mlp
from mdnlite.nn.gradcheck import (
    directional_derivative_error,
    gradient_error,
    numerical_gradient,
    relative_error,
)
from mdnlite.heads.mixture import COVARIANCES, SCALE_ACTIVATIONS
from mdnlite.nn.layers import ACTIVATIONS, make_activation

RTOL = 1e-6


def values(shape, bound=3.0):
    return arrays(np.float64, shape, elements=st.floats(-bound, bound, allow_subnormal=False))


def nonzero_values(shape, bound=3.0, gap=1e-3):
    """Values with |v| in [gap, bound]: clear of the kinks that some activations have at 0."""
    magnitude = st.floats(gap, bound)
    return arrays(np.float64, shape, elements=st.one_of(magnitude, magnitude.map(lambda v: -v)))


@st.composite
def dense_case(draw):
    N, n_in, n_out = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    x = draw(nonzero_values((N, n_in), gap=1e-2))  # not all tiny: dW would vanish with it
    dy = draw(nonzero_values((N, n_out), gap=1e-2))
    return x, dy, draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from(["glorot", "he"]))


@given(dense_case())
def test_dense_gradients(case):
    x, dy, seed, init = case
    layer = Dense(x.shape[1], dy.shape[1], rng=np.random.default_rng(seed), init=init,
                  dtype=np.float64)
    layer.params[1][...] = np.random.default_rng(seed + 1).normal(size=dy.shape[1])
    layer.forward(x)
    dx = layer.backward(dy)
    analytic_W, analytic_b = (g.copy() for g in layer.grads)

    def fake_loss():
        return float((layer.forward(x) * dy).sum())

    # a gradient that cancels to 0 (Σ_n dy = 0 for b) leaves central differences only their
    # rounding noise, about 1e-16 |f| / ε: measured against a floor of 1e-3 of the size of
    # the terms that cancel, which a wrong gradient of any size still fails by far
    floor = 1e-3 * float(np.abs(dy).sum()) * max(1.0, float(np.abs(x).max()),
                                                 float(np.abs(layer.params[0]).max()))
    assert gradient_error(fake_loss, x, dx, floor=floor) <= RTOL
    assert gradient_error(fake_loss, layer.params[0], analytic_W, floor=floor) <= RTOL
    assert gradient_error(fake_loss, layer.params[1], analytic_b, floor=floor) <= RTOL


def test_dense_backward_overwrites_gradients():
    rng = np.random.default_rng(0)
    layer = Dense(3, 2, rng=rng, dtype=np.float64)
    x, dy = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    layer.forward(x)
    layer.backward(dy)
    first = [g.copy() for g in layer.grads]
    layer.forward(x)
    layer.backward(dy)
    for g, g0 in zip(layer.grads, first):
        np.testing.assert_allclose(g, g0, rtol=1e-15)  # not 2x: no accumulation


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(x=nonzero_values((4, 3), bound=4.0), dy=values((4, 3)))
def test_activation_gradients(name, x, dy):
    act = make_activation(name)

    def fake_loss():
        return float((act.forward(x) * dy).sum())

    act.forward(x)
    dx = act.backward(dy)
    assert gradient_error(fake_loss, x, dx) <= RTOL


@st.composite
def head_case(draw, covariance, scale_activation):
    K, D, N = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    head = MixtureHead(K, D, covariance, scale_activation,
                       min_scale=draw(st.sampled_from([0.0, 0.05, 0.5])))
    z = draw(nonzero_values((N, head.n_outputs)))  # elu1's second derivative jumps at 0
    y = draw(values((N, D)))
    return head, z, y


@pytest.mark.parametrize("covariance", COVARIANCES)
@pytest.mark.parametrize("scale_activation", sorted(SCALE_ACTIVATIONS))
@given(data=st.data())
def test_head_gradient(covariance, scale_activation, data):
    head, z, y = data.draw(head_case(covariance, scale_activation))
    _, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    assert dz.shape == z.shape
    assert gradient_error(lambda: head.nll_forward(z, y)[0], z, dz) <= RTOL


@st.composite
def network_case(draw):
    D_in, D = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 6), min_size=0, max_size=2))
    head = MixtureHead(draw(st.integers(1, 3)), D, draw(st.sampled_from(COVARIANCES)),
                       draw(st.sampled_from(sorted(SCALE_ACTIVATIONS))),
                       min_scale=draw(st.sampled_from([0.0, 0.1])))
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    net = mlp([D_in, *hidden, head.n_outputs], activation,
              rng=np.random.default_rng(draw(st.integers(0, 2**32 - 1))), dtype=np.float64)
    N = draw(st.integers(1, 6))
    return net, head, draw(nonzero_values((N, D_in), bound=2.0)), draw(values((N, D), bound=2.0))


def distance_to_kinks(net, head, x):
    """Smallest |pre-activation| feeding a unit that has a kink at 0."""
    smallest = np.inf
    for layer in net.layers:
        if isinstance(layer, (ReLU, ELU)):
            smallest = min(smallest, np.abs(x).min())
        x = layer.forward(x)
    if head.scale_activation == "elu1":
        smallest = min(smallest, np.abs(head.split(x).scales).min())
    return smallest


@given(network_case())
def test_network_end_to_end_gradient(case):
    net, head, x, y = case

    def loss():
        return head.nll_forward(net.forward(x), y)[0]

    # a kink (relu, elu, elu1 at 0) inside the difference step makes central differences
    # straddle two branches; such rare draws are set aside rather than loosening the tolerance
    assume(distance_to_kinks(net, head, x) > 1e-4)
    _, cache = head.nll_forward(net.forward(x), y)
    dx = net.backward(head.nll_backward(cache), need_dx=True)
    grads = [g.copy() for g in net.grads]
    numerical = [numerical_gradient(loss, p) for p in net.params]
    # all parameters as one vector: a layer whose gradient vanishes (saturated units) is
    # judged against the whole gradient, not against its own rounding noise
    assert relative_error(np.concatenate([g.ravel() for g in grads]),
                          np.concatenate([g.ravel() for g in numerical])) <= RTOL
    assert gradient_error(loss, x, dx, floor=1e-3) <= RTOL
    # judged on the gradient's own scale: a random direction nearly orthogonal to it leaves a
    # directional derivative too small for central differences to resolve relatively
    norm = float(np.sqrt(sum((g * g).sum() for g in grads)))
    assert directional_derivative_error(loss, net.params, grads, rng=0, floor=norm) <= RTOL


def test_network_backward_overwrites_and_skips_input_gradient():
    rng = np.random.default_rng(1)
    head = MixtureHead(2, 1)
    net = mlp([1, 4, head.n_outputs], "tanh", rng=rng, dtype=np.float64)
    x, y = rng.normal(size=(5, 1)), rng.normal(size=(5, 1))
    _, cache = head.nll_forward(net.forward(x), y)
    assert net.backward(head.nll_backward(cache)) is None
    first = net.flat_grads.copy()
    _, cache = head.nll_forward(net.forward(x), y)
    net.backward(head.nll_backward(cache))
    np.testing.assert_allclose(net.flat_grads, first, rtol=1e-15)
    for p, g in zip(net.params, net.grads):  # the lists are views of the flat buffers
        assert np.shares_memory(p, net.flat_params) and np.shares_memory(g, net.flat_grads)


def test_large_network_directional_check():
    rng = np.random.default_rng(2)
    head = MixtureHead(5, 2, "diagonal", "softplus", min_scale=0.01)
    net = mlp([3, 64, 64, head.n_outputs], "elu", rng=rng, dtype=np.float64)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 2))

    def loss():
        return head.nll_forward(net.forward(x), y)[0]

    _, cache = head.nll_forward(net.forward(x), y)
    net.backward(head.nll_backward(cache))
    grads = [g.copy() for g in net.grads]
    for seed in range(3):
        assert directional_derivative_error(loss, net.params, grads, rng=seed) <= RTOL


@pytest.mark.parametrize("covariance", COVARIANCES)
@pytest.mark.parametrize("scale_activation", sorted(SCALE_ACTIVATIONS))
def test_collapsed_component_far_from_target_has_zero_not_nan_gradient(covariance,
                                                                       scale_activation):
    # component 1 has a scale near 1e-22 and sits 1 away from y: its u² overflows float32,
    # its responsibility is 0, and so must be every gradient that flows through it (no floor,
    # or the scale could not get so small)
    head = MixtureHead(2, 2, covariance, scale_activation, min_scale=0.0)
    z = np.zeros((1, head.n_outputs), np.float32)
    head.split(z).scales[0, 1] = -50.0
    y = np.ones((1, 2), np.float32)
    with np.errstate(over="ignore"):
        loss, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    assert np.isfinite(loss) and np.isfinite(dz).all()
    collapsed = head.split(dz)
    assert collapsed.means[0, 1].tolist() == [0.0, 0.0]
    assert (collapsed.scales[0, 1] == 0).all()
