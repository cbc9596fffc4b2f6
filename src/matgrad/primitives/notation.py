"""The notation column of the table: each rule as a matrix-calculus formula that renders and
evaluates.

Formulas are :mod:`matgrad.symbolic` expressions over ``x0, x1, …`` (the inputs), ``out`` (the
result), ``g`` (the gradient flowing in, ``∂ℓ/∂out``) and ``t`` (a tangent).  For every input:

- ``vjp[i]`` — the gradient ``gᵀ ∂out/∂xᵢ`` written without forming the Jacobian (column
  layout: ``g ⊙ σ'(z)``, ``g hᵀ``).  ``explain`` evaluates it with NumPy and compares it with what the
  engine's rule computed, so a wrong rule (or a wrong formula) is caught on the numbers;
- ``jvp[i]`` — the differential ``d out`` when only ``xᵢ`` moves (``t`` stands for ``dxᵢ``);
  the differential notation's steps read ``g : d out = g : jvp[i] = vjp[i] : dxᵢ``;
- ``index[i]`` — component ``k`` of the gradient, the chain-rule sum and the Kronecker delta
  that collapses it (index notation);
- ``product[i]`` — which product the VJP uses; ``why`` — why that product appears.

Formulas are evaluated on the shapes of the recorded values; the gradient of an input that was
broadcast is summed back to its shape by ``explain`` (as :func:`unbroadcast` does in the engine).
Operations that only move entries (sums over axes, reshapes, indexing), and functions of a whole
array (an inverse, a determinant), use :class:`Structural` nodes, evaluated with a context: the
primitive's parameters (``params``), the input values (``inputs``), their shapes (``shapes``), and
the input being differentiated (``argnum``, its shape ``shape``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..symbolic import Expr, Num, Structural, Sym, evaluate, render, simplify, substitute, wrap

g, t, out = Sym("g"), Sym("t"), Sym("out")
x = tuple(Sym(f"x{i}") for i in range(3))

#: how placeholders print in the table's own templates (``{g}``, ``{0}``)
TEMPLATE_NAMES = {"g": "{g}", "t": "{t}", "out": "{out}", "x0": "{0}", "x1": "{1}", "x2": "{2}"}


def structural(kind: str, operand: Any, text: str, latex: str, evaluate_with: Callable[[Any, dict], Any]) -> Structural:
    return Structural(kind, wrap(operand), text, latex, evaluate_with)


@dataclass(frozen=True)
class Notation:
    expression: Expr
    vjp: tuple[Expr, ...]
    jvp: tuple[Expr, ...]
    index: tuple[str, ...]
    product: tuple[str, ...]
    why: str
    derivatives: tuple[Expr, ...] = ()  # elementwise maps: f' per input, the diagonal of the Jacobian

    def __post_init__(self) -> None:
        if len({len(self.vjp), len(self.jvp), len(self.index), len(self.product)}) != 1:
            raise ValueError(f"notation of {self.expression}: one vjp, jvp, index and product per input")

    @property
    def text(self) -> str:
        return render_formula(self.expression)

    @property
    def jacobian(self) -> tuple[str, ...]:
        """The VJPs as text templates (``{g}``, ``{0}``, …)."""
        return tuple(render_formula(v) for v in self.vjp)

    @property
    def differential(self) -> tuple[str, ...]:
        """The differential notation (Frobenius product): ``g : d out = g : (jvp with dxᵢ) = vjp : dxᵢ``."""
        steps = []
        for i, (vjp, jvp) in enumerate(zip(self.vjp, self.jvp)):
            moved = render_formula(substitute(jvp, {"t": Sym(f"d{{{i}}}")}))
            steps.append(f"{{g}} : {moved} = {render_formula(vjp)} : d{{{i}}}")
        return tuple(steps)


def render_formula(expr: Expr, names: dict[str, str] | None = None, latex: bool = False, is_scalar: Any = None) -> str:
    """Render with the table's placeholders unless other names are given."""
    return render(expr, names or TEMPLATE_NAMES, is_scalar=is_scalar, latex=latex)


def evaluate_formula(expr: Expr, env: dict[str, Any], context: dict[str, Any]) -> Any:
    """Evaluate with NumPy; ``context`` carries the primitive's parameters and input shapes."""
    return evaluate(expr, env, context)


def elementwise(
    expression: Expr, derivatives: tuple[Any, ...], why: str = "", products: tuple[str, ...] | None = None
) -> Notation:
    """An elementwise map: its Jacobian is diagonal, diag(f'(x)), so its VJP is g ⊙ f'(x)."""
    vjps, jvps, index, product, diagonals = [], [], [], [], []
    for i, derivative in enumerate(derivatives):
        d = wrap(derivative)
        diagonals.append(d)
        vjps.append(_scaled(g, d))
        jvps.append(_scaled(t, d))
        collapsed = "[{g}]_k" if d == Num(1.0) else f"[{{g}}]_k [{render_formula(d)}]_k"
        index.append(
            f"Σ_j [{{g}}]_j ∂[{{out}}]_j/∂[{{{i}}}]_k = Σ_j [{{g}}]_j [{render_formula(d)}]_j δ_jk = {collapsed}"
        )
        product.append("copy" if isinstance(d, Num) else "hadamard")
    reason = why or (
        "elementwise: out_j depends on input_j alone, so ∂out/∂input is diagonal, diag(f'), "
        "and a vector times a diagonal matrix is a Hadamard product"
    )
    return Notation(
        expression, tuple(vjps), tuple(jvps), tuple(index), tuple(products or product), reason, tuple(diagonals)
    )


def _scaled(seed: Sym, factor: Expr) -> Expr:
    return simplify(seed * factor)


def linear(expression: Expr, vjp: Expr, index: str, product: str, why: str) -> Notation:
    """A map linear in its one input: the JVP applies the map to the tangent."""
    return Notation(expression, (vjp,), (substitute(expression, {"x0": t}),), (index,), (product,), why)


def custom(
    expression: Expr,
    vjp: tuple[Expr, ...],
    jvp: tuple[Expr, ...],
    index: tuple[str, ...],
    product: tuple[str, ...],
    why: str,
) -> Notation:
    """A rule written out by hand (matmul, reductions, nn functions)."""
    return Notation(expression, vjp, jvp, index, product, why)


def evaluate_vjp(prim: Any, argnum: int, g: Any, out: Any, inputs: Any, params: dict) -> np.ndarray:
    """The notation's VJP formula for input ``argnum`` evaluated with NumPy, in that input's shape.

    This is the second statement of each derivative: ``explain`` and the table's tests compare
    it with the engine's rule ``prim.vjp[argnum]``.
    """
    from .core import unbroadcast  # core imports this module for the Notation type

    formula = prim.notation.vjp[min(argnum, len(prim.notation.vjp) - 1)]  # variadic rows hold one
    shapes = [np.shape(v) for v in inputs]
    env = {"g": g, "out": out, **{f"x{i}": v for i, v in enumerate(inputs)}}
    context = {"params": params, "shape": shapes[argnum], "shapes": shapes, "argnum": argnum, "inputs": inputs}
    value = np.asarray(evaluate_formula(formula, env, context), dtype=np.result_type(g, np.float32))
    target = shapes[argnum]
    if value.shape == target:
        return value
    if value.ndim <= len(target) and all(a in (1, b) for a, b in zip(value.shape[::-1], target[::-1])):
        return np.broadcast_to(value, target)
    return unbroadcast(value, target)
