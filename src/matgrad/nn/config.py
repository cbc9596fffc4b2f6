"""Rebuilding modules, losses and regularizers from their JSON-serialisable ``config()``.

The architecture of a checkpoint is stored as such a dict (never pickled); the weights go
separately through ``state_dict``.  Each table below lists, explicitly, the types it knows.

A config may come from a file someone else wrote, so ``from_config`` checks its shape first:
nesting at most ``MAX_NESTING`` deep, sizes positive integers (not floats, strings or
booleans), at most ``MAX_LAYERS`` layers. ``parameter_count`` gives the number of tensors
and of weights a config declares without building anything, so a caller holding the
weights (a checkpoint) can refuse an architecture far bigger than they are.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from .activations import Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .conv import Conv2d, Flatten
from .dropout import Dropout
from .linear import Linear
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .mlp import MLP
from .module import Module
from .regularizers import L1, L2
from .sequential import Sequential

MODULES: dict[str, type] = {
    cls.__name__: cls
    for cls in (Linear, Conv2d, Flatten, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, LogSoftmax, Identity, Dropout, MLP)
}
LOSSES: dict[str, type] = {cls.__name__: cls for cls in (MSELoss, CrossEntropyLoss, BCEWithLogitsLoss)}
REGULARIZERS: dict[str, type] = {cls.__name__: cls for cls in (L1, L2)}
MAX_NESTING = 32  # Sequentials inside Sequentials
MAX_LAYERS = 10_000  # sizes of an MLP, children of a Sequential


def from_config(config: Mapping[str, Any]) -> Module:
    """A new module with the architecture ``config`` describes (fresh random weights).

    ``config`` is what ``module.config()`` returned, possibly after a JSON round trip.
    Raises ``ValueError`` naming the problem for a config of the wrong shape (see the module doc).
    """
    parameter_count(config)  # validates sizes and nesting before anything is allocated
    return _from_checked_config(config)


def _from_checked_config(config: Mapping[str, Any]) -> Module:
    kind = _kind(config, "from_config", [*MODULES, "Sequential"])
    if kind == "Sequential":
        return Sequential(*[_from_checked_config(child) for child in config.get("modules", [])])
    return _build(MODULES[kind], config, "from_config")


def parameter_count(config: Mapping[str, Any]) -> tuple[int, int]:
    """``(tensors, weights)`` the module ``config`` describes would hold, computed from the config
    alone (nothing is built); raises ``ValueError`` for sizes that are not positive integers,
    too many layers or too deep nesting."""
    tensors, weights = 0, 0
    pending = [(config, 0)]
    while pending:  # a work list, not recursion: the nesting depth comes from the file
        node, depth = pending.pop()
        kind = _kind(node, "from_config", [*MODULES, "Sequential"])
        if depth > MAX_NESTING:
            raise ValueError(f"from_config: Sequentials nested more than {MAX_NESTING} deep")
        if kind == "Sequential":
            children = node.get("modules", [])
            _check_list(children, "Sequential modules", 0)
            pending.extend((child, depth + 1) for child in children)
            continue
        count, size = _own_parameters(kind, node)
        tensors, weights = tensors + count, weights + size
    return tensors, weights


def _own_parameters(kind: str, config: Mapping[str, Any]) -> tuple[int, int]:
    """``(tensors, weights)`` of one non-container module."""
    bias = config.get("bias", True) is not False
    if kind == "MLP":
        sizes = _check_list(config.get("sizes"), "MLP sizes", 2)
        sizes = [_positive(n, "MLP", "sizes") for n in sizes]
        return 2 * (len(sizes) - 1), sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    if kind == "Linear":
        n_in, n_out = (_positive(config.get(key), "Linear", key) for key in ("in_features", "out_features"))
        return 1 + bias, n_in * n_out + bias * n_out
    if kind == "Conv2d":
        n_in, n_out = (_positive(config.get(key), "Conv2d", key) for key in ("in_channels", "out_channels"))
        kernel = config.get("kernel_size")
        kernel = [kernel, kernel] if not isinstance(kernel, list) else _check_list(kernel, "Conv2d kernel_size", 2)
        area = math.prod(_positive(k, "Conv2d", "kernel_size") for k in kernel)
        return 1 + bias, n_out * n_in * area + bias * n_out
    return 0, 0


def _check_list(value: Any, what: str, at_least: int) -> list[Any]:
    if not isinstance(value, list) or not at_least <= len(value) <= MAX_LAYERS:
        raise ValueError(
            f"from_config: {what} must be a list of {at_least} to {MAX_LAYERS} entries, got {_brief(value)}"
        )
    return value


def _positive(value: Any, kind: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"from_config: cannot build {kind}: {key} must be positive integers, got {_brief(value)}")
    return value


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def loss_from_config(config: Mapping[str, Any]) -> Any:
    """A new loss from ``loss.config()``."""
    return _build(LOSSES[_kind(config, "loss_from_config", list(LOSSES))], config, "loss_from_config")


def regularizer_from_config(config: Mapping[str, Any]) -> Any:
    """A new regularizer from ``reg.config()``."""
    kind = _kind(config, "regularizer_from_config", list(REGULARIZERS))
    return _build(REGULARIZERS[kind], config, "regularizer_from_config")


def _kind(config: Mapping[str, Any], owner: str, known: list[str]) -> str:
    if not isinstance(config, Mapping) or "type" not in config:
        raise ValueError(f"{owner}: expected a dict with a 'type' key, got {_brief(config)}")
    kind = config["type"]
    if not isinstance(kind, str) or kind not in known:
        raise ValueError(f"{owner}: unknown type {_brief(kind)}; known types: {', '.join(known)}")
    return kind


def _build(cls: type, config: Mapping[str, Any], owner: str) -> Any:
    kwargs = {key: value for key, value in config.items() if key != "type"}
    try:
        return cls(**kwargs)
    except (TypeError, OverflowError) as error:  # an unknown key, or a value of the wrong JSON type
        raise ValueError(f"{owner}: cannot build {cls.__name__} from {_brief(dict(config))}: {error}") from error
