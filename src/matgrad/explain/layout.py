"""The other layout: a derivation re-rendered with every quantity transposed (rows ↔ columns).

Row layout writes a layer ``Z = HW + B`` with examples in rows; column layout writes ``z = Wx + b`` with
examples in columns.  They are the same computation with every quantity transposed, so a formula
``G = F(q, …)`` in one layout is ``Gᵀ = F(q, …)ᵀ`` in the other, with the transpose pushed inward
by ``(AB)ᵀ = BᵀAᵀ`` and ``(A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ`` until it meets the quantities, where ``qᵀ`` is the
other layout's ``q``.  That is how ``δ² (a¹)ᵀ`` becomes ``(a¹)ᵀ δ²``: no rule is written twice.

A 1-D vector is a row in row layout and a column in column layout.  Operations that are not
elementwise (sums over the batch, softmax over a row) keep their meaning: they are evaluated on
the transposed values and transposed back.  Every re-rendered line is evaluated on the
transposed values and checked against the transposed engine gradient, as in the first layout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ..symbolic import FUNCTIONS, Apply, Binary, Expr, Neg, Num, Structural, Sym, Transpose, evaluate, simplify
from .derive import Derivation, check_line, environment
from .graph import Quantity

LAYOUTS = ("row", "column")
_NOT_ELEMENTWISE = {"softmax", "log_softmax"}  # functions of a whole row


def layout_of(derivation: Derivation) -> str:
    """``"column"`` when parameters multiply from the left (``W x``), else ``"row"`` (``x W``)."""
    left = right = 0
    for q in derivation.graph.quantities:
        if q.prim is not None and q.prim.name == "matmul":
            a, b = q.args
            left += isinstance(a, Quantity) and a.is_leaf
            right += isinstance(b, Quantity) and b.is_leaf
    return "column" if left > right else "row"


def evident_layout(derivation: Derivation) -> str | None:
    """The layout a network is written in, when its matrix products show it: a parameter being
    differentiated times the data (``W x``: column) or the data times it (``X w``: row).  None
    when nothing tells (no such product, or as many of each: a quadratic form xᵀAx has none)."""
    shown = {id(line.quantity) for line in derivation.lines}

    def parameter(arg: object) -> bool:
        return isinstance(arg, Quantity) and arg.is_leaf and id(arg) in shown and len(arg.shape) == 2

    def data(arg: object) -> bool:
        return not isinstance(arg, Quantity) or (arg.is_leaf and id(arg) not in shown)

    left = right = 0
    for q in derivation.graph.quantities:
        if q.prim is not None and q.prim.name == "matmul":
            a, b = q.args
            left += parameter(a) and data(b)
            right += data(a) and parameter(b)
    if left == right:
        return None
    return "column" if left > right else "row"


def relayout(derivation: Derivation, layout: str) -> Derivation:
    """``derivation`` written in ``layout`` (itself when it is written so already)."""
    if layout not in LAYOUTS:
        raise ValueError(f"explain: layout must be 'row' or 'column', got {layout!r}")
    if (derivation.layout or evident_layout(derivation) or layout_of(derivation)) == layout:
        return derivation  # written so already: the layout its header names, else its products
    env = environment(derivation)
    flip = _flipper(layout)
    other = Derivation(derivation.graph, derivation.loss_name, derivation.tolerance)
    other.layout = layout
    other.env = {name: flip(value) for name, value in env.items()}
    transposer = _Transposer(env, flip)
    computed = [q for q in derivation.graph.quantities if not q.is_leaf]
    other.definitions = {id(q): simplify(transposer(derivation.graph.definition(q))) for q in computed}
    for line in derivation.lines:
        moved = dataclasses.replace(line, formula=simplify(transposer(line.formula)), problem=None, ok=False)
        moved.displayed_shape = flip(np.zeros(line.shape)).shape
        other.lines.append(moved)
        other._by_quantity[id(line.quantity)] = moved
        other._engine[id(line.quantity)] = flip(derivation._engine[id(line.quantity)])
    for line in other.lines:
        check_line(other, line)
    return other


def _flipper(layout: str) -> Callable[[Any], Any]:
    """The value of a quantity in ``layout``, from its value in the other one."""

    def flip(value: Any) -> Any:
        array = np.asarray(value)
        if array.ndim == 0:
            return value
        if array.ndim == 1:
            return array[:, None] if layout == "column" else array[None, :]
        return np.swapaxes(array, -1, -2)

    return flip


class _Transposer:
    """``F ↦ Fᵀ`` written in the other layout's quantities, transposes pushed to the leaves."""

    def __init__(self, env: dict[str, Any], flip: Callable[[Any], Any]) -> None:
        self.env = env  # the first layout's values: shapes of subexpressions, and which are scalars
        self.flip = flip

    def shape(self, expr: Expr) -> tuple[int, ...]:
        return np.shape(evaluate(expr, self.env))

    def __call__(self, expr: Expr) -> Expr:
        if isinstance(expr, (Num, Sym)) or self.shape(expr) == ():
            return expr  # a quantity is its own name in the other layout; a scalar is unchanged
        if isinstance(expr, Transpose):
            return Transpose(self(expr.operand))  # (Aᵀ)ᵀ = A, which is the other layout's (A')ᵀ
        if isinstance(expr, Neg):
            return Neg(self(expr.operand))
        if isinstance(expr, Binary):
            if expr.op == "@":
                return Binary("@", self(expr.right), self(expr.left))  # (AB)ᵀ = BᵀAᵀ
            return Binary(expr.op, self(expr.left), self(expr.right))  # elementwise: (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ
        if isinstance(expr, Apply) and expr.function not in _NOT_ELEMENTWISE:
            return Apply(expr.function, tuple(self(a) for a in expr.arguments))
        if isinstance(expr, Apply) and len(expr.arguments) == 1:
            function = FUNCTIONS[expr.function]
            text = _template(function.text, "({0})")
            latex = _template(function.latex, r"\left({0}\right)")
            return self._in_place(expr.arguments[0], text, latex, lambda v, _context: function.evaluate(v))
        if isinstance(expr, Structural):
            return self._in_place(expr.operand, expr.text, expr.latex, expr.evaluate_with, expr.kind)
        return Transpose(expr)  # nothing to push through: shown transposed as it is

    def _in_place(self, operand: Expr, text: str, latex: str, evaluate_with: Callable, kind: str = "apply") -> Expr:
        """An operation that is not elementwise keeps its meaning: it runs on the first layout's
        values (the transposed operand) and its result is transposed back."""
        shape = self.shape(operand)
        flip = self.flip

        def moved(value: Any, context: dict) -> Any:
            original = np.asarray(value)
            original = np.swapaxes(original, -1, -2) if original.ndim >= 2 else original
            return flip(evaluate_with(original.reshape(shape), context))

        return Structural(kind, self(operand), text, latex, moved)


def _template(spelling: str, call: str) -> str:
    """A function's spelling as a template of one operand ``{0}``: ``|{}|`` or ``softmax({0})``."""
    return spelling.replace("{}", "{0}") if "{}" in spelling else spelling + call
