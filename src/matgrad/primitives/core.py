"""The row type of the primitive table, the table itself, and the helpers every rule shares.

Vocabulary of a rule (as in PyTorch's ``derivatives.yaml``):

- ``vjp[i](g, out, *inputs, **params)`` returns ``gᵀ ∂out/∂inputs[i]`` shaped like ``inputs[i]``;
- ``jvp[i](t, out, *inputs, **params)`` returns ``∂out/∂inputs[i] · t`` (``t`` shaped like
  ``inputs[i]``; the forward sweep broadcasts the result to ``out``'s shape);
- ``g`` is the gradient flowing in, ``t`` a tangent, ``out`` the primitive's own result.

A rule is written with operators, array methods (``.sum``, ``.reshape``, ``.mT``) and other
primitives, so the same rule runs on NumPy arrays (the fast path) and on Tensors (recorded,
when the backward pass must itself be differentiated): calling a primitive on arrays only
returns an array and records nothing.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, record
from .notation import Notation

Rule = Callable[..., Any]
ErrorHint = Callable[[Sequence[Any], dict], str]

#: The table: every differentiable operation matgrad knows, by name.
TABLE: dict[str, Primitive] = {}


class Primitive:
    """One row of the table: forward, a VJP and a JVP per input, and the rule's notation."""

    __slots__ = ("__weakref__", "error_hint", "forward", "jvp", "name", "notation", "vjp")

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjp: Sequence[Rule | None] | Rule,
        jvp: Sequence[Rule | None] | Rule | str,
        notation: Notation,
        error_hint: ErrorHint | None = None,
    ) -> None:
        self.name = name
        self.forward = forward
        self.vjp = _rules(vjp)
        self.jvp = _rules(jvp, linear_of=self if jvp == "linear" else None)
        self.notation = notation
        self.error_hint = error_hint

    def __call__(self, *args: Any, **params: Any) -> Any:
        traced = False
        for arg in args:  # one pass: the call of every public function goes through here
            kind = type(arg)
            if kind is Tensor:
                traced = True
            elif kind is list or kind is tuple:  # a list holding Tensors is traced, never read as constants
                args = tuple([_traced(a) for a in args])
                traced = any(type(a) is Tensor for a in args)
                break
        return record(self, args, params) if traced else self.run(args, params)

    def run(self, values: Sequence[Any], params: dict) -> Any:
        """The forward computation on raw values, with a clear error on bad input."""
        try:
            return self.forward(*values, **params)
        except (ValueError, TypeError, IndexError) as error:
            raise self.input_error(values, params, error) from error

    def input_error(self, values: Sequence[Any], params: dict, error: Exception) -> Exception:
        """An error naming this primitive, the input shapes and, where known, a fix."""
        shapes = ", ".join(str(np.shape(v)) for v in values)
        hint = self.error_hint(values, params) if self.error_hint else str(error)
        message = f"{self.name}: {hint} (input shapes: {shapes})"
        return type(error)(message) if isinstance(error, (ValueError, IndexError)) else ValueError(message)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _traced(arg: Any) -> Any:
    """A list or tuple holding Tensors as one stacked Tensor; anything else unchanged."""
    from .composites import array, holds_tensor  # composites are built on this module

    return array(arg) if type(arg) in (list, tuple) and holds_tensor(arg) else arg


def register(*primitives: Primitive) -> None:
    """Add rows to the table, refusing a second primitive under a name already taken."""
    for prim in primitives:
        if prim.name in TABLE:
            raise ValueError(f"register: a primitive named {prim.name!r} is already in the table")
        TABLE[prim.name] = prim


class _VariadicRules:
    """The rules of a primitive with any number of inputs: ``rule(i, g, out, *xs)``."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    @functools.cache  # noqa: B019  (a handful of rows, kept for the process)
    def __getitem__(self, argnum: int) -> Rule:
        return functools.partial(self.rule, argnum)


class _LinearRules:
    """JVP of a primitive that is linear in each input: apply it to the tangent itself."""

    __slots__ = ("prim",)

    def __init__(self, prim: Primitive) -> None:
        self.prim = prim

    @functools.cache  # noqa: B019
    def __getitem__(self, argnum: int) -> Rule:
        def linear_jvp(t: Any, out: Any, *inputs: Any, **params: Any) -> Any:
            return self.prim(*inputs[:argnum], t, *inputs[argnum + 1 :], **params)

        linear_jvp.linear_of = (self.prim, argnum)  # what a compiled plan calls instead: prim.forward
        return linear_jvp


def _rules(spec: Any, linear_of: Primitive | None = None) -> Any:
    if linear_of is not None:
        return _LinearRules(linear_of)
    if callable(spec):
        return _VariadicRules(spec)
    return tuple(spec)


def value(x: Any) -> Any:
    """The raw array of a Tensor, or a constant unchanged: for masks and other constants."""
    return x.data if type(x) is Tensor else x


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient over the axes NumPy broadcast, so that it has ``shape`` again."""
    if g.shape == shape:
        return g
    if type(g) is np.ndarray:
        return summing(g.shape, shape, g.dtype)(g)
    lead, kept = _broadcast_axes(g.shape, shape)
    if lead:
        g = g.sum(axis=lead)
    return g.sum(axis=kept, keepdims=True) if kept else g


@functools.lru_cache(maxsize=1024)
def summing(have: tuple[int, ...], shape: tuple[int, ...], dtype: np.dtype) -> Callable[[np.ndarray], np.ndarray]:
    """What :func:`unbroadcast` does to an array of shape ``have`` and ``dtype``, chosen once for
    these shapes (a compiled plan calls it directly).

    A sum over leading axes only, a bias's gradient (∂C/∂b = Σ_rows δ), is ``1ᵀ G``
    with G one row per copy: a BLAS matrix-vector product, several times faster than NumPy's
    ``add.reduce`` over axis 0 of a narrow matrix; both add every entry once in the same
    precision.  Any other sum (size-1 axes kept, integers, empty arrays) is ``add.reduce``.
    """
    lead, kept = _broadcast_axes(have, shape)
    if lead and not kept and shape and math.prod(have) and dtype.kind == "f":
        rows = math.prod(have[: len(lead)])
        ones = constant_ones(rows, dtype)
        if len(have) == 2:
            return functools.partial(np.matmul, ones)

        def sum_rows(g: np.ndarray) -> np.ndarray:
            total = ones @ g.reshape(rows, -1)
            return total if len(shape) == 1 else total.reshape(shape)  # a fresh array, not a view, when it can

        return sum_rows

    def reduce(g: np.ndarray) -> np.ndarray:  # what ndarray.sum calls, without its Python layer
        if lead:
            g = np.add.reduce(g, lead)
        return np.add.reduce(g, kept, None, None, True) if kept else g

    return reduce


@functools.lru_cache(maxsize=1024)
def _broadcast_axes(have: tuple[int, ...], shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The leading axes to sum away, then the size-1 axes of ``shape`` to sum with keepdims."""
    lead = len(have) - len(shape)
    rest = have[lead:] if lead > 0 else have
    return tuple(range(lead)), tuple(i for i, n in enumerate(shape) if n == 1 and rest[i] != 1)


@functools.lru_cache(maxsize=64)
def constant_ones(shape: int | tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A read-only array of ones, made once per shape and dtype (the ``1`` of ``1ᵀ G``, the
    seed of a scalar's backward pass); a leaf handed it copies it (``reverse._deliver``)."""
    ones = np.ones(shape, dtype=dtype)
    ones.flags.writeable = False
    return ones


def passes(g: Any, out: Any, *inputs: Any, **params: Any) -> Any:
    """The core of a VJP that hands ``g`` on as it is (before any axes broadcast are summed back)."""
    return g


def leading_axes(rule: Rule) -> Rule:
    """Mark a rule that accepts a ``g`` with extra leading axes and keeps them in its result, as
    elementwise rules and matmul's do by NumPy broadcasting: many cotangents can then go
    through one sweep (see :func:`matgrad.reverse.batched_grad_of`)."""
    rule.leading_axes = True
    return rule


def reading(*positions: int) -> Callable[[Rule], Rule]:
    """Declare which values a rule reads, by position in ``(g, out, *inputs)`` (shapes and dtypes
    are always free to read): a compiled plan computes once a call whose read values are all
    trace-time constants (a seed of ones, Python scalars)."""

    def mark(rule: Rule) -> Rule:
        rule.reads = frozenset(positions)
        return rule

    return mark


passes.reads = frozenset({0})


def summed(core: Rule, argnum: int) -> Rule:
    """The VJP ``unbroadcast(core(g, out, x, y), shape of input argnum)`` of a binary primitive.

    The rule keeps ``core`` as ``rule.core``: where a compiled plan knows at trace time that the
    core's result already has the input's shape, it calls ``core`` alone (or, for :func:`passes`,
    nothing at all); everywhere else the rule itself runs, so each formula is written once.
    """
    # The shape test is unbroadcast's own first step, repeated here to save a call where the
    # shapes match (most calls): this wrapper runs once per input per node of every backward pass.
    if core is passes:
        if argnum == 0:

            def rule(g: Any, out: Any, x: Any, y: Any) -> Any:
                return g if g.shape == x.shape else unbroadcast(g, x.shape)
        else:

            def rule(g: Any, out: Any, x: Any, y: Any) -> Any:
                return g if g.shape == y.shape else unbroadcast(g, y.shape)
    elif argnum == 0:

        def rule(g: Any, out: Any, x: Any, y: Any) -> Any:
            result = core(g, out, x, y)
            return result if result.shape == x.shape else unbroadcast(result, x.shape)
    else:

        def rule(g: Any, out: Any, x: Any, y: Any) -> Any:
            result = core(g, out, x, y)
            return result if result.shape == y.shape else unbroadcast(result, y.shape)

    rule.core = core
    if hasattr(core, "reads"):
        rule.reads = core.reads
    return rule


def refuse_out(name: str, out: Any) -> None:
    """The one answer to NumPy's ``out=``: matgrad never writes into a given array (a recorded node
    owns its result), so a public function with NumPy's signature refuses any ``out`` but None."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported; matgrad returns a new array")


def shape_of(x: Any) -> tuple[int, ...]:
    return np.shape(value(x))
