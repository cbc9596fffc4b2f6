"""Function transforms: grad, value_and_grad, vjp, jvp, jacrev, jacfwd, hessian.

All of them trace the function once on fresh variables (one Tensor per pytree leaf of the
arguments named by ``argnums``) and then run the two walks over the recorded graph:
:func:`matgrad.reverse.grad_of` (VJPs) and :func:`matgrad.forward.jvp_of` (JVPs).  ``jacrev``
sends all its one-hot cotangents through one sweep where every rule keeps leading axes
(:func:`matgrad.reverse.batched_grad_of`); ``jacfwd`` sends all its one-hot tangents through
one forward sweep that keeps a leading axis (:func:`matgrad.forward.batched_jvp_of`), and
``hessian`` is ``jacfwd(jacrev(f))``: one recorded gradient, one batched forward sweep.

At the top level they take and return NumPy arrays.  Called inside another transform (or on
Tensors that require grad) they keep their graphs and return Tensors, which is how transforms
compose to any order.  Fresh variables are ``identity`` nodes of such inputs, so an inner
transform differentiates with respect to its own argument only, never a closed-over outer one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .forward import BATCHED_TANGENT_ELEMENTS, batched_jvp_of, jvp_of
from .primitives import identity, reshape, stack
from .pytree import tree_flatten, tree_map, tree_unflatten
from .reverse import BATCHED_ELEMENTS, TAPE, batched_grad_of, grad_of, taped, toposort
from .state import STATE, nested_transform
from .tensor import Tensor

Argnums = int | Sequence[int]


class _Trace:
    """One traced call of ``f``: its variables, outputs, and whether graphs must be kept."""

    def __init__(self, name: str, f: Callable, args: tuple, kwargs: dict, argnums: Argnums, has_aux: bool):
        self.name = name
        self.argnums = argnums
        numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        for n in numbers:
            if not -len(args) <= n < len(args):
                raise ValueError(f"{name}: argnums={argnums} but the function got {len(args)} arguments")
        numbers = tuple(n % len(args) for n in numbers)
        self.nested = STATE.transform_depth > 0 or any(
            type(leaf) is Tensor and leaf.requires_grad for leaf in tree_flatten(args)[0]
        )
        traced_args = list(args)
        self.variables: list[Tensor] = []
        self.arg_defs = []
        made: dict[int, tuple[Any, list[Tensor]]] = {}
        for n in numbers:
            if n not in made:  # argnums=(0, 0): one set of variables, its derivative given twice (as JAX)
                leaves, treedef = tree_flatten(args[n])
                made[n] = (treedef, [self._variable(leaf, n) for leaf in leaves])
                traced_args[n] = tree_unflatten(*made[n])
            treedef, fresh = made[n]
            self.variables.extend(fresh)
            self.arg_defs.append((treedef, len(fresh)))
        with nested_transform():
            result = f(*traced_args, **kwargs)
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError(f"{name}: has_aux=True needs f to return a pair (output, aux)")
            result, self.aux = result
        else:
            self.aux = None
        leaves, self.out_def = tree_flatten(result)
        self.outputs = [leaf if type(leaf) is Tensor else Tensor(leaf) for leaf in leaves]
        if TAPE.tape is not None and not self.nested:  # a compiled plan replays this graph's forward
            aux = [leaf for leaf in tree_flatten(self.aux)[0] if type(leaf) is Tensor]
            TAPE.tape.record_graph(toposort([*self.outputs, *aux]))

    def _variable(self, leaf: Any, argnum: int) -> Tensor:
        if type(leaf) is Tensor and leaf.requires_grad:
            return identity(leaf)
        data = np.asarray(leaf.data if type(leaf) is Tensor else leaf)
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(
                f"{self.name}: cannot differentiate with respect to argument {argnum}, whose dtype "
                f"is {data.dtype}; only floating-point inputs have gradients. Pass floats "
                f"(e.g. x.astype(np.float64)) or leave this argument out of argnums"
            )
        return Tensor(data, requires_grad=True)

    def finish(self, value: Any) -> Any:
        """Arrays at the top level; Tensors (still on the graph) inside another transform."""
        if self.nested:
            return value
        return tree_map(lambda v: v.data if type(v) is Tensor else v, value)

    def per_argument(self, flat: list[Any]) -> Any:
        """Regroup per-variable results like the arguments named by argnums."""
        groups, start = [], 0
        for treedef, count in self.arg_defs:
            groups.append(tree_unflatten(treedef, flat[start : start + count]))
            start += count
        return groups[0] if isinstance(self.argnums, int) else tuple(groups)

    def output_value(self) -> Any:
        return self.finish(tree_unflatten(self.out_def, self.outputs))

    def aux_value(self) -> Any:
        return self.finish(self.aux)


def _marked(wrapped: Callable, name: str) -> Callable:
    """Mark a transform's function, so that ``mg.compile`` compiles the transform itself."""
    wrapped.__matgrad_transform__ = name
    return wrapped


def _ones_like(t: Tensor, as_tensor: bool) -> Any:
    ones = np.ones(t.shape, dtype=t.dtype)
    return Tensor(ones) if as_tensor else ones


def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f``'s value and its gradient with respect to the arguments in ``argnums``.

    ``f`` must return a scalar (or ``(scalar, aux)`` with ``has_aux``).  Returns
    ``(value, grads)`` or ``((value, aux), grads)``; ``grads`` mirrors the argument(s).
    """

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        trace = _Trace("grad", f, args, kwargs, argnums, has_aux)
        if len(trace.outputs) != 1 or trace.outputs[0].size != 1:
            shapes = [o.shape for o in trace.outputs]
            raise TypeError(
                f"grad: f must return a scalar, but it returned shape(s) {shapes}; use jacrev or "
                f"jacfwd for a Jacobian, or vjp for a vector-Jacobian product"
            )
        out = trace.outputs[0]
        if not np.issubdtype(out.dtype, np.floating):
            raise TypeError(
                f"grad: f must return a real floating-point scalar, but it returned dtype {out.dtype}"
                + ("; a complex output has no gradient (differentiate its real part)"
                   if np.issubdtype(out.dtype, np.complexfloating) else
                   " (a comparison or count, with no derivative)")
            )
        flat = grad_of([out], trace.variables, [_ones_like(out, trace.nested)], create_graph=trace.nested)
        grads = trace.per_argument([trace.finish(g) for g in flat])
        value = trace.output_value()
        return ((value, trace.aux_value()), grads) if has_aux else (value, grads)

    return _marked(wrapped, "value_and_grad")


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function (``has_aux``: also return ``f``'s auxiliary output)."""
    both = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        value, grads = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return _marked(wrapped, "grad")


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(v)`` gives ``vᵀ J`` for every primal, as a tuple.

    ``v`` has the structure and shapes of ``f``'s output.  ``vjp_fn`` may be called many times.
    """
    trace = _Trace("vjp", f, primals, {}, tuple(range(len(primals))), has_aux)

    def vjp_fn(cotangent: Any) -> tuple:
        seeds, cot_def = tree_flatten(cotangent)
        if cot_def != trace.out_def or len(seeds) != len(trace.outputs):
            raise ValueError("vjp: the cotangent must have the same structure as f's output")
        prepared = [_cotangent(out, v, trace.nested) for out, v in zip(trace.outputs, seeds)]
        flat = grad_of(trace.outputs, trace.variables, prepared, create_graph=trace.nested, retain_graph=True)
        return trace.per_argument([trace.finish(g) for g in flat])

    value = trace.output_value()
    return (value, vjp_fn, trace.aux_value()) if has_aux else (value, vjp_fn)


def _cotangent(out: Tensor, v: Any, as_tensor: bool) -> Any:
    array = taped(np.asarray, v.data if type(v) is Tensor else v, dtype=out.dtype)
    if array.shape != out.shape:
        raise ValueError(f"vjp: the cotangent has shape {array.shape} but the output has shape {out.shape}")
    if as_tensor and type(v) is Tensor:
        return v
    return Tensor(array) if as_tensor else array


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> tuple:
    """``(f(*primals), J t)``: the directional derivative along ``tangents`` (forward mode)."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    trace = _Trace("jvp", f, primals, {}, tuple(range(len(primals))), has_aux)
    flat_tangents = tree_flatten(tangents)[0]
    if len(flat_tangents) != len(trace.variables):
        raise ValueError("jvp: the tangents must have the same structure as the primals")
    prepared = []
    for var, t in zip(trace.variables, flat_tangents):
        array = taped(np.asarray, t.data if type(t) is Tensor else t, dtype=var.dtype)
        if array.shape != var.shape:
            raise ValueError(f"jvp: a tangent has shape {array.shape} but its primal has shape {var.shape}")
        prepared.append(t if trace.nested and type(t) is Tensor else Tensor(array) if trace.nested else array)
    flat = jvp_of(trace.outputs, trace.variables, prepared, create_graph=trace.nested)
    tangent_out = trace.finish(tree_unflatten(trace.out_def, flat))
    value = trace.output_value()
    return (value, tangent_out, trace.aux_value()) if has_aux else (value, tangent_out)


def _basis(shape: tuple[int, ...], dtype: Any, as_tensor: bool) -> Any:
    """The one-hot arrays of ``shape``, one per entry, in C order."""
    for k in range(int(np.prod(shape, dtype=np.int64))):
        e = np.zeros(shape, dtype=dtype)
        e.flat[k] = 1
        yield Tensor(e) if as_tensor else e


def _assemble(pieces: list[Any], shape: tuple[int, ...], dtype: Any, axis: int) -> Any:
    """Stack per-entry results and shape them as ``out.shape + in.shape``."""
    if not pieces:
        return np.zeros(shape, dtype=dtype)
    if len(pieces) == 1:  # a scalar's Jacobian is its gradient: no stack to record
        return reshape(pieces[0], shape=shape)
    return reshape(stack(pieces, axis=axis), shape=shape)


def jacrev(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """The Jacobian by reverse mode: one VJP per output entry; shape ``out.shape + in.shape``.

    At the top level the one-hot cotangents go through the graph together, in one sweep (in
    chunks), when every rule on the way keeps a leading axis; otherwise one sweep per entry.
    """

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        trace = _Trace("jacrev", f, args, kwargs, argnums, has_aux)
        per_output = []
        for out in trace.outputs:
            batched = None if trace.nested else _batched_jacobian(out, trace.variables)
            if batched is not None:
                per_output.append(trace.per_argument(batched))
                continue
            rows = [
                grad_of([out], trace.variables, [e], create_graph=trace.nested, retain_graph=True)
                for e in _basis(out.shape, out.dtype, trace.nested)
            ]
            blocks = [
                taped(_assemble, [row[j] for row in rows], out.shape + var.shape, var.dtype, axis=0)
                for j, var in enumerate(trace.variables)
            ]
            per_output.append(trace.per_argument([trace.finish(b) for b in blocks]))
        jac = tree_unflatten(trace.out_def, per_output)
        return (jac, trace.aux_value()) if has_aux else jac

    return _marked(wrapped, "jacrev")


def _batched_jacobian(out: Tensor, variables: list[Tensor]) -> list[np.ndarray] | None:
    """All rows of the Jacobian from sweeps that carry many one-hot cotangents at once (chunks
    small enough to keep every batched gradient under ``BATCHED_ELEMENTS`` entries), or None
    where the graph has a rule that cannot carry them."""
    rows = out.size
    if rows == 0:
        return None  # nothing to carry: the loop gives the empty blocks
    order = toposort([out])
    widest = max([out.size, *(v.size for v in variables), *(n.size for n in order)])
    chunk = max(1, BATCHED_ELEMENTS // max(widest, 1))
    identity = np.eye(rows, dtype=out.dtype)
    pieces: list[list[np.ndarray]] = [[] for _ in variables]
    for start in range(0, rows, chunk):
        seeds = identity[start : start + chunk].reshape((-1, *out.shape))
        found = batched_grad_of(out, variables, seeds, order)
        if found is None:
            return None
        for piece, g in zip(pieces, found):
            piece.append(g)
    return [taped(_joined_rows, p, out.shape + v.shape) for p, v in zip(pieces, variables)]


def _joined_rows(pieces: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    return np.concatenate(pieces).reshape(shape)


def jacfwd(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """The Jacobian by forward mode: one JVP per input entry; shape ``out.shape + in.shape``.

    At the top level the one-hot tangents of each input go through the graph together, in one
    sweep (in chunks) that carries a leading batch axis (:func:`matgrad.forward.batched_jvp_of`);
    inside another transform, one recorded sweep per entry.
    """

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        trace = _Trace("jacfwd", f, args, kwargs, argnums, has_aux)
        blocks = [[None] * len(trace.variables) for _ in trace.outputs]
        for j, var in enumerate(trace.variables):
            if trace.nested:
                columns = [
                    jvp_of(trace.outputs, [var], [e], create_graph=True)
                    for e in _basis(var.shape, var.dtype, as_tensor=True)
                ]
                for i, out in enumerate(trace.outputs):
                    blocks[i][j] = _assemble([col[i] for col in columns], out.shape + var.shape, out.dtype, axis=-1)
            else:
                for i, block in enumerate(_batched_columns(trace.outputs, var)):
                    blocks[i][j] = block
        jac = tree_unflatten(trace.out_def, [trace.per_argument(row) for row in blocks])
        return (jac, trace.aux_value()) if has_aux else jac

    return _marked(wrapped, "jacfwd")


def _batched_columns(outputs: list[Tensor], var: Tensor) -> list[np.ndarray]:
    """Every output's Jacobian block for ``var`` (shape ``out.shape + var.shape``) from forward
    sweeps that carry many one-hot tangents at once, in chunks that keep every batched tangent
    under ``BATCHED_TANGENT_ELEMENTS`` entries."""
    columns = var.size
    if columns == 0 or not any(out.requires_grad for out in outputs):
        return [np.zeros(out.shape + var.shape, out.dtype) for out in outputs]
    order = toposort([out for out in outputs if out.requires_grad])
    widest = max([var.size, *(n.size for n in order)])
    chunk = max(1, BATCHED_TANGENT_ELEMENTS // max(widest, 1))
    identity = np.eye(columns, dtype=var.dtype)
    pieces: list[list[np.ndarray]] = [[] for _ in outputs]
    for start in range(0, columns, chunk):
        seeds = identity[start : start + chunk]
        one_hot = len(seeds) == columns  # the whole basis in one sweep: products by it are taken apart
        found = batched_jvp_of(outputs, [var], [seeds.reshape((-1, *var.shape))], len(seeds), order, one_hot)
        for piece, t in zip(pieces, found):
            piece.append(t)
    return [taped(_joined_columns, p, out.shape + var.shape, out.dtype) for p, out in zip(pieces, outputs)]


def _joined_columns(pieces: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Chunks of ``(chunk,) + out.shape`` tangents, one per input entry, as the block
    ``out.shape + in.shape``: the stacked tangents are the Jacobian's columns, transposed."""
    rows = [p.reshape(len(p), -1) for p in pieces]
    columns = rows[0] if len(rows) == 1 else np.concatenate(rows)  # one chunk: copied once, below
    return np.array(columns.T, dtype=dtype, order="C").reshape(shape)  # a copy: a chunk may view a constant


def hvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """``(f(*primals), H t)``: the Hessian of a scalar ``f`` times the tangents, forward over reverse.

    The gradient's backward sweep is differentiated once along ``t`` (Pearlmutter's trick): the
    cost of about two gradients, never the n×n Hessian.  With several primals, ``t`` has one
    tangent per primal and ``H t`` one block row sum per primal, as in ``jvp(grad(f), …)``.
    """
    primals = tuple(primals)
    argnums: Argnums = tuple(range(len(primals))) if len(primals) > 1 else 0
    (value, _), (_, product) = jvp(value_and_grad(f, argnums), primals, tuple(tangents))
    return value, product


def hessian(f: Callable, argnums: Argnums = 0, method: str = "sweep") -> Callable:
    """Second derivatives, forward over reverse: ``jacfwd(jacrev(f))``, shape ``out.shape + in.shape * 2``.

    The gradient's backward pass is recorded once; then all one-hot tangents of the input go
    through it together, in one batched forward sweep (see :func:`jacfwd`): the cost of about
    one gradient carrying n tangents, not n sweeps.  ``method="symbolic"`` derives a closed form
    once instead (:func:`matgrad.explain.hessian.hessian_symbolic`, e.g. ``A + Aᵀ`` for ``xᵀAx``)
    and evaluates it on every call, raising ``NotCoveredError`` where the notation has no
    second-order rule; ``method="auto"`` takes the closed form where there is one and the sweep
    elsewhere.
    """
    if method not in ("sweep", "symbolic", "auto"):
        raise ValueError(f"hessian: method must be 'sweep', 'symbolic' or 'auto', got {method!r}")
    if method == "sweep":
        return jacfwd(jacrev(f, argnums), argnums)
    from .explain.hessian import NotCoveredError, hessian_symbolic  # explain builds on this module

    closed_form = hessian_symbolic(f, argnums)
    if method == "symbolic":
        return closed_form
    sweep = jacfwd(jacrev(f, argnums), argnums)
    uncovered: list[bool] = []

    @functools.wraps(f)
    def auto(*args: Any, **kwargs: Any) -> Any:
        if not uncovered:
            try:
                return closed_form(*args, **kwargs)
            except NotCoveredError:
                uncovered.append(True)  # the graph has an operation without a closed form: sweep from now on
        return sweep(*args, **kwargs)

    return auto
