"""Forward mode: tangents pushed through a recorded graph with the table's JVP rules.

The walk goes producers-first over the same graph the backward sweep uses and calls
``node._prim.jvp[i](t, out, *inputs, **params)`` for each input that carries a tangent,
adding the contributions of several inputs.  A rule's result is broadcast to the node's shape
here, once, as :func:`unbroadcast` sums it back in reverse mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .primitives import broadcast_to
from .reverse import toposort
from .state import STATE, enable_grad
from .tensor import Tensor, _check_finite


def jvp_of(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    tangents: Sequence[Any],
    create_graph: bool = False,
) -> list[Any]:
    """Tangents of ``outputs`` when ``inputs`` move along ``tangents`` (``J t`` for each output).

    With ``create_graph`` the rules run on Tensors and are recorded, so the result can be
    differentiated again (forward-over-reverse Hessians).
    """
    tangent_of: dict[int, Any] = {id(x): t for x, t in zip(inputs, tangents)}
    traced = [out for out in outputs if out.requires_grad]
    with enable_grad() if create_graph else contextlib.nullcontext():
        for node in reversed(toposort(traced)):  # producers first
            if node._prim is None or id(node) in tangent_of:
                continue
            t = _push(node, tangent_of, create_graph)
            if t is not None:
                tangent_of[id(node)] = t
    return [_tangent_or_zeros(out, tangent_of, create_graph) for out in outputs]


def _push(node: Tensor, tangent_of: dict[int, Any], create_graph: bool) -> Any:
    prim, parents, params = node._prim, node._parents, node._params
    if create_graph:
        out, args = node, parents
    else:
        out = node.data
        args = tuple(p.data if type(p) is Tensor else p for p in parents)
    total = None
    for i, parent in enumerate(parents):
        t = tangent_of.get(id(parent)) if type(parent) is Tensor else None
        if t is None:
            continue
        rule = prim.jvp[i]
        if rule is None:
            raise TypeError(f"jvp: {prim.name} has no derivative with respect to its argument {i}")
        contribution = rule(t, out, *args, **params)
        total = contribution if total is None else total + contribution
    if total is None:
        return None
    if total.shape != node.shape:
        total = broadcast_to(total, shape=node.shape)
    if STATE.anomaly:
        _check_finite(total.data if type(total) is Tensor else total, f"jvp of {prim.name}")
    return total


def _tangent_or_zeros(out: Tensor, tangent_of: dict[int, Any], create_graph: bool) -> Any:
    t = tangent_of.get(id(out))
    if t is None:
        zeros = np.zeros(out.shape, dtype=out.dtype)
        return Tensor(zeros) if create_graph else zeros
    return t
