"""The whitelist: every function a formula may call, with its arity and keywords, in one table.

Operators (``+ - * / ** @``, unary minus, ``.T``, indexing, comparisons as 0/1 masks) map to
callables in ``OPERATORS``; functions by name in ``FUNCTIONS`` (aliases such as ``σ``, ``tr`` and
``absolute`` share their row; ``add(x, y)`` and the other function forms of operators are the
operator's row).  Rows named as in NumPy call :mod:`matgrad.numpy`'s function, with NumPy's
parameter names; literal parameters (``reshape``'s shape, ``axis=``, ``mode=``) are kept by the
parser in the Op's ``params`` and passed by keyword.  The few composites here (``norm``,
``outer``) are algebra over primitives, so matgrad differentiates them with no rule of its own.
Functions that return several arrays (``svd``, ``split``) are in ``UNSUPPORTED``, with the
single-array function to use instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import numpy as mnp
from .. import primitives as prim
from ..primitives.core import shape_of, value
from .identity import eye


@dataclass(frozen=True)
class Function:
    """One row: canonical name, the callable, positional parameter names, allowed keywords.

    ``params`` name the array arguments, written as expressions; ``literals`` the positional
    parameters after them that take a literal (``reshape(x, (3, 2))``'s shape), also accepted by
    keyword; ``keywords`` the optional literal parameters.  ``arrays`` says how the arrays are
    written: ``"fixed"``, one argument per name in ``params``; ``"list"``, one list literal
    ``[A, B, ...]`` (``concatenate``); ``"variadic"``, any number of arguments after the
    literals (``einsum(subscripts, *operands)``).
    """

    name: str
    call: Callable[..., Any]
    params: tuple[str, ...] = ("x",)
    keywords: tuple[str, ...] = ()
    literals: tuple[str, ...] = ()
    arrays: str = "fixed"

    def signature(self, spelled: str | None = None) -> str:
        first = self.params[0]
        arrays = {"fixed": list(self.params), "list": [f"[{first}, ...]"], "variadic": [f"*{first}"]}[self.arrays]
        ordered = [*self.literals, *arrays] if self.arrays == "variadic" else [*arrays, *self.literals]
        return f"{spelled or self.name}({', '.join(ordered + [f'{key}=...' for key in self.keywords])})"


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
_NUMPY = vars(mnp)  # matgrad.numpy: NumPy's own signatures, differentiable


def _numpy(name: str, params: tuple[str, ...] = ("a",), keywords: tuple[str, ...] = (),
           literals: tuple[str, ...] = ()) -> Function:
    """A row calling matgrad.numpy's function of the same name, with NumPy's parameter names."""
    return Function(name, _NUMPY[name], params, keywords, literals)


def _listed(name: str, param: str, keywords: tuple[str, ...] = ()) -> Function:
    """A row for a function of one list of arrays (``concatenate([A, B])``): the arrays are the
    Op's arguments, gathered back into a list for the call."""
    function = _NUMPY[name]
    return Function(name, lambda *arrays, **params: function(list(arrays), **params), (param,), keywords,
                    arrays="list")


def einsum(*operands: Any, subscripts: str) -> Any:
    """``einsum(subscripts, *operands)`` with the subscripts a parameter, as the parser keeps them."""
    return mnp.einsum(subscripts, *operands)


_ROWS += [_numpy(name, ("x",)) for name in ("rint", "trunc", "positive", "matrix_transpose", "svdvals")]
_ROWS += [_numpy(name, ("x1", "x2")) for name in ("fmod", "logaddexp2")]
_ROWS += [_numpy(name, ("arys",)) for name in ("atleast_1d", "atleast_2d", "atleast_3d")]
_ROWS += [_numpy(name, ("m",)) for name in ("fliplr", "flipud")]
_ROWS += [_numpy(name, keywords=_AXIS_KEEP) for name in ("median", "ptp")]
_ROWS += [_numpy(name, ("a", "v"), ("mode",)) for name in ("convolve", "correlate")]
_ROWS += [_numpy(name, ("in1", "in2"), ("mode",)) for name in ("convolve2d", "correlate2d")]
_ROWS += [_listed(name, "tup") for name in ("hstack", "vstack", "column_stack", "dstack")]
_ROWS += [
    _numpy("round", keywords=("decimals",)),
    _numpy("clip", literals=("a_min", "a_max")),
    _numpy("where", ("condition", "x", "y")),
    _numpy("reshape", literals=("shape",)),
    _numpy("ravel"),
    _numpy("squeeze", keywords=("axis",)),
    _numpy("expand_dims", literals=("axis",)),
    _numpy("swapaxes", literals=("axis1", "axis2")),
    _numpy("moveaxis", literals=("source", "destination")),
    _numpy("broadcast_to", ("array",), literals=("shape",)),
    _numpy("flip", ("m",), ("axis",)),
    _numpy("rot90", ("m",), ("k", "axes")),
    _numpy("roll", keywords=("axis",), literals=("shift",)),
    _numpy("tile", ("A",), literals=("reps",)),
    _numpy("repeat", keywords=("axis",), literals=("repeats",)),
    _numpy("pad", ("array",), ("mode", "constant_values"), ("pad_width",)),
    _numpy("sort", keywords=("axis",)),
    _numpy("average", keywords=("axis", "weights", "keepdims")),
    _numpy("diff", keywords=("n", "axis")),
    _numpy("diagflat", ("v",), ("k",)),
    _numpy("take", keywords=("axis",), literals=("indices",)),
    _numpy("take_along_axis", ("arr",), ("axis",), ("indices",)),
    _numpy("append", ("arr", "values"), ("axis",)),
    _numpy("tensordot", ("a", "b"), ("axes",)),
    _numpy("vector_norm", ("x",), ("ord", "axis", "keepdims")),
    _numpy("matrix_norm", ("x",), ("ord", "keepdims")),
    _numpy("eigvalsh"),
    _numpy("conv2d", ("x", "w"), ("stride", "padding", "dilation")),
    _listed("concatenate", "arrays", ("axis",)),
    _listed("stack", "arrays", ("axis",)),
    Function("einsum", einsum, ("operands",), literals=("subscripts",), arrays="variadic"),
]
#: The function forms of operators (``add(x, y)`` is ``x + y``): spelled as NumPy does, named as the operator.
_OPERATOR_FORMS = {
    "add": Function("add", prim.add, ("x1", "x2")),
    "subtract": Function("sub", prim.sub, ("x1", "x2")),
    "multiply": Function("mul", prim.mul, ("x1", "x2")),
    "divide": Function("div", prim.div, ("x1", "x2")),
    "power": Function("pow", prim.power, ("x1", "x2")),
    "negative": Function("neg", prim.neg),
}
_ALIASES = {
    "σ": "sigmoid", "tr": "trace", "dot": "matmul", "remainder": "mod", "absolute": "abs", "fabs": "abs",
    "acos": "arccos", "asin": "arcsin", "atan": "arctan", "acosh": "arccosh", "asinh": "arcsinh",
    "atanh": "arctanh", "atan2": "arctan2", "amax": "max", "amin": "min", "true_divide": "divide",
    "around": "round", "fix": "trunc",
}

#: Every function a formula may call, by the name it is spelled with.
FUNCTIONS: dict[str, Function] = {row.name: row for row in _ROWS} | _OPERATOR_FORMS
FUNCTIONS.update({alias: FUNCTIONS[name] for alias, name in _ALIASES.items()})

#: What a literal parameter takes, by its name; any other takes an int or a tuple of ints (nested
#: for pad_width and tensordot's axes).
LITERAL_KINDS = {"axis": "axis", "keepdims": "bool", "mode": "string", "subscripts": "subscripts", "ord": "order",
                 "a_min": "bound", "a_max": "bound", "weights": "numbers", "constant_values": "numbers",
                 "padding": "padding"}

_SEVERAL = "returns several arrays; a formula gives one: slice the piece you need, e.g. x[:2] or x[:, 2:]"
_BUILD = "a formula's names are arrays already; to build one from several, use stack([A, B]) or concatenate([A, B])"
#: Functions a user may reasonably try, refused with the reason.
UNSUPPORTED: dict[str, str] = {
    "eig": "matgrad has no differentiable general eigendecomposition; eigh (symmetric) is in mg.linalg",
    "eigh": "eigh returns eigenvalues and eigenvectors; a formula gives one array: use eigvalsh(A) for the "
            "eigenvalues, or mg.linalg.eigh from Python",
    "svd": "svd returns three arrays; a formula gives one: use svdvals(A) for the singular values, or "
           "mg.linalg.svd from Python",
    "slogdet": "slogdet returns two arrays (sign and log |det|); use logdet(A) for log det A",
    **{name: f"{name} {_SEVERAL}" for name in ("split", "array_split", "hsplit", "vsplit", "dsplit")},
    **{name: _BUILD for name in ("array", "asarray")},
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
