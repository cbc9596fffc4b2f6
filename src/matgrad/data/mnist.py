"""MNIST (and look-alikes such as Fashion-MNIST) from IDX files in a directory the user provides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .idx import PathLike, load_idx
from .limits import MAX_CLASSES, MAX_DATA_BYTES, DataError, check_classes

FILES = {
    "train images": "train-images-idx3-ubyte",
    "train labels": "train-labels-idx1-ubyte",
    "test images": "t10k-images-idx3-ubyte",
    "test labels": "t10k-labels-idx1-ubyte",
}


def load_mnist(
    directory: PathLike, dtype: Any = np.float32, max_bytes: int = MAX_DATA_BYTES, max_classes: int = MAX_CLASSES
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` from the four standard IDX files in ``directory`` (raw or ``.gz``).

    Images of shape ``(n, rows, cols)``, uint8, become ``X`` of shape ``(n, rows·cols)`` in
    ``[0, 1]`` (pixel / 255); ``classes`` is one more than the largest label in either part
    (10 for MNIST). The files' own train/test split is kept. ``max_bytes`` bounds each file and
    ``max_classes`` the labels (see ``matgrad.data.limits``).
    """
    directory = Path(directory)
    paths = {part: find_file(directory, stem) for part, stem in FILES.items()}
    arrays = {part: load_idx(path, max_bytes) for part, path in paths.items()}
    for part in ("train", "test"):
        labels = arrays[f"{part} labels"]
        if labels.size:
            check_classes(paths[f"{part} labels"], "MNIST labels", int(labels.max()), max_classes)
    classes = 1 + max(int(arrays[f"{part} labels"].max(initial=0)) for part in ("train", "test"))
    train, test = (_dataset(arrays[f"{part} images"], arrays[f"{part} labels"], part, classes, dtype)
                   for part in ("train", "test"))
    return train, test


def find_file(directory: Path, stem: str) -> Path:
    """The first of ``stem``, ``stem.gz`` and their dotted spellings (``train-images.idx3-ubyte``) that exists."""
    dotted = stem.replace("-idx", ".idx")
    candidates = [stem, stem + ".gz", dotted, dotted + ".gz"]
    for name in candidates:
        if (directory / name).is_file():
            return directory / name
    where = f"directory {directory}" if directory.is_dir() else f"directory {directory} (which does not exist)"
    raise FileNotFoundError(f"MNIST file {stem} not found in {where}; looked for: {', '.join(candidates)}")


def _dataset(images: np.ndarray, labels: np.ndarray, part: str, classes: int, dtype: Any) -> Dataset:
    """Check one part's images ``(n, rows, cols)`` against its labels ``(n,)`` and flatten them."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"MNIST {part} images must be uint8 of shape (n, rows, cols), got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"MNIST {part} labels must be integers of shape (n,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"MNIST {part}: {len(images)} images but {len(labels)} labels")
    X = images.reshape(len(images), -1).astype(dtype)
    X /= 255
    return Dataset(X, labels.astype(np.int64), "mnist", classes)
