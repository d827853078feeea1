"""Optimizers against hand-worked steps of their documented formulas, and their contracts.

The expected numbers are the arithmetic of each docstring's update rule written out for a
three-element array in float64, so a wrong coefficient, a missing bias correction or a state
that is not carried between steps shows up as a wrong number.
"""

import math

import numpy as np
import pytest

from mdnlite import SGD, Adam, RMSProp
from mdnlite.nn.optim import make_optimizer

P0 = [1.0, -2.0, 0.5]
G1 = [0.5, 1.0, -2.0]
G2 = [1.0, 0.0, -1.0]


def two_steps(opt):
    """Apply G1 then G2 to a copy of P0; return the parameters after each step."""
    p = np.array(P0)
    opt.step([p], [np.array(G1)])
    after_one = p.copy()
    opt.step([p], [np.array(G2)])
    return after_one, p


# --- one and two steps by hand --------------------------------------------------------------


def test_sgd_steps_by_hand():
    one, two = two_steps(SGD(learning_rate=0.1))
    # p ← p - η g
    np.testing.assert_allclose(one, [1.0 - 0.05, -2.0 - 0.1, 0.5 + 0.2], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(two, [0.95 - 0.1, -2.1 - 0.0, 0.7 + 0.1], rtol=1e-14, atol=1e-15)


def test_sgd_momentum_steps_by_hand():
    one, two = two_steps(SGD(learning_rate=0.1, momentum=0.9))
    # v ← μ v - η g;  p ← p + v.  Step 1: v = -0.1 G1 = [-0.05, -0.1, 0.2]
    np.testing.assert_allclose(one, [0.95, -2.1, 0.7], rtol=1e-14, atol=1e-15)
    # step 2: v = 0.9 [-0.05, -0.1, 0.2] - 0.1 G2 = [-0.145, -0.09, 0.28]
    np.testing.assert_allclose(two, [0.95 - 0.145, -2.1 - 0.09, 0.7 + 0.28], rtol=1e-14,
                               atol=1e-15)


def test_rmsprop_steps_by_hand():
    one, two = two_steps(RMSProp(learning_rate=0.01, rho=0.9, eps=1e-7))
    # s ← ρ s + (1 - ρ) g²;  p ← p - η g / (sqrt(s) + ε).
    # step 1: s = 0.1 G1² = [0.025, 0.1, 0.4]
    expected_one = [
        1.0 - 0.01 * 0.5 / (math.sqrt(0.025) + 1e-7),
        -2.0 - 0.01 * 1.0 / (math.sqrt(0.1) + 1e-7),
        0.5 + 0.01 * 2.0 / (math.sqrt(0.4) + 1e-7),
    ]
    np.testing.assert_allclose(one, expected_one, rtol=1e-13, atol=1e-15)
    # step 2: s = 0.9 [0.025, 0.1, 0.4] + 0.1 G2² = [0.1225, 0.09, 0.46]
    expected_two = [
        expected_one[0] - 0.01 * 1.0 / (0.35 + 1e-7),
        expected_one[1],  # g = 0: no move, though s decays
        expected_one[2] + 0.01 * 1.0 / (math.sqrt(0.46) + 1e-7),
    ]
    np.testing.assert_allclose(two, expected_two, rtol=1e-13, atol=1e-15)


def test_adam_steps_by_hand_with_bias_correction():
    one, two = two_steps(Adam(learning_rate=0.1, beta1=0.9, beta2=0.999, eps=1e-8))
    # step 1: m = 0.1 G1, v = 0.001 G1²; m̂ = m / 0.1 = G1, v̂ = v / 0.001 = G1²,
    # so p ← p - 0.1 g / (|g| + ε)
    expected_one = [
        1.0 - 0.1 * 0.5 / (0.5 + 1e-8),
        -2.0 - 0.1 * 1.0 / (1.0 + 1e-8),
        0.5 + 0.1 * 2.0 / (2.0 + 1e-8),
    ]
    np.testing.assert_allclose(one, expected_one, rtol=1e-13, atol=1e-15)
    # step 2: m = 0.9 (0.1 G1) + 0.1 G2 = [0.145, 0.09, -0.28]
    #         v = 0.999 (0.001 G1²) + 0.001 G2² = [0.00124975, 0.000999, 0.004996]
    #         m̂ = m / (1 - 0.9²) = m / 0.19,  v̂ = v / (1 - 0.999²) = v / 0.001999
    m = [0.145, 0.09, -0.28]
    v = [0.00124975, 0.000999, 0.004996]
    expected_two = [
        p - 0.1 * (mi / 0.19) / (math.sqrt(vi / 0.001999) + 1e-8)
        for p, mi, vi in zip(expected_one, m, v)
    ]
    np.testing.assert_allclose(two, expected_two, rtol=1e-12, atol=1e-15)


# --- weight decay and clipping --------------------------------------------------------------


def test_weight_decay_adds_lambda_p_to_the_gradient():
    p = np.array(P0)
    SGD(learning_rate=0.1, weight_decay=0.5).step([p], [np.array(G1)])
    # g + λ p = [0.5 + 0.5, 1.0 - 1.0, -2.0 + 0.25] = [1.0, 0.0, -1.75]
    np.testing.assert_allclose(p, [1.0 - 0.1, -2.0, 0.5 + 0.175], rtol=1e-14, atol=1e-15)

    p = np.array(P0)
    Adam(learning_rate=0.1, weight_decay=0.5).step([p], [np.array(G1)])
    # Adam's first step moves by η g/(|g| + ε): the decayed gradient 0 leaves p[1] where it was
    expected = [1.0 - 0.1 * 1.0 / (1.0 + 1e-8), -2.0, 0.5 + 0.1 * 1.75 / (1.75 + 1e-8)]
    np.testing.assert_allclose(p, expected, rtol=1e-13, atol=1e-15)


def test_clip_norm_scales_by_the_global_norm_of_all_gradients():
    a, b = np.zeros(2), np.zeros(1)
    # ‖g‖ over both arrays = ‖(3, 0, 4)‖ = 5; clip at 1 scales every gradient by 1/5
    SGD(learning_rate=1.0, clip_norm=1.0).step([a, b], [np.array([3.0, 0.0]), np.array([4.0])])
    np.testing.assert_allclose(a, [-0.6, 0.0], rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(b, [-0.8], rtol=1e-11, atol=1e-15)

    a, b = np.zeros(2), np.zeros(1)
    # a norm below the threshold is left alone
    SGD(learning_rate=1.0, clip_norm=10.0).step([a, b], [np.array([3.0, 0.0]), np.array([4.0])])
    np.testing.assert_allclose(a, [-3.0, 0.0], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(b, [-4.0], rtol=1e-14, atol=1e-15)


def test_clipping_acts_after_weight_decay():
    p = np.array([1.0, 0.0])
    SGD(learning_rate=1.0, weight_decay=1.0, clip_norm=1.0).step([p], [np.array([2.0, 4.0])])
    # g + λ p = (3, 4), norm 5, clipped to (0.6, 0.8); clipping first would give
    # (2, 4)/sqrt(20) + (1, 0) = (1.447..., 0.894...) instead
    np.testing.assert_allclose(p, [1.0 - 0.6, -0.8], rtol=1e-11, atol=1e-15)


# --- contracts ------------------------------------------------------------------------------

OPTIMIZER_FACTORIES = {
    "sgd": lambda: SGD(learning_rate=0.05),
    "sgd-momentum": lambda: SGD(learning_rate=0.02, momentum=0.9),
    "rmsprop": lambda: RMSProp(learning_rate=0.003),
    "adam": lambda: Adam(learning_rate=0.05),
}

A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])  # symmetric positive definite
C = np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize("name", sorted(OPTIMIZER_FACTORIES))
def test_converges_on_a_quadratic_split_over_two_arrays(name):
    # f(p) = ½ (p - c)ᵀ A (p - c) with p held as two arrays of different shapes
    opt = OPTIMIZER_FACTORIES[name]()
    head, tail = np.zeros(2), np.zeros((1, 1))
    for _ in range(3000):
        grad = A @ (np.concatenate([head, tail.ravel()]) - C)
        opt.step([head, tail], [grad[:2], grad[2:].reshape(1, 1)])
    np.testing.assert_allclose(np.concatenate([head, tail.ravel()]), C, rtol=0, atol=1e-2)


@pytest.mark.parametrize("name", sorted(OPTIMIZER_FACTORIES))
def test_updates_are_in_place_and_leave_the_gradients_alone(name):
    opt = OPTIMIZER_FACTORIES[name]()
    flat = np.array([1.0, -2.0, 0.5, 3.0, -1.0], dtype=np.float32)
    params = [flat[:3], flat[3:].reshape(2, 1)]  # views, as Sequential hands them out
    grads = [np.array([0.5, 1.0, -2.0], np.float32), np.array([[1.0], [-1.0]], np.float32)]
    before, grads_before = flat.copy(), [g.copy() for g in grads]
    views = list(params)
    opt.step(params, grads)
    assert all(p is v for p, v in zip(params, views))
    assert all(np.shares_memory(p, flat) for p in params)
    assert all(p.dtype == np.float32 for p in params)
    # every element has a non-zero gradient, so every element of the buffer must have moved
    assert np.all(np.abs(flat - before) > 1e-4)
    for g, g0 in zip(grads, grads_before):
        np.testing.assert_allclose(g, g0, rtol=0, atol=0)


@pytest.mark.parametrize("make", [
    lambda: SGD(learning_rate=0.1, momentum=0.5, weight_decay=0.1, clip_norm=1.0),
    lambda: RMSProp(learning_rate=0.01, weight_decay=0.1, clip_norm=1.0),
    lambda: Adam(learning_rate=0.01, weight_decay=0.1, clip_norm=1.0),
])
def test_a_list_of_arrays_steps_like_one_concatenated_array(make):
    rng = np.random.default_rng(0)
    shapes = [(2, 3), (4,), (1, 1)]
    params = [rng.standard_normal(s) for s in shapes]
    flat = np.concatenate([p.ravel() for p in params])
    split_opt, flat_opt = make(), make()
    for _ in range(3):  # several steps: each array must keep its own state
        grads = [rng.standard_normal(s) for s in shapes]
        split_opt.step(params, grads)
        flat_opt.step([flat], [np.concatenate([g.ravel() for g in grads])])
    np.testing.assert_allclose(np.concatenate([p.ravel() for p in params]), flat, rtol=1e-12,
                               atol=1e-14)


def test_step_rejects_mismatched_lists():
    opt = Adam()
    with pytest.raises(ValueError):
        opt.step([np.zeros(2), np.zeros(3)], [np.zeros(2)])
    opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError):  # the state was built for one array
        opt.step([np.zeros(2), np.zeros(3)], [np.ones(2), np.ones(3)])


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("cls, kwargs", [
    (SGD, {"learning_rate": 0.0}),
    (SGD, {"learning_rate": -0.1}),
    (SGD, {"learning_rate": NAN}),
    (SGD, {"learning_rate": INF}),
    (SGD, {"momentum": -0.1}),
    (SGD, {"momentum": 1.0}),
    (SGD, {"momentum": NAN}),
    (SGD, {"weight_decay": -1e-3}),
    (SGD, {"weight_decay": NAN}),
    (SGD, {"clip_norm": 0.0}),
    (SGD, {"clip_norm": -1.0}),
    (SGD, {"clip_norm": NAN}),
    (RMSProp, {"learning_rate": 0.0}),
    (RMSProp, {"rho": 1.0}),
    (RMSProp, {"rho": -0.5}),
    (RMSProp, {"eps": 0.0}),
    (Adam, {"learning_rate": NAN}),
    (Adam, {"beta1": 1.0}),
    (Adam, {"beta1": -0.1}),
    (Adam, {"beta1": NAN}),
    (Adam, {"beta2": 1.0}),
    (Adam, {"beta2": 1.5}),
    (Adam, {"eps": -1e-8}),
    (Adam, {"weight_decay": -0.1}),
    (Adam, {"clip_norm": 0.0}),
])
def test_bad_hyperparameters_raise(cls, kwargs):
    with pytest.raises(ValueError):
        cls(**kwargs)


def test_make_optimizer():
    opt = make_optimizer("rmsprop", learning_rate=0.5, rho=0.8)
    assert isinstance(opt, RMSProp) and opt.learning_rate == 0.5 and opt.rho == 0.8
    assert isinstance(make_optimizer("adam"), Adam)
    assert isinstance(make_optimizer("sgd", momentum=0.9), SGD)
    for bad in ("adagrad", "", None, ["adam"]):
        with pytest.raises(ValueError):
            make_optimizer(bad)
