"""Elementwise functions of NumPy's surface: trigonometric, hyperbolic, logarithms and
exponentials of other bases, the binary ufuncs (logaddexp, arctan2, hypot, mod, fmod), the
zero-derivative family (sign, floor, ceil, round, rint, trunc, fix) and the comparisons and
predicates, which have no derivative at all.

Every row is elementwise, so its Jacobian is diagonal and each VJP is a Hadamard product
``g ⊙ f'(x)`` (binary rows sum the broadcast axes back with :func:`summed`).  Derivatives are
written in the stable form of the textbook one: ``1/√((1 − x)(1 + x))`` for arcsin (not
``1 − x²``, which loses the digits near ±1), ``σ(x − y)`` for logaddexp, ``1/hypot(x, 1)`` for
arcsinh (no overflow of x²).

Conventions where a derivative does not exist:

- the zero-derivative family is piecewise constant: its derivative is 0, taken as 0 at the
  jumps too, and its VJP returns exact zeros (even where g is inf or nan);
- ``mod(x, y) = x − ⌊x/y⌋ y`` (NumPy's sign convention, the result has y's sign):
  ∂/∂x = 1, ∂/∂y = −⌊x/y⌋, with NumPy's own quotient (``floor_divide``); ``fmod`` likewise with
  the truncated quotient; at a jump, the quotient NumPy used;
- ``hypot`` at the origin: gradient 0 (a subgradient, as |x| at 0); ``arctan2`` at the origin
  is singular: its gradient there is NaN;
- ``cbrt`` at 0 and the inverse functions at the ends of their domain (arcsin at ±1, arctanh
  at ±1, arccosh at 1): the derivative is what the formula gives, ±inf.

The comparisons (``equal``, ``less``, …), the logical functions and the predicates
(``isfinite``, ``signbit``, …) are not rows: they compute on the raw values and return NumPy
booleans, which have no derivative.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..symbolic import fn
from .core import Primitive, passes, refuse_out, register, shape_of, summed, value
from .elementwise import astype, broadcast_hint, exp, sigmoid, sqrt, where
from .notation import elementwise, structural
from .notation import out as result
from .notation import x as inputs

x0, x1 = inputs[:2]
LN2, LN10 = math.log(2.0), math.log(10.0)

__all__ = [
    # trigonometric and hyperbolic
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
    "asin", "acos", "atan", "asinh", "acosh", "atanh",
    # logarithms, exponentials, powers
    "log1p", "expm1", "log2", "log10", "exp2", "square", "reciprocal", "cbrt",
    # binary
    "logaddexp", "logaddexp2", "arctan2", "atan2", "hypot", "mod", "remainder", "fmod",
    # the zero-derivative family
    "sign", "floor", "ceil", "round", "around", "rint", "trunc", "fix",
    # no derivative: NumPy booleans
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isfinite", "isnan", "isinf", "signbit",
]


# ----- rows: unary maps x ↦ f(x), VJP g ⊙ f'(x) -------------------------------------------------
def _unary(name: str, forward: Any, slope: Any, derivative: Any) -> Primitive:
    """A row whose derivative ``slope(out, x)`` is written with operators and primitives (so it
    records, and second derivatives work); ``derivative`` is the same f' in the notation."""
    return Primitive(
        name,
        forward,
        vjp=[lambda g, out, x: g * slope(out, x)],
        jvp=[lambda t, out, x: t * slope(out, x)],
        notation=elementwise(fn(name, x0), (derivative,)),
    )


def _one_minus_square(x: Any) -> Any:
    """1 − x² as (1 − x)(1 + x): exact factors near ±1, where 1 − x·x cancels."""
    return (1 - x) * (1 + x)


_sin = _unary("sin", np.sin, lambda out, x: _cos(x), fn("cos", x0))
_cos = _unary("cos", np.cos, lambda out, x: -_sin(x), -fn("sin", x0))
_tan = _unary("tan", np.tan, lambda out, x: 1 + out * out, 1 / fn("cos", x0) ** 2)  # 1 + tan² = 1/cos²
_arcsin = _unary("arcsin", np.arcsin, lambda out, x: 1 / sqrt(_one_minus_square(x)), 1 / fn("sqrt", 1 - x0**2))
_arccos = _unary("arccos", np.arccos, lambda out, x: -1 / sqrt(_one_minus_square(x)), -(1 / fn("sqrt", 1 - x0**2)))
_arctan = _unary("arctan", np.arctan, lambda out, x: 1 / (1 + x * x), 1 / (1 + x0**2))
_sinh = _unary("sinh", np.sinh, lambda out, x: _cosh(x), fn("cosh", x0))
_cosh = _unary("cosh", np.cosh, lambda out, x: _sinh(x), fn("sinh", x0))
_arcsinh = _unary("arcsinh", np.arcsinh, lambda out, x: 1 / _hypot(x, 1.0), 1 / fn("sqrt", x0**2 + 1))
_arccosh = _unary(
    "arccosh", np.arccosh, lambda out, x: 1 / sqrt((x - 1) * (x + 1)), 1 / fn("sqrt", x0**2 - 1)
)
_arctanh = _unary("arctanh", np.arctanh, lambda out, x: 1 / _one_minus_square(x), 1 / (1 - x0**2))
_log1p = _unary("log1p", np.log1p, lambda out, x: 1 / (1 + x), 1 / (1 + x0))
_expm1 = _unary("expm1", np.expm1, lambda out, x: exp(x), fn("exp", x0))  # not out + 1: exact for x ≪ 0
_log2 = _unary("log2", np.log2, lambda out, x: 1 / (x * LN2), 1 / (x0 * fn("log", 2)))
_log10 = _unary("log10", np.log10, lambda out, x: 1 / (x * LN10), 1 / (x0 * fn("log", 10)))
_exp2 = _unary("exp2", np.exp2, lambda out, x: out * LN2, fn("exp2", x0) * fn("log", 2))
_cbrt = _unary("cbrt", np.cbrt, lambda out, x: 1 / (3 * out * out), 1 / (3 * fn("cbrt", x0) ** 2))
_square = Primitive(
    "square",
    np.square,
    vjp=[lambda g, out, x: g * (2 * x)],
    jvp=[lambda t, out, x: t * (2 * x)],
    notation=elementwise(x0**2, (2 * x0,)),
)
_reciprocal = Primitive(
    "reciprocal",
    np.reciprocal,
    vjp=[lambda g, out, x: -g * (out * out)],  # −1/x² from the saved 1/x
    jvp=[lambda t, out, x: -t * (out * out)],
    notation=elementwise(1 / x0, (-(1 / x0**2),)),
)


# ----- rows: binary maps, broadcasting like add and mul -----------------------------------------
def _binary(name: str, forward: Any, cores: tuple[Any, Any], derivatives: tuple[Any, Any], why: str = "") -> Primitive:
    """``cores[i](g, out, x, y)`` is g ⊙ ∂out/∂input i before the broadcast axes are summed back;
    on a tangent it is the JVP."""
    return Primitive(
        name,
        forward,
        vjp=[summed(cores[0], 0), summed(cores[1], 1)],
        jvp=list(cores),
        notation=elementwise(fn(name, x0, x1), derivatives, why=why),
        error_hint=broadcast_hint,
    )


def _hypot_over(g: Any, out: Any, x: Any) -> Any:
    """g ⊙ x / hypot: at the origin (out = 0, so x = 0) the quotient is taken as 0."""
    zero = value(out) == 0
    return g * x / (where(zero, 1.0, out) if np.any(zero) else out)


def _arctan2_slope(a: Any, b: Any) -> Any:
    """b / (a² + b²), as (b / h) / h with h = hypot(a, b): no overflow nor underflow of the squares."""
    h = _hypot(a, b)
    return b / h / h


def _floor_quotient(x: Any, y: Any) -> np.ndarray:
    """⌊x/y⌋ as NumPy's remainder used it (``floor_divide`` shares its divmod): a constant."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(value(x), value(y))


def _trunc_quotient(x: Any, y: Any) -> np.ndarray:
    """trunc(x/y) as NumPy's fmod used it: (x − fmod(x, y)) / y is an integer up to rounding."""
    xv, yv = value(x), value(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.rint((xv - np.fmod(xv, yv)) / yv)


_logaddexp = _binary(
    "logaddexp",
    np.logaddexp,  # max(x, y) + log1p(exp(−|x − y|)): no overflow
    (lambda g, out, x, y: g * sigmoid(x - y), lambda g, out, x, y: g * sigmoid(y - x)),
    (fn("sigmoid", x0 - x1), fn("sigmoid", x1 - x0)),  # eˣ/(eˣ + eʸ) = σ(x − y)
)
_logaddexp2 = _binary(
    "logaddexp2",
    np.logaddexp2,
    (lambda g, out, x, y: g * sigmoid((x - y) * LN2), lambda g, out, x, y: g * sigmoid((y - x) * LN2)),
    (fn("exp2", x0 - result), fn("exp2", x1 - result)),  # 2ˣ/(2ˣ + 2ʸ) = 2^(x − out)
)
_arctan2 = _binary(
    "arctan2",
    np.arctan2,
    (lambda g, out, a, b: g * _arctan2_slope(a, b), lambda g, out, a, b: -g * _arctan2_slope(b, a)),
    (x1 / (x0**2 + x1**2), -(x0 / (x0**2 + x1**2))),
)
_hypot = _binary(
    "hypot",
    np.hypot,  # scaled by the larger magnitude: no overflow of x²
    (lambda g, out, x, y: _hypot_over(g, out, x), lambda g, out, x, y: _hypot_over(g, out, y)),
    (x0 / result, x1 / result),
)
_mod = _binary(
    "mod",
    np.remainder,
    (passes, lambda g, out, x, y: g * -_floor_quotient(x, y)),
    (1, -fn("floor", x0 / x1)),
    why="elementwise: x − ⌊x/y⌋ y, the quotient piecewise constant (its derivative is 0)",
)
_fmod = _binary(
    "fmod",
    np.fmod,
    (passes, lambda g, out, x, y: g * -_trunc_quotient(x, y)),
    (1, -fn("trunc", x0 / x1)),
    why="elementwise: x − trunc(x/y) y, the quotient piecewise constant (its derivative is 0)",
)


# ----- rows: the zero-derivative family ---------------------------------------------------------
def _zeros_vjp(g: Any, out: Any, x: Any, **params: Any) -> np.ndarray:
    """Exact zeros of x's dtype, shaped like g (which may carry extra leading axes)."""
    return np.zeros(shape_of(g), dtype=value(x).dtype)


def _zeros_jvp(t: Any, out: Any, x: Any, **params: Any) -> np.ndarray:
    return np.zeros(shape_of(t), dtype=value(out).dtype)


_STEPS = "piecewise constant: the derivative is 0 wherever it exists, and is taken as 0 at the jumps"


def _piecewise_constant(name: str, forward: Any, expression: Any) -> Primitive:
    return Primitive(
        name,
        forward,
        vjp=[_zeros_vjp],
        jvp=[_zeros_jvp],
        notation=elementwise(expression, (0,), why=_STEPS, products=("zero",)),
    )


def _rounded(v: Any, context: dict) -> np.ndarray:
    return np.round(v, context.get("params", {}).get("decimals", 0))


_sign = _piecewise_constant("sign", np.sign, fn("sign", x0))
_floor = _piecewise_constant("floor", np.floor, fn("floor", x0))
_ceil = _piecewise_constant("ceil", np.ceil, fn("ceil", x0))
_rint = _piecewise_constant("rint", np.rint, fn("rint", x0))
_trunc = _piecewise_constant("trunc", np.trunc, fn("trunc", x0))
_fix = _piecewise_constant("fix", np.fix, fn("fix", x0))
_round = _piecewise_constant(
    "round",
    lambda x, decimals=0: np.round(x, decimals),
    structural("round", x0, "round({0}, decimals)", r"\operatorname{round}\left({0}\right)", _rounded),
)


# ----- public functions: NumPy's signatures -----------------------------------------------------
def _ufunc_inputs(name: str, xs: tuple, out: Any, where: Any, casting: Any, dtype: Any, subok: Any, signature: Any):
    """Refuse what a new, differentiable array cannot honor; cast the inputs to ``dtype`` (a float
    dtype: NumPy's ``dtype=`` is the dtype the ufunc computes in).  ``order`` only chooses the
    memory layout of NumPy's result, so it is accepted and has no effect."""
    refuse_out(name, out)
    if where is not True:
        raise TypeError(f"{name}: where= is not supported (entries outside the mask would be undefined)")
    if casting != "same_kind" or signature is not None or subok is not True:
        raise TypeError(f"{name}: only casting='same_kind', subok=True and signature=None are supported")
    if dtype is None:
        return xs
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{name}: dtype={dtype} is not supported; matgrad computes {name} in a float dtype")
    return tuple(x if getattr(value(x), "dtype", None) == dtype else astype(x, dtype=dtype) for x in xs)


def _named(ufunc: Any, prim: Primitive, name: str) -> Any:
    """NumPy's name on a ufunc wrapper, and its primitive: a plain call from NumPy's dispatch (no
    keywords) records the primitive directly (``matgrad.dispatch``), skipping the keyword checks."""
    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"numpy.{name}, differentiable: the primitive {prim.name!r} (see the module's conventions)."
    ufunc.primitive = prim
    return ufunc


def unary_ufunc(prim: Primitive, name: str) -> Any:
    def ufunc(
        x: Any, /, out: Any = None, *, where: Any = True, casting: str = "same_kind", order: str = "K",
        dtype: Any = None, subok: bool = True, signature: Any = None,
    ) -> Any:
        (x,) = _ufunc_inputs(name, (x,), out, where, casting, dtype, subok, signature)
        return prim(x)

    return _named(ufunc, prim, name)


def binary_ufunc(prim: Primitive, name: str) -> Any:
    def ufunc(
        x1: Any, x2: Any, /, out: Any = None, *, where: Any = True, casting: str = "same_kind", order: str = "K",
        dtype: Any = None, subok: bool = True, signature: Any = None,
    ) -> Any:
        x1, x2 = _ufunc_inputs(name, (x1, x2), out, where, casting, dtype, subok, signature)
        return prim(x1, x2)

    return _named(ufunc, prim, name)


sin = unary_ufunc(_sin, "sin")
cos = unary_ufunc(_cos, "cos")
tan = unary_ufunc(_tan, "tan")
arcsin = asin = unary_ufunc(_arcsin, "arcsin")
arccos = acos = unary_ufunc(_arccos, "arccos")
arctan = atan = unary_ufunc(_arctan, "arctan")
sinh = unary_ufunc(_sinh, "sinh")
cosh = unary_ufunc(_cosh, "cosh")
arcsinh = asinh = unary_ufunc(_arcsinh, "arcsinh")
arccosh = acosh = unary_ufunc(_arccosh, "arccosh")
arctanh = atanh = unary_ufunc(_arctanh, "arctanh")
log1p = unary_ufunc(_log1p, "log1p")
expm1 = unary_ufunc(_expm1, "expm1")
log2 = unary_ufunc(_log2, "log2")
log10 = unary_ufunc(_log10, "log10")
exp2 = unary_ufunc(_exp2, "exp2")
square = unary_ufunc(_square, "square")
reciprocal = unary_ufunc(_reciprocal, "reciprocal")
cbrt = unary_ufunc(_cbrt, "cbrt")
logaddexp = binary_ufunc(_logaddexp, "logaddexp")
logaddexp2 = binary_ufunc(_logaddexp2, "logaddexp2")
arctan2 = atan2 = binary_ufunc(_arctan2, "arctan2")
hypot = binary_ufunc(_hypot, "hypot")
mod = remainder = binary_ufunc(_mod, "remainder")  # one ufunc in NumPy, named remainder
fmod = binary_ufunc(_fmod, "fmod")
sign = unary_ufunc(_sign, "sign")
floor = unary_ufunc(_floor, "floor")
ceil = unary_ufunc(_ceil, "ceil")
rint = unary_ufunc(_rint, "rint")
trunc = unary_ufunc(_trunc, "trunc")


def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001  (NumPy's name)
    """numpy.round: half to even, at ``decimals`` places; derivative 0 (taken as 0 at the jumps)."""
    refuse_out("round", out)
    return _round(a, decimals=decimals)


around = round


def fix(x: Any, out: Any = None) -> Any:
    """numpy.fix: round toward zero; derivative 0 (taken as 0 at the jumps)."""
    refuse_out("fix", out)
    return _fix(x)


# ----- no derivative: NumPy booleans ------------------------------------------------------------
_UFUNC_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "dtype": None, "subok": True, "signature": None}


def _given(options: dict) -> dict:
    """The options a caller set (NumPy refuses some pairs, e.g. dtype and signature, even at defaults)."""
    return {k: v for k, v in options.items() if v is not _UFUNC_DEFAULTS[k]}


def _predicate(ufunc: np.ufunc) -> Any:
    """A ufunc computed on the raw values; every option but ``out=`` goes to NumPy as given."""
    name = ufunc.__name__
    if ufunc.nin == 1:

        def constant(
            x: Any, /, out: Any = None, *, where: Any = True, casting: str = "same_kind", order: str = "K",
            dtype: Any = None, subok: bool = True, signature: Any = None,
        ) -> Any:
            refuse_out(name, out)
            options = _given(dict(where=where, casting=casting, order=order, dtype=dtype, subok=subok,
                                  signature=signature))
            return ufunc(value(x), **options)
    else:

        def constant(
            x1: Any, x2: Any, /, out: Any = None, *, where: Any = True, casting: str = "same_kind",
            order: str = "K", dtype: Any = None, subok: bool = True, signature: Any = None,
        ) -> Any:
            refuse_out(name, out)
            options = _given(dict(where=where, casting=casting, order=order, dtype=dtype, subok=subok,
                                  signature=signature))
            return ufunc(value(x1), value(x2), **options)

    constant.__name__ = constant.__qualname__ = name
    constant.__doc__ = f"numpy.{name} on the values of Tensors or arrays: NumPy booleans, which have no derivative."
    return constant


equal = _predicate(np.equal)
not_equal = _predicate(np.not_equal)
less = _predicate(np.less)
less_equal = _predicate(np.less_equal)
greater = _predicate(np.greater)
greater_equal = _predicate(np.greater_equal)
logical_and = _predicate(np.logical_and)
logical_or = _predicate(np.logical_or)
logical_xor = _predicate(np.logical_xor)
logical_not = _predicate(np.logical_not)
isfinite = _predicate(np.isfinite)
isnan = _predicate(np.isnan)
isinf = _predicate(np.isinf)
signbit = _predicate(np.signbit)


register(_sin, _cos, _tan, _arcsin, _arccos, _arctan, _sinh, _cosh, _arcsinh, _arccosh, _arctanh)
register(_log1p, _expm1, _log2, _log10, _exp2, _square, _reciprocal, _cbrt)
register(_logaddexp, _logaddexp2, _arctan2, _hypot, _mod, _fmod)
register(_sign, _floor, _ceil, _round, _rint, _trunc, _fix)
