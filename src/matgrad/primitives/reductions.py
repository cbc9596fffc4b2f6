"""Reductions: sum, mean, max (ties split evenly) and a stable logsumexp.

Each VJP first restores the reduced axes of ``g`` as size-1 axes (:func:`keep_axes`) and then
lets broadcasting copy it back over them: the Jacobian of a sum is a row of ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Primitive, register, shape_of, value
from .elementwise import exp
from .notation import custom
from .shape import broadcast_to


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim for a in axis)
    return (axis % ndim,)


def keep_axes(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Reshape a reduced result so that it broadcasts against the input of the reduction."""
    if keepdims or g.ndim == len(shape):
        return g
    reduced = _axes(axis, len(shape))
    return g.reshape(tuple(1 if i in reduced else n for i, n in enumerate(shape)))


def _count(shape: tuple[int, ...], axis: Any) -> int:
    return math.prod(shape[i] for i in _axes(axis, len(shape)))


def _sum_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if axis is not None:
        g = keep_axes(g, x.shape, axis, keepdims)
    return broadcast_to(g, shape=x.shape)  # a full reduction's 0-d g broadcasts as it is


def _mean_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _sum_vjp(g, out, x, axis, keepdims) / (_count(x.shape, axis) or 1)


def _max_share(out: Any, x: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """1/m on each of the m entries that attain the maximum, 0 elsewhere."""
    xv = value(x)
    hits = (xv == keep_axes(value(out), xv.shape, axis, keepdims)).astype(xv.dtype)
    return hits / hits.sum(axis=_axes(axis, xv.ndim), keepdims=True)


def _logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """log Σ exp(x), shifted by the maximum so that no exp overflows."""
    shift = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=_axes(axis, x.ndim))


def _softmax_weights(out: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """exp(x − logsumexp(x)): the softmax along the reduced axes (the Jacobian of logsumexp)."""
    return exp(x - keep_axes(out, shape_of(x), axis, keepdims))


sum = Primitive(  # noqa: A001  (NumPy's name, used as mg.sum)
    "sum",
    lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    vjp=[_sum_vjp],
    jvp="linear",
    notation=custom(
        "Σ {0}",
        jacobian=("{g} 1ᵀ (g copied along the summed axes)",),
        index=("Σ_j [{g}]_j ∂(Σ_i [{0}]_i)/∂[{0}]_k = Σ_j [{g}]_j Σ_i δ_ik = [{g}]",),
        differential=("{g} : Σ d{0} = ({g} 1ᵀ) : d{0}",),
        product=("broadcast",),
        why="every summand moves the sum one-for-one: the Jacobian is a row of ones",
    ),
)
mean = Primitive(
    "mean",
    lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    vjp=[_mean_vjp],
    jvp="linear",
    notation=custom(
        "mean({0})",
        jacobian=("{g} 1ᵀ / N",),
        index=("Σ_j [{g}]_j ∂((1/N) Σ_i [{0}]_i)/∂[{0}]_k = [{g}] / N",),
        differential=("{g} : (1/N) Σ d{0} = ({g} 1ᵀ / N) : d{0}",),
        product=("broadcast",),
        why="a mean is a sum scaled by 1/N, so each entry receives g/N",
    ),
)
max = Primitive(  # noqa: A001
    "max",
    lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
    vjp=[
        lambda g, out, x, axis=None, keepdims=False: keep_axes(g, x.shape, axis, keepdims)
        * _max_share(out, x, axis, keepdims)
    ],
    jvp=[
        lambda t, out, x, axis=None, keepdims=False: (t * _max_share(out, x, axis, keepdims)).sum(
            axis=axis, keepdims=keepdims
        )
    ],
    notation=custom(
        "max({0})",
        jacobian=("{g} ⊙ 𝟙[{0} = max] / #ties",),
        index=("[{g}] 𝟙[[{0}]_k = max] / m, m the number of entries at the maximum",),
        differential=("{g} : d max({0}) = ({g} ⊙ 𝟙[{0} = max] / m) : d{0}",),
        product=("hadamard",),
        why="only the largest entry moves the maximum; on a tie of m entries each gets 1/m",
    ),
)
logsumexp = Primitive(
    "logsumexp",
    _logsumexp,
    vjp=[
        lambda g, out, x, axis=None, keepdims=False: keep_axes(g, x.shape, axis, keepdims)
        * _softmax_weights(out, x, axis, keepdims)
    ],
    jvp=[
        lambda t, out, x, axis=None, keepdims=False: (t * _softmax_weights(out, x, axis, keepdims)).sum(
            axis=axis, keepdims=keepdims
        )
    ],
    notation=custom(
        "log Σ exp({0})",
        jacobian=("{g} softmax({0})ᵀ",),
        index=("Σ_j [{g}]_j exp([{0}]_k − {out}) = [{g}] softmax({0})_k",),
        differential=("{g} : d logΣexp({0}) = {g} softmax({0}) : d{0}",),
        product=("hadamard",),
        why="∂ log Σ eˣ / ∂x_k = e^{x_k} / Σ eˣ, which is the softmax",
    ),
)

register(sum, mean, max, logsumexp)
