"""Composite functions: algebra over primitives, with no derivative rules of their own."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..pytree import tree_flatten
from ..tensor import Tensor
from .core import shape_of, value
from .elementwise import astype, neg
from .linalg import transpose
from .nn import softmax_cross_entropy
from .reductions import max as max_
from .reductions import mean
from .reductions import sum as sum_
from .shape import concatenate as concatenate_primitive
from .shape import reshape
from .shape import stack as stack_primitive


def as_array(x: Any) -> Any:
    """An array_like argument as the rules take it: a Tensor or an ndarray as it is; a list or tuple
    holding Tensors stacked into one traced Tensor (NumPy's ``asarray``, kept on the graph: reading
    its shape with NumPy would read the Tensors' values and drop them); anything else ``np.asarray``."""
    kind = type(x)
    if kind is Tensor or kind is np.ndarray:
        return x
    if (kind is list or kind is tuple) and holds_tensor(x):
        return array(x)
    return np.asarray(x)


def matrix_transpose(x: Any) -> Any:
    """Swap the last two axes (NumPy's ``.mT``): the transpose of each matrix in a batch."""
    x = as_array(x)
    ndim = len(shape_of(x))
    if ndim < 2:
        raise ValueError(f"matrix_transpose: needs at least 2 dimensions, got shape {shape_of(x)}")
    return transpose(x, axes=tuple(range(ndim - 2)) + (ndim - 1, ndim - 2))


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    a = as_array(a)
    axes = list(range(len(shape_of(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes=tuple(axes))


def expand_dims(a: Any, axis: int) -> Any:
    a = as_array(a)
    return reshape(a, shape=np.expand_dims(np.empty(shape_of(a), dtype=bool), axis).shape)


def squeeze(a: Any, axis: Any = None) -> Any:
    a = as_array(a)
    return reshape(a, shape=np.squeeze(np.empty(shape_of(a), dtype=bool), axis).shape)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """min x = −max(−x): the gradient goes to the smallest entry (ties split evenly)."""
    return neg(max_(neg(x), axis=axis, keepdims=keepdims))


def concatenate(xs: Any, axis: int = 0) -> Any:
    """Join a sequence of arrays along an existing axis (NumPy's signature)."""
    return concatenate_primitive(*xs, axis=axis)


def stack(xs: Any, axis: int = 0) -> Any:
    """Join a sequence of arrays along a new axis (NumPy's signature)."""
    return stack_primitive(*xs, axis=axis)


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64) -> np.ndarray:
    """Integer class labels (any shape) to one-hot rows of length ``num_classes``."""
    labels = np.asarray(value(labels))
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes}), got values from {labels.min()} "
            f"to {labels.max()}"
        )
    rows = np.zeros(labels.shape + (num_classes,), dtype=dtype)  # n × C, not the C × C of np.eye(C)[labels]
    np.put_along_axis(rows, labels[..., None], 1, axis=-1)
    return rows


def cross_entropy(logits: Any, targets: Any, axis: int = -1, reduction: str = "mean") -> Any:
    """Cross-entropy from logits, stable by construction (log-sum-exp inside).

    ``targets`` are integer class labels (shape of ``logits`` without ``axis``) or
    probabilities (shape of ``logits``).  ``reduction``: ``"mean"`` over examples (default),
    ``"sum"``, or ``"none"`` for one loss per example.
    """
    z_shape = shape_of(logits)
    target_values = value(targets)
    if np.issubdtype(np.asarray(target_values).dtype, np.integer):
        targets = one_hot(target_values, z_shape[axis], dtype=value(logits).dtype)
        targets = np.moveaxis(targets, -1, axis)
    if shape_of(targets) != z_shape:
        label_shape = np.sum(np.empty(z_shape, dtype=bool), axis=axis).shape  # z_shape without ``axis``
        raise ValueError(
            f"cross_entropy: targets of shape {shape_of(targets)} do not match logits of shape "
            f"{z_shape}; give integer labels of shape {label_shape} or "
            f"probabilities of shape {z_shape}"
        )
    losses = softmax_cross_entropy(logits, targets, axis=axis)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return sum_(losses)
    if reduction == "mean":
        return mean(losses)
    raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def array(obj: Any, dtype: Any = None) -> Any:
    """An array from nested lists and tuples whose entries may be Tensors (``np.array([x, y])``).

    Entries that are Tensors are stacked, so the result is traced; NumPy's own ``np.array`` would
    read their values and drop them from the graph.  The dtype is NumPy's for the entries (a
    Python number does not widen a float32 Tensor), or ``dtype``.  Without Tensors this is
    ``np.array``; a Tensor alone is returned as it is (cast to ``dtype`` if given).
    """
    if not holds_tensor(obj):
        return np.array(obj, dtype=dtype)
    if dtype is None:
        dtype = np.result_type(*[x.dtype if isinstance(x, (Tensor, np.ndarray)) else x for x in tree_flatten(obj)[0]])
    return _stacked(obj, np.dtype(dtype))


def holds_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a Tensor or a list or tuple holding one (at any depth)."""
    if type(obj) is Tensor:
        return True
    return type(obj) in (list, tuple) and any(holds_tensor(item) for item in obj)


def _stacked(obj: Any, dtype: np.dtype) -> Any:
    if type(obj) is Tensor:
        return obj if obj.dtype == dtype else astype(obj, dtype=dtype)
    if type(obj) not in (list, tuple):
        return np.asarray(obj, dtype=dtype)
    if not obj:
        return np.zeros((0,), dtype=dtype)
    return stack_primitive(*[_stacked(item, dtype) for item in obj], axis=0)
