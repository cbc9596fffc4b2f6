"""NumPy code that differentiates as written: Tensor's ``__array_ufunc__`` and ``__array_function__``.

``np.sin(t)``, ``np.sum(t, axis=0)``, ``np.linalg.inv(t)`` and ``ndarray @ t`` reach these two
functions, which call the matgrad function of the same name in :mod:`matgrad.numpy` (and so record
the primitive).  Three kinds of NumPy function, and nothing else:

- **differentiable**: listed in ``matgrad.numpy.DIFFERENTIABLE`` (and its ``linalg``), recorded;
- **without a derivative by nature**: comparisons, logical functions, ``argmax``, ``shape`` …
  (``matgrad.numpy.CONSTANT``): computed on the values, their results are constants;
- **anything else**: an error naming the function, when an argument is a Tensor that requires grad;
  computed on the values when none does (nothing to differentiate, nothing lost).

So no NumPy call on a Tensor ever returns a result that silently left the graph.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .pytree import tree_flatten, tree_map
from .state import STATE
from .tensor import _NO_PARAMS, Tensor, record


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_ufunc__``: a ufunc call (or ``np.add.reduce``, …) on Tensors."""
    if kwargs.get("out") is not None:
        raise TypeError(f"numpy.{ufunc.__name__}: out= is not supported on Tensors; matgrad returns a new array")
    target = _tables()[0].get((ufunc, method))
    if target is None:
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        return _untraced(f"numpy.{name}", getattr(ufunc, method), inputs, kwargs)
    if not kwargs and hasattr(target, "primitive"):  # ndarray - t, ndarray @ t: as fast as t's own operators
        return record(target.primitive, inputs, _NO_PARAMS)
    return target(*inputs, **kwargs)


def array_function(func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: a NumPy function called with a Tensor among its arguments."""
    target = _tables()[1].get(func)
    if target is None:
        return _untraced(f"{_module_name(func)}.{func.__name__}", func, args, kwargs)
    return target(*args, **kwargs)


def _untraced(name: str, call: Any, args: tuple, kwargs: dict) -> Any:
    """A NumPy function with no rule: computed on the values, as a constant, if it has no
    derivative by nature or nothing needs a gradient; else an error."""
    from . import numpy as mgnp

    constant = name.removeprefix("numpy.") in mgnp.CONSTANT
    if not constant and STATE.grad_enabled and _requires_grad(args, kwargs):
        raise TypeError(
            f"{name} has no derivative rule in matgrad yet, and an argument is a Tensor that requires grad. "
            f"Hint: use a function listed in matgrad.numpy.DIFFERENTIABLE, or pass t.detach() if no gradient "
            f"should flow through this call"
        )
    return call(*_values(args), **_values(kwargs))


def _requires_grad(*trees: Any) -> bool:
    return any(type(leaf) is Tensor and leaf.requires_grad for leaf in tree_flatten(trees)[0])


def _values(tree: Any) -> Any:
    """The same structure with every Tensor replaced by its array."""
    return tree_map(lambda leaf: leaf.data if type(leaf) is Tensor else leaf, tree)


def _module_name(func: Any) -> str:
    """Where NumPy's users call ``func``: numpy.linalg, numpy.fft or numpy.random, else numpy."""
    module = getattr(func, "__module__", None) or "numpy"
    for public in ("numpy.linalg", "numpy.fft", "numpy.random"):
        if module.startswith(public):
            return public
    return "numpy"


@functools.cache
def _tables() -> tuple[dict, dict]:
    """(ufunc, method) → matgrad function, and NumPy function → matgrad function, built once from
    the names :mod:`matgrad.numpy` lists as differentiable (NumPy's own object for each name)."""
    from . import numpy as mgnp

    ufuncs: dict[tuple[np.ufunc, str], Any] = {}
    functions: dict[Any, Any] = {}
    for namespace, ours in ((np, mgnp), (np.linalg, mgnp.linalg)):
        for name in ours.DIFFERENTIABLE:
            theirs = getattr(namespace, name, None)
            if isinstance(theirs, np.ufunc):
                ufuncs[(theirs, "__call__")] = getattr(ours, name)
            elif theirs is not None:
                functions[theirs] = getattr(ours, name)
    for (ufunc_name, method), ours_name in mgnp.UFUNC_METHODS.items():
        ufuncs[(getattr(np, ufunc_name), method)] = getattr(mgnp, ours_name)
    return ufuncs, functions
