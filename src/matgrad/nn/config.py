"""Rebuilding modules, losses and regularizers from their JSON-serialisable ``config()``.

The architecture of a checkpoint is stored as such a dict (never pickled); the weights go
separately through ``state_dict``.  Each table below lists, explicitly, the types it knows.
"""

from __future__ import annotations

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


def from_config(config: Mapping[str, Any]) -> Module:
    """A new module with the architecture ``config`` describes (fresh random weights).

    ``config`` is what ``module.config()`` returned, possibly after a JSON round trip.
    """
    kind = _kind(config, "from_config", [*MODULES, "Sequential"])
    if kind == "Sequential":
        return Sequential(*[from_config(child) for child in config.get("modules", [])])
    return _build(MODULES[kind], config, "from_config")


def loss_from_config(config: Mapping[str, Any]) -> Any:
    """A new loss from ``loss.config()``."""
    return _build(LOSSES[_kind(config, "loss_from_config", list(LOSSES))], config, "loss_from_config")


def regularizer_from_config(config: Mapping[str, Any]) -> Any:
    """A new regularizer from ``reg.config()``."""
    kind = _kind(config, "regularizer_from_config", list(REGULARIZERS))
    return _build(REGULARIZERS[kind], config, "regularizer_from_config")


def _kind(config: Mapping[str, Any], owner: str, known: list[str]) -> str:
    if not isinstance(config, Mapping) or "type" not in config:
        raise ValueError(f"{owner}: expected a dict with a 'type' key, got {config!r}")
    kind = config["type"]
    if kind not in known:
        raise ValueError(f"{owner}: unknown type {kind!r}; known types: {', '.join(known)}")
    return kind


def _build(cls: type, config: Mapping[str, Any], owner: str) -> Any:
    kwargs = {key: value for key, value in config.items() if key != "type"}
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ValueError(f"{owner}: cannot build {cls.__name__} from {dict(config)!r}: {error}") from error
