"""``Dataset``: a feature matrix and its integer class labels, checked once when made."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .limits import DataError


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A labelled classification set.

    ``X``: features, shape ``(n, d)``, a floating dtype.
    ``y``: class labels, shape ``(n,)``, stored as ``int64``, each in ``[0, classes)``.
    ``name``: what error messages, the CLI and checkpoints call it.
    ``classes``: the number of classes (a model's output width), at least 1.
    ``label_names``: optional names of the classes, ``label_names[k]`` for label ``k``.
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    classes: int
    label_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        X, y = np.asarray(self.X), np.asarray(self.y)
        problem = _problem(X, y, self.classes, self.label_names)
        if problem:
            raise DataError(f"dataset {self.name!r}: {problem}")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y.astype(np.int64, copy=False))
        if self.label_names is not None:
            object.__setattr__(self, "label_names", tuple(str(s) for s in self.label_names))

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __repr__(self) -> str:
        n, d = self.X.shape
        return f"Dataset(name={self.name!r}, n={n}, features={d}, classes={self.classes}, dtype={self.X.dtype})"

    @property
    def features(self) -> int:
        """``d``, the number of columns of ``X``."""
        return int(self.X.shape[1])

    def subset(self, indices: np.ndarray | list[int] | slice, name: str | None = None) -> Dataset:
        """The examples at ``indices`` (integer indices, a boolean mask of shape ``(n,)`` or a slice)."""
        if not isinstance(indices, slice):
            indices = np.asarray(indices)
            if indices.dtype != bool:
                indices = indices.astype(np.intp, copy=False)
        return Dataset(self.X[indices], self.y[indices], name or self.name, self.classes, self.label_names)


def _problem(X: np.ndarray, y: np.ndarray, classes: int, label_names: tuple[str, ...] | None) -> str:
    """The first thing wrong with these fields, or ``""``."""
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 1:
        return f"classes must be a positive integer, got {classes!r}"
    if X.ndim != 2:
        return f"X must be 2-D (n, d), got shape {X.shape}"
    if not np.issubdtype(X.dtype, np.floating):
        return f"X must hold floats, got dtype {X.dtype} (convert with X.astype(np.float32))"
    if y.ndim != 1:
        return f"y must be 1-D (n,), got shape {y.shape}"
    if y.shape[0] != X.shape[0]:
        return f"X has {X.shape[0]} rows but y has {y.shape[0]} labels"
    if not np.issubdtype(y.dtype, np.integer):
        return f"y must hold integer class labels, got dtype {y.dtype}"
    if y.size and (y.min() < 0 or y.max() >= classes):
        return f"labels must lie in [0, {classes}), found values from {y.min()} to {y.max()}"
    if label_names is not None and len(label_names) != classes:
        return f"label_names has {len(label_names)} names for {classes} classes"
    return ""
