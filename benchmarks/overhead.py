"""Per-operation overhead: one op on 2×2 float32 arrays, through matgrad and as bare NumPy.

At this size the arithmetic costs almost nothing, so the difference is the engine's
bookkeeping per op: wrapping, dispatch and recording a graph node (inputs that require grad),
or one backward sweep over a single node.  Both sides are called through a closure alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import matgrad as mg
from matgrad.primitives.elementwise import stable_sigmoid

from .workload import Impl, Workload

GROUP = "per-op overhead"
Op = Callable[[Any, Any], Any]
SEED = np.ones((2, 2), dtype=np.float32)  # the gradient flowing into the backward node


def _np_sigmoid(x: np.ndarray, _: Any) -> np.ndarray:
    """The very function matgrad's sigmoid runs, called bare: only the engine's cost differs."""
    return stable_sigmoid(x)


OPS: dict[str, tuple[Op, Op]] = {  # name: (matgrad op, NumPy op)
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b),
    "sigmoid": (lambda a, b: mg.sigmoid(a), _np_sigmoid),
}


def _arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 2)).astype(np.float32), rng.standard_normal((2, 2)).astype(np.float32)


def _tensors(requires_grad: bool) -> tuple[mg.Tensor, mg.Tensor]:
    a, b = _arrays()
    return mg.tensor(a, requires_grad=requires_grad), mg.tensor(b, requires_grad=requires_grad)


def _op(name: str, label: str, requires_grad: bool) -> Workload:
    engine_op, numpy_op = OPS[name]
    engine = Impl(setup=lambda: _tensors(requires_grad), step=lambda ab: engine_op(*ab))
    reference = Impl(setup=_arrays, step=lambda ab: numpy_op(*ab))
    return Workload(GROUP, f"{name}, {label}", {"matgrad": engine, "numpy": reference})


def _mul_node(state: dict[str, Any]) -> None:
    a, b = state["ab"]
    a.grad = b.grad = None
    state["c"] = a * b


def _mul_node_gradients() -> dict[str, np.ndarray]:
    state: dict[str, Any] = {"ab": _tensors(True)}
    _mul_node(state)
    state["c"].backward(SEED)
    return {"a": state["ab"][0].grad, "b": state["ab"][1].grad}


def _mul_vjps(ab: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    return {"a": SEED * ab[1], "b": SEED * ab[0]}


def _backward_node() -> Workload:
    """``c = a ⊙ b; c.backward(g)`` (the forward untimed) against ``g ⊙ b, g ⊙ a`` by hand."""
    engine = Impl(
        setup=lambda: {"ab": _tensors(True)},
        prepare=_mul_node,
        step=lambda state: state["c"].backward(SEED),
        gradients=_mul_node_gradients,
    )
    reference = Impl(setup=_arrays, step=_mul_vjps, gradients=lambda: _mul_vjps(_arrays()))
    return Workload(GROUP, "backward of one mul node", {"matgrad": engine, "numpy": reference})


def workloads() -> list[Workload]:
    rows = [_op(name, "recorded", requires_grad=True) for name in OPS]
    rows.append(_op("add", "constants, no graph", requires_grad=False))
    rows.append(_backward_node())
    return rows
