"""Compiled steps: trace a function once, then replay its forward and backward as flat NumPy code.

``mg.compile(f)`` is ``mg.value_and_grad(f)`` made fast: the first call with a given signature
(the structure, shapes and dtypes of the arguments, and the values of Python scalars) runs ``f``
eagerly, recording its graph and the VJP rules that the engine's backward sweep calls, in the
order it calls them.  From that record it generates one straight-line Python function: each
forward node calls its primitive's forward (a NumPy ufunc writes into a buffer allocated once,
``out=``), each backward step calls the very rule of the primitive table that eager mode calls,
and gradients used more than once are summed in eager's order.  Same functions, same inputs, same
order: the results are bit-identical to eager mode, and every new plan is checked against the
eager results of its tracing call before it is used.  ``mg.compile_backward(f)`` does the same
for ``f(*args).backward()``, accumulating into the ``.grad`` of the leaf Tensors ``f`` used.

What the trace knows, the plan uses, without changing a number:

- the seed is a read-only array of ones made once, and a rule call whose read values (declared
  with :func:`~matgrad.primitives.core.reading`) are all constants, e.g. ``0.5 *`` the seed and
  the sum's spread of it, is done once at trace time and its result reused (read-only);
- a rule written ``unbroadcast(core(...), shape)`` (:func:`~matgrad.primitives.core.summed`)
  whose core already gives the input's shape calls the core alone; a core that passes ``g`` on
  costs no line at all;
- a forward that takes ``out=`` (ufuncs, the sigmoid) writes into a buffer allocated once;
- the result, or the delivery into each leaf's ``.grad`` (the array itself into an empty slot
  when nothing else holds it, else a copy, as eager mode does), is generated into the plan.

What is frozen at trace time, as with ``jax.jit``:

- Python control flow and everything computed outside matgrad operations: data must be passed
  as arguments and reach the loss through matgrad operations (an argument that no recorded
  operation reads, e.g. integer labels one-hot encoded with NumPy inside ``f``, is an error);
- arrays captured from outside (closures, globals) are baked in by reference; leaf Tensors
  (a model's parameters) are read afresh at every call, so in-place optimizer updates are seen;
- random draws inside ``f`` (dropout masks) are replayed, not redrawn: do not compile them.

Results never alias the plan's buffers: the loss, auxiliary outputs and gradients are fresh
arrays on every call, so values a caller holds are never overwritten by a later call.
"""

from __future__ import annotations

import functools
import keyword
from collections.abc import Callable
from typing import Any

import numpy as np

from .primitives.core import passes
from .pytree import TreeDef, tree_flatten, tree_map, tree_unflatten
from .reverse import backward, grad_of, toposort
from .state import STATE
from .tensor import Tensor
from .transforms import Argnums, _Trace, value_and_grad

_STATIC = (bool, int, float, complex, str, type(None), np.generic)
_MAX_PLANS = 8  # distinct signatures kept per function (e.g. full batches and the last one)


class CompileError(TypeError):
    """``f`` cannot be replayed faithfully from a trace (it is then run eagerly, e.g. by ``fit``)."""


def compile(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> CompiledFunction:  # noqa: A001
    """A compiled ``mg.value_and_grad(f, argnums, has_aux)``: same results, bit for bit, faster.

    ``f`` returns a scalar Tensor (or ``(scalar, aux)`` with ``has_aux``, aux a pytree of Tensors
    computed by ``f``).  The result is ``(value, grads)`` or ``((value, aux), grads)`` as NumPy
    arrays.  Calls inside another transform, on Tensors that require grad, or under
    ``detect_anomaly()`` run eagerly.
    """
    return CompiledFunction(f, argnums, has_aux, backward_mode=False)


def compile_backward(f: Callable, has_aux: bool = False) -> CompiledFunction:
    """A compiled ``f(*args).backward()``: returns the loss value (and aux) as NumPy arrays and
    adds the gradients into ``.grad`` of every leaf Tensor that requires grad, as eager mode does.
    """
    return CompiledFunction(f, (), has_aux, backward_mode=True)


class CompiledFunction:
    """``f`` with one cached plan per signature; ``traces`` counts the (re)traces."""

    def __init__(self, f: Callable, argnums: Argnums, has_aux: bool, backward_mode: bool) -> None:
        functools.update_wrapper(self, f)
        self.f, self.argnums, self.has_aux, self.backward_mode = f, argnums, has_aux, backward_mode
        self.plans: dict[Any, Plan] = {}
        self.traces = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        signature = None if kwargs else _array_signature(args)
        if signature is None:
            leaves: list[Any] = []
            key: Any = []
            _flatten_signature((args, kwargs), leaves, key)
            key = tuple(key)
            if _needs_graph(leaves, self.backward_mode):
                return self._eager(args, kwargs)
        else:
            leaves, key = signature
        if STATE.anomaly or STATE.transform_depth:
            return self._eager(args, kwargs)
        plan = self.plans.get(key)
        if plan is None:
            return self._trace(key, args, kwargs, leaves)
        return plan.function(leaves)

    def _eager(self, args: tuple, kwargs: dict) -> Any:
        if self.backward_mode:
            return _backward_eagerly(self.f, args, kwargs, self.has_aux)
        return value_and_grad(self.f, self.argnums, self.has_aux)(*args, **kwargs)

    def _trace(self, key: Any, args: tuple, kwargs: dict, leaves: list) -> Any:
        trace = _BackwardTrace(self, args, kwargs) if self.backward_mode else _GradTrace(self, args, kwargs)
        result = trace.result
        plan = Plan(trace, leaves)
        if len(self.plans) >= _MAX_PLANS:
            del self.plans[next(iter(self.plans))]
        self.plans[key] = plan
        self.traces += 1
        return result


def _needs_graph(leaves: list, backward_mode: bool) -> bool:
    """Tensors that require grad as arguments: value_and_grad must keep their graph (nested use)."""
    return not backward_mode and any(type(x) is Tensor and x.requires_grad for x in leaves)


_ARRAYS = object()  # marks the keys of _array_signature, which never equal _flatten_signature's


def _array_signature(args: tuple) -> tuple[list, tuple] | None:
    """``_flatten_signature`` for the common call, arguments that are arrays or flat lists and
    tuples of arrays: the same leaves, a key of their shapes and dtypes; None for anything else."""
    leaves: list[Any] = []
    key: list[Any] = [_ARRAYS]
    for arg in args:
        kind = type(arg)
        if kind is np.ndarray:
            leaves.append(arg)
            key += (arg.shape, arg.dtype)
        elif kind is list or kind is tuple:
            key.append((kind, len(arg)))
            for item in arg:
                if type(item) is not np.ndarray:
                    return None
                leaves.append(item)
                key += (item.shape, item.dtype)
        else:
            return None
    return leaves, tuple(key)


def _flatten_signature(tree: Any, leaves: list, key: list) -> None:
    """The leaves of ``tree`` (in ``tree_flatten``'s order) and what a plan is specialized to:
    the structure, array shapes and dtypes, and scalar values.  One pass, on the hot path."""
    kind = type(tree)
    if kind is np.ndarray:
        leaves.append(tree)
        key.append((kind, tree.shape, tree.dtype))
    elif kind is Tensor:
        leaves.append(tree)
        key.append((kind, tree.shape, tree.dtype, tree.requires_grad))
    elif kind is list or kind is tuple:
        key.append((kind, len(tree)))
        for item in tree:
            _flatten_signature(item, leaves, key)
    elif isinstance(tree, dict):
        key.append((kind, tuple(tree)))
        for item in tree.values():
            _flatten_signature(item, leaves, key)
    elif isinstance(tree, tuple):  # a namedtuple
        key.append((kind, len(tree)))
        for item in tree:
            _flatten_signature(item, leaves, key)
    elif isinstance(tree, _STATIC):
        leaves.append(tree)
        key.append((kind, tree))
    else:
        raise CompileError(
            f"compile: cannot take an argument of type {kind.__name__}; pass NumPy arrays, Tensors, "
            f"Python scalars (static: a new value re-traces) or lists, tuples and dicts of them"
        )


def _backward_eagerly(f: Callable, args: tuple, kwargs: dict, has_aux: bool) -> Any:
    result = f(*args, **kwargs)
    loss, aux = _split_aux(result, has_aux)
    _check_scalar(loss)
    loss.backward()
    value = loss.data
    return (value, _aux_arrays(aux)) if has_aux else value


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


def _aux_arrays(aux: Any) -> Any:
    return tree_map(lambda leaf: leaf.data if type(leaf) is Tensor else leaf, aux)


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
            core = getattr(rule, "core", None)
            # the shape of the core's result (does unbroadcast sum anything?) and, for a rule that
            # declares what it reads, its result, in case those reads are all constants (g, and
            # scalars: an array that is read is never a constant)
            core_shape = None if core is None else np.shape(args[0] if core is passes else core(*args, **params))
            reads = getattr(rule, "reads", ())
            kept = result if reads and all(i == 0 or _is_scalar(args[i]) for i in reads) else None
            self.log.append((self.node, argnum, rule, core_shape, kept))
            return result

        return logged


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

    def __init__(self, owner: CompiledFunction, args: tuple, kwargs: dict) -> None:
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

    def __init__(self, owner: CompiledFunction, args: tuple, kwargs: dict) -> None:
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
            leaf.grad = old if leaf.grad is None else leaf.grad if old is None else old + leaf.grad
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


class Plan:
    """One signature's generated function, and how to package its results."""

    def __init__(self, trace: _GradTrace | _BackwardTrace, leaves: list) -> None:
        generator = _Generator(trace, leaves)
        # an output that is a view of a buffer or a constant is copied out, so that later calls
        # cannot change it
        aliased = self._verify(leaves, trace.outputs, generator.compile(), generator.buffers)
        self.function = generator.compile(copied=aliased, final=True)  # plan(leaves) -> the result
        self.source = generator.text  # the generated code, for reading (the trace itself is not kept)

    def run(self, leaves: list) -> Any:
        return self.function(leaves)

    def _verify(self, leaves: list, expected: list, function: Callable, buffers: list[np.ndarray]) -> set[int]:
        """Check the plan reproduces the tracing call bit for bit; return the outputs that alias buffers."""
        value, grads, aux = function(leaves)
        got = [value, *grads, *aux]
        for have, want in zip(got, expected):
            have, want = np.asarray(have), np.asarray(want)
            if have.dtype != want.dtype or not np.array_equal(have, want, equal_nan=True):
                raise CompileError(
                    "compile: the replayed plan differs from the eager run; f probably depends on "
                    "something other than its arguments and leaf Tensors (random draws, global state)"
                )
        return {i for i, out in enumerate(got) if any(np.may_share_memory(out, b) for b in buffers)}


class _Generator:
    """Writes the plan's source: one line per forward node, per VJP rule call, per sum."""

    def __init__(self, trace: _GradTrace | _BackwardTrace, leaves: list) -> None:
        self.trace = trace
        self.env: dict[str, Any] = {"asarray": np.asarray, "zeros": np.zeros}
        self.names: dict[int, str] = {}  # id of a Tensor or constant -> its expression
        self.lines: list[str] = []
        self.buffers: list[np.ndarray] = []  # arrays the plan reuses across calls: buffers, constants
        self.constants: dict[str, Any] = {}  # expressions whose value is fixed at trace time
        self.inputs_used: set[int] = set()
        self.leaves = leaves
        self.arg_by_id: dict[int, int] = {}
        self._bind_arguments(leaves)
        self.outputs = self._body()

    def compile(self, copied: set[int] = frozenset(), final: bool = False) -> Callable:
        """The plan as a Python function: ``plan(leaves) -> (value, grads, aux)``, or with ``final``
        ``plan(leaves) ->`` what the compiled function returns (gradients into ``.grad`` for
        ``compile_backward``).  Outputs numbered in ``copied`` are copied out of shared memory."""
        outputs = [f"{out}.copy()" if i in copied else out for i, out in enumerate(self.outputs)]
        count = len(self.trace.targets)
        value, grads, aux = outputs[0], outputs[1 : 1 + count], outputs[1 + count :]
        if not final:
            tail = [f"return {value}, [{', '.join(grads)}], [{', '.join(aux)}]"]
        elif isinstance(self.trace, _GradTrace):
            tail = [f"return {self._result(value, grads, aux)}"]
        else:
            tail = [*self._deliver(grads), f"return {self._result(value, grads, aux)}"]
        body = [*self.lines, *tail]
        self.text = "def plan(leaves):\n" + "".join(f"    {line}\n" for line in body)
        namespace = dict(self.env)
        exec(self.text, namespace)  # generated from the recorded graph; no user text in it
        return namespace["plan"]

    def _result(self, value: str, grads: list[str], aux: list[str]) -> str:
        """The expression of what the compiled function returns (``finish`` of the trace, as code)."""
        trace = self.trace
        head = f"({value}, {self._pack(trace.aux_def, iter(aux))})" if trace.has_aux else value
        if not isinstance(trace, _GradTrace):
            return head
        names = iter(grads)
        groups = [self._pack(treedef, names) for treedef, _ in trace.arg_defs]
        return f"({head}, {groups[0] if trace.single else self._pack_tuple(groups)})"

    def _pack(self, treedef: TreeDef, names: Any) -> str:
        """``tree_unflatten(treedef, names)`` as an expression."""
        if treedef is None:
            return next(names)
        kind, keys, children = treedef
        parts = [self._pack(child, names) for child in children]
        if keys is not None:
            return f"{self.bind('kind', kind)}(zip({self.bind('keys', keys)}, {self._pack_tuple(parts)}))"
        if kind is list:
            return f"[{', '.join(parts)}]"
        if kind is tuple:
            return self._pack_tuple(parts)
        return f"{self.bind('kind', kind)}({', '.join(parts)})"  # a namedtuple

    @staticmethod
    def _pack_tuple(parts: list[str]) -> str:
        return f"({''.join(f'{part}, ' for part in parts)})"

    def _deliver(self, grads: list[str]) -> list[str]:
        """Lines adding each gradient into its leaf's ``.grad`` as eager mode does: the array itself
        into an empty slot when no one else holds it, else a copy; a sum into a full slot."""
        lines: list[str] = []
        delivered: list[tuple[str, tuple]] = []
        for k, (leaf, expr) in enumerate(zip(self.trace.targets, grads)):
            name, g = self.bind("leaf", leaf), f"r{k}"
            lines.append(f"{g} = {expr}")  # of the leaf's dtype: the plan was verified against eager
            # an array held by no one else: not a view, not read-only (constants are), not given to
            # an earlier leaf (only one of the same shape and dtype can be the same array)
            fresh = [f"{g}.base is None", f"{g}.flags.writeable"]
            kind = (leaf.shape, leaf.dtype)
            fresh += [f"{g} is not {other}" for other, other_kind in delivered if other_kind == kind]
            delivered.append((g, kind))
            lines += [
                f"if {name}.grad is None:",
                f"    {name}.grad = {g} if {' and '.join(fresh)} else {g}.copy()",
                "else:",
                f"    {name}.grad = {name}.grad + {g}",
            ]
        return lines

    def bind(self, prefix: str, obj: Any) -> str:
        name = f"{prefix}{len(self.env)}"
        self.env[name] = obj
        return name

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def _bind_arguments(self, leaves: list) -> None:
        differentiated = set(self.trace.leaf_offsets)
        for position, leaf in enumerate(leaves):
            if type(leaf) is Tensor or type(leaf) is np.ndarray or position in differentiated:
                raw = leaf.data if type(leaf) is Tensor else leaf
                if id(raw) in self.arg_by_id:
                    raise CompileError(
                        f"compile: argument leaves {self.arg_by_id[id(raw)]} and {position} are the same array, "
                        f"so the trace cannot tell which one f reads; pass a copy as one of them"
                    )
                self.arg_by_id[id(raw)] = position
                fetch = f"asarray(leaves[{position}].data)" if type(leaf) is Tensor else f"leaves[{position}]"
                if position in differentiated and type(leaf) is not np.ndarray:
                    fetch = f"asarray({fetch})"
                self.emit(f"a{position} = {fetch}")
        for variable, position in zip(self.trace.variables, self.trace.leaf_offsets):
            self.names[id(variable)] = f"a{position}"
            self.inputs_used.add(position)

    def ref(self, x: Any) -> str:
        """The expression for a node's input: a node value, an argument, a leaf's data, a constant."""
        name = self.names.get(id(x))
        if name is not None:
            return name
        raw = x.data if type(x) is Tensor else x
        if isinstance(raw, np.ndarray) and id(raw) in self.arg_by_id:
            position = self.arg_by_id[id(raw)]
            self.inputs_used.add(position)
            name = f"a{position}"
        elif type(x) is Tensor:  # a leaf read afresh each call: optimizers update .data in place
            name = self.bind("leaf", x)
            self.emit(f"{name}_data = {name}.data")
            name = f"{name}_data"
        else:
            name = self.bind("c", x)  # a captured constant, baked in by reference
            if _is_scalar(x):  # immutable: its value is known
                self.constants[name] = x
        self.names[id(x)] = name
        return name

    def _body(self) -> list[str]:
        """Emit the forward and backward lines; return the expressions of value, grads and aux."""
        trace = self.trace
        exported = {id(trace.root), *(id(node) for node in trace.aux_nodes)}
        for k, node in enumerate(reversed(trace.nodes)):  # toposort lists users first
            if node._prim is not None and id(node) not in self.names:
                self._forward(node, f"v{k}", id(node) in exported)
        self._check_arguments_used()
        self._backward()
        return [self.ref(trace.root), *(self._gradient(t) for t in trace.targets), *map(self._aux, trace.aux_nodes)]

    def _aux(self, node: Tensor) -> str:
        name = self.ref(node)
        if node._prim is None and not name.startswith("a"):
            raise CompileError(
                "compile: an aux Tensor is not computed from the arguments by recorded operations; "
                "a plan would return its first value forever"
            )
        return name

    def _forward(self, node: Tensor, name: str, exported: bool) -> None:
        prim = node._prim
        args = ", ".join(self.ref(p) for p in node._parents)
        forward = self.bind(f"{_identifier(prim.name)}_", prim.forward)
        takes_out = (isinstance(prim.forward, np.ufunc) and prim.forward.nout == 1) or (
            getattr(prim.forward, "takes_out", False) and type(node.data) is np.ndarray and node.data.ndim > 0
        )
        if takes_out and not node._params and not exported:
            self.buffers.append(np.empty_like(node.data))  # written in place at every call
            buffer = self.bind("buf", self.buffers[-1])
            self.emit(f"{name} = {forward}({args}, out={buffer})")
        else:
            call = f"{forward}({args}{self._keywords(node._params)})"
            # a 0-d result of NumPy is a scalar; eager mode stores it as an array
            self.emit(f"{name} = asarray({call})" if node.data.ndim == 0 else f"{name} = {call}")
        self.names[id(node)] = name

    def _keywords(self, params: dict) -> str:
        return "".join(f", {key}={self.bind('p', value)}" for key, value in params.items())

    def _check_arguments_used(self) -> None:
        for position, leaf in enumerate(self.leaves):
            if type(leaf) in (np.ndarray, Tensor) and position not in self.inputs_used:
                shape = leaf.shape
                raise CompileError(
                    f"compile: argument leaf {position} (shape {shape}, {leaf.dtype}) is not read by any "
                    f"recorded operation: it is unused, or f converted it with NumPy (e.g. one-hot "
                    f"labels, np.asarray to another dtype) and a plan would freeze the result. Pass "
                    f"it in the form the matgrad operations take (e.g. one-hot float targets)"
                )

    def _backward(self) -> None:
        """One line per rule call of the logged sweep, specialized on what the trace knows.

        A call whose read values are all constants (the seed, Python scalars, earlier such
        results) is done once: its traced result becomes a read-only constant.  A rule that is
        ``unbroadcast(core(...))`` whose core already gives the input's shape calls the core alone.
        """
        root = self.trace.root
        seed = self._constant(np.ones(root.shape, dtype=root.dtype))
        self.grad_names: dict[int, str] = {id(root): self.bind("seed", seed)}
        self.constants[self.grad_names[id(root)]] = seed
        owner: dict[str, int] = {}  # local name -> the node whose gradient alone it holds (summed into)
        for node, argnum, rule, core_shape, traced in self.trace.log:
            parent = node._parents[argnum]
            refs = [self.grad_names[id(node)], self.ref(node), *(self.ref(p) for p in node._parents)]
            reads = getattr(rule, "reads", None)
            value = None
            if traced is not None and all(refs[i] in self.constants for i in reads):
                value = self._constant(traced)
                call = self.bind("k", value)
                self.constants[call] = value
            elif core_shape is not None and core_shape == parent.shape:
                core = rule.core
                call = refs[0] if core is passes else self._call(self.bind("core", core), refs, node._params)
            else:
                call = self._call(self.bind("vjp", rule), refs, node._params)
            target = self.grad_names.get(id(parent))
            if target is None and (value is not None or call == refs[0]):
                self.grad_names[id(parent)] = call  # a constant or g passed on: no line needed
                continue
            name = target if target is not None and owner.get(target) == id(parent) else f"g{len(owner)}"
            owner[name] = id(parent)
            self.grad_names[id(parent)] = name
            # a node used more than once: summed in the order eager mode sums
            self.emit(f"{name} = {call}" if target is None else f"{name} = {target} + {call}")

    def _call(self, function: str, refs: list[str], params: dict) -> str:
        return f"{function}({', '.join(refs)}{self._keywords(params)})"

    def _constant(self, value: Any) -> Any:
        """A value the plan reuses at every call: an array is copied and made read-only."""
        if type(value) is np.ndarray:
            value = value.copy()
            value.flags.writeable = False
            self.buffers.append(value)
        return value

    def _gradient(self, target: Tensor) -> str:
        name = self.grad_names.get(id(target))
        if name is None:  # f does not depend on this input: zeros, as value_and_grad gives
            return f"zeros({self.bind('shape', target.shape)}, {self.bind('dtype', target.dtype)})"
        return name


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name)
    return cleaned + "_" if keyword.iskeyword(cleaned) else cleaned
