"""Shared test set-up: hypothesis profiles and the gpu marker.

Profiles: ``fast`` (the default, for every run) and ``thorough`` (many more examples), chosen
with the environment variable MDNLITE_HYPOTHESIS_PROFILE.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

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
