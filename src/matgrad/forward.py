"""Forward mode: tangents pushed through a recorded graph with the table's JVP rules.

The walk goes producers-first over the same graph the backward sweep uses and calls
``node._prim.jvp[i](t, out, *inputs, **params)`` for each input that carries a tangent,
adding the contributions of several inputs.  A rule's result is broadcast to the node's shape
here, once, as :func:`unbroadcast` sums it back in reverse mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .primitives import broadcast_to
from .primitives.core import _LinearRules
from .reverse import added_gradients, taped, toposort
from .state import STATE, enable_grad
from .tensor import Tensor, raise_if_not_finite


def jvp_of(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    tangents: Sequence[Any],
    create_graph: bool = False,
) -> list[Any]:
    """Tangents of ``outputs`` when ``inputs`` move along ``tangents`` (``J t`` for each output).

    With ``create_graph`` the rules run on Tensors and are recorded, so the result can be
    differentiated again (forward-over-reverse Hessians).
    """
    tangent_of: dict[int, Any] = {id(x): t for x, t in zip(inputs, tangents)}
    traced = [out for out in outputs if out.requires_grad]
    with enable_grad() if create_graph else contextlib.nullcontext():
        for node in reversed(toposort(traced)):  # producers first
            if node._prim is None or id(node) in tangent_of:
                continue
            t = _push(node, tangent_of, create_graph)
            if t is not None:
                tangent_of[id(node)] = t
    return [_tangent_or_zeros(out, tangent_of, create_graph) for out in outputs]


def _incoming(node: Tensor, tangent_of: dict[int, Any]) -> Any:
    """(argument number, its tangent, the JVP rule) for each argument of ``node`` that has a tangent."""
    for i, parent in enumerate(node._parents):
        t = tangent_of.get(id(parent)) if type(parent) is Tensor else None
        if t is None:
            continue
        rule = node._prim.jvp[i]
        if rule is None:
            raise TypeError(f"jvp: {node._prim.name} has no derivative with respect to its argument {i}")
        yield i, t, rule


def _push(node: Tensor, tangent_of: dict[int, Any], create_graph: bool) -> Any:
    prim, parents, params = node._prim, node._parents, node._params
    if create_graph:
        out, args = node, parents
    else:
        out = node.data
        args = tuple(p.data if type(p) is Tensor else p for p in parents)
    total = None
    for i, t, rule in _incoming(node, tangent_of):
        if create_graph:
            contribution = rule(t, out, *args, **params)
            total = contribution if total is None else total + contribution
        else:  # arrays: the steps a compiled plan replays
            contribution = taped(rule, t, *_read_by(prim, i, out, args, _nothing), **params)
            total = contribution if total is None else taped(added_gradients, total, contribution)
    if total is None:
        return None
    if total.shape != node.shape:
        total = broadcast_to(total, shape=node.shape) if create_graph else taped(_broadcast, total, node.shape)
    if STATE.anomaly:
        raise_if_not_finite(total.data if type(total) is Tensor else total, f"jvp of {prim.name}")
    return total


def _read_by(prim: Any, i: int, out: Any, args: tuple, stand_in: Any = None) -> tuple:
    """``(out, *args)`` as input ``i``'s rule reads them: a linear primitive's rule applies the
    primitive to the tangent and reads neither ``out`` nor input ``i``, so those two are passed as
    ``stand_in``s (by default zero-strided arrays of their shape, for the batched sweep's reshaping)
    and a compiled plan need not keep the steps that made them (the gradient's own value, in a
    Hessian-vector product)."""
    if not isinstance(prim.jvp, _LinearRules):
        return (out, *args)
    stand_in = stand_in or _shaped_like
    return (stand_in(out), *args[:i], stand_in(args[i]), *args[i + 1 :])


_ZERO_BYTES = bytes(16)  # read-only: the stand-ins cannot be written


def _shaped_like(x: Any) -> Any:
    """Zeros of ``x``'s shape and dtype in 16 bytes (every stride 0); anything else as it is."""
    if type(x) is not np.ndarray or x.dtype.itemsize > len(_ZERO_BYTES) or x.dtype.hasobject:
        return x
    return np.ndarray(x.shape, x.dtype, _ZERO_BYTES, 0, (0,) * x.ndim)


def _nothing(x: Any) -> None:
    return None


def _broadcast(t: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return broadcast_to(t, shape=shape)


def _tangent_or_zeros(out: Tensor, tangent_of: dict[int, Any], create_graph: bool) -> Any:
    t = tangent_of.get(id(out))
    if t is None:
        zeros = np.zeros(out.shape, dtype=out.dtype)
        return Tensor(zeros) if create_graph else zeros
    return t


# ----- many tangents in one sweep ------------------------------------------------------------
#: entries of the largest batched tangent one sweep may hold (the forward twin of
#: :data:`matgrad.reverse.BATCHED_ELEMENTS`); callers chunk their tangents to stay under it
BATCHED_TANGENT_ELEMENTS = 1 << 22


def batched_jvp_of(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    tangents: Sequence[np.ndarray],
    batch: int,
    order: list[Tensor] | None = None,
    one_hot: bool = False,
) -> list[np.ndarray]:
    """``jvp_of`` for ``batch`` tangents at once, on arrays: each tangent has shape
    ``(batch,) + input.shape`` and each result ``(batch,) + output.shape`` (row b is ``J t[b]``).

    One producers-first walk carries the leading batch axis through the same JVP rules.  A rule
    is called once on the whole batch where NumPy broadcasting keeps the axis in front
    (elementwise primitives and matmul, their tangents padded with size-1 axes to line up), or
    with its axis parameters moved past the batch axis (the reductions and moves of
    ``_SHIFTED``); any other rule runs once per row of the batch, so every graph works.
    ``order`` is ``toposort`` of the outputs that require grad, for a caller that has it already.

    Between steps a batch may be kept factored, as :class:`_Scaled` ``scale ⊙ base`` (see there):
    a chain of elementwise rules then runs on ``scale``, one entry per node entry rather than per
    tangent, and ``one_hot`` (the tangents are the basis ``e_b`` of the input, ``batch`` of them)
    lets a matrix product take the basis apart instead of multiplying by the identity.
    """
    tangent_of: dict[int, Any] = {
        id(x): _Scaled(None, t, one_hot) if not STATE.anomaly else t for x, t in zip(inputs, tangents)
    }
    if order is None:
        order = toposort([out for out in outputs if out.requires_grad])
    uses = _remaining_uses(order, outputs)
    for node in reversed(order):  # producers first
        if node._prim is None or id(node) in tangent_of:
            continue
        t = _push_batched(node, tangent_of, batch)
        if t is not None:
            tangent_of[id(node)] = t
        for parent in node._parents:  # a batch of tangents is dropped after its last use
            if type(parent) is Tensor and id(parent) in uses:
                uses[id(parent)] -= 1
                if uses[id(parent)] == 0:
                    tangent_of.pop(id(parent), None)
    return [
        _dense(tangent_of[id(out)]) if id(out) in tangent_of else np.zeros((batch, *out.shape), out.dtype)
        for out in outputs
    ]


def _remaining_uses(order: list[Tensor], outputs: Sequence[Tensor]) -> dict[int, int]:
    """How many recorded nodes use each node; the outputs are kept to the end (never counted down to 0)."""
    uses: dict[int, int] = {id(out): 1 for out in outputs}
    for node in order:
        if node._prim is not None:
            for parent in node._parents:
                if type(parent) is Tensor:
                    uses[id(parent)] = uses.get(id(parent), 0) + 1
    return uses


def _push_batched(node: Tensor, tangent_of: dict[int, Any], batch: int) -> Any:
    prim, params, out, args = node._prim, node._params, node.data, node._inputs
    want = (batch, *out.shape)
    total = None
    for i, t, rule in _incoming(node, tangent_of):
        contribution = _factored_rule(prim, rule, i, t, out, args, params, want) if type(t) is _Scaled else None
        if contribution is None:
            contribution = _batched_rule(prim, rule, i, _dense(t), out, args, params, want)  # its steps are taped
        total = contribution if total is None else _added(total, contribution)
    if total is None:
        return None
    if STATE.anomaly:
        raise_if_not_finite(_dense(total), f"jvp of {prim.name}")
        return _dense(total)
    return total if type(total) is _Scaled else _Scaled(None, total, False)  # elementwise rules that follow scale it


class _Scaled:
    """A batch of tangents held as ``scale ⊙ base``: ``base`` of shape ``(batch,) + node.shape``,
    ``scale`` of the node's shape (``None``: all ones) multiplied into every row.

    An elementwise rule is diagonal and linear in its tangent, ``rule(s ⊙ b) = rule(s) ⊙ b``, so it
    runs on ``scale`` alone (a vector where the batch is a matrix), and a chain of them costs one
    pass over the batch, when it is made dense.  ``one_hot`` marks a base whose row ``b`` is the
    basis vector ``e_b`` of the node (``batch == node.size``), which a matrix product takes apart
    (``A @ e_b`` is column ``b`` of ``A``).  Eager and compiled sweeps both go through here, so
    they stay bit-identical; the order of the products differs from a dense sweep by rounding.
    """

    __slots__ = ("base", "dense", "one_hot", "scale")

    def __init__(self, scale: np.ndarray | None, base: np.ndarray, one_hot: bool) -> None:
        self.scale, self.base, self.one_hot = scale, base, one_hot
        self.dense: np.ndarray | None = None  # made once, however many nodes use it


def _dense(t: Any) -> np.ndarray:
    """The batch itself, ``base * scale`` (broadcast over the batch axis)."""
    if type(t) is not _Scaled:
        return t
    if t.dense is None:
        t.dense = t.base if t.scale is None else taped(np.multiply, t.base, t.scale)
    return t.dense


def _added(total: Any, contribution: Any) -> Any:
    """The sum of two contributions; factored ones over the same base add their scales."""
    if type(total) is _Scaled and type(contribution) is _Scaled and total.base is contribution.base:
        ones = None if total.scale is not None and contribution.scale is not None else _ones(total.base)
        left = total.scale if total.scale is not None else ones
        right = contribution.scale if contribution.scale is not None else ones
        return _Scaled(taped(added_gradients, left, right), total.base, total.one_hot)
    return taped(added_gradients, _dense(total), _dense(contribution))


def _ones(base: np.ndarray) -> np.ndarray:
    return np.ones(base.shape[1:], base.dtype)


def _factored_rule(
    prim: Any, rule: Any, i: int, t: _Scaled, out: np.ndarray, args: tuple, params: dict, want: tuple
) -> Any:
    """The rule applied to a factored batch without making it dense, or None where it cannot be:
    an elementwise rule on the scale (input and output of one shape), a reshape of both factors,
    a matrix product of a one-hot base (the columns or rows of the other factor)."""
    kind = _KIND.get(prim)
    if kind is None:
        kind = _KIND[prim] = _kind(prim)
    if t.base.dtype != out.dtype or t.base.dtype.kind != "f":  # a change of precision on the way (the dense
        return None  # batch decides the dtype), or complex tangents, which conj or abs treat as real pairs
    if kind == "elementwise" and np.shape(args[i]) == out.shape:
        if prim.name == "identity":
            return t
        scale = taped(rule, t.scale if t.scale is not None else _ones(t.base), *_read_by(prim, i, out, args), **params)
        if type(scale) is np.ndarray and scale.shape == want[1:] and scale.dtype == t.base.dtype:
            return _Scaled(scale, t.base, t.one_hot)
        return None
    if prim.name == "reshape":
        scale = None if t.scale is None else taped(np.reshape, t.scale, out.shape)
        return _Scaled(scale, taped(np.reshape, t.base, want), t.one_hot)
    if kind == "matmul" and t.one_hot:
        return _one_hot_product(i, t, args, want)
    return None


def _one_hot_product(i: int, t: _Scaled, args: tuple, want: tuple) -> np.ndarray | None:
    """``A @ (s_b e_b)`` for every ``b``: column ``b`` of ``A`` times ``s_b`` (``A`` a matrix, the
    tangent a vector); ``(s_b e_b) @ B``: row ``b`` of ``B`` times ``s_b`` (the tangent a vector
    or a single row).  No product by the identity is computed."""
    a, b = args
    if np.result_type(a, b) != t.base.dtype:
        return None
    if i == 1 and np.ndim(a) == 2 and np.ndim(b) == 1:
        columns = a if t.scale is None else taped(np.multiply, a, t.scale)
        return taped(np.transpose, columns)
    if i == 0 and np.ndim(b) == 2 and (np.ndim(a) == 1 or (np.ndim(a) == 2 and np.shape(a)[0] == 1)):
        rows = b if t.scale is None else taped(np.multiply, b, taped(np.reshape, t.scale, (-1, 1)))
        return taped(np.reshape, rows, want)
    return None


def _batched_rule(
    prim: Any, rule: Any, i: int, t: np.ndarray, out: np.ndarray, args: tuple, params: dict, want: tuple
) -> np.ndarray:
    """``rule`` applied to every row of ``t``, shaped ``want`` = (batch,) + out.shape.

    Each array step goes through :func:`~matgrad.reverse.taped`, so that a compiled plan calls
    the rule itself, not this dispatch."""
    result = None
    kind = _KIND.get(prim)
    if kind is None:
        kind = _KIND[prim] = _kind(prim)
    out, *read = _read_by(prim, i, out, args)
    args = tuple(read)
    if kind == "matmul":
        result = taped(_matmul_batched, rule, i, t, out, args)
    elif kind == "elementwise":  # broadcasting keeps the batch axis in front
        if t.ndim != out.ndim + 1:
            t = taped(np.reshape, t, t.shape[:1] + (1,) * (out.ndim - t.ndim + 1) + t.shape[1:])
        result = taped(rule, t, out, *args, **params)
    elif kind == "shifted":
        result = taped(_shifted_call, prim, rule, i, t, out, args, params)
    if type(result) is np.ndarray and result.ndim == len(want) and result.shape[0] == want[0]:
        return result if result.shape == want else taped(np.broadcast_to, result, want)
    return taped(_row_by_row, rule, t, out, args, params, want)


def _shifted_call(prim: Any, rule: Any, i: int, t: np.ndarray, out: np.ndarray, args: tuple, params: dict) -> Any:
    """The JVP of a ``_SHIFTED`` primitive with its axis parameters moved past the batch axis
    (None where they cannot be)."""
    moved = _SHIFTED[prim.name](t, np.ndim(args[i]), out.shape, params)
    if moved is None:
        return None
    t_moved, changed = moved
    args, changed = _placed(prim.name, args, params, changed)
    return np.asarray(rule(t_moved, out, *args, **changed))


_KIND: dict[Any, str] = {}  # primitive → how its JVP takes a batch, found on first use


def _kind(prim: Any) -> str:
    if prim.name == "matmul":
        return "matmul"
    if getattr(prim.notation, "derivatives", ()):  # the elementwise rows name f' per input
        return "elementwise"
    return "shifted" if prim.name in _SHIFTED else "rows"


def _row_by_row(rule: Any, t: np.ndarray, out: np.ndarray, args: tuple, params: dict, want: tuple) -> np.ndarray:
    """The fallback: one call of the rule per tangent, as ``jvp_of`` would make it."""
    result = np.empty(want, dtype=np.result_type(out, t))
    for b in range(want[0]):
        result[b] = rule(t[b], out, *args, **params)  # assignment broadcasts to out's shape
    return result


def _matmul_batched(rule: Any, i: int, t: np.ndarray, out: np.ndarray, args: tuple) -> np.ndarray:
    """matmul's JVP (``t @ b`` or ``a @ t``) on a batch of tangents.

    Against a matrix or a vector, the batch is folded into one matrix product (one BLAS call
    rather than a stack of small ones): ``t @ b`` acts row by row, so the batch joins the rows
    of ``t``; ``a @ t`` acts column by column, so it joins the columns.  Against a stack of
    matrices, the batch axis goes in front of the stack axes, where matmul broadcasts it.
    """
    a, b = args
    other = b if i == 0 else a
    if np.ndim(other) <= 2:
        return _matmul_folded(rule, i, t, out, args)
    vector = np.ndim(args[i]) == 1
    stack_rank = max(np.ndim(a), np.ndim(b))
    core = ((1, t.shape[1]) if i == 0 else (t.shape[1], 1)) if vector else t.shape[-2:]
    have = t.shape[1:-1] if vector else t.shape[1:-2]
    padded = t.reshape((t.shape[0],) + (1,) * (stack_rank - 2 - len(have)) + tuple(have) + tuple(core))
    result = rule(padded, out, *args)
    return np.squeeze(result, axis=-2 if i == 0 else -1) if vector else result


def _matmul_folded(rule: Any, i: int, t: np.ndarray, out: np.ndarray, args: tuple) -> np.ndarray:
    """``t @ b`` or ``a @ t`` for every row of ``t`` in one product, ``b`` or ``a`` at most 2-D."""
    batch = t.shape[0]
    if i == 0:  # rows of t, of every tangent, times b
        rows = t if t.ndim == 2 else t.reshape(-1, t.shape[-1])
        return rule(rows, out, *args).reshape((batch, *out.shape))
    if t.ndim == 2:  # b a vector: the tangents are the columns
        return rule(t.T, out, *args).T
    k = t.shape[-2]  # b (…, k, n): every tangent's columns side by side
    columns = np.moveaxis(t, -2, 0)
    product = rule(columns.reshape(k, -1), out, *args)  # (m, batch·…·n), or (batch·…·n,) for a vector a
    if np.ndim(args[0]) == 1:
        return product.reshape((batch, *out.shape))
    return np.moveaxis(product.reshape((product.shape[0], *columns.shape[1:])), 0, -2)


def _axes_moved(t: np.ndarray, ndim: int, out_shape: tuple, params: dict) -> tuple | None:
    """sum and mean: the reduced axes counted past the batch axis."""
    axis = params.get("axis")
    if axis is None or ndim == 0:  # NumPy lets a 0-d array be reduced along "axis 0": nothing to reduce
        axes = tuple(range(1, ndim + 1))
    else:
        axes = tuple(int(a) % ndim + 1 for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    return t, {**params, "axis": axes}


def _transpose_moved(t: np.ndarray, ndim: int, out_shape: tuple, params: dict) -> tuple | None:
    axes = params.get("axes")
    order = range(ndim - 1, -1, -1) if axes is None else (int(a) % ndim for a in axes)
    return t, {**params, "axes": (0, *(a + 1 for a in order))}


def _shape_moved(t: np.ndarray, ndim: int, out_shape: tuple, params: dict) -> tuple | None:
    """reshape and broadcast_to: the batch axis in front of the target shape (a broadcast's
    tangent padded with size-1 axes, so that its own axes stay at the end)."""
    padded = t.reshape(t.shape[:1] + (1,) * (len(out_shape) - ndim) + t.shape[1:])
    return padded, {**params, "shape": (t.shape[0], *out_shape)}


def _placed(name: str, args: tuple, params: dict, changed: dict) -> tuple[tuple, dict]:
    """``(args, params)`` with the changed parameters where the call put them: by keyword, or by
    position among the inputs (``broadcast_to(x, shape)`` records ``shape`` as an input)."""
    args, changed = list(args), dict(changed)
    for position, param in enumerate(_PARAM_POSITIONS.get(name, ())):
        if param in changed and param not in params and position < len(args):
            args[position] = changed.pop(param)
    return tuple(args), changed


#: parameters a recorded call may hold among its inputs, by position (``broadcast_to(x, shape)``)
_PARAM_POSITIONS = {"broadcast_to": (None, "shape"), "reshape": (None, "shape")}


def _index_moved(t: np.ndarray, ndim: int, out_shape: tuple, params: dict) -> tuple | None:
    """getitem: a full slice in front of the index, where that keeps the batch axis first (not for
    advanced indices split by a slice, which NumPy moves to the front)."""
    index = params["index"]
    if not isinstance(index, tuple):
        index = (index,)
    advanced = [k for k, part in enumerate(index) if not (part is None or part is Ellipsis or isinstance(part, slice))]
    if advanced and advanced[-1] - advanced[0] + 1 != len(advanced):
        return None
    return t, {**params, "index": (slice(None), *index)}


#: the linear primitives whose JVP runs on a batch once its axis parameters are moved past it
_SHIFTED = {
    "sum": _axes_moved,
    "mean": _axes_moved,
    "transpose": _transpose_moved,
    "reshape": _shape_moved,
    "broadcast_to": _shape_moved,
    "getitem": _index_moved,
}
