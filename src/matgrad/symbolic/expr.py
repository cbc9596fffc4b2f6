"""Small symbolic expressions: the matrix-calculus formulas of the notation column.

An :class:`Expr` is built with Python operators from symbols (``g``, ``out``, ``x0``, ``x1`` in
the table; names such as ``δ²`` or ``W²`` in a derivation), renders as Unicode text or LaTeX, and
evaluates with NumPy alone.  Evaluating a notation formula is a second, independent statement of
a derivative: ``explain`` compares it with what the engine's VJP rule computed.

Operators: ``*`` is the elementwise (Hadamard) product, shown ``⊙`` between two arrays and as a
plain product when one side is a scalar; ``@`` the matrix product, shown by juxtaposition;
``.T`` the transpose; :func:`fn` applies a named elementwise function from :data:`FUNCTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import templates

Env = dict[str, Any]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free, independent of the engine's formula


@dataclass(frozen=True)
class Function:
    """An elementwise function of the notation: its NumPy meaning and its two spellings."""

    evaluate: Callable[..., np.ndarray]
    text: str
    latex: str


def _share(d: np.ndarray) -> np.ndarray:
    """1 where d > 0, ½ where d = 0 (a tie splits the gradient), 0 where d < 0."""
    return np.where(d > 0, 1.0, np.where(d == 0, 0.5, 0.0))


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u × v componentwise, (u × v)_k = u_(k+1) v_(k+2) − u_(k+2) v_(k+1): not through np.cross,
    so that the notation stays a second statement of the rule."""
    u1, u2, v1, v2 = (np.roll(a, -k, axis=-1) for a, k in ((u, 1), (u, 2), (v, 1), (v, 2)))
    return u1 * v2 - u2 * v1


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(z - np.logaddexp.reduce(z, axis=-1, keepdims=True))


FUNCTIONS: dict[str, Function] = {
    "exp": Function(np.exp, "exp", r"\exp"),
    "log": Function(np.log, "log", r"\log"),
    "logpos": Function(lambda v: np.log(np.where(v > 0, v, 1.0)), "log", r"\log"),
    "sqrt": Function(np.sqrt, "√", r"\sqrt"),
    "abs": Function(np.abs, "|{}|", r"\left|{}\right|"),
    "sign": Function(np.sign, "sign", r"\operatorname{sign}"),
    "sigmoid": Function(_sigmoid, "σ", r"\sigma"),
    "dsigmoid": Function(lambda v: _sigmoid(v) * (1 - _sigmoid(v)), "σ'", r"\sigma'"),
    "tanh": Function(np.tanh, "tanh", r"\tanh"),
    "dtanh": Function(lambda v: 1 - np.tanh(v) ** 2, "tanh'", r"\tanh'"),
    "relu": Function(lambda v: np.maximum(v, 0), "relu", r"\operatorname{relu}"),
    "step": Function(lambda v: (v > 0).astype(float), "𝟙[{} > 0]", r"\mathbb 1\left[{} > 0\right]"),
    "share": Function(_share, "𝟙[{} > 0]", r"\mathbb 1\left[{} > 0\right]"),
    "mask": Function(lambda v: np.asarray(v).astype(float), "𝟙[{}]", r"\mathbb 1\left[{}\right]"),
    "notmask": Function(lambda v: 1.0 - np.asarray(v).astype(float), "𝟙[¬{}]", r"\mathbb 1\left[\lnot {}\right]"),
    "pow_prime": Function(
        lambda base, exponent: exponent * np.power(np.where((base == 0) & (exponent == 0), 1.0, base), exponent - 1),
        "{1} {0}^({1}−1)",
        r"{1}\,{0}^{{1}-1}",
    ),
    "max": Function(np.maximum, "max", r"\max"),
    "min": Function(np.minimum, "min", r"\min"),
    "where": Function(np.where, "where", r"\operatorname{where}"),
    "softplus": Function(lambda v: np.logaddexp(0, v), "softplus", r"\operatorname{softplus}"),
    "softmax": Function(_softmax, "softmax", r"\operatorname{softmax}"),
    "log_softmax": Function(lambda z: np.log(_softmax(z)), "log softmax", r"\log\operatorname{softmax}"),
    # NumPy's elementwise functions (primitives/elementwise_math.py)
    "sin": Function(np.sin, "sin", r"\sin"),
    "cos": Function(np.cos, "cos", r"\cos"),
    "tan": Function(np.tan, "tan", r"\tan"),
    "arcsin": Function(np.arcsin, "arcsin", r"\arcsin"),
    "arccos": Function(np.arccos, "arccos", r"\arccos"),
    "arctan": Function(np.arctan, "arctan", r"\arctan"),
    "sinh": Function(np.sinh, "sinh", r"\sinh"),
    "cosh": Function(np.cosh, "cosh", r"\cosh"),
    "arcsinh": Function(np.arcsinh, "arsinh", r"\operatorname{arsinh}"),
    "arccosh": Function(np.arccosh, "arcosh", r"\operatorname{arcosh}"),
    "arctanh": Function(np.arctanh, "artanh", r"\operatorname{artanh}"),
    "log1p": Function(np.log1p, "log1p", r"\operatorname{log1p}"),
    "expm1": Function(np.expm1, "expm1", r"\operatorname{expm1}"),
    "log2": Function(np.log2, "log₂", r"\log_2"),
    "log10": Function(np.log10, "log₁₀", r"\log_{10}"),
    "exp2": Function(np.exp2, "2^({})", r"2^{{}}"),
    "cbrt": Function(np.cbrt, "∛", r"\sqrt[3]"),
    "logaddexp": Function(np.logaddexp, "logaddexp", r"\operatorname{logaddexp}"),
    "logaddexp2": Function(np.logaddexp2, "logaddexp2", r"\operatorname{logaddexp2}"),
    "arctan2": Function(np.arctan2, "arctan2", r"\operatorname{arctan2}"),
    "hypot": Function(np.hypot, "hypot", r"\operatorname{hypot}"),
    "mod": Function(np.remainder, "mod", r"\operatorname{mod}"),
    "fmod": Function(np.fmod, "fmod", r"\operatorname{fmod}"),
    "floor": Function(np.floor, "⌊{}⌋", r"\left\lfloor {} \right\rfloor"),
    "ceil": Function(np.ceil, "⌈{}⌉", r"\left\lceil {} \right\rceil"),
    "rint": Function(np.rint, "rint", r"\operatorname{rint}"),
    "trunc": Function(np.trunc, "trunc", r"\operatorname{trunc}"),
    "fix": Function(np.fix, "fix", r"\operatorname{fix}"),
    # products of two arrays written between them (primitives/products.py)
    "kron": Function(np.kron, "{0} ⊗ {1}", r"{0} \otimes {1}"),
    "cross": Function(_cross, "{0} × {1}", r"{0} \times {1}"),
}


class Expr:
    """Base of the expression tree; operators build new nodes."""

    __slots__ = ()
    precedence = 9

    def __add__(self, other: Any) -> Expr:
        return Binary("+", self, wrap(other))

    def __radd__(self, other: Any) -> Expr:
        return Binary("+", wrap(other), self)

    def __sub__(self, other: Any) -> Expr:
        return Binary("−", self, wrap(other))

    def __rsub__(self, other: Any) -> Expr:
        return Binary("−", wrap(other), self)

    def __mul__(self, other: Any) -> Expr:
        return Binary("*", self, wrap(other))

    def __rmul__(self, other: Any) -> Expr:
        return Binary("*", wrap(other), self)

    def __truediv__(self, other: Any) -> Expr:
        return Binary("/", self, wrap(other))

    def __rtruediv__(self, other: Any) -> Expr:
        return Binary("/", wrap(other), self)

    def __matmul__(self, other: Any) -> Expr:
        return Binary("@", self, wrap(other))

    def __pow__(self, other: Any) -> Expr:
        return Binary("^", self, wrap(other))

    def __neg__(self) -> Expr:
        return Neg(self)

    @property
    def T(self) -> Expr:
        return Transpose(self)


@dataclass(frozen=True, eq=True)
class Sym(Expr):
    name: str
    precedence = 9


@dataclass(frozen=True, eq=True)
class Num(Expr):
    value: float
    precedence = 9


@dataclass(frozen=True, eq=True)
class Apply(Expr):
    function: str
    arguments: tuple[Expr, ...]

    @property
    def precedence(self) -> int:  # type: ignore[override]
        """8 for a call ``exp(x)``; lower for a template written around its arguments (``a ⊗ b``)."""
        return templates.precedence(FUNCTIONS[self.function].text.replace("{}", "{0}"))


@dataclass(frozen=True, eq=True)
class Neg(Expr):
    operand: Expr
    precedence = 5


@dataclass(frozen=True, eq=True)
class Transpose(Expr):
    operand: Expr
    precedence = 8


@dataclass(frozen=True, eq=False)
class Structural(Expr):
    """An operation that only moves entries (a sum over axes, a reshape, indexing).

    ``evaluate_with(value, context)`` computes it from the operand's value and the context
    (the primitive's parameters, the input's shape); ``text``/``latex`` show it, ``{0}`` standing
    for the operand.
    """

    kind: str
    operand: Expr
    text: str
    latex: str
    evaluate_with: Callable[[Any, dict], Any]

    @property
    def precedence(self) -> int:  # type: ignore[override]
        """A ``"{0}"`` template shows its operand as it is, so it binds as the operand does."""
        return self.operand.precedence if self.text == "{0}" else templates.precedence(self.text)


@dataclass(frozen=True, eq=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return {"+": 1, "−": 1, "*": 3, "/": 3, "@": 4, "^": 7}[self.op]


def wrap(value: Any) -> Expr:
    return value if isinstance(value, Expr) else Num(float(value))


def fn(name: str, *arguments: Any) -> Expr:
    if name not in FUNCTIONS:
        raise KeyError(f"symbolic: unknown function {name!r}; known: {', '.join(FUNCTIONS)}")
    return Apply(name, tuple(wrap(a) for a in arguments))


def symbols(*names: str) -> tuple[Sym, ...]:
    return tuple(Sym(n) for n in names)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The operands of ``expr``, left to right (none for a symbol or a number)."""
    if isinstance(expr, Apply):
        return expr.arguments
    if isinstance(expr, (Neg, Transpose, Structural)):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    return ()
