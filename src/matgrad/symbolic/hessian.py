"""Closed-form Hessians: derived once as one matrix expression, then evaluated with NumPy.

Laue, Mitterreiter and Giesen (NeurIPS 2018) compute the Hessian of a matrix expression from its
closed form (``A + Aᵀ`` for xᵀAx, ``Xᵀ diag(σ'(X w)) X`` for the logistic loss) rather than from
n Hessian-vector products.  :func:`hessian_symbolic` does the same with ``explain``'s machinery:
the gradient is written out as a formula by the table's notation column (explain/derive.py), its
Jacobian with respect to x is built as a matrix expression (symbolic/vec_jacobian.py), checked
once against the engine's Hessian-vector products, and from then on every call evaluates that
expression, ``diag(s) M`` as ``s[:, None] * M`` (a diag is never formed).

The plan is cached per traced graph structure (primitives, shapes, dtypes, parameters): each call
traces ``f`` once (a forward pass, for the current values) and evaluates the cached expression.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .algebra import evaluate
from .expr import Binary, Expr, Neg, Structural, Sym, Transpose
from .render import render
from .vec_jacobian import NotCoveredError, VecJacobian

__all__ = ["HessianPlan", "NotCoveredError", "derive_hessian", "evaluate_matrix", "hessian_symbolic"]

_HINT = "use mg.hessian(f), the reverse-over-reverse sweep, which needs no closed form"


@dataclass
class HessianPlan:
    """The Hessian of ``f`` with respect to one input, as one matrix expression in the graph's symbols."""

    variable: str  # the input's symbol in the graph
    shape: tuple[int, ...]  # the input's shape: the Hessian has shape ``shape + shape``
    expr: Expr | None  # n×n, entry (i, j) = ∂²f/∂xᵢ∂xⱼ over C-order entries; None: identically zero
    names: dict[str, str] = field(default_factory=dict)  # symbol → display name
    shown: Expr | None = None  # the readable form, for display (explain); ``expr`` if none was made
    extra: dict[str, Any] = field(default_factory=dict)  # values of symbols the readable form introduced

    @functools.cached_property
    def reusable(self) -> bool:
        """Whether the formula holds at other values: every structural part of it depends on shapes
        and parameters only, not on the values it was derived at."""
        return self.expr is None or _structural_kinds(self.expr) <= _SHAPE_ONLY

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def evaluate(self, env: dict[str, Any], dtype: Any = np.float64) -> np.ndarray:
        n = self.size
        if self.expr is None:
            return np.zeros(self.shape + self.shape, dtype)
        value = _dense(evaluate_matrix(self.expr, env, n), n)
        return np.asarray(value, dtype).reshape(self.shape + self.shape)

    def text(self, latex: bool = False) -> str:
        shown = self.shown if self.shown is not None else self.expr
        return "0" if shown is None else render(shown, self.names, latex=latex)


def hessian_symbolic(f: Callable, argnums: int = 0, retrace: bool = False) -> Callable[..., np.ndarray]:
    """The Hessian of a scalar ``f`` with respect to its argument ``argnums``, shape ``in.shape * 2``
    (as :func:`matgrad.hessian`), from a closed form derived on the first call and evaluated with
    NumPy on every call.

    The closed form is cached per call signature (the shapes and dtypes of the floating arrays,
    the values of the other arguments).  As with ``jax.jit``, ``f`` is assumed to record the same
    graph for every call with that signature (no Python branch on the values, closed-over arrays
    fixed): a call then only evaluates the formula on the new arguments.  ``retrace=True`` runs
    ``f`` on every call and derives again when its graph's structure changes; so does any formula
    that uses a value computed inside ``f`` from an argument that is not a floating array.

    Raises :class:`NotCoveredError` (a ``ValueError``) naming the operation when the symbolic
    notation does not cover the graph (a cumulative sum, a sort, a maximum, …).
    """
    if not isinstance(argnums, (int, np.integer)) or isinstance(argnums, bool):
        raise TypeError(f"hessian_symbolic: argnums is one int (one input), got {argnums!r}; {_HINT} for several")
    plans: dict[Any, HessianPlan] = {}  # by signature and graph structure
    by_signature: dict[Any, _Cached] = {}
    names = _parameter_names(f)

    def hessian_of(*args: Any) -> np.ndarray:
        from ..explain.graph import Graph

        argnum = _argnum(int(argnums), args)
        signature = _signature(args, argnum)
        cached = by_signature.get(signature)
        if cached is not None and cached.inputs is not None and not retrace and cached.plan.reusable:
            return cached.plan.evaluate(cached.environment(args), cached.dtype)
        output, variable, tensors = _trace(f, args, argnum, names)
        graph = Graph(output, {id(output): "f"})
        key = (signature, _structure(graph, variable))
        plan = plans.get(key)
        if plan is None or not plan.reusable:
            plan = plans[key] = _checked(derive_hessian(output, variable), f, args, argnum, graph)
        by_signature[signature] = _Cached(plan, variable.dtype, graph, tensors, len(args))
        return plan.evaluate(graph.values(), variable.dtype)

    hessian_of.__name__ = f"hessian_symbolic({getattr(f, '__name__', 'f')})"
    hessian_of.plans = plans  # type: ignore[attr-defined]  # the derived closed forms, for inspection
    return hessian_of


class _Cached:
    """A plan for one call signature, and how to fill its symbols from a call's arguments alone:
    possible when the formula names only arguments and constants that no argument made."""

    def __init__(self, plan: HessianPlan, dtype: Any, graph: Any, tensors: dict[int, Any], arity: int) -> None:
        self.plan, self.dtype = plan, dtype
        symbols = {q.symbol: i for i, tensor in tensors.items() for q in graph.quantities if q.tensor is tensor}
        self.constants = {c.symbol: c.value for c in graph.constants}
        used = _symbols(plan.expr) if plan.expr is not None else set()
        self.inputs: dict[str, int] | None = {name: symbols[name] for name in used if name in symbols}
        untracked = len(tensors) < arity
        if any(name not in symbols and name not in self.constants for name in used):
            self.inputs = None  # the formula uses a value computed inside f: f must run
        elif untracked and any(name in self.constants for name in used):
            self.inputs = None  # a constant that an argument may have made (integer labels made one-hot)

    def environment(self, args: tuple) -> dict[str, Any]:
        env = dict(self.constants)
        for name, i in (self.inputs or {}).items():
            value = np.asarray(_raw(args[i]))
            env[name] = value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float64)
        return env


def derive_hessian(output: Any, variable: Any, readable_form: bool = False,
                   names: dict[int, str] | None = None) -> HessianPlan:
    """The closed-form Hessian of the scalar Tensor ``output`` with respect to the leaf ``variable``.

    ``readable_form`` also makes the readable form of explain (small inputs: it evaluates the
    expression densely to choose among readings); ``names`` maps Tensors (by id) to display names."""
    from ..explain.derive import derive
    from ..explain.graph import Graph

    graph = Graph(output, {**(names or {}), id(output): "f"})
    quantity = next((q for q in graph.quantities if q.tensor is variable), None)
    if quantity is None:  # f does not depend on the variable
        return HessianPlan("", variable.shape, None)
    if quantity.name is None or not quantity.is_leaf:
        raise ValueError("hessian_symbolic: the variable must be an input of f (a leaf of the graph)")
    try:
        derivation = derive(graph, "f", None, True, {}, {quantity.name})
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise NotCoveredError(f"hessian_symbolic: the gradient could not be written out ({error}); {_HINT}") from None
    line = next(line for line in derivation.lines if line.quantity is quantity)
    gradient = line.derived or line.formula
    if not line.ok:
        raise NotCoveredError(f"hessian_symbolic: the gradient ∂f/∂{quantity.name} is not written out by the "
                              f"notation ({line.problem or 'it does not check'}); {_HINT}")
    env = graph.values()
    definitions = {q.symbol: q for q in graph.quantities if not q.is_leaf}

    def expand(name: str) -> Expr | None:
        if name.startswith("g:"):  # a δ left by name: the gradient is not closed
            raise NotCoveredError(f"the gradient refers to {derivation.names().get(name, name)} by name")
        inner = definitions.get(name)
        return None if inner is None else graph.definition(inner)

    builder = VecJacobian(quantity.symbol, int(np.prod(quantity.shape)), env, expand)
    try:
        expr = builder.of(gradient)
    except NotCoveredError as error:
        shown = render(gradient, derivation.names())
        raise NotCoveredError(
            f"hessian_symbolic: the symbolic notation has no second-order rule for {error} "
            f"(in ∂f/∂{quantity.name} = {_short(shown)}); {_HINT}"
        ) from None
    plan = HessianPlan(quantity.symbol, quantity.shape, expr, derivation.names())
    if readable_form and expr is not None:
        _make_readable(plan, env, derivation.tolerance)
    return plan


def _make_readable(plan: HessianPlan, env: dict[str, Any], tolerance: float) -> None:
    """The shorter of two readings: of the whole expression, and of each diagonal's vector alone
    (which keeps ``Xᵀ diag(…) X`` in one piece where the whole reading would multiply it out)."""
    from .readable import readable

    candidates = []
    whole = readable(plan.expr, env, {}, tolerance, plan.names)
    if not whole.assumptions:
        candidates.append((whole.expr, whole.values, whole.names))
    values: dict[str, Any] = {}
    names: dict[str, str] = {}

    def tidy(diagonal: Expr) -> Expr:
        reading = readable(diagonal, env, {}, tolerance, {**plan.names, **names})
        if reading.assumptions:
            return diagonal
        values.update(reading.values)
        names.update(reading.names)
        return reading.expr

    candidates.append((_map_diagonals(plan.expr, tidy), values, names))
    shown, extra, new_names = min(candidates, key=lambda c: len(render(c[0], {**plan.names, **c[2]})))
    plan.shown, plan.extra, plan.names = shown, dict(extra), {**plan.names, **new_names}


def _map_diagonals(expr: Expr, change: Callable[[Expr], Expr]) -> Expr:
    if isinstance(expr, Structural) and expr.kind == "diag_of":
        return dataclasses.replace(expr, operand=change(expr.operand))
    if isinstance(expr, (Neg, Transpose)):
        return type(expr)(_map_diagonals(expr.operand, change))
    if isinstance(expr, Binary):
        return Binary(expr.op, _map_diagonals(expr.left, change), _map_diagonals(expr.right, change))
    return expr


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----- tracing and the cache key -------------------------------------------------------------------


def _parameter_names(f: Callable) -> list[str]:
    try:
        return [p.name for p in inspect.signature(f).parameters.values() if p.kind in (p.POSITIONAL_ONLY,
                                                                                        p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _argnum(argnum: int, args: tuple) -> int:
    if not -len(args) <= argnum < len(args):
        raise ValueError(f"hessian_symbolic: argnums={argnum}, but f was called with {len(args)} argument(s)")
    return argnum % len(args)


def _tracked(value: Any) -> bool:
    """A floating array (or number) of the arguments: recorded, and named in the formulas."""
    return isinstance(value, (np.ndarray, np.floating, float, list)) and np.issubdtype(np.asarray(value).dtype,
                                                                                       np.floating)


def _raw(value: Any) -> Any:
    from ..tensor import Tensor

    return value.data if isinstance(value, Tensor) else value


def _signature(args: tuple, argnum: int) -> tuple:
    """The shapes and dtypes of the recorded arguments, the values of the others."""
    parts = []
    for i, value in enumerate(args):
        raw = _raw(value)
        if i == argnum or _tracked(raw):
            parts.append(("array", np.shape(raw), str(np.asarray(raw).dtype)))
        else:
            parts.append(_frozen(raw))
    return tuple(parts)


def _trace(f: Callable, args: tuple, argnum: int, names: list[str]) -> tuple[Any, Any, dict[int, Any]]:
    """Run ``f`` on Tensors: the variable and every other floating array recorded (so that the
    formulas name them, ``−y`` rather than a constant), other arguments as given."""
    from ..tensor import Tensor

    inputs, tensors = [], {}
    for i, value in enumerate(args):
        name = names[i] if i < len(names) else f"x{i}"
        raw = value.data if isinstance(value, Tensor) else value
        if i == argnum or _tracked(raw):
            array = np.asarray(raw)
            array = array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)
            tensors[i] = Tensor(array, requires_grad=True, name=name)
            inputs.append(tensors[i])
        else:
            inputs.append(value)
    output = f(*inputs)
    if not isinstance(output, Tensor) or output.size != 1:
        shape = output.shape if isinstance(output, Tensor) else np.shape(output)
        raise ValueError(f"hessian_symbolic: f must return a scalar Tensor, got shape {shape}; "
                         "for a vector f, take the Hessian of each entry or of a sum")
    return output, tensors[argnum], tensors


# structural operations whose evaluation reads shapes and parameters, never the values traced
_SHAPE_ONLY = frozenset({
    "spread", "per_count", "sum", "sum_broadcast", "row_sum", "transpose", "transpose_back", "reshape",
    "reshape_vjp", "broadcast", "broadcast_vjp", "identity", "diag_of", "row", "column", "per_example",
    "softmax", "softmax_over", "log_softmax", "commute", "row_blocks",
})


def _structural_kinds(expr: Expr) -> set[str]:
    own = {expr.kind} if isinstance(expr, Structural) else set()
    return own.union(*(_structural_kinds(child) for child in _children(expr)))


def _children(expr: Expr) -> list[Expr]:
    children = [getattr(expr, name) for name in ("operand", "left", "right") if hasattr(expr, name)]
    return children + list(getattr(expr, "arguments", ()))


def _symbols(expr: Expr) -> set[str]:
    if isinstance(expr, Sym):
        return {expr.name}
    return set().union(*(_symbols(child) for child in _children(expr)))


def _structure(graph: Any, variable: Any) -> tuple:
    """What the derived expression depends on: the primitives, their parameters, shapes and dtypes,
    and the numbers written into the formulas (unnamed scalar constants)."""
    from ..explain.graph import Quantity

    nodes = tuple(
        (q.prim.name if q.prim is not None else None, q.shape, str(q.tensor.dtype), q.tensor is variable,
         _frozen(q.params),
         tuple(("q", a.position) if isinstance(a, Quantity) else ("k", a.symbol) for a in q.args))
        for q in graph.quantities
    )
    constants = tuple(
        (c.symbol, np.shape(c.value), str(np.asarray(c.value).dtype),
         float(np.asarray(c.value)) if c.name is None else None)
        for c in graph.constants
    )
    return nodes, constants


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, str(value.dtype), value.tobytes())
    if isinstance(value, (int, float, str, bool, type(None), np.generic)):
        return value
    return repr(value)


def _checked(plan: HessianPlan, f: Callable, args: tuple, argnum: int, graph: Any) -> HessianPlan:
    """Compare the derived Hessian with the engine's Hessian-vector products on two random
    directions, once per plan: a closed form that disagrees is never used."""
    from ..tensor import Tensor
    from ..transforms import hvp

    variable = np.asarray(args[argnum].data if isinstance(args[argnum], Tensor) else args[argnum])
    variable = variable.astype(np.float64) if not np.issubdtype(variable.dtype, np.floating) else variable
    hessian = plan.evaluate(graph.values(), np.float64).reshape(plan.size, plan.size)

    def along(x: Any) -> Any:
        return f(*args[:argnum], x, *args[argnum + 1:])

    rng = np.random.default_rng(0)
    tolerance = 1e-7 if variable.dtype == np.float64 else 1e-3
    for _ in range(2):
        v = rng.standard_normal(variable.shape).astype(variable.dtype)
        _, product = hvp(along, (variable,), (v,))
        expected = np.ravel(np.asarray(product, np.float64))
        scale = max(float(np.max(np.abs(expected), initial=0.0)), float(np.max(np.abs(hessian), initial=0.0)), 1.0)
        error = float(np.max(np.abs(hessian @ np.ravel(v) - expected), initial=0.0)) / scale
        if not error <= tolerance:
            raise NotCoveredError(
                f"hessian_symbolic: the closed form {_short(plan.text())} disagrees with the engine's "
                f"Hessian-vector product by {error:.1e} (relative); {_HINT}"
            )
    return plan


# ----- evaluation: diag(s) M as s[:, None] * M --------------------------------------------------------


class _Diagonal:
    """diag(v) kept as its vector v."""

    __slots__ = ("v",)

    def __init__(self, v: np.ndarray) -> None:
        self.v = v


def evaluate_matrix(expr: Expr, env: dict[str, Any], n: int) -> Any:
    """The value of a Hessian expression; a diag (or I) is kept as its vector, so that
    ``Xᵀ diag(s) X`` costs ``(Xᵀ * s) @ X`` and ``A I + Aᵀ I`` costs ``A + Aᵀ``."""
    if not _has_diagonal(expr):  # a matrix or a vector of the formula: evaluated as the notation says
        return evaluate(expr, env)
    if _is_gram(expr):
        return _gram(expr, env)
    if isinstance(expr, Structural) and expr.kind == "diag_of":
        return _Diagonal(np.ravel(evaluate(expr.operand, env)))
    if isinstance(expr, Structural) and expr.kind == "identity":
        return _Diagonal(np.ones(n))
    if isinstance(expr, Neg):
        return _scale(evaluate_matrix(expr.operand, env, n), -1.0)
    if isinstance(expr, Transpose):
        inner = evaluate_matrix(expr.operand, env, n)
        return inner if isinstance(inner, _Diagonal) else np.swapaxes(np.asarray(inner), -1, -2)
    if isinstance(expr, Binary) and expr.op in ("@", "+", "−", "*", "/"):
        left, right = evaluate_matrix(expr.left, env, n), evaluate_matrix(expr.right, env, n)
        return _COMBINE[expr.op](left, right)
    return evaluate(expr, env)


def _is_gram(expr: Expr) -> bool:
    """``Rᵀ diag(s) R``, one matrix R on both sides."""
    if not (isinstance(expr, Binary) and expr.op == "@" and isinstance(expr.left, Transpose)):
        return False
    right = expr.right
    return (isinstance(right, Binary) and right.op == "@" and isinstance(right.left, Structural)
            and right.left.kind == "diag_of" and right.right == expr.left.operand)


_SYMMETRIC_FROM = 200  # below it, a general product is as fast (and OpenBLAS's syrk was seen to stall)


def _gram(expr: Binary, env: dict[str, Any]) -> np.ndarray:
    """Rᵀ diag(s) R as Yᵀ Y with Y = diag(√s) R when s ≥ 0 (or −Yᵀ Y when s ≤ 0): NumPy computes a
    product of a matrix with its own transpose by a symmetric rank-k update, half the work."""
    matrix = np.asarray(evaluate(expr.right.right, env))
    s = np.ravel(evaluate(expr.right.left.operand, env))
    if matrix.ndim != 2 or s.shape != (matrix.shape[0],):
        return _matmul(np.swapaxes(matrix, -1, -2), _matmul(_Diagonal(s), matrix))
    sign = 1.0 if np.all(s >= 0) else (-1.0 if np.all(s <= 0) else 0.0)
    if sign == 0.0 or matrix.shape[1] < _SYMMETRIC_FROM:
        return (matrix.T * s) @ matrix
    scaled = matrix * np.sqrt(sign * s)[:, None]
    gram = scaled.T @ scaled
    return gram if sign > 0 else -gram


def _has_diagonal(expr: Expr) -> bool:
    if isinstance(expr, Structural):
        return expr.kind in ("diag_of", "identity")
    if isinstance(expr, (Neg, Transpose)):
        return _has_diagonal(expr.operand)
    return isinstance(expr, Binary) and (_has_diagonal(expr.left) or _has_diagonal(expr.right))


def _matmul(left: Any, right: Any) -> Any:
    if isinstance(left, _Diagonal) and isinstance(right, _Diagonal):
        return _Diagonal(left.v * right.v)
    if isinstance(left, _Diagonal):
        return left.v[:, None] * right
    if isinstance(right, _Diagonal):
        return left * right.v[None, :]
    return np.matmul(left, right)


def _add(left: Any, right: Any, sign: float = 1.0) -> Any:
    if isinstance(left, _Diagonal) and isinstance(right, _Diagonal):
        return _Diagonal(left.v + sign * right.v)
    if isinstance(right, _Diagonal):  # M + diag(v): v added on the diagonal, in place of a copy
        total = np.array(left, dtype=np.result_type(left, right.v), copy=True)
        total[np.diag_indices(len(right.v))] += sign * right.v
        return total
    if isinstance(left, _Diagonal):
        total = np.array(right if sign > 0 else -np.asarray(right), dtype=np.result_type(right, left.v), copy=True)
        total[np.diag_indices(len(left.v))] += left.v
        return total
    return left + right if sign > 0 else left - right


def _scale(value: Any, factor: Any) -> Any:
    if isinstance(value, _Diagonal):
        return _Diagonal(value.v * np.ravel(factor)[0] if np.size(factor) == 1 else value.v * np.ravel(factor))
    return value * factor


def _times(left: Any, right: Any) -> Any:
    if isinstance(left, _Diagonal):
        return _scale(left, right)
    return _scale(right, left)


def _divide(left: Any, right: Any) -> Any:
    return _scale(left, 1.0 / np.asarray(right))


_COMBINE = {
    "@": _matmul,
    "+": _add,
    "−": lambda a, b: _add(a, b, -1.0),
    "*": _times,
    "/": _divide,
}


def _dense(value: Any, n: int) -> np.ndarray:
    if isinstance(value, _Diagonal):
        return np.diag(np.broadcast_to(value.v, (n,)))
    return np.broadcast_to(np.asarray(value), (n, n)) if np.size(value) == 1 else np.asarray(value)



# ----- explain: the Hessian as one line, checked against the sweep ---------------------------------------


@dataclass
class HessianLine:
    """``∂²f/∂x² = formula`` for one input, with its check against the engine's second derivatives."""

    name: str
    plan: HessianPlan | None
    shape: tuple[int, int]
    error: float = float("nan")
    ok: bool = False
    problem: str | None = None


def explain_hessians(derivation: Any) -> list[HessianLine]:
    """The Hessian of the derivation's scalar output with respect to each input it shows."""
    output = derivation.graph.output
    if output.tensor.size != 1 or derivation.jacobians:
        raise ValueError("explain: a Hessian is written for a scalar f; this one has shape "
                         f"{output.tensor.shape} (take one entry or a sum)")
    tolerance = max(derivation.tolerance, 1e-7)
    graph = derivation.graph
    names = {id(q.tensor): q.name for q in graph.quantities if q.name is not None}
    names.update({id(c.source): c.name for c in graph.constants if c.name is not None and c.source is not None})
    return [_hessian_line(output.tensor, line.quantity, tolerance, derivation.loss_name, names)
            for line in derivation.lines if line.quantity.is_leaf]


def _hessian_line(output: Any, quantity: Any, tolerance: float, loss: str, names: dict[int, str]) -> HessianLine:
    n = int(np.prod(quantity.shape))
    line = HessianLine(f"∂²{loss}/∂{quantity.name}²", None, (n, n))
    try:
        plan = derive_hessian(output, quantity.tensor, True, names)
    except NotCoveredError as error:
        line.problem = str(error).removeprefix("hessian_symbolic: ").removesuffix(f"; {_HINT}")
        return line
    from ..explain.graph import Graph

    env = {**Graph(output, {**names, id(output): "f"}).values(), **plan.extra}
    expected = _sweep_hessian(output, quantity.tensor)
    shown = plan.expr if plan.shown is None else plan.shown
    value = HessianPlan(plan.variable, plan.shape, shown).evaluate(env).reshape(n, n)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    line.plan, line.error = plan, float(np.max(np.abs(value - expected), initial=0.0)) / scale
    line.ok = line.error <= tolerance
    return line


def _sweep_hessian(output: Any, variable: Any) -> np.ndarray:
    """The engine's Hessian, reverse over reverse: one backward sweep of the gradient per row."""
    from ..reverse import grad_of

    n = int(np.prod(variable.shape))
    (gradient,) = grad_of([output], [variable], [np.ones(output.shape, output.dtype)], retain_graph=True,
                          create_graph=True)
    if not getattr(gradient, "requires_grad", False):
        return np.zeros((n, n))
    rows = [grad_of([gradient], [variable], [e.reshape(gradient.shape)], retain_graph=True)[0]
            for e in np.eye(n, dtype=output.dtype)]
    return np.stack([np.ravel(np.asarray(getattr(row, "data", row))) for row in rows]).astype(np.float64)


def hessian_text(derivation: Any, latex: bool = False, lines: list[HessianLine] | None = None) -> str:
    """The Hessian lines of ``explain``: one matrix expression per input, its shape and its check."""
    lines = explain_hessians(derivation) if lines is None else lines
    out = ["Hessian (n×n, entry (i, j) = ∂²f/∂xᵢ∂xⱼ over the entries of x in C order): one matrix "
           "expression, evaluated once, not n Hessian-vector products"]
    for line in lines:
        if line.plan is None:
            out.append(f"  {line.name}: not written as one matrix expression: {line.problem}")
            continue
        mark = f"✓ {line.error:.0e}" if line.ok else f"✗ {line.error:.1e}"
        out.append(f"  {line.name} = {line.plan.text(latex)}   {line.shape}   {mark}")
    return "\n".join(out)
