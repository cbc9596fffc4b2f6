"""Matrix structure: trace, diagonal, diag, tril, triu (rows of the table), diagflat, and the
identity as a constant (eye, identity).

All are linear maps that select entries (a diagonal, a triangle) or place them (a vector on a
diagonal), so each VJP places the gradient back or selects it: the trace's is ``g I`` (the Matrix
Cookbook's ∂ tr(X)/∂X = I), the diagonal's scatters g onto the diagonal of zeros, a triangle's
mask is its own adjoint.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .composites import as_array
from .core import Primitive, refuse_out, register, shape_of, unbroadcast, value
from .elementwise import astype
from .linalg import transpose
from .notation import custom, g, linear, structural, t
from .notation import x as inputs
from .shape import reshape, scatter_add

__all__ = ["diag", "diagflat", "diagonal", "eye", "trace", "tril", "triu"]
# ``identity(n)`` is defined below but not exported by name: ``primitives.identity`` is the table's
# identity map (transforms and nn.Identity record it), which a star import of this module would shadow.

x0 = inputs[0]


def _params(context: dict) -> dict:
    return context.get("params", {})


def _plane(shape: tuple[int, ...], axis1: int, axis2: int) -> tuple[int, int]:
    """axis1 and axis2 as non-negative axes of ``shape``, refused if equal or out of bounds."""
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"needs an array of at least 2 dimensions, got shape {shape}")
    for axis in (axis1, axis2):
        if not -ndim <= axis < ndim:
            raise ValueError(f"axis {axis} is out of bounds for an array of shape {shape}")
    ax1, ax2 = axis1 % ndim, axis2 % ndim
    if ax1 == ax2:
        raise ValueError(f"axis1 and axis2 name the same axis ({axis1}, {axis2})")
    return ax1, ax2


def plane_hint(values: Sequence[Any], params: dict) -> str:
    try:
        _plane(np.shape(values[0]), params.get("axis1", 0), params.get("axis2", 1))
    except ValueError as error:
        return f"{error}. Hint: axis1 and axis2 pick two different axes of the array (the plane of the matrices)"
    return f"cannot take diagonal offset={params.get('offset', 0)} of the plane ({params.get('axis1', 0)}, " \
           f"{params.get('axis2', 1)})"


@functools.lru_cache(maxsize=256)
def _diagonal_entries(n: int, m: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the entries on diagonal ``offset`` of an n × m matrix."""
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    rows = np.arange(length) + max(-offset, 0)
    cols = np.arange(length) + max(offset, 0)
    for index in (rows, cols):
        index.flags.writeable = False
    return rows, cols


@functools.lru_cache(maxsize=256)
def _placed_eye(shape: tuple[int, ...], ax1: int, ax2: int, offset: int, dtype: np.dtype) -> np.ndarray:
    """The identity (its diagonal ``offset``) in the plane (ax1, ax2), of size 1 on every other axis."""
    eye = np.eye(shape[ax1], shape[ax2], k=offset, dtype=dtype)
    if ax1 > ax2:
        eye = eye.T
    placed = eye.reshape(tuple(n if i in (ax1, ax2) else 1 for i, n in enumerate(shape))).copy()
    placed.flags.writeable = False
    return placed


def _trace_vjp(g: Any, out: Any, a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """g I: the identity (diagonal ``offset``) scaled by g, for each matrix of a batch."""
    shape = shape_of(a)
    ax1, ax2 = _plane(shape, axis1, axis2)
    g = g.reshape(tuple(1 if i in (ax1, ax2) else n for i, n in enumerate(shape)))
    return g * _placed_eye(shape, ax1, ax2, offset, value(g).dtype)


def _on_diagonal(v: Any, context: dict) -> np.ndarray:
    """v written onto diagonal ``offset`` of zeros in the plane (axis1, axis2), v's last axis
    running along the diagonal and its other axes those of the input outside the plane."""
    params, shape = _params(context), context["shape"]
    ax1, ax2 = _plane(shape, params.get("axis1", 0), params.get("axis2", 1))
    result = np.zeros(shape, dtype=np.result_type(v, np.float32))
    moved = np.moveaxis(result, (ax1, ax2), (-2, -1))  # a view: writing to it writes to result
    rows, cols = _diagonal_entries(shape[ax1], shape[ax2], params.get("offset", 0))
    moved[..., rows, cols] = v
    return result


def _trace_value(v: Any, context: dict) -> np.ndarray:
    return np.trace(v, **_params(context))


_trace = Primitive(
    "trace",
    lambda a, offset=0, axis1=0, axis2=1: np.trace(a, offset=offset, axis1=axis1, axis2=axis2),
    vjp=[_trace_vjp],
    jvp="linear",
    notation=custom(
        structural("trace", x0, "tr({0})", r"\operatorname{tr}\left({0}\right)", _trace_value),
        vjp=(
            structural(
                "times_identity", g, "{0} I", r"{0} I", lambda v, c: _on_diagonal(np.expand_dims(np.asarray(v), -1), c)
            ),
        ),
        jvp=(structural("trace", t, "tr({0})", r"\operatorname{tr}\left({0}\right)", _trace_value),),
        index=("Σ_i [{g}] ∂[{0}]_ii/∂[{0}]_kl = Σ_i [{g}] δ_ik δ_il = [{g}] δ_kl",),
        product=("scaled identity",),
        why="the trace adds the diagonal entries one-for-one, so ∂ tr(X)/∂X = I and the gradient is g I",
    ),
    error_hint=plane_hint,
)


def _diagonal_vjp(g: Any, out: Any, a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """g scattered onto the diagonal of zeros, the plane moved back to axes (axis1, axis2)."""
    shape = shape_of(a)
    ax1, ax2 = _plane(shape, axis1, axis2)
    batch = tuple(n for i, n in enumerate(shape) if i not in (ax1, ax2))
    rows, cols = _diagonal_entries(shape[ax1], shape[ax2], offset)
    placed = scatter_add(g, index=(Ellipsis, rows, cols), shape=batch + (shape[ax1], shape[ax2]))
    order, rest = [], iter(range(len(batch)))
    for i in range(len(shape)):
        order.append(len(batch) if i == ax1 else len(batch) + 1 if i == ax2 else next(rest))
    return placed if order == sorted(order) else transpose(placed, axes=tuple(order))


_diagonal = Primitive(
    "diagonal",
    lambda a, offset=0, axis1=0, axis2=1: np.diagonal(a, offset=offset, axis1=axis1, axis2=axis2),
    vjp=[_diagonal_vjp],
    jvp="linear",
    notation=linear(
        structural(
            "diagonal",
            x0,
            "diag({0})",
            r"\operatorname{diag}\left({0}\right)",
            lambda v, c: np.diagonal(v, **_params(c)),
        ),
        vjp=structural("on_diagonal", g, "Diag({0})", r"\operatorname{Diag}\left({0}\right)", _on_diagonal),
        index="Σ_i [{g}]_i ∂[{0}]_ii/∂[{0}]_kl = Σ_i [{g}]_i δ_ik δ_il = [{g}]_k δ_kl",
        product="scatter",
        why="the diagonal selects entries (i, i), so its gradient puts g back on the diagonal of zeros",
    ),
    error_hint=plane_hint,
)


def _matrix_of_vector(v: Any, k: int = 0) -> np.ndarray:
    if np.ndim(v) != 1:
        raise ValueError(f"needs a 1-D vector, got shape {np.shape(v)}")
    return np.diag(v, k)


def _diag_of_gradient(v: Any, context: dict) -> np.ndarray:
    """The entries of g on diagonal k, read by index (not by np.diagonal)."""
    n = np.shape(v)[0]
    rows, cols = _diagonal_entries(n, n, _params(context).get("k", 0))
    return np.asarray(v)[rows, cols]


_diag = Primitive(
    "diag",
    _matrix_of_vector,
    vjp=[lambda g, out, v, k=0: _diagonal(g, offset=k)],
    jvp="linear",
    notation=linear(
        structural(
            "diag",
            x0,
            "Diag({0})",
            r"\operatorname{Diag}\left({0}\right)",
            lambda v, c: np.diag(v, _params(c).get("k", 0)),
        ),
        vjp=structural("diag_vjp", g, "diag({0})", r"\operatorname{diag}\left({0}\right)", _diag_of_gradient),
        index="Σ_ij [{g}]_ij ∂[Diag({0})]_ij/∂[{0}]_k = Σ_ij [{g}]_ij δ_ik δ_jk = [{g}]_kk",
        product="gather",
        why="Diag(v) places v on a diagonal, so its gradient reads that diagonal of g back",
    ),
)


def _triangle(name: str, forward: Any, mask: Any) -> Primitive:
    """tril or triu: an elementwise 0/1 mask, its own adjoint."""

    def vjp(g: Any, out: Any, m: Any, k: int = 0) -> Any:
        kept = prim(g, k=k)  # a 1-D m was broadcast to rows: the rows' gradients are summed back
        return kept if shape_of(kept) == shape_of(m) else unbroadcast(kept, shape_of(m))

    def masked(v: Any, context: dict) -> np.ndarray:
        n, m = np.shape(v)[-2:]
        return v * mask(n, m, _params(context).get("k", 0))

    def triangle_value(v: Any, context: dict) -> np.ndarray:
        return forward(v, _params(context).get("k", 0))

    latex = rf"\operatorname{{{name}}}\left({{0}}\right)"
    prim = Primitive(
        name,
        lambda m, k=0: forward(m, k),
        vjp=[vjp],
        jvp="linear",
        notation=linear(
            structural(name, x0, f"{name}({{0}})", latex, triangle_value),
            vjp=structural(f"{name}_vjp", g, f"{name}({{0}})", latex, masked),
            index=f"Σ_ij [{{g}}]_ij 𝟙_ij δ_ik δ_jl = [{{g}}]_kl 𝟙_kl, 𝟙 the mask of {name}",
            product="hadamard",
            why=f"{name} multiplies by a fixed 0/1 mask, a diagonal Jacobian: the gradient is masked the same way",
        ),
    )
    return prim


_tril = _triangle("tril", np.tril, lambda n, m, k: np.tri(n, m, k))
_triu = _triangle("triu", np.triu, lambda n, m, k: 1 - np.tri(n, m, k - 1))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None) -> Any:
    """The sum along diagonal ``offset`` of the plane (axis1, axis2), for each matrix of a batch."""
    refuse_out("trace", out)
    result = _trace(a, offset=offset, axis1=axis1, axis2=axis2)
    return result if dtype is None else astype(result, dtype=np.dtype(dtype))


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """Diagonal ``offset`` of the plane (axis1, axis2): those axes removed, the diagonal appended last."""
    return _diagonal(a, offset=offset, axis1=axis1, axis2=axis2)


def tril(m: Any, k: int = 0) -> Any:
    """The lower triangle of each matrix (on and below diagonal k), zeros above."""
    return _tril(m, k=k)


def triu(m: Any, k: int = 0) -> Any:
    """The upper triangle of each matrix (on and above diagonal k), zeros below."""
    return _triu(m, k=k)


def diag(v: Any, k: int = 0) -> Any:
    """A 1-D v placed on diagonal k of a square matrix, or diagonal k of a 2-D v."""
    v = as_array(v)
    ndim = len(shape_of(v))
    if ndim == 1:
        return _diag(v, k=k)
    if ndim == 2:
        return _diagonal(v, offset=k)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {shape_of(v)}")


def diagflat(v: Any, k: int = 0) -> Any:
    """The flattened input placed on diagonal k of a square matrix."""
    return _diag(reshape(v, shape=(-1,)), k=k)


def eye(
    N: int,
    M: int | None = None,
    k: int = 0,
    dtype: Any = float,
    order: str = "C",
    *,
    device: Any = None,
    like: Any = None,
) -> np.ndarray:
    """NumPy's eye: a constant (a plain array, nothing to differentiate)."""
    return np.eye(N, M, k, dtype=dtype, order=order, device=device, like=like)


def identity(n: int, dtype: Any = None, *, like: Any = None) -> np.ndarray:
    """NumPy's identity: a constant n × n identity matrix (a plain array)."""
    return np.identity(n, dtype=dtype, like=like)


register(_trace, _diagonal, _diag, _tril, _triu)
