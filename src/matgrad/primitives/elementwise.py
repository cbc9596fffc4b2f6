"""Elementwise primitives: each output entry depends on the same entry of each input.

Their Jacobians are diagonal, so every VJP here is a Hadamard product ``g ⊙ f'(x)``; binary
rules sum the broadcast axes back with the shared :func:`unbroadcast`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..symbolic import fn
from .core import Primitive, passes, reading, register, summed, unbroadcast, value
from .notation import elementwise, structural
from .notation import out as result
from .notation import x as inputs

x0, x1, x2 = inputs


def broadcast_hint(values: Sequence[Any], params: dict) -> str:
    """Name the axis on which two shapes fail to broadcast."""
    shapes = [np.shape(v) for v in values]
    width = max(len(s) for s in shapes)
    padded = [(1,) * (width - len(s)) + tuple(s) for s in shapes]
    for axis in range(width):
        sizes = {s[axis] for s in padded} - {1}
        if len(sizes) > 1:
            listed = " vs ".join(str(s[axis]) for s in padded)
            return (
                f"shapes {' and '.join(map(str, shapes))} do not broadcast: axis {axis - width} "
                f"has sizes {listed}; sizes must match or be 1. Hint: reshape one input, "
                f"e.g. a column b.reshape(-1, 1) or a row b.reshape(1, -1)"
            )
    return "inputs do not broadcast"


def _binary(name: str, forward: Any, vjp: Any, jvp: Any, notation: Any) -> Primitive:
    return Primitive(name, forward, vjp, jvp, notation, error_hint=broadcast_hint)


add = _binary(
    "add",
    np.add,
    vjp=[summed(passes, 0), summed(passes, 1)],
    jvp=[lambda t, out, x, y: t, lambda t, out, x, y: t],
    notation=elementwise(x0 + x1, (1, 1)),
)
sub = _binary(
    "sub",
    np.subtract,
    vjp=[summed(passes, 0), summed(reading(0)(lambda g, out, x, y: -g), 1)],
    jvp=[lambda t, out, x, y: t, lambda t, out, x, y: -t],
    notation=elementwise(x0 - x1, (1, -1)),
)
mul = _binary(
    "mul",
    np.multiply,
    vjp=[
        summed(reading(0, 3)(lambda g, out, x, y: g * y), 0),
        summed(reading(0, 2)(lambda g, out, x, y: g * x), 1),
    ],
    jvp="linear",
    notation=elementwise(x0 * x1, (x1, x0)),
)
div = _binary(
    "div",
    np.divide,
    vjp=[
        summed(reading(0, 3)(lambda g, out, x, y: g / y), 0),
        summed(lambda g, out, x, y: -g * out / y, 1),
    ],
    jvp=[lambda t, out, x, y: t / y, lambda t, out, x, y: -t * out / y],
    notation=elementwise(x0 / x1, (1 / x1, -result / x1)),
)


def _log_base(x: Any) -> Any:
    """log x where x > 0 and 0 elsewhere: ∂(xʸ)/∂y = xʸ log x, taken as 0 where x ≤ 0."""
    return log(where(value(x) > 0, x, 1.0))


def _power(x: Any, y: Any) -> Any:
    """xʸ; a square as one multiplication (what ``x ** 2`` does in NumPy, the same numbers)."""
    return np.square(x) if type(y) in (int, float) and y == 2 else np.power(x, y)


def _power_x_slope(g: Any, out: Any, x: Any, y: Any) -> Any:
    """g y xʸ⁻¹: the VJP's core and the JVP alike (g a cotangent or a tangent)."""
    if type(y) in (int, float) and y == 2:  # a square: g 2 x, the same numbers without the pass of x¹
        return g * y * x
    return g * y * _power_base(x, y) ** (y - 1)


def _power_base(x: Any, y: Any) -> Any:
    """x, but 1 where x = y = 0: there y xʸ⁻¹ would be 0 · ∞, yet x⁰ = 1 is constant (slope 0)."""
    if isinstance(y, (int, float)) and y != 0:
        return x  # the common case, x ** 2: nothing to guard
    both_zero = (value(x) == 0) & (value(y) == 0)
    return where(both_zero, 1.0, x) if np.any(both_zero) else x


power = _binary(
    "power",
    _power,
    vjp=[summed(_power_x_slope, 0), summed(lambda g, out, x, y: g * out * _log_base(x), 1)],
    jvp=[_power_x_slope, lambda t, out, x, y: t * out * _log_base(x)],
    notation=elementwise(x0**x1, (fn("pow_prime", x0, x1), result * fn("logpos", x0))),
)
neg = Primitive("neg", np.negative, vjp=[lambda g, out, x: -g], jvp="linear", notation=elementwise(-x0, (-1,)))
exp = Primitive(
    "exp",
    np.exp,
    vjp=[lambda g, out, x: g * out],
    jvp=[lambda t, out, x: t * out],
    notation=elementwise(fn("exp", x0), (fn("exp", x0),)),
)
log = Primitive(
    "log",
    np.log,
    vjp=[lambda g, out, x: g / x],
    jvp=[lambda t, out, x: t / x],
    notation=elementwise(fn("log", x0), (1 / x0,)),
)
sqrt = Primitive(
    "sqrt",
    np.sqrt,
    vjp=[lambda g, out, x: g / (2 * out)],
    jvp=[lambda t, out, x: t / (2 * out)],
    notation=elementwise(fn("sqrt", x0), (1 / (2 * result),)),
)
absolute = Primitive(
    "absolute",
    np.abs,
    vjp=[lambda g, out, x: g * np.sign(value(x))],
    jvp=[lambda t, out, x: t * np.sign(value(x))],
    notation=elementwise(fn("abs", x0), (fn("sign", x0),)),
)


def _share(x: Any, y: Any, out: Any, wins: Any) -> np.ndarray:
    """1 where x wins, ½ on a tie (the gradient is split evenly), 0 where y wins."""
    xv, yv = value(x), value(y)
    return np.where(xv == yv, 0.5, wins(xv, yv)).astype(value(out).dtype)


def _extremum(name: str, forward: Any, wins: Any, margin: Any) -> Primitive:
    """maximum or minimum: ``wins(a, b)`` says where a is selected, ``margin(a, b)`` is positive there."""

    def share_x(out: Any, x: Any, y: Any) -> np.ndarray:
        return _share(x, y, out, wins)

    def share_y(out: Any, x: Any, y: Any) -> np.ndarray:
        return _share(y, x, out, wins)

    return _binary(
        name,
        forward,
        vjp=[
            lambda g, out, x, y: unbroadcast(g * share_x(out, x, y), x.shape),
            lambda g, out, x, y: unbroadcast(g * share_y(out, x, y), y.shape),
        ],
        jvp=[lambda t, out, x, y: t * share_x(out, x, y), lambda t, out, x, y: t * share_y(out, x, y)],
        notation=elementwise(
            fn(name[:3], x0, x1),
            (fn("share", margin(x0, x1)), fn("share", margin(x1, x0))),
            why="elementwise: the gradient goes to the input that was selected (split ½/½ on a tie)",
        ),
    )


maximum = _extremum("maximum", np.maximum, lambda a, b: a > b, lambda a, b: a - b)
minimum = _extremum("minimum", np.minimum, lambda a, b: a < b, lambda a, b: b - a)


def _masked(mask: Any, g: Any, other: bool) -> Any:
    return where(mask, 0.0, g) if other else where(mask, g, 0.0)


where = Primitive(
    "where",
    np.where,
    vjp=[
        None,  # the condition is a constant
        lambda g, out, c, x, y: unbroadcast(_masked(value(c), g, False), x.shape),
        lambda g, out, c, x, y: unbroadcast(_masked(value(c), g, True), y.shape),
    ],
    jvp=[None, lambda t, out, c, x, y: _masked(value(c), t, False), lambda t, out, c, x, y: _masked(value(c), t, True)],
    notation=elementwise(
        fn("where", x0, x1, x2),
        (0, fn("mask", x0), fn("notmask", x0)),
        why="elementwise selection: the gradient flows to the branch that was taken",
    ),
    error_hint=broadcast_hint,
)


def _bounds(context: dict) -> tuple[Any, Any]:
    params = context.get("params", {})
    return params.get("lo"), params.get("hi")


def _inside_bounds(v: np.ndarray, context: dict) -> np.ndarray:
    return _inside(v, *_bounds(context)).astype(float)


def _leaky_value(v: np.ndarray, context: dict) -> np.ndarray:
    return np.where(v > 0, v, v * context.get("params", {}).get("slope", 0.01))


def _leaky_derivative(v: np.ndarray, context: dict) -> np.ndarray:
    return np.where(v > 0, 1.0, context.get("params", {}).get("slope", 0.01))


def _inside(x: Any, lo: Any, hi: Any) -> np.ndarray:
    xv = value(x)
    mask = np.ones(xv.shape, dtype=bool)
    if lo is not None:
        mask &= xv >= lo
    if hi is not None:
        mask &= xv <= hi
    return mask


clip = Primitive(
    "clip",
    lambda x, lo=None, hi=None: np.clip(x, lo, hi),
    vjp=[lambda g, out, x, lo=None, hi=None: g * _inside(x, lo, hi)],
    jvp=[lambda t, out, x, lo=None, hi=None: t * _inside(x, lo, hi)],
    notation=elementwise(
        structural(
            "clip", x0, "clip({0})", r"\operatorname{clip}\left({0}\right)", lambda v, c: np.clip(v, *_bounds(c))
        ),
        (structural("inside", x0, "𝟙[lo ≤ {0} ≤ hi]", r"\mathbb 1\left[{0} \in [l, h]\right]", _inside_bounds),),
    ),
)


@functools.cache
def _exponent_bound(dtype: np.dtype) -> float:
    """A bound b such that eᵇ and e⁻ᵇ are finite normal numbers of ``dtype``."""
    info = np.finfo(dtype)
    return min(float(np.log(info.max)), -float(np.log(info.smallest_normal))) - 1.0


@functools.cache
def _sigmoid_constants(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The exponent bound and 1 as 0-d arrays of ``dtype``: the same numbers as the Python
    scalars they stand for (which NumPy converts to ``dtype`` anyway), without the conversion."""
    constants = np.asarray(_exponent_bound(dtype), dtype=dtype), np.ones((), dtype=dtype)
    for c in constants:
        c.flags.writeable = False
    return constants


def stable_sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(x) = 1/(1 + e⁻ˣ) with the exponent clamped to exp's safe range: no inf, no warning.

    Accurate in relative terms for every x (unlike 1 − σ(−x) or tanh forms, which lose the
    tiny values of the left tail), and as cheap as the naive formula.  ``out``, an array of
    ``x``'s shape and float dtype, receives the result (a compiled plan's buffer).
    """
    if type(x) is not np.ndarray or x.dtype.kind != "f":
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
    bound, one = _sigmoid_constants(x.dtype)
    t = np.negative(x, out=out)
    if type(t) is not np.ndarray:  # a 0-d input gives a NumPy scalar, which has no buffer for out=
        t = np.asarray(t)
    # Only e⁻ˣ can overflow (its underflow to 0 gives σ = 1 exactly).  Clamping is an elementwise
    # pass as dear as exp itself; on a large array a max reduction (several times cheaper) first
    # tells whether any entry needs it.  A NaN fails the test and is clamped, i.e. kept.
    if t.size < _CLAMP_CHECK_SIZE or not np.maximum.reduce(t, None) <= bound:
        np.minimum(t, bound, out=t)
    np.exp(t, out=t)
    np.add(t, one, out=t)
    return np.divide(one, t, out=t)  # the same quotient as np.reciprocal, which is slower


_CLAMP_CHECK_SIZE = 2048  # below this, clamping costs less than checking whether to


stable_sigmoid.takes_out = True  # a compiled plan may hand it a buffer


def _complement(out: Any) -> Any:
    """1 − out, with 1 as a 0-d array of out's float dtype for arrays (the same numbers, faster)."""
    if type(out) is np.ndarray and out.dtype.kind == "f":
        return np.subtract(_sigmoid_constants(out.dtype)[1], out)
    return 1 - out


sigmoid = Primitive(
    "sigmoid",
    stable_sigmoid,
    vjp=[lambda g, out, x: g * out * _complement(out)],  # σ' from the saved output
    jvp=[lambda t, out, x: t * out * _complement(out)],
    notation=elementwise(fn("sigmoid", x0), (fn("dsigmoid", x0),)),
)
tanh = Primitive(
    "tanh",
    np.tanh,
    vjp=[lambda g, out, x: g * (1 - out * out)],
    jvp=[lambda t, out, x: t * (1 - out * out)],
    notation=elementwise(fn("tanh", x0), (fn("dtanh", x0),)),
)
relu = Primitive(
    "relu",
    lambda x: np.maximum(x, 0),
    vjp=[lambda g, out, x: g * (value(x) > 0)],  # derivative taken as 0 at x = 0
    jvp=[lambda t, out, x: t * (value(x) > 0)],
    notation=elementwise(fn("relu", x0), (fn("step", x0),)),
)


def _leaky_slope(x: Any, slope: float) -> np.ndarray:
    xv = value(x)
    return np.where(xv > 0, xv.dtype.type(1), xv.dtype.type(slope))


leaky_relu = Primitive(
    "leaky_relu",
    lambda x, slope=0.01: np.where(x > 0, x, x * slope),
    vjp=[lambda g, out, x, slope=0.01: g * _leaky_slope(x, slope)],
    jvp=[lambda t, out, x, slope=0.01: t * _leaky_slope(x, slope)],
    notation=elementwise(
        structural("leaky_relu", x0, "leaky_relu({0})", r"\operatorname{leaky\_relu}\left({0}\right)", _leaky_value),
        (structural("leaky_slope", x0, "(𝟙[{0} > 0] + α 𝟙[{0} ≤ 0])", r"\alpha_{{0}}", _leaky_derivative),),
    ),
)


def stable_softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}), the exponent clamped like the sigmoid's: no
    overflow, no underflow, accurate for every x (log1p keeps the tiny left tail)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    t = np.empty_like(x)
    np.abs(x, out=t)
    np.minimum(t, _exponent_bound(x.dtype), out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    return np.add(t, np.maximum(x, 0), out=t)


softplus = Primitive(
    "softplus",
    stable_softplus,
    vjp=[lambda g, out, x: g * sigmoid(x)],
    jvp=[lambda t, out, x: t * sigmoid(x)],
    notation=elementwise(fn("softplus", x0), (fn("sigmoid", x0),)),
)
astype = Primitive(
    "astype",
    lambda x, dtype: np.asarray(x).astype(dtype),
    vjp=[lambda g, out, x, dtype: astype(g, dtype=x.dtype)],
    jvp=[lambda t, out, x, dtype: astype(t, dtype=dtype)],
    notation=elementwise(x0, (1,), why="a change of precision: the Jacobian is the identity"),
)
identity = Primitive(
    "identity",
    lambda x: x,
    vjp=[lambda g, out, x: g],
    jvp="linear",
    notation=elementwise(x0, (1,), why="the identity map: the gradient passes unchanged"),
)

register(add, sub, mul, div, power, neg, exp, log, sqrt, absolute, maximum, minimum, where, clip)
register(sigmoid, tanh, relu, leaky_relu, softplus, astype, identity)
