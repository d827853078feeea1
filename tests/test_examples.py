"""The examples run end to end with few epochs, headless, and fail cleanly without CuPy."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(name, *args, env_extra=None, timeout=300):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=ROOT)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


def test_inverse_sine_runs_and_writes_its_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = run_example("inverse_sine.py", "--epochs", "3", "--n-train", "2000",
                         "--n-test", "2000", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in ("least_squares.png", "mixture_parameters.png", "conditional_density.png"):
        path = tmp_path / name
        assert path.stat().st_size > 10_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nll = dict(re.findall(r"^(.*?\)) +(-?\d+\.\d+) nats", result.stdout, re.M))
    assert set(nll) == {"forward least squares (x -> t)", "inverse least squares (t -> x)",
                        "inverse MDN (t -> x)"}


def test_cupy_backend_without_cupy_is_one_clear_line(tmp_path):
    # a cupy that fails to import stands in for a machine without it
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("raise ImportError('no CUDA here')\n")
    result = run_example("inverse_sine.py", "--backend", "cupy", "--out", str(tmp_path),
                         env_extra={"PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT])})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cupy" in result.stderr and "pip install" in result.stderr
