"""A matplotlib figure on the Agg canvas: no pyplot, no window, the same pixels everywhere."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A ``width × height`` inch figure drawn by Agg, whatever backend pyplot would pick.

    Jupyter still shows it inline (its formatter prints any Figure), and ``savefig`` writes it.
    """
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure
