"""Data sets for mixture density networks: seeded toy generators and one real data set.

Bishop's inverse sine, the noisy spiral, the two-link robot arm (with its exact forward and
inverse kinematics) and four "odd" 1-D data sets. Every generator draws from its own
``numpy.random.default_rng(random_state)``, never from global state. ``engel`` reads a real
data set shipped with the package (``mdnlite/data``, its source and licence in the file's
header). All are NumPy float64 arrays. No plotting here.
"""

import os

import numpy as np

from .validation import check_number, check_positive_int, check_random_state, check_real

__all__ = [
    "inverse_sine", "noisy_spiral", "robot_arm_forward", "robot_arm_inverse", "robot_arm",
    "multi_valued", "heteroscedastic", "gap", "changing_noise", "ODD_DATASETS", "engel",
]

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _pair(value, name, what):
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair {what}, got {value!r}")
    return tuple(check_number(v, name) for v in value)


def _check_range(value, name, low=-np.inf, high=np.inf):
    a, b = _pair(value, name, "(low, high)")
    if not (low <= a < b <= high and np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"{name} must satisfy {low:g} <= low < high <= {high:g} with finite "
                         f"ends, got {value!r}")
    return a, b


def _check_lengths(lengths):
    L1, L2 = _pair(lengths, "lengths", "(L1, L2)")
    if not (0 < L1 < np.inf and 0 < L2 < np.inf):
        raise ValueError(f"lengths must be two finite numbers > 0, got {lengths!r}")
    return L1, L2


def _check_real_array(a, name):
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return a


def inverse_sine(n_samples=1000, *, direction="forward", noise=0.1, random_state=None):
    """Bishop's toy problem: t = x + 0.3 sin(2πx) + U(-noise, noise), with x ~ U(0, 1).

    x → t is a function; its inverse t → x is three-valued for t in about (0.41, 0.59), where
    x + 0.3 sin(2πx) turns back (at x ≈ 0.34 and x ≈ 0.66).

    Parameters
    ----------
    n_samples : int >= 1
    direction : {"forward", "inverse"}
        "forward" returns (x, t), "inverse" returns (t, x): the same draws for the same seed.
    noise : float >= 0
        Half-width of the uniform noise on t.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X, y : arrays (n_samples,), float64
        x lies in [0, 1), t in [-noise, 1 + noise] (x + 0.3 sin 2πx spans [0, 1] there).
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    noise = check_real(noise, "noise")
    if direction not in ("forward", "inverse"):
        raise ValueError(f"direction must be 'forward' or 'inverse', got {direction!r}")
    rng = check_random_state(random_state)
    x = rng.random(n_samples)
    t = x + 0.3 * np.sin(2 * np.pi * x) + rng.uniform(-noise, noise, n_samples)
    return (x, t) if direction == "forward" else (t, x)


def noisy_spiral(n_samples=10000, *, n_spirals=10, jitter=0.2, random_state=None):
    """Several noisy two-turn spirals on top of each other; y is multi-valued in x.

    Spiral j gets n_j points (n_samples split as evenly as possible, the first spirals get
    one more), a centre (x0, y0) ~ U(-50, 50)² and radii R_x, R_y ~ U(5, 10). With
    s_i = 360 i / n_j degrees, i = 0 .. n_j - 1, and e ~ U(-jitter/2, jitter/2) drawn anew
    for every coordinate::

        x_i = (s_i / 360) cos(s_i π / 90) R_x + x0 + e
        y_i = (s_i / 360) sin(s_i π / 90) R_y + y0 + e'

    Each spiral is then rescaled on its own, x and y separately, to [-5, 5]
    (v ↦ 10 (v - min v) / (max v - min v) - 5), so centre and radii only set the size of the
    jitter relative to the spiral. The spirals are stacked one after the other (not shuffled).

    Parameters
    ----------
    n_samples : int >= 5 * n_spirals
        Each spiral needs at least 5 points to span both axes.
    n_spirals : int >= 1
    jitter : float >= 0
        Full width of the uniform jitter, in the spiral's units before rescaling.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    x, y : arrays (n_samples,), float64
        Both in [-5, 5]; every spiral reaches -5 and 5 in x and in y.
    """
    n_spirals = check_positive_int(n_spirals, "n_spirals")
    n_samples = check_positive_int(n_samples, "n_samples", minimum=5 * n_spirals)
    jitter = check_real(jitter, "jitter")
    rng = check_random_state(random_state)
    counts = np.full(n_spirals, n_samples // n_spirals)
    counts[: n_samples % n_spirals] += 1
    xs, ys = [], []
    for n in counts:
        r_x, r_y = rng.uniform(5, 10, 2)
        x0, y0 = rng.uniform(-50, 50, 2)
        s = 360.0 * np.arange(n) / n  # degrees
        e = rng.uniform(-jitter / 2, jitter / 2, (2, n))
        xs.append(_rescale(s / 360 * np.cos(s * np.pi / 90) * r_x + x0 + e[0]))
        ys.append(_rescale(s / 360 * np.sin(s * np.pi / 90) * r_y + y0 + e[1]))
    return np.concatenate(xs), np.concatenate(ys)


def _rescale(v):
    return 10 * (v - v.min()) / (v.max() - v.min()) - 5


def robot_arm_forward(theta1, theta2, lengths=(1.0, 0.8)):
    """Hand position of a planar two-link arm with its shoulder at the origin.

    x1 = L1 cos θ1 + L2 cos(θ1 + θ2),  x2 = L1 sin θ1 + L2 sin(θ1 + θ2)

    Parameters
    ----------
    theta1 : array-like (...)
        Shoulder angle of the first link from the ground (the x1 axis), radians.
    theta2 : array-like, broadcastable with theta1
        Elbow angle of the second link relative to the first, radians.
    lengths : (L1, L2), both > 0

    Returns
    -------
    positions : array (..., 2), float64
        (x1, x2) for each pair of angles.
    """
    L1, L2 = _check_lengths(lengths)
    theta1 = _check_real_array(theta1, "theta1")
    theta2 = _check_real_array(theta2, "theta2")
    x1 = L1 * np.cos(theta1) + L2 * np.cos(theta1 + theta2)
    x2 = L1 * np.sin(theta1) + L2 * np.sin(theta1 + theta2)
    return np.stack(np.broadcast_arrays(x1, x2), axis=-1)


def robot_arm_inverse(positions, lengths=(1.0, 0.8)):
    """Both exact joint-angle solutions for each hand position (law of cosines and atan2).

    With r² = x1² + x2², cos θ2 = (r² - L1² - L2²) / (2 L1 L2) and
    θ1 = atan2(x2, x1) - atan2(L2 sin θ2, L1 + L2 cos θ2).
    Convention: solution 0 has θ2 = +arccos(...) in [0, π], solution 1 has θ2 = -arccos(...)
    in [-π, 0]: the two elbow positions, mirror images across the shoulder-hand line. The
    θ2 > 0 solution puts the elbow on the clockwise side of that line (below it when the hand
    is to the right of the shoulder: "elbow down" there, "elbow up" for a hand on the left).

    Parameters
    ----------
    positions : array-like (N, 2)
        Hand positions (x1, x2); each must be reachable, |L1 - L2| <= r <= L1 + L2.
    lengths : (L1, L2), both > 0

    Returns
    -------
    angles : array (N, 2, 2), float64
        angles[n, s] = (θ1, θ2) of solution s (0: θ2 >= 0, 1: θ2 <= 0); θ1 in (-π, π].
        On the boundary r = L1 + L2 or r = |L1 - L2| the two solutions coincide.

    Raises
    ------
    ValueError
        A position out of reach (|cos θ2| > 1 + 1e-12), or a bad shape.
    """
    L1, L2 = _check_lengths(lengths)
    positions = _check_real_array(positions, "positions")
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (N, 2), got {positions.shape}")
    x1, x2 = positions[:, 0], positions[:, 1]
    cos2 = (x1 ** 2 + x2 ** 2 - L1 ** 2 - L2 ** 2) / (2 * L1 * L2)  # (N,)
    out = np.abs(cos2) > 1 + 1e-12
    if out.any():
        first = positions[np.argmax(out)]
        raise ValueError(f"{int(out.sum())} positions are out of reach, e.g. {first.tolist()}:"
                         f" the distance from the origin must lie in [|L1 - L2|, L1 + L2] = "
                         f"[{abs(L1 - L2):g}, {L1 + L2:g}]")
    theta2 = np.arccos(np.clip(cos2, -1.0, 1.0))  # rounding may leave |cos2| just above 1
    theta2 = np.stack([theta2, -theta2], axis=1)  # (N, 2): θ2 >= 0, θ2 <= 0
    theta1 = (np.arctan2(x2, x1)[:, None]
              - np.arctan2(L2 * np.sin(theta2), L1 + L2 * np.cos(theta2)))  # (N, 2)
    theta1 = np.arctan2(np.sin(theta1), np.cos(theta1))  # wrapped to (-π, π]
    return np.stack([theta1, theta2], axis=2)  # (N, 2, 2)


def robot_arm(n_samples=1000, *, lengths=(1.0, 0.8), theta1_range=(0.0, np.pi),
              theta2_range=(np.pi / 6, 2 * np.pi / 3), random_state=None):
    """Joint angles and hand positions of a two-link arm: the inverse problem is two-valued.

    θ1 ~ U(theta1_range), |θ2| ~ U(theta2_range) with sign ±1 (probability ½ each), and
    positions = robot_arm_forward(θ1, θ2, lengths). The defaults, θ1 in [0, π] and |θ2| in
    [π/6, 2π/3], keep the two solutions of a position at least π/3 apart in θ2 (also modulo
    2π), and the θ1 range is wider than the shift 2 atan2(L2 sin θ2, L1 + L2 cos θ2) between
    them, so most positions are reached by samples of both branches: angles from positions
    is two-valued (bimodal), positions from angles is a function.

    Parameters
    ----------
    n_samples : int >= 1
    lengths : (L1, L2), both > 0
    theta1_range : (low, high), finite, low < high
        Shoulder angles, radians.
    theta2_range : (low, high), 0 <= low < high <= π
        Range of the elbow angle's magnitude |θ2|, radians.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    positions : array (n_samples, 2), float64
        Hand positions (x1, x2), at distance in [|L1 - L2|, L1 + L2] from the origin.
    angles : array (n_samples, 2), float64
        The joint angles (θ1, θ2) that produced them.
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    lengths = _check_lengths(lengths)
    lo1, hi1 = _check_range(theta1_range, "theta1_range")
    lo2, hi2 = _check_range(theta2_range, "theta2_range", 0.0, np.pi)
    rng = check_random_state(random_state)
    theta1 = rng.uniform(lo1, hi1, n_samples)
    theta2 = rng.uniform(lo2, hi2, n_samples) * rng.choice([-1.0, 1.0], n_samples)
    angles = np.stack([theta1, theta2], axis=1)
    return robot_arm_forward(theta1, theta2, lengths), angles


def multi_valued(n_samples=1000, *, random_state=None):
    """A noisy sideways parabola x = y² - 1.25 cut to x in [-1, 1]: two branches of y per x.

    x ~ U(-1, 1), b = ±1 with probability ½ each, y = b √(x + 1.25) + N(0, 0.05²).
    The branches, |y| in [0.5, 1.5] before the noise, are at least 1 apart.

    Returns
    -------
    x, y : arrays (n_samples,), float64
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(random_state)
    x = rng.uniform(-1, 1, n_samples)
    branch = rng.choice([-1.0, 1.0], n_samples)
    return x, branch * np.sqrt(x + 1.25) + rng.normal(0, 0.05, n_samples)


def heteroscedastic(n_samples=1000, *, random_state=None):
    """A sine with Gaussian noise whose standard deviation grows linearly with x.

    x ~ U(0, 1), y = sin(2πx) + σ(x) ε with ε ~ N(0, 1) and σ(x) = 0.05 + 0.45 x
    (from 0.05 at x = 0 to 0.5 at x = 1).

    Returns
    -------
    x, y : arrays (n_samples,), float64
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(random_state)
    x = rng.uniform(0, 1, n_samples)
    return x, np.sin(2 * np.pi * x) + (0.05 + 0.45 * x) * rng.standard_normal(n_samples)


def gap(n_samples=1000, *, random_state=None):
    """Inputs from two intervals with nothing in between: x in (-1, -0.3] ∪ [0.3, 1).

    x = b u with u ~ U(0.3, 1) and b = ±1 (probability ½ each), so (-0.3, 0.3) holds no x;
    y = sin(3x) + N(0, 0.1²).

    Returns
    -------
    x, y : arrays (n_samples,), float64
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(random_state)
    x = rng.uniform(0.3, 1, n_samples) * rng.choice([-1.0, 1.0], n_samples)
    return x, np.sin(3 * x) + rng.normal(0, 0.1, n_samples)


def changing_noise(n_samples=1000, *, random_state=None):
    """Noise whose shape, not size, changes with x: Gaussian, then uniform, then bimodal.

    x ~ U(0, 3), y = sin(2x) + e, where e has mean 0 and standard deviation 0.25 throughout:

    - x in [0, 1): e ~ N(0, 0.25²);
    - x in [1, 2): e ~ U(-a, a) with a = 0.25 √3 ≈ 0.433;
    - x in [2, 3): e = ±0.24 (probability ½ each) + N(0, 0.07²), two modes.

    Returns
    -------
    x, y : arrays (n_samples,), float64
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(random_state)
    x = rng.uniform(0, 3, n_samples)
    gaussian = rng.normal(0, 0.25, n_samples)
    uniform = rng.uniform(-0.25 * np.sqrt(3), 0.25 * np.sqrt(3), n_samples)
    bimodal = rng.choice([-0.24, 0.24], n_samples) + rng.normal(0, 0.07, n_samples)
    e = np.where(x < 1, gaussian, np.where(x < 2, uniform, bimodal))
    return x, np.sin(2 * x) + e


ODD_DATASETS = {"multi_valued": multi_valued, "heteroscedastic": heteroscedastic, "gap": gap,
                "changing_noise": changing_noise}


def engel():
    """Engel's 1857 food expenditure data: 235 Belgian working-class households.

    A real regression with heteroscedastic p(y | x): the spread of food expenditure grows
    with income (the classic data of quantile regression, Koenker and Bassett 1982). Public
    domain; ``mdnlite/data/engel.csv`` says where it comes from.

    Returns
    -------
    income, food_expenditure : arrays (235,), float64
        Annual household income and annual food expenditure, in Belgian francs.
    """
    table = np.loadtxt(os.path.join(DATA, "engel.csv"), delimiter=",", comments="#",
                       skiprows=7, dtype=np.float64)
    return table[:, 0].copy(), table[:, 1].copy()
