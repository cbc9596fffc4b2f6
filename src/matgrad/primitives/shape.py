"""Shape primitives: reshape, broadcast_to, indexing and its adjoint, concatenate, stack.

All are linear maps that only move entries around, so each VJP moves the gradient back
(reshape back, sum over broadcast axes, scatter into zeros, slice out).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Primitive, leading_axes, passes, register, shape_of, unbroadcast, value
from .notation import g, linear, structural
from .notation import x as inputs


def _moves(name: str, forward: tuple[str, Any], vjp: tuple[str, Any], index: str, product: str, why: str) -> Any:
    """A map that only moves entries: ``forward`` and ``vjp`` are (text template, evaluator)."""
    (forward_text, forward_eval), (vjp_text, vjp_eval) = forward, vjp
    expression = structural(name, inputs[0], forward_text, _latex(forward_text), forward_eval)
    return linear(expression, structural(f"{name}_vjp", g, vjp_text, _latex(vjp_text), vjp_eval), index, product, why)


def _latex(text: str) -> str:
    return text.replace("_", r"\_").replace("…", r"\ldots")


def _params(context: dict) -> dict:
    return context.get("params", {})


@leading_axes
def _reshape_vjp(g: Any, out: Any, x: Any, shape: Any) -> Any:
    """g in x's shape, after any leading axes g has beyond out's (many cotangents at once)."""
    return g.reshape(g.shape[: g.ndim - np.ndim(out)] + x.shape)


reshape = Primitive(
    "reshape",
    lambda x, shape: np.reshape(x, shape),
    vjp=[_reshape_vjp],
    jvp="linear",
    notation=_moves(
        "reshape",
        ("reshape({0})", lambda v, c: np.reshape(v, _params(c)["shape"])),
        ("reshape({0})", lambda v, c: np.reshape(v, c["shape"])),
        "[{g}]_π(k), π the reshape's map of positions",
        "reshape",
        "a reshape keeps every entry, so the gradient is reshaped back",
    ),
)
_SMALL = 1 << 14  # entries below which a copy is cheaper than np.broadcast_to's ~2 µs setup


def _broadcast(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """np.broadcast_to, but small results are materialized: same values, a fraction of the time."""
    if math.prod(shape) > _SMALL:
        return np.broadcast_to(x, shape)
    out = np.empty(shape, dtype=x.dtype)
    out[...] = x
    return out


def _broadcast_vjp(g: Any, out: Any, x: Any, shape: Any) -> Any:
    return unbroadcast(g, x.shape)


_broadcast_vjp.core = passes  # the copies' gradients are summed back, as for a broadcast operand


broadcast_to = Primitive(
    "broadcast_to",
    _broadcast,
    vjp=[_broadcast_vjp],
    jvp="linear",
    notation=_moves(
        "broadcast",
        ("{0}", lambda v, c: np.broadcast_to(v, _params(c)["shape"])),
        ("{0}", lambda v, c: v),  # summed back over the broadcast axes by the caller, as unbroadcast does
        "Σ_j [{g}]_j ∂[{out}]_j/∂[{0}]_k = Σ_{j copies k} [{g}]_j",
        "sum",
        "an entry copied to many places collects the gradient of every copy",
    ),
)


def _is_basic(index: Any) -> bool:
    """Basic indexing (ints, slices, None, Ellipsis) never selects an entry twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _scatter_add(x: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    result = np.zeros(shape, dtype=np.result_type(x))
    if _is_basic(index):
        result[index] = x
    else:
        np.add.at(result, index, x)  # integer arrays may repeat an entry: add, not assign
    return result


getitem = Primitive(
    "getitem",
    lambda x, index: x[index],
    vjp=[lambda g, out, x, index: scatter_add(g, index=index, shape=x.shape)],
    jvp="linear",
    notation=_moves(
        "getitem",
        ("{0}[index]", lambda v, c: v[_params(c)["index"]]),
        ("scatter({0})", lambda v, c: _scatter_add(np.asarray(v), _params(c)["index"], c["shape"])),
        "Σ_j [{g}]_j δ_(index_j),k",
        "scatter",
        "selecting entries is a 0/1 matrix S; its transpose scatters the gradient back",
    ),
)
scatter_add = Primitive(
    "scatter_add",
    _scatter_add,
    vjp=[lambda g, out, x, index, shape: unbroadcast(getitem(g, index=index), x.shape)],
    jvp="linear",
    notation=_moves(
        "scatter_add",
        ("scatter({0})", lambda v, c: _scatter_add(np.asarray(v), _params(c)["index"], _params(c)["shape"])),
        ("{0}[index]", lambda v, c: np.asarray(v)[_params(c)["index"]]),
        "[{g}]_(index_k)",
        "gather",
        "the adjoint of indexing: scattering is Sᵀ, so its VJP gathers with S",
    ),
)


def _slab(axis: int, ndim: int, index: Any) -> tuple:
    axis = axis % ndim
    return (slice(None),) * axis + (index,)


def _concat_vjp(i: int, g: Any, out: Any, *xs: Any, axis: int = 0) -> Any:
    ax = axis % out.ndim
    start = sum(shape_of(x)[ax] for x in xs[:i])
    return g[_slab(ax, out.ndim, slice(start, start + shape_of(xs[i])[ax]))]


def _block(v: np.ndarray, context: dict) -> np.ndarray:
    """The block of a concatenation's gradient that belongs to input ``argnum``."""
    axis = _params(context).get("axis", 0) % v.ndim
    sizes = [shape[axis] for shape in context["shapes"]]
    start = sum(sizes[: context["argnum"]])
    return v[_slab(axis, v.ndim, slice(start, start + sizes[context["argnum"]]))]


def _zeros_beside(i: int, t: Any, xs: tuple) -> list:
    dtype = value(t).dtype
    return [t if j == i else np.zeros(shape_of(x), dtype) for j, x in enumerate(xs)]


concatenate = Primitive(
    "concatenate",
    lambda *xs, axis=0: np.concatenate(xs, axis=axis),
    vjp=_concat_vjp,
    jvp=lambda i, t, out, *xs, axis=0: concatenate(*_zeros_beside(i, t, xs), axis=axis),
    notation=_moves(
        "concatenate",
        ("[{0}, …]", lambda v, c: np.concatenate(c["inputs"], axis=_params(c).get("axis", 0))),  # every input
        ("block({0})", lambda v, c: _block(np.asarray(v), c)),
        "[{g}]_(offset + k)",
        "slice",
        "each input occupies one block of the output, so it receives that block of the gradient",
    ),
)
stack = Primitive(
    "stack",
    lambda *xs, axis=0: np.stack(xs, axis=axis),
    vjp=lambda i, g, out, *xs, axis=0: g[_slab(axis, out.ndim, i)],
    jvp=lambda i, t, out, *xs, axis=0: stack(*_zeros_beside(i, t, xs), axis=axis),
    notation=_moves(
        "stack",
        ("stack({0}, …)", lambda v, c: np.stack(c["inputs"], axis=_params(c).get("axis", 0))),  # every input
        ("{0}[i]", lambda v, c: np.asarray(v)[_slab(_params(c).get("axis", 0), np.ndim(v), c["argnum"])]),
        "[{g}]_(i, k)",
        "slice",
        "each input is one slice of the output, so it receives that slice of the gradient",
    ),
)

register(reshape, broadcast_to, getitem, scatter_add, concatenate, stack)
