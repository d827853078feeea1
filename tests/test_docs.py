"""The tutorial's code runs as written, in order, so the docs cannot drift from the API."""

import os
import re

import numpy as np
import pytest



ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tutorial_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)  # it writes figures and a model file
    monkeypatch.setattr("mdnlite.estimators.defaults.AUTO_STEPS", 300)  # the default-budget fits, shortened
    with open(os.path.join(ROOT, "docs", "tutorial.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) >= 6
    namespace = {}
    for block in blocks:
        exec(block, namespace)
    for name in ("five_charts.png", "density.png", "slices.png", "history.png",
                 "inverse_sine.npz"):
        assert (tmp_path / name).stat().st_size > 0
    # the lesson of the page: the MDN beats least squares by a wide margin
    t_test, x_test = namespace["t_test"], namespace["x_test"]
    assert namespace["mdn"].score(t_test, x_test) > namespace["ls"].score(t_test, x_test) + 0.5
    # the small-data section: the default budget in steps, and units that change only log a
    small, moved = namespace["small"], namespace["moved"]
    assert small.n_epochs_ == 150 and small.optimizer_.iterations == 300
    np.testing.assert_allclose(small.noise_, 1.4 / np.sqrt(300))
    assert -moved.score(1e6 * t_test + 5e7, 1e6 * x_test + 5e7) - np.log(1e6) == \
        pytest.approx(-small.score(t_test, x_test), abs=1e-3)


def test_gallery_images_exist():
    with open(os.path.join(ROOT, "docs", "gallery.md"), encoding="utf-8") as f:
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", f.read())
    assert len(images) >= 12
    for image in images:
        assert os.path.getsize(os.path.join(ROOT, "docs", image)) > 1000, image
