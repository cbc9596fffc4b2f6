"""``Standardizer``: per-feature zero mean and unit variance, with state a checkpoint can carry."""

from __future__ import annotations

import numpy as np


class Standardizer:
    """``transform(X) = (X - mean) / std`` per column; ``mean`` and ``std`` have shape ``(d,)``.

    A constant feature gets ``std = 1``, so it maps to 0 instead of dividing by zero.
    Statistics are computed and kept in float64; outputs keep the input's float dtype.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn ``mean`` and ``std`` from ``X`` of shape ``(n, d)``, ``n ≥ 1``; returns ``self``."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"Standardizer.fit: X must be 2-D (n, d) with n ≥ 1, got shape {X.shape}")
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        std[(np.ptp(X, axis=0) == 0) | (std == 0)] = 1.0
        self.mean, self.std = mean, std
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean) / std``, shape ``(n, d)``."""
        X = self._check(X, "transform")
        return ((X - self.mean) / self.std).astype(_float_dtype(X), copy=False)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """``Z * std + mean``, shape ``(n, d)``: the features ``transform`` started from."""
        Z = self._check(Z, "inverse_transform")
        return (Z * self.std + self.mean).astype(_float_dtype(Z), copy=False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"mean": (d,), "std": (d,)}``, copies."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.state_dict: call fit first")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> Standardizer:
        """Restore from ``state_dict()`` output; returns ``self``."""
        missing = {"mean", "std"} - set(state)
        if missing:
            raise ValueError(f"Standardizer.load_state_dict: missing {', '.join(sorted(missing))}")
        mean = np.array(state["mean"], dtype=np.float64)
        std = np.array(state["std"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"Standardizer.load_state_dict: mean {mean.shape} and std {std.shape} must be equal 1-D")
        if np.any(std <= 0) or not np.all(np.isfinite(std)):
            raise ValueError("Standardizer.load_state_dict: std must be positive and finite")
        self.mean, self.std = mean, std
        return self

    def _check(self, X: np.ndarray, method: str) -> np.ndarray:
        if self.mean is None:
            raise RuntimeError(f"Standardizer.{method}: call fit first")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(f"Standardizer.{method}: expected shape (n, {self.mean.shape[0]}), got {X.shape}")
        return X


def _float_dtype(X: np.ndarray) -> np.dtype:
    """``X``'s dtype if it is a float, else float64."""
    return X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)
