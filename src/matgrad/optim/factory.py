"""Optimizers and schedules by name (for the CLI) and from state dicts (for checkpoints)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from ..tensor import Tensor
from . import _checks as check
from .lbfgs import LBFGS
from .newton import Newton
from .optimizers import SGD, Adam, AdamW, Optimizer
from .schedules import ConstantLR, CosineLR, LRSchedule, StepLR

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "lbfgs": LBFGS, "newton": Newton}
SCHEDULES: dict[str, type[LRSchedule]] = {"none": ConstantLR, "step": StepLR, "cosine": CosineLR}


def make_optimizer(name: str, params: Iterable[Tensor], **hyper: Any) -> Optimizer:
    """The optimizer called ``name`` ("sgd", "adam", "adamw", "lbfgs", "newton") over ``params``, e.g.
    ``make_optimizer("sgd", model.parameters(), lr=0.1, momentum=0.9)``."""
    cls = _by_name(OPTIMIZERS, "optimizer", name)
    return cls(params, **_keywords(cls, name, hyper))


def make_schedule(name: str, optimizer: Optimizer, **settings: Any) -> LRSchedule:
    """The schedule called ``name`` ("none", "step", "cosine") driving ``optimizer``, e.g.
    ``make_schedule("cosine", opt, total_steps=epochs)``."""
    cls = _by_name(SCHEDULES, "schedule", name)
    return cls(optimizer, **_keywords(cls, name, settings))


def optimizer_from_state(params: Iterable[Tensor], state: dict[str, Any]) -> Optimizer:
    """Rebuild the optimizer an :meth:`Optimizer.state_dict` came from, over ``params``, and load it."""
    cls = _by_type(OPTIMIZERS, "optimizer_from_state", state)
    optimizer = cls(params, lr=check.scalar(cls.__name__, state, "lr"))
    optimizer.load_state_dict(state)
    return optimizer


def schedule_from_state(optimizer: Optimizer, state: dict[str, Any]) -> LRSchedule:
    """Rebuild the schedule an :meth:`LRSchedule.state_dict` came from, driving ``optimizer``."""
    return _by_type(SCHEDULES, "schedule_from_state", state).from_state(optimizer, state)


def _by_name(table: dict[str, Any], what: str, name: str) -> Any:
    if not isinstance(name, str) or name.lower() not in table:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(map(repr, table))}")
    return table[name.lower()]


def _by_type(table: dict[str, Any], caller: str, state: dict[str, Any]) -> Any:
    classes = {cls.__name__: cls for cls in table.values()}
    kind = state.get("type") if isinstance(state, dict) else None
    if kind not in classes:
        raise ValueError(f"{caller}: key 'type' is {kind!r}, expected one of {', '.join(map(repr, classes))}")
    return classes[kind]


def _keywords(cls: type, name: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given``, if ``cls`` takes exactly these keywords (a clear error for a CLI user if not)."""
    signature = list(inspect.signature(cls.__init__).parameters.values())[2:]  # after self, params/optimizer
    accepted = [p.name for p in signature]
    for key in given:
        if key not in accepted:
            raise ValueError(f"{name!r} takes {', '.join(accepted) or 'no settings'}; got {key}={given[key]!r}")
    for p in signature:
        if p.default is inspect.Parameter.empty and p.name not in given:
            raise ValueError(f"{name!r} needs {p.name}")
    return given
