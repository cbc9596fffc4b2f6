"""Cost accounting: the O(N²) VJPs against O(N³) Jacobian products, counted on the user's own graph.

Multiply-adds and memory (in numbers stored) for four ways to get ∂C/∂θ for every parameter:

- the reverse sweep of VJPs (what backpropagation does: no Jacobian is formed);
- forward mode, one JVP per parameter entry (each costs about one forward pass);
- multiplying the explicit Jacobians from the loss backwards (row vector × matrices);
- multiplying the explicit Jacobians from the parameters forwards (matrix × matrix).

Counts follow the recorded shapes: a matrix product of (m×k) by (k×n) costs m·k·n; an
elementwise or moving operation costs one per entry; a dense Jacobian of an operation with
input size n and output size m holds m·n numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import Graph, Quantity


@dataclass
class Cost:
    method: str
    multiply_adds: int
    memory: int


def _forward_cost(q: Quantity) -> int:
    if q.prim.name == "matmul":
        left = np.shape(q.args[0].value)
        inner = left[-1] if left else 1
        return int(np.prod(q.shape, dtype=np.int64)) * inner
    return int(max(np.prod(q.shape, dtype=np.int64), max((np.size(arg.value) for arg in q.args), default=1)))


def costs(graph: Graph) -> list[Cost]:
    computed = [q for q in graph.quantities if not q.is_leaf]
    parameters = [q for q in graph.quantities if q.is_leaf]
    n_parameters = int(sum(np.size(q.value) for q in parameters))
    forward = sum(_forward_cost(q) for q in computed)
    vjp = sum(_forward_cost(q) * sum(1 for a in q.args if isinstance(a, Quantity)) for q in computed)
    saved = int(sum(np.size(q.value) for q in graph.quantities))
    jacobian_entries = 0
    reverse_products = 0
    forward_products = 0
    for q in computed:
        for arg in q.args:
            if isinstance(arg, Quantity):
                entries = int(np.size(q.value)) * int(np.size(arg.value))
                jacobian_entries += entries
                reverse_products += entries  # a row vector times an (out × in) matrix
                forward_products += entries * n_parameters  # (out × in) times (in × P)
    return [
        Cost("reverse sweep of VJPs (backpropagation)", vjp, saved),
        Cost(f"forward mode: {n_parameters} JVPs, one per parameter entry", forward * n_parameters, saved),
        Cost("explicit Jacobians multiplied from the loss backwards", reverse_products, jacobian_entries),
        Cost("explicit Jacobians multiplied from the parameters forwards", forward_products, jacobian_entries),
    ]


def cost_text(graph: Graph) -> str:
    rows = costs(graph)
    base = max(rows[0].multiply_adds, 1)
    lines = [f"  {'method':<62} {'multiply-adds':>15} {'× VJP':>10} {'memory (numbers)':>18}"]
    for row in rows:
        ratio = row.multiply_adds / base
        lines.append(f"  {row.method:<62} {row.multiply_adds:>15,} {ratio:>10.3g} {row.memory:>18,}")
    return "Cost of ∂C/∂θ for every parameter θ:\n" + "\n".join(lines)
