"""``--jacobians``: the explicit Jacobians that the VJPs of a derivation never form.

Backprop multiplies by Jacobians without writing them down: the
Jacobian of an elementwise function is ``diag(f')``, so ``vᵀ diag(f') = v ⊙ f'``.  Here each step
of the backward pass gets its local Jacobian ``∂consumer/∂quantity`` built column by column from
the table's JVP rules (forward mode), and ``vᵀJ`` is compared with what the VJP rule computes
(reverse mode): two rules of the table that must agree, checked on the user's own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reverse import grad_of
from ..symbolic import Sym, simplify
from ..tensor import Tensor
from ..transforms import jacfwd
from .derive import Derivation, step_formula
from .graph import Quantity
from .render import formula_text

PRINTED_ENTRIES = 64  # larger Jacobians are described, not printed
COMPUTED_ENTRIES = 40_000  # larger ones are not built at all: that is the point of the VJP


@dataclass
class LocalJacobian:
    """∂consumer/∂quantity as a (consumer size × quantity size) matrix, and its check."""

    label: str
    vjp: str  # the step of the backward pass that replaces multiplying by the matrix
    shape: tuple[int, int]
    matrix: np.ndarray | None  # None when too large to build
    diagonal: bool
    error: float  # max |vᵀJ − VJP| relative to the largest entry of the VJP


def local_jacobians(derivation: Derivation) -> list[LocalJacobian]:
    """One Jacobian per step of the backward pass that reaches a named quantity."""
    cotangents = _cotangents(derivation)
    steps = []
    for line in derivation.lines:
        for consumer, argnum in line.quantity.consumers:
            steps.append(_local(derivation, consumer, argnum, line.quantity, cotangents[id(consumer)]))
    return steps


def _cotangents(derivation: Derivation) -> dict[int, np.ndarray]:
    """∂loss/∂q for every quantity of the graph (the v of each vᵀJ)."""
    graph = derivation.graph
    output = graph.output.tensor
    values = grad_of([output], [q.tensor for q in graph.quantities], [np.ones((), output.dtype)], retain_graph=True)
    return {id(q): np.asarray(v) for q, v in zip(graph.quantities, values)}


def _local(
    derivation: Derivation, consumer: Quantity, argnum: int, quantity: Quantity, v: np.ndarray
) -> LocalJacobian:
    rows, columns = int(np.prod(consumer.shape)), int(np.prod(quantity.shape))
    consumer_label = _label(derivation, consumer)
    label = f"∂{consumer_label}/∂{_label(derivation, quantity)}"
    upstream = derivation.gradient_name(consumer) if consumer.name else f"∂{derivation.loss_name}/∂{consumer_label}"
    step = simplify(step_formula(derivation.graph, consumer, argnum, Sym("v:upstream")))
    vjp = formula_text(derivation, step, names={"v:upstream": upstream})
    if rows * columns > COMPUTED_ENTRIES:
        return LocalJacobian(label, vjp, (rows, columns), None, False, float("nan"))
    prim, params = consumer.prim, consumer.params
    inputs = [arg.value for arg in consumer.args]

    def forward(x: Tensor) -> Tensor:
        return prim(*inputs[:argnum], x, *inputs[argnum + 1 :], **params)

    matrix = np.asarray(jacfwd(forward)(quantity.value), dtype=np.float64).reshape(rows, columns)
    reverse = prim.vjp[argnum](v, consumer.value, *inputs, **params)
    expected = np.asarray(reverse, dtype=np.float64).reshape(-1)
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1.0)
    error = float(np.max(np.abs(v.reshape(-1) @ matrix - expected))) / scale if expected.size else 0.0
    diagonal = rows == columns and np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0
    return LocalJacobian(label, vjp, (rows, columns), matrix, diagonal, error)


def _label(derivation: Derivation, quantity: Quantity) -> str:
    if quantity.name is not None:
        return quantity.name
    return f"({formula_text(derivation, derivation.definition(quantity))})"


def jacobians_text(derivation: Derivation, tolerance: float | None = None) -> str:
    """The local Jacobians as text, each with ``vᵀJ = VJP`` checked."""
    if derivation.layout is not None:
        raise ValueError("explain: the explicit Jacobians are shown in the layout of the code, not re-rendered")
    tolerance = tolerance or derivation.tolerance
    out = [
        "Explicit Jacobians, built from the JVP rules (forward mode, one column per input entry; a matrix",
        "is flattened row by row), beside the VJP that replaces each: v is the gradient arriving at the step",
    ]
    for jacobian in local_jacobians(derivation):
        rows, columns = jacobian.shape
        out.append(f"  {jacobian.label}   ({rows} × {columns}, {_kind(jacobian)})")
        out.append(f"      vᵀJ is computed as  {jacobian.vjp}")
        if jacobian.matrix is None:
            out.append(f"      not built: {rows * columns:,} entries; the VJP needs none of them")
            continue
        if rows * columns <= PRINTED_ENTRIES:
            printed = np.array2string(jacobian.matrix, precision=3, suppress_small=True, max_line_width=100)
            out += ["      " + row for row in printed.splitlines()]
        mark = "✓" if jacobian.error <= tolerance else "✗"
        out.append(f"      vᵀJ = VJP {mark} {jacobian.error:.0e}")
    return "\n".join(out)


def _kind(jacobian: LocalJacobian) -> str:
    rows, columns = jacobian.shape
    if jacobian.diagonal and np.all(np.diag(jacobian.matrix) == 1):
        return "the identity: the VJP copies v"
    if jacobian.diagonal:
        return "diagonal: the VJP is a Hadamard product"
    return f"{rows * columns:,} entries"
