"""Weight initializers: each is ``(shape, rng, dtype) -> np.ndarray``.

Shapes follow :class:`~matgrad.nn.Linear`'s row layout ``(in_features, out_features)``:
``fan_in = shape[0]`` and ``fan_out = shape[1]`` (for a 1-D shape both are ``shape[0]``).
Values are drawn in float64 and then cast, so one seed gives the same numbers (up to rounding)
in float32 and float64.

- ``glorot_uniform``: U(−a, a), a = √(6 / (fan_in + fan_out)); variance 2 / (fan_in + fan_out)
- ``glorot_normal``: N(0, 2 / (fan_in + fan_out))
- ``he_normal``: N(0, 2 / fan_in), for ReLU layers
- ``he_uniform``: U(−a, a), a = √(6 / fan_in); variance 2 / fan_in
- ``nielsen``: N(0, 1 / fan_in), the weights of Nielsen's book (its biases are N(0, 1))
- ``normal(std)``: N(0, std²) (a factory: ``normal(0.1)`` is the initializer)
- ``zeros``: 0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Initializer = Callable[[tuple[int, ...], np.random.Generator, Any], np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], int(np.prod(shape[1:]))


def _normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any, std: float) -> np.ndarray:
    return (std * rng.standard_normal(shape)).astype(dtype)


def _uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any, bound: float) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
    """Glorot & Bengio (2010): U(−a, a) with a = √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return _uniform(shape, rng, dtype, np.sqrt(6.0 / (fan_in + fan_out)))


def glorot_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
    """Glorot & Bengio (2010): N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return _normal(shape, rng, dtype, np.sqrt(2.0 / (fan_in + fan_out)))


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
    """He et al. (2015), for ReLU layers: N(0, 2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return _normal(shape, rng, dtype, np.sqrt(2.0 / fan_in))


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
    """He et al. (2015), uniform form: U(−a, a) with a = √(6 / fan_in)."""
    fan_in, _ = _fans(shape)
    return _uniform(shape, rng, dtype, np.sqrt(6.0 / fan_in))


def nielsen(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
    """N(0, 1 / fan_in): the improved weight initialisation of Nielsen's book, chapter 3."""
    fan_in, _ = _fans(shape)
    return _normal(shape, rng, dtype, np.sqrt(1.0 / fan_in))


def normal(std: float) -> Initializer:
    """An initializer drawing from N(0, std²)."""
    if not std >= 0:
        raise ValueError(f"init.normal: std must be >= 0, got {std}")

    def init(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
        return _normal(shape, rng, dtype, std)

    return init


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None, dtype: Any = np.float32) -> np.ndarray:
    """All zeros (``rng`` is ignored)."""
    return np.zeros(shape, dtype=dtype)


#: The names :class:`~matgrad.nn.Linear` accepts for ``init``; "glorot" and "he" are short names.
BY_NAME: dict[str, Initializer] = {
    "glorot": glorot_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "nielsen": nielsen,
    "zeros": zeros,
}


def get(name: str) -> Initializer:
    """The initializer called ``name``; a ``ValueError`` lists the valid names otherwise."""
    if name not in BY_NAME:
        raise ValueError(f"unknown init {name!r}; valid names: {', '.join(sorted(BY_NAME))}")
    return BY_NAME[name]
