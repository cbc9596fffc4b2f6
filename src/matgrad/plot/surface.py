"""The gradient's pictures from the user's own network: the cost over two weights as a 3-D surface
with −∇C drawn on it, and as a contour map with −∇C as arrows and the path descent took."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Line3DCollection

from .canvas import new_figure
from .landscape import CostSurface, compute_surface

PATH_COLOUR, CENTRE_COLOUR = "#d62728", "white"


def cost_surface(
    net: Any,
    loss: Callable,
    data: Any,
    params: Sequence[Any] = ("W2[0,1]", "W2[1,2]"),
    *,
    path: Any = None,
    optimizer: Any = None,
    steps: int = 500,
    start: Sequence[float] | None = None,
    span: float | Sequence[float] | None = None,
    resolution: int = 50,
    arrows: int = 15,
) -> Figure:
    """The loss of ``net`` on ``data`` over two of its weights, all others fixed.

    Left, the surface in 3-D with the negative gradient drawn on it; right, its contours with
    −∇C as arrows, both from matgrad's backward pass.  ``params`` names the two weights
    (``"W2[0,1]"`` or ``("W2", (0, 1))``: see :mod:`matgrad.plot.weights`).  ``path``: a History
    recorded with :class:`TrackWeights` (where training went) or ``(T, 2)`` values;
    ``optimizer``: an Optimizer (or ``params -> Optimizer``) to descend ``steps`` full-batch
    steps on this slice from ``start``.  See :func:`compute_surface` for the grid.
    """
    surface = compute_surface(
        net,
        loss,
        data,
        params,
        path=path,
        optimizer=optimizer,
        steps=steps,
        start=start,
        span=span,
        resolution=resolution,
        arrows=arrows,
    )
    return draw_surface(surface)


def draw_surface(surface: CostSurface) -> Figure:
    """The two panels of :func:`cost_surface` from numbers already computed."""
    figure = new_figure(13, 5.6)
    # computed_zorder=False: draw the vectors and the path over the surface, not hidden in it
    _draw_3d(figure.add_subplot(1, 2, 1, projection="3d", computed_zorder=False), surface)
    _draw_contours(figure.add_subplot(1, 2, 2), surface, figure)
    first, second = surface.labels
    figure.suptitle(f"{surface.loss_name} over {first} and {second}; every other weight fixed at its value")
    return figure


def _descent_directions(surface: CostSurface) -> np.ndarray:
    """−∇C at each arrow point, as unit vectors ``(M, 2)`` (zero where the gradient is zero)."""
    return -_unit_rows(surface.gradient)


def _draw_3d(axes: Any, surface: CostSurface) -> None:
    axes.plot_surface(surface.w1, surface.w2, surface.loss, cmap="viridis", alpha=0.8, linewidth=0, antialiased=False)
    ranges = np.array([np.ptp(surface.w1), np.ptp(surface.w2), max(np.ptp(surface.loss), 1e-12)])
    tails, vectors = _vectors_on_surface(surface, ranges)
    axes.add_collection3d(Line3DCollection(_arrow_segments(tails, vectors, ranges), colors="black", linewidths=1.0))
    if len(surface.path):
        axes.plot(*surface.path.T, surface.path_loss, color=PATH_COLOUR, lw=2, **_path_markers(surface.path))
    first, second = surface.labels
    axes.set_xlabel(first)
    axes.set_ylabel(second)
    axes.set_zlabel("C")
    axes.set_title("C and −∇C drawn on the surface")
    axes.view_init(elev=32, azim=-125)


def _vectors_on_surface(surface: CostSurface, ranges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every other arrow point, lifted onto the surface, and the steepest-descent direction there.

    Stepping by −ε∇C changes C by −ε‖∇C‖², so the direction on the surface is (−∇C, −‖∇C‖²).
    The axes have unrelated units (weights against loss), so each vector gets the same length
    measured in units of the axes' ranges, which is its length on screen.
    """
    keep = np.zeros((surface.arrows, surface.arrows), dtype=bool)
    keep[::2, ::2] = True
    keep = keep.ravel()
    gradient = surface.gradient[keep]
    tails = np.column_stack([surface.arrow_points[keep], surface.arrow_loss[keep]])
    direction = np.column_stack([-gradient, -np.sum(gradient**2, axis=1)])
    on_screen = 0.08 * _unit_rows(direction / ranges)  # 8% of the axes' ranges long
    return tails, on_screen * ranges


def _arrow_segments(tails: np.ndarray, vectors: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Line segments of 3-D arrows: a shaft and four barbs around it, a wire cone.

    mplot3d's own quiver builds its heads in data units, which with a loss axis hundreds of times
    shorter than the weight axes makes them tall spikes; these are built in screen units, then
    scaled back.
    """
    screen = vectors / ranges
    along = _unit_rows(screen)
    across = _unit_rows(np.cross(along, np.where(np.abs(along[:, 2:]) < 0.9, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])))
    around = np.cross(along, across)
    head = 0.35 * np.linalg.norm(screen, axis=1, keepdims=True)
    tips = tails / ranges + screen
    segments = [np.stack([tails / ranges, tips], axis=1)]
    for side in (across, -across, around, -around):
        segments.append(np.stack([tips, tips - head * (along - 0.45 * side)], axis=1))
    return np.concatenate(segments) * ranges


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, lengths, out=np.zeros_like(vectors), where=lengths > 0)


def _draw_contours(axes: Axes, surface: CostSurface, figure: Figure) -> None:
    filled = axes.contourf(surface.w1, surface.w2, surface.loss, levels=25, cmap="viridis")
    axes.contour(surface.w1, surface.w2, surface.loss, levels=filled.levels, colors="black", linewidths=0.3, alpha=0.5)
    figure.colorbar(filled, ax=axes, label="C")
    points, lengths = surface.arrow_points, _arrow_lengths(surface)
    directions = _descent_directions(surface) * lengths[:, None]
    axes.quiver(
        points[:, 0],
        points[:, 1],
        directions[:, 0],
        directions[:, 1],
        angles="xy",
        scale_units="xy",
        scale=1.0,
        color="white",
        edgecolor="black",
        linewidth=0.4,
        width=0.004,
        label="−∇C (backward pass)",
    )
    if len(surface.path):
        axes.plot(*surface.path.T, color=PATH_COLOUR, lw=1.5, label=surface.path_label, **_path_markers(surface.path))
        axes.plot(*surface.path[0], "o", color=PATH_COLOUR, ms=7, mec="white")
    axes.plot(*surface.centre, "*", color=CENTRE_COLOUR, ms=14, mec="black", label="the network's weights")
    first, second = surface.labels
    axes.set_xlabel(first)
    axes.set_ylabel(second)
    axes.set_aspect("equal", adjustable="box")  # equal units: −∇C then meets the contours at right angles
    axes.set_title("contours of C, −∇C from matgrad's backward pass")
    axes.legend(loc="upper right", fontsize=8, framealpha=0.85)


def _path_markers(path: np.ndarray) -> dict[str, Any]:
    """A dot every so many steps, about 25 in all: dots crowd where descent slows down."""
    return {"marker": ".", "ms": 5, "markevery": max(1, len(path) // 25)}


def _arrow_lengths(surface: CostSurface) -> np.ndarray:
    """Arrow lengths in data units: most of the spacing between arrows, shorter where C is flat
    (by the square root of ‖∇C‖, so that flat regions still show their direction)."""
    spacing = min(np.ptp(surface.arrow_points[:, k]) for k in range(2)) / (surface.arrows - 1)
    norms = np.linalg.norm(surface.gradient, axis=1)
    relative = np.sqrt(norms / norms.max()) if norms.max() > 0 else np.zeros_like(norms)
    return 0.85 * spacing * (0.35 + 0.65 * relative)
