"""Closed-form Hessians: derived once as one matrix expression, then evaluated with NumPy.

Laue, Mitterreiter and Giesen (NeurIPS 2018) compute the Hessian of a matrix expression from its
closed form (``A + Aᵀ`` for xᵀAx, ``Xᵀ diag(σ'(X w)) X`` for the logistic loss) rather than from
n Hessian-vector products.  :func:`hessian_symbolic` does the same with ``explain``'s machinery:
the gradient is written out as a formula by the table's notation column (explain/derive.py), its
Jacobian with respect to x is built as a matrix expression (symbolic/vec_jacobian.py), checked
once against the engine's Hessian-vector products, and from then on every call evaluates that
expression, ``diag(s) M`` as ``s[:, None] * M`` (a diag is never formed).

It lives in ``explain`` (not ``symbolic``) because it reads the recorded graph through
``explain``'s derivation; the symbolic algebra it needs (``vec_jacobian``) stays below.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..symbolic.algebra import evaluate
from ..symbolic.expr import Binary, Expr, Neg, Structural, Sym, Transpose, children
from ..symbolic.readable import readable
from ..symbolic.render import render
from ..symbolic.vec_jacobian import NotCoveredError, VecJacobian
from ..tensor import Tensor
from .derive import Derivation, derive
from .graph import Graph, Quantity

__all__ = ["HessianPlan", "NotCoveredError", "derive_hessian", "evaluate_matrix", "hessian_symbolic"]

HINT = "use mg.hessian(f), the reverse-over-reverse sweep, which needs no closed form"
Grid = tuple  # tuple[tuple[HessianPlan, ...], ...]: block (i, j) = ∂²f/∂xᵢ∂xⱼ


@dataclass
class HessianPlan:
    """One block of the Hessian, ∂²f/∂x∂z (the Jacobian of ∂f/∂x with respect to z; z = x for the
    diagonal blocks), as one matrix expression in the graph's symbols."""

    variable: str  # x's symbol in the graph
    shape: tuple[int, ...]  # x's shape
    expr: Expr | None  # entry (i, j) = ∂²f/∂xᵢ∂zⱼ over C-order entries; None: identically zero
    names: dict[str, str] = field(default_factory=dict)  # symbol → display name
    shown: Expr | None = None  # the readable form, for display (explain); ``expr`` if none was made
    extra: dict[str, Any] = field(default_factory=dict)  # values of symbols the readable form introduced
    column_shape: tuple[int, ...] | None = None  # z's shape; None: z is x

    @functools.cached_property
    def reusable(self) -> bool:
        """Whether the formula holds at other values: every structural part of it depends on shapes
        and parameters only, not on the values it was derived at."""
        return self.expr is None or _structural_kinds(self.expr) <= _SHAPE_ONLY

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def block_shape(self) -> tuple[int, ...]:
        """``x.shape + z.shape``, as :func:`matgrad.hessian` gives the block."""
        return self.shape + (self.shape if self.column_shape is None else self.column_shape)

    def evaluate(self, env: dict[str, Any], dtype: Any = np.float64) -> np.ndarray:
        columns = self.size if self.column_shape is None else int(np.prod(self.column_shape))
        if self.expr is None:
            return np.zeros(self.block_shape, dtype)
        value = _dense(evaluate_matrix(self.expr, env, columns), self.size, columns)
        return np.asarray(value, dtype).reshape(self.block_shape)

    def text(self, latex: bool = False) -> str:
        shown = self.shown if self.shown is not None else self.expr
        return "0" if shown is None else render(shown, self.names, latex=latex)


def hessian_symbolic(f: Callable, argnums: int | Sequence[int] = 0, retrace: bool = False) -> Callable[..., Any]:
    """The Hessian of a scalar ``f`` from a closed form derived on the first call and evaluated with
    NumPy on every call; returned as :func:`matgrad.hessian` returns it.

    ``argnums`` one int: the array ∂²f/∂x², shape ``x.shape * 2``.  A tuple of ints: the blocks
    ∂²f/∂xᵢ∂xⱼ as nested tuples, block ``[i][j]`` of shape ``xᵢ.shape + xⱼ.shape`` (each block
    its own closed form: the Jacobian of ∂f/∂xᵢ with respect to xⱼ).

    Covered: a scalar ``f`` of floating arrays whose gradient ``explain`` writes out in closed form
    (sums of matrix products, transposes, reshapes, sums and means over axes, broadcasting,
    elementwise functions with a stated second derivative: exp, log, sigmoid, tanh, softplus, …,
    softmax and log-softmax over a vector or the rows of a matrix), with respect to numbers,
    vectors or matrices (a matrix's blocks are Kronecker products, ``vec(A M) = (A ⊗ I) vec(M)``).
    Anything else (a cumulative sum, a maximum, a product of entries) raises
    :class:`NotCoveredError`, a ``ValueError`` that names the operation; ``mg.hessian(f)`` covers
    every graph.  Arguments that are not floating arrays (integer labels, options) are held fixed.

    Caching (as ``jax.jit``): the closed form is kept per call signature (the shapes and dtypes of
    the floating arrays, the values of the other arguments), assuming that ``f`` records the same
    graph for every call with that signature (no Python branch on the values, closed-over arrays
    not changed between calls): a later call only evaluates the formula on the new arguments,
    without running ``f``.  ``retrace=True`` runs ``f`` on every call and derives again when its
    graph's structure changes; so does any formula that uses a value computed inside ``f`` from
    an argument that is not a floating array (integer labels made one-hot).

    Cost: the first call with a signature runs ``f`` once, derives the formula (a walk of the
    graph, no n-fold work) and checks it against two Hessian-vector products of the engine (about
    four gradients); a closed form that disagrees is never used.  Every later call costs what the
    formula does: for the logistic loss ``Xᵀ diag(s) X``, one m×n scaling and one n×m by m×n
    product (BLAS; a symmetric rank-k update from n = 200 when s has one sign), against n
    Hessian-vector products for the sweep.  A Kronecker factor (a matrix variable) and a
    row-by-row softmax's block diagonal are formed densely: fine for small models only.
    """
    positions = _positions(argnums)
    single = isinstance(argnums, (int, np.integer))
    plans: dict[Any, Grid] = {}  # by signature and graph structure: the blocks over the distinct argnums
    by_signature: dict[Any, _Cached] = {}
    names = _parameter_names(f)

    def hessian_of(*args: Any) -> Any:
        wanted = tuple(_argnum(n, args) for n in positions)
        distinct = tuple(dict.fromkeys(wanted))  # mg.hessian allows a repeated argnum: derived once
        signature = _signature(args, distinct)
        cached = by_signature.get(signature)
        if cached is not None and cached.inputs is not None and not retrace and _reusable(cached.grid):
            blocks = cached.evaluate(cached.environment(args))
        else:
            output, variables, tensors = _trace(f, args, distinct, names)
            graph = Graph(output, {id(output): "f"})
            key = (signature, _structure(graph, variables))
            grid = plans.get(key)
            if grid is None or not _reusable(grid):
                grid = plans[key] = _derived_and_checked(output, variables, f, args, distinct, graph)
            cached = by_signature[signature] = _Cached(grid, [v.dtype for v in variables], graph, tensors, len(args))
            blocks = cached.evaluate(graph.values())
        where = {n: k for k, n in enumerate(distinct)}
        if single:
            return blocks[0][0]
        return tuple(tuple(blocks[where[i]][where[j]] for j in wanted) for i in wanted)

    hessian_of.__name__ = f"hessian_symbolic({getattr(f, '__name__', 'f')})"
    hessian_of.plans = plans  # type: ignore[attr-defined]  # the derived closed forms (grids of blocks), for inspection
    return hessian_of


def _positions(argnums: Any) -> tuple[int, ...]:
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return (int(argnums),)
    if isinstance(argnums, Sequence) and not isinstance(argnums, str) and argnums and all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in argnums):
        return tuple(int(n) for n in argnums)
    raise TypeError(f"hessian_symbolic: argnums must be an int or a non-empty tuple of ints, got {argnums!r}; "
                    "e.g. argnums=(0, 1) for the blocks ∂²f/∂xᵢ∂xⱼ")


def _reusable(grid: Grid) -> bool:
    return all(plan.reusable for row in grid for plan in row)


class _Cached:
    """The blocks for one call signature, and how to fill their symbols from a call's arguments
    alone: possible when the formulas name only arguments and constants that no argument made."""

    def __init__(self, grid: Grid, dtypes: list[Any], graph: Graph, tensors: dict[int, Tensor], arity: int) -> None:
        self.grid, self.dtypes = grid, dtypes
        symbols = {q.symbol: i for i, tensor in tensors.items() for q in graph.quantities if q.tensor is tensor}
        self.constants = {c.symbol: c.value for c in graph.constants}
        used = set().union(*(_symbols(plan.expr) for row in grid for plan in row if plan.expr is not None))
        self.inputs: dict[str, int] | None = {name: symbols[name] for name in used if name in symbols}
        untracked = len(tensors) < arity
        if any(name not in symbols and name not in self.constants for name in used):
            self.inputs = None  # a formula uses a value computed inside f: f must run
        elif untracked and any(name in self.constants for name in used):
            self.inputs = None  # a constant that an argument may have made (integer labels made one-hot)

    def environment(self, args: tuple) -> dict[str, Any]:
        env = dict(self.constants)
        for name, i in (self.inputs or {}).items():
            value = np.asarray(_raw(args[i]))
            env[name] = value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float64)
        return env

    def evaluate(self, env: dict[str, Any]) -> tuple[tuple[np.ndarray, ...], ...]:
        return tuple(tuple(plan.evaluate(env, np.result_type(self.dtypes[i], self.dtypes[j]))
                           for j, plan in enumerate(row)) for i, row in enumerate(self.grid))


# ----- the derivation: the gradient written out, then its Jacobian -----------------------------------


class _Gradients:
    """The gradients ∂f/∂x of one scalar output, written out once by ``explain``, for the leaves given."""

    def __init__(self, output: Tensor, variables: Sequence[Tensor], names: dict[int, str] | None = None) -> None:
        self.graph = Graph(output, {**(names or {}), id(output): "f"})
        by_tensor = {id(q.tensor): q for q in self.graph.quantities}
        self.quantities = [by_tensor.get(id(v)) for v in variables]  # None: f does not depend on it
        self.shapes = [v.shape for v in variables]
        for quantity in self.quantities:
            if quantity is not None and (quantity.name is None or not quantity.is_leaf):
                raise ValueError("hessian_symbolic: the variable must be an input of f (a leaf of the graph)")
        shown = {q.name for q in self.quantities if q is not None}
        self.derivation = _derivation(self.graph, shown) if shown else None
        self.env = self.graph.values()
        self.definitions = {q.symbol: q for q in self.graph.quantities if not q.is_leaf}

    def block(self, row: int, column: int) -> HessianPlan:
        """∂²f/∂xᵣ∂x_c: the Jacobian of the gradient of variable ``row`` with respect to variable ``column``."""
        x, z = self.quantities[row], self.quantities[column]
        if x is None or z is None:
            return HessianPlan("", self.shapes[row], None, column_shape=self.shapes[column])
        gradient = self._gradient(x)
        builder = VecJacobian(z.symbol, int(np.prod(z.shape)), self.env, self._expand)
        try:
            expr = builder.of(gradient)
        except NotCoveredError as error:
            shown = render(gradient, self.derivation.names())
            raise NotCoveredError(
                f"hessian_symbolic: the symbolic notation has no second-order rule for {error} "
                f"(in ∂f/∂{x.name} = {_short(shown)}); {HINT}"
            ) from None
        return HessianPlan(x.symbol, x.shape, expr, self.derivation.names(), column_shape=z.shape)

    def _gradient(self, quantity: Quantity) -> Expr:
        line = next(line for line in self.derivation.lines if line.quantity is quantity)
        if not line.ok:
            raise NotCoveredError(f"hessian_symbolic: the gradient ∂f/∂{quantity.name} is not written out by the "
                                  f"notation ({line.problem or 'it does not check'}); {HINT}")
        return line.derived or line.formula

    def _expand(self, name: str) -> Expr | None:
        if name.startswith("g:"):  # a δ left by name: the gradient is not closed
            raise NotCoveredError(f"the gradient refers to {self.derivation.names().get(name, name)} by name")
        inner = self.definitions.get(name)
        return None if inner is None else self.graph.definition(inner)


def _derivation(graph: Graph, shown: set[str]) -> Derivation:
    try:
        return derive(graph, "f", None, True, {}, shown)
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise NotCoveredError(f"hessian_symbolic: the gradient could not be written out ({error}); {HINT}") from None


def derive_blocks(output: Tensor, variables: Sequence[Tensor], names: dict[int, str] | None = None) -> Grid:
    """The closed-form blocks ∂²f/∂xᵢ∂xⱼ of the scalar Tensor ``output`` over the leaves ``variables``."""
    gradients = _Gradients(output, variables, names)
    return tuple(tuple(gradients.block(i, j) for j in range(len(variables))) for i in range(len(variables)))


def derive_hessian(output: Tensor, variable: Tensor, readable_form: bool = False,
                   names: dict[int, str] | None = None) -> HessianPlan:
    """The closed-form Hessian of the scalar Tensor ``output`` with respect to the leaf ``variable``.

    ``readable_form`` also makes the readable form of explain (small inputs: it evaluates the
    expression densely to choose among readings); ``names`` maps Tensors (by id) to display names."""
    gradients = _Gradients(output, [variable], names)
    plan = gradients.block(0, 0)
    if readable_form and plan.expr is not None:
        _make_readable(plan, gradients.env, gradients.derivation.tolerance)
    return plan


def _make_readable(plan: HessianPlan, env: dict[str, Any], tolerance: float) -> None:
    """The shorter of two readings: of the whole expression, and of each diagonal's vector alone
    (which keeps ``Xᵀ diag(…) X`` in one piece where the whole reading would multiply it out)."""
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
    return value.data if isinstance(value, Tensor) else value


def _signature(args: tuple, variables: tuple[int, ...]) -> tuple:
    """The shapes and dtypes of the recorded arguments, the values of the others."""
    parts = []
    for i, value in enumerate(args):
        raw = _raw(value)
        if i in variables or _tracked(raw):
            parts.append(("array", np.shape(raw), str(np.asarray(raw).dtype)))
        else:
            parts.append(_frozen(raw))
    return tuple(parts)


def _trace(f: Callable, args: tuple, variables: tuple[int, ...],
           names: list[str]) -> tuple[Tensor, list[Tensor], dict[int, Tensor]]:
    """Run ``f`` on Tensors: the variables and every other floating array recorded (so that the
    formulas name them, ``−y`` rather than a constant), other arguments as given."""
    inputs, tensors = [], {}
    for i, value in enumerate(args):
        name = names[i] if i < len(names) else f"x{i}"
        raw = _raw(value)
        if i in variables or _tracked(raw):
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
    return output, [tensors[i] for i in variables], tensors


# structural operations whose evaluation reads shapes and parameters, never the values traced
_SHAPE_ONLY = frozenset({
    "spread", "per_count", "sum", "sum_broadcast", "row_sum", "transpose", "transpose_back", "reshape",
    "reshape_vjp", "broadcast", "broadcast_vjp", "identity", "diag_of", "row", "column", "per_example",
    "softmax", "softmax_over", "log_softmax", "commute", "row_blocks",
})


def _structural_kinds(expr: Expr) -> set[str]:
    own = {expr.kind} if isinstance(expr, Structural) else set()
    return own.union(*(_structural_kinds(child) for child in children(expr)))


def _symbols(expr: Expr) -> set[str]:
    if isinstance(expr, Sym):
        return {expr.name}
    return set().union(*(_symbols(child) for child in children(expr)))


def _structure(graph: Graph, variables: list[Tensor]) -> tuple:
    """What the derived expressions depend on: the primitives, their parameters, shapes and dtypes,
    which inputs are the variables, and the numbers written into the formulas (unnamed scalar constants)."""
    def variable_index(tensor: Tensor) -> int | None:
        return next((k for k, v in enumerate(variables) if v is tensor), None)

    nodes = tuple(
        (q.prim.name if q.prim is not None else None, q.shape, str(q.tensor.dtype), variable_index(q.tensor),
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


def _derived_and_checked(output: Tensor, variables: list[Tensor], f: Callable, args: tuple,
                         positions: tuple[int, ...], graph: Graph) -> Grid:
    """The blocks, derived and checked; a formula that cannot even be evaluated (shapes the rules
    got wrong) is reported as not covered, so that a caller falling back to the sweep on
    :class:`NotCoveredError` does (``f`` itself has run by then: its own errors came out as they are)."""
    try:
        return _checked(derive_blocks(output, variables), f, args, positions, graph)
    except NotCoveredError:
        raise
    except (ValueError, TypeError, IndexError, KeyError) as error:
        raise NotCoveredError(f"hessian_symbolic: the closed form could not be evaluated "
                              f"({type(error).__name__}: {_short(str(error))}); {HINT}") from error


def _checked(grid: Grid, f: Callable, args: tuple, variables: tuple[int, ...], graph: Graph) -> Grid:
    """Compare the derived blocks with the engine's Hessian-vector products on two random
    directions, once per grid: a closed form that disagrees is never used."""
    from ..transforms import hvp  # transforms sits beside explain: imported when first needed

    points = [np.asarray(_raw(args[i])) for i in variables]
    points = [p if np.issubdtype(p.dtype, np.floating) else p.astype(np.float64) for p in points]
    env = graph.values()
    blocks = [[plan.evaluate(env, np.float64).reshape(plan.size, -1) for plan in row] for row in grid]

    def along(*xs: Any) -> Any:
        given = list(args)
        for i, x in zip(variables, xs):
            given[i] = x
        return f(*given)

    rng = np.random.default_rng(0)
    tolerance = 1e-7 if all(p.dtype == np.float64 for p in points) else 1e-3
    for _ in range(2):
        vs = [rng.standard_normal(p.shape).astype(p.dtype) for p in points]
        _, products = hvp(along, tuple(points), tuple(vs))
        products = (products,) if len(points) == 1 else products
        for i, (row, product) in enumerate(zip(blocks, products)):
            expected = np.ravel(np.asarray(product, np.float64))
            got = sum(block @ np.ravel(v) for block, v in zip(row, vs))
            scale = max(float(np.max(np.abs(expected), initial=0.0)),
                        max(float(np.max(np.abs(b), initial=0.0)) for b in row), 1.0)
            error = float(np.max(np.abs(got - expected), initial=0.0)) / scale
            if not error <= tolerance:
                shown = "; ".join(_short(plan.text(), 80) for plan in grid[i])
                raise NotCoveredError(
                    f"hessian_symbolic: the closed form {shown} disagrees with the engine's "
                    f"Hessian-vector product by {error:.1e} (relative); {HINT}"
                )
    return grid


# ----- evaluation: diag(s) M as s[:, None] * M --------------------------------------------------------


class _Diagonal:
    """diag(v) kept as its vector v."""

    __slots__ = ("v",)

    def __init__(self, v: np.ndarray) -> None:
        self.v = v


def evaluate_matrix(expr: Expr, env: dict[str, Any], n: int | None = None) -> Any:
    """The value of a Hessian expression; a diag (or I) is kept as its vector, so that
    ``Xᵀ diag(s) X`` costs ``(Xᵀ * s) @ X`` and ``A I + Aᵀ I`` costs ``A + Aᵀ``.  (``n`` is not
    needed: an identity carries its size.)"""
    if not _has_diagonal(expr):  # a matrix or a vector of the formula: evaluated as the notation says
        return evaluate(expr, env)
    if _is_gram(expr):
        return _gram(expr, env)
    if isinstance(expr, Structural) and expr.kind == "diag_of":
        return _Diagonal(np.ravel(evaluate(expr.operand, env)))
    if isinstance(expr, Structural) and expr.kind == "identity":
        return _Diagonal(np.ones(int(expr.operand.value)))  # I of the size it was made with
    if isinstance(expr, Neg):
        return _scale(evaluate_matrix(expr.operand, env), -1.0)
    if isinstance(expr, Transpose):
        inner = evaluate_matrix(expr.operand, env)
        return inner if isinstance(inner, _Diagonal) else np.swapaxes(np.asarray(inner), -1, -2)
    if isinstance(expr, Binary) and expr.op in ("@", "+", "−", "*", "/"):
        left, right = evaluate_matrix(expr.left, env), evaluate_matrix(expr.right, env)
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


def _dense(value: Any, rows: int, columns: int) -> np.ndarray:
    if isinstance(value, _Diagonal):
        return np.diag(np.broadcast_to(value.v, (rows,)))
    return np.broadcast_to(np.asarray(value), (rows, columns)) if np.size(value) == 1 else np.asarray(value)
