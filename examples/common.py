"""What every example shares: a usable backend and matplotlib drawing off screen.

Either is missing: the example stops with one clear line saying what to install, never a
traceback.
"""

import sys

import mdnlite


def prepare(backend):
    """Check that ``backend`` can run here and return ``matplotlib.pyplot`` (headless)."""
    try:
        mdnlite.get_xp(backend)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except mdnlite.BackendUnavailableError as exc:
        sys.exit(f"error: {exc}")
    except ImportError:
        sys.exit("error: the figures need matplotlib: pip install 'mdnlite[plot]'")
    return plt
