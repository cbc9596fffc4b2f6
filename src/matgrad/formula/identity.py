"""The identity matrix in a formula: ``eye(n)`` with a literal n, and ``I``, sized by where it is used.

``I`` takes its size from the operation that meets an array: in ``X + 2*I`` the sum with X
(3×3) makes it I₃, in ``I @ A`` the rows of A.  Until then it is :class:`Unsized`: ``2*I`` and
``I.T`` are functions of the size still to come.  An identity that never meets an array
(``sum(exp(I))``) has no size, and is refused with the hint to write ``eye(n)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..primitives.core import shape_of, value

#: Operations that carry an unsized I through when the other operand is a number: 2*I, -I, I.T.
CARRIED = {"add", "sub", "mul", "div", "pow", "neg", "transpose", "maximum", "minimum",
           "gt", "ge", "lt", "le", "eq", "ne"}
#: Elementwise operations whose array operand fixes the size of I (the last axis, for X + I).
_BROADCAST = CARRIED - {"neg", "transpose"}


@dataclass(frozen=True)
class Unsized:
    """A value that still needs the size n (and dtype) of the identity it holds."""

    build: Callable[[int, np.dtype], Any]

    def at(self, n: int, dtype: np.dtype) -> Any:
        return self.build(n, dtype)


def eye(n: int, dtype: Any = np.float64) -> np.ndarray:
    """The n×n identity: a constant, with no derivative."""
    return np.eye(n, dtype=dtype)


def size_for(name: str, args: list[Any]) -> tuple[int, np.dtype] | None:
    """The size of I (and the dtype to build it in) fixed by the arrays beside it in ``name``, if any.

    Raises ValueError when the array cannot meet an identity (``X + I`` with X 3×4).
    """
    sized = [(k, arg) for k, arg in enumerate(args) if not isinstance(arg, Unsized)]
    arrays = [(k, arg) for k, arg in sized if len(shape_of(arg)) >= 1]
    if not arrays:
        return None
    k, partner = arrays[0]
    shape, dtype = shape_of(partner), np.asarray(value(partner)).dtype
    dtype = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
    if name == "matmul":  # I @ A: A's rows; A @ I: A's columns
        return (shape[-2] if k == 1 and len(shape) >= 2 else shape[-1]), dtype
    if name in _BROADCAST:
        if len(shape) >= 2 and shape[-1] != shape[-2]:
            raise ValueError(f"I is square, but the other operand has shape {shape}: write eye(n) for its size")
        return shape[-1], dtype
    return None
