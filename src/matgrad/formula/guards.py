"""Checks made before something that would fail with other than a one-line FormulaError: on a
formula's text before ``ast.parse`` (which runs out of memory on a few thousand nested operators),
and on one call before the primitive runs (an OverflowError, a ZeroDivisionError, an AttributeError)."""

from __future__ import annotations

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


def prepared_args(node: Op, args: list[Any]) -> list[Any]:
    """``args`` checked against ``node``'s axis, with numbers made arrays when nothing else is:
    ``logsumexp(-1)`` is -1, as for an array of one element."""
    _check_axes(node, args)
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
