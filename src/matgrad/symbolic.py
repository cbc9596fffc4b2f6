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

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    "step": Function(lambda v: (v > 0).astype(float), "𝟙[{} > 0]", r"\mathbb{1}\left[{} > 0\right]"),
    "share": Function(_share, "𝟙[{} > 0]", r"\mathbb{1}\left[{} > 0\right]"),
    "mask": Function(lambda v: np.asarray(v).astype(float), "𝟙[{}]", r"\mathbb{1}\left[{}\right]"),
    "notmask": Function(lambda v: 1.0 - np.asarray(v).astype(float), "𝟙[¬{}]", r"\mathbb{1}\left[\lnot {}\right]"),
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
    precedence = 8


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
    precedence = 8


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


# ----- evaluation -------------------------------------------------------------------------------


def evaluate(expr: Expr, env: Env, context: dict | None = None) -> Any:
    """The value of ``expr`` with NumPy, symbols looked up in ``env``; ``context`` is passed to
    structural nodes."""
    if isinstance(expr, Sym):
        if expr.name not in env:
            raise KeyError(f"symbolic: no value for {expr.name!r}")
        return env[expr.name]
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Apply):
        return FUNCTIONS[expr.function].evaluate(*(np.asarray(evaluate(a, env, context)) for a in expr.arguments))
    if isinstance(expr, Neg):
        return -evaluate(expr.operand, env, context)
    if isinstance(expr, Transpose):
        operand = np.asarray(evaluate(expr.operand, env, context))
        return operand if operand.ndim < 2 else np.swapaxes(operand, -1, -2)
    if isinstance(expr, Structural):
        return expr.evaluate_with(evaluate(expr.operand, env, context), context or {})
    left, right = evaluate(expr.left, env, context), evaluate(expr.right, env, context)
    return _BINARY[expr.op](left, right)


def _matrix_product(left: Any, right: Any) -> Any:
    """A @ B, where a vector operand that leaves no axis to contract makes it an outer product
    (g bᵀ for a gradient g of A b)."""
    left, right = np.asarray(left), np.asarray(right)
    if left.ndim == 0 or right.ndim == 0 or (left.ndim == 1 and right.ndim == 1 and left.shape != right.shape):
        return np.multiply.outer(left, right)
    if right.ndim == 1 and left.shape[-1] != right.shape[0]:
        return np.multiply.outer(left, right)
    return np.matmul(left, right)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "−": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "@": _matrix_product,
    "^": np.power,
}


# ----- substitution and simplification --------------------------------------------------------


def substitute(expr: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace symbols by expressions."""
    if isinstance(expr, Sym):
        return mapping.get(expr.name, expr)
    if isinstance(expr, Num):
        return expr
    if isinstance(expr, Apply):
        return Apply(expr.function, tuple(substitute(a, mapping) for a in expr.arguments))
    if isinstance(expr, Neg):
        return Neg(substitute(expr.operand, mapping))
    if isinstance(expr, Transpose):
        return Transpose(substitute(expr.operand, mapping))
    if isinstance(expr, Structural):
        return dataclasses.replace(expr, operand=substitute(expr.operand, mapping))
    return Binary(expr.op, substitute(expr.left, mapping), substitute(expr.right, mapping))


def simplify(expr: Expr) -> Expr:
    """Fold the numbers of products (½ · 2 → 1), drop factors of 1, double negations, x¹."""
    if isinstance(expr, (Sym, Num)):
        return expr
    if isinstance(expr, Apply):
        arguments = tuple(simplify(a) for a in expr.arguments)
        if expr.function == "pow_prime" and isinstance(arguments[1], Num):  # n xⁿ⁻¹ with n known
            n = arguments[1].value
            return simplify(Num(n) * Binary("^", arguments[0], Num(n - 1))) if n != 1 else Num(1.0)
        return Apply(expr.function, arguments)
    if isinstance(expr, Transpose):
        inner = simplify(expr.operand)
        return inner.operand if isinstance(inner, Transpose) else Transpose(inner)
    if isinstance(expr, Structural):
        return dataclasses.replace(expr, operand=simplify(expr.operand))
    if isinstance(expr, Neg):
        inner = simplify(expr.operand)
        if isinstance(inner, Neg):
            return inner.operand
        return Num(-inner.value) if isinstance(inner, Num) else Neg(inner)
    left, right = simplify(expr.left), simplify(expr.right)
    if expr.op == "*":
        return _product(left, right)
    if expr.op == "^" and right == Num(1.0):
        return left
    if expr.op == "/" and right == Num(1.0):
        return left
    if expr.op == "*" and isinstance(right, Binary) and right.op == "/" and right.left == Num(1.0):
        return Binary("/", left, right.right)
    if expr.op in "+−" and right == Num(0.0):
        return left
    if expr.op == "+" and left == Num(0.0):
        return right
    if expr.op in "+−" and isinstance(left, Num) and isinstance(right, Num):
        return Num(left.value + right.value if expr.op == "+" else left.value - right.value)
    if expr.op == "+":
        (a, fa), (b, fb) = _factors(left), _factors(right)
        if fa and fa == fb:  # c₁ X + c₂ X = (c₁ + c₂) X
            return _product(Num(a + b), _rebuild(fa))
    if expr.op == "/" and isinstance(right, Num) and right.value != 0:
        return _product(Num(1.0 / right.value), left)
    return Binary(expr.op, left, right)


def _rebuild(factors: list[Expr]) -> Expr:
    result = factors[0]
    for factor in factors[1:]:
        result = Binary("*", result, factor)
    return result


def _is_filled_number(expr: Expr) -> bool:
    """A number copied to every entry (``g`` of a full sum): in a Hadamard product, just a number."""
    return isinstance(expr, Structural) and expr.text == "{0}" and isinstance(expr.operand, Num)


def _factors(expr: Expr) -> tuple[float, list[Expr]]:
    if isinstance(expr, Num):
        return expr.value, []
    if _is_filled_number(expr):
        return expr.operand.value, []
    if isinstance(expr, Binary) and expr.op == "/" and isinstance(expr.right, Num) and expr.right.value != 0:
        coefficient, factors = _factors(expr.left)
        return coefficient / expr.right.value, factors
    if isinstance(expr, Neg):
        coefficient, factors = _factors(expr.operand)
        return -coefficient, factors
    if isinstance(expr, Binary) and expr.op == "*":
        a, fa = _factors(expr.left)
        b, fb = _factors(expr.right)
        return a * b, fa + fb
    return 1.0, [expr]


def _product(left: Expr, right: Expr) -> Expr:
    if isinstance(right, Binary) and right.op == "/" and right.left == Num(1.0):
        return Binary("/", _product(Num(1.0), left), right.right)  # g ⊙ (1 ⊘ y) reads g ⊘ y
    coefficient, factors = _factors(Binary("*", left, right))
    if coefficient == 0 or not factors:
        return Num(coefficient)
    result = _rebuild(factors)
    if coefficient == 1:
        return result
    if coefficient == -1:
        return Neg(result)
    return Binary("*", Num(coefficient), result)


# ----- rendering ----------------------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_FROM_SUPERSCRIPTS = {v: k for k, v in zip("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")}
_GREEK_LATEX = {"δ": r"\delta", "σ": r"\sigma", "λ": r"\lambda", "η": r"\eta", "Ω": r"\Omega", "θ": r"\theta"}


def superscript(n: int | str) -> str:
    return str(n).translate(_SUPERSCRIPTS)


def latex_name(name: str) -> str:
    """``W²`` → ``W^{2}``, ``δ¹`` → ``\\delta^{1}``, ``∂C/∂W²`` → ``\\frac{\\partial C}{\\partial W^{2}}``."""
    if name.startswith("∂") and "/∂" in name:
        top, bottom = name[1:].split("/∂", 1)
        return rf"\frac{{\partial {latex_name(top)}}}{{\partial {latex_name(bottom)}}}"
    base = "".join(_GREEK_LATEX.get(c, c) for c in name if c not in _FROM_SUPERSCRIPTS)
    sup = "".join(_FROM_SUPERSCRIPTS[c] for c in name if c in _FROM_SUPERSCRIPTS)
    if base.startswith("\\") and len(base) > 1 and not base[1:].isalpha():
        base = base  # already a command followed by other characters
    return f"{{{base}}}^{{{sup}}}" if sup else base


def _number(value: float, latex: bool) -> str:
    if value == int(value):
        return str(int(value))
    if value == 0.5:
        return r"\tfrac{1}{2}" if latex else "½"
    inverse = 1 / value if value else 0.0
    long_decimal = len(f"{value:g}") > 5
    if long_decimal and abs(inverse) > 1 and abs(inverse - round(inverse)) < 1e-9:  # 1/3, not 0.333333
        k = round(inverse)
        return rf"\tfrac{{1}}{{{k}}}" if latex else f"1/{k}"
    return f"{value:g}"


def render(
    expr: Expr,
    names: dict[str, str] | None = None,
    is_scalar: Callable[[Expr], bool] | None = None,
    latex: bool = False,
) -> str:
    """The formula as Unicode text (default) or LaTeX.

    ``names`` maps symbols to display names; ``is_scalar`` tells which subexpressions are
    scalars, so that ``*`` is shown as a plain product there and as ``⊙`` between arrays.
    """
    names = names or {}
    scalar = is_scalar or (lambda e: isinstance(e, Num))
    return _render(expr, names, scalar, latex)


def _render(expr: Expr, names: dict[str, str], scalar: Callable[[Expr], bool], latex: bool) -> str:
    def child(sub: Expr, minimum: int) -> str:
        text = _render(sub, names, scalar, latex)
        if sub.precedence < minimum:
            return rf"\left({text}\right)" if latex else f"({text})"
        return text

    if isinstance(expr, Sym):
        name = names.get(expr.name, expr.name)
        return latex_name(name) if latex else name
    if isinstance(expr, Num):
        return _number(expr.value, latex)
    if isinstance(expr, Apply):
        f = FUNCTIONS[expr.function]
        inner = ", ".join(_render(a, names, scalar, latex) for a in expr.arguments)
        template = f.latex if latex else f.text
        if "{}" in template:
            return template.replace("{}", inner)
        if "{0}" in template:
            for k, argument in enumerate(expr.arguments):
                template = template.replace(f"{{{k}}}", _render(argument, names, scalar, latex))
            return template
        return rf"{template}\left({inner}\right)" if latex else f"{template}({inner})"
    if _is_filled_number(expr):
        value = expr.operand.value
        ones = r"\mathbf{1}" if latex else "𝟏"
        return ones if value == 1 else f"{_number(value, latex)} {ones}"
    if isinstance(expr, Structural):
        return (expr.latex if latex else expr.text).replace("{0}", _render(expr.operand, names, scalar, latex))
    if isinstance(expr, Neg):
        return "-" + child(expr.operand, 6) if latex else "−" + child(expr.operand, 6)
    if isinstance(expr, Transpose):
        operand = expr.operand
        atomic = isinstance(operand, Sym) and len(names.get(operand.name, operand.name)) == 1
        body = (
            child(operand, 9)
            if atomic
            else (
                rf"\left({_render(operand, names, scalar, latex)}\right)"
                if latex
                else f"({_render(operand, names, scalar, latex)})"
            )
        )
        return rf"{body}^{{\top}}" if latex else f"{body}ᵀ"
    left, right = child(expr.left, expr.precedence), child(expr.right, expr.precedence + (expr.op in "−/"))
    if expr.op == "*":
        if scalar(expr.left) or scalar(expr.right):
            return f"{left} {right}"
        left, right = (_grouped(side, text, latex) for side, text in ((expr.left, left), (expr.right, right)))
        return rf"{left} \odot {right}" if latex else f"{left} ⊙ {right}"
    if expr.op == "@":
        return rf"{left} \, {right}" if latex else f"{left} {right}"
    if expr.op == "/":
        inner_left = _render(expr.left, names, scalar, latex)
        inner_right = _render(expr.right, names, scalar, latex)
        if latex:
            return rf"\frac{{{inner_left}}}{{{inner_right}}}"
        return f"{left} / {right}" if scalar(expr.right) else f"{left} ⊘ {right}"
    if expr.op == "^":
        if latex:
            return f"{{{left}}}^{{{_render(expr.right, names, scalar, latex)}}}"
        if isinstance(expr.right, Num) and expr.right.value == int(expr.right.value):
            return f"{left}{superscript(int(expr.right.value))}"
        return f"{left}^{right}"
    symbol = {"+": "+", "−": "-" if latex else "−"}[expr.op]
    return f"{left} {symbol} {right}"


def _grouped(expr: Expr, text: str, latex: bool) -> str:
    """Parenthesize a matrix product inside a Hadamard product, as the seeds write ((W²)ᵀδ²) ⊙ σ'(z¹)."""
    if isinstance(expr, Binary) and expr.op == "@":
        return rf"\left({text}\right)" if latex else f"({text})"
    return text


def bind(expr: Expr, context: dict) -> Expr:
    """Fix the context of every structural node, so that formulas from different primitives can
    be composed into one expression and still evaluate each part with its own parameters."""
    if isinstance(expr, (Sym, Num)):
        return expr
    if isinstance(expr, Apply):
        return Apply(expr.function, tuple(bind(a, context) for a in expr.arguments))
    if isinstance(expr, Neg):
        return Neg(bind(expr.operand, context))
    if isinstance(expr, Transpose):
        return Transpose(bind(expr.operand, context))
    if isinstance(expr, Structural):
        original = expr.evaluate_with
        return dataclasses.replace(
            expr, operand=bind(expr.operand, context), evaluate_with=lambda value, _ignored: original(value, context)
        )
    return Binary(expr.op, bind(expr.left, context), bind(expr.right, context))
