"""The README's code runs as written (with fewer steps), so it cannot drift from the API."""

import os
import re

import numpy as np

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_readme_training_snippet_runs():
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert blocks, "the README lost its code example"
    code = blocks[0]
    assert "range(1000)" in code
    namespace = {}
    exec(code.replace("range(1000)", "range(300)"), namespace)
    assert np.isfinite(float(namespace["loss"]))
    assert float(namespace["loss"]) < 1.0  # it learned something in 300 steps
