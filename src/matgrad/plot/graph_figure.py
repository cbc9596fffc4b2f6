"""The computation graph drawn with matplotlib: boxes placed by :mod:`.graph_layout`, top to bottom.

Everything is measured in points (1/72 in): the axes fill the figure and one data unit is one
point, so a box is as wide as its text and the figure as wide as its widest row — at most
``MAX_WIDTH_INCHES`` (rows wider than that wrap), 1500 px at the default 100 dpi.
"""

from __future__ import annotations

import textwrap
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path
from matplotlib.textpath import TextToPath

from .canvas import Picture as Figure
from .dot import CONSTANT_COLOUR, OPERATION_FILL, PARAMETER_FILL, Box, Picture
from .graph_layout import layout

MAX_WIDTH_INCHES = 15.0
MARGIN = 12.0  # points around the drawing
HEADING_SIZE, ROW_SIZE, LEGEND_SIZE = 10.0, 8.0, 8.0
LINE = 1.35  # line height, in font sizes
PAD_X, PAD_Y = 7.0, 4.0  # inside a box
FILL = {"parameter": PARAMETER_FILL, "operation": OPERATION_FILL, "data": "white"}

_measure = TextToPath()


def _text_width(text: str, size: float) -> float:
    width, _, _ = _measure.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return width


def _box_size(box: Box) -> tuple[float, float]:
    widths = [_text_width(row, HEADING_SIZE if i == 0 else ROW_SIZE) for i, row in enumerate(box.rows)]
    height = LINE * (HEADING_SIZE + ROW_SIZE * (len(box.rows) - 1))
    return max(widths) + 2 * PAD_X, height + 2 * PAD_Y


def draw(picture: Picture, max_width_inches: float = MAX_WIDTH_INCHES) -> Figure:
    """The figure: boxes, edges from argument to use, the legend underneath."""
    sizes = {box.key: _box_size(box) for box in picture.boxes}
    room = max_width_inches * 72 - 2 * MARGIN
    placed = layout([box.key for box in picture.boxes], picture.edges, sizes, max_width=room)

    width = max(placed.width, min(room, 360.0))  # wide enough for a legend of a few lines
    legend = _wrapped(picture.legend, width)
    legend_height = LINE * LEGEND_SIZE * len(legend) + 10.0
    total_width, total_height = width + 2 * MARGIN, placed.height + legend_height + 2 * MARGIN
    figure = Figure(figsize=(total_width / 72, total_height / 72))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, total_width)
    axes.set_ylim(total_height, 0)  # y grows downwards, as in the layout
    axes.set_axis_off()
    dx, dy = MARGIN + (width - placed.width) / 2, MARGIN

    for points in _spread(placed.routes, sizes).values():
        path = Path([(x + dx, y + dy) for x, y in points])
        axes.add_patch(
            FancyArrowPatch(
                path=path, arrowstyle="-|>,head_length=0.5,head_width=0.25", mutation_scale=10,
                color="#555555", linewidth=0.8, zorder=1,
            )
        )
    for box in picture.boxes:
        _draw_box(axes, box, placed.x[box.key] + dx, placed.y[box.key] + dy, sizes[box.key])
    top = dy + placed.height + 10.0
    for i, line in enumerate(legend):
        axes.text(MARGIN, top + LINE * LEGEND_SIZE * (i + 0.5), line, fontsize=LEGEND_SIZE, color="#555555",
                  ha="left", va="center")
    return figure


def _spread(routes: dict, sizes: dict) -> dict:
    """Routes whose ends are spread along the box edge, in the order of the other ends (no pile-up
    of arrowheads at one point)."""
    routes = {edge: list(points) for edge, points in routes.items()}
    for end, other, side in ((0, 1, 0), (-1, -2, 1)):  # the start on a source's bottom, the end on a target's top
        groups: dict = {}
        for edge in routes:
            groups.setdefault(edge[side], []).append(edge)
        for node, edges in groups.items():
            edges.sort(key=lambda e: routes[e][other][0])
            step = min(14.0, (sizes[node][0] - 12.0) / len(edges))
            for i, edge in enumerate(edges):
                x, y = routes[edge][end]
                routes[edge][end] = (x + (i - (len(edges) - 1) / 2) * step, y)
    return routes


def _draw_box(axes: Any, box: Box, x: float, y: float, size: tuple[float, float]) -> None:
    w, h = size
    style = "round,pad=0,rounding_size=6" if box.kind == "parameter" else "square,pad=0"
    edge = CONSTANT_COLOUR if box.kind == "data" else "#333333"
    axes.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=style, facecolor=FILL[box.kind], edgecolor=edge,
                       linewidth=0.9, linestyle="--" if box.kind == "data" else "-", zorder=2)
    )
    if box.output:  # a double border, as Graphviz's peripheries=2
        axes.add_patch(FancyBboxPatch((x - w / 2 - 3, y - h / 2 - 3), w + 6, h + 6, boxstyle=style,
                                      facecolor="none", edgecolor=edge, linewidth=0.9, zorder=2))
    line_top = y - h / 2 + PAD_Y
    for i, row in enumerate(box.rows):
        size_ = HEADING_SIZE if i == 0 else ROW_SIZE
        axes.text(x, line_top + LINE * size_ / 2, row, fontsize=size_, ha="center", va="center", zorder=3,
                  color="#111111" if i == 0 else "#444444")
        line_top += LINE * size_


def _wrapped(text: str, width: float) -> list[str]:
    """The legend in lines that fit ``width`` points (measured, not guessed from a character count)."""
    characters = max(20, int(width / (0.55 * LEGEND_SIZE)))
    while characters > 20:
        lines = textwrap.wrap(text, characters)
        if max(_text_width(line, LEGEND_SIZE) for line in lines) <= width:
            return lines
        characters -= 5
    return textwrap.wrap(text, 20)
