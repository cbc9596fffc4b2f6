"""Reductions: sum, mean, max (ties split evenly) and a stable logsumexp.

Each VJP first restores the reduced axes of ``g`` as size-1 axes (:func:`keep_axes`) and then
lets broadcasting copy it back over them: the Jacobian of a sum is a row of ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Primitive, reading, register, value
from .elementwise import exp
from .notation import custom, g, structural, t
from .notation import x as inputs
from .shape import broadcast_to

x0 = inputs[0]


def _param(context: dict, name: str, default: Any = None) -> Any:
    return context.get("params", {}).get(name, default)


def _spread_value(v: Any, context: dict) -> np.ndarray:
    """A reduced gradient copied back along the reduced axes to the input's shape."""
    shape = context["shape"]
    kept = keep_axes(np.asarray(v), shape, _param(context, "axis"), _param(context, "keepdims", False))
    return np.broadcast_to(kept, shape)


def spread(expr: Any) -> Any:
    """``g`` copied along the summed axes (the Jacobian of a sum is a row of ones: g 1ᵀ)."""
    return structural("spread", expr, "{0}", "{0}", _spread_value)


def _reduced(kind: str, text: str, latex: str, reduce: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        return reduce(np.asarray(v), axis=_param(context, "axis"), keepdims=_param(context, "keepdims", False))

    return lambda operand: structural(kind, operand, text, latex, evaluate)


_sum_of = _reduced("sum", "Σ {0}", r"\sum {0}", np.sum)
_mean_of = _reduced("mean", "mean({0})", r"\operatorname{mean}\left({0}\right)", np.mean)
_max_of = _reduced("max", "max({0})", r"\max\left({0}\right)", np.max)


def _count_value(v: Any, context: dict) -> np.ndarray:
    return v / (_count(context["shape"], _param(context, "axis")) or 1)


def _argmax_share(v: Any, context: dict) -> np.ndarray:
    axes = _axes(_param(context, "axis"), np.ndim(v))
    hits = (v == np.max(v, axis=axes, keepdims=True)).astype(float)
    return hits / hits.sum(axis=axes, keepdims=True)


def _softmax_over(v: Any, context: dict) -> np.ndarray:
    axes = _axes(_param(context, "axis"), np.ndim(v))
    e = np.exp(v - max_shift(v, axes))
    return e / e.sum(axis=axes, keepdims=True)


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


@reading(0)  # g only: x's shape is static
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


def max_shift(x: np.ndarray, axis: Any) -> np.ndarray:
    """The maximum along ``axis`` (kept as size-1 axes), 0 where it is not finite or ``x`` is empty.

    Subtracted before an ``exp`` so that none overflows; every softmax-like quantity is invariant to it.
    """
    shift = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    return np.where(np.isfinite(shift), shift, 0)


def _logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """log Σ exp(x), shifted by the maximum so that no exp overflows."""
    shift = max_shift(x, axis)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=_axes(axis, x.ndim))


def _softmax_weights(x: Any, axis: Any) -> Any:
    """The softmax along the reduced axes (the Jacobian of logsumexp), from ``x`` alone.

    Not exp(x − logsumexp(x)): at |x| ~ 1e8 in float32, logsumexp(x) rounds to max(x), the log n it
    adds is lost, and every weight of a tie would be 1 instead of 1/n.  The shift is a constant, so
    the weights stay differentiable to any order.
    """
    e = exp(x - max_shift(value(x), axis))
    return e / e.sum(axis=axis, keepdims=True)


sum = Primitive(  # noqa: A001  (NumPy's name, used as mg.sum)
    "sum",
    lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),  # np.sum, less wrapping
    vjp=[_sum_vjp],
    jvp="linear",
    notation=custom(
        _sum_of(x0),
        vjp=(spread(g),),
        jvp=(_sum_of(t),),
        index=("Σ_j [{g}]_j ∂(Σ_i [{0}]_i)/∂[{0}]_k = Σ_j [{g}]_j Σ_i δ_ik = [{g}]",),
        product=("broadcast",),
        why="every summand moves the sum one-for-one: the Jacobian is a row of ones, so g is copied",
    ),
)
mean = Primitive(
    "mean",
    lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    vjp=[_mean_vjp],
    jvp="linear",
    notation=custom(
        _mean_of(x0),
        vjp=(structural("per_count", spread(g), "{0} / N", r"\frac{{0}}{N}", _count_value),),
        jvp=(_mean_of(t),),
        index=("Σ_j [{g}]_j ∂((1/N) Σ_i [{0}]_i)/∂[{0}]_k = [{g}] / N",),
        product=("broadcast",),
        why="a mean is a sum scaled by 1/N, so each entry receives g/N",
    ),
)
max = Primitive(  # noqa: A001
    "max",
    lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
    vjp=[
        lambda g, out, x, axis=None, keepdims=False: (
            keep_axes(g, x.shape, axis, keepdims) * _max_share(out, x, axis, keepdims)
        )
    ],
    jvp=[
        lambda t, out, x, axis=None, keepdims=False: (t * _max_share(out, x, axis, keepdims)).sum(
            axis=axis, keepdims=keepdims
        )
    ],
    notation=custom(
        _max_of(x0),
        vjp=(
            spread(g) * structural("argmax", x0, "𝟙[{0} = max]/m", r"\frac{\mathbb 1[{0} = \max]}{m}", _argmax_share),
        ),
        jvp=(_sum_of(t * structural("argmax", x0, "𝟙[{0} = max]/m", r"\mathbb 1", _argmax_share)),),
        index=("[{g}] 𝟙[[{0}]_k = max] / m, m the number of entries at the maximum",),
        product=("hadamard",),
        why="only the largest entry moves the maximum; on a tie of m entries each gets 1/m",
    ),
)
logsumexp = Primitive(
    "logsumexp",
    _logsumexp,
    vjp=[
        lambda g, out, x, axis=None, keepdims=False: (
            keep_axes(g, x.shape, axis, keepdims) * _softmax_weights(x, axis)
        )
    ],
    jvp=[
        lambda t, out, x, axis=None, keepdims=False: (t * _softmax_weights(x, axis)).sum(
            axis=axis, keepdims=keepdims
        )
    ],
    notation=custom(
        structural(
            "logsumexp", x0, "log Σ exp({0})", r"\log\sum e^{{0}}", lambda v, c: _logsumexp(v, _param(c, "axis"))
        ),
        vjp=(
            spread(g) * structural("softmax_over", x0, "softmax({0})", r"\operatorname{softmax}({0})", _softmax_over),
        ),
        jvp=(
            _sum_of(t * structural("softmax_over", x0, "softmax({0})", r"\operatorname{softmax}({0})", _softmax_over)),
        ),
        index=("Σ_j [{g}]_j exp([{0}]_k − {out}) = [{g}] softmax({0})_k",),
        product=("hadamard",),
        why="∂ log Σ eˣ / ∂x_k = e^{x_k} / Σ eˣ, which is the softmax",
    ),
)

register(sum, mean, max, logsumexp)
