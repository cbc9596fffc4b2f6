"""Argument and state-dict checks shared by the optimizers and the schedules.

Every error names its owner (``SGD``, ``CosineLR``…), the argument or key, and the value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor

StateDict = dict[str, "np.ndarray | int | float | str | bool"]


def param_list(params: Iterable[Tensor], owner: str) -> list[Tensor]:
    """``params`` as a list of distinct, writable, floating-point Tensors, in order."""
    if isinstance(params, (Tensor, np.ndarray)):  # a Tensor is iterable: it would yield its rows
        raise TypeError(
            f"{owner}: params must be an iterable of Tensors, e.g. [w, b]; got a single {type(params).__name__}"
        )
    out = list(params)
    if not out:
        raise ValueError(f"{owner}: params is empty; pass the Tensors to optimize")
    seen: dict[int, int] = {}
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: params[{i}] is a {type(p).__name__}, not a matgrad Tensor")
        if not np.issubdtype(p.dtype, np.floating) or not p.data.flags.writeable:
            raise TypeError(f"{owner}: params[{i}] must hold a writable floating-point array, got dtype {p.dtype}")
        if id(p) in seen:
            raise ValueError(f"{owner}: params[{i}] is the same Tensor as params[{seen[id(p)]}]")
        seen[id(p)] = i
    return out


def real(owner: str, arg: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: {arg} must be a real number, got {value!r}")
    return float(value)


def at_least_zero(owner: str, arg: str, value: Any) -> float:
    number = real(owner, arg, value)
    if not 0.0 <= number < math.inf:
        raise ValueError(f"{owner}: {arg} must be a finite number >= 0, got {value!r}")
    return number


def unit_interval(owner: str, arg: str, value: Any) -> float:
    number = real(owner, arg, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{owner}: {arg} must be in [0, 1), got {value!r}")
    return number


def flag(owner: str, arg: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {arg} must be True or False, got {value!r}")
    return bool(value)


def positive_int(owner: str, arg: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {arg} must be a positive integer, got {value!r}")
    return int(value)


# ----- reading state dicts --------------------------------------------------------------------
def check_type(owner: str, state: dict[str, Any]) -> None:
    if not isinstance(state, dict):
        raise ValueError(f"{owner}.load_state_dict: expected a dict, got {type(state).__name__}")
    if state.get("type") != owner:
        raise ValueError(f"{owner}.load_state_dict: key 'type' is {state.get('type')!r}, expected {owner!r}")


def check_keys(owner: str, state: dict[str, Any], expected: set[str]) -> None:
    unexpected = sorted(map(str, set(state) - expected))
    if unexpected:
        raise ValueError(f"{owner}.load_state_dict: unexpected key(s) {', '.join(map(repr, unexpected))}")
    missing = sorted(expected - set(state))
    if missing:
        raise ValueError(f"{owner}.load_state_dict: missing key(s) {', '.join(map(repr, missing))}")


def scalar(owner: str, state: dict[str, Any], key: str) -> Any:
    """A scalar from a state dict as a Python value (NumPy scalars and 0-d arrays accepted)."""
    if key not in state:
        raise ValueError(f"{owner}.load_state_dict: missing key {key!r}")
    value = state[key]
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        value = value.item()
    if not isinstance(value, (int, float, bool)):
        raise ValueError(f"{owner}.load_state_dict: key {key!r} must be a scalar, got {type(value).__name__}")
    return value


def count(owner: str, state: dict[str, Any], key: str) -> int:
    value = scalar(owner, state, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{owner}.load_state_dict: key {key!r} must be an integer >= 0, got {value!r}")
    return value


def buffer(owner: str, state: dict[str, Any], key: str, like: np.ndarray) -> np.ndarray:
    """A copy of the array under ``key``, which must match ``like`` in shape and dtype."""
    value = state[key]
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{owner}.load_state_dict: key {key!r} must be an ndarray, got {type(value).__name__}")
    if value.shape != like.shape or value.dtype != like.dtype:
        raise ValueError(
            f"{owner}.load_state_dict: key {key!r} has shape {value.shape} and dtype {value.dtype}, "
            f"but its parameter has shape {like.shape} and dtype {like.dtype}"
        )
    return value.copy()
