"""Figures that judge a fitted model: its training history, PIT histogram and reliability.

Each draws into the Axes it is given (or a new figure) and returns the Figure; matplotlib is
imported when it draws.
"""

import numpy as np

from ..backend import to_host
from ..exceptions import NotFittedError
from . import common

__all__ = ["training_history", "pit_histogram", "reliability_diagram"]


def pit_histogram(model, X, y, *, bins=20, dim=0, ax=None):
    """Histogram of the probability integral transform F(y | x) on held-out data, with the
    flat line of a calibrated model and the band of ±2 binomial standard deviations around
    it: a U shape means intervals too narrow, a hump too wide, a slope a biased centre."""
    u = np.asarray(to_host(model.pit(X, y)), dtype=np.float64)
    u = u.reshape(len(u), -1)[:, dim]
    fig, (ax,) = common.axes(ax, 1, 1, panel=(4.5, 3.5))
    n, p = len(u), 1 / bins
    ax.hist(u, bins=bins, range=(0, 1), density=True, color="tab:blue", alpha=0.7,
            label="PIT values")
    spread = 2 * np.sqrt(n * p * (1 - p)) / (n * p)  # in units of the flat density 1
    ax.axhspan(1 - spread, 1 + spread, color="0.5", alpha=0.2, lw=0, label="±2 s.d.")
    ax.axhline(1, color="k", lw=1)
    ax.set(xlim=(0, 1), xlabel="F(y | x)", ylabel="density", title=f"PIT histogram (N = {n:,})")
    ax.legend(fontsize=8, loc="lower center")
    return fig


def reliability_diagram(model, X, y, *, levels=None, dim=0, ax=None):
    """Observed coverage of the central prediction intervals against their nominal level
    (``calibration``), with the diagonal and ±2 binomial standard errors around it."""
    report = model.calibration(X, y) if levels is None else model.calibration(X, y, levels)
    observed = np.asarray(report.observed, dtype=np.float64).reshape(len(report.levels), -1)
    c = np.asarray(report.levels)
    fig, (ax,) = common.axes(ax, 1, 1, panel=(4, 4))
    ax.fill_between(c, c - 2 * report.standard_error, c + 2 * report.standard_error,
                    color="0.5", alpha=0.25, lw=0, label="±2 s.e.")
    ax.plot([0, 1], [0, 1], color="k", lw=1)
    ax.plot(c, observed[:, dim], "o-", color="tab:blue", ms=4, label="observed")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="nominal coverage", ylabel="observed coverage",
           title=f"reliability (N = {report.n_samples:,})", aspect="equal")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def training_history(model, *, ax=None):
    """Training and validation loss per epoch, with the learning-rate changes marked.

    A dotted vertical line marks each first epoch trained at a new learning rate, labelled
    with that rate (changes that follow closely on a labelled one are left unlabelled).

    Parameters
    ----------
    model : fitted estimator with ``loss_curve_``, ``validation_loss_curve_`` and
        ``learning_rate_curve_`` (lists of float, one entry per epoch). With a learning-rate
        schedule the rate is drawn on a second, logarithmic axis; otherwise each change of
        the rate (a callback's) is marked by a vertical line.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    loss = getattr(model, "loss_curve_", None)
    if not loss:
        raise NotFittedError(f"this {type(model).__name__} has no training history: fit it first")
    fig, (ax,) = common.axes(ax, 1, 1, panel=(6, 4))
    epochs = np.arange(1, len(loss) + 1)
    ax.plot(epochs, loss, label="training")
    validation = getattr(model, "validation_loss_curve_", [])
    if validation:
        ax.plot(epochs[:len(validation)], validation, label="validation")
    rates, labelled = list(getattr(model, "learning_rate_curve_", [])), -np.inf
    if getattr(model, "learning_rate_schedule", "constant") != "constant" and rates:
        # a schedule changes the rate every epoch: its curve, on a second axis
        twin = ax.twinx()
        twin.plot(epochs[:len(rates)], rates, color="0.5", ls=":", lw=1)
        twin.set_yscale("log")
        twin.set_ylabel("learning rate (dotted)", color="0.4")
        rates = []
    for epoch, (old, new) in enumerate(zip(rates, rates[1:]), start=2):
        if new != old:
            ax.axvline(epoch, color="0.5", ls=":", lw=1)
            if epoch - labelled >= len(loss) / 30:  # labels of changes close together overlap
                ax.text(epoch, 0.98, f" lr {new:.2g}", transform=ax.get_xaxis_transform(),
                        rotation=90, va="top", ha="left", fontsize=7, color="0.3")
                labelled = epoch
    ax.set(xlabel="epoch", ylabel="loss", title="training history")
    ax.legend(fontsize=8)
    return fig
