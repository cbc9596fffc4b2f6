"""Checks made before something that would fail with other than a one-line FormulaError: on a
formula's text before ``ast.parse`` (which runs out of memory on a few thousand nested operators),
and on one call before the primitive runs (an OverflowError, a ZeroDivisionError, an AttributeError)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..tensor import Tensor
from .tree import Op

_SIGNS = re.compile(r"[-+~](?:\s*[-+~])*")  # a run of unary operators, as in - - -x


def rough_depth(text: str) -> int:
    """An upper bound on how deeply ``text`` nests, read without parsing it: the deepest brackets,
    plus every ``**`` (right-associative: a chain nests), plus the longest run of unary signs."""
    deepest = level = 0
    for char in text:
        level += (char in "([{") - (char in ")]}")
        deepest = max(deepest, level)
    signs = max((len(re.sub(r"\s", "", run)) for run in _SIGNS.findall(text)), default=0)
    return deepest + text.count("**") + signs


_MAX_AXES = 64  # NumPy's own limit on dimensions: no array has an axis beyond it

#: The most entries one step of a formula may make.  Inputs are capped at 10⁶ entries together
#: (shapes.MAX_INPUT_ELEMENTS), but two of them can still broadcast into far more (x + y.T with
#: columns of 10⁶ is 10¹² entries): a step that would is refused before it allocates anything.
MAX_INTERMEDIATE_ELEMENTS = 10_000_000


def prepared_args(node: Op, args: list[Any]) -> list[Any]:
    """``args`` checked against ``node``'s axis, with numbers made arrays when nothing else is:
    ``logsumexp(-1)`` is -1, as for an array of one element."""
    _check_axes(node, args)
    _check_result_size(node, args)
    if args and all(isinstance(arg, float) for arg in args):  # with an array beside them, numbers stay weak
        return [np.asarray(arg) for arg in args]
    return args


def _check_axes(node: Op, args: list[Any]) -> None:
    axis = node.param("axis")
    if axis is None or not args or isinstance(args[0], (list, tuple)):
        return
    axes = axis if isinstance(axis, tuple) else (axis,)
    far = [each for each in axes if abs(each) > _MAX_AXES]
    if far:
        raise ValueError(f"axis {far[0]} is out of range (an array has at most {_MAX_AXES} axes)")
    ndim = args[0].ndim if isinstance(args[0], Tensor) else np.ndim(args[0])
    if ndim == 0:
        raise ValueError(f"axis={axis} for a scalar, which has no axes; drop axis=")


def _shape(arg: Any) -> tuple[int, ...] | None:
    if isinstance(arg, Tensor):
        return arg.shape
    return np.shape(arg) if isinstance(arg, (np.ndarray, float, int)) else None


def result_entries(name: str, shapes: list[tuple[int, ...]]) -> int | None:
    """How many entries ``name`` makes from arrays of ``shapes``, where that is known before it runs:
    broadcasting (elementwise steps), a matrix product, an outer or Kronecker product."""
    if name in ("outer", "kron") and len(shapes) == 2:
        return math.prod(shapes[0]) * math.prod(shapes[1])
    if name == "matmul" and len(shapes) == 2 and all(len(s) >= 1 for s in shapes):
        a, b = shapes
        rows = a[-2:-1] if len(a) >= 2 else ()
        columns = b[-1:] if len(b) >= 2 else ()
        try:
            batch = np.broadcast_shapes(a[:-2], b[:-2])
        except ValueError:
            return None
        return math.prod(batch) * math.prod(rows) * math.prod(columns)
    if len(shapes) >= 2:
        try:
            return math.prod(np.broadcast_shapes(*shapes))
        except ValueError:
            return None  # the step raises its own error, naming the shapes
    return None


def _check_result_size(node: Op, args: list[Any]) -> None:
    shapes = [_shape(arg) for arg in args]
    if any(s is None for s in shapes) or sum(len(s) > 0 for s in shapes) < 2:
        return
    entries = result_entries(node.name, shapes)
    if entries is not None and entries > MAX_INTERMEDIATE_ELEMENTS:
        given = " and ".join("x".join(map(str, s)) or "scalar" for s in shapes)
        raise ValueError(
            f"{node.name} of {given} would make {entries:,} entries, more than the cap of "
            f"{MAX_INTERMEDIATE_ELEMENTS:,} for one step (broadcasting makes every pair): use smaller shapes"
        )
