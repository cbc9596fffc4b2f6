"""Rendering expressions as Unicode text or LaTeX."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import templates
from .algebra import evaluate, is_filled_number
from .expr import FUNCTIONS, Apply, Binary, Expr, Neg, Num, Structural, Sym, Transpose

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


_EXACT_INTEGERS = 2.0**53  # beyond it a float is an integer anyway, and its digits are noise


def _number(value: float, latex: bool) -> str:
    if not math.isfinite(value) or abs(value) >= _EXACT_INTEGERS:  # inf, nan, 1e300: never int() them
        return f"{value:g}"
    if value == int(value):
        return str(int(value))
    if value == 0.5:
        return r"\tfrac{1}{2}" if latex else "½"
    inverse = 1 / value if abs(value) > 1 / _EXACT_INTEGERS else 0.0  # 1/1e-320 is inf
    long_decimal = len(f"{value:g}") > 5
    if long_decimal and abs(inverse) > 1 and abs(inverse - round(inverse)) < 1e-9:  # 1/3, not 0.333333
        k = round(inverse)
        return rf"\tfrac{{1}}{{{k}}}" if latex else f"1/{k}"
    return f"{value:g}"


def scalar_test(env: dict[str, Any]) -> Callable[[Expr], bool]:
    """Which subformulas are numbers on ``env``'s values, so that a number times an array reads as
    a product, not ``⊙`` (the ``is_scalar`` of :func:`render`)."""
    def is_scalar(expr: Expr) -> bool:
        if isinstance(expr, Num):
            return True
        try:
            return np.size(evaluate(expr, env)) == 1
        except (KeyError, ValueError, TypeError):
            return False

    return is_scalar


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
    def child(sub: Expr, minimum: int, last: bool = True) -> str:
        """``sub`` bracketed if it binds looser than ``minimum``, or if more is written after it
        (``last`` false) and it would take that in (``Σ a``)."""
        text = _render(sub, names, scalar, latex)
        if sub.precedence < minimum or (not last and _opens_right(sub)):
            return rf"\left({text}\right)" if latex else f"({text})"
        return text

    if isinstance(expr, Sym):
        name = names.get(expr.name, expr.name)
        return latex_name(name) if latex else name
    if isinstance(expr, Num):
        return _number(expr.value, latex)
    if isinstance(expr, Apply):
        f = FUNCTIONS[expr.function]
        template = f.latex if latex else f.text
        if "{}" in template or "{0}" in template:
            return _filled(template.replace("{}", "{0}"), expr.arguments, child)
        inner = ", ".join(_render(a, names, scalar, latex) for a in expr.arguments)
        return rf"{template}\left({inner}\right)" if latex else f"{template}({inner})"
    if is_filled_number(expr):
        value = expr.operand.value
        ones = r"\mathbf{1}" if latex else "𝟏"
        if value == 0:  # an array of zeros is written 0
            return "0"
        return ones if value == 1 else f"{_number(value, latex)} {ones}"
    if isinstance(expr, Structural):
        template = expr.latex if latex else expr.text
        if template == "{0}":  # shown as its operand, with the operand's precedence (see Structural)
            return _render(expr.operand, names, scalar, latex)
        return _filled(template, (expr.operand,), child)
    if isinstance(expr, Neg):
        # −A B and −a ⊙ b read the same either way; only a sum needs brackets after a minus
        return "-" + child(expr.operand, 3) if latex else "−" + child(expr.operand, 3)
    if isinstance(expr, Transpose):
        operand = expr.operand
        if isinstance(operand, Structural) and operand.kind == "inverse":  # (X⁻¹)ᵀ is written X⁻ᵀ
            inverted = child(operand.operand, 9)
            return rf"{inverted}^{{-\top}}" if latex else f"{inverted}⁻ᵀ"
        atomic = (isinstance(operand, Sym) and len(names.get(operand.name, operand.name)) == 1) or (
            is_filled_number(operand) and operand.operand.value == 1  # 𝟏ᵀ
        )
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
    left, right = child(expr.left, expr.precedence, last=False), child(expr.right, _right_minimum(expr))
    if isinstance(expr.right, Neg) and not right.startswith(("(", r"\left(")):  # A (−B), never "A −B"
        right = rf"\left({right}\right)" if latex else f"({right})"
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
            if any(c in _FROM_SUPERSCRIPTS for c in left) and not left.startswith("("):  # (W¹)², never W¹²
                left = f"({left})"
            return f"{left}{superscript(int(expr.right.value))}"
        return f"{left}^{right}"
    symbol = {"+": "+", "−": "-" if latex else "−"}[expr.op]
    return f"{left} {symbol} {right}"


def _filled(template: str, operands: tuple[Expr, ...], child: Callable[..., str]) -> str:
    """A template with each slot ``{k}`` replaced by operand k, bracketed where the template binds
    tighter than the operand (``(a + b)ᵀ``, ``Σ (a − b)``, ``(a ⊙ b) ⊗ c``)."""
    spans = templates.slots(template)
    pieces, done = [], 0
    for number, (start, end, enclosed) in enumerate(spans):
        k = int(template[start + 1 : end - 1])
        last = enclosed or end == len(template)
        pieces += [template[done:start], child(operands[k], templates.operand_minimum(template, number), last)]
        done = end
    return "".join(pieces) + template[done:]


def _right_minimum(expr: Binary) -> int:
    return expr.precedence + (expr.op in "−/")


def _opens_right(expr: Expr) -> bool:
    """Its text ends in the bare operand of a prefix such as ``Σ``, which would take in what follows."""
    if isinstance(expr, Structural):
        return _opens_right(expr.operand) if expr.text == "{0}" else templates.opens_right(expr.text)
    if isinstance(expr, Apply):
        return templates.opens_right(FUNCTIONS[expr.function].text.replace("{}", "{0}"))
    if isinstance(expr, Binary) and expr.op != "^":
        return expr.right.precedence >= _right_minimum(expr) and _opens_right(expr.right)
    return False


def _grouped(expr: Expr, text: str, latex: bool) -> str:
    """Parenthesize a matrix product inside a Hadamard product, as the seeds write ((W²)ᵀδ²) ⊙ σ'(z¹)."""
    if isinstance(expr, Binary) and expr.op == "@":
        return rf"\left({text}\right)" if latex else f"({text})"
    return text


