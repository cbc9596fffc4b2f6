"""Specs of NumPy's elementwise functions: trigonometric, hyperbolic, logarithms and exponentials,
the binary ufuncs, and the zero-derivative family (inputs kept away from its jumps)."""

from __future__ import annotations

import numpy as np

import matgrad as mg

from . import Spec, nonzero, normal, on_halves, on_integers, positive


# ----- inputs: each inside the domain of the function it feeds, away from its edges ---------------
def inside_unit(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Arguments of arcsin, arccos, arctanh: inside (−1, 1), at least 0.2 from its ends."""
    return r.uniform(-0.8, 0.8, shape)


def above_one(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Arguments of arccosh: at least 0.2 above 1."""
    return r.uniform(1.2, 3.0, shape)


def above_minus_one(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Arguments of log1p: at least 0.5 above −1."""
    return r.uniform(-0.5, 2.0, shape)


def quarter_turn(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Arguments of tan: away from its poles at ±π/2."""
    return r.uniform(-1.2, 1.2, shape)


def divisors(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Divisors of mod and fmod, of both signs, away from 0."""
    return r.choice([-1.0, 1.0], shape) * r.uniform(0.5, 2.0, shape)


def dividends(y: np.ndarray, r: np.random.Generator, *shape: int) -> np.ndarray:
    """x with x/y at least 0.15 from every integer (the jumps of ⌊x/y⌋ and trunc(x/y)), of shape
    ``shape``, which y must broadcast to."""
    return y * (r.integers(-3, 3, shape) + r.uniform(0.15, 0.85, shape))


def tenths(r: np.random.Generator, *shape: int) -> np.ndarray:
    """At least 0.02 from the jumps of round(x, decimals=1) (the odd multiples of 0.05)."""
    return (r.integers(-20, 20, shape) + r.uniform(-0.3, 0.3, shape)) / 10


def mod_pair(r: np.random.Generator, x_shape: tuple, y_shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    y = divisors(r, *y_shape)
    return dividends(y, r, *x_shape), y


S = Spec
SPECS: list[Spec] = [
    # trigonometric and hyperbolic
    S("sin", "sin", lambda r: (normal(r, 2, 3),)),
    S("sin-public", "sin", lambda r: (normal(r, 2, 3),), via=lambda x: mg.sin(x)),
    S("cos", "cos", lambda r: (normal(r, 2, 3),)),
    S("cos-empty", "cos", lambda r: (normal(r, 0, 3),)),
    S("tan", "tan", lambda r: (quarter_turn(r, 2, 3),)),
    S("arcsin", "arcsin", lambda r: (inside_unit(r, 2, 3),)),
    S("arccos", "arccos", lambda r: (inside_unit(r, 2, 3),)),
    S("arctan", "arctan", lambda r: (2 * normal(r, 2, 3),)),
    S("sinh", "sinh", lambda r: (normal(r, 2, 3),)),
    S("cosh", "cosh", lambda r: (normal(r, 2, 3),)),
    S("arcsinh", "arcsinh", lambda r: (2 * normal(r, 2, 3),)),
    S("arccosh", "arccosh", lambda r: (above_one(r, 2, 3),)),
    S("arctanh", "arctanh", lambda r: (inside_unit(r, 2, 3),)),
    S("arctanh-scalar", "arctanh", lambda r: (inside_unit(r),)),
    # logarithms, exponentials, powers
    S("log1p", "log1p", lambda r: (above_minus_one(r, 2, 3),)),
    S("expm1", "expm1", lambda r: (normal(r, 2, 3),)),
    S("log2", "log2", lambda r: (positive(r, 2, 3),)),
    S("log10", "log10", lambda r: (positive(r, 2, 3),)),
    S("exp2", "exp2", lambda r: (normal(r, 2, 3),)),
    S("square", "square", lambda r: (normal(r, 2, 3),)),
    S("reciprocal", "reciprocal", lambda r: (nonzero(r, 2, 3),)),
    S("cbrt", "cbrt", lambda r: (nonzero(r, 2, 3),)),
    S("cbrt-public", "cbrt", lambda r: (nonzero(r, 3),), via=lambda x: mg.cbrt(x)),
    # binary, with broadcasting
    S("logaddexp", "logaddexp", lambda r: (normal(r, 3, 1), normal(r, 1, 4))),
    S("logaddexp-scalar", "logaddexp", lambda r: (normal(r), normal(r, 2, 3))),
    S("logaddexp2", "logaddexp2", lambda r: (normal(r, 2, 3), normal(r, 3))),
    S("arctan2", "arctan2", lambda r: (normal(r, 3, 1), nonzero(r, 1, 4))),
    S("arctan2-empty", "arctan2", lambda r: (normal(r, 0, 3), nonzero(r, 3))),
    S("hypot", "hypot", lambda r: (nonzero(r, 2, 3), nonzero(r, 3))),
    S("hypot-public", "hypot", lambda r: (nonzero(r, 3, 1), nonzero(r, 1, 2)), via=lambda x, y: mg.hypot(x, y)),
    S("mod", "mod", lambda r: mod_pair(r, (2, 3), (2, 3))),
    S("mod-broadcast", "mod", lambda r: mod_pair(r, (2, 3), (3,))),
    S("remainder-public", "mod", lambda r: mod_pair(r, (3, 2), (1, 2)), via=lambda x, y: mg.remainder(x, y)),
    S("fmod", "fmod", lambda r: mod_pair(r, (2, 3), (2, 3))),
    S("fmod-broadcast", "fmod", lambda r: mod_pair(r, (2, 1, 3), (1, 3))),
    # the zero-derivative family, away from the jumps
    S("sign", "sign", lambda r: (nonzero(r, 2, 3),)),
    S("floor", "floor", lambda r: (on_halves(r, 2, 3),)),
    S("ceil", "ceil", lambda r: (on_halves(r, 2, 3),)),
    S("rint", "rint", lambda r: (on_integers(r, 2, 3),)),
    S("trunc", "trunc", lambda r: (on_halves(r, 2, 3),)),
    S("fix", "fix", lambda r: (on_halves(r, 2, 3),)),
    S("fix-public", "fix", lambda r: (on_halves(r, 4),), via=lambda x: mg.fix(x)),
    S("round", "round", lambda r: (on_integers(r, 2, 3),)),
    S("round-decimals", "round", lambda r: (tenths(r, 2, 3),), {"decimals": 1}),
    S("around-public", "round", lambda r: (tenths(r, 3),), {"decimals": 1}, via=lambda x, decimals: mg.around(x, 1)),
    S("floor-empty", "floor", lambda r: (on_halves(r, 2, 0),)),
]
