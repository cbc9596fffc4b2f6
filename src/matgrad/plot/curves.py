"""Training curves: loss and accuracy per epoch, training and validation, side by side."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from .canvas import new_figure


def training_curves(history: Any) -> Figure:
    """Loss and accuracy per epoch, training and (when recorded) validation, side by side.

    ``history`` is what ``mg.fit`` returns (or anything indexed by column name the same way).
    """
    figure = new_figure(10, 4)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = history["epoch"]
    for axes, key, label in ((loss_axes, "loss", "loss"), (accuracy_axes, "accuracy", "accuracy")):
        axes.plot(epochs, history[key], marker="o", markersize=3, label=f"train {label}")
        if history[f"val_{key}"]:
            axes.plot(epochs, history[f"val_{key}"], marker="s", markersize=3, label=f"test {label}")
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
    loss_axes.set_title("loss per example")
    accuracy_axes.set_title("accuracy")
    return figure
