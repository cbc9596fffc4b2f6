"""``train_test_split``: a deterministic, by default stratified, split of a ``Dataset``."""

from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .limits import DataError


def train_test_split(
    dataset: Dataset, test_size: float | int = 0.2, seed: int = 0, stratify: bool = True
) -> tuple[Dataset, Dataset]:
    """``(train, test)``; ``test_size`` is a fraction in ``(0, 1)`` or a number of examples.

    Stratified: each class is split in the same proportion (counts allotted by largest
    remainder so the total is ``test_size``), and a class with at least two examples keeps at
    least one in each part, which may move the total by a few. Both parts are shuffled with
    ``np.random.default_rng(seed)``; the same seed gives the same split.
    """
    n = len(dataset)
    n_test = _test_count(dataset.name, n, test_size)
    rng = np.random.default_rng(seed)
    if stratify:
        test_mask = _stratified_mask(dataset.y, dataset.classes, n_test, rng)
    else:
        test_mask = np.zeros(n, dtype=bool)
        test_mask[rng.permutation(n)[:n_test]] = True
    train_index, test_index = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    if not train_index.size or not test_index.size:
        raise DataError(f"train_test_split({dataset.name!r}): no class has two examples to put one in each part")
    return dataset.subset(rng.permutation(train_index)), dataset.subset(rng.permutation(test_index))


def _test_count(name: str, n: int, test_size: float | int) -> int:
    """The requested number of test examples, in ``[1, n - 1]``."""
    if isinstance(test_size, bool):
        raise DataError(f"train_test_split({name!r}): test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        count = int(test_size)
    elif 0.0 < test_size < 1.0:
        count = round(n * test_size)
    else:
        raise DataError(f"train_test_split({name!r}): a fractional test_size must lie in (0, 1), got {test_size}")
    if not 1 <= count <= n - 1:
        raise DataError(
            f"train_test_split({name!r}): test_size={test_size} gives {count} test examples of {n}; "
            "each part needs at least one"
        )
    return count


def _stratified_mask(y: np.ndarray, classes: int, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of shape ``(n,)`` choosing each class's share of ``n_test`` at random."""
    counts = np.bincount(y, minlength=classes)
    exact = counts * (n_test / len(y))
    share = np.floor(exact).astype(np.int64)
    leftover = n_test - int(share.sum())
    share[np.argsort(-(exact - share), kind="stable")[:leftover]] += 1  # largest remainders first
    share = np.where(counts >= 2, np.clip(share, 1, counts - 1), 0)
    mask = np.zeros(len(y), dtype=bool)
    for k in range(classes):
        members = np.flatnonzero(y == k)
        mask[rng.permutation(members)[: share[k]]] = True
    return mask
