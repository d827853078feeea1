"""What every example script shares: a usable backend and matplotlib drawing off screen.

The scripts in the repository's ``examples/`` folder import ``prepare`` from here, so that
each of them runs on its own once mdnlite is installed, copied anywhere.
"""

import sys

from .backend import BackendUnavailableError, get_xp

__all__ = ["prepare"]


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
