"""The other two readings of each line: seed 000's index notation and seed 002's differentials.

- ``index``: component ``k`` of the gradient, written with the table's index template of the
  operation that uses the quantity — the chain-rule sum and the Kronecker delta collapsing it;
- ``differential``: ``dC = G : dM = G : (dM written with dq) = ∂C/∂q : dq``, where M is the next
  named quantity (or the loss) and the middle step is the JVP of the path from q to M.  Its
  numbers are checked too: ``⟨G, J dq⟩ = ⟨∂C/∂q, dq⟩`` for a random ``dq`` (the dot-product test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..symbolic import Expr, Num, Structural, Sym, bind, evaluate, simplify, substitute
from .derive import Derivation, Line, environment, gradient_formula, references_by_name, tidy
from .graph import Quantity


@dataclass
class Differential:
    """``dC = Σ G : dM = formula : dq`` for one line, with its dot-product check."""

    terms: list[tuple[Expr, Expr]]  # (G, dM written with dq)
    differential_symbol: str
    error: float


def _path_terms(derivation: Derivation, quantity: Quantity, current: Expr) -> list[tuple[Quantity, Expr]]:
    """(M, dM) for the named quantities (or the loss) M reached through unnamed ones."""
    graph = derivation.graph
    found = []
    for consumer, argnum in quantity.consumers:
        notation = consumer.prim.notation
        jvp = notation.jvp[min(argnum, len(notation.jvp) - 1)]
        mapping = {"t": current, "out": graph.ref(consumer)}
        mapping.update({f"x{j}": graph.ref(arg) for j, arg in enumerate(consumer.args)})
        moved = simplify(bind(substitute(jvp, mapping), graph.context(consumer, argnum)))
        if consumer.name is not None or consumer is graph.output:
            found.append((consumer, moved))
        else:
            found.extend(_path_terms(derivation, consumer, moved))
    return found


def differential(derivation: Derivation, line: Line, seed: int = 0) -> Differential:
    quantity = line.quantity
    d_symbol = f"d:{quantity.symbol}"
    terms = []
    for consumer, moved in _path_terms(derivation, quantity, Sym(d_symbol)):
        if consumer is derivation.graph.output:
            upstream: Expr = derivation.output_gradient
        elif references_by_name(derivation, consumer):
            upstream = Sym(f"g:{consumer.symbol}")
        else:
            upstream = tidy(derivation, gradient_formula(derivation, consumer, {}))
        terms.append((upstream, moved))
    env = environment(derivation)
    env[d_symbol] = np.random.default_rng(seed).standard_normal(quantity.shape)
    try:
        lhs = sum(float(np.sum(np.asarray(evaluate(g, env)) * np.asarray(evaluate(m, env)))) for g, m in terms)
        rhs = float(np.sum(np.asarray(evaluate(line.formula, env)) * env[d_symbol]))
        error = abs(lhs - rhs) / max(abs(rhs), 1.0)
    except (KeyError, ValueError, TypeError):
        error = float("nan")
    return Differential(terms, d_symbol, error)


def index_reading(derivation: Derivation, line: Line, text: Any) -> str:
    """Component k of the gradient, from the index template of each operation using q."""
    graph = derivation.graph
    parts = []
    for consumer, argnum in line.quantity.consumers:
        notation = consumer.prim.notation
        template = notation.index[min(argnum, len(notation.index) - 1)]
        if references_by_name(derivation, consumer):
            upstream: Expr = Sym(f"g:{consumer.symbol}")
        else:
            upstream = tidy(derivation, gradient_formula(derivation, consumer, {}))
        if notation.derivatives:
            parts.append(_elementwise_index(derivation, line, consumer, argnum, upstream, text))
            continue
        replacements = {"{g}": text(upstream), "{out}": text(graph.ref(consumer))}
        replacements.update({f"{{{j}}}": text(graph.ref(arg)) for j, arg in enumerate(consumer.args)})
        for placeholder, value in replacements.items():
            template = template.replace(placeholder, value)
        parts.append(template)
    return " + ".join(parts) if parts else "0"


def _elementwise_index(
    derivation: Derivation, line: Line, consumer: Quantity, argnum: int, upstream: Expr, text: Any
) -> str:
    """``Σ_j [g]_j [f']_j δ_jk = [g]_k [f']_k``, with f' of the actual arguments, simplified.

    A matrix quantity is indexed kl (summed over ij); a number is written without indices.
    """
    graph = derivation.graph
    notation = consumer.prim.notation
    mapping = {"out": graph.ref(consumer)}
    mapping.update({f"x{j}": graph.ref(arg) for j, arg in enumerate(consumer.args)})
    derivative = notation.derivatives[min(argnum, len(notation.derivatives) - 1)]
    slope = simplify(bind(substitute(derivative, mapping), graph.context(consumer, argnum)))
    matrix = len(line.shape) == 2 and min(line.shape) > 1
    summed, free, kronecker = ("ij", "kl", "δ_ik δ_jl") if matrix else ("j", "k", "δ_jk")

    env = environment(derivation)

    def component(expr: Expr, index: str) -> str:
        number = _spread_number(expr, env)  # the g of a sum is one number copied to every entry
        return text(number) if number is not None else f"[{text(expr)}]_{index}"

    g = component(upstream, summed)
    wrt = f"[{text(graph.ref(line.quantity))}]_{free}"
    output = f"[{text(graph.ref(consumer))}]_{summed}"
    if slope == Num(1.0):
        return f"Σ_{summed} {g} ∂{output}/∂{wrt} = Σ_{summed} {g} {kronecker} = {component(upstream, free)}"
    return (
        f"Σ_{summed} {g} ∂{output}/∂{wrt} = Σ_{summed} {g} {component(slope, summed)} {kronecker} "
        f"= {component(upstream, free)} {component(slope, free)}"
    )


def _spread_number(expr: Expr, env: dict[str, Any]) -> Expr | None:
    """The number a copied array holds in every entry (``½ λ`` of a penalty), if it is one."""
    while isinstance(expr, Structural) and expr.text == "{0}":
        expr = expr.operand
    if isinstance(expr, Num):
        return expr
    try:
        return expr if np.size(evaluate(expr, env)) == 1 else None
    except (KeyError, ValueError, TypeError):
        return None
