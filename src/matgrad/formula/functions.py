"""The whitelist: every function a formula may call, with its arity and keywords, in one table.

Operators (``+ - * / ** @``, unary minus, ``.T``, indexing, comparisons as 0/1 masks) map to
callables in ``OPERATORS``; functions by name in ``FUNCTIONS`` (aliases such as ``σ`` and ``tr``
share their row).  The few composites here (``norm``, ``outer``) are algebra over primitives, so
matgrad differentiates them with no rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import primitives as prim
from ..primitives.core import shape_of, value
from .identity import eye


@dataclass(frozen=True)
class Function:
    """One row: canonical name, the callable, positional parameter names, allowed keywords."""

    name: str
    call: Callable[..., Any]
    params: tuple[str, ...] = ("x",)
    keywords: tuple[str, ...] = ()

    def signature(self, spelled: str | None = None) -> str:
        extra = [f"{key}=..." for key in self.keywords]
        return f"{spelled or self.name}({', '.join(list(self.params) + extra)})"


def norm(x: Any) -> Any:
    """The Frobenius norm ‖x‖_F = √(Σ x²) (its gradient at x = 0 is not defined)."""
    return prim.sqrt(prim.sum(prim.power(x, 2)))


def _vector_size(x: Any, role: str) -> int:
    shape = shape_of(x)
    if sum(n != 1 for n in shape) > 1:
        raise ValueError(f"outer: {role} must be a vector (one axis longer than 1), got shape {shape}")
    return int(np.prod(shape, dtype=int))


def outer(a: Any, b: Any) -> Any:
    """a bᵀ for vectors (1-D, columns or rows): a column times a row, broadcast."""
    column = prim.reshape(a, shape=(_vector_size(a, "a"), 1))
    return prim.mul(column, prim.reshape(b, shape=(1, _vector_size(b, "b"))))


def index(x: Any, index: tuple) -> Any:
    """``x[...]`` with literal ints and :class:`~.tree.Slice` items."""
    items = tuple(item.to_slice() if hasattr(item, "to_slice") else item for item in index)
    return prim.getitem(x, index=items[0] if len(items) == 1 else items)


def _mask(compare: Callable[[Any, Any], Any]) -> Callable[[Any, Any], np.ndarray]:
    """A comparison as a mask of 0. and 1.: a constant, whose derivative is zero, so that
    relu'(z) can be written by hand as ``(z > 0)``.  Float inputs keep their dtype."""

    def mask(a: Any, b: Any) -> np.ndarray:
        left, right = value(a), value(b)  # a Python number stays weak: float32 stays float32
        dtype = np.result_type(left, right)
        return np.asarray(compare(left, right)).astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)

    return mask


_AXIS_KEEP = ("axis", "keepdims")

_ROWS = [
    Function("sum", prim.sum, keywords=_AXIS_KEEP),
    Function("mean", prim.mean, keywords=_AXIS_KEEP),
    Function("max", prim.max, keywords=_AXIS_KEEP),
    Function("min", prim.min, keywords=_AXIS_KEEP),
    Function("logsumexp", prim.logsumexp, keywords=_AXIS_KEEP),
    Function("exp", prim.exp),
    Function("log", prim.log),
    Function("sqrt", prim.sqrt),
    Function("abs", prim.absolute),
    Function("sigmoid", prim.sigmoid),
    Function("tanh", prim.tanh),
    Function("relu", prim.relu),
    Function("softplus", prim.softplus),
    Function("softmax", prim.softmax, keywords=("axis",)),
    Function("log_softmax", prim.log_softmax, keywords=("axis",)),
    Function("maximum", prim.maximum, ("a", "b")),
    Function("minimum", prim.minimum, ("a", "b")),
    Function("transpose", prim.transpose),
    Function("matmul", prim.matmul, ("a", "b")),
    Function("trace", prim.trace, ("A",)),
    Function("norm", norm),
    Function("outer", outer, ("a", "b")),
    Function("cross_entropy", prim.cross_entropy, ("logits", "labels"), ("axis",)),
]
_ELEMENTWISE = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
                "log1p", "expm1", "log2", "log10", "exp2", "square", "reciprocal", "cbrt", "sign", "floor", "ceil")
_ROWS += [Function(name, vars(prim)[name]) for name in _ELEMENTWISE]
_ROWS += [Function(name, vars(prim)[name], ("a", "b")) for name in ("logaddexp", "arctan2", "hypot", "mod")]
_ROWS += [
    Function("prod", prim.prod, keywords=_AXIS_KEEP),
    Function("cumsum", prim.cumsum, keywords=("axis",)),
    Function("cumprod", prim.cumprod, keywords=("axis",)),
    Function("var", prim.var, keywords=(*_AXIS_KEEP, "ddof")),
    Function("std", prim.std, keywords=(*_AXIS_KEEP, "ddof")),
    Function("vdot", prim.vdot, ("a", "b")),
    Function("inner", prim.inner, ("a", "b")),
    Function("kron", prim.kron, ("a", "b")),
    Function("cross", prim.cross, ("a", "b")),
    Function("diag", prim.diag, ("v",), ("k",)),
    Function("diagonal", prim.diagonal, ("A",), ("offset",)),
    Function("tril", prim.tril, ("A",), ("k",)),
    Function("triu", prim.triu, ("A",), ("k",)),
    Function("inv", prim.inv, ("A",)),
    Function("pinv", prim.pinv, ("A",)),
    Function("det", prim.det, ("A",)),
    Function("logdet", prim.logdet, ("A",)),
    Function("solve", prim.solve, ("A", "b")),
    Function("cholesky", prim.cholesky, ("A",)),
    Function("matrix_power", lambda a, n=2: prim.matrix_power(a, n), ("A",), ("n",)),  # n=2 unless given
    Function("eye", eye, ("n",)),  # n a literal int; the parser keeps it as a parameter
]
_ALIASES = {"σ": "sigmoid", "tr": "trace", "dot": "matmul", "remainder": "mod"}

#: Every function a formula may call, by the name it is spelled with.
FUNCTIONS: dict[str, Function] = {row.name: row for row in _ROWS}
FUNCTIONS.update({alias: FUNCTIONS[name] for alias, name in _ALIASES.items()})

#: Functions a user may reasonably try, refused with the reason.
UNSUPPORTED: dict[str, str] = {
    "eig": "matgrad has no differentiable general eigendecomposition; eigh (symmetric) is in mg.linalg",
    "svd": "svd returns three arrays; a formula gives one: use mg.linalg.svd from Python",
    "slogdet": "slogdet returns two arrays; use logdet(A) for log det A",
}

#: Comparisons, by the canonical names the parser gives them, with their symbols.
COMPARISONS: dict[str, str] = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}
_COMPARE = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less, "le": np.less_equal, "eq": np.equal,
            "ne": np.not_equal}

#: The callables of operators, by the canonical names the parser gives them.
OPERATORS: dict[str, Callable[..., Any]] = {
    "add": prim.add, "sub": prim.sub, "mul": prim.mul, "div": prim.div, "pow": prim.power, "matmul": prim.matmul,
    "neg": prim.neg, "transpose": prim.transpose, "index": index,
    **{name: _mask(compare) for name, compare in _COMPARE.items()},
}

#: Every canonical Op name to the callable that evaluates it.
CALLS: dict[str, Callable[..., Any]] = {**{row.name: row.call for row in _ROWS}, **OPERATORS}
