"""Per-example gradients from one recorded batch: ``per_example_grad(f)(params, X, Y)``.

``f(params, *batch)`` returns a scalar that adds up (or averages) one loss per row of the
batch: axis 0 of every positional argument outside ``argnums`` is the batch axis.  The answer
for row ``n`` is the gradient of ``f`` evaluated on row ``n`` alone,
``grad(f)(params, X[n:n+1], Y[n:n+1])``, shaped ``(N,) + param.shape`` for every parameter.

How, without a loop over the rows.  The graph is recorded once on the whole batch and every
node is classified by how it depends on the batch (:func:`_classify`):

- *free*: computed from parameters and constants only (a weight, ``W.T``, a penalty ``‖W‖²``);
- *rows*: one row per example along axis 0 (``X @ W``, ``σ(X @ W + b)``, per-row losses);
- *pooled*: a sum over the rows, and only linear maps of it since (the loss itself).

One reverse sweep (:func:`matgrad.reverse.grad_of`, with those nodes as its targets) gives the
cotangent ``G`` of every node where a free node meets the batch.  There the ordinary VJP would
sum over the rows (``∂ℓ/∂W = Xᵀ G = Σₙ xₙ gₙᵀ``); its per-example form keeps them apart
(``xₙ gₙᵀ`` for each ``n``): :data:`PER_EXAMPLE_RULES`, one entry per primitive.  Elementwise
primitives need no rule of their own: their table VJP, applied with the parameter broadcast to
the output's shape and summed over every axis but the batch axis, is the per-example rule.  The
per-row gradients then flow back to the parameters through the free nodes (``W.T``, ``2 * W``,
``softplus(s)``, ``W1 @ W2``: :data:`BATCHED_PULLBACKS`); a free node that meets no row (a
penalty on the weights) gives every row the same gradient, from its ordinary VJP.

The classification also checks the assumption that row ``n``'s loss depends on row ``n`` only:
a reduction over the batch that is not the final sum (batch statistics), or a nonlinear
function of such a sum, raises :class:`PerExampleError`.  ``check=True`` also compares row 0
with the gradient of ``f`` on row 0 alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .primitives import elementwise as _elementwise
from .primitives import elementwise_math as _elementwise_math
from .primitives.core import Primitive
from .pytree import tree_flatten, tree_unflatten
from .reverse import TAPE, added_gradients, grad_of, taped, toposort
from .state import STATE
from .tensor import Tensor

FREE, ROWS, POOLED = "free", "rows", "pooled"

#: primitives that are linear in a value pooled over the batch (a sum of per-row losses stays one)
_LINEAR_IN_POOLED = {"add", "sub", "neg", "sum", "mean", "reshape", "transpose", "identity", "astype", "getitem"}
#: reductions whose ``axis`` parameter may cover the batch axis
_REDUCTIONS = {"sum", "mean", "max", "logsumexp"}
#: row-wise functions whose ``axis`` parameter must not be the batch axis
_ROW_WISE = {"softmax", "log_softmax", "softmax_cross_entropy"}
_PULLBACK_LIMITS = (
    "rows go back through parameter-only computations that are elementwise, matmul, reshape, transpose, index"
)
_LOOP_HINT = (
    "a loop of single-example gradients computes the same thing: "
    "[mg.grad(f)(params, X[n:n+1], Y[n:n+1]) for n in range(len(X))]"
)


class PerExampleError(ValueError):
    """``f`` breaks an assumption of :func:`per_example_grad`, or uses an unsupported primitive."""


def per_example_grad(
    f: Callable, argnums: int | Sequence[int] = 0, reduction: str = "sum", check: bool = False
) -> Callable:
    """The gradient of ``f`` for every row of the batch, from one pass over the whole batch.

    ``f(params, *batch)`` returns a scalar: the sum (``reduction="sum"``) or the mean
    (``reduction="mean"``) over the rows of one loss per row, plus, optionally, terms of the
    parameters alone (a penalty).  Axis 0 of every positional argument not in ``argnums`` is
    the batch axis, of the same length ``N`` for all; keyword arguments are constants.

    Returns, for each parameter (pytrees as in :func:`matgrad.grad`), an array of shape
    ``(N,) + param.shape`` whose row ``n`` is ``grad(f)(params, X[n:n+1], Y[n:n+1])``: the
    gradient of ``f`` on that example alone.  With ``"sum"`` the rows add up to the batch
    gradient; with ``"mean"`` each row is ``N`` times the example's share of it, so the rows
    average to the batch gradient (a penalty term, which every single-row ``f`` contains
    whole, is added whole to every row).

    Parameters given as Tensors that require grad (``net.parameters()``,
    ``dict(net.named_parameters())``) are differentiated as themselves, so ``f`` may ignore
    its first argument and call a module: ``lambda params, X, Y: loss(net(X), Y)``.

    Row ``n``'s loss must depend on row ``n`` only (no batch statistics).  Violations that show
    in the graph (a reduction over the batch that is not the final sum, a nonlinear function
    of such a sum) raise :class:`PerExampleError`; ``check=True`` also compares row 0 with
    the gradient on row 0 alone, which catches a wrong ``reduction`` too (at the cost of a
    one-row pass).  First order only: the result is NumPy arrays, not differentiable again.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"per_example_grad: reduction must be 'sum' or 'mean', got {reduction!r}")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        asked = _argnums(argnums, len(args))
        numbers = tuple(dict.fromkeys(asked))  # argnums=(0, 0): differentiate once, answer twice
        grads = _per_example(f, numbers, args, kwargs, reduction)
        if check:
            _check_first_row(f, numbers, args, kwargs, reduction, grads)
        answer = _regroup(grads, numbers, args, isinstance(argnums, int))
        if numbers == asked:
            return answer
        by_number = dict(zip(numbers, answer))
        return tuple(by_number[n] for n in asked)

    wrapped.__matgrad_transform__ = "per_example_grad"  # mg.compile compiles the transform itself
    return wrapped


# ----- tracing ------------------------------------------------------------------------------
def _argnums(argnums: int | Sequence[int], count: int) -> tuple[int, ...]:
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in numbers:
        if not -count <= n < count:
            raise ValueError(f"per_example_grad: argnums={argnums} but the function got {count} arguments")
    return tuple(n % count for n in numbers)


def _batch_size(args: tuple, numbers: tuple[int, ...]) -> int:
    """N, the common length of axis 0 of the batch arguments (those not in argnums)."""
    sizes = {
        np.shape(leaf)[0]
        for i, arg in enumerate(args)
        if i not in numbers
        for leaf in tree_flatten(arg)[0]
        if np.ndim(leaf) >= 1
    }
    if len(sizes) != 1:
        found = f"lengths {sorted(sizes)}" if sizes else "no array argument"
        raise PerExampleError(
            f"per_example_grad: the batch arguments (those not in argnums) must share the length N "
            f"of axis 0, the batch axis; found {found}"
        )
    return sizes.pop()


def _variable(leaf: Any) -> Tensor:
    """A parameter as a graph leaf: a Tensor that requires grad is used as itself (a module's)."""
    if type(leaf) is Tensor and leaf.requires_grad:
        return leaf
    data = np.asarray(leaf.data if type(leaf) is Tensor else leaf)
    if not np.issubdtype(data.dtype, np.floating):
        raise TypeError(
            f"per_example_grad: a parameter has dtype {data.dtype}; only floating-point parameters "
            f"have gradients. Convert it (x.astype(np.float64)) or leave it out of argnums"
        )
    return Tensor(data, requires_grad=True)


def _per_example(f: Callable, numbers: tuple[int, ...], args: tuple, kwargs: dict, reduction: str) -> list[np.ndarray]:
    """Per-example gradients of every parameter leaf, in the order of the flattened argnums."""
    if STATE.transform_depth > 0:
        raise PerExampleError(
            "per_example_grad: called inside another transform; it returns NumPy arrays and cannot be "
            "differentiated again. Call it at the top level"
        )
    n = _batch_size(args, numbers)
    traced = list(args)
    variables: list[Tensor] = []
    for i in numbers:
        leaves, treedef = tree_flatten(args[i])
        fresh = [_variable(leaf) for leaf in leaves]
        variables.extend(fresh)
        traced[i] = tree_unflatten(treedef, fresh)
    loss = f(*traced, **kwargs)
    if type(loss) is not Tensor or loss.size != 1:
        raise PerExampleError(
            f"per_example_grad: f must return a scalar (the batch's summed or averaged loss), "
            f"got shape {np.shape(loss.data if type(loss) is Tensor else loss)}"
        )
    if TAPE.tape is not None:  # a compiled plan replays the graph's forward, then the steps below
        TAPE.tape.record_graph(toposort([loss]))
    per_row = _sweep(loss, variables, n, n if reduction == "mean" else 1) if loss.requires_grad else {}
    return [taped(_finish, per_row.get(id(v)), v.shape, v.dtype, n) for v in variables]


def _finish(grad: np.ndarray | None, variable_shape: tuple[int, ...], dtype: Any, n: int) -> np.ndarray:
    """``(N,) + shape`` in the parameter's dtype; a row-independent part is copied to every row.

    An array the rules made for this parameter alone is returned as it is (no 12 MB copy for
    the first layer of a 784-30-10 network); a view, possibly of a cotangent that another
    parameter's result shares, is copied.
    """
    shape = (n,) + variable_shape
    if grad is None:
        return np.zeros(shape, dtype=dtype)
    if grad.shape == shape and grad.dtype == dtype and grad.base is None:
        return grad
    return np.array(np.broadcast_to(grad, shape), dtype=dtype)


def _regroup(flat: list[np.ndarray], numbers: tuple[int, ...], args: tuple, single: bool) -> Any:
    groups, start = [], 0
    for i in numbers:
        leaves, treedef = tree_flatten(args[i])
        groups.append(tree_unflatten(treedef, flat[start : start + len(leaves)]))
        start += len(leaves)
    return groups[0] if single else tuple(groups)


# ----- classification: free, rows, pooled ---------------------------------------------------
def _classify(order: list[Tensor], variables: set[int], n: int) -> dict[int, str]:
    """The status of every recorded node, producers first (see the module docstring)."""
    status: dict[int, str] = {}
    for node in reversed(order):  # toposort lists consumers first
        if node._prim is None:
            status[id(node)] = FREE if id(node) in variables else _constant_status(node, n)
        else:
            parents = [status[id(p)] if id(p) in status else _constant_status(p, n) for p in node._parents]
            status[id(node)] = _node_status(node, parents, n)
    return status


def _constant_status(value: Any, n: int) -> str:
    """A constant (or a leaf outside argnums) belongs to the batch when its axis 0 has length N."""
    shape = np.shape(value.data if type(value) is Tensor else value)
    return ROWS if len(shape) >= 1 and shape[0] == n else FREE


def _node_status(node: Tensor, parents: list[str], n: int) -> str:
    name = node._prim.name
    if POOLED in parents:
        return _pooled_status(node, parents)
    if ROWS not in parents:
        return FREE
    if _covers_batch_axis(node):
        if name in ("sum", "mean"):
            return POOLED
        raise _batch_mixing(node, f"{name} over the batch axis couples the rows")
    if name == "matmul" and parents[1] == ROWS and np.ndim(_value(node._parents[1])) <= 2:
        if parents[0] == FREE:
            return POOLED  # c @ Z sums rows of Z with weights: linear in the rows
        raise _batch_mixing(node, "a matrix product contracts the batch axis of both operands")
    if name == "transpose" and not _keeps_axis_0(node):
        raise _batch_mixing(node, "a transpose moves the batch axis away from axis 0")
    if node.ndim == 0 or node.shape[0] != n:
        raise _batch_mixing(node, f"its result has shape {node.shape}, without the batch axis of length {n} first")
    return ROWS


def _pooled_status(node: Tensor, parents: list[str]) -> str:
    """A value summed over the rows may only be added, scaled, reshaped on its way to the loss."""
    name = node._prim.name
    if ROWS in parents:
        raise _batch_mixing(node, "it combines a value summed over the batch with per-row values")
    pooled = [i for i, s in enumerate(parents) if s == POOLED]
    if name in _LINEAR_IN_POOLED or (name == "mul" and len(pooled) == 1) or (name == "div" and pooled == [0]):
        return POOLED
    raise _batch_mixing(node, "it is nonlinear in a value summed over the batch, so the loss is not a sum over rows")


def _covers_batch_axis(node: Tensor) -> bool:
    name, params, ndim = node._prim.name, node._params, np.ndim(_value(node._parents[0]))
    if name in _REDUCTIONS:
        axis = params.get("axis")
        return axis is None or 0 in {a % ndim for a in np.atleast_1d(axis)}
    if name in _ROW_WISE:
        return params.get("axis", -1) % ndim == 0
    return False


def _keeps_axis_0(node: Tensor) -> bool:
    axes = node._params.get("axes")
    return axes is not None and axes[0] % node.ndim == 0


def _batch_mixing(node: Tensor, why: str) -> PerExampleError:
    shapes = ", ".join(str(np.shape(_value(p))) for p in node._parents)
    return PerExampleError(
        f"per_example_grad: {node._prim.name} (input shapes {shapes}): {why}. Row n's loss must depend on "
        f"row n of the batch only (axis 0 of every batch argument), and f must add or average the rows' "
        f"losses at the end; batch statistics (a mean or max over the batch used before the loss) break "
        f"this. If that is intended, {_LOOP_HINT}"
    )


def _value(x: Any) -> Any:
    return x.data if type(x) is Tensor else x


# ----- the sweep ----------------------------------------------------------------------------
def _sweep(loss: Tensor, variables: list[Tensor], n: int, scale: int) -> dict[int, np.ndarray]:
    """Per-row gradients ``(N or 1,) + shape`` of every free node reached, keyed by id."""
    order = toposort([loss])
    status = _classify(order, {id(v) for v in variables}, n)
    if status[id(loss)] == FREE:
        raise PerExampleError(
            f"per_example_grad: no value in f's graph has the batch (length {n}) on axis 0, so the rows "
            f"cannot be told apart; the layout must be batch first (X @ W with X of shape (N, k)), "
            f"not column layout (W @ X.T)"
        )
    meets = [
        node
        for node in order
        if node._prim is not None and status[id(node)] != FREE and any(_is_free_input(p, status) for p in node._parents)
    ]
    cotangents = dict(zip(map(id, meets), grad_of([loss], meets, [np.ones(loss.shape, loss.dtype)], retain_graph=True)))
    per_row: dict[int, np.ndarray] = {}
    for node in order:  # consumers before producers: a free node's sum is complete when reached
        if node._prim is None:
            continue
        if status[id(node)] == FREE:
            g = per_row.pop(id(node), None)
            if g is not None:
                _pull_back_free(node, g, status, per_row)
        elif id(node) in cotangents:
            _meet(node, cotangents[id(node)], status, scale, per_row)
    return per_row


def _is_free_input(parent: Any, status: dict[int, str]) -> bool:
    return type(parent) is Tensor and parent.requires_grad and status.get(id(parent)) == FREE


def _accumulate(per_row: dict[int, np.ndarray], node: Tensor, g: np.ndarray) -> None:
    previous = per_row.get(id(node))
    per_row[id(node)] = g if previous is None else taped(added_gradients, previous, g)  # (1, …) + (N, …) broadcasts


def _meet(node: Tensor, g: np.ndarray, status: dict[int, str], scale: int, per_row: dict[int, np.ndarray]) -> None:
    """Where a free input meets the batch: its per-row gradients from ``node``'s cotangent ``g``."""
    prim, params = node._prim, node._params
    args = [_value(p) for p in node._parents]
    pooled = status[id(node)] == POOLED
    # the per-example rules are linear in g: scale the cotangent, not the larger per-row result
    g_rows = taped(np.multiply, g, scale) if scale != 1 and not pooled else g
    for i, parent in enumerate(node._parents):
        if not _is_free_input(parent, status):
            continue
        if pooled:  # a penalty added to the loss: the same for every row
            if prim.name not in ("add", "sub"):
                raise _unsupported(node, i, "it scales a value summed over the batch by a parameter")
            _accumulate(per_row, parent, taped(_one_row, prim.vjp[i], g, node.data, args, params))
            continue
        rule = PER_EXAMPLE_RULES.get(prim.name)
        if rule is None:
            raise _unsupported(node, i, "it has no per-example rule")
        _accumulate(per_row, parent, taped(rule, prim, i, g_rows, node.data, args, params))


def _one_row(rule: Any, g: np.ndarray, out: np.ndarray, args: list, params: dict) -> np.ndarray:
    """The ordinary VJP, as the one row shared by every example."""
    return np.asarray(rule(g, out, *args, **params))[None]


def _shared_row(rule: Any, g: np.ndarray, out: np.ndarray, args: list, params: dict) -> np.ndarray:
    """The ordinary VJP of a gradient ``g`` of one row ``(1,) + shape`` shared by every example."""
    return _one_row(rule, g[0], out, args, params)


def _pull_back_free(node: Tensor, g: np.ndarray, status: dict[int, str], per_row: dict[int, np.ndarray]) -> None:
    """Carry per-row gradients ``(B,) + node.shape`` back through a computation on parameters."""
    args = [_value(p) for p in node._parents]
    for i, parent in enumerate(node._parents):
        if not _is_free_input(parent, status):
            continue
        if len(g) == 1:  # the same for every row: the ordinary VJP
            back = taped(_shared_row, node._prim.vjp[i], g, node.data, args, node._params)
        elif node._prim.name in BATCHED_PULLBACKS:
            back = taped(BATCHED_PULLBACKS[node._prim.name], node._prim, i, g, node.data, args, node._params)
        else:
            raise _unsupported(node, i, _PULLBACK_LIMITS)
        _accumulate(per_row, parent, back)


def _unsupported(node: Tensor, i: int, why: str) -> PerExampleError:
    shapes = ", ".join(str(np.shape(_value(p))) for p in node._parents)
    return PerExampleError(
        f"per_example_grad: cannot keep the rows apart in {node._prim.name} (input shapes {shapes}), "
        f"argument {i}: {why}. Supported where a parameter meets the batch: "
        f"{', '.join(sorted(PER_EXAMPLE_RULES))}; {_LOOP_HINT}"
    )


# ----- the per-example rules ----------------------------------------------------------------
def _matmul_rows(i: int, g: Any, a: Any, b: Any) -> np.ndarray:
    """``Z = A B`` with the rows in A: ``∂ℓₙ/∂B = aₙᵀ gₙ``; with the rows in B (``W Xₙ``): ``gₙ Xₙᵀ``."""
    n = len(g)
    if i == 1 and b.ndim == 2:  # each row's outer product aₙ gₙᵀ (summed over any inner axes)
        inner = int(np.prod(a.shape[1:-1]))  # not -1: a batch of 0 rows has no size to infer it from
        return _row_products(a.reshape(n, inner, a.shape[-1]), g.reshape(n, inner, b.shape[1]))
    if i == 1 and b.ndim == 1:  # Z = A v: ∂ℓₙ/∂v = aₙᵀ gₙ
        return np.einsum("nik,ni->nk", a.reshape(n, -1, a.shape[-1]), g.reshape(n, -1))
    if i == 0 and a.ndim == 2 and b.ndim >= 3:  # Z = W Xₙ for a stack of matrices Xₙ: gₙ Xₙᵀ
        k, m = b.shape[-2:]
        return np.einsum("nijm,nikm->njk", g.reshape(n, -1, a.shape[0], m), b.reshape(n, -1, k, m))
    raise PerExampleError(
        f"per_example_grad: matmul of shapes {a.shape} @ {b.shape} with the parameter as argument {i}: "
        f"only a batch-first left operand (X @ W, X @ v) or a stack of matrices on the right (W @ X, X of "
        f"shape (N, …, k, m)) is supported; for a column layout W @ X with X of shape (k, N), write "
        f"X.T-first: X @ W.T. {_LOOP_HINT}"
    )


#: the size k·j of one row's outer product from which one BLAS call per row beats einsum (measured, batch 128
#: and 1,024: 784 × 30 by 3×, 32 × 32 and 300 × 3 by 2×; 30 × 10 and 10 × 5 lose, 16 × 16 breaks even)
_BLAS_OUTER_MIN = 512


def _row_products(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``Σᵢ a[n, i]ᵀ g[n, i]`` for every row n, shape ``(N, k, j)``: one batched BLAS product.

    Writing the ``N × k × j`` result is the whole cost here (12 MB for the first layer of a
    784-30-10 network at batch 128).  With one term (``i = 1``: the outer products ``aₙ gₙᵀ``)
    NumPy's matmul does not call BLAS and ``einsum`` zero-fills then adds, both 3× slower than a
    BLAS product; a second, zero term makes it one, whose result is still exactly ``aₙ gₙᵀ``
    (each entry is the one rounded product plus 0).
    """
    if a.shape[1] == 1:
        if a.shape[2] * g.shape[2] < _BLAS_OUTER_MIN:  # one BLAS call per row costs more than it saves
            return np.einsum("nk,nj->nkj", a[:, 0], g[:, 0])
        with np.errstate(invalid="ignore"):  # BLAS meets an infinite aₙ with the zero term: no NaN results, a warning
            return np.matmul(_zero_padded(a).transpose(0, 2, 1), _zero_padded(g))
    return np.matmul(a.transpose(0, 2, 1), g)


def _zero_padded(x: np.ndarray) -> np.ndarray:
    """``(N, 1, m)`` → ``(N, 2, m)``, the second row zero."""
    padded = np.empty((x.shape[0], 2, x.shape[2]), dtype=x.dtype)
    padded[:, :1] = x
    padded[:, 1] = 0
    return padded


def _elementwise_rows(prim: Any, i: int, g: Any, out: Any, args: list, params: dict) -> np.ndarray:
    """The table's own VJP with the parameter spread over the batch, summed per row.

    Called with the parameter broadcast to the shape of ``g`` (the batch axis first), an
    elementwise VJP sums over nothing and returns each entry's gradient; summing that over
    every broadcast axis except axis 0 gives the parameter's gradient row by row.
    """
    spread = list(args)
    spread[i] = np.broadcast_to(args[i], g.shape)
    entries = prim.vjp[i](g, out, *spread, **params)
    return _rows_of(np.broadcast_to(entries, g.shape), np.shape(args[i]))


def _rows_of(entries: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``entries`` (shaped like the batch output) down to ``(N,) + shape``."""
    padded = (1,) * (entries.ndim - len(shape)) + tuple(shape)
    if padded[0] != 1:
        raise PerExampleError(
            f"per_example_grad: a parameter of shape {shape} is combined entry by entry with the batch "
            f"along axis 0 (output shape {entries.shape}): it would have one value per example, so it "
            f"has no per-example gradient. {_LOOP_HINT}"
        )
    axes = tuple(a for a in range(1, entries.ndim) if padded[a] == 1 and entries.shape[a] != 1)
    summed = entries.sum(axis=axes, keepdims=True) if axes else entries
    return summed.reshape((len(entries),) + tuple(shape))


#: every primitive of ``primitives/elementwise.py`` and ``elementwise_math.py``: the spread-and-sum
#: rule above fits them all
ELEMENTWISE = frozenset(
    p.name for module in (_elementwise, _elementwise_math) for p in vars(module).values() if isinstance(p, Primitive)
)

#: Per-example rules, keyed by primitive name: ``rule(prim, i, g, out, args, params)`` returns
#: the gradient of argument ``i`` (a parameter) for each row, ``(N,) + args[i].shape``.  ``g``
#: is the cotangent of ``out``, with the batch on axis 0.  Only matmul needs its own formula.
PER_EXAMPLE_RULES: dict[str, Callable[..., np.ndarray]] = {
    "matmul": lambda prim, i, g, out, args, params: _matmul_rows(i, g, *args),
    **dict.fromkeys(ELEMENTWISE, _elementwise_rows),
}


def _transpose_back(g: np.ndarray, x: Any, axes: Any = None) -> np.ndarray:
    inverse = np.argsort([a % x.ndim for a in axes]) if axes is not None else range(x.ndim - 1, -1, -1)
    return np.transpose(g, (0,) + tuple(1 + int(a) for a in inverse))


def _matmul_back(g: np.ndarray, i: int, a: Any, b: Any) -> np.ndarray:
    """A product of two parameter matrices, each row's ``Ḡₙ Bᵀ`` or ``Aᵀ Ḡₙ`` (one batched product)."""
    if a.ndim != 2 or b.ndim != 2:
        raise PerExampleError(
            f"per_example_grad: a product of parameters of shapes {a.shape} @ {b.shape}: "
            f"only matrices are supported here. {_LOOP_HINT}"
        )
    return g @ b.T if i == 0 else a.T @ g


def _getitem_back(g: np.ndarray, x: Any, index: Any) -> np.ndarray:
    """Each row's gradient scattered back into the parameter's shape (repeated indices add up)."""
    back = np.zeros((len(g),) + np.shape(x), dtype=g.dtype)
    np.add.at(back, (slice(None), *(index if isinstance(index, tuple) else (index,))), g)
    return back


#: How per-row gradients ``(N,) + out.shape`` go back through a computation on parameters alone
#: (``W.T``, ``2 * W``, ``softplus(s)``, ``W1 @ W2``) to its inputs, row by row; same signature.
BATCHED_PULLBACKS: dict[str, Callable[..., np.ndarray]] = {
    "reshape": lambda prim, i, g, out, args, params: g.reshape((len(g),) + np.shape(args[i])),
    "transpose": lambda prim, i, g, out, args, params: _transpose_back(g, args[0], **params),
    "matmul": lambda prim, i, g, out, args, params: _matmul_back(g, i, *args),
    "getitem": lambda prim, i, g, out, args, params: _getitem_back(g, args[0], **params),
    **dict.fromkeys(ELEMENTWISE, _elementwise_rows),
}


# ----- check=True ---------------------------------------------------------------------------
def _check_first_row(
    f: Callable, numbers: tuple[int, ...], args: tuple, kwargs: dict, reduction: str, grads: list[np.ndarray]
) -> None:
    """Compare row 0 with the gradient of ``f`` on the batch made of row 0 alone."""
    first = tuple(a if i in numbers else _first_rows(a) for i, a in enumerate(args))
    alone = _per_example(f, numbers, first, kwargs, reduction)
    for k, (batch_row, single) in enumerate(zip(grads, alone)):
        tolerance = 1e-4 if batch_row.dtype == np.float32 else 1e-8
        reference = single[0]
        scale = max(float(np.max(np.abs(reference), initial=0.0)), 1e-12)
        if not np.allclose(batch_row[0], reference, rtol=tolerance, atol=tolerance * scale):
            raise PerExampleError(_check_message(k, batch_row[0], reference, len(grads[0]), reduction))


def _first_rows(arg: Any) -> Any:
    leaves, treedef = tree_flatten(arg)
    return tree_unflatten(treedef, [leaf[:1] if np.ndim(leaf) >= 1 else leaf for leaf in leaves])


def _check_message(k: int, from_batch: np.ndarray, alone: np.ndarray, n: int, reduction: str) -> str:
    ratio = float(np.sum(alone * from_batch) / max(float(np.sum(from_batch * from_batch)), 1e-300))
    other = "mean" if reduction == "sum" else "sum"
    if abs(ratio - n) < 1e-3 * n or abs(ratio * n - 1) < 1e-3:
        cause = f"f looks like a {other} over the rows: pass reduction={other!r}"
    else:
        cause = "row 0's loss depends on other rows of the batch (batch statistics?)"
    return (
        f"per_example_grad(check=True): parameter {k}: row 0's gradient computed from the batch differs "
        f"from f's gradient on row 0 alone (max difference {np.max(np.abs(from_batch - alone)):.3g}, "
        f"ratio {ratio:.4g}); {cause}"
    )
