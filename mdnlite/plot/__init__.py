"""Figures of a fitted MDN, or of plain mixture parameters, drawn with matplotlib.

Each figure function draws into the Axes it is given (or a new figure) and returns the Figure;
none calls ``plt.show`` or picks a backend. Every figure of data takes ``names=(input, target)``
for its axis labels and formulas, ("x", "y") by default. matplotlib is imported only when a
figure is drawn (``pip install 'mdnlite[plot]'``); ``conditional_density`` is plain NumPy.
"""

from .densities import (COLOR_SCALES, FULL_WEIGHT, LOG_DECADES, conditional_density,
                        density_heatmap, density_slices, five_charts, quantile_bands,
                        sample_grid, three_panels)
from .diagnostics import pit_histogram, reliability_diagram, training_history

__all__ = ["conditional_density", "five_charts", "three_panels", "density_heatmap",
           "density_slices", "training_history", "sample_grid", "quantile_bands",
           "pit_histogram", "reliability_diagram"]
