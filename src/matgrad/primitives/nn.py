"""Neural-network functions kept as primitives for stability and speed: softmax,
log_softmax and cross-entropy from logits, all computed through logsumexp.

The fused cross-entropy's VJP is the famous ``softmax(z) − y``: no division by a probability
that may be 0, no ``log(0)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..symbolic import fn
from .core import Primitive, register, unbroadcast
from .elementwise import exp
from .notation import custom, g, structural, t
from .notation import out as result
from .notation import x as inputs
from .reductions import max_shift

x0, x1 = inputs[:2]


def _axis(context: dict) -> int:
    return context.get("params", {}).get("axis", -1)


def _row_sum(expr: Any) -> Any:
    """Σ_j over the softmax axis, kept as a size-1 axis: the 1ᵀ of the rank-one term."""
    return structural(
        "row_sum", expr, "Σⱼ({0})", r"\sum_j\left({0}\right)", lambda v, c: np.sum(v, axis=_axis(c), keepdims=True)
    )


def _per_example(expr: Any) -> Any:
    """An example's gradient g, shaped to broadcast along the class axis."""
    return structural("per_example", expr, "{0}", "{0}", lambda v, c: np.expand_dims(v, _axis(c)))


def _softmax_of(expr: Any) -> Any:
    return structural(
        "softmax", expr, "softmax({0})", r"\operatorname{softmax}\left({0}\right)", lambda v, c: _softmax(v, _axis(c))
    )


def _log_softmax_of(expr: Any) -> Any:
    return structural(
        "log_softmax",
        expr,
        "log softmax({0})",
        r"\log\operatorname{softmax}\left({0}\right)",
        lambda v, c: _log_softmax(v, _axis(c)),
    )


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """(x − m) − log Σ exp(x − m), m the maximum: not x − logsumexp(x), whose log n is lost in float32
    at |x| ~ 1e8 (log_softmax([1e8, 1e8, 1e8]) would be 0, not −log 3)."""
    shifted = x - max_shift(x, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _cross_entropy(logits: np.ndarray, targets: np.ndarray, axis: int = -1) -> np.ndarray:
    """−Σ_j y_j log softmax(z)_j along ``axis``, one loss per example."""
    return -np.sum(targets * _log_softmax(logits, axis), axis=axis)


def _insert_axis(g: Any, axis: int, ndim: int) -> Any:
    axis = axis % ndim
    return g.reshape(g.shape[:axis] + (1,) + g.shape[axis:])


def _cross_entropy_grad_logits(logits: Any, targets: Any, axis: int) -> Any:
    """∂/∂z of −Σ y log softmax(z) = softmax(z) Σy − y, i.e. softmax(z) − y for a distribution y."""
    return softmax(logits, axis=axis) * targets.sum(axis=axis, keepdims=True) - targets


softmax = Primitive(
    "softmax",
    _softmax,
    vjp=[lambda g, out, x, axis=-1: out * (g - (g * out).sum(axis=axis, keepdims=True))],
    jvp=[lambda t, out, x, axis=-1: out * (t - (t * out).sum(axis=axis, keepdims=True))],
    notation=custom(
        _softmax_of(x0),
        vjp=(result * (g - _row_sum(g * result)),),
        jvp=(result * (t - _row_sum(t * result)),),
        index=("Σ_j [{g}]_j s_j (δ_jk − s_k) = s_k ([{g}]_k − Σ_j [{g}]_j s_j)",),
        product=("hadamard",),
        why="the Jacobian diag(s) − s sᵀ is a diagonal minus a rank-one matrix; its product "
        "with g is a Hadamard product and one dot product, never the n×n matrix",
    ),
)
log_softmax = Primitive(
    "log_softmax",
    _log_softmax,
    vjp=[lambda g, out, x, axis=-1: g - exp(out) * g.sum(axis=axis, keepdims=True)],
    jvp=[lambda t, out, x, axis=-1: t - (exp(out) * t).sum(axis=axis, keepdims=True)],
    notation=custom(
        _log_softmax_of(x0),
        vjp=(g - fn("exp", result) * _row_sum(g),),
        jvp=(t - _row_sum(fn("exp", result) * t),),
        index=("Σ_j [{g}]_j (δ_jk − s_k) = [{g}]_k − s_k Σ_j [{g}]_j",),
        product=("hadamard",),
        why="log softmax(z) = z − logsumexp(z): the identity minus the softmax in every row",
    ),
)
softmax_cross_entropy = Primitive(
    "softmax_cross_entropy",
    _cross_entropy,
    vjp=[
        # g has the broadcast shape of z and y without ``axis``; a broadcast input sums its gradient back
        lambda g, out, z, y, axis=-1: unbroadcast(
            _insert_axis(g, axis, g.ndim + 1) * _cross_entropy_grad_logits(z, y, axis), z.shape
        ),
        lambda g, out, z, y, axis=-1: unbroadcast(
            _insert_axis(g, axis, g.ndim + 1) * -log_softmax(z, axis=axis), y.shape
        ),
    ],
    jvp=[
        lambda t, out, z, y, axis=-1: (t * _cross_entropy_grad_logits(z, y, axis)).sum(axis=axis),
        lambda t, out, z, y, axis=-1: -(t * log_softmax(z, axis=axis)).sum(axis=axis),
    ],
    notation=custom(
        -structural(  # one loss per example: the class axis summed away
            "row_dot", x1 * _log_softmax_of(x0), "Σⱼ {0}", r"\sum_j {0}", lambda v, c: np.sum(v, axis=_axis(c))
        ),
        vjp=(_per_example(g) * (_softmax_of(x0) - x1), -_per_example(g) * _log_softmax_of(x0)),
        jvp=(
            structural(
                "row_dot", t * (_softmax_of(x0) - x1), "Σⱼ {0}", r"\sum_j {0}", lambda v, c: np.sum(v, axis=_axis(c))
            ),
            structural(
                "row_dot", -t * _log_softmax_of(x0), "Σⱼ {0}", r"\sum_j {0}", lambda v, c: np.sum(v, axis=_axis(c))
            ),
        ),
        index=(
            "−Σ_j [{1}]_j (δ_jk − s_k) = s_k − [{1}]_k  (Σ_j [{1}]_j = 1)",
            "−[log softmax({0})]_k",
        ),
        product=("hadamard", "hadamard"),
        why="softmax and cross-entropy fused: the 1/s of the log cancels the s of the softmax "
        "Jacobian, leaving softmax(z) − y (for targets y that sum to 1)",
    ),
)

register(softmax, log_softmax, softmax_cross_entropy)
