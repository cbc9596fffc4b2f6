"""Reverse mode: the backward sweep over a recorded graph.

The sweep visits nodes newest first (by creation number, from a heap: a loop, so a chain of
any length is fine, and a node comes after all its uses), calls
``node._prim.vjp[i](g, out, *inputs, **params)`` for every input that needs a gradient, and
adds the gradients of nodes used more than once.  It knows no operation: every derivative
comes from the primitive table.

Two speeds, one rule: with ``create_graph=False`` rules run on raw NumPy arrays; with
``create_graph=True`` they run on the Tensors themselves, so the backward pass is recorded and
can be differentiated again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from .primitives.core import constant_ones
from .state import STATE, enable_grad
from .tensor import Tensor, raise_if_not_finite


class _TapeSlot:
    """Where :mod:`matgrad.compile` plugs in a tape while it traces a transform: the array-level
    steps of the sweeps (each rule call, each sum) go through :func:`taped`, which runs them and,
    while a tape is plugged in, logs them so that a plan can replay exactly the same calls."""

    __slots__ = ("tape",)

    def __init__(self) -> None:
        self.tape: Any = None


TAPE = _TapeSlot()


def taped(function: Any, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, logged on the tape when one is plugged in."""
    result = function(*args, **kwargs)
    if TAPE.tape is not None:
        TAPE.tape.log(function, args, kwargs, result)
    return result


def added_gradients(previous: Any, g: Any) -> Any:
    """The sum of two gradients of one node, the step a plan replays (``previous + g``)."""
    return previous + g


def toposort(roots: Sequence[Tensor]) -> list[Tensor]:
    """Nodes that require grad and lead to ``roots``, each listed before the nodes it uses."""
    order: list[Tensor] = []
    seen: set[Tensor] = set()  # Tensors hash by identity, faster than a set of id()s
    stack: list[tuple[Tensor, bool]] = [(root, False) for root in roots]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        if node._prim is None:
            continue
        if node._parents is None:
            raise _freed_error(node)
        for parent in node._parents:
            if type(parent) is Tensor and parent.requires_grad and parent not in seen:
                stack.append((parent, False))
    order.reverse()
    return order


def backward(
    root: Tensor, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False
) -> None:
    """Accumulate ``∂root/∂leaf`` (times ``gradient``) into ``.grad`` of every leaf needing it."""
    seed = _seed(root, gradient, create_graph)
    free = not (create_graph if retain_graph is None else retain_graph)
    _deliver(_sweep([root], [seed], create_graph, free))


def grad_of(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Any],
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> list[Any]:
    """Gradients of ``Σ ⟨grad_outputs, outputs⟩`` w.r.t. ``inputs`` (any nodes), not into ``.grad``.

    An input the outputs do not depend on gets zeros.  This is the functional core of
    :mod:`matgrad.transforms`.
    """
    targets = set(inputs)
    live = [(out, g) for out, g in zip(outputs, grad_outputs) if out.requires_grad]
    free = not (create_graph if retain_graph is None else retain_graph)
    found: dict[Tensor, Any] = {}
    if live:
        roots = [o for o, _ in live]
        relevant = _leading_to(toposort(roots), targets)
        found = dict(_sweep(roots, [g for _, g in live], create_graph, free, targets, relevant))
    return [found[x] if x in found else _zeros_like(x, create_graph) for x in inputs]


def _sweep(
    roots: Sequence[Tensor],
    seeds: Sequence[Any],
    create_graph: bool,
    free: bool,
    targets: set[Tensor] | None = None,
    relevant: set[Tensor] | None = None,
) -> list[tuple[Tensor, Any]]:
    """Propagate ``seeds`` from ``roots``, newest node first.

    A node is recorded after its inputs, so its creation number (``_seq``) is larger than
    theirs: taking the pending node with the largest number (a heap) visits every node after
    all its uses, with no count of uses made beforehand.  A node enters the heap when its first
    gradient arrives, so nodes no gradient reaches are never visited.

    Returns the (node, gradient) pairs that reached leaves, or the ``targets`` when given.
    With ``free`` each node drops its inputs as soon as it is done.
    """
    pending: dict[Tensor, Any] = {}  # gradients of recorded nodes, summed until the node's turn
    reached: dict[Tensor, Any] = {}  # gradients of leaves, summed to the end
    heap: list[tuple[int, Tensor]] = []
    for root, seed in zip(roots, seeds):
        _add_gradient(root, seed, pending, reached, heap)
    if targets is None and relevant is None and not (create_graph or STATE.anomaly):
        _sweep_arrays(heap, pending, reached, free)
        return list(reached.items())
    found: list[tuple[Tensor, Any]] = []
    with enable_grad() if create_graph else contextlib.nullcontext():
        while heap:
            node = heappop(heap)[1]
            g = pending.pop(node)
            if targets is not None and node in targets:
                found.append((node, g))
            _propagate(node, g, pending, reached, heap, create_graph, relevant)
            if free:
                node._parents = node._inputs = node._params = None
    found += [(leaf, g) for leaf, g in reached.items() if targets is None or leaf in targets]
    return found


def _add_gradient(
    node: Tensor, g: Any, pending: dict[Tensor, Any], reached: dict[Tensor, Any], heap: list
) -> None:
    """Sum ``g`` into the gradient of ``node``; a recorded node enters the heap on its first."""
    if node._prim is None:
        previous = reached.get(node)
        if previous is not None and TAPE.tape is not None and type(g) is not Tensor:
            g = taped(added_gradients, previous, g)
        elif previous is not None:
            g = previous + g
        reached[node] = g
        return
    previous = pending.get(node)
    if previous is None:
        pending[node] = g
        heappush(heap, (-node._seq, node))
    elif TAPE.tape is not None and type(g) is not Tensor:
        pending[node] = taped(added_gradients, previous, g)
    else:
        pending[node] = previous + g


def _sweep_arrays(heap: list, pending: dict[Tensor, Any], reached: dict[Tensor, Any], free: bool) -> None:
    """``_sweep`` on raw arrays into the leaves: ``backward()``'s common case, written flat.

    The same steps as ``_sweep`` + ``_propagate`` + ``_add_gradient`` with nothing optional (no
    graph recording, no targets, no pruning, no anomaly checks), because at small sizes this
    loop, not NumPy, is the cost of a backward pass.
    """
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        parents = node._parents
        if parents is None:
            raise _freed_error(node)
        params = node._params
        out = node.data
        args = node._inputs
        rules = node._prim.vjp
        i = -1
        for parent in parents:
            i += 1
            if type(parent) is not Tensor or not parent.requires_grad:
                continue
            rule = rules[i]
            if rule is None:
                raise _no_derivative_error(node._prim, i)
            gi = rule(g, out, *args, **params) if params else rule(g, out, *args)
            if parent._prim is None:
                previous = reached.get(parent)
                reached[parent] = gi if previous is None else previous + gi
                continue
            previous = pending.get(parent)
            if previous is None:
                pending[parent] = gi
                heappush(heap, (-parent._seq, parent))
            else:
                pending[parent] = previous + gi
        if free:
            node._parents = node._inputs = node._params = None


def _propagate(
    node: Tensor,
    g: Any,
    pending: dict[Tensor, Any],
    reached: dict[Tensor, Any],
    heap: list,
    create_graph: bool,
    relevant: set[Tensor] | None,
) -> None:
    """Add ``gᵀ ∂node/∂parent`` to the gradient of each parent that needs it."""
    prim, parents, params = node._prim, node._parents, node._params
    if parents is None:
        raise _freed_error(node)
    if create_graph:
        out, args = node, parents
    else:
        out, args = node.data, node._inputs
    for i, parent in enumerate(parents):
        if type(parent) is not Tensor or not parent.requires_grad:
            continue
        if relevant is not None and parent not in relevant:
            continue
        rule = prim.vjp[i]
        if rule is None:
            raise _no_derivative_error(prim, i)
        if TAPE.tape is not None and not create_graph:
            gi = taped(rule, g, out, *args, **params)
        else:
            gi = rule(g, out, *args, **params)
        if STATE.anomaly:
            where = f"backward of {prim.name} (gradient for input {i} of shape {parent.shape})"
            raise_if_not_finite(gi.data if type(gi) is Tensor else gi, where)
        _add_gradient(parent, gi, pending, reached, heap)


BATCHED_ELEMENTS = 1 << 22  # entries of the largest batched gradient array one sweep may hold


def batched_grad_of(
    output: Tensor, inputs: Sequence[Tensor], seeds: np.ndarray, order: list[Tensor] | None = None
) -> list[np.ndarray] | None:
    """``grad_of`` for many cotangents at once: ``seeds`` has shape ``(B,) + output.shape`` and
    the result for each input has shape ``(B,) + input.shape`` (row b is ``seeds[b]ᵀ J``).

    One sweep carries a leading axis of B cotangents through the rules, instead of B sweeps.
    That is sound for the rules that broadcast over leading axes as NumPy does: elementwise
    primitives and matmul, whose VJP cores are then summed back to ``(B,) + input shape`` with
    the batch axis kept.  Returns None for a graph with any other primitive (the caller loops).
    ``order`` is ``toposort([output])``, for a caller that has it already.
    """
    order = toposort([output]) if order is None else order
    if not all(node._prim is None or _batchable(node) for node in order):
        return None
    batch = len(seeds)
    targets = set(inputs)
    grads: dict[Tensor, Any] = {output: seeds}
    found: dict[Tensor, Any] = {}
    for node in order:  # consumers before producers
        g = grads.pop(node, None)
        if g is None:
            continue
        if node in targets:
            found[node] = g
        if node._prim is None:
            continue
        for i, parent in enumerate(node._parents):
            if type(parent) is not Tensor or not parent.requires_grad:
                continue
            gi = taped(_batched_rule, node._prim, i, g, node.data, node._inputs, node._params, (batch, *parent.shape))
            if gi is None:
                return None
            previous = grads.get(parent)
            grads[parent] = gi if previous is None else taped(added_gradients, previous, gi)
    return [found[x] if x in found else np.zeros((batch, *x.shape), x.dtype) for x in inputs]


def _batchable(node: Tensor) -> bool:
    """Elementwise primitives and matmul broadcast over leading axes; other rules say so."""
    prim = node._prim
    if prim.name == "matmul" or getattr(prim.notation, "derivatives", ()):
        return True
    # variadic rules: one per input; a parameter recorded among the inputs (broadcast_to's shape) has none
    rules = [prim.vjp[i] for i, p in enumerate(node._parents) if type(p) is Tensor and p.requires_grad]
    return all(rule is None or getattr(rule, "leading_axes", False) or hasattr(rule, "core") for rule in rules)


def _batched_rule(
    prim: Any, i: int, g: np.ndarray, out: Any, args: Sequence[Any], params: dict, shape: tuple[int, ...]
) -> np.ndarray | None:
    """The VJP for input i with a leading batch axis kept, or None if the rule cannot keep it."""
    rule = prim.vjp[i]
    if rule is None:
        raise _no_derivative_error(prim, i)
    core = getattr(rule, "core", None)
    result = np.asarray(core(g, out, *args, **params) if core is not None else rule(g, out, *args, **params))
    lead = result.ndim - len(shape)
    if lead < 0:
        return None
    if lead:  # axes NumPy broadcast in front of the input's own, after the batch axis
        result = np.add.reduce(result, axis=tuple(range(1, lead + 1)))
    kept = tuple(k for k in range(1, len(shape)) if shape[k] == 1 and result.shape[k] != 1)
    if kept:
        result = np.add.reduce(result, axis=kept, keepdims=True)
    return result if result.shape == shape else None


def _no_derivative_error(prim: Any, i: int) -> TypeError:
    return TypeError(
        f"backward: {prim.name} has no derivative with respect to its argument {i}, "
        f"which requires grad; pass it as a constant (detach it)"
    )


def _freed_error(node: Tensor) -> RuntimeError:
    return RuntimeError(
        f"backward: the graph through {node._prim.name} was freed by an earlier backward "
        f"pass; call backward(retain_graph=True) the first time to go through it twice"
    )


def _leading_to(order: list[Tensor], targets: set[Tensor]) -> set[Tensor]:
    """The nodes from which some target can be reached (the only ones worth a VJP)."""
    relevant = set(targets)
    for node in reversed(order):  # producers first
        if node._prim is not None and node not in relevant:
            for parent in node._parents:
                if type(parent) is Tensor and parent in relevant:
                    relevant.add(node)
                    break
    return relevant


def _seed(root: Tensor, gradient: Any, create_graph: bool) -> Any:
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad: none of the tensors it was computed "
            "from has requires_grad=True, or it was computed under no_grad()"
        )
    if gradient is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {root.shape}, not a scalar; pass the seed "
                f"gradient explicitly, e.g. backward(np.ones({root.shape})) for the sum of its "
                f"entries, or reduce it first with .sum() or .mean()"
            )
        seed = constant_ones(root.shape, root.dtype)
    else:
        seed = gradient if type(gradient) is Tensor and create_graph else np.asarray(
            gradient.data if type(gradient) is Tensor else gradient, dtype=root.dtype
        )
        if seed.shape != root.shape:
            raise ValueError(
                f"backward: the seed gradient has shape {seed.shape} but the output has shape "
                f"{root.shape}; they must match"
            )
    return Tensor(seed) if create_graph and type(seed) is not Tensor else seed


def _deliver(leaves: list[tuple[Tensor, Any]]) -> None:
    """Add each leaf's gradient into its ``.grad``, in the leaf's dtype.

    An array is handed over as it is when nothing else can see it; a copy is made when it is
    already another leaf's (``x + y`` passes one g to both), read-only (the seed) or a view.
    """
    delivered: set[int] = set()
    for leaf, g in leaves:
        dtype = leaf.data.dtype
        if type(g) is Tensor:
            g = g if g.dtype == dtype else g.astype(dtype)
        elif type(g) is not np.ndarray:  # a 0-d result NumPy gave as a scalar: a fresh array
            g = np.asarray(g, dtype=dtype)
        elif g.dtype != dtype:
            g = g.astype(dtype)
        elif g.base is not None or id(g) in delivered or not g.flags.writeable:
            g = g.copy()
        delivered.add(id(g))
        leaf.grad = added(leaf.grad, g)


def added(grad: Any, g: Any) -> Any:
    """``grad + g`` for a ``.grad`` slot (``g`` alone into an empty one), kept an array: NumPy
    gives the sum of two 0-d arrays as a scalar."""
    if grad is None:
        return g
    total = grad + g
    return total if type(total) in (np.ndarray, Tensor) else np.asarray(total)


def _zeros_like(x: Tensor, as_tensor: bool) -> Any:
    zeros = np.zeros(x.shape, dtype=x.dtype)
    return Tensor(zeros) if as_tensor else zeros
