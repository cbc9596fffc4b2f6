"""The 8×8 handwritten digits that ship inside the scikit-learn wheel (no download)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .dataset import Dataset


def load_digits(dtype: Any = np.float32) -> Dataset:
    """scikit-learn's digits: ``X`` of shape ``(1797, 64)`` in ``[0, 1]`` (pixel / 16), 10 classes.

    scikit-learn is an optional extra, imported here and nowhere else.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as error:
        raise ImportError(
            'the digits data ships with scikit-learn, which is not installed: pip install "matgrad[cli]"'
        ) from error
    pixels, labels = sklearn_load_digits(return_X_y=True)
    X = (np.asarray(pixels, dtype=np.float64) / 16.0).astype(dtype)
    return Dataset(X, np.asarray(labels, dtype=np.int64), "digits", 10, tuple(str(k) for k in range(10)))
