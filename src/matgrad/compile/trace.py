"""Tracing a step: the graph, and the VJP rules the engine's own sweep calls, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..primitives.core import passes, summing
from ..pytree import TreeDef, tree_flatten, tree_unflatten
from ..reverse import added, backward, grad_of, toposort
from ..tensor import Tensor
from ..transforms import Argnums, _Trace

_STATIC = (bool, int, float, complex, str, type(None), np.generic)


class CompileError(TypeError):
    """``f`` cannot be replayed faithfully from a trace (it is then run eagerly, e.g. by ``fit``)."""


def _split_aux(result: Any, has_aux: bool) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("compile: has_aux=True needs f to return a pair (loss, aux)")
    return result


def _check_scalar(loss: Any) -> None:
    if type(loss) is not Tensor or loss.size != 1:
        got = f"a Tensor of shape {loss.shape}" if type(loss) is Tensor else type(loss).__name__
        raise TypeError(f"compile: f must return a scalar Tensor (the loss), got {got}")


class _Recorder:
    """Stands in for a node's primitive during the tracing sweep and logs each rule it hands out."""

    __slots__ = ("_prim", "log", "node")

    def __init__(self, prim: Any, node: Tensor, log: list) -> None:
        self._prim, self.node, self.log = prim, node, log

    @property
    def name(self) -> str:
        return self._prim.name

    @property
    def vjp(self) -> _Recorder:
        return self

    def __getitem__(self, argnum: int) -> Any:
        rule = self._prim.vjp[argnum]
        if rule is None:
            return None

        def logged(*args: Any, **params: Any) -> Any:
            result = rule(*args, **params)
            # for a rule unbroadcast(core(...)): the core's shape (does unbroadcast sum anything?)
            # and the sum it then does; for a rule that declares what it reads, its result, in
            # case those reads are all constants (g, and scalars: an array read is never constant)
            core_shape, core_sum = _core_sum(rule, argnum, args, params)
            reads = getattr(rule, "reads", ())
            kept = result if reads and all(i == 0 or _is_scalar(args[i]) for i in reads) else None
            self.log.append((self.node, argnum, rule, core_shape, core_sum, kept))
            return result

        return logged


def _core_sum(rule: Any, argnum: int, args: tuple, params: dict) -> tuple[tuple[int, ...] | None, Any]:
    """For a rule ``unbroadcast(core(g, out, *inputs), shape)``: the shape of the core's result,
    and the function that sums it to the input's shape (None where nothing is summed)."""
    core = getattr(rule, "core", None)
    if core is None:
        return None, None
    value = args[0] if core is passes else core(*args, **params)
    shape, target = np.shape(value), np.shape(args[2 + argnum])  # args: g, out, *inputs
    if type(value) is not np.ndarray or shape == target:
        return shape, None
    return shape, summing(shape, target, value.dtype)


def _is_scalar(x: Any) -> bool:
    """An immutable constant whose value a plan may rely on: a Python or NumPy scalar."""
    return isinstance(x, _STATIC) and not isinstance(x, str)


def _sweep_logged(nodes: list[Tensor], sweep: Callable[[], Any]) -> tuple[Any, list]:
    """Run the engine's own backward ``sweep`` and log its rule calls, in order."""
    log: list = []
    recorded = [(node, node._prim) for node in nodes if node._prim is not None]
    for node, prim in recorded:
        node._prim = _Recorder(prim, node, log)
    try:
        result = sweep()
    finally:
        for node, prim in recorded:
            node._prim = prim
    return result, log


class _Traced:
    """What a tracing call leaves for the generator: the graph, the logged sweep, the results."""

    root: Tensor
    aux_nodes: list[Tensor]
    aux_def: TreeDef
    nodes: list[Tensor]
    log: list
    targets: list[Tensor]  # whose gradients the plan returns, in order
    variables: list[Tensor]  # the fresh leaves standing for differentiated arguments
    leaf_offsets: list[int]  # their positions among the flattened argument leaves
    outputs: list[Any]  # value, gradients, aux of the tracing call: the plan must reproduce them
    result: Any  # what the tracing call returns to the caller

    def _graph(self, loss: Any, aux: Any, has_aux: bool) -> None:
        _check_scalar(loss)
        if loss._prim is None:
            raise CompileError("compile: the loss is not computed from anything that requires grad")
        self.root = loss
        self.aux_nodes, self.aux_def = tree_flatten(aux) if has_aux else ([], None)
        for leaf in self.aux_nodes:
            if type(leaf) is not Tensor:
                raise CompileError(
                    f"compile: aux must hold Tensors computed by f, got {type(leaf).__name__}; a value "
                    f"computed outside matgrad operations would be frozen at its first value"
                )
        self.nodes = toposort([loss, *self.aux_nodes])


class _GradTrace(_Traced):
    """The tracing call of ``compile``: ``value_and_grad`` run eagerly, its sweep logged."""

    def __init__(self, owner: Any, args: tuple, kwargs: dict) -> None:
        trace = _Trace("compile", owner.f, args, kwargs, owner.argnums, owner.has_aux)
        if len(trace.outputs) != 1:
            raise TypeError("compile: f must return a scalar Tensor (the loss), got several outputs")
        self._graph(trace.outputs[0], trace.aux, owner.has_aux)
        self.variables = self.targets = trace.variables
        self.leaf_offsets = _leaf_offsets(args, owner.argnums)
        self.arg_defs, self.single = trace.arg_defs, isinstance(owner.argnums, int)
        self.has_aux = owner.has_aux
        seed = np.ones(self.root.shape, dtype=self.root.dtype)
        grads, self.log = _sweep_logged(
            self.nodes, lambda: grad_of([self.root], self.variables, [seed], retain_graph=True)
        )
        aux = [leaf.data for leaf in self.aux_nodes]
        self.outputs = [self.root.data, *grads, *aux]
        self.result = self.finish(self.root.data, grads, aux)

    def finish(self, value: Any, grads: list, aux: list) -> Any:
        groups, start = [], 0
        for treedef, count in self.arg_defs:
            groups.append(tree_unflatten(treedef, grads[start : start + count]))
            start += count
        grouped = groups[0] if self.single else tuple(groups)
        return ((value, tree_unflatten(self.aux_def, aux)), grouped) if self.has_aux else (value, grouped)


def _leaf_offsets(args: tuple, argnums: Argnums) -> list[int]:
    """Positions, among all flattened argument leaves, of the leaves of the differentiated arguments."""
    numbers = [n % len(args) for n in ((argnums,) if isinstance(argnums, int) else argnums)]
    counts = [len(tree_flatten(a)[0]) for a in args]
    return [sum(counts[:n]) + j for n in numbers for j in range(counts[n])]


class _BackwardTrace(_Traced):
    """The tracing call of ``compile_backward``: ``f(*args).backward()`` run eagerly, logged."""

    def __init__(self, owner: Any, args: tuple, kwargs: dict) -> None:
        loss, aux = _split_aux(owner.f(*args, **kwargs), owner.has_aux)
        self._graph(loss, aux, owner.has_aux)
        self.variables, self.leaf_offsets, self.has_aux = [], [], owner.has_aux
        leaves = [node for node in self.nodes if node._prim is None and node.requires_grad]
        # Sweep into empty .grad slots to see exactly what each leaf receives, then add as eager does.
        before = [leaf.grad for leaf in leaves]
        for leaf in leaves:
            leaf.grad = None
        _, self.log = _sweep_logged(self.nodes, lambda: backward(loss, retain_graph=True))
        received = {id(leaf): leaf.grad for leaf in leaves}
        for leaf, old in zip(leaves, before):
            leaf.grad = old if leaf.grad is None else added(old, leaf.grad)
        self.targets = _reached_leaves(self.log)
        aux_values = [leaf.data for leaf in self.aux_nodes]
        self.outputs = [loss.data, *(received[id(leaf)] for leaf in self.targets), *aux_values]
        self.result = (loss.data, tree_unflatten(self.aux_def, aux_values)) if self.has_aux else loss.data


def _reached_leaves(log: list) -> list[Tensor]:
    """The leaves that received a gradient, each once, in order of arrival."""
    leaves: dict[int, Tensor] = {}
    for node, argnum, *_ in log:
        parent = node._parents[argnum]
        if parent._prim is None:
            leaves.setdefault(id(parent), parent)
    return list(leaves.values())


