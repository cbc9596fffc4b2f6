"""Process-wide switches of the engine: grad mode, anomaly mode, transform nesting depth.

Kept in one small object so that the hot path reads a single attribute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class _State:
    __slots__ = ("anomaly", "grad_enabled", "transform_depth")

    def __init__(self) -> None:
        self.grad_enabled = True  # record graphs for Tensors that require grad
        self.anomaly = False  # check every forward and backward value for NaN/Inf
        self.transform_depth = 0  # >0 while a transform traces a function inside another


STATE = _State()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run the block without recording a graph (like ``torch.no_grad``)."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Record graphs inside the block even within ``no_grad``."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise ``FloatingPointError`` naming the primitive that first produces NaN or Inf.

    Forward values and every vector-Jacobian product of the backward pass are checked.
    It costs one ``isfinite`` per value, so use it to debug, not to train.
    """
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        yield
    finally:
        STATE.anomaly = previous


@contextlib.contextmanager
def nested_transform() -> Iterator[None]:
    """Mark that a transform is tracing: transforms called inside must keep their graphs."""
    STATE.transform_depth += 1
    try:
        yield
    finally:
        STATE.transform_depth -= 1
