"""Compiled transforms: ``mg.compile(mg.hessian(f))`` and any function that calls transforms.

``mg.compile(mg.grad(f))``, ``jacrev``, ``jacfwd``, ``hessian`` and ``per_example_grad`` (and, with
``transform=True``, any function whose top level calls transforms, e.g. ``hvp``) are compiled by
one traced call: the transform runs eagerly while a *tape* is plugged into the engine
(:data:`matgrad.reverse.TAPE`).  The tape logs two kinds of step, in the order they happen:

- the forward computation of every node of each traced graph (the function's own operations
  and, for nested transforms, the recorded backward pass), as ``prim.forward(*inputs, **params)``;
- every array-level step of the sweeps that follow: each rule call (one cotangent or tangent, or
  a batch of them), each sum of two gradients, each assembly of Jacobian rows or columns.

The plan is that log as straight-line Python: the same functions called on the same values in
the same order, so its results are bit-identical to eager mode.  An array the log did not produce
is a constant of the plan (a closed-over weight, a one-hot seed).  Two checks guard that: the plan
must reproduce the tracing call bit for bit, and then a call on perturbed arguments, eager against
plan, bit for bit too.  An array computed outside the logged steps from the arguments (a mask that
a nested derivative takes from the values, NumPy work on an argument) fails the second check; that
signature then runs eagerly for good, and ``fallbacks`` says why.
"""

from __future__ import annotations

import dis
import functools
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..pytree import tree_flatten, tree_map, tree_unflatten
from ..reverse import TAPE, added_gradients
from ..state import STATE
from ..tensor import Tensor
from .trace import CompileError

_MAX_PLANS = 8  # distinct signatures kept per function, as mg.compile keeps
_ARRAYS = "arrays only"  # heads the signature of a call whose arguments are all NumPy arrays
_UNTRACED = object()  # a signature with no plan yet (None: one that runs eagerly)


def _arrays_signature(args: tuple) -> tuple | None:
    """The signature of the common call, every argument a NumPy array: their shapes and dtypes."""
    key: list[Any] = [_ARRAYS]
    for a in args:
        if type(a) is not np.ndarray:
            return None
        key += (a.shape, a.dtype)
    return tuple(key)


def is_transform(f: Callable) -> bool:
    """Whether ``f`` was made by a matgrad transform (``grad``, ``jacrev``, ``hessian``, …)."""
    return getattr(f, "__matgrad_transform__", None) is not None


class CompiledTransform:
    """``f`` (a transform, or a function calling transforms) with one plan per signature.

    ``traces`` counts the traced calls; ``fallbacks`` maps a signature that could not be
    compiled to the reason, and such calls run eagerly.
    """

    def __init__(self, f: Callable) -> None:
        functools.update_wrapper(self, f)
        self.f = f
        self.plans: dict[Any, Callable | None] = {}
        self.fallbacks: dict[Any, str] = {}
        self.traces = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if STATE.anomaly or STATE.transform_depth or TAPE.tape is not None:  # anomaly checks, or inside
            return self.f(*args, **kwargs)  # another compiled transform's trace, whose tape logs these steps
        signature = None if kwargs else _arrays_signature(args)
        leaves: Any = args
        if signature is None:
            from . import _flatten_signature  # the package imports this module

            leaves, key = [], []
            _flatten_signature((args, kwargs), leaves, key)
            if any(type(x) is Tensor and x.requires_grad for x in leaves):
                return self.f(*args, **kwargs)  # a graph to keep: eager mode
            signature = tuple(key)
        plan = self.plans.get(signature, _UNTRACED)
        if plan is _UNTRACED:
            return self._trace(signature, args, kwargs, list(leaves))
        if plan is None:
            return self.f(*args, **kwargs)
        outputs, treedef = plan(leaves)
        return tree_unflatten(treedef, outputs)

    def _trace(self, signature: Any, args: tuple, kwargs: dict, leaves: list) -> Any:
        self.traces += 1
        tape = _Tape()
        TAPE.tape = tape
        try:
            result = self.f(*args, **kwargs)
        finally:
            TAPE.tape = None
        if len(self.plans) >= _MAX_PLANS:
            del self.plans[next(iter(self.plans))]
        try:
            plan = _checked_plan(tape, leaves, result, lambda a, k: self.f(*a, **k), args, kwargs)
        except CompileError as error:
            self.plans[signature] = None
            self.fallbacks[signature] = str(error)
            return result
        self.plans[signature] = plan
        return result


def _checked_plan(tape: _Tape, leaves: list, result: Any, eager: Callable, args: tuple, kwargs: dict) -> Callable:
    """The plan of ``tape``, checked against the traced ``result`` and then, eager against plan, on
    arguments moved a little and on arguments whose entries are shuffled (which moves the kinks a
    mask of ``relu``, ``abs`` or ``max`` depends on)."""
    outputs, treedef = tree_flatten(result)
    writer = _Writer(tape, leaves, outputs)
    function = writer.compile()
    _same(function(leaves), outputs, "the replayed plan differs from the eager run")
    for move, required in ((_nudged, True), (_shuffled, False)):
        _check_moved(function, eager, args, kwargs, move, required)

    def plan(values: list) -> tuple[list, Any]:
        return function(values), treedef

    plan.text = writer.text  # type: ignore[attr-defined]  # the generated source, for reading and profiling
    return plan


def _check_moved(
    function: Callable, eager: Callable, args: tuple, kwargs: dict, move: Callable, required: bool
) -> None:
    """Eager and plan, bit for bit, on moved arguments.  Where eager mode refuses the moved values
    (a matrix no longer positive definite), the check is ``required`` or skipped."""
    from . import _flatten_signature  # the package imports this module

    rng = np.random.default_rng(12345)
    moved_args, moved_kwargs = tree_map(lambda x: move(x, rng), (args, kwargs))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = tree_flatten(eager(moved_args, moved_kwargs))[0]
        except Exception as error:  # any refusal of the moved values by f itself
            if required:
                why = f"compile: f failed on slightly moved arguments ({error}); it runs eagerly"
                raise CompileError(why) from error
            return
        moved_leaves: list[Any] = []
        _flatten_signature((moved_args, moved_kwargs), moved_leaves, [])
        got = function(moved_leaves)
    _same(
        got,
        want,
        "on other argument values the plan differs from eager mode: the function computes something from "
        "its arguments outside the steps a plan replays (NumPy work on an argument, a mask of a nested "
        "derivative such as relu's), so it runs eagerly",
    )


def _same(got: list, want: list, why: str) -> None:
    if len(got) != len(want):
        raise CompileError(f"compile: {why}")
    for have, expected in zip(got, want):
        have, expected = np.asarray(have), np.asarray(expected)
        if have.dtype != expected.dtype or have.shape != expected.shape or not np.array_equal(
            have, expected, equal_nan=True
        ):
            raise CompileError(f"compile: {why}")


def _floating(x: Any) -> bool:
    return type(x) is np.ndarray and np.issubdtype(x.dtype, np.floating) and x.size > 0


def _nudged(x: Any, rng: np.random.Generator) -> Any:
    """A floating-point array moved by about 0.1% of each entry; anything else as it is."""
    if not _floating(x):
        return x
    return (x + 1e-3 * rng.standard_normal(x.shape) * (np.abs(x) + 1)).astype(x.dtype)


def _shuffled(x: Any, rng: np.random.Generator) -> Any:
    """A floating-point array with its entries in another order, then nudged (the same values,
    so a domain such as positivity is kept, but signs and maxima move)."""
    if not _floating(x) or x.size < 2:
        return _nudged(x, rng)
    return _nudged(rng.permutation(x.ravel()).reshape(x.shape), rng)


def _node_forward(prim: Any, params: dict, *values: Any) -> Any:
    """A recorded node's value from its inputs, as :func:`matgrad.tensor.record` computes it."""
    out = prim.forward(*values, **params) if params else prim.forward(*values)
    return out if type(out) is np.ndarray else np.asarray(out)


def _is_reshape(function: Callable, args: tuple, kwargs: dict, result: Any) -> bool:
    """Whether the step is ``np.reshape(x, shape)`` or the reshape primitive's forward on an
    array, which ``x.reshape(shape)`` computes the same (``np.reshape`` calls the method)."""
    from ..primitives import reshape  # the table, imported once it is loaded

    if function is _node_forward:
        if args[0] is not reshape:
            return False
        function, kwargs, args = reshape.forward, args[1], args[2:]
    if function is not np.reshape and function is not reshape.forward:
        return False
    x, shape = _reshape_arguments(args, kwargs)
    return type(x) is np.ndarray and type(result) is np.ndarray and type(shape) is tuple


def _reshape_arguments(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """``(x, shape)`` of a reshape step, the shape given by position or by keyword (else None)."""
    if len(args) == 2 and not kwargs:
        return args
    if len(args) == 1 and set(kwargs) == {"shape"}:
        return args[0], kwargs["shape"]
    return None, None


def _unwrapped_linear_rule(function: Callable, args: tuple) -> tuple[Callable, tuple]:
    """A linear primitive's JVP rule, ``linear_jvp(t, out, *inputs)``, is the primitive applied to
    the tangent in place of input ``i``; on arrays that is ``prim.forward`` itself (what
    ``Primitive.__call__`` runs), so the plan calls the forward and skips the dispatch.  Any other
    step as it is."""
    linear_of = getattr(function, "linear_of", None)  # set by primitives.core._LinearRules
    if linear_of is None or any(type(a) in (list, tuple) for a in args):
        return function, args
    prim, i = linear_of
    forward = prim.forward
    t, _, *inputs = args
    return forward, (*inputs[:i], t, *inputs[i + 1 :])


def _unread_positions(function: Callable) -> frozenset[int]:
    """The positional parameters a Python function never reads (``-t``, the JVP of ``x − y`` in
    ``y``, takes ``out, x, y`` and reads none), so a plan need not compute what it passes there."""
    code = getattr(function, "__code__", None)
    if type(function) is not types.FunctionType or code is None:
        return frozenset()
    return _unread_parameters(code)


@functools.cache
def _unread_parameters(code: types.CodeType) -> frozenset[int]:
    names = code.co_varnames[: code.co_argcount]
    if {"locals", "vars", "eval", "exec"} & set(code.co_names):
        return frozenset()
    read = set(code.co_cellvars)  # captured by an inner function: read there
    for instruction in dis.get_instructions(code):
        if instruction.opname.startswith(("LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF", "LOAD_CLOSURE")):
            value = instruction.argval  # a name, or a pair of names (LOAD_FAST_LOAD_FAST, Python 3.13)
            read.update(value if isinstance(value, tuple) else (value,))
    return frozenset(i for i, name in enumerate(names) if name not in read)


#: ufuncs whose two operands may be swapped without changing a bit of the result (IEEE + and × commute)
_COMMUTATIVE = {np.add, np.multiply}


class _Tape:
    """The array-level steps of one traced call, in order: ``(function, args, kwargs, result)``."""

    def __init__(self) -> None:
        self.entries: list[tuple[Callable, tuple, dict, Any]] = []
        self.recorded: set[int] = set()
        self.nodes: list[Tensor] = []  # kept alive, so that no id() is reused during the trace

    def log(self, function: Callable, args: tuple, kwargs: dict, result: Any) -> None:
        self.entries.append((function, args, kwargs, result))

    def record_graph(self, order: list[Tensor]) -> None:
        """The forward step of every recorded node not logged yet, oldest first."""
        fresh = [n for n in order if n._prim is not None and id(n) not in self.recorded]
        for node in sorted(fresh, key=lambda n: n._seq):
            self.recorded.add(id(node))
            self.nodes.append(node)
            self.entries.append((_node_forward, (node._prim, node._params, *node._inputs), {}, node.data))


class _Writer:
    """The plan's source: one line per live step of the tape, arguments first."""

    def __init__(self, tape: _Tape, leaves: list, outputs: list) -> None:
        self.env: dict[str, Any] = {}
        self.names: dict[int, str] = {}  # id of an array -> the local that holds it
        self.producer: dict[str, int] = {}  # local -> the step that made it
        self.computed: dict[tuple, str] = {}  # a ufunc step's _ufunc_key -> the local that holds its result
        self.head: list[str] = []
        self._bind_arguments(leaves)
        steps = [self._step(k, entry) for k, entry in enumerate(tape.entries)]
        returned = [self._output(out) for out in outputs]
        live = self._live(steps, returned)
        body = [line for k, (line, _) in enumerate(steps) if k in live and line]
        listed = "".join(f"{expr}, " for expr in returned)
        lines = [*self.head, *body, f"return [{listed}]"]
        self.text = "def plan(leaves):\n" + "".join(f"    {line}\n" for line in lines)

    def compile(self) -> Callable:
        namespace = dict(self.env)
        exec(self.text, namespace)  # generated from the logged steps; no user text in it
        return namespace["plan"]

    def bind(self, prefix: str, obj: Any) -> str:
        name = f"{prefix}{len(self.env)}"
        self.env[name] = obj
        return name

    def _bind_arguments(self, leaves: list) -> None:
        for position, leaf in enumerate(leaves):
            raw = leaf.data if type(leaf) is Tensor else leaf
            if type(raw) is not np.ndarray:
                continue
            if id(raw) in self.names:
                raise CompileError(
                    f"compile: argument leaves {self.names[id(raw)]} and {position} are the same array, so "
                    f"the trace cannot tell which one f reads; pass a copy as one of them"
                )
            self.names[id(raw)] = f"a{position}"
            self.head.append(f"a{position} = leaves[{position}]" + (".data" if type(leaf) is Tensor else ""))

    def _expr(self, x: Any, used: set[int]) -> str:
        """The expression of a step's argument: a local, a tuple of them, or a bound constant."""
        if type(x) is np.ndarray:
            name = self.names.get(id(x))
            if name is None:
                return self.bind("c", x)  # made outside the logged steps: a constant (checked later)
            if name in self.producer:
                used.add(self.producer[name])
            return name
        if type(x) in (tuple, list) and any(type(v) in (np.ndarray, tuple, list) for v in x):
            parts = "".join(f"{self._expr(v, used)}, " for v in x)
            return f"({parts})" if type(x) is tuple else f"[{parts}]"
        return self.bind("c", x)

    def _step(self, k: int, entry: tuple) -> tuple[str, set[int]]:
        function, args, kwargs, result = entry
        used: set[int] = set()
        if type(result) is np.ndarray and not self._reads_arguments((args, kwargs)):
            self.names[id(result)] = self.bind("c", result)  # made from constants only: a constant of the plan
            return "", used
        function, args = _unwrapped_linear_rule(function, args)
        same = next((a for a in args if a is result), None) if type(result) is np.ndarray else None
        if same is None and function is _node_forward:
            same = self._times_one(args[0].forward, args[2:], args[1], result)
        elif same is None:
            same = self._times_one(function, args, kwargs, result)
        if same is not None:  # a rule that returns its argument, or x * 1, which is x bit for bit: no step
            self.names[id(result)] = self._expr(same, used)
            return "", used
        key = self._ufunc_key(function, args, kwargs, result)
        if key in self.computed:  # the same ufunc of the same locals as an earlier step: its result, bit for bit
            self.names[id(result)] = self.computed[key]
            return "", used
        if _is_reshape(function, args, kwargs, result):  # the method: no function call around it
            x, shape = _reshape_arguments(*((args[2:], args[1]) if function is _node_forward else (args, kwargs)))
            line = f"r{k} = {self._expr(x, used)}.reshape({self._expr(shape, used)})  # reshape"
        elif function is added_gradients and not kwargs:  # the sum itself, without a call around it
            line = f"r{k} = {self._expr(args[0], used)} + {self._expr(args[1], used)}  # added_gradients"
        elif function is _node_forward:
            prim, params, *values = args
            call = self._call(self.bind("fw", prim.forward), values, params, used)
            line = f"r{k} = asarray({call})" if result.ndim == 0 else f"r{k} = {call}"
            line += f"  # {prim.name}"
            self.env["asarray"] = np.asarray
        else:
            unread = _unread_positions(function)  # passed as None: their producers may drop out
            line = f"r{k} = {self._call(self.bind('f', function), list(args), kwargs, used, unread)}"
            line += f"  # {getattr(function, '__name__', type(function).__name__)}"  # for a reader of the plan
        if type(result) is np.ndarray:
            self.names[id(result)] = f"r{k}"
            self.producer[f"r{k}"] = k
        if key is not None:
            self.computed[key] = f"r{k}"
        return line, used

    def _ufunc_key(self, function: Callable, args: tuple, kwargs: dict, result: Any) -> tuple | None:
        """What makes a ufunc step (or a node's ufunc forward) equal to another: the ufunc and the
        locals it reads, in either order where it commutes (``r2 * r13`` repeats ``r13 * r2``: the
        two halves of ``d(t ⊙ t)``).  None for any other step, or one that reads a constant."""
        if function is _node_forward and not args[1]:
            function, args = args[0].forward, args[2:]
        if function is added_gradients:
            function = np.add
        if type(function) is not np.ufunc or kwargs or type(result) is not np.ndarray:
            return None
        names = [self.names.get(id(a)) if type(a) is np.ndarray else None for a in args]
        if None in names or any(name.startswith("c") for name in names):  # constants are bound anew each time
            return None
        return (function, *(sorted(names) if function in _COMMUTATIVE else names))

    def _reads_arguments(self, x: Any) -> bool:
        """Whether ``x`` (a step's arguments) holds an argument of the plan or a step's result."""
        if type(x) is np.ndarray:
            name = self.names.get(id(x))
            return name is not None and not name.startswith("c")
        if type(x) in (tuple, list):
            return any(self._reads_arguments(v) for v in x)
        if type(x) is dict:
            return any(self._reads_arguments(v) for v in x.values())
        return False

    def _times_one(self, function: Callable, args: tuple, kwargs: dict, result: Any) -> Any:
        """``x`` when the step is ``multiply(x, ones)`` or ``multiply(ones, x)`` with ``ones`` a
        constant of ones that broadcasting does not widen ``x`` by, and the dtype kept (real: a
        complex product by 1 + 0j turns an infinite part into nan)."""
        if function is not np.multiply or kwargs or len(args) != 2 or type(result) is not np.ndarray:
            return None
        if result.dtype.kind not in "fiu":
            return None
        for x, other in (args, args[::-1]):
            if (
                type(x) is np.ndarray
                and type(other) is np.ndarray
                and not self._reads_arguments(other)  # a constant of the plan
                and x.shape == result.shape
                and x.dtype == result.dtype
                and np.all(other == 1)
            ):
                return x
        return None

    def _call(
        self, function: str, args: list, kwargs: dict, used: set[int], unread: frozenset[int] = frozenset()
    ) -> str:
        parts = ["None" if i in unread else self._expr(a, used) for i, a in enumerate(args)]
        parts += [f"{key}={self._expr(value, used)}" for key, value in kwargs.items()]
        return f"{function}({', '.join(parts)})"

    def _output(self, out: Any) -> str:
        if type(out) is not np.ndarray:
            if isinstance(out, Tensor):
                raise CompileError("compile: the function returned a Tensor; a compiled transform returns arrays")
            return self.bind("c", out)
        name = self.names.get(id(out)) or self.bind("c", out)  # not made by a step: a constant (checked later)
        return name if name in self.producer else f"{name}.copy()"  # an argument or constant: a fresh array

    def _live(self, steps: list[tuple[str, set[int]]], returned: list[str]) -> set[int]:
        """The steps the outputs depend on (the others, e.g. an unused value of f, are left out)."""
        pending = [self.producer[name.removesuffix(".copy()")] for name in returned if name in self.producer]
        live: set[int] = set()
        while pending:
            k = pending.pop()
            if k not in live:
                live.add(k)
                pending.extend(steps[k][1])
        return live
