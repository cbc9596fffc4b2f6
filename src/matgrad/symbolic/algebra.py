"""Evaluating, substituting, simplifying and binding expressions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from .expr import FUNCTIONS, Apply, Binary, Env, Expr, Neg, Num, Structural, Sym, Transpose

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
    if expr.op == "@" and _outer(expr, left, right):
        return np.multiply.outer(left, right)
    return _BINARY[expr.op](left, right)


def _outer(expr: Binary, left: Any, right: Any) -> bool:
    """Two 1-D vectors, one written transposed: a column times a row, not NumPy's inner product.

    In ``x A`` a 1-D ``x`` is a row, so the gradient of A, ``xᵀ g``, is a column times a row; in
    ``A x`` it is a column, and the gradient of A is ``g xᵀ``.  (Both transposed, or neither, is
    the inner product.)
    """
    vectors = np.ndim(left) == np.ndim(right) == 1
    return vectors and isinstance(expr.left, Transpose) != isinstance(expr.right, Transpose)


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


def is_filled_number(expr: Expr) -> bool:
    """A number copied to every entry (``g`` of a full sum): in a Hadamard product, just a number."""
    return isinstance(expr, Structural) and expr.text == "{0}" and isinstance(expr.operand, Num)


def _factors(expr: Expr) -> tuple[float, list[Expr]]:
    if isinstance(expr, Num):
        return expr.value, []
    if is_filled_number(expr):  # c 𝟏: the number c, and the ones that give the array its shape
        return expr.operand.value, [dataclasses.replace(expr, operand=Num(1.0))]
    if isinstance(expr, Binary) and expr.op == "/" and isinstance(expr.right, Num) and expr.right.value != 0:
        coefficient, factors = _factors(expr.left)
        return coefficient / expr.right.value, factors
    if isinstance(expr, Neg):
        coefficient, factors = _factors(expr.operand)
        return -coefficient, factors
    if isinstance(expr, Structural) and expr.kind == "sum":  # Σ (k X) = k Σ X: ½ Σ 2 X reads Σ X
        coefficient, factors = _factors(expr.operand)
        if factors and coefficient != 1:
            return coefficient, [dataclasses.replace(expr, operand=_rebuild(factors))]
    if isinstance(expr, Binary) and expr.op == "*":
        a, fa = _factors(expr.left)
        b, fb = _factors(expr.right)
        return a * b, fa + fb
    return 1.0, [expr]


def _number_per_count(expr: Expr) -> Structural | None:
    """The ``c / N`` inside a number spread over an array (a mean's gradient), if ``expr`` is one."""
    while isinstance(expr, Structural) and expr.text == "{0}":  # copies along axes
        expr = expr.operand
    if isinstance(expr, Structural) and expr.kind == "per_count" and is_filled_number(expr.operand):
        return expr
    return None


def _without_count(expr: Expr) -> Expr:
    """``expr`` with its ``/ N`` taken out, the copies around it kept (they give it its shape)."""
    if isinstance(expr, Structural) and expr.kind == "per_count":
        return expr.operand
    return dataclasses.replace(expr, operand=_without_count(expr.operand))


def _product(left: Expr, right: Expr) -> Expr:
    for scaled, other in ((left, right), (right, left)):
        count = _number_per_count(scaled)
        if count is not None:  # (c / N) ⊙ X reads c X / N: a division by a number moves onto the product
            return dataclasses.replace(count, operand=_product(_without_count(scaled), other))
    if isinstance(right, Binary) and right.op == "/" and right.left == Num(1.0):
        return Binary("/", _product(Num(1.0), left), right.right)  # g ⊙ (1 ⊘ y) reads g ⊘ y
    coefficient, factors = _factors(Binary("*", left, right))
    if coefficient == 0 or not factors:
        filled = next((side for side in (left, right) if is_filled_number(side)), None)
        if filled is not None:  # 𝟏 ⊙ 1 is still 𝟏: a number copied over an array keeps the array's shape
            return dataclasses.replace(filled, operand=Num(coefficient))
        return Num(coefficient)
    result = _rebuild(factors)
    if coefficient == 1:
        return result
    if coefficient == -1:
        return Neg(result)
    return Binary("*", Num(coefficient), result)


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
