"""matgrad ↔ PyTorch: an MLP as a ``torch.nn.Sequential`` and back, weights transposed once.

matgrad's ``Linear`` keeps ``W`` as ``(in, out)`` and computes ``X W + b``; PyTorch's keeps
``weight`` as ``(out, in)`` and computes ``X weightᵀ + bias``.  So ``weight = Wᵀ`` and, for the
gradients, ``weight.grad = (∂C/∂W)ᵀ``.  The layers keep their positions (a Dropout stays a
Dropout), so ``state_dict`` keys read ``0.weight, 0.bias, 2.weight, …`` for an MLP's
``layers.0.W, layers.0.b, layers.2.W``.

torch is imported only when a function here runs; matgrad itself never needs it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_writer
from .layers import Activation, Dense, Drop, ExportError, Step, common_dtype, fold_standardizer, steps_of, to_matgrad

_TORCH_CLASSES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "LeakyReLU",
                  "softmax": "Softmax", "log_softmax": "LogSoftmax", "identity": "Identity"}
_FROM_TORCH = {cls: name for name, cls in _TORCH_CLASSES.items()}
SUPPORTED_TORCH = "Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, LogSoftmax, Identity, Dropout, nested Sequential"


class TorchMissingError(ExportError):
    """PyTorch is not installed."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TorchMissingError("this needs PyTorch, which is not installed: pip install torch") from None
    return torch


# ----- matgrad → PyTorch -------------------------------------------------------------------------


def to_torch(model: Any, standardizer: Any = None) -> Any:
    """A ``torch.nn.Sequential`` computing what the matgrad MLP ``model`` computes, with its
    weights (``weight = Wᵀ``), in ``model``'s dtype and train/eval mode.  With a fitted
    ``standardizer`` it is folded into the first layer (the result takes raw features)."""
    steps = steps_of(model, "to_torch")
    common_dtype(steps, "to_torch")
    if standardizer is not None:
        steps = fold_standardizer(steps, standardizer.mean, standardizer.std)
    return _sequential(steps).train(model.training)


def _sequential(steps: list[Step]) -> Any:
    torch = _torch()
    layers = []
    for step in steps:
        if isinstance(step, Dense):
            layers.append(_linear(torch, step))
        elif isinstance(step, Drop):
            layers.append(torch.nn.Dropout(step.p))
        elif step.name == "leaky_relu":
            layers.append(torch.nn.LeakyReLU(step.slope))
        elif step.name in ("softmax", "log_softmax"):
            layers.append(getattr(torch.nn, _TORCH_CLASSES[step.name])(dim=step.axis))
        else:
            layers.append(getattr(torch.nn, _TORCH_CLASSES[step.name])())
    return torch.nn.Sequential(*layers)


def _linear(torch: Any, step: Dense) -> Any:
    n_in, n_out = step.W.shape
    dtype = torch.float64 if step.W.dtype == np.float64 else torch.float32
    layer = torch.nn.Linear(n_in, n_out, bias=step.b is not None, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(step.W.T)))  # (out, in): PyTorch's layout
        if step.b is not None:
            layer.bias.copy_(torch.from_numpy(np.array(step.b)))
    return layer


def save_torch(model: Any, path: str | os.PathLike, standardizer: Any = None) -> tuple[Path, str]:
    """Write the ``state_dict`` of :func:`to_torch` with ``torch.save``, atomically; return the
    path and the Python expression that builds the ``nn.Sequential`` it loads into."""
    torch = _torch()
    sequential = to_torch(model, standardizer)
    buffer = io.BytesIO()
    torch.save(sequential.state_dict(), buffer)
    target = Path(path)
    with atomic_writer(target) as file:
        file.write(buffer.getvalue())
    return target, architecture_code(sequential)


def architecture_code(sequential: Any) -> str:
    """``nn.Sequential(nn.Linear(2, 8), nn.Tanh(), …)``: the code that rebuilds ``sequential``."""
    parts = []
    for layer in sequential:
        kind = type(layer).__name__
        if kind == "Linear":
            dtype = ", dtype=torch.float64" if layer.weight.dtype != _torch().float32 else ""
            bias = ", bias=False" if layer.bias is None else ""
            parts.append(f"nn.Linear({layer.in_features}, {layer.out_features}{bias}{dtype})")
        elif kind == "LeakyReLU":
            parts.append(f"nn.LeakyReLU({layer.negative_slope!r})")
        elif kind in ("Softmax", "LogSoftmax"):
            parts.append(f"nn.{kind}(dim={layer.dim})")
        elif kind == "Dropout":
            parts.append(f"nn.Dropout({layer.p!r})")
        else:
            parts.append(f"nn.{kind}()")
    return f"nn.Sequential({', '.join(parts)})"


# ----- PyTorch → matgrad -------------------------------------------------------------------------


def from_torch(sequential: Any) -> Any:
    """A matgrad ``Sequential`` with the layers and weights of a ``torch.nn.Sequential`` MLP
    (``W = weightᵀ``), in its dtype and train/eval mode.  Nested Sequentials are flattened."""
    torch = _torch()
    if not isinstance(sequential, torch.nn.Sequential):
        raise ExportError(
            f"from_torch: expected a torch.nn.Sequential, got {type(sequential).__name__}; a Module with a forward "
            "of its own cannot be read layer by layer (put its layers in an nn.Sequential)"
        )
    steps = [_torch_step(torch, layer, where) for where, layer in _leaves(torch, sequential)]
    if not any(isinstance(step, Dense) for step in steps):
        raise ExportError("from_torch: the Sequential has no nn.Linear layer; nothing to import")
    return to_matgrad(steps, training=sequential.training)


def _leaves(torch: Any, sequential: Any) -> list[tuple[str, Any]]:
    found, pending = [], [("", sequential)]
    while pending:
        prefix, module = pending.pop(0)
        if isinstance(module, torch.nn.Sequential):
            pending[:0] = [(f"{prefix}.{name}".lstrip("."), child) for name, child in module.named_children()]
        else:
            found.append((prefix, module))
    return found


def _torch_step(torch: Any, layer: Any, where: str) -> Step:
    kind = type(layer).__name__
    if isinstance(layer, torch.nn.Linear):
        W = _array(layer.weight, where).T  # PyTorch's (out, in) → matgrad's (in, out)
        return Dense(np.ascontiguousarray(W), None if layer.bias is None else _array(layer.bias, where))
    if isinstance(layer, torch.nn.Dropout):
        return Drop(float(layer.p))
    if isinstance(layer, torch.nn.LeakyReLU):
        return Activation("leaky_relu", slope=float(layer.negative_slope))
    if isinstance(layer, (torch.nn.Softmax, torch.nn.LogSoftmax)):
        axis = -1 if layer.dim is None else int(layer.dim)  # dim=None: PyTorch picks the last of a 2-D input
        return Activation(_FROM_TORCH[kind], axis=axis)
    if kind in _FROM_TORCH and type(layer).__module__.startswith("torch.nn"):
        return Activation(_FROM_TORCH[kind])
    raise ExportError(f"from_torch: layer {where} is {kind}, which matgrad cannot import; supported: {SUPPORTED_TORCH}")


def _array(parameter: Any, where: str) -> np.ndarray:
    torch = _torch()
    if parameter.dtype not in (torch.float32, torch.float64):
        raise ExportError(f"from_torch: layer {where} holds {parameter.dtype} weights; matgrad imports float32 or "
                          "float64 (call .float() or .double() on the Sequential first)")
    return parameter.detach().cpu().numpy().copy()


# ----- mg.explain of a PyTorch network ------------------------------------------------------------


def for_explain(network: Any, loss: Any, x: Any, y: Any) -> tuple[Any, Any, Any, Any]:
    """What ``mg.explain`` needs from a PyTorch ``nn.Sequential``, its loss and data: the matgrad
    network (weights imported), a matgrad loss computing the same number, NumPy ``x`` and ``y``."""
    return from_torch(network), _loss(loss), _numpy(x), _numpy(y)


def _numpy(value: Any) -> Any:
    torch = _torch()
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


def _loss(loss: Any) -> Any:
    """A PyTorch loss module as the matgrad loss of the same value (``nn.MSELoss`` is the mean
    over every entry, without matgrad's ½); anything else is passed through unchanged."""
    torch = _torch()
    from .. import nn
    from ..primitives import mean as mean_
    from ..primitives import sum as sum_

    if not isinstance(loss, torch.nn.Module):
        return loss
    kind, reduction = type(loss).__name__, getattr(loss, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise ExportError(f"explain: {kind}(reduction={reduction!r}) gives no single number; use 'mean' or 'sum'")
    if isinstance(loss, torch.nn.MSELoss):
        reduce = mean_ if reduction == "mean" else sum_

        def squared_error(a: Any, y: Any) -> Any:  # PyTorch's MSELoss: no ½, mean over all N·K entries
            return reduce((a - y) ** 2)

        return squared_error
    plain = getattr(loss, "weight", None) is None and getattr(loss, "pos_weight", None) is None
    if isinstance(loss, torch.nn.CrossEntropyLoss) and plain and loss.label_smoothing == 0 and loss.ignore_index < 0:
        return nn.CrossEntropyLoss(reduction)
    if isinstance(loss, torch.nn.BCEWithLogitsLoss) and plain:
        return nn.BCEWithLogitsLoss(reduction)
    raise ExportError(f"explain: the PyTorch loss {loss!r} has no matgrad counterpart; supported: MSELoss, "
                      "CrossEntropyLoss and BCEWithLogitsLoss without weights, or a function of matgrad Tensors")
