"""Synthetic 2-D classification sets made in code: moons, circles, spirals, xor.

Each takes ``n`` (total examples), ``noise`` (standard deviation of Gaussian noise added to
each coordinate), ``seed`` (for ``np.random.default_rng``) and ``dtype``, and returns a
``Dataset`` with ``X`` of shape ``(n, 2)``. Classes are balanced (sizes differ by at most one)
and rows are shuffled, so any prefix mixes the classes. The same seed gives the same set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dataset import Dataset


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0, dtype: Any = np.float32) -> Dataset:
    """Two interleaving half circles: class 0 the upper arc, class 1 the lower, shifted one."""
    rng = _rng(n, 2, noise, seed)
    upper, lower = _class_sizes(n, 2)
    t0, t1 = rng.uniform(0.0, np.pi, upper), rng.uniform(0.0, np.pi, lower)
    arcs = [_polar(1.0, t0), _polar(1.0, t1) * [-1.0, -1.0] + [1.0, 0.5]]
    return _assemble("moons", arcs, noise, rng, dtype)


def make_circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0, dtype: Any = np.float32
) -> Dataset:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (0 < factor < 1)."""
    if not 0.0 < factor < 1.0:
        raise ValueError(f"circles: factor must lie in (0, 1), got {factor}")
    rng = _rng(n, 2, noise, seed)
    outer, inner = _class_sizes(n, 2)
    rings = [_polar(1.0, rng.uniform(0, 2 * np.pi, outer)), _polar(factor, rng.uniform(0, 2 * np.pi, inner))]
    return _assemble("circles", rings, noise, rng, dtype)


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.05, seed: int = 0, dtype: Any = np.float32
) -> Dataset:
    """``classes`` arms winding out from the origin, arm ``k`` turned by ``2πk / classes``."""
    rng = _rng(n, classes, noise, seed)
    arms = []
    for k, size in enumerate(_class_sizes(n, classes)):
        radius = rng.uniform(0.05, 1.0, size)
        arms.append(_polar(radius, 2 * np.pi * k / classes + 1.75 * np.pi * radius))
    return _assemble("spirals", arms, noise, rng, dtype)


def make_xor(n: int = 200, noise: float = 0.1, seed: int = 0, dtype: Any = np.float32) -> Dataset:
    """Points in the square ``[-1, 1]²``: class 0 where ``x₀ x₁ > 0``, class 1 where ``x₀ x₁ < 0``."""
    rng = _rng(n, 2, noise, seed)
    parts = []
    for sign_of_product, size in zip((1.0, -1.0), _class_sizes(n, 2)):
        corner = rng.uniform(0.0, 1.0, (size, 2)) * [1.0, sign_of_product]
        parts.append(corner * rng.choice([-1.0, 1.0], (size, 1)))  # mirror half into the opposite quadrant
    return _assemble("xor", parts, noise, rng, dtype)


def _rng(n: int, classes: int, noise: float, seed: int) -> np.random.Generator:
    """Check the shared arguments and make the generator."""
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"classes must be an integer of at least 2, got {classes!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < classes:
        raise ValueError(f"n must be an integer of at least {classes} (one example per class), got {n!r}")
    if not noise >= 0.0:
        raise ValueError(f"noise must be a non-negative standard deviation, got {noise}")
    return np.random.default_rng(seed)


def _class_sizes(n: int, classes: int) -> list[int]:
    """``n`` split into ``classes`` sizes that differ by at most one."""
    return [n // classes + (k < n % classes) for k in range(classes)]


def _polar(radius: float | np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points ``radius · (cos angle, sin angle)``, shape ``(len(angle), 2)``."""
    return np.stack([np.cos(angle), np.sin(angle)], axis=1) * np.reshape(radius, (-1, 1))


def _assemble(name: str, parts: list[np.ndarray], noise: float, rng: np.random.Generator, dtype: Any) -> Dataset:
    """Class ``k``'s points are ``parts[k]`` (shape ``(n_k, 2)``): add noise, label, shuffle."""
    X = np.concatenate(parts)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.full(len(part), k, dtype=np.int64) for k, part in enumerate(parts)])
    order = rng.permutation(len(y))
    return Dataset(X[order].astype(dtype), y[order], name, len(parts))
