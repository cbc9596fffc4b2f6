"""Norms with ``numpy.linalg.norm``'s semantics: vector p-norms, and the matrix norms 'fro', 'nuc',
±1, ±2 and ±inf, built on one primitive (the Euclidean norm) and on the rest of the table.

Conventions at the kinks: the 2-norm's (and Frobenius') gradient at ``x = 0`` is taken as 0;
``ord=0`` counts nonzero entries and has zero gradient; ``ord=±inf``, the matrix 1/inf norms and
the spectral norm split the gradient evenly among tied maxima (as ``max`` does); ``|x|`` at 0
has slope 0.  The nuclear and spectral norms go through :func:`~.decompositions.svd`.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..tensor import Tensor
from .composites import as_array
from .composites import min as min_
from .core import Primitive, register, shape_of, value
from .decompositions import _dtype, svd
from .elementwise import absolute, where
from .linalg import transpose
from .notation import custom, g, out, structural, t
from .notation import x as inputs
from .reductions import keep_axes, spread
from .reductions import max as max_
from .reductions import sum as sum_
from .shape import reshape

__all__ = ["matrix_norm", "norm", "vector_norm"]

x0 = inputs[0]


def _euclidean_forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    x = np.asarray(x)
    if axis is None:  # NumPy's fast path: one dot product of the flattened array
        flat = x.ravel(order="K")
        result = np.sqrt(np.dot(flat, flat))
        return np.reshape(result, (1,) * x.ndim) if keepdims else result
    return np.sqrt(np.add.reduce(x * x, axis=axis, keepdims=keepdims))


def _nonzero_or_one(norm_value: Any) -> Any:
    """The norm, with 1 in place of 0: x / ‖x‖ is then 0 at x = 0 (the convention for the kink)."""
    return norm_value + (value(norm_value) == 0).astype(_dtype(norm_value))


def _euclidean_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    shape = shape_of(x)
    return x * (keep_axes(g, shape, axis, keepdims) / _nonzero_or_one(keep_axes(out, shape, axis, keepdims)))


def _euclidean_jvp(t: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return (x * t).sum(axis=axis, keepdims=keepdims) / _nonzero_or_one(out)


def _sum_note(e: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        params = context.get("params", {})
        return np.sum(v, axis=params.get("axis"), keepdims=params.get("keepdims", False))

    return structural("sum", e, "Σ {0}", r"\sum {0}", evaluate)


_euclidean_norm = Primitive(
    "euclidean_norm",
    _euclidean_forward,
    vjp=[_euclidean_vjp],
    jvp=[_euclidean_jvp],
    notation=custom(
        structural(
            "euclidean_norm", x0, "‖{0}‖", r"\left\|{0}\right\|", lambda v, c: _euclidean_forward(v, **c["params"])
        ),
        vjp=(spread(g) * x0 / spread(out),),
        jvp=(_sum_note(x0 * t) / out,),
        index=("Σ_j [{g}]_j ∂‖{0}‖_j/∂[{0}]_k = [{g}] [{0}]_k / ‖{0}‖ (0 at {0} = 0)",),
        product=("hadamard",),
        why="d‖x‖ = d√(xᵀx) = xᵀdx / ‖x‖: the gradient is the unit vector x/‖x‖ (Matrix Cookbook 129), taken as 0 at 0",
    ),
)


def _axis_index(axis: Any, ndim: int) -> int:
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError("norm: 'axis' must be None, an integer or a tuple of integers") from None
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _vector_norm(x: Any, ord: Any, axis: int, keepdims: bool) -> Any:  # noqa: A002
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order '{ord}' for vectors")
    if ord is None or ord == 2:
        return _euclidean_norm(x, axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return max_(absolute(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min_(absolute(x), axis=axis, keepdims=keepdims)
    if ord == 0:  # how many entries are nonzero: a count, with gradient 0
        xv = np.asarray(value(x))
        count = np.add.reduce((xv != 0).astype(xv.dtype), axis=axis, keepdims=keepdims)
        if type(x) is not Tensor:
            return count
        zero = where(np.zeros(xv.shape, dtype=bool), x, np.zeros((), xv.dtype))  # x's place, no gradient
        return sum_(zero, axis=axis, keepdims=keepdims) + count
    if ord == 1:
        return sum_(absolute(x), axis=axis, keepdims=keepdims)
    return sum_(absolute(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _singular_values_along(x: Any, row: int, col: int) -> Any:
    ndim = len(shape_of(x))
    order = tuple(i for i in range(ndim) if i not in (row, col)) + (row, col)
    if order != tuple(range(ndim)):
        x = transpose(x, axes=order)
    return svd(x, compute_uv=False)


def _matrix_norm(x: Any, ord: Any, axis: tuple, keepdims: bool) -> Any:  # noqa: A002
    shape = shape_of(x)
    ndim = len(shape)
    row, col = (_axis_index(a, ndim) for a in axis)
    if row == col:
        raise ValueError("norm: duplicate axes given")
    string = isinstance(ord, str)
    if not string and ord in (2, -2):
        s = _singular_values_along(x, row, col)
        result = max_(s, axis=-1) if ord == 2 else min_(s, axis=-1)
    elif not string and ord in (1, -1):
        column_sums = sum_(absolute(x), axis=row)
        across = col - 1 if col > row else col  # col's place once row is summed away
        result = max_(column_sums, axis=across) if ord == 1 else min_(column_sums, axis=across)
    elif not string and ord in (np.inf, -np.inf):
        row_sums = sum_(absolute(x), axis=col)
        down = row - 1 if row > col else row
        result = max_(row_sums, axis=down) if ord == np.inf else min_(row_sums, axis=down)
    elif ord in (None, "fro", "f"):
        result = _euclidean_norm(x, axis=(row, col))
    elif ord == "nuc":
        result = sum_(_singular_values_along(x, row, col), axis=-1)
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices (use 'fro', 'nuc', ±1, ±2 or ±inf)")
    if keepdims:
        kept = list(shape)
        kept[row] = kept[col] = 1
        result = reshape(result, shape=tuple(kept))
    return result


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector or matrix norm with NumPy's semantics (``numpy.linalg.norm``).

    Vectors (``axis`` an int, or a 1-D x): ord None/2 (Euclidean), 1, ±inf, 0 (a count of nonzero
    entries, gradient 0), other p (Σ|x|ᵖ)^(1/p).  Matrices (``axis`` a pair, or a 2-D x with ``ord``
    given): 'fro', 'nuc', ±2 (extreme singular values), ±1 (column sums), ±inf (row sums).
    ``ord=None`` with ``axis=None`` is the 2-norm of the flattened array, for any number of dims.
    """
    x = as_array(x)
    if type(x) is not Tensor:
        if x.dtype.kind not in "fc":
            x = x.astype(np.float64)
    ndim = len(shape_of(x))
    if axis is None:
        string = isinstance(ord, str)
        if ord is None or (string and ord in ("f", "fro") and ndim == 2) or (not string and ord == 2 and ndim == 1):
            return _euclidean_norm(x, keepdims=keepdims)
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        axis = (_axis_index(axis, ndim),)
    if len(axis) == 1:
        return _vector_norm(x, ord, _axis_index(axis[0], ndim), keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError(
        f"norm: improper number of dimensions to norm: axis {axis} of an array of shape {shape_of(x)} "
        f"(give one axis for vector norms, two for matrix norms)"
    )


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002
    """NumPy 2's ``linalg.vector_norm``: any number of axes are flattened into one vector."""
    x = as_array(x)
    shape = shape_of(x)
    ndim = len(shape)
    if axis is None:
        flat, reduced = reshape(x, shape=(-1,)), tuple(range(ndim))
    elif isinstance(axis, tuple):
        reduced = tuple(_axis_index(a, ndim) for a in axis)
        rest = tuple(i for i in range(ndim) if i not in reduced)
        moved = transpose(x, axes=reduced + rest)
        flat = reshape(moved, shape=(int(np.prod([shape[i] for i in reduced])),) + tuple(shape[i] for i in rest))
    else:
        return norm(x, ord=ord, axis=axis, keepdims=keepdims)
    result = norm(flat, ord=ord, axis=0)
    if keepdims:
        result = reshape(result, shape=tuple(1 if i in reduced else n for i, n in enumerate(shape)))
    return result


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    """NumPy 2's ``linalg.matrix_norm``: the norm of each matrix in the last two axes."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


register(_euclidean_norm)
