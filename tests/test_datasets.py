"""The toy data sets: shapes, seeding, the documented formulas and ranges, the robot arm's
exact kinematics, the properties that make each odd data set odd, and bad arguments.
"""

import os

import numpy as np
import pytest

from mdnlite import datasets
from mdnlite.datasets import (ODD_DATASETS, changing_noise, gap, heteroscedastic,
                              inverse_sine, multi_valued, noisy_spiral, robot_arm,
                              robot_arm_forward, robot_arm_inverse)

GENERATORS = {
    "inverse_sine": lambda n, seed: inverse_sine(n, random_state=seed),
    "inverse_sine_inverse": lambda n, seed: inverse_sine(n, direction="inverse",
                                                         random_state=seed),
    "noisy_spiral": lambda n, seed: noisy_spiral(n, n_spirals=3, random_state=seed),
    "robot_arm": lambda n, seed: robot_arm(n, random_state=seed),
    **{name: (lambda f: lambda n, seed: f(n, random_state=seed))(f)
       for name, f in ODD_DATASETS.items()},
}


def wrap(angle):
    """Angles to (-π, π], for comparing angles modulo 2π."""
    return np.angle(np.exp(1j * angle))


def test_public_api():
    assert list(ODD_DATASETS) == ["multi_valued", "heteroscedastic", "gap", "changing_noise"]
    assert list(ODD_DATASETS.values()) == [multi_valued, heteroscedastic, gap, changing_noise]
    for name in datasets.__all__:
        assert hasattr(datasets, name)


@pytest.mark.parametrize("name", GENERATORS)
def test_shapes_and_dtypes(name):
    a, b = GENERATORS[name](31, 0)
    expected = (31, 2) if name == "robot_arm" else (31,)
    for arr in (a, b):
        assert isinstance(arr, np.ndarray)
        assert arr.dtype == np.float64
        assert arr.shape == expected
        assert np.isfinite(arr).all()


@pytest.mark.parametrize("name", GENERATORS)
def test_seeding(name):
    make = GENERATORS[name]
    first, again, other = make(50, 7), make(50, 7), make(50, 8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))
    from_generator = make(50, np.random.default_rng(7))
    for a, b in zip(first, from_generator):
        np.testing.assert_array_equal(a, b)


def test_seeding_leaves_global_state_alone():
    np.random.seed(0)
    expected = np.random.random(3)
    np.random.seed(0)
    for f in ODD_DATASETS.values():
        f(20)
    inverse_sine(20), noisy_spiral(20, n_spirals=2), robot_arm(20)
    np.testing.assert_array_equal(np.random.random(3), expected)


# -- inverse sine ---------------------------------------------------------------------------

@pytest.mark.parametrize("noise", [0.0, 0.1, 0.3])
def test_inverse_sine_formula(noise):
    x, t = inverse_sine(2000, noise=noise, random_state=1)
    assert x.min() >= 0 and x.max() < 1
    residual = t - x - 0.3 * np.sin(2 * np.pi * x)
    assert np.all(np.abs(residual) <= noise + 1e-12)
    if noise > 0:  # the noise fills its interval, not just a part of it
        assert residual.min() < -0.9 * noise and residual.max() > 0.9 * noise


def test_inverse_sine_directions_are_the_same_draws_swapped():
    x, t = inverse_sine(500, noise=0.1, random_state=3)
    t_inv, x_inv = inverse_sine(500, direction="inverse", noise=0.1, random_state=3)
    np.testing.assert_array_equal(x, x_inv)
    np.testing.assert_array_equal(t, t_inv)


def test_inverse_sine_inverse_is_multi_valued():
    t, x = inverse_sine(5000, direction="inverse", noise=0.0, random_state=0)
    near = np.abs(t - 0.5) < 0.01  # three branches: x near 0.1, 0.5 and 0.9
    assert x[near].min() < 0.25 and x[near].max() > 0.75
    assert np.any(np.abs(x[near] - 0.5) < 0.05)


# -- noisy spiral ---------------------------------------------------------------------------

def test_spiral_ranges_and_every_spiral_reaches_both_ends():
    n, n_spirals = 1003, 7
    x, y = noisy_spiral(n, n_spirals=n_spirals, random_state=2)
    assert x.min() >= -5 and x.max() <= 5 and y.min() >= -5 and y.max() <= 5
    counts = [144] * 2 + [143] * 5  # 1003 = 7 * 143 + 2, split as evenly as possible
    for xs, ys in zip(np.split(x, np.cumsum(counts)[:-1]), np.split(y, np.cumsum(counts)[:-1])):
        assert xs.min() == pytest.approx(-5) and xs.max() == pytest.approx(5)
        assert ys.min() == pytest.approx(-5) and ys.max() == pytest.approx(5)


def test_spiral_without_jitter_follows_the_formula():
    x, y = noisy_spiral(400, n_spirals=2, jitter=0.0, random_state=4)
    s = 360.0 * np.arange(200) / 200

    def rescale(v):
        return 10 * (v - v.min()) / (v.max() - v.min()) - 5

    # centre and radii vanish in the per-spiral rescaling, so both spirals are this one
    expected_x = rescale(s / 360 * np.cos(s * np.pi / 90))
    expected_y = rescale(s / 360 * np.sin(s * np.pi / 90))
    for half in (slice(0, 200), slice(200, 400)):
        np.testing.assert_allclose(x[half], expected_x, atol=1e-12)
        np.testing.assert_allclose(y[half], expected_y, atol=1e-12)


def test_spiral_jitter_is_uniform_with_the_documented_width():
    n = 2000
    x, y = noisy_spiral(3 * n, n_spirals=3, jitter=0.2, random_state=4)
    s = 360.0 * np.arange(n) / n
    curves = (s / 360 * np.cos(s * np.pi / 90), s / 360 * np.sin(s * np.pi / 90))
    for values, curve in zip((x, y), curves):
        for part in values.reshape(3, n):  # one spiral at a time
            # part = a (R curve + centre + e) + b: the fitted slope is aR, so the residual
            # over the slope is e / R, with |e| <= jitter / 2 = 0.1 and R in [5, 10]
            slope, intercept = np.polyfit(curve, part, 1)
            e_over_r = (part - slope * curve - intercept) / slope
            assert 0.1 / 10 * 0.97 < np.abs(e_over_r).max() < 0.1 / 5 * 1.03


def test_spiral_y_is_multi_valued_in_x():
    x, y = noisy_spiral(5000, random_state=0)
    for centre in (-2.0, 0.0, 2.0):
        in_bin = np.abs(x - centre) < 0.1
        assert y[in_bin].max() - y[in_bin].min() > 5


# -- robot arm ------------------------------------------------------------------------------

def test_robot_arm_forward_known_positions():
    pos = robot_arm_forward([0.0, np.pi / 2, np.pi / 2], [0.0, -np.pi / 2, np.pi],
                            lengths=(2.0, 0.5))
    np.testing.assert_allclose(pos, [[2.5, 0.0], [0.5, 2.0], [0.0, 1.5]], atol=1e-15)
    assert robot_arm_forward(np.zeros((3, 4)), 0.5).shape == (3, 4, 2)


@pytest.mark.parametrize("lengths", [(1.0, 0.8), (0.5, 1.5), (1.0, 1.0)])
def test_robot_arm_inverse_round_trip(lengths):
    rng = np.random.default_rng(0)
    L1, L2 = lengths
    r = rng.uniform(abs(L1 - L2) + 1e-3, L1 + L2 - 1e-3, 300)
    phi = rng.uniform(-np.pi, np.pi, 300)
    positions = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    angles = robot_arm_inverse(positions, lengths)
    assert angles.shape == (300, 2, 2) and angles.dtype == np.float64
    for s in (0, 1):
        back = robot_arm_forward(angles[:, s, 0], angles[:, s, 1], lengths)
        np.testing.assert_allclose(back, positions, rtol=0, atol=1e-10)
    assert np.all(angles[:, 0, 1] > 0) and np.all(angles[:, 1, 1] < 0)  # up: θ2 > 0
    np.testing.assert_allclose(angles[:, 0, 1], -angles[:, 1, 1])
    assert np.all(np.abs(angles[:, :, 0]) <= np.pi)


def test_robot_arm_samples_are_inverse_solutions():
    positions, angles = robot_arm(2000, random_state=5)
    np.testing.assert_allclose(positions, robot_arm_forward(angles[:, 0], angles[:, 1]),
                               rtol=0, atol=1e-15)
    solutions = robot_arm_inverse(positions)
    branch = np.where(angles[:, 1] > 0, 0, 1)
    mine = solutions[np.arange(2000), branch]  # (N, 2)
    other = solutions[np.arange(2000), 1 - branch]
    np.testing.assert_allclose(wrap(mine - angles), 0, atol=1e-9)
    # the two solutions are far apart: |Δθ2| = 2|θ2| >= π/3 also modulo 2π
    assert np.all(np.abs(wrap(other[:, 1] - mine[:, 1])) >= np.pi / 3 - 1e-9)


def test_robot_arm_default_ranges_reach_positions_from_both_branches():
    positions, angles = robot_arm(4000, random_state=6)
    assert 0 <= angles[:, 0].min() < 0.01 and np.pi - 0.01 < angles[:, 0].max() <= np.pi
    magnitude = np.abs(angles[:, 1])
    assert np.pi / 6 <= magnitude.min() < np.pi / 6 + 0.01
    assert 2 * np.pi / 3 - 0.01 < magnitude.max() <= 2 * np.pi / 3
    assert 0.45 < np.mean(angles[:, 1] > 0) < 0.55
    solutions = robot_arm_inverse(positions)
    other = solutions[np.arange(4000), np.where(angles[:, 1] > 0, 1, 0)]
    # the other solution of most positions is itself a sample the generator could draw
    inside = (other[:, 0] >= 0) & (other[:, 0] <= np.pi)
    assert inside.mean() > 0.5


def test_robot_arm_custom_ranges():
    _, angles = robot_arm(500, lengths=(2.0, 1.0), theta1_range=(-1.0, -0.5),
                          theta2_range=(0.2, 0.3), random_state=0)
    assert np.all((angles[:, 0] >= -1.0) & (angles[:, 0] <= -0.5))
    assert np.all((np.abs(angles[:, 1]) >= 0.2) & (np.abs(angles[:, 1]) <= 0.3))


def test_robot_arm_inverse_at_full_reach_has_one_solution():
    angles = robot_arm_inverse([[0.0, 1.8]])
    np.testing.assert_allclose(angles[0], [[np.pi / 2, 0.0], [np.pi / 2, 0.0]], atol=1e-7)


@pytest.mark.parametrize("position", [[2.0, 0.0], [0.0, 0.1], [0.0, 0.0]])
def test_robot_arm_inverse_unreachable(position):
    with pytest.raises(ValueError, match="out of reach"):
        robot_arm_inverse([[1.0, 0.5], position], lengths=(1.0, 0.8))


# -- odd data sets --------------------------------------------------------------------------

def test_multi_valued_has_two_separated_branches():
    x, y = multi_valued(3000, random_state=0)
    assert x.min() >= -1 and x.max() < 1
    branch = np.sign(y)
    residual = y - branch * np.sqrt(x + 1.25)
    assert np.abs(residual).max() < 6 * 0.05
    assert 0.03 < residual.std() < 0.07
    assert np.abs(y).min() > 0.25  # nothing between the branches
    for lo in np.linspace(-1, 0.8, 10):  # both branches at every x
        in_bin = (x >= lo) & (x < lo + 0.2)
        assert np.any(y[in_bin] > 0.4) and np.any(y[in_bin] < -0.4)


def test_heteroscedastic_spread_grows_with_x():
    x, y = heteroscedastic(20000, random_state=0)
    assert x.min() >= 0 and x.max() < 1
    residual = y - np.sin(2 * np.pi * x)
    edges = np.linspace(0, 1, 6)
    spreads = [residual[(x >= a) & (x < b)].std() for a, b in zip(edges[:-1], edges[1:])]
    assert np.all(np.diff(spreads) > 0)
    expected = 0.05 + 0.45 * (edges[:-1] + 0.1)  # σ at the bin centres
    np.testing.assert_allclose(spreads, expected, rtol=0.1)


def test_gap_interval_holds_no_x():
    x, y = gap(3000, random_state=0)
    assert not np.any(np.abs(x) < 0.3)
    assert np.all(np.abs(x) < 1)
    assert 0.45 < np.mean(x > 0) < 0.55
    assert x[x > 0].min() < 0.32 and x[x < 0].max() > -0.32  # the gap is no wider
    residual = y - np.sin(3 * x)
    assert 0.09 < residual.std() < 0.11


def test_changing_noise_changes_shape_not_size():
    x, y = changing_noise(30000, random_state=0)
    assert x.min() >= 0 and x.max() < 3
    residual = y - np.sin(2 * x)
    gaussian, uniform, bimodal = (residual[(x >= a) & (x < a + 1)] for a in range(3))
    for e in (gaussian, uniform, bimodal):
        assert abs(e.mean()) < 0.02 and 0.23 < e.std() < 0.27
    half_width = 0.25 * np.sqrt(3)
    assert np.abs(uniform).max() <= half_width  # bounded, and flat:
    assert np.abs(uniform).max() > 0.95 * half_width
    counts, _ = np.histogram(uniform, bins=5, range=(-half_width, half_width))
    assert counts.min() > 0.8 * counts.max()
    assert np.mean(np.abs(gaussian) > half_width) > 0.05  # Gaussian tails beyond that
    near_zero = [np.mean(np.abs(e) < 0.1) for e in (gaussian, uniform, bimodal)]
    assert near_zero[0] > 0.25 and near_zero[1] > 0.18 and near_zero[2] < 0.05  # two modes


# -- bad arguments --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: inverse_sine(0), ValueError, "n_samples"),
    (lambda: inverse_sine(2.5), TypeError, "n_samples"),
    (lambda: inverse_sine(10, noise=-0.1), ValueError, "noise"),
    (lambda: inverse_sine(10, noise="big"), TypeError, "noise"),
    (lambda: inverse_sine(10, noise=np.inf), ValueError, "noise"),
    (lambda: inverse_sine(10, direction="sideways"), ValueError, "direction"),
    (lambda: inverse_sine(10, random_state="seed"), TypeError, "random_state"),
    (lambda: inverse_sine(10, random_state=-1), ValueError, "random_state"),
    (lambda: noisy_spiral(0), ValueError, "n_samples"),
    (lambda: noisy_spiral(20, n_spirals=5), ValueError, "n_samples"),
    (lambda: noisy_spiral(100, n_spirals=0), ValueError, "n_spirals"),
    (lambda: noisy_spiral(100, jitter=-1), ValueError, "jitter"),
    (lambda: robot_arm(0), ValueError, "n_samples"),
    (lambda: robot_arm(10, lengths=(1.0, 0.0)), ValueError, "lengths"),
    (lambda: robot_arm(10, lengths=(1.0, -0.8)), ValueError, "lengths"),
    (lambda: robot_arm(10, lengths=(1.0,)), TypeError, "lengths"),
    (lambda: robot_arm(10, lengths=1.0), TypeError, "lengths"),
    (lambda: robot_arm(10, lengths=("a", 1.0)), TypeError, "lengths"),
    (lambda: robot_arm(10, theta1_range=(1.0, 0.0)), ValueError, "theta1_range"),
    (lambda: robot_arm(10, theta2_range=(0.5, 4.0)), ValueError, "theta2_range"),
    (lambda: robot_arm(10, theta2_range=(-0.5, 1.0)), ValueError, "theta2_range"),
    (lambda: robot_arm(10, theta2_range=0.5), TypeError, "theta2_range"),
    (lambda: robot_arm_forward(0.0, 0.0, lengths=(0.0, 1.0)), ValueError, "lengths"),
    (lambda: robot_arm_forward(["a"], [0.0]), TypeError, "theta1"),
    (lambda: robot_arm_forward([0.0], [np.nan]), ValueError, "theta2"),
    (lambda: robot_arm_inverse([1.0, 0.5]), ValueError, "shape"),
    (lambda: robot_arm_inverse([[1.0, 0.5, 0.0]]), ValueError, "shape"),
    (lambda: robot_arm_inverse([[np.nan, 0.5]]), ValueError, "NaN"),
    (lambda: robot_arm_inverse([[1.0, 0.5]], lengths=(1.0, 0.0)), ValueError, "lengths"),
    *[(lambda f=f: f(0), ValueError, "n_samples") for f in ODD_DATASETS.values()],
    *[(lambda f=f: f(True), TypeError, "n_samples") for f in ODD_DATASETS.values()],
    *[(lambda f=f: f(10, random_state=1.5), TypeError, "random_state")
      for f in ODD_DATASETS.values()],
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_engel_is_the_real_data_set_with_its_source():
    income, food = datasets.engel()
    assert income.shape == food.shape == (235,) and income.dtype == np.float64
    assert (food < income).all() and (food > 0).all()  # households spend part of their income
    np.testing.assert_allclose([income[0], food[0]], [420.157650843928, 255.839424594576])
    with open(os.path.join(datasets.DATA, "engel.csv"), encoding="utf-8") as f:
        header = f.read(1000)
    assert "Koenker and Bassett (1982)" in header and "public domain" in header
