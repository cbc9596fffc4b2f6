"""A matplotlib figure on the Agg canvas: no pyplot, no window, the same pixels everywhere."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class Picture(Figure):
    """A Figure that Jupyter shows inline by itself.

    Jupyter's own hook for figures is installed only once pyplot is imported, and nothing here
    imports pyplot, so the figure offers its PNG (``_repr_png_``) directly.
    """

    def __repr__(self) -> str:
        width, height = self.get_size_inches()
        titles = [axes.get_title() for axes in self.axes if axes.get_title()]
        named = f": {', '.join(map(repr, titles))}" if titles else ""
        count = len(self.axes)
        return f"<Picture {width:g}×{height:g} in, {count} axes{named}; .savefig(path) writes it>"

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def new_figure(width: float, height: float) -> Picture:
    """A ``width × height`` inch figure drawn by Agg, whatever backend pyplot would pick."""
    figure = Picture(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure
