"""Neural-network functions kept as primitives for stability and speed: softmax,
log_softmax and cross-entropy from logits, all computed through logsumexp.

The fused cross-entropy's VJP is the famous ``softmax(z) − y``: no division by a probability
that may be 0, no ``log(0)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Primitive, register, unbroadcast
from .elementwise import exp
from .notation import custom
from .reductions import _logsumexp


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x - _logsumexp(x, axis=axis, keepdims=True)


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
        "softmax({0})",
        jacobian=("(diag(s) − s sᵀ) {g} = s ⊙ ({g} − sᵀ{g}), s = {out}",),
        index=("Σ_j [{g}]_j s_j (δ_jk − s_k) = s_k ([{g}]_k − Σ_j [{g}]_j s_j)",),
        differential=("{g} : (diag(s) − s sᵀ) d{0} = s ⊙ ({g} − sᵀ{g}) : d{0}",),
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
        "log softmax({0})",
        jacobian=("{g} − softmax({0}) (1ᵀ{g})",),
        index=("Σ_j [{g}]_j (δ_jk − s_k) = [{g}]_k − s_k Σ_j [{g}]_j",),
        differential=("{g} : (I − s 1ᵀ) d{0} = ({g} − s 1ᵀ{g}) : d{0}",),
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
        "−Σ {1} ⊙ log softmax({0})",
        jacobian=("{g} (softmax({0}) − {1})", "−{g} log softmax({0})"),
        index=(
            "−Σ_j [{1}]_j (δ_jk − s_k) = s_k − [{1}]_k  (Σ_j [{1}]_j = 1)",
            "−[log softmax({0})]_k",
        ),
        differential=(
            "{g} : −{1} : (I − s 1ᵀ) d{0} = {g} (s − {1}) : d{0}",
            "{g} : −log softmax({0}) : d{1}",
        ),
        product=("hadamard", "hadamard"),
        why="softmax and cross-entropy fused: the 1/s of the log cancels the s of the softmax "
        "Jacobian, leaving softmax(z) − y",
    ),
)

register(softmax, log_softmax, softmax_cross_entropy)
