"""The Jacobian of a vector-valued f, read off its vector-Jacobian product.

Backpropagation never forms a Jacobian: it computes ``uᵀJ``, the VJP, for one vector u.  Written
with u as a symbol, the VJP of ``f = σ(W x)`` is ``∂(uᵀf)/∂x = Wᵀ (σ'(W x) ⊙ u)``, a formula linear
in u, and the matrix in front of u is the Jacobian's transpose: ``Jᵀ = Wᵀ diag(σ'(W x))``, so
``J = ∂f/∂x = diag(σ'(W x)) W``.  :func:`explain_jacobian` derives the VJP lines (each checked
against the engine with a random u), reads J off them (symbolic/operator.py), and
checks J against the engine's VJPs with the basis vectors u = e₁, …, e_m, row by row.

Layouts: the *numerator* layout writes J as m×n (row i is ∂fᵢ/∂x), the *denominator* layout as
its transpose n×m (the shape of x beside each fᵢ, as a gradient is written).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reverse import grad_of
from ..symbolic import Expr, Transpose, evaluate
from ..symbolic.operator import operator
from ..symbolic.readable import readable
from ..tensor import Tensor
from .api import Explanation, explain
from .derive import UPSTREAM, Derivation, environment

LAYOUTS = ("numerator", "denominator")


@dataclass
class JacobianLine:
    """``∂f/∂x = formula`` in one layout, with the check of its values."""

    name: str
    formula: Expr | None  # None when the VJP is not written as M u
    shape: tuple[int, int]
    error: float = float("nan")
    ok: bool = False


def is_vector(shape: tuple[int, ...]) -> bool:
    """A 1-D array, a column n×1 or a row 1×n."""
    return len(shape) == 1 or (len(shape) == 2 and 1 in shape)


def explain_jacobian(
    output: Tensor,
    layout: str = "numerator",
    seed: int = 0,
    constraints: dict[str, str] | None = None,
    show: set[str] | None = None,
) -> Explanation:
    """Explain the Jacobian of a vector ``output`` with respect to each vector input in ``show``."""
    if layout not in LAYOUTS:
        raise ValueError(f"explain: the Jacobian layout is 'numerator' or 'denominator', got {layout!r}")
    u = np.random.default_rng(seed).standard_normal(output.shape)
    explanation = explain(output, loss_name="f", constraints=constraints, show=show, upstream=u)
    derivation = explanation.derivation
    derivation.jacobian_layout = layout
    derivation.jacobians = [
        _jacobian_line(derivation, line, output, layout) for line in derivation.lines if line.quantity.is_leaf
    ]
    return explanation


def _jacobian_line(derivation: Derivation, line, output: Tensor, layout: str) -> JacobianLine:
    quantity = line.quantity
    m, n = output.size, int(np.prod(quantity.shape))
    engine = np.stack([  # row i: the VJP with u = eᵢ, ∂fᵢ/∂x
        np.ravel(grad_of([output], [quantity.tensor], [basis.reshape(output.shape)], retain_graph=True)[0])
        for basis in np.eye(m, dtype=output.dtype)
    ])
    shape = (m, n) if layout == "numerator" else (n, m)
    name = f"∂f/∂{quantity.name}"
    env = environment(derivation)
    column = output.ndim == 1 or output.shape[-1] == 1
    transposed = operator(line.derived or line.formula, UPSTREAM, env, column)
    x_column = quantity.tensor.ndim == 1 or quantity.shape[-1] == 1
    if transposed is None or not is_vector(quantity.shape) or (x_column != column and n > 1):
        return JacobianLine(name, None, shape)
    numerator = Transpose(transposed) if column else transposed  # M u = Jᵀ u; u M = u J
    wanted = numerator if layout == "numerator" else Transpose(numerator)
    reading = readable(wanted, env, derivation.facts, derivation.tolerance, derivation.names())
    try:
        value = np.asarray(evaluate(reading.expr, env), dtype=np.float64).reshape(shape)
    except (KeyError, ValueError, TypeError):
        return JacobianLine(name, None, shape)
    expected = engine if layout == "numerator" else engine.T
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    error = float(np.max(np.abs(value - expected), initial=0.0)) / scale
    return JacobianLine(name, reading.expr, shape, error, error <= derivation.tolerance)
