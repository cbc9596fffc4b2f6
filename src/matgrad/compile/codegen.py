"""A plan: straight-line Python generated from a trace, checked bit for bit against it."""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

import numpy as np

from ..primitives.core import passes
from ..pytree import TreeDef
from ..tensor import Tensor
from .trace import CompileError, _BackwardTrace, _GradTrace, _is_scalar


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
            # of the leaf's dtype (the plan was verified against eager); a 0-d one may be a NumPy scalar
            lines.append(f"{g} = asarray({expr})" if leaf.ndim == 0 else f"{g} = {expr}")
            # an array held by no one else: not a view, not read-only (constants are), not given to
            # an earlier leaf (only one of the same shape and dtype can be the same array)
            fresh = [f"{g}.base is None", f"{g}.flags.writeable"]
            kind = (leaf.shape, leaf.dtype)
            fresh += [f"{g} is not {other}" for other, other_kind in delivered if other_kind == kind]
            delivered.append((g, kind))
            total = f"{name}.grad + {g}"
            lines += [
                f"if {name}.grad is None:",
                f"    {name}.grad = {g} if {' and '.join(fresh)} else {g}.copy()",
                "else:",  # NumPy gives a 0-d sum as a scalar; .grad stays an array, as in eager mode
                f"    {name}.grad = {f'asarray({total})' if leaf.ndim == 0 else total}",
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
        ``unbroadcast(core(...))`` calls the core alone where it already gives the input's shape,
        else the core and then the sum ``unbroadcast`` picks for these shapes (``summing``).
        """
        root = self.trace.root
        seed = self._constant(np.ones(root.shape, dtype=root.dtype))
        self.grad_names: dict[int, str] = {id(root): self.bind("seed", seed)}
        self.constants[self.grad_names[id(root)]] = seed
        owner: dict[str, int] = {}  # local name -> the node whose gradient alone it holds (summed into)
        for node, argnum, rule, core_shape, core_sum, traced in self.trace.log:
            parent = node._parents[argnum]
            refs = [self.grad_names[id(node)], self.ref(node), *(self.ref(p) for p in node._parents)]
            reads = getattr(rule, "reads", None)
            value = None
            if traced is not None and all(refs[i] in self.constants for i in reads):
                value = self._constant(traced)
                call = self.bind("k", value)
                self.constants[call] = value
            elif core_shape is not None and (core_shape == parent.shape or core_sum is not None):
                core = rule.core
                call = refs[0] if core is passes else self._call(self.bind("core", core), refs, node._params)
                if core_sum is not None:  # the sum unbroadcast would choose for these shapes, called directly
                    call = f"{self.bind('sum', core_sum)}({call})"
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
