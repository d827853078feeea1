"""Shared test set-up: hypothesis profiles, the gpu marker, and the data builders, training
settings and small fitted models that several test files use.

Profiles: ``fast`` (the default, for every run) and ``thorough`` (many more examples), chosen
with the environment variable MDNLITE_HYPOTHESIS_PROFILE.
"""

import os
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import mdnlite

settings.register_profile(
    "fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("MDNLITE_HYPOTHESIS_PROFILE", "fast"))


def _cupy_device_available():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if gpu_items and not _cupy_device_available():
        skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
        for item in gpu_items:
            item.add_marker(skip)


# --- data and models that several test files share -------------------------------------------
#
# The builders are plain functions handed out by session fixtures; the fitted models are
# session-scoped and only read by the tests that take them (a test that trains a model on, or
# changes it, fits or copies its own).

TINY = dict(hidden_sizes=(8,), max_epochs=3, random_state=0, verbose=0)


def _make_data(n=120, d_in=2, d=1, seed=0):
    """X (n, d_in) standard normal; y (n, d) = sin(X W) for a random W, plus noise of sd 0.1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_in))
    y = np.sin(X @ rng.normal(size=(d_in, d))) + 0.1 * rng.normal(size=(n, d))
    return X, y


def _sine_data(n=200, d=1, seed=0):
    """X (n, 2) uniform on [-1, 1]; y (n, d) = sin(3 x_1) in every column, plus noise of sd 0.1."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    return X, np.sin(3 * X[:, :1]) + 0.1 * rng.standard_normal((n, d))


@pytest.fixture(scope="session")
def make_data():
    """The builder ``make_data(n=120, d_in=2, d=1, seed=0) -> X, y`` (inputs standard normal)."""
    return _make_data


@pytest.fixture(scope="session")
def sine_data():
    """The builder ``sine_data(n=200, d=1, seed=0) -> X, y`` (inputs uniform on [-1, 1])."""
    return _sine_data


@pytest.fixture(scope="session")
def tiny():
    """The smallest training settings, read-only: ``MDN(2, **tiny)``, ``dict(tiny, x=...)``."""
    return types.MappingProxyType(TINY)


@pytest.fixture(scope="session")
def small_models():
    """An MDN (2 components, one network of 5 hidden units), a Regressor and a GaussianMixture
    (3 components) fitted on make_data(80): for tests that save, load or question a fitted model
    without changing it."""
    X, y = _make_data(80)
    kwargs = dict(hidden_sizes=(5,), max_epochs=2, batch_size=32, random_state=0, verbose=0)
    return {"MDN": mdnlite.MDN(2, n_members=1, **kwargs).fit(X, y),
            "Regressor": mdnlite.Regressor(**kwargs).fit(X, y),
            "GaussianMixture": mdnlite.GaussianMixture(3, random_state=0).fit(np.hstack([X, y]))}
