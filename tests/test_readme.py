"""The README's code runs as written, so it cannot drift from the API."""

import json
import os
import re

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_blocks(language):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return re.findall(rf"```{language}\n(.*?)```", f.read(), re.S)


def test_readme_api_tour_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it saves a model file
    tour = next(b for b in readme_blocks("python") if "mdnlite.MDN(" in b)
    namespace = {}
    exec(tour, namespace)
    assert (tmp_path / "inverse_sine.npz").exists()
    t, x = namespace["t"], namespace["x"]
    assert namespace["ls"].score(t, x) < namespace["mdn"].score(t, x)
    assert namespace["given_t"].score(t, x) > namespace["ls"].score(t, x) + 0.5
    assert namespace["given_x"].predict(x[:3]).shape == (3,)  # one target: 1-D, as an MDN's


def test_readme_training_step_runs():
    code = next(b for b in readme_blocks("python") if "nll_backward" in b)
    assert "range(1000)" in code
    namespace = {}
    exec(code.replace("range(1000)", "range(300)"), namespace)
    assert np.isfinite(float(namespace["loss"]))
    assert float(namespace["loss"]) < 1.0  # it learned something in 300 steps


def test_readme_small_data_recipe_runs(monkeypatch):
    steps = 20  # the defaults' budget of 10,000 steps, shortened (the recipe fits 11 models)
    monkeypatch.setattr("mdnlite.estimators.defaults.AUTO_STEPS", steps)
    code = next(b for b in readme_blocks("python") if "folds" in b)
    namespace = {}
    exec(code, namespace)
    mdn = namespace["mdn"]
    assert mdn.optimizer_.iterations == steps and mdn.n_epochs_ == steps // 2  # 2 steps an epoch
    assert np.isfinite(mdn.score(namespace["t_test"], namespace["x_test"]))


def test_readme_quality_summary_is_the_benchmark_s(monkeypatch):
    """The README quotes the quality benchmark's last recorded run, not numbers of its own."""
    with open(os.path.join(ROOT, "benchmarks", "results", "quality.json"),
              encoding="utf-8") as f:
        rows = json.load(f)["rows"]
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for row in rows:
        if row["model"] == "MDN (defaults)":
            assert f"| {row['dataset']} | {row['mean']:.3f} |" in readme, row["dataset"]


def test_readme_commands_are_the_ones_ci_and_users_run():
    commands = [line for block in readme_blocks("bash") for line in block.splitlines()
                if line.startswith("python -m pip install -e")]
    assert 'python -m pip install -e ".[plot]" && python examples/inverse_sine.py' in commands
    test_command = 'python -m pip install -e ".[test]" && python -m pytest'
    assert test_command in commands
    ci = os.path.join(ROOT, ".ci", "run")
    if not os.path.exists(ci):
        pytest.skip("no .ci/run: a source distribution, not a clone of the repository")
    with open(ci, encoding="utf-8") as f:
        assert test_command in f.read().splitlines()
