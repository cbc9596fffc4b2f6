"""Reductions and scans beyond sum, mean and max: prod, cumsum, cumprod, sort, and what is built on them.

Rows: ``prod``, ``cumsum``, ``cumprod``, ``sort`` and ``linear_scan``, the first-order linear recurrence
``y_k = b_k + a_k y_{k−1}`` that the exact derivative of a cumulative product needs (its own VJP is the
same recurrence run backwards).  Composites: ``var``, ``std``, ``average``, ``ptp``, ``median``, ``amax``,
``amin``.  Without a derivative (plain integer arrays of the values): ``argmax``, ``argmin``, ``argsort``.

Conventions:

- prod and cumprod are exact where entries are 0: the derivative with respect to ``x_k`` is the product
  of the *other* entries, formed from prefix and suffix products (prod) or by the reverse recurrence
  ``s_k = g_k + x_{k+1} s_{k+1}`` (cumprod), never as ``out / x_k``.  In a slice with one zero only that
  entry's derivative is nonzero; with two or more zeros all are 0.  cumprod's VJP divides by ``x`` (a
  reversed cumsum of ``g ⊙ out``, over ``x``) only where the result has no 0 and no ±∞, which also
  guards against partial products that underflowed or overflowed.
- sort is a permutation: the VJP puts each gradient back where its entry came from.  At ties the
  sorted positions go to the tied entries in their original order (a stable argsort), so each entry
  receives exactly one position's gradient.
- std's derivative on a slice whose entries are all equal (std = 0, a kink like |x| at 0) is 0.
- median goes through sort and takes the middle entry (the mean of the two middle entries for an
  even count); at ties it inherits sort's convention.  ptp, amax and amin inherit max's (ties split).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .composites import as_array
from .composites import min as min_
from .core import Primitive, refuse_out, register, shape_of, value
from .elementwise import astype, mul, sqrt
from .elementwise import where as where_
from .linalg import transpose
from .notation import custom, g, linear, structural, t
from .notation import out as result
from .notation import x as inputs
from .reductions import keep_axes, spread
from .reductions import max as max_
from .reductions import mean as mean_
from .reductions import sum as sum_
from .shape import broadcast_to, concatenate, getitem, reshape

__all__ = [
    "amax", "amin", "argmax", "argmin", "argsort", "average", "cumprod", "cumsum", "median", "prod", "ptp",
    "sort", "std", "var",
]

x0, x1 = inputs[:2]


# ----- helpers shared by the rules --------------------------------------------------------------
def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """The reduced axes as non-negative ints (None: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in axis) if isinstance(axis, tuple) else (axis % ndim,)


def _normalized(axis: Any, ndim: int) -> tuple[int, ...]:
    """``_axes`` for a public function's argument: NumPy's errors for an axis out of range or repeated."""
    axes = tuple(range(ndim)) if axis is None else tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
    normalized = tuple(a % ndim for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return normalized


def _axis_of_scalar(a: Any, axis: Any) -> Any:
    """NumPy lets a 0-d array name axis 0 or −1 (an int, not a tuple) in prod and the scans, as if
    it had one axis; that is the whole array, ``axis=None``.  Other axes raise NumPy's AxisError."""
    if axis is None or len(shape_of(a)) > 0:
        return axis
    np.add.reduce(np.zeros(()), axis=axis)  # NumPy's own check of the axis
    return None


def _slab(axis: int, index: Any) -> tuple:
    return (slice(None),) * axis + (index,)


def _shift(x: Any, axis: int, toward_end: bool, fill: float) -> Any:
    """x moved one step along ``axis`` (``toward_end``: entry k holds x_{k−1}), ``fill`` in the gap.

    Built from getitem and concatenate, so that it records on Tensors."""
    shape = shape_of(x)
    if shape[axis] == 0:
        return x
    gap = np.full(shape[:axis] + (1,) + shape[axis + 1 :], fill, dtype=value(x).dtype)
    if toward_end:
        return concatenate(gap, x[_slab(axis, slice(None, -1))], axis=axis)
    return concatenate(x[_slab(axis, slice(1, None))], gap, axis=axis)


def _flattened(x: Any, axis: Any) -> tuple[Any, int]:
    """x and the scan axis as NumPy's scans see them: axis=None scans the flattened array."""
    if axis is None:
        return x.reshape(-1), 0
    return x, axis % len(shape_of(x))


def axis_hint(values: Sequence[Any], params: dict) -> str:
    """Name the axis that does not exist, and the valid range."""
    shape = np.shape(values[0])
    axis = params.get("axis")
    ndim = len(shape)
    return (
        f"axis {axis} does not fit an array of shape {shape} ({ndim} dimension{'s' * (ndim != 1)}); "
        f"valid axes are {-ndim} to {ndim - 1}"
        + (", each at most once" if isinstance(axis, tuple) else "")
        + ", or axis=None for the whole array"
    )


def _param(context: dict, name: str, default: Any = None) -> Any:
    return context.get("params", {}).get(name, default)


# ----- prod ---------------------------------------------------------------------------------------
def _others(x: Any, axis: Any) -> Any:
    """∏_{j≠k} x_j over each reduced slice, in x's shape: the exclusive prefix product times the
    exclusive suffix product (two cumprods), so that a zero entry needs no division."""
    shape = shape_of(x)
    ndim = len(shape)
    reduced = _axes(axis, ndim)
    kept = [i for i in range(ndim) if i not in reduced]
    order = (*kept, *reduced)
    lead = tuple(shape[i] for i in kept)
    moved = x if order == tuple(range(ndim)) else transpose(x, axes=order)
    rows = moved.reshape(lead + (math.prod(shape[i] for i in reduced),))
    last = len(lead)
    before = _cumprod(_shift(rows, last, toward_end=True, fill=1), axis=last)
    after = _cumprod(_shift(rows, last, toward_end=False, fill=1), axis=last, reverse=True)
    others = (before * after).reshape(tuple(shape[i] for i in order))
    if order == tuple(range(ndim)):
        return others
    return transpose(others, axes=tuple(int(i) for i in np.argsort(order)))


def _prod_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return keep_axes(g, x.shape, axis, keepdims) * _others(x, axis)


def _prod_jvp(t: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return (t * _others(x, axis)).sum(axis=axis, keepdims=keepdims)


def _moved_last(v: np.ndarray, axis: Any) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """v with the reduced axes merged into one last axis, and what undoes it (for the notation)."""
    reduced = _axes(axis, v.ndim)
    kept = [i for i in range(v.ndim) if i not in reduced]
    order = (*kept, *reduced)
    moved = np.transpose(v, order)
    return moved.reshape(moved.shape[: len(kept)] + (math.prod(v.shape[i] for i in reduced),)), moved.shape, order


def _others_value(v: Any, context: dict) -> np.ndarray:
    """∏_{j≠k} x_j by brute force: every slice with x_k replaced by 1, multiplied out."""
    v = np.asarray(v)
    rows, moved_shape, order = _moved_last(v, _param(context, "axis"))
    n = rows.shape[-1]
    others = np.prod(np.where(np.eye(n, dtype=bool), 1.0, rows[..., None, :]), axis=-1)
    return np.transpose(others.reshape(moved_shape), np.argsort(order))


def _reduced(kind: str, text: str, latex: str, reduce: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        return reduce(np.asarray(v), axis=_param(context, "axis"), keepdims=_param(context, "keepdims", False))

    return lambda operand: structural(kind, operand, text, latex, evaluate)


_prod_of = _reduced("prod", "∏ {0}", r"\prod {0}", np.prod)
_sum_of = _reduced("sum", "Σ {0}", r"\sum {0}", np.sum)
_others_of = structural("prod_others", x0, "∏_{j≠k} {0}_j", r"\prod_{j \ne k} {0}_j", _others_value)

_prod = Primitive(
    "prod",
    lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims),
    vjp=[_prod_vjp],
    jvp=[_prod_jvp],
    notation=custom(
        _prod_of(x0),
        vjp=(spread(g) * _others_of,),
        jvp=(_sum_of(t * _others_of),),
        index=("Σ_j [{g}]_j ∂(∏_i [{0}]_i)/∂[{0}]_k = [{g}] ∏_{i≠k} [{0}]_i",),
        product=("hadamard",),
        why=(
            "each factor moves the product by the product of the others (out / x_k where x_k ≠ 0); "
            "formed from prefix and suffix products, it stays exact where an entry is 0"
        ),
    ),
    error_hint=axis_hint,
)


# ----- linear_scan: y_k = b_k + a_k y_{k−1} -------------------------------------------------------
def _linear_scan(b: np.ndarray, a: np.ndarray, axis: int = 0, reverse: bool = False) -> np.ndarray:
    """The recurrence ``y_k = b_k + a_k y_{k−1}`` (``y_{k+1}`` when ``reverse``), y before the first
    entry being 0 (so the first a is not used), by a Hillis–Steele scan: log₂ n vectorized steps of
    products and sums, no division."""
    b, a = np.asarray(b), np.asarray(a)
    if b.shape != a.shape:
        raise ValueError(f"linear_scan: b {b.shape} and a {a.shape} must have the same shape")
    dtype = np.result_type(b, a)
    y = np.moveaxis(b.astype(dtype, copy=True), axis, 0)
    c = np.moveaxis(a.astype(dtype, copy=True), axis, 0)
    if reverse:
        y, c = y[::-1], c[::-1]
    step, n = 1, y.shape[0]
    while step < n:  # y_k, c_k: the sum and coefficient of the window of 2·step entries ending at k
        y[step:] = y[step:] + c[step:] * y[:-step]
        c[step:] = c[step:] * c[:-step]
        step *= 2
    return np.moveaxis(y[::-1] if reverse else y, 0, axis)


def _earlier(x: Any, axis: int, reverse: bool, fill: float) -> Any:
    """Entry k holds the entry before k in the scan's order (x_{k−1}, or x_{k+1} when reverse)."""
    return _shift(x, axis, toward_end=not reverse, fill=fill)


def _later(x: Any, axis: int, reverse: bool, fill: float) -> Any:
    return _shift(x, axis, toward_end=reverse, fill=fill)


def _scan_vjp_b(g: Any, out: Any, b: Any, a: Any, axis: int = 0, reverse: bool = False) -> Any:
    """λ_k = g_k + a_{k+1} λ_{k+1}: the same recurrence run the other way."""
    ax = axis % len(shape_of(b))
    return linear_scan(g, _later(a, ax, reverse, 0), axis=ax, reverse=not reverse)


def _scan_vjp_a(g: Any, out: Any, b: Any, a: Any, axis: int = 0, reverse: bool = False) -> Any:
    """λ_k y_{k−1}: a_k scales the previous result."""
    ax = axis % len(shape_of(b))
    return _scan_vjp_b(g, out, b, a, axis, reverse) * _earlier(out, ax, reverse, 0)


def _scan_jvp_a(t: Any, out: Any, b: Any, a: Any, axis: int = 0, reverse: bool = False) -> Any:
    ax = axis % len(shape_of(b))
    return linear_scan(t * _earlier(out, ax, reverse, 0), a, axis=ax, reverse=reverse)


def _recurrence(b: np.ndarray, a: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    """The recurrence entry by entry (the notation's own evaluation, independent of the scan)."""
    b, a = np.moveaxis(np.asarray(b, dtype=float), axis, 0), np.moveaxis(np.asarray(a, dtype=float), axis, 0)
    y = np.zeros_like(b)
    steps = range(len(b) - 1, -1, -1) if reverse else range(len(b))
    previous: Any = 0.0
    for k in steps:
        y[k] = b[k] + a[k] * previous
        previous = y[k]
    return np.moveaxis(y, 0, axis)


def _scan_context(context: dict) -> tuple[int, bool]:
    return _param(context, "axis", 0) % len(context["shapes"][0]), _param(context, "reverse", False)


def _scan_value(v: Any, context: dict) -> np.ndarray:
    axis, reverse = _scan_context(context)
    return _recurrence(v, context["inputs"][1], axis, reverse)


def _adjoint_value(v: Any, context: dict) -> np.ndarray:
    """λ = Lᵀ g, L the scan's lower-triangular matrix: the recurrence backwards, a shifted by one."""
    axis, reverse = _scan_context(context)
    a = np.moveaxis(np.asarray(context["inputs"][1], dtype=float), axis, 0)
    later = np.zeros_like(a)
    if reverse:
        later[1:] = a[:-1]
    else:
        later[:-1] = a[1:]
    return _recurrence(v, np.moveaxis(later, 0, axis), axis, not reverse)


def _previous_value(v: Any, context: dict) -> np.ndarray:
    axis, reverse = _scan_context(context)
    moved = np.moveaxis(np.asarray(v, dtype=float), axis, 0)
    previous = np.zeros_like(moved)
    if reverse:
        previous[:-1] = moved[1:]
    else:
        previous[1:] = moved[:-1]
    return np.moveaxis(previous, 0, axis)


def _scan_of(operand: Any) -> Any:
    return structural("linear_scan", operand, "scan({0})", r"\operatorname{scan}\left({0}\right)", _scan_value)


_adjoint_of_g = structural(
    "scan_adjoint", g, "scanᵀ({0})", r"\operatorname{scan}^{\top}\left({0}\right)", _adjoint_value
)
_previous_out = structural("previous", result, "{0}₋₁", "{0}_{-1}", _previous_value)

linear_scan = Primitive(
    "linear_scan",
    _linear_scan,
    vjp=[_scan_vjp_b, _scan_vjp_a],
    jvp=[lambda t, out, b, a, axis=0, reverse=False: linear_scan(t, a, axis=axis, reverse=reverse), _scan_jvp_a],
    notation=custom(
        _scan_of(x0),
        vjp=(_adjoint_of_g, _adjoint_of_g * _previous_out),
        jvp=(_scan_of(t), _scan_of(t * _previous_out)),
        index=(
            "Σ_i [{g}]_i ∂[{out}]_i/∂[{0}]_k = Σ_{i≥k} [{g}]_i ∏_{k<j≤i} [{1}]_j = λ_k, "
            "λ_k = [{g}]_k + [{1}]_{k+1} λ_{k+1}",
            "Σ_i [{g}]_i ∂[{out}]_i/∂[{1}]_k = λ_k [{out}]_{k−1}",
        ),
        product=("reversed scan", "hadamard"),
        why=(
            "y = L b with L lower triangular (L_ik = ∏_{k<j≤i} a_j), so the gradient is Lᵀ g: the same "
            "recurrence run backwards with the coefficients shifted by one; a_k scales y_{k−1}"
        ),
    ),
)


# ----- cumsum and cumprod ---------------------------------------------------------------------
def _reversible(scan: Any) -> Any:
    """NumPy's scan along ``axis`` (None: flattened), or run from the last entry to the first."""

    def forward(x: np.ndarray, axis: Any = None, reverse: bool = False) -> np.ndarray:
        if not reverse:
            return scan(x, axis=axis)
        x = np.asarray(x)
        if axis is None:
            return scan(x.reshape(-1)[::-1])[::-1]
        return np.flip(scan(np.flip(x, axis), axis=axis), axis)

    return forward


def _cumsum_vjp(g: Any, out: Any, x: Any, axis: Any = None, reverse: bool = False) -> Any:
    """Lᵀ g, L the lower-triangular matrix of ones: a cumulative sum run backwards."""
    ax = 0 if axis is None else axis % x.ndim
    grad = _cumsum(g, axis=ax, reverse=not reverse)
    return grad.reshape(x.shape) if axis is None else grad


def _scan_axis(v: np.ndarray, context: dict) -> tuple[np.ndarray, int, bool]:
    axis, reverse = _param(context, "axis"), _param(context, "reverse", False)
    v = np.asarray(v)
    return (v.reshape(-1), 0, reverse) if axis is None else (v, axis, reverse)


def _cumsum_value(v: Any, context: dict) -> np.ndarray:
    v, axis, reverse = _scan_axis(v, context)
    return np.flip(np.cumsum(np.flip(v, axis), axis), axis) if reverse else np.cumsum(v, axis)


def _reverse_cumsum_value(v: Any, context: dict) -> np.ndarray:
    v = np.asarray(v)
    axis, reverse = _param(context, "axis"), _param(context, "reverse", False)
    ax = 0 if axis is None else axis
    summed = np.cumsum(v, ax) if reverse else np.flip(np.cumsum(np.flip(v, ax), ax), ax)
    return summed.reshape(context["shape"])


_cumsum = Primitive(
    "cumsum",
    _reversible(np.cumsum),
    vjp=[_cumsum_vjp],
    jvp="linear",
    notation=linear(
        structural("cumsum", x0, "cumsum({0})", r"\operatorname{cumsum}\left({0}\right)", _cumsum_value),
        vjp=structural("reverse_cumsum", g, "Lᵀ {0}", r"L^{\top} {0}", _reverse_cumsum_value),
        index="Σ_i [{g}]_i ∂(Σ_{j≤i} [{0}]_j)/∂[{0}]_k = Σ_i [{g}]_i [k ≤ i] = Σ_{i≥k} [{g}]_i",
        product="reversed scan",
        why=(
            "cumsum(x) = L x with L the lower-triangular matrix of ones, so the gradient is Lᵀ g: "
            "each entry collects g from its own and every later partial sum, a cumulative sum run backwards"
        ),
    ),
    error_hint=axis_hint,
)


def _cumprod_vjp(g: Any, out: Any, x: Any, axis: Any = None, reverse: bool = False) -> Any:
    """Σ_{i≥k} g_i ∏_{j≤i, j≠k} x_j = (∏_{j<k} x_j) s_k with s_k = g_k + x_{k+1} s_{k+1}.

    Where the result has no 0 and no ±∞ (so no x_k = 0, and no partial product under- or overflowed)
    this is the cheaper reversed cumsum of g ⊙ out, over x."""
    shape = x.shape
    x, ax = _flattened(x, axis)
    o = value(out)
    if np.all(np.isfinite(o) & (o != 0)):
        grad = _cumsum(g * out, axis=ax, reverse=not reverse) / x
    else:
        later = linear_scan(g, _later(x, ax, reverse, 0), axis=ax, reverse=not reverse)
        grad = _earlier(out, ax, reverse, 1) * later
    return grad.reshape(shape) if axis is None else grad


def _cumprod_jvp(t: Any, out: Any, x: Any, axis: Any = None, reverse: bool = False) -> Any:
    """d out_i = t_i out_{i−1} + x_i d out_{i−1}: a linear recurrence, exact at zeros."""
    x, ax = _flattened(x, axis)
    t = t.reshape(-1) if axis is None else t
    return linear_scan(t * _earlier(out, ax, reverse, 1), x, axis=ax, reverse=reverse)


def _partial_products(x: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    """T[..., k, i] = ∏_{j≤i, j≠k} x_j for i ≥ k, else 0 (along the last axis; for the notation)."""
    rows = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    if reverse:
        rows = rows[..., ::-1]
    n = rows.shape[-1]
    products = np.cumprod(np.where(np.eye(n, dtype=bool), 1.0, rows[..., None, :]), axis=-1)
    return products * np.triu(np.ones((n, n)))


def _from_scan_axis(v: np.ndarray, axis: int, reverse: bool, shape: tuple[int, ...]) -> np.ndarray:
    if reverse:
        v = v[..., ::-1]
    return np.moveaxis(v, -1, axis).reshape(shape)


def _cumprod_gradient_value(v: Any, context: dict) -> np.ndarray:
    x, axis, reverse = _scan_axis(context["inputs"][0], context)
    gs = np.moveaxis(np.asarray(v, dtype=float), axis, -1)
    if reverse:
        gs = gs[..., ::-1]
    grad = np.einsum("...ki,...i->...k", _partial_products(x, axis, reverse), gs)
    return _from_scan_axis(grad, axis, reverse, context["shape"])


def _cumprod_tangent_value(v: Any, context: dict) -> np.ndarray:
    x, axis, reverse = _scan_axis(context["inputs"][0], context)
    ts = np.moveaxis(np.asarray(v, dtype=float).reshape(x.shape), axis, -1)
    if reverse:
        ts = ts[..., ::-1]
    tangent = np.einsum("...ki,...k->...i", _partial_products(x, axis, reverse), ts)
    return _from_scan_axis(tangent, axis, reverse, x.shape)


def _cumprod_value(v: Any, context: dict) -> np.ndarray:
    v, axis, reverse = _scan_axis(v, context)
    return np.flip(np.cumprod(np.flip(v, axis), axis), axis) if reverse else np.cumprod(v, axis)


_cumprod = Primitive(
    "cumprod",
    _reversible(np.cumprod),
    vjp=[_cumprod_vjp],
    jvp=[_cumprod_jvp],
    notation=custom(
        structural("cumprod", x0, "cumprod({0})", r"\operatorname{cumprod}\left({0}\right)", _cumprod_value),
        vjp=(
            structural(
                "cumprod_vjp",
                g,
                "Σ_{i≥k} {0}_i ∏_{j≤i, j≠k} x_j",
                r"\sum_{i \ge k} {0}_i \prod_{j \le i, j \ne k} x_j",
                _cumprod_gradient_value,
            ),
        ),
        jvp=(
            structural(
                "cumprod_jvp",
                t,
                "Σ_{k≤i} {0}_k ∏_{j≤i, j≠k} x_j",
                r"\sum_{k \le i} {0}_k \prod_{j \le i, j \ne k} x_j",
                _cumprod_tangent_value,
            ),
        ),
        index=(
            "Σ_i [{g}]_i ∂[{out}]_i/∂[{0}]_k = Σ_{i≥k} [{g}]_i ∏_{j≤i, j≠k} [{0}]_j = [{out}]_{k−1} s_k, "
            "s_k = [{g}]_k + [{0}]_{k+1} s_{k+1}",
        ),
        product=("reversed scan",),
        why=(
            "x_k enters every later partial product, times the other factors; summed against g that is the "
            "product of the entries before k times a reverse recurrence (revcumsum(g ⊙ out) / x_k where no "
            "entry is 0)"
        ),
    ),
    error_hint=axis_hint,
)


# ----- sort -------------------------------------------------------------------------------------
def _sorting(x: Any, axis: Any) -> tuple[Any, int, np.ndarray]:
    """x as sorted (flattened for axis=None), the axis, and the stable sorting permutation."""
    x, ax = _flattened(x, axis)
    return x, ax, np.argsort(value(x), axis=ax, kind="stable")


def _along(order: np.ndarray, axis: int) -> tuple:
    """The index that gathers ``order``'s positions along ``axis`` (take_along_axis as a getitem)."""
    grid = list(np.indices(order.shape, sparse=True))
    grid[axis] = order
    return tuple(grid)


def _sort_vjp(g: Any, out: Any, x: Any, axis: Any = -1) -> Any:
    """Pᵀ g: the gradient of sorted position i goes back to the entry sorted there."""
    shape = x.shape
    x, ax, order = _sorting(x, axis)
    back = np.empty_like(order)
    np.put_along_axis(back, order, np.indices(order.shape, sparse=True)[ax], axis=ax)
    grad = getitem(g, index=_along(back, ax))
    return grad.reshape(shape) if axis is None else grad


def _sort_jvp(t: Any, out: Any, x: Any, axis: Any = -1) -> Any:
    _, ax, order = _sorting(x, axis)
    return getitem(t.reshape(-1) if axis is None else t, index=_along(order, ax))


def _sorted_axis(context: dict) -> tuple[np.ndarray, int]:
    x, axis = np.asarray(context["inputs"][0]), _param(context, "axis", -1)
    return (x.reshape(-1), 0) if axis is None else (x, axis)


def _sort_value(v: Any, context: dict) -> np.ndarray:
    return np.sort(v, _param(context, "axis", -1))


def _unsort_value(v: Any, context: dict) -> np.ndarray:
    x, axis = _sorted_axis(context)
    grad = np.zeros(x.shape)
    np.put_along_axis(grad, np.argsort(x, axis=axis, kind="stable"), np.asarray(v), axis=axis)
    return grad.reshape(context["shape"])


def _permute_value(v: Any, context: dict) -> np.ndarray:
    x, axis = _sorted_axis(context)
    return np.take_along_axis(np.asarray(v).reshape(x.shape), np.argsort(x, axis=axis, kind="stable"), axis=axis)


_sort = Primitive(
    "sort",
    lambda x, axis=-1: np.sort(x, axis=axis),
    vjp=[_sort_vjp],
    jvp=[_sort_jvp],
    notation=custom(
        structural("sort", x0, "sort({0})", r"\operatorname{sort}\left({0}\right)", _sort_value),
        vjp=(structural("unsort", g, "Pᵀ {0}", r"P^{\top} {0}", _unsort_value),),
        jvp=(structural("permute", t, "P {0}", r"P {0}", _permute_value),),
        index=("Σ_i [{g}]_i ∂[{0}]_π(i)/∂[{0}]_k = Σ_i [{g}]_i δ_π(i),k = [{g}]_π⁻¹(k), π the sorting permutation",),
        product=("permutation",),
        why=(
            "near a point without ties sorting is a fixed permutation P of the entries, a linear map; "
            "its transpose puts each gradient back where its entry came from (ties: stable order)"
        ),
    ),
    error_hint=axis_hint,
)

register(_prod, linear_scan, _cumsum, _cumprod, _sort)


# ----- public functions, NumPy's signatures ------------------------------------------------------
def _no_where(name: str, where: Any) -> None:
    if where is not None and where is not True:
        raise TypeError(f"{name}: where= is not supported; select the entries first (e.g. with mg.where)")


def _array(a: Any) -> Any:
    """A Tensor as it is; a list holding Tensors stacked (traced); anything else a NumPy array."""
    return as_array(a)


def _cast(name: str, a: Any, dtype: Any) -> Any:
    """``dtype=``: a float dtype is a differentiable cast; any other has no derivative."""
    if dtype is None:
        return a
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return a if a.dtype == dtype else astype(a, dtype=dtype)
    if type(a) is Tensor and a.requires_grad:
        raise TypeError(
            f"{name}: dtype={dtype} has no derivative; give a float dtype, or the values (t.detach()) "
            f"if no gradient should flow"
        )
    return np.asarray(value(a)).astype(dtype)


def prod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
    where: Any = None,
) -> Any:
    """The product of the entries over ``axis``; exact derivative where entries are 0 (see the module)."""
    refuse_out("prod", out)
    _no_where("prod", where)
    a = _array(a)
    product = _prod(_cast("prod", a, dtype), axis=_axis_of_scalar(a, axis), keepdims=keepdims)
    return product if initial is None else product * initial


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum along ``axis`` (None: of the flattened array); its VJP is a reversed cumsum."""
    refuse_out("cumsum", out)
    a = _array(a)
    return _cumsum(_cast("cumsum", a, dtype), axis=_axis_of_scalar(a, axis))


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product along ``axis`` (None: of the flattened array); exact derivative at zeros."""
    refuse_out("cumprod", out)
    a = _array(a)
    return _cumprod(_cast("cumprod", a, dtype), axis=_axis_of_scalar(a, axis))


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    """A sorted copy (axis=None: flattened).  ``kind``/``stable`` change no value; the gradient
    follows a stable sort at ties, whatever the kind."""
    a = _array(a)
    np.sort(np.empty(0, dtype=value(a).dtype), kind=kind, order=order, **_stable(stable))  # NumPy's own checks
    return _sort(a, axis=axis)


def argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> np.ndarray:
    """The sorting permutation: integers, no derivative."""
    return np.argsort(value(a), axis=axis, kind=kind, order=order, **_stable(stable))


def _stable(stable: Any) -> dict:
    """``stable=`` for NumPy's sorts (a keyword since NumPy 2.0), passed on only when given."""
    return {} if stable is None else {"stable": stable}


def argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """The index of the largest entry (the first at a tie): integers, no derivative."""
    refuse_out("argmax", out)
    return np.argmax(value(a), axis=axis, keepdims=keepdims)


def argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """The index of the smallest entry (the first at a tie): integers, no derivative."""
    refuse_out("argmin", out)
    return np.argmin(value(a), axis=axis, keepdims=keepdims)


def amax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """NumPy's alias of max: the gradient goes to the largest entry (split evenly at ties)."""
    refuse_out("amax", out)
    return max_(_array(a), axis=axis, keepdims=keepdims)


def amin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """NumPy's alias of min: the gradient goes to the smallest entry (split evenly at ties)."""
    refuse_out("amin", out)
    return min_(_array(a), axis=axis, keepdims=keepdims)


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """Peak to peak, max − min (each split evenly at ties)."""
    refuse_out("ptp", out)
    a = _array(a)
    return max_(a, axis=axis, keepdims=keepdims) - min_(a, axis=axis, keepdims=keepdims)


def _ddof(ddof: Any, correction: Any) -> Any:
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return correction


def _count(shape: tuple[int, ...], axis: Any) -> int:
    return math.prod(shape[i] for i in _axes(axis, len(shape)))


def _variance(name: str, a: Any, axis: Any, dtype: Any, ddof: Any, keepdims: bool, center: Any) -> Any:
    """Two passes: the mean first, then the mean square deviation from it (no E[x²] − E[x]²)."""
    a = _cast(name, _array(a), dtype)
    if center is None:
        center = mean_(a, axis=axis, keepdims=True)
    deviation = a - center
    dof = _count(shape_of(a), axis) - ddof
    if dof <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sum_(deviation * deviation, axis=axis, keepdims=keepdims) / max(dof, 0)



def var(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
    where: Any = None, mean: Any = None, correction: Any = None,
) -> Any:
    """Variance Σ (x − mean)² / (N − ddof), by two passes; ``mean=`` a precomputed mean (keepdims shape)."""
    refuse_out("var", out)
    _no_where("var", where)
    return _variance("var", a, axis, dtype, _ddof(ddof, correction), keepdims, mean)


def std(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
    where: Any = None, mean: Any = None, correction: Any = None,
) -> Any:
    """√var.  On a slice whose entries are all equal std is 0 (up to rounding), a kink: its derivative
    there is taken as 0, as |x|'s at 0."""
    refuse_out("std", out)
    _no_where("std", where)
    a = _array(a)
    variance = _variance("std", a, axis, dtype, _ddof(ddof, correction), keepdims, mean)
    values, v = value(a), value(variance)
    flat = v == 0
    if values.size:
        flat = flat | (np.max(values, axis=axis, keepdims=keepdims) == np.min(values, axis=axis, keepdims=keepdims))
    if not np.any(flat):
        return sqrt(variance)
    return where_(flat, np.sqrt(v), sqrt(where_(flat, 1.0, variance)))  # no 1/(2·0) on the flat slices


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False) -> Any:
    """The mean, or Σ a w / Σ w over ``axis``: differentiable in ``a`` and in ``weights``.

    ``weights`` has a's shape, or the shape of a along ``axis``; ``returned=True`` also gives Σ w
    (the count without weights), broadcast to the result's shape."""
    a = _array(a)
    if weights is None:
        avg = mean_(a, axis=axis, keepdims=keepdims)
        scale = np.full(shape_of(avg), math.prod(shape_of(a)) / max(math.prod(shape_of(avg)), 1))
        return (avg, scale.astype(value(avg).dtype)) if returned else avg
    w = _array(weights)
    shape, w_shape = shape_of(a), shape_of(w)
    if w_shape != shape:
        if axis is None:
            raise TypeError("average: axis must be specified when shapes of a and weights differ.")
        axes = _normalized(axis, len(shape))
        if w_shape != tuple(shape[i] for i in axes):
            raise ValueError(
                f"average: weights of shape {w_shape} must have a's shape {shape} or its shape along axis "
                f"{axis}, {tuple(shape[i] for i in axes)}"
            )
        w = transpose(w, axes=tuple(int(i) for i in np.argsort(axes))) if len(axes) > 1 else w
        w = reshape(w, shape=tuple(n if i in axes else 1 for i, n in enumerate(shape)))
    total = sum_(w, axis=axis, keepdims=keepdims)
    if np.any(value(total) == 0.0):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = sum_(mul(a, w), axis=axis, keepdims=keepdims) / total
    if not returned:
        return avg
    if shape_of(total) != shape_of(avg):
        total = broadcast_to(total, shape=shape_of(avg))
    return avg, total


def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False) -> Any:
    """The middle entry of the sorted slice (the mean of the two middle ones for an even count), NaN
    where a slice holds a NaN.  Its gradient goes to that entry (½ each to two), through sort."""
    refuse_out("median", out)
    a = _array(a)
    shape = shape_of(a)
    reduced = _normalized(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in reduced]
    order = (*kept, *reduced)
    rows = a if order == tuple(range(len(shape))) else transpose(a, axes=order)
    rows = reshape(rows, shape=tuple(shape[i] for i in kept) + (math.prod(shape[i] for i in reduced),))
    n = shape_of(rows)[-1]
    middle = _sort(rows, axis=-1)[..., (n - 1) // 2 : n // 2 + 1]
    med = mean_(middle, axis=-1)
    if keepdims:
        med = reshape(med, shape=tuple(1 if i in reduced else s for i, s in enumerate(shape)))
    holes = np.isnan(value(rows)).any(axis=-1)
    if np.any(holes):
        med = where_(holes.reshape(shape_of(med)), np.nan, med)
    return med
