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
        val_epochs, val_values = _recorded(history, f"val_{key}")
        if val_values:  # validation may run on some epochs only: plot it where it was recorded
            axes.plot(val_epochs, val_values, marker="s", markersize=3, label=f"test {label}")
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
    loss_axes.set_title("loss per example")
    accuracy_axes.set_title("accuracy")
    return figure


def _recorded(history: Any, key: str) -> tuple[list[float], list[float]]:
    """The epochs that recorded ``key`` and its values there."""
    records = getattr(history, "records", None)
    if records is None:  # a mapping of equal-length columns
        return list(history["epoch"]), list(history[key]) if key in history else []
    pairs = [(record["epoch"], record[key]) for record in records if key in record]
    return [epoch for epoch, _ in pairs], [value for _, value in pairs]
