"""What every example script shares: a usable backend and matplotlib drawing off screen.

The scripts in the repository's ``examples/`` folder import ``prepare`` from here, so that
each of them runs on its own once mdnlite is installed, copied anywhere.
"""

import os
import sys

from ..backend import BackendUnavailableError, get_xp

__all__ = ["prepare", "save_figures"]


def prepare(backend):
    """Check that ``backend`` can run here and return ``matplotlib.pyplot``, drawing off screen.

    Either is missing: the script stops with one line saying what to install, never a
    traceback.
    """
    try:
        get_xp(backend)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except BackendUnavailableError as exc:
        sys.exit(f"error: {exc}")
    except ImportError:
        sys.exit("error: the figures need matplotlib: pip install 'mdnlite[plot]'")
    return plt


def save_figures(figures, folder, dpi, plt):
    """Write each figure of ``figures`` (file name -> Figure) into ``folder`` (made if
    missing), close them all, and return the paths written."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        paths.append(os.path.join(folder, name))
        fig.savefig(paths[-1], dpi=dpi)
    plt.close("all")
    return paths
