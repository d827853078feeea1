"""Regenerate the gallery's figures: every example, full settings, small PNGs in docs/gallery/.

    python docs/make_gallery.py

Each example runs as a user would run it (default epochs and data sizes, NumPy backend), with
a lower resolution so that the committed images stay small. The printed figures (held-out
NLL, fit times) are those quoted in docs/gallery.md.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["inverse_sine", "noisy_spiral", "odd_datasets", "robot_arm", "mdn_vs_gmm", "engel"]


def main():
    for name in EXAMPLES:
        out = os.path.join(ROOT, "docs", "gallery", name)
        print(f"== {name}", flush=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [ROOT, os.environ.get("PYTHONPATH", "")]))  # this checkout's mdnlite
        subprocess.run([sys.executable, os.path.join(ROOT, "examples", f"{name}.py"),
                        "--out", out, "--dpi", "60"], check=True, env=env)


if __name__ == "__main__":
    main()
