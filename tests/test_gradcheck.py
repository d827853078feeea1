"""The gradient checkers themselves: right on known derivatives, loud on wrong ones."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mdnlite.nn.gradcheck import (
    directional_derivative_error,
    gradient_error,
    numerical_gradient,
    relative_error,
)


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=4),
              elements=st.floats(-3, 3)))
def test_numerical_gradient_of_known_function(x):
    original = x.copy()
    grad = numerical_gradient(lambda: (np.sin(x) * x).sum(), x)
    np.testing.assert_allclose(grad, np.cos(x) * x + np.sin(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x, original)  # restored exactly


def test_gradient_error_is_small_for_right_and_large_for_wrong_gradients():
    x = np.random.default_rng(0).normal(size=(3, 4))

    def f():
        return (x ** 3).sum()

    assert gradient_error(f, x, 3 * x ** 2) < 1e-8
    assert gradient_error(f, x, 3 * x ** 2 * 1.001) > 1e-4
    assert gradient_error(f, x, 3 * x ** 2 + 1e-3) > 1e-5


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == pytest.approx(1.0)
    assert relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(2 ** 0.5)


def test_directional_check_catches_one_wrong_element_among_many():
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(40, 30)), rng.normal(size=30)]

    def f():
        return float((params[0] ** 2).sum() + np.exp(params[1]).sum())

    grads = [2 * params[0], np.exp(params[1])]
    before = [p.copy() for p in params]
    assert directional_derivative_error(f, params, grads, rng=0) < 1e-6
    for p, p0 in zip(params, before):
        np.testing.assert_array_equal(p, p0)
    wrong = [grads[0].copy(), grads[1].copy()]
    wrong[1][7] *= 2.0
    assert max(directional_derivative_error(f, params, wrong, rng=s) for s in range(3)) > 1e-3


def test_directional_floor_sets_the_scale_of_a_nearly_orthogonal_direction():
    params = [np.array([1.0, 2.0])]
    grads = [np.array([3.0, 4.0])]

    def f():  # linear, so central differences are exact: the error is the gradient's alone
        return float(3.0 * params[0][0] + 4.0 * params[0][1])

    wrong = [np.array([3.0, 4.0 + 1e-3])]
    plain = directional_derivative_error(f, params, wrong, rng=0)
    floored = directional_derivative_error(f, params, wrong, rng=0, floor=5.0)
    assert 0 < floored <= plain  # the floor only ever enlarges the denominator
    assert directional_derivative_error(f, params, grads, rng=0, floor=5.0) < 1e-9
