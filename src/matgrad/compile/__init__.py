"""Compiled steps: trace a function once, then replay its forward and backward as flat NumPy code.

``mg.compile(f)`` is ``mg.value_and_grad(f)`` made fast: the first call with a given signature
(the structure, shapes and dtypes of the arguments, and the values of Python scalars) runs ``f``
eagerly, recording its graph and the VJP rules that the engine's backward sweep calls, in the
order it calls them.  From that record it generates one straight-line Python function: each
forward node calls its primitive's forward (a NumPy ufunc writes into a buffer allocated once,
``out=``), each backward step calls the very rule of the primitive table that eager mode calls,
and gradients used more than once are summed in eager's order.  Same functions, same inputs, same
order: the results are bit-identical to eager mode, and every new plan is checked against the
eager results of its tracing call before it is used.  ``mg.compile_backward(f)`` does the same
for ``f(*args).backward()``, accumulating into the ``.grad`` of the leaf Tensors ``f`` used.

What the trace knows, the plan uses, without changing a number:

- the seed is a read-only array of ones made once, and a rule call whose read values (declared
  with :func:`~matgrad.primitives.core.reading`) are all constants, e.g. ``0.5 *`` the seed and
  the sum's spread of it, is done once at trace time and its result reused (read-only);
- a rule written ``unbroadcast(core(...), shape)`` (:func:`~matgrad.primitives.core.summed`)
  whose core already gives the input's shape calls the core alone; a core that passes ``g`` on
  costs no line at all;
- a forward that takes ``out=`` (ufuncs, the sigmoid) writes into a buffer allocated once;
- the result, or the delivery into each leaf's ``.grad`` (the array itself into an empty slot
  when nothing else holds it, else a copy, as eager mode does), is generated into the plan.

What is frozen at trace time, as with ``jax.jit``:

- Python control flow and everything computed outside matgrad operations: data must be passed
  as arguments and reach the loss through matgrad operations (an argument that no recorded
  operation reads, e.g. integer labels one-hot encoded with NumPy inside ``f``, is an error);
- arrays captured from outside (closures, globals) are baked in by reference; leaf Tensors
  (a model's parameters) are read afresh at every call, so in-place optimizer updates are seen;
- random draws inside ``f`` (dropout masks) are replayed, not redrawn: do not compile them.

Results never alias the plan's buffers: the loss, auxiliary outputs and gradients are fresh
arrays on every call, so values a caller holds are never overwritten by a later call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..pytree import tree_map
from ..state import STATE
from ..tensor import Tensor
from ..transforms import Argnums, value_and_grad
from .codegen import Plan
from .trace import (
    _STATIC,
    CompileError,
    _BackwardTrace,
    _check_scalar,
    _GradTrace,
    _split_aux,
)
from .transform import CompiledTransform, is_transform

_MAX_PLANS = 8  # distinct signatures kept per function (e.g. full batches and the last one)


def compile(  # noqa: A001
    f: Callable, argnums: Argnums = 0, has_aux: bool = False, transform: bool = False
) -> CompiledFunction | CompiledTransform:
    """A compiled ``mg.value_and_grad(f, argnums, has_aux)``: same results, bit for bit, faster.

    ``f`` returns a scalar Tensor (or ``(scalar, aux)`` with ``has_aux``, aux a pytree of Tensors
    computed by ``f``).  The result is ``(value, grads)`` or ``((value, aux), grads)`` as NumPy
    arrays.  Calls inside another transform, on Tensors that require grad, or under
    ``detect_anomaly()`` run eagerly.

    A transform (``mg.compile(mg.hessian(f))``, ``grad``, ``jacrev``, ``jacfwd``,
    ``per_example_grad``) is compiled as itself: the compiled function returns what the transform
    returns.  ``transform=True`` does the same for any function whose top level calls transforms,
    e.g. ``mg.compile(lambda x, v: mg.hvp(f, (x,), (v,))[1], transform=True)``
    (see :mod:`matgrad.compile.transform`).
    """
    if transform or is_transform(f):
        if argnums != 0 or has_aux:
            raise TypeError(
                "compile: argnums and has_aux belong to the transform when compiling one, e.g. "
                "mg.compile(mg.grad(f, argnums=1, has_aux=True))"
            )
        return CompiledTransform(f)
    return CompiledFunction(f, argnums, has_aux, backward_mode=False)


def compile_backward(f: Callable, has_aux: bool = False) -> CompiledFunction:
    """A compiled ``f(*args).backward()``: returns the loss value (and aux) as NumPy arrays and
    adds the gradients into ``.grad`` of every leaf Tensor that requires grad, as eager mode does.
    """
    return CompiledFunction(f, (), has_aux, backward_mode=True)


class CompiledFunction:
    """``f`` with one cached plan per signature; ``traces`` counts the (re)traces."""

    def __init__(self, f: Callable, argnums: Argnums, has_aux: bool, backward_mode: bool) -> None:
        functools.update_wrapper(self, f)
        self.f, self.argnums, self.has_aux, self.backward_mode = f, argnums, has_aux, backward_mode
        self.plans: dict[Any, Plan] = {}
        self.traces = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        signature = None if kwargs else _array_signature(args)
        if signature is None:
            leaves: list[Any] = []
            key: Any = []
            _flatten_signature((args, kwargs), leaves, key)
            key = tuple(key)
            if _needs_graph(leaves, self.backward_mode):
                return self._eager(args, kwargs)
        else:
            leaves, key = signature
        if STATE.anomaly or STATE.transform_depth:
            return self._eager(args, kwargs)
        plan = self.plans.get(key)
        if plan is None:
            return self._trace(key, args, kwargs, leaves)
        return plan.function(leaves)

    def _eager(self, args: tuple, kwargs: dict) -> Any:
        if self.backward_mode:
            return _backward_eagerly(self.f, args, kwargs, self.has_aux)
        return value_and_grad(self.f, self.argnums, self.has_aux)(*args, **kwargs)

    def _trace(self, key: Any, args: tuple, kwargs: dict, leaves: list) -> Any:
        trace = _BackwardTrace(self, args, kwargs) if self.backward_mode else _GradTrace(self, args, kwargs)
        result = trace.result
        plan = Plan(trace, leaves)
        if len(self.plans) >= _MAX_PLANS:
            del self.plans[next(iter(self.plans))]
        self.plans[key] = plan
        self.traces += 1
        return result


def _needs_graph(leaves: list, backward_mode: bool) -> bool:
    """Tensors that require grad as arguments: value_and_grad must keep their graph (nested use)."""
    return not backward_mode and any(type(x) is Tensor and x.requires_grad for x in leaves)


_ARRAYS = object()  # marks the keys of _array_signature, which never equal _flatten_signature's


def _array_signature(args: tuple) -> tuple[list, tuple] | None:
    """``_flatten_signature`` for the common call, arguments that are arrays or flat lists and
    tuples of arrays: the same leaves, a key of their shapes and dtypes; None for anything else."""
    leaves: list[Any] = []
    key: list[Any] = [_ARRAYS]
    for arg in args:
        kind = type(arg)
        if kind is np.ndarray:
            leaves.append(arg)
            key += (arg.shape, arg.dtype)
        elif kind is list or kind is tuple:
            key.append((kind, len(arg)))
            for item in arg:
                if type(item) is not np.ndarray:
                    return None
                leaves.append(item)
                key += (item.shape, item.dtype)
        else:
            return None
    return leaves, tuple(key)


def _flatten_signature(tree: Any, leaves: list, key: list) -> None:
    """The leaves of ``tree`` (in ``tree_flatten``'s order) and what a plan is specialized to:
    the structure, array shapes and dtypes, and scalar values.  One pass, on the hot path."""
    kind = type(tree)
    if kind is np.ndarray:
        leaves.append(tree)
        key.append((kind, tree.shape, tree.dtype))
    elif kind is Tensor:
        leaves.append(tree)
        key.append((kind, tree.shape, tree.dtype, tree.requires_grad))
    elif kind is list or kind is tuple:
        key.append((kind, len(tree)))
        for item in tree:
            _flatten_signature(item, leaves, key)
    elif isinstance(tree, dict):
        key.append((kind, tuple(tree)))
        for item in tree.values():
            _flatten_signature(item, leaves, key)
    elif isinstance(tree, tuple):  # a namedtuple
        key.append((kind, len(tree)))
        for item in tree:
            _flatten_signature(item, leaves, key)
    elif isinstance(tree, _STATIC):
        leaves.append(tree)
        key.append((kind, tree))
    else:
        raise CompileError(
            f"compile: cannot take an argument of type {kind.__name__}; pass NumPy arrays, Tensors, "
            f"Python scalars (static: a new value re-traces) or lists, tuples and dicts of them"
        )


def _backward_eagerly(f: Callable, args: tuple, kwargs: dict, has_aux: bool) -> Any:
    result = f(*args, **kwargs)
    loss, aux = _split_aux(result, has_aux)
    _check_scalar(loss)
    loss.backward()
    value = loss.data
    return (value, _aux_arrays(aux)) if has_aux else value


def _aux_arrays(aux: Any) -> Any:
    return tree_map(lambda leaf: leaf.data if type(leaf) is Tensor else leaf, aux)

