"""Render a formula's tree back as text (re-parseable, minimal parentheses) or as LaTeX."""

from __future__ import annotations

import unicodedata
from typing import Any

from .functions import FUNCTIONS
from .tree import Const, Node, Op, Var

# Precedence, loosest to tightest, as Python parses: comparisons, + -, * / @, unary -, **, postfix (.T, [], call).
_COMPARISON, _SUM, _PRODUCT, _UNARY, _POWER, _POSTFIX, _ATOM = range(7)
_INFIX = {"add": ("+", _SUM), "sub": ("-", _SUM), "mul": ("*", _PRODUCT), "div": ("/", _PRODUCT),
          "matmul": ("@", _PRODUCT), "pow": ("**", _POWER)}
_COMPARISONS = {"gt": (">", ">"), "ge": (">=", r"\geq"), "lt": ("<", "<"), "le": ("<=", r"\leq"),
                "eq": ("==", "="), "ne": ("!=", r"\neq")}


def _wrap(text: str, parens: bool, left: str = "(", right: str = ")") -> str:
    return f"{left}{text}{right}" if parens else text


def _number(value: int | float) -> str:
    return repr(value)


def _index_text(index: tuple) -> str:
    def item(part: Any) -> str:
        if isinstance(part, int):
            return str(part)
        bounds = ["" if b is None else str(b) for b in (part.start, part.stop)]
        return ":".join(bounds + ([str(part.step)] if part.step is not None else []))

    return ", ".join(item(part) for part in index)


def _param_text(value: Any) -> str:
    if isinstance(value, tuple):
        return f"({', '.join(map(_param_text, value))}{',' * (len(value) == 1)})"
    return repr(value) if isinstance(value, str) else str(value)


def to_text(node: Node) -> str:
    """The tree as a formula ``parse`` reads back to the same tree: ``0.5 * sum((W @ h - y) ** 2)``."""
    return _text(node)[0]


def _text(node: Node) -> tuple[str, int]:
    if isinstance(node, Const):
        return _number(node.value), _UNARY if node.value < 0 else _ATOM
    if isinstance(node, Var):
        return node.name, _ATOM
    if node.name in ("identity", "eye"):
        return ("I" if node.name == "identity" else f"eye({node.param('n')})"), _ATOM
    parts = [_text(arg) for arg in node.args]
    if node.name in _COMPARISONS:  # never chained: an operand that is a comparison is bracketed
        (left, lp), (right, rp) = parts
        return f"{_wrap(left, lp <= _COMPARISON)} {_COMPARISONS[node.name][0]} {_wrap(right, rp <= _COMPARISON)}", 0
    if node.name in _INFIX:
        symbol, prec = _INFIX[node.name]
        (left, lp), (right, rp) = parts
        if node.name == "pow":  # right-associative; the exponent may be a unary minus
            return f"{_wrap(left, lp <= _POWER)} ** {_wrap(right, rp < _UNARY)}", prec
        return f"{_wrap(left, lp < prec)} {symbol} {_wrap(right, rp <= prec)}", prec
    if node.name == "neg":
        return "-" + _wrap(parts[0][0], parts[0][1] <= _UNARY), _UNARY
    if node.name in ("transpose", "index"):  # a literal needs parentheses too: (3).T, not 3.T
        base = _wrap(parts[0][0], parts[0][1] < _POSTFIX or isinstance(node.args[0], Const))
        suffix = ".T" if node.name == "transpose" else f"[{_index_text(node.param('index'))}]"
        return base + suffix, _POSTFIX
    return _call_text(node, [text for text, _ in parts]), _ATOM


def _call_text(node: Op, args: list[str]) -> str:
    """``name(args, key=value)``; the arrays of concatenate in a list, einsum's subscripts first."""
    params = dict(node.params)
    row = next((row for row in FUNCTIONS.values() if row.name == node.name), None)
    if row is not None and row.arrays == "list":
        args = [f"[{', '.join(args)}]"]
    if row is not None and row.arrays == "variadic":
        args = [_param_text(params.pop(name)) for name in row.literals] + args
    return f"{node.name}({', '.join(args + [f'{key}={_param_text(value)}' for key, value in params.items()])})"


# ----- LaTeX ----------------------------------------------------------------------------------
_NAMED = {"sigmoid": r"\sigma", "exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "max": r"\max",
          "min": r"\min", "maximum": r"\max", "minimum": r"\min", "sum": r"\sum", "trace": r"\mathrm{tr}",
          "cross_entropy": r"\mathrm{CE}"}
_GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}


def _symbol(name: str) -> str:
    """A variable name as LaTeX: ``W``, ``\\alpha``, ``\\mathrm{loss}``, ``W_{1}``, ``x_{\\mathrm{train}}``."""
    if "_" in name.strip("_") and "__" not in name:
        base, sub = name.split("_", 1)
        return f"{_symbol(base)}_{{{_symbol(sub)}}}"
    if len(name) == 1:
        words = unicodedata.name(name, "").split()
        if words[:1] == ["GREEK"]:
            letter = words[-1].lower().replace("lamda", "lambda")
            letter = letter.capitalize() if words[1] == "CAPITAL" else letter
            if words[1] != "CAPITAL" or letter in _GREEK_CAPITALS:
                return "\\" + letter
        return name
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


def _latex_number(value: int | float) -> str:
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return text


def to_latex(node: Node) -> str:
    r"""The tree as LaTeX math (no ``$``): ``\sigma``, ``\frac``, ``^{\top}``, ``\odot``, ``W h`` for ``W @ h``."""
    return _latex(node)[0]


def _paren(text: str, parens: bool) -> str:
    return _wrap(text, parens, r"\left(", r"\right)")


def _latex(node: Node) -> tuple[str, int]:
    if isinstance(node, Const):
        return _latex_number(node.value), _UNARY if node.value < 0 else _ATOM
    if isinstance(node, Var):
        return _symbol(node.name), _ATOM
    if node.name in ("identity", "eye"):
        return (r"\mathbf{I}" if node.name == "identity" else rf"\mathbf{{I}}_{{{node.param('n')}}}"), _ATOM
    parts = [_latex(arg) for arg in node.args]
    name = node.name
    if name in _COMPARISONS:  # the 0/1 mask: 𝟙[a > b]
        return rf"\mathbb{{1}}\left[{parts[0][0]} {_COMPARISONS[name][1]} {parts[1][0]}\right]", _ATOM
    if name in ("add", "sub", "mul", "matmul"):
        (left, lp), (right, rp) = parts
        prec = _SUM if name in ("add", "sub") else _PRODUCT
        right_parens = rp <= prec if name == "sub" else rp < prec or (prec == _PRODUCT and rp <= _UNARY)
        left, right = _paren(left, lp < prec), _paren(right, right_parens)  # A (-x), never A -x
        if name in ("add", "sub"):
            return f"{left} {'+' if name == 'add' else '-'} {right}", prec
        if isinstance(node.args[1], Const):
            return rf"{left} \cdot {right}", prec
        scales = isinstance(node.args[0], Const) or any(_is_identity(arg) for arg in node.args)  # 2 x, λ I
        joiner = " " if name == "matmul" or scales else r" \odot "
        return left + joiner + right, prec
    if name == "div":
        return rf"\frac{{{parts[0][0]}}}{{{parts[1][0]}}}", _ATOM
    if name == "pow":
        return f"{_paren(parts[0][0], parts[0][1] < _ATOM)}^{{{parts[1][0]}}}", _POWER
    if name == "neg":
        return "-" + _paren(parts[0][0], parts[0][1] <= _UNARY), _UNARY
    if name == "transpose":
        return _paren(parts[0][0], parts[0][1] < _ATOM) + r"^{\top}", _POSTFIX
    if name == "index":
        return f"{{{_paren(parts[0][0], parts[0][1] < _ATOM)}}}_{{{_index_text(node.param('index'))}}}", _POSTFIX
    return _latex_call(node, [text for text, _ in parts]), _ATOM


def _is_identity(node: Node) -> bool:
    return isinstance(node, Op) and node.name in ("identity", "eye")


def _latex_call(node: Op, args: list[str]) -> str:
    name = node.name
    if name == "sqrt":
        return rf"\sqrt{{{args[0]}}}"
    if name == "abs":
        return rf"\left|{args[0]}\right|"
    if name == "norm":
        return rf"\left\|{args[0]}\right\|_{{F}}"
    if name == "outer":
        a, b = (_paren(text, not isinstance(arg, Var)) for text, arg in zip(args, node.args))
        return rf"{a} {b}^{{\top}}"
    head = _NAMED.get(name, r"\mathrm{" + name.replace("_", r"\_") + "}")
    axis = node.param("axis")
    if axis is not None:
        head += rf"_{{\mathrm{{axis}}={_param_text(axis)}}}"
    return rf"{head}\left({', '.join(args)}\right)"
