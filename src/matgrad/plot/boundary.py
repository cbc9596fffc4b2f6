"""Decision regions: the class a trained network gives each point of a 2-D input plane."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..state import no_grad
from ..tensor import Tensor
from ..train import as_arrays, predictions
from .canvas import new_figure

CLASS_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


def decision_regions(net: Any, data: Any, *, test: Any = None, loss: Any = None, resolution: int = 300) -> Figure:
    """The plane coloured by the class ``net`` predicts, with the examples of ``data`` (dots)
    and ``test`` (triangles) on top, coloured by their true class.

    ``data`` must have two features.  ``loss`` tells how a single output column is read:
    a logit (``BCEWithLogitsLoss``, threshold 0) or a probability (threshold ½).
    """
    X, y = as_arrays(data)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"decision_regions: the examples must be points of a plane, shape (N, 2); got {X.shape}. "
            f"For data with more features draw training_curves or cost_surface instead"
        )
    if resolution < 2:
        raise ValueError(f"decision_regions: resolution must be at least 2, got {resolution}")
    everything = X if test is None else np.concatenate([X, as_arrays(test)[0]])
    low, high = everything.min(axis=0), everything.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-6)
    xs, ys = (np.linspace(low[k] - margin[k], high[k] + margin[k], resolution) for k in range(2))
    grid = np.column_stack([each.ravel() for each in np.meshgrid(xs, ys)]).astype(X.dtype)
    binary_logits = type(loss).__name__ == "BCEWithLogitsLoss"
    regions = predict(net, grid, binary_logits).reshape(resolution, resolution)
    classes = max(int(regions.max()), int(y.max())) + 1
    if classes > len(CLASS_COLOURS):
        raise ValueError(f"decision_regions: {classes} classes, but only {len(CLASS_COLOURS)} colours to tell apart")
    return _draw(xs, ys, regions, classes, (X, y), None if test is None else as_arrays(test), net, binary_logits)


def predict(net: Any, X: np.ndarray, binary_logits: bool) -> np.ndarray:
    """Class predictions of ``net`` for the rows of ``X``, in evaluation mode."""
    was_training = getattr(net, "training", False)
    net.eval()
    try:
        with no_grad():
            return predictions(np.asarray(net(Tensor(X)).data), binary_logits)
    finally:
        if was_training:
            net.train()


def _draw(
    xs: np.ndarray, ys: np.ndarray, regions: np.ndarray, classes: int, train: Any, test: Any, net: Any, binary: bool
) -> Figure:
    figure = new_figure(7, 6)
    axes = figure.add_subplot(1, 1, 1)
    colours = ListedColormap(CLASS_COLOURS[:classes])
    axes.pcolormesh(xs, ys, regions, cmap=colours, vmin=-0.5, vmax=classes - 0.5, alpha=0.3, shading="auto")
    axes.contour(xs, ys, regions, levels=np.arange(classes - 1) + 0.5, colors="black", linewidths=0.8)
    titles = []
    shown = [(train, "o", "train")] + ([(test, "^", "test")] if test is not None else [])
    for (X, y), marker, name in shown:
        axes.scatter(
            X[:, 0],
            X[:, 1],
            c=y,
            cmap=colours,
            vmin=-0.5,
            vmax=classes - 0.5,
            marker=marker,
            s=22,
            edgecolors="black",
            linewidths=0.5,
            label=name,
        )
        titles.append(f"{name} accuracy {100 * np.mean(predict(net, X, binary) == y):.1f}%")
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    axes.set_title("decision regions of the trained network\n" + ", ".join(titles))
    axes.legend(loc="upper right", fontsize=8, framealpha=0.85)
    return figure
