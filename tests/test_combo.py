"""The systematic sweep: every differentiable NumPy function of ``matgrad.numpy``, over combinations.

Each case runs :func:`combo.combo_check` on one function: the cartesian product (capped) of its
candidate arguments — shapes 0-d to 3-d (batched), broadcasting pairs, axes, ``keepdims``, orders,
offsets, modes — compared with NumPy's values on the same arrays and checked by ``gradcheck`` at
second order in both modes.  The inputs keep away from kinks and singularities: no ties for
``max``/``sort``/``maximum``, values between the jumps of ``floor``/``round``/``mod``, well
conditioned matrices, SPD ones for ``cholesky``, separated eigenvalues and singular values for
``eigh``/``svd`` (whose vectors enter only through functions blind to each column's sign).

The last tests hold the sweep complete: every NumPy function that ``matgrad.numpy`` (and its
``linalg``) differentiates has a case, and every function that issue #12 lists exists and has one.
"""

from __future__ import annotations

import math
import re
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy
import pytest

import matgrad as mg
import matgrad.numpy as mnp
from combo import combo_check

# ----- inputs -----------------------------------------------------------------------------------
# A candidate is drawn when its case is built, from a generator seeded by the case's id: adding a
# case changes no other case's numbers.


@dataclass(frozen=True)
class Draw:
    """An array to draw: ``maker(rng, *shape)``."""

    maker: Callable[..., numpy.ndarray]
    shape: tuple[int, ...]


def _draws(maker: Callable[..., numpy.ndarray]) -> Callable[..., Draw]:
    def draw(*shape: int) -> Draw:
        return Draw(maker, shape)

    draw.__name__ = maker.__name__
    return draw


def _uniform(lo: float, hi: float) -> Callable[..., Draw]:
    def maker(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
        return r.uniform(lo, hi, shape)

    maker.__name__ = f"uniform({lo}, {hi})"
    return _draws(maker)


@_draws
def normal(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    return r.standard_normal(shape)


@_draws
def nonzero(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """At least 0.3 from 0 (the kink of abs, the pole of reciprocal), either sign."""
    return r.choice([-1.0, 1.0], shape) * r.uniform(0.3, 1.5, shape)


def _distinct_magnitudes(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    n = math.prod(shape)
    return (0.4 + 0.25 * r.permutation(n) + r.uniform(-0.05, 0.05, n)).reshape(shape)


@_draws
def distinct(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """Entries (and their absolute values) at least 0.15 apart and 0.35 from 0: no ties anywhere."""
    return r.choice([-1.0, 1.0], shape) * _distinct_magnitudes(r, *shape)


@_draws
def between_jumps(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """At least 0.1 from every integer and half-integer: floor, ceil, round, rint, trunc, sign are flat."""
    return r.integers(-3, 3, shape) + r.choice([0.25, 0.75], shape) + r.uniform(-0.1, 0.1, shape)


@_draws
def between_tenths(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """At least 0.01 from every multiple of 0.05: ``round(x, 1)`` is flat there."""
    return r.integers(-20, 20, shape) / 10 + r.uniform(0.015, 0.035, shape)


@_draws
def on_integers(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    return r.integers(-2, 3, shape) + r.uniform(-0.2, 0.2, shape)


@_draws
def on_halves(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """At least 0.1 from every :func:`on_integers` value: maximum and minimum never tie."""
    return r.integers(-2, 2, shape) + 0.5 + r.uniform(-0.2, 0.2, shape)


@_draws
def dividend(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """Divided by a :func:`divisor` (|d| in [1, 1.1]), the quotient is at least 0.09 from an integer."""
    return r.integers(-3, 3, shape) + r.uniform(0.3, 0.7, shape)


@_draws
def divisor(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    return r.choice([-1.0, 1.0], shape) * r.uniform(1.0, 1.1, shape)


@_draws
def clip_safe(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """At least 0.1 from the bounds ±0.5 used below, about half of them inside."""
    inside = r.random(shape) < 0.5
    return r.choice([-1.0, 1.0], shape) * numpy.where(inside, r.uniform(0, 0.4, shape), r.uniform(0.6, 1.5, shape))


def _with_zeros(count: int, *where: tuple[int, ...]) -> Callable[..., Draw]:
    def maker(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
        x = r.choice([-1.0, 1.0], shape) * r.uniform(0.5, 1.5, shape)
        for index in where[:count]:
            x[index] = 0.0
        return x

    maker.__name__ = f"with_{count}_zeros"
    return _draws(maker)


def _orthogonal(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    q, upper = numpy.linalg.qr(r.standard_normal(shape))
    return q * numpy.sign(numpy.diagonal(upper, 0, -2, -1))[..., None, :]


@_draws
def invertible(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """Square, far from singular (random plus n·I); one row negated: the determinant can be negative."""
    n = shape[-1]
    a = r.standard_normal(shape) * 0.4 + n * numpy.eye(n)
    a[..., 0, :] *= r.choice([-1.0, 1.0], shape[:-2] + (1,))
    return a


@_draws
def spd(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    b = r.standard_normal(shape)
    return b @ numpy.swapaxes(b, -1, -2) + shape[-1] * numpy.eye(shape[-1])


@_draws
def symmetric_separated(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """Symmetric with eigenvalues about 1.5 apart (smooth eigenvectors)."""
    n = shape[-1]
    w = 1.5 * numpy.arange(n) - 1.2 + r.uniform(-0.2, 0.2, shape[:-1])
    q = _orthogonal(r, *shape)
    return (q * w[..., None, :]) @ numpy.swapaxes(q, -1, -2)


@_draws
def singular_separated(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """m×n with singular values about 1 apart, the smallest about 1."""
    m, n = shape[-2:]
    k = min(m, n)
    s = numpy.arange(k, 0, -1) + r.uniform(-0.2, 0.2, shape[:-2] + (k,))
    u = _orthogonal(r, *shape[:-2], m, m)[..., :k]
    v = _orthogonal(r, *shape[:-2], n, n)[..., :k]
    return (u * s[..., None, :]) @ numpy.swapaxes(v, -1, -2)


@_draws
def lower_of_symmetric(r: numpy.random.Generator, *shape: int) -> numpy.ndarray:
    """``symmetric_separated`` with noise above the diagonal, which a hermitian path must not read."""
    return symmetric_separated(*shape).maker(r, *shape) + numpy.triu(r.standard_normal(shape), 1)


def _materialize(x: Any, r: numpy.random.Generator) -> Any:
    if isinstance(x, Draw):
        return x.maker(r, *x.shape)
    if isinstance(x, list):
        return [_materialize(i, r) for i in x]
    if isinstance(x, tuple) and any(isinstance(i, Draw) for i in x):
        return tuple(_materialize(i, r) for i in x)
    return x


# ----- the cases ------------------------------------------------------------------------------------
@dataclass
class Case:
    """``name`` is NumPy's (``linalg.norm``); ``id`` names the case in the test's id."""

    id: str
    name: str
    args: list
    kwargs: dict
    options: dict = field(default_factory=dict)
    fun: Callable | None = None
    reference: Callable | None = None

    def functions(self) -> tuple[Callable, Callable]:
        return self.fun or resolve(mnp, self.name), self.reference or resolve(numpy, self.name)


def resolve(module: Any, name: str) -> Any:
    for part in name.split("."):
        module = getattr(module, part)
    return module


CASES: list[Case] = []


def case(name: str, *args: list, tag: str = "", fun: Callable | None = None, reference: Callable | None = None,
         post: Callable | None = None, const: tuple = (), cap: int | None = None, **kwargs: list) -> None:
    """Register a case; candidates are drawn now, from a generator seeded by the case's id."""
    cid = f"{name}-{tag}" if tag else name
    r = numpy.random.default_rng(zlib.crc32(cid.encode()))
    options: dict[str, Any] = {"const": const}
    if post is not None:
        options["post"] = post
    if cap is not None:
        options["cap"] = cap
    CASES.append(Case(cid, name, [_materialize(list(a), r) for a in args],
                      {k: _materialize(list(v), r) for k, v in kwargs.items()}, options, fun, reference))


def shapes(draw: Callable[..., Draw], *shape_list: tuple[int, ...]) -> list[Draw]:
    return [draw(*s) for s in shape_list]


INF = math.inf
ELEMENTWISE = [(), (3,), (2, 3), (2, 1, 3)]
BROADCAST_PAIRS = [(), (3,), (2, 1), (2, 1, 3)]  # every pair broadcasts

# elementwise, one argument: name → inputs in its smooth domain
UNARY = {
    "sin": normal, "cos": normal, "tan": _uniform(-1.2, 1.2), "arcsin": _uniform(-0.8, 0.8),
    "arccos": _uniform(-0.8, 0.8), "arctan": normal, "sinh": normal, "cosh": normal, "arcsinh": normal,
    "arccosh": _uniform(1.2, 3.0), "arctanh": _uniform(-0.8, 0.8), "log1p": _uniform(-0.5, 2.0),
    "expm1": normal, "log2": _uniform(0.3, 3.0), "log10": _uniform(0.3, 3.0), "exp2": normal, "square": normal,
    "reciprocal": nonzero, "exp": normal, "log": _uniform(0.3, 3.0), "tanh": normal, "sqrt": _uniform(0.3, 3.0),
    "abs": nonzero, "fabs": nonzero, "cbrt": nonzero, "negative": normal, "positive": normal,
    # derivative zero between the jumps
    "sign": nonzero, "floor": between_jumps, "ceil": between_jumps, "round": between_jumps, "rint": between_jumps,
    "trunc": between_jumps, "fix": between_jumps,
}
for _name, _draw in UNARY.items():
    case(_name, shapes(_draw, *ELEMENTWISE))
case("round", shapes(between_tenths, (3,), (2, 3)), [1], tag="decimals")
case("around", shapes(between_jumps, (), (2, 3)), [0])

# elementwise, two arguments (broadcasting pairs)
BINARY = {
    "add": (normal, normal), "subtract": (normal, normal), "multiply": (normal, normal),
    "divide": (normal, nonzero), "true_divide": (normal, nonzero), "power": (_uniform(0.5, 2.0), normal),
    "logaddexp": (normal, normal), "logaddexp2": (normal, normal), "arctan2": (normal, nonzero),
    "hypot": (nonzero, nonzero), "mod": (dividend, divisor), "remainder": (dividend, divisor),
    "fmod": (dividend, divisor), "maximum": (on_integers, on_halves), "minimum": (on_halves, on_integers),
}
for _name, (_a, _b) in BINARY.items():
    case(_name, shapes(_a, *BROADCAST_PAIRS), shapes(_b, *BROADCAST_PAIRS))
# a Python number as one operand (a constant)
case("power", shapes(_uniform(0.5, 2.0), (), (2, 3)), [2, 0.5, -1.5, 3.0], tag="constant-exponent")
case("power", [2.0, 0.5], shapes(normal, (), (3,)), tag="constant-base")
case("maximum", shapes(nonzero, (3,), (2, 3)), [0.0, -0.1], tag="constant")
case("divide", [1.0, -2.5], shapes(nonzero, (), (2, 3)), tag="constant-numerator")
case("arctan2", [0.7, -1.2], shapes(nonzero, (3,)), tag="constant")
case("where", [numpy.array([True, False, True])], shapes(normal, (3,), (2, 3)), [0.0, -1.5], tag="constant")
case("matmul", shapes(normal, (3,), (2, 3), (2, 2, 3)), shapes(normal, (3,), (3, 2), (2, 3, 2), (1, 3, 2)))
case("linalg.matmul", shapes(normal, (2, 3), (2, 2, 3)), shapes(normal, (3,), (2, 3, 2)))

# reductions
REDUCE_SHAPES = [(), (3,), (2, 3), (2, 2, 3)]
REDUCE_AXES = [None, 0, -1, (0, 1)]
for _name in ("sum", "mean"):
    case(_name, shapes(normal, *REDUCE_SHAPES), axis=REDUCE_AXES, keepdims=[False, True])
for _name in ("max", "min", "amax", "amin", "ptp"):
    case(_name, shapes(distinct, *REDUCE_SHAPES), axis=REDUCE_AXES, keepdims=[False, True])
for _name in ("var", "std"):
    case(_name, shapes(normal, (3,), (2, 3), (2, 2, 3)), axis=REDUCE_AXES, ddof=[0, 1], keepdims=[False, True],
         cap=64)
case("var", shapes(normal, (3, 4)), axis=[None, 0, 1], correction=[0, 1.5], tag="correction")
case("var", [numpy.array(0.7)], tag="0d")
case("median", shapes(distinct, (3,), (4,), (2, 3), (3, 4)), axis=[None, 0, -1], keepdims=[False, True])
case("average", shapes(normal, (2, 3)), axis=[None, 0, 1], weights=[None, _uniform(0.5, 2.0)(2, 3)])
case("average", shapes(normal, (2, 3)), [1], shapes(_uniform(0.5, 2.0), (3,)), tag="weights-along-axis")
case(
    "prod",
    [numpy.array(0.0), normal(), normal(4), _with_zeros(1, (1,))(4), _with_zeros(2, (1,), (3,))(4),
     _with_zeros(2, (0, 1), (0, 2))(2, 3), _with_zeros(2, (0, 1), (1, 1))(2, 3),
     _with_zeros(2, (0, 1, 2), (1, 1, 2))(2, 2, 3), _with_zeros(3, (0, 0, 0), (0, 0, 1), (1, 0, 1))(2, 2, 3)],
    axis=REDUCE_AXES, keepdims=[False, True], cap=72,
)
for _name in ("cumsum", "cumprod"):
    case(_name, shapes(normal, (), (4,), (2, 3), (2, 2, 3)), axis=[None, 0, -1, 1])
case(
    "cumprod",
    [_with_zeros(1, (1,))(4), _with_zeros(2, (1,), (2,))(4), _with_zeros(2, (0, 1), (1, 0))(2, 3),
     _with_zeros(2, (0, 0), (0, 2))(2, 3)],
    axis=[None, 0, -1], tag="zeros",
)
case("sort", shapes(distinct, (1,), (4,), (2, 3), (2, 2, 3)), axis=[-1, 0, None, 1])
case("diff", shapes(normal, (4,), (3, 4), (2, 2, 3)), n=[1, 2], axis=[-1, 0])
case("diff", shapes(normal, (3, 4)), [1], [0, 1], [normal(1, 4), numpy.array(0.5)], tag="prepend")


# norms
def _post_first(out: Any) -> Any:
    return out[0]


case("linalg.norm", shapes(distinct, (4,), (2, 4), (2, 2, 3)), [1, 2, INF, -INF, 3, None, 0.5, -1],
     axis=[None, -1, 0], keepdims=[False, True], tag="vector", cap=96)
case("linalg.norm", shapes(singular_separated, (3, 3), (2, 3), (3, 2), (2, 3, 2)),
     ["fro", "nuc", 2, -2, 1, -1, INF, -INF, None], axis=[None, (-2, -1), (1, 0)], keepdims=[False, True],
     tag="matrix", cap=96)
case("linalg.vector_norm", shapes(distinct, (4,), (2, 3), (2, 2, 3)), axis=[None, -1, (0, 1)],
     ord=[2, 1, INF, -INF, 3], keepdims=[False, True], cap=48)
case("linalg.matrix_norm", shapes(singular_separated, (2, 3), (2, 3, 2)), ord=["fro", "nuc", 2, -2, 1, INF],
     keepdims=[False, True])

# products
case("dot", shapes(normal, (), (3,), (2, 3), (2, 2, 3)), shapes(normal, (), (3,), (3, 2), (2, 3, 2)))
case("vdot", shapes(normal, (6,), (2, 3), (3, 2)), shapes(normal, (6,), (2, 3), (3, 1, 2)))
case("inner", shapes(normal, (), (3,), (2, 3), (2, 2, 3)), shapes(normal, (), (3,), (4, 3)))
case("outer", shapes(normal, (), (3,), (2, 2)), shapes(normal, (2,), (2, 2)))
case("tensordot", shapes(normal, (2, 3), (2, 3, 4), (3, 4)), shapes(normal, (3, 4), (3, 4, 2), (4, 3)),
     axes=[0, 1, 2, [[1], [0]], [[1, 2], [0, 1]], [[0], [1]], ([-1], [0]), ([0, 1], [1, 0])], cap=72)
case("kron", shapes(normal, (), (2,), (2, 2), (1, 2, 2)), shapes(normal, (3,), (2, 3)))
case("cross", shapes(normal, (3,), (2, 3), (2, 1, 3)), shapes(normal, (3,), (2, 3)), tag="3-vectors")
case("cross", shapes(normal, (3, 2)), shapes(normal, (3,), (3, 2), (3, 1)), axisa=[0, -2], axisb=[0],
     axisc=[0, -1], tag="axes")
case("cross", shapes(normal, (2, 3)), shapes(normal, (3, 2), (3, 1)), axisa=[-1, 1], axisb=[0, -2],
     axisc=[0, -1, 1], tag="axes-mixed")
case("cross", shapes(normal, (3, 2)), shapes(normal, (3, 2), (3, 1)), axis=[0], tag="axis")

# einsum: the subscripts are a constant first argument
SQUARE = shapes(normal, (3, 3))
case("einsum", ["ii", "ii->i", "ij->ji", "ij", "ij->", "ji", "ij->j"], SQUARE + shapes(normal, (2, 3)),
     tag="one-operand")
case("einsum", ["ijk->kji", "ijk->jk", "iij->j", "...ii->...i", "i...->...", "ijk->"], shapes(normal, (2, 2, 3)),
     tag="one-operand-3d")
case("einsum", ["ij,jk->ik", "ij,jk", "ij,kj->ik", "ij,jk->ki", "ik,jk->"], shapes(normal, (3, 2)),
     shapes(normal, (2, 3), (2, 2)), tag="matrices")
case("einsum", ["bij,bjk->bik", "...ij,...jk", "...ij,...jk->...ik", "bij,bjk->"], shapes(normal, (2, 2, 3)),
     shapes(normal, (2, 3, 2), (3, 2), (1, 3, 2)), tag="batched")
case("einsum", ["i,j->ij", "i,i", "i,i->", "i,i->i", "i,j", "i,j->ji"], shapes(normal, (3,)),
     shapes(normal, (3,), (2,)), tag="vectors")
case("einsum", ["ij,j->i", "ij,i->j", "...j,j->..."], shapes(normal, (2, 3), (4, 2, 3)), shapes(normal, (3,), (2,)),
     tag="matrix-vector")
case("einsum", [",ij->ij", "...,...->..."], shapes(normal, ()), shapes(normal, (2, 3)), tag="scalar")
case("einsum", ["ij,jk,kl->il", "ij,jk,kl", "ij,jk,ki->"], shapes(normal, (2, 3)), shapes(normal, (3, 2)),
     shapes(normal, (2, 2)), tag="three-operands")
case("einsum", ["i,i,i->", "i,j,k->ijk"], shapes(normal, (2,)), shapes(normal, (2,)), shapes(normal, (2,)),
     tag="three-vectors")
for _sub in ("ij,ij->", "ij,ij->i", "ij,jk->ik", "ij,kj->ik", "ii,ij->j"):
    case("einsum", shapes(normal, (3, 3)), tag=f"repeated-operand[{_sub}]",
         fun=lambda a, s=_sub: mnp.einsum(s, a, a), reference=lambda a, s=_sub: numpy.einsum(s, a, a))
case("einsum", shapes(normal, (2, 3)), shapes(normal, (3,)), tag="repeated-operand-three",
     fun=lambda a, b: mnp.einsum("ij,j,ij->i", a, b, a), reference=lambda a, b: numpy.einsum("ij,j,ij->i", a, b, a))

# matrices
case("trace", shapes(normal, (3, 3), (3, 4), (2, 3, 3)), offset=[-1, 0, 1], axis1=[0, 1], axis2=[1, 2, -1],
     cap=54)
case("diag", shapes(normal, (3,), (3, 3), (3, 4)), k=[-1, 0, 2])
case("diagflat", shapes(normal, (3,), (2, 2)), k=[0, 1, -1])
case("diagonal", shapes(normal, (3, 3), (3, 4), (2, 3, 3)), offset=[-1, 0, 1], axis1=[0, 1], axis2=[1, 2, -1],
     cap=54)
for _name in ("tril", "triu"):
    case(_name, shapes(normal, (3,), (3, 3), (3, 4), (2, 3, 3)), k=[-1, 0, 1, 2])
case("linalg.inv", shapes(invertible, (1, 1), (2, 2), (3, 3), (2, 3, 3)))
case("linalg.det", shapes(invertible, (1, 1), (2, 2), (3, 3), (2, 3, 3)))
case("linalg.slogdet", shapes(invertible, (2, 2), (3, 3), (2, 3, 3)), post=lambda out: out[1])
case("linalg.pinv", shapes(singular_separated, (3, 3), (2, 3), (3, 2), (2, 3, 2)))
case("linalg.pinv", shapes(lower_of_symmetric, (3, 3), (2, 2, 2)), hermitian=[True], tag="hermitian")
case("linalg.pinv", shapes(symmetric_separated, (3, 3), (2, 2, 2)), tag="hermitian-of-symmetric",
     fun=lambda a: mnp.linalg.pinv((a + mnp.matrix_transpose(a)) / 2, hermitian=True),
     reference=lambda a: numpy.linalg.pinv((a + numpy.matrix_transpose(a)) / 2, hermitian=True))
case("linalg.solve", shapes(invertible, (3, 3), (2, 3, 3)), shapes(normal, (3,), (3, 2), (2, 3, 2), (2, 3)))
case("linalg.cholesky", shapes(spd, (1, 1), (2, 2), (3, 3), (2, 3, 3)), upper=[False, True])
case("linalg.matrix_power", shapes(invertible, (2, 2), (3, 3), (2, 3, 3)), [-2, -1, 0, 1, 2, 3])


def _sign_blind_eigh(out: Any) -> Any:
    """Eigenvalues, the projectors vₖvₖᵀ and vₖ⊙vₖ: none changes when a column vₖ changes sign."""
    w, v = out
    projectors = mnp.einsum("...ik,...jk->...kij", v, v)
    return mnp.concatenate([mnp.ravel(w), mnp.ravel(projectors), mnp.ravel(v * v)])


def _sign_blind_svd(out: Any) -> Any:
    """Singular values and uₖvₖᵀ, uₖuₖᵀ, vₖvₖᵀ over the k = min(m, n) determined columns."""
    u, s, vh = out
    k = s.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    parts = [
        s,
        mnp.einsum("...ik,...kj->...kij", u, vh),
        mnp.einsum("...ik,...jk->...kij", u, u),
        mnp.einsum("...ki,...kj->...kij", vh, vh),
    ]
    return mnp.concatenate([mnp.ravel(p) for p in parts])


case("linalg.eigh", shapes(symmetric_separated, (1, 1), (2, 2), (3, 3), (2, 3, 3)), UPLO=["L", "U"],
     post=_sign_blind_eigh)
case("linalg.eigh", shapes(symmetric_separated, (3, 3)), tag="eigenvalues", post=_post_first)
case("linalg.eigvalsh", shapes(symmetric_separated, (2, 2), (3, 3), (2, 3, 3)), UPLO=["L", "U"])
case("linalg.svd", shapes(singular_separated, (3, 3), (2, 3), (3, 2), (2, 3, 2), (2, 2, 3)), full_matrices=[False],
     post=_sign_blind_svd)
case("linalg.svd", shapes(singular_separated, (1, 1), (3, 3), (2, 3, 3)), full_matrices=[True], tag="full-square",
     post=_sign_blind_svd)
case("linalg.svd", shapes(singular_separated, (3, 3), (2, 3), (3, 2), (2, 3, 2)), compute_uv=[False],
     tag="singular-values")
case("linalg.svdvals", shapes(singular_separated, (3, 3), (2, 3), (2, 3, 2)))
case("linalg.svd", shapes(lower_of_symmetric, (3, 3), (2, 3, 3)), compute_uv=[False], hermitian=[True],
     tag="hermitian-singular-values")

# rearranging
ANY_SHAPE = [(), (3,), (2, 3), (2, 2, 3)]
case("ravel", shapes(normal, *ANY_SHAPE))
case("repeat", shapes(normal, (), (3,), (2, 3)), [2, 1, numpy.array([1, 0, 2])], axis=[None, -1, 0])
case("tile", shapes(normal, (), (3,), (2, 3)), [2, (2, 1), (1, 2, 2)])
case("roll", shapes(normal, (4,), (2, 3), (2, 2, 3)), [1, -2, (1, 2)], axis=[None, 0, -1, (0, 1)])
case("flip", shapes(normal, (3,), (2, 3), (2, 2, 3)), axis=[None, 0, -1, (0, 1)])
case("flipud", shapes(normal, (3,), (2, 3), (2, 2, 3)))
case("fliplr", shapes(normal, (2, 3), (2, 2, 3)))
case("rot90", shapes(normal, (2, 3), (2, 2, 3)), k=[-1, 0, 1, 2, 3], axes=[(0, 1), (1, 0), (1, 2)])
case("pad", shapes(normal, (3,), (2, 3), (2, 2, 3)), [1, (1, 2), ((1, 0), (0, 2), (1, 1))],
     mode=["constant", "edge", "reflect", "symmetric", "wrap"], cap=45)
case("pad", shapes(normal, (2, 3)), [((1, 0), (0, 2))], constant_values=[0.5, ((1.0, 2.0), (3.0, 4.0))],
     tag="constant_values")
case("moveaxis", shapes(normal, (3,), (2, 3), (2, 2, 3)), [0, -1, (0, 1)], [-1, 1, (1, 0)])
case("transpose", shapes(normal, *ANY_SHAPE), axes=[None, (1, 0), (2, 0, 1), (0, 2, 1)])
case("reshape", shapes(normal, (6,), (2, 3), (3, 1, 2)), [(3, 2), (6,), -1, (1, 2, 3), (2, -1)])
case("swapaxes", shapes(normal, (2, 3), (2, 2, 3)), [0, -1], [1, 2])
case("expand_dims", shapes(normal, *ANY_SHAPE), [0, -1, (0, 2)])
case("squeeze", shapes(normal, (1,), (1, 3), (2, 1, 3), (1, 2, 1)), axis=[None, 0, -1])
case("matrix_transpose", shapes(normal, (2, 3), (2, 2, 3)))
case("linalg.matrix_transpose", shapes(normal, (3, 2), (2, 3, 2)))
case("broadcast_to", shapes(normal, (), (3,), (1, 3)), [(2, 3), (2, 2, 3)])
for _name in ("split", "array_split"):
    case(_name, shapes(normal, (6,), (4, 2), (2, 4, 2)), [2, [1, 3]], axis=[0, 1, -1])
case("array_split", shapes(normal, (5,), (3, 5)), [3, 4], axis=[0, -1], tag="uneven")
case("hsplit", shapes(normal, (4,), (2, 4), (2, 4, 2)), [2, [1, 3]])
case("vsplit", shapes(normal, (4, 2), (4, 2, 3)), [2, [1]])
case("dsplit", shapes(normal, (2, 2, 4)), [2, [1, 3]])
_PAIRS = [[normal(3), normal(2)], [normal(2, 3), normal(2, 2)], [normal(2, 3), normal(1, 3)],
          [normal(2, 2, 3), normal(2, 2, 3)], [normal(), normal(2)]]
STACKABLE = {  # sequences each function joins (and one it refuses, [(2, 3), (2, 2)] or [(3,), (2,)])
    "hstack": [[normal(), normal()], [normal(3), normal(2)], [normal(2, 3), normal(2, 2)],
               [normal(2, 2, 3), normal(2, 1, 3)], [normal(2, 3), normal(3, 3)]],
    "vstack": [[normal(), normal()], [normal(3), normal(3)], [normal(2, 3), normal(1, 3)],
               [normal(2, 2, 3), normal(1, 2, 3)], [normal(2, 3), normal(2, 2)]],
    "column_stack": [[normal(3), normal(3)], [normal(3), normal(3, 2)], [normal(2, 3), normal(2, 1), normal(2)],
                     [normal(3), normal(2)]],
    "dstack": [[normal(), normal()], [normal(3), normal(3)], [normal(2, 3), normal(2, 3)],
               [normal(2, 2, 3), normal(2, 2, 1)], [normal(3), normal(2)]],
}
for _name, _sequences in STACKABLE.items():
    case(_name, _sequences)
case("concatenate", _PAIRS + [[normal(2, 3), normal(2, 3), normal(2, 3)]], axis=[0, 1, -1, None])
case("stack", [[normal(), normal()], [normal(3), normal(3)], [normal(2, 3), normal(2, 3), normal(2, 3)]],
     axis=[0, 1, -1])
case("array", [[normal(), normal()], [normal(3), normal(3)], [normal(2, 3), normal(2, 3)]])
case("asarray", [[normal(3), normal(3)], normal(2, 3)])
case("append", shapes(normal, (3,), (2, 3)), shapes(normal, (2,), (1, 3), (2, 1)), axis=[None, 0, 1])
for _name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    case(_name, shapes(normal, (), (3,), (2, 3), (2, 2, 3)))
    case(_name, shapes(normal, (), (3,)), shapes(normal, (2, 3), (1,)), tag="several")
case("where", [numpy.array(True), numpy.array([True, False, True]), numpy.array([[True], [False]])],
     shapes(normal, (), (3,), (2, 3)), shapes(normal, (), (1, 3), (2, 1)))
case("clip", shapes(clip_safe, (), (3,), (2, 3)), [-0.5, None, numpy.array([-0.5, -0.5, -0.5])], [0.5],
     const=(1, 2))
case("take", shapes(normal, (4,), (3, 4)), [numpy.array([0, 2, 2]), 1, numpy.array([[1, 0], [3, 3]])],
     axis=[None, 0, -1])
case("take_along_axis", shapes(normal, (3, 4)), [numpy.array([[0, 2], [1, 1], [3, 0]])], axis=[1])
case("take_along_axis", shapes(normal, (3, 4)), [numpy.array([[0, 2, 2, 1]])], axis=[0], tag="axis0")
case("convolve", shapes(normal, (5,), (2,)), shapes(normal, (3,), (1,)), ["full", "same", "valid"])
case("correlate", shapes(normal, (5,), (2,)), shapes(normal, (3,), (1,)), ["full", "same", "valid"])
case("eye", [1, 3], [None, 4], k=[0, 1, -1])

CASE_IDS = [c.id for c in CASES]


# ----- the sweep ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_combo(case: Case) -> None:
    fun, reference = case.functions()
    report = combo_check(fun, *case.args, reference=reference, name=case.id, seed=zlib.crc32(case.id.encode()),
                         **case.options, **case.kwargs)
    assert report.checked >= 1, f"{case.id}: NumPy refuses every combination; the case checks nothing"


# ----- the sweep is complete ---------------------------------------------------------------------
def differentiable_numpy_names() -> list[str]:
    """NumPy's names that matgrad.numpy differentiates (its ``linalg`` too), as NumPy spells them."""
    top = [n for n in mnp.DIFFERENTIABLE if callable(getattr(numpy, n, None))]
    return sorted(top) + [f"linalg.{n}" for n in mnp.linalg.DIFFERENTIABLE]


def _uncovered(names: list[str]) -> list[str]:
    """Names with no case, by name or by being the very same function (``acos`` is ``arccos``)."""
    by_name = {c.name for c in CASES}
    by_object = {id(resolve(mnp, c.name)) for c in CASES}
    return [n for n in names if n not in by_name and id(resolve(mnp, n)) not in by_object]


def test_every_differentiable_numpy_function_has_a_combo():
    names = differentiable_numpy_names()
    assert len(names) > 100  # the derivation found the table, not an empty list
    missing = _uncovered(names)
    assert not missing, f"matgrad.numpy differentiates these, but tests/test_combo.py has no case: {missing}"


# issue #12: the functions the systematic test must cover
ISSUE_12 = """sin cos tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh log1p expm1 log2 log10 exp2 square
reciprocal logaddexp arctan2 hypot mod remainder sign floor ceil round prod cumsum cumprod var std min max sort
linalg.norm dot vdot inner outer tensordot einsum kron cross trace diag diagonal tril triu linalg.inv linalg.pinv
linalg.det linalg.slogdet linalg.solve linalg.cholesky linalg.eigh linalg.svd linalg.matrix_power ravel repeat tile
roll flip flipud fliplr rot90 pad moveaxis split array_split hstack vstack column_stack append atleast_1d atleast_2d
atleast_3d sum mean exp log tanh sqrt maximum minimum where concatenate stack transpose reshape swapaxes
expand_dims squeeze clip abs""".split()


def test_every_function_of_issue_12_is_differentiable_and_swept():
    differentiable = set(differentiable_numpy_names())
    absent = [n for n in ISSUE_12 if n not in differentiable]
    assert not absent, f"matgrad.numpy does not differentiate these NumPy functions: {absent}"
    assert not _uncovered(ISSUE_12)
    for name in ISSUE_12:  # the name means NumPy's function (NumPy has it)
        assert callable(resolve(numpy, name)), name


# ----- what NumPy computes and matgrad refuses on purpose (documented) --------------------------------
# Each entry: NumPy computes it; matgrad raises an error that says why.  When matgrad learns one, this
# test fails: move the combination into the sweep above.
def _refusals() -> list[tuple[str, Callable, Callable, str]]:
    r = numpy.random.default_rng(12)
    a2, b2 = r.standard_normal(2), r.standard_normal((3, 2))
    wide = _materialize(singular_separated(2, 3), r)
    x = r.standard_normal((2, 3))
    out = [
        ("cross of 2-vectors (NumPy 2 deprecates them)", lambda m: m.cross(a2, b2), "2-vectors", DeprecationWarning),
        ("svd(full_matrices=True) of a non-square matrix", lambda m: m.linalg.svd(wide), "full_matrices=True", None),
    ]
    out += [(f"pad mode {mode!r}", lambda m, mode=mode: m.pad(x, 1, mode=mode), "not supported", None)
            for mode in ("linear_ramp", "maximum", "minimum", "mean", "median")]
    return out


REFUSALS = _refusals()


@pytest.mark.parametrize("what, call, message, warning", REFUSALS, ids=[w for w, *_ in REFUSALS])
def test_documented_refusals(what, call, message, warning):
    with warnings.catch_warnings():
        if warning is not None:
            warnings.simplefilter("ignore", warning)
        expected = call(numpy)
    assert all(numpy.all(numpy.isfinite(part)) for part in (expected if isinstance(expected, tuple) else [expected]))

    def on_tensors(m: Any) -> Any:
        return call(_TensorInputs(m))

    with pytest.raises(ValueError, match=re.escape(message)):
        on_tensors(mnp)


class _TensorInputs:
    """A module whose functions receive every float array as a Tensor that requires grad."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._module, name)
        if not callable(target):
            return _TensorInputs(target)

        def call(*args: Any, **kwargs: Any) -> Any:
            wrapped = [mg.tensor(a, requires_grad=True) if isinstance(a, numpy.ndarray) else a for a in args]
            return target(*wrapped, **kwargs)

        return call


# ----- combo_check itself: it can fail ----------------------------------------------------------------------
def test_combo_check_catches_a_wrong_value():
    with pytest.raises(AssertionError, match="values differ"):
        combo_check(mnp.sin, [numpy.linspace(0.1, 1.0, 3)], reference=numpy.cos, name="sin-vs-cos")


def test_combo_check_catches_a_wrong_derivative():
    """floor(10⁷x)/10⁷ equals x to 1e-7 but its recorded derivative is 0: finite differences see 1."""
    staircase = lambda x: mnp.floor(x * 1e7) / 1e7
    with pytest.raises(AssertionError, match="gradcheck failed"):
        combo_check(staircase, [numpy.linspace(0.1, 1.0, 3)], reference=lambda x: numpy.floor(x * 1e7) / 1e7)


def test_combo_check_catches_a_missing_refusal_and_counts_agreed_ones():
    lenient = lambda x, axis: mnp.sum(x)  # ignores an axis NumPy checks
    with pytest.raises(AssertionError, match="NumPy refuses"):
        combo_check(lenient, [numpy.ones(3)], [0, 5], reference=lambda x, axis: numpy.sum(x, axis=axis))
    report = combo_check(mnp.sum, [numpy.ones(3)], reference=numpy.sum, axis=[0, 5])
    assert (report.checked, report.refused) == (1, 1)


def test_combo_check_samples_at_most_cap_combinations_deterministically():
    seen: list[tuple] = []

    def spy(x: Any, k: int, *, j: int) -> Any:
        seen.append((k, j))
        return mnp.multiply(x, float(k + j))

    kwargs = dict(reference=lambda x, k, *, j: x * float(k + j), cap=5, seed=3, j=list(range(4)))
    report = combo_check(spy, [numpy.ones(2)], list(range(6)), **kwargs)
    first = sorted(set(seen))
    assert report.total == 24 and report.checked == 5 and len(first) == 5
    seen.clear()
    combo_check(spy, [numpy.ones(2)], list(range(6)), **kwargs)
    assert sorted(set(seen)) == first
