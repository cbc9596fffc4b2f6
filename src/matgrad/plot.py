"""Figures with matplotlib (an optional extra): training curves.

Figures are built with ``matplotlib.figure.Figure`` directly, not pyplot, so nothing here picks
a backend or opens a window: Jupyter shows the returned figure, the CLI saves it as PNG.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def training_curves(history: Any) -> Figure:
    """Loss and accuracy per epoch, training and (when recorded) validation, side by side."""
    figure = Figure(figsize=(10, 4), layout="constrained")
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
