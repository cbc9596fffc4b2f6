"""An MLP as a flat list of steps, the common ground of every bridge (ONNX, PyTorch).

A matgrad network (``MLP``, ``Sequential`` of ``Linear`` and activations, nested or not) is read
into :class:`Dense`, :class:`Activation` and :class:`Drop` steps; each bridge writes steps out
in its own format and reads its format back into steps; :func:`to_matgrad` builds the matgrad
``Sequential`` again.  ``Dense.W`` keeps matgrad's row layout, ``(in, out)`` with
``Y = X W + b``: a bridge whose format stores ``(out, in)`` (PyTorch's ``Linear.weight``)
transposes on its own side, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: matgrad activation class → the name a step uses (shared by both bridges).
ACTIVATION_NAMES = {
    "Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "LeakyReLU": "leaky_relu",
    "Softmax": "softmax", "LogSoftmax": "log_softmax", "Identity": "identity",
}
SUPPORTED = "Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, LogSoftmax, Identity, Dropout (in MLP or Sequential)"
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class ExportError(ValueError):
    """A model that cannot cross a bridge: an unsupported layer, a malformed file, a missing library."""


@dataclass
class Dense:
    """``Y = X W + b``: ``W`` is ``(in, out)`` (matgrad's layout), ``b`` is ``(out,)`` or ``None``."""

    W: np.ndarray
    b: np.ndarray | None


@dataclass
class Activation:
    """An activation by its matgrad name; ``slope`` for leaky_relu, ``axis`` for (log_)softmax."""

    name: str
    slope: float = 0.01
    axis: int = -1


@dataclass
class Drop:
    """Dropout with probability ``p``: the identity at inference, so the ONNX graph leaves it out."""

    p: float


Step = Dense | Activation | Drop


def steps_of(model: Any, owner: str) -> list[Step]:
    """The steps of a matgrad network, in order; an unsupported layer is an :class:`ExportError`
    naming it and its position (``layers.3``)."""
    from ..nn import Module

    if not isinstance(model, Module):
        raise ExportError(f"{owner}: expected a matgrad nn.Module (an MLP or a Sequential), got {type(model).__name__}")
    found: list[Step] = []
    pending: list[tuple[str, Any]] = [("", model)]
    while pending:  # depth first, in order, without recursion
        name, module = pending.pop(0)
        kind = type(module).__name__
        if kind in ("MLP", "Sequential"):
            children = [(f"{name}.{child}".lstrip("."), sub) for child, sub in module.named_children()]
            pending[:0] = children
        else:
            found.append(_step(module, kind, name or kind, owner))
    if not any(isinstance(step, Dense) for step in found):
        raise ExportError(f"{owner}: the network has no Linear layer; nothing to export")
    return found


def _step(module: Any, kind: str, where: str, owner: str) -> Step:
    if kind == "Linear":
        return Dense(module.W.data, None if module.b is None else module.b.data)
    if kind == "Dropout":
        return Drop(module.p)
    if kind in ACTIVATION_NAMES:
        return Activation(ACTIVATION_NAMES[kind], getattr(module, "slope", 0.01), getattr(module, "axis", -1))
    raise ExportError(
        f"{owner}: layer {where} is {kind}, which cannot be exported; supported layers: {SUPPORTED}"
    )


def common_dtype(steps: list[Step], owner: str) -> np.dtype:
    """The one float dtype of all weights (float32 or float64)."""
    dtypes = {np.dtype(a.dtype) for step in steps if isinstance(step, Dense) for a in (step.W, step.b) if a is not None}
    if len(dtypes) != 1 or not dtypes <= set(FLOATS):
        shown = ", ".join(sorted(d.name for d in dtypes))
        raise ExportError(f"{owner}: the weights are {shown}; export needs one dtype, float32 or float64 "
                          "(cast the model, e.g. build it with dtype=np.float32)")
    return dtypes.pop()


def fold_standardizer(steps: list[Step], mean: np.ndarray, std: np.ndarray) -> list[Step]:
    """The steps with ``(x − mean) / std`` folded into the first layer, so the result takes raw
    features: ``((x − m) / s) W + b = x (W / s[:, None]) + (b − (m / s) W)``, in float64, then
    cast back to the layer's dtype."""
    first = steps[0]
    if not isinstance(first, Dense) or first.W.shape[0] != mean.shape[0]:
        raise ExportError(f"export: the standardizer has {mean.shape[0]} features but the first layer is not a "
                          "Linear layer taking that many")
    W = first.W.astype(np.float64)
    b = first.b.astype(np.float64) if first.b is not None else np.zeros(W.shape[1])
    scaled = W / std[:, None]
    folded = Dense(scaled.astype(first.W.dtype), (b - mean @ scaled).astype(first.W.dtype))
    return [folded, *steps[1:]]


def to_matgrad(steps: list[Step], training: bool = False) -> Any:
    """A matgrad ``Sequential`` computing the steps, with their weights (copied)."""
    from .. import nn
    from ..tensor import Tensor

    modules = []
    for step in steps:
        if isinstance(step, Dense):
            layer = nn.Linear(step.W.shape[0], step.W.shape[1], bias=step.b is not None, init="zeros",
                              dtype=step.W.dtype)
            layer.W = Tensor(np.array(step.W), requires_grad=True)
            if step.b is not None:
                layer.b = Tensor(np.array(step.b, dtype=step.W.dtype), requires_grad=True)
            modules.append(layer)
        elif isinstance(step, Drop):
            modules.append(nn.Dropout(step.p))
        else:
            modules.append(_activation(step))
    model = nn.Sequential(*modules)
    return model.train(training)


def _activation(step: Activation) -> Any:
    from .. import nn

    if step.name == "leaky_relu":
        return nn.LeakyReLU(step.slope)
    if step.name in ("softmax", "log_softmax"):
        return (nn.Softmax if step.name == "softmax" else nn.LogSoftmax)(axis=step.axis)
    return nn.get_activation(step.name)


def describe(steps: list[Step]) -> str:
    """``Linear(2→8), tanh, Linear(8→2)``: for messages."""
    parts = []
    for step in steps:
        if isinstance(step, Dense):
            parts.append(f"Linear({step.W.shape[0]}→{step.W.shape[1]}{'' if step.b is not None else ', no bias'})")
        elif isinstance(step, Drop):
            parts.append(f"Dropout({step.p:g})")
        else:
            parts.append(step.name)
    return ", ".join(parts)
