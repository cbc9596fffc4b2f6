"""Plain words for a diagnosis: shapes, factors as fractions with what they likely mean, and the
claim rewritten (transposed, negated, rescaled) both in matrix notation and as a formula to paste."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import numpy as np

from ..explain.graph import Graph
from ..formula import Const, Formula, Node, Op, to_text
from ..symbolic import Apply, Binary, Expr, Neg, Num, Structural, Sym, Transpose, evaluate, render, simplify
from ..tensor import Tensor
from .problem import Problem

#: Functions whose derivative jumps: a claim that misses the jump is right only on some draws.
KINKS = ("relu", "abs", "max", "min", "maximum", "minimum")
_ELEMENTWISE = {"exp", "log", "logpos", "sqrt", "abs", "sign", "sigmoid", "dsigmoid", "tanh", "dtanh", "relu",
                "step", "share", "mask", "notmask", "pow_prime", "max", "min", "where", "softplus"}


def shape_text(shape: tuple[int, ...]) -> str:
    """``5×4`` for a matrix, ``(3,)`` for a vector, ``()`` for a scalar."""
    return "×".join(map(str, shape)) if len(shape) >= 2 else f"({shape[0]},)" if shape else "()"


def as_fraction(c: float) -> Fraction | None:
    """``c`` as a fraction with a small denominator, if it is one (to 1e-9)."""
    fraction = Fraction(c).limit_denominator(1000)
    return fraction if abs(float(fraction) - c) <= 1e-9 * abs(c) else None


def number_text(c: float) -> str:
    """``2``, ``½``, ``1/6``, ``−2/3``, else ``0.3183``."""
    fraction = as_fraction(c)
    if fraction is None:
        return f"{c:.10g}".replace("-", "−")
    sign, fraction = "−" * (fraction < 0), abs(fraction)
    if fraction.denominator == 1:
        return f"{sign}{fraction.numerator}"
    return f"{sign}½" if fraction == Fraction(1, 2) else f"{sign}{fraction.numerator}/{fraction.denominator}"


def _dimensions(problem: Problem) -> dict[int, str]:
    """Each axis length above 2, by the first input that has it: ``{6: "the number of rows of X"}``."""
    found: dict[int, str] = {}
    for name in problem.names:
        shape = problem.shapes[name]
        for axis, n in enumerate(shape):
            if n <= 2 or n in found:
                continue
            if len(shape) == 2:
                found[n] = f"the number of {('rows', 'columns')[axis]} of {name}"
            else:
                found[n] = f"the length of {name}" if len(shape) == 1 else f"{name}.shape[{axis}]"
    return found


def factor_hint(c: float, problem: Problem) -> str:
    """What a factor c (claim = c · gradient) usually means, or ``""``."""
    k = abs(c)
    two = {1: "an extra 2 (a ½ in f, as in ½‖…‖², left out of the claim?)",
           -1: "a missing 2 (the derivative of u² is 2u)", 0: ""}
    mean = {1: "the claim sums where f takes a mean over N = {n} ({what})",
            -1: "the claim takes a mean over N = {n} ({what}) where f sums", 0: ""}
    for a in (1, -1):
        if abs(k - 2.0**a) <= 1e-9 * k:
            return two[a]
    for n, what in _dimensions(problem).items():
        for a in (0, 1, -1):
            for b in (1, -1):
                if abs(k - 2.0**a * float(n) ** b) <= 1e-9 * k:
                    parts = [mean[b].format(n=n, what=what), two[a]]
                    return "; ".join(part for part in parts if part)
    return ""


# ----- the claim rewritten --------------------------------------------------------------------------


class Rewrite:
    """The claim formula in matrix notation (``B A``) and as text (``B @ A``), and rewritings of it.

    Built from the claim evaluated on named Tensors at one draw, so that the notation is the one
    ``explain`` uses.  A claim given as a callable has no text: every method returns ``""``.
    With ``transposed`` set, negations and rescalings apply to the claim's transpose.
    """

    def __init__(self, problem: Problem, inputs: dict[str, np.ndarray]) -> None:
        self.formula: Formula | None = problem.claim_formula
        self.expr: Expr | None = None
        self.transposed = False
        if self.formula is None:
            return
        tensors = {name: Tensor(inputs[name], requires_grad=True, name=name) for name in problem.claim_names}
        with np.errstate(all="ignore"):
            output = self.formula.evaluate(**tensors)
        if not isinstance(output, Tensor) or not output.requires_grad:
            return
        graph = Graph(output, {id(t): name for name, t in tensors.items()})
        top = graph.output
        try:
            self.expr = simplify(_plain(Sym(top.symbol) if top.is_leaf else graph.definition(top)))
        except (KeyError, ValueError, TypeError, AttributeError):  # no notation: the diagnosis goes on in words
            return
        self.names = graph.display_names()
        self.values = graph.values()

    def is_scalar(self, expr: Expr) -> bool:
        if isinstance(expr, Num):
            return True
        try:
            return bool(np.size(evaluate(expr, self.values)) == 1)
        except (KeyError, ValueError, TypeError, IndexError):
            return False

    def math(self, expr: Expr) -> str:
        text = render(simplify(self.pulled(simplify(expr))), self.names, is_scalar=self.is_scalar)
        return text.replace("-", "−")  # a negative number renders with a hyphen; names have none

    def base(self) -> Expr:
        assert self.expr is not None
        return self.pushed(self.expr) if self.transposed else self.expr

    def layout(self) -> str:
        """``(B A)ᵀ = Aᵀ Bᵀ``: the transpose, and the transpose moved inside when that reads simpler."""
        if self.expr is None:
            return ""
        whole, inside = self.math(Transpose(self.expr)), self.math(self.pushed(self.expr))
        if inside == whole or self.math(self.expr).endswith("ᵀ"):  # (… Mᵀ)ᵀ: show only the simple form
            return inside
        return f"{whole} = {inside}"

    def pushed(self, expr: Expr) -> Expr:
        """An expression equal to exprᵀ with the transpose moved onto the leaves: (AB)ᵀ = BᵀAᵀ."""
        if self.is_scalar(expr):
            return expr
        if isinstance(expr, Transpose):
            return expr.operand
        if isinstance(expr, Neg):
            return Neg(self.pushed(expr.operand))
        if isinstance(expr, Binary) and expr.op == "@":
            return Binary("@", self.pushed(expr.right), self.pushed(expr.left))
        if isinstance(expr, Binary) and expr.op in ("+", "−", "*", "/"):
            return Binary(expr.op, self.pushed(expr.left), self.pushed(expr.right))
        if isinstance(expr, Binary) and expr.op == "^" and self.is_scalar(expr.right):
            return Binary("^", self.pushed(expr.left), expr.right)
        if isinstance(expr, Apply) and expr.function in _ELEMENTWISE:
            return Apply(expr.function, tuple(self.pushed(a) for a in expr.arguments))
        return Transpose(expr)

    def pulled(self, expr: Expr) -> Expr:
        """Numbers moved out of matrix products, so that they can be folded: (2 Xᵀ) r → 2 (Xᵀ r)."""
        if isinstance(expr, Binary):
            left, right = self.pulled(expr.left), self.pulled(expr.right)
            if expr.op == "@":
                (a, left), (b, right) = _coefficient(left), _coefficient(right)
                product = Binary("@", left, right)
                return product if a * b == 1 else Binary("*", Num(a * b), product)
            return Binary(expr.op, left, right)
        if isinstance(expr, (Neg, Transpose)):
            return type(expr)(self.pulled(expr.operand))
        return expr

    def negated(self) -> str:
        return self.scaled(-1.0)

    def scaled(self, k: float) -> str:
        return "" if self.expr is None else self.math(Binary("*", Num(k), self.base()))

    # ----- as formulas to paste --------------------------------------------------------------------
    def text(self, wrap: str, k: float = 1.0) -> str:
        """The claim as a formula: ``"transpose"`` → ``(B @ A).T``; ``"neg"`` and ``"scale"`` (by k)
        of the claim, or of its transpose when ``transposed``."""
        if self.formula is None:
            return ""
        tree = _untransposed(self.formula.tree) if self.transposed or wrap == "transpose" else self.formula.tree
        if wrap == "transpose":
            return to_text(tree)
        if wrap == "neg":
            return to_text(_negated(tree))
        fraction = as_fraction(k)
        if fraction is not None and fraction.denominator != 1 and abs(fraction.numerator) == 1:
            return to_text(Op("div", (tree, Const(fraction.denominator * fraction.numerator))))
        return to_text(Op("mul", (Const(_literal(k)), tree)))


def _coefficient(expr: Expr) -> tuple[float, Expr]:
    """``2 M`` → (2, M); ``−M`` → (−1, M); else (1, expr)."""
    if isinstance(expr, Neg):
        c, rest = _coefficient(expr.operand)
        return -c, rest
    if isinstance(expr, Binary) and expr.op == "*" and isinstance(expr.left, Num):
        c, rest = _coefficient(expr.right)
        return expr.left.value * c, rest
    return 1.0, expr


def _negated(tree: Node) -> Node:
    """−tree, folding a leading number: ``-2*M`` → ``2*M``, ``-M`` → ``M``."""
    if isinstance(tree, Op) and tree.name == "neg":
        return tree.args[0]
    if isinstance(tree, Op) and tree.name == "mul" and isinstance(tree.args[0], Const):
        c = -tree.args[0].value
        return tree.args[1] if c == 1 else Op("mul", (Const(c), tree.args[1]))
    return Op("neg", (tree,))


def _untransposed(tree: Node) -> Node:
    """The formula of treeᵀ, dropping a transpose already there: ``2*(M).T`` → ``2*M``, ``B@A`` → ``(B@A).T``."""
    if isinstance(tree, Op) and tree.name == "transpose":
        return tree.args[0]
    if isinstance(tree, Op) and tree.name == "neg":
        return Op("neg", (_untransposed(tree.args[0]),))
    if isinstance(tree, Op) and tree.name in ("mul", "div") and isinstance(tree.args[1], Const):
        return Op(tree.name, (_untransposed(tree.args[0]), tree.args[1]))
    if isinstance(tree, Op) and tree.name == "mul" and isinstance(tree.args[0], Const):
        return Op("mul", (tree.args[0], _untransposed(tree.args[1])))
    return Op("transpose", (tree,))


def _literal(k: float) -> Any:
    fraction = as_fraction(k)
    if fraction is not None and fraction.denominator == 1:
        return int(fraction)
    return float(f"{k:.12g}")


def _plain(expr: Expr) -> Expr:
    """The table's transpose (a structural node shown ``{0}ᵀ``) as a symbolic Transpose, which
    parenthesizes its operand when shown: ``(B A)ᵀ``, not ``B Aᵀ``."""
    if isinstance(expr, Structural):
        operand = _plain(expr.operand)
        return Transpose(operand) if expr.kind == "transpose" else dataclasses.replace(expr, operand=operand)
    if isinstance(expr, Apply):
        return Apply(expr.function, tuple(_plain(a) for a in expr.arguments))
    if isinstance(expr, (Neg, Transpose)):
        return type(expr)(_plain(expr.operand))
    if isinstance(expr, Binary):
        return Binary(expr.op, _plain(expr.left), _plain(expr.right))
    return expr
