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


def assert_pngs(folder, names):
    for name in names:
        path = folder / name
        assert path.stat().st_size > 5_000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_inverse_sine_runs_when_copied_out_of_the_repository_and_writes_its_figures(tmp_path):
    """It needs mdnlite installed, nothing beside it: no sibling module of the examples. (One
    run of a copy checks that and the figures and numbers of the example.)"""
    pytest.importorskip("matplotlib")
    script = tmp_path / "my_copy.py"
    with open(os.path.join(ROOT, "examples", "inverse_sine.py"), encoding="utf-8") as f:
        script.write_text(f.read(), encoding="utf-8")
    out = tmp_path / "figures"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=ROOT)  # mdnlite, as if installed
    result = subprocess.run([sys.executable, str(script), "--epochs", "3", "--n-train", "2000",
                             "--n-test", "2000", "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_pngs(out, ["least_squares.png", "mixture_parameters.png",
                      "conditional_density.png", "density_slices.png",
                      "training_history.png", "modes.png", "quantile_bands.png",
                      "calibration.png"])
    nll = dict(re.findall(r"^(.*?\)) +(-?\d+\.\d+) nats", result.stdout, re.M))
    assert set(nll) == {"forward least squares (x -> t)", "inverse least squares (t -> x)",
                        "inverse MDN (t -> x)"}


def test_noisy_spiral_runs_and_writes_its_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = run_example("noisy_spiral.py", "--epochs", "2", "--n-samples", "600",
                         "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_pngs(tmp_path, ["three_panels.png", "temperatures.png", "training_history.png"])
    assert re.search(r"^MDN +-?\d+\.\d+ nats", result.stdout, re.M)


def test_odd_datasets_runs_and_writes_its_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = run_example("odd_datasets.py", "--epochs", "2", "--n-samples", "300",
                         "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_pngs(tmp_path, ["multi_valued.png", "heteroscedastic.png", "gap.png",
                           "changing_noise.png", "edges.png"])
    assert len(re.findall(r" nats ", result.stdout)) == 8  # 4 data sets, with and without decay


def test_robot_arm_runs_and_writes_its_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = run_example("robot_arm.py", "--epochs", "2", "--n-train", "1000",
                         "--n-test", "500", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_pngs(tmp_path, ["poses.png", "angle_samples.png"])
    rows = re.findall(r"^(least squares|MDN, diagonal|MDN, full) +(-?\d+\.\d+) nats +"
                      r"(\d+\.\d+) +(\d+\.\d+)", result.stdout, re.M)
    assert [r[0] for r in rows] == ["least squares", "MDN, diagonal", "MDN, full"]


def test_mdn_vs_gmm_runs_and_writes_its_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = run_example("mdn_vs_gmm.py", "--epochs", "2", "--components", "2", "4",
                         "--max-iter", "5", "--n-train", "800", "--n-test", "400",
                         "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_pngs(tmp_path, ["inverse_sine_slices.png", "inverse_sine_reverse.png",
                           "heteroscedastic_slices.png", "heteroscedastic_reverse.png"])
    assert len(re.findall(r"^GMM, K=\d+ ", result.stdout, re.M)) == 4
    assert result.stdout.count("<- BIC's choice") == 2


def test_engel_runs_and_writes_its_figures(tmp_path):
    pytest.importorskip("matplotlib")
    result = run_example("engel.py", "--epochs", "3", "--folds", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_pngs(tmp_path, ["quantile_bands.png", "conditional_density.png", "calibration.png"])
    rows = re.findall(r"^(MDN \(defaults\)|least squares|Gaussian mixture \(BIC\)) +"
                      r"(\d+\.\d+) +(\d+\.\d+) +(\d\.\d+) +(\d\.\d+)", result.stdout, re.M)
    assert [r[0] for r in rows] == ["MDN (defaults)", "least squares", "Gaussian mixture (BIC)"]


@pytest.mark.parametrize("example", ["inverse_sine.py", "noisy_spiral.py", "odd_datasets.py",
                                     "robot_arm.py", "mdn_vs_gmm.py", "engel.py"])
def test_cupy_backend_without_cupy_is_one_clear_line(tmp_path, example):
    # a cupy that fails to import stands in for a machine without it
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("raise ImportError('no CUDA here')\n")
    result = run_example(example, "--backend", "cupy", "--out", str(tmp_path),
                         env_extra={"PYTHONPATH": os.pathsep.join([str(tmp_path), ROOT])})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cupy" in result.stderr and "pip install" in result.stderr
