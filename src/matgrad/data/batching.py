"""Minibatches and one-hot targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..primitives.composites import one_hot as _one_hot


def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(X_batch, y_batch)`` pairs, shapes ``(b, ...)`` and ``(b, ...)``, ``b ≤ batch_size``.

    Every example appears exactly once; the last batch holds the remainder. With ``shuffle``
    the order is ``rng.permutation(n)``: pass one ``np.random.Generator`` for the whole run to
    get a new, reproducible order each epoch (an int seed repeats the same order on every call;
    ``None`` draws fresh entropy). The order is drawn when ``batches`` is called, and bad
    arguments raise ``ValueError`` then, not at the first ``next``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive integer, got {batch_size!r}")
    n = len(X)
    if len(y) != n:
        raise ValueError(f"batches: X has {n} rows but y has {len(y)}")
    order = np.random.default_rng(rng).permutation(n) if shuffle else None
    return _iterate(X, y, int(batch_size), order)


def _iterate(
    X: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Slices of ``X`` and ``y`` in ``order`` (views in file order when ``order`` is ``None``)."""
    for start in range(0, len(X), batch_size):
        if order is None:
            yield X[start : start + batch_size], y[start : start + batch_size]
        else:
            index = order[start : start + batch_size]
            yield X[index], y[index]


def one_hot(y: np.ndarray, classes: int, dtype: Any = np.float32) -> np.ndarray:
    """Labels ``(n,)`` in ``[0, classes)`` to rows of shape ``(n, classes)`` with a single 1."""
    return _one_hot(y, classes, dtype=dtype)
