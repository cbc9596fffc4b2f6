"""Pictures of a network and its gradient: cost surfaces, computation graphs, curves, regions.

- :func:`cost_surface` — the loss over two chosen weights (every other weight fixed) as a 3-D
  surface and a contour map, with −∇C from matgrad's backward pass as arrows (and as vectors
  on the surface), and the path gradient descent took;
- :func:`graph` — the recorded computation, one box per primitive, as Graphviz DOT (SVG/PNG
  when the ``dot`` program is installed);
- :func:`training_curves` — loss and accuracy per epoch; :func:`decision_regions` — the
  classes a network gives each point of a 2-D input plane.

The matplotlib pictures are ``matplotlib.figure.Figure`` objects drawn on the non-interactive
Agg canvas: nothing here opens a window, Jupyter shows a returned figure inline and
``fig.savefig("x.png")`` writes it. matplotlib is an optional extra, so each name below is
imported on first use, and a missing matplotlib is reported with the command that installs it.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module that defines it, imported on first use (most of them need matplotlib).  No module
# is named like a function here, since importing a submodule sets the package attribute of its name.
_EXPORTS = {
    "training_curves": "curves",
    "cost_surface": "surface",
    "draw_surface": "surface",
    "compute_surface": "landscape",
    "CostSurface": "landscape",
    "LossSlice": "landscape",
    "TrackWeights": "landscape",
    "resolve_weight": "weights",
    "Weight": "weights",
    "graph": "dot",
    "GraphDrawing": "dot",
    "GraphvizNotFoundError": "dot",
    "decision_regions": "boundary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'matgrad.plot' has no attribute {name!r}; it has {', '.join(__all__)}")
    try:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("matplotlib"):
            raise
        raise ImportError(
            f'matgrad.plot.{name} draws with matplotlib, which is not installed: pip install "matgrad[cli]"'
        ) from error
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
