"""Losses: callables ``loss(prediction, target) -> scalar Tensor``, each with ``config()``.

``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (one value per example, or per
entry for :class:`BCEWithLogitsLoss`).  Float targets given as arrays are cast to the
prediction's dtype, so a float32 network stays float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import cross_entropy, one_hot, softplus
from ..primitives import mean as mean_
from ..primitives import sum as sum_
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


class _Loss:
    """Shared plumbing: the ``reduction`` argument, ``config()`` and ``repr``."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def config(self) -> dict[str, Any]:
        """A JSON-serialisable dict from which :func:`matgrad.nn.loss_from_config` rebuilds the loss."""
        return {"type": type(self).__name__, "reduction": self.reduction}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def targets(self, prediction: Any, target: Any) -> Any:
        """``target`` as this loss uses it against ``prediction`` (only its shape and dtype are
        read): class labels one-hot encoded, values cast to the prediction's float dtype."""
        raise NotImplementedError


class MSELoss(_Loss):
    """Half the squared error per example, averaged (or summed) over the batch.

    For predictions ``a`` of shape ``(N, K)`` and targets ``y`` of the same shape:
    ``C_n = ½ ‖a_n − y_n‖² = ½ Σ_k (a_nk − y_nk)²`` (the quadratic cost of the δ equations), and the loss is
    ``(1/N) Σ_n C_n`` with ``reduction="mean"`` (Nielsen's SGD, whose learning rate 3.0 assumes
    exactly this), ``Σ_n C_n`` with ``"sum"``, the vector ``(C_n)`` with ``"none"``.  So
    ``∂loss/∂a = (a − y) / N`` for ``"mean"``.  Note the ½ and the per-example sum: this is
    **not** PyTorch's ``MSELoss``, which averages over all N·K entries and has no ½.

    Integer targets of shape ``(N,)`` are class labels: they are one-hot encoded to width ``K``
    first (``matgrad train``'s default network trains on one-hot targets).  A 1-D prediction of shape
    ``(N,)`` holds one scalar output per example.  Shapes must match exactly (no broadcasting).
    """

    def targets(self, prediction: Any, target: Any) -> Any:
        return _match_target(prediction, target, "MSELoss", labels=True)

    def __call__(self, prediction: Any, target: Any) -> Any:
        diff = prediction - self.targets(prediction, target)
        squares = diff**2  # (a − y)² as derivations write it, so explain shows it as written
        ndim = np.ndim(_values(prediction))
        if self.reduction == "none":
            per_example = sum_(squares, axis=tuple(range(1, ndim))) if ndim > 1 else squares
            return 0.5 * per_example
        total = 0.5 * sum_(squares)
        if self.reduction == "sum":
            return total
        n = np.shape(_values(prediction))[0] if ndim > 0 else 1
        return total / float(max(n, 1))


class CrossEntropyLoss(_Loss):
    """Cross-entropy from logits, ``−Σ_k y_k log softmax(z)_k`` per example, via ``cross_entropy``.

    ``logits``: ``(N, K)``.  ``target``: integer class labels ``(N,)`` or probabilities
    ``(N, K)``.  ``"mean"`` averages over the N examples.  Stable for any logits (log-sum-exp
    inside; the gradient is ``softmax(z) − y``, divided by N for ``"mean"``).
    """

    def targets(self, logits: Any, target: Any) -> Any:
        if isinstance(target, Tensor):
            return target
        target, shape = np.asarray(target), np.shape(_values(logits))
        if not np.issubdtype(target.dtype, np.integer):
            return target.astype(_float_dtype(logits), copy=False)
        if len(shape) >= 1 and target.shape == shape[:-1]:  # labels: the one-hot rows cross_entropy would make
            return one_hot(target, shape[-1], dtype=_float_dtype(logits))
        return target  # cross_entropy says what is wrong with it

    def __call__(self, logits: Any, target: Any) -> Any:
        return cross_entropy(logits, self.targets(logits, target), reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits ``z``: ``softplus(z) − y·z`` per entry.

    This equals ``−y log σ(z) − (1 − y) log(1 − σ(z))`` but never takes ``log(0)``: it stays
    finite, without warnings, for logits of any size (±1000 included); its gradient is
    ``σ(z) − y``.  ``target``: 0/1 (or soft) values of the logits' shape; integer labels of
    shape ``(N,)`` are accepted with logits of shape ``(N, 1)``.  ``"mean"`` averages over all
    entries (as PyTorch does), ``"sum"`` adds them, ``"none"`` returns them.
    """

    def targets(self, logits: Any, target: Any) -> Any:
        shape = np.shape(_values(logits))
        if not isinstance(target, Tensor):
            target = np.asarray(target)
            if target.ndim == 1 and shape == (target.shape[0], 1):
                target = target.reshape(shape)
        return _match_target(logits, target, "BCEWithLogitsLoss", labels=False)

    def __call__(self, logits: Any, target: Any) -> Any:
        losses = softplus(logits) - self.targets(logits, target) * logits  # stable: no log(0)
        if self.reduction == "none":
            return losses
        return sum_(losses) if self.reduction == "sum" else mean_(losses)


def _values(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _float_dtype(x: Any) -> np.dtype:
    dtype = np.asarray(_values(x)).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _match_target(prediction: Any, target: Any, owner: str, labels: bool) -> Any:
    """The target as an array of the prediction's dtype and shape (Tensors are kept as they are)."""
    shape = np.shape(_values(prediction))
    if isinstance(target, Tensor):
        got = target.shape
    else:
        target = np.asarray(target)
        dtype = _float_dtype(prediction)
        is_labels = labels and np.issubdtype(target.dtype, np.integer) and len(shape) >= 1
        if is_labels and target.shape == shape[:-1]:
            target = one_hot(target, shape[-1], dtype=dtype)
        else:
            target = target.astype(dtype, copy=False)
        got = target.shape
    if got != shape:
        hint = f" or integer class labels of shape {shape[:-1]}" if labels and len(shape) >= 1 else ""
        raise ValueError(f"{owner}: target of shape {got} does not match prediction of shape {shape}; "
                         f"give targets of shape {shape}{hint}")
    return target
