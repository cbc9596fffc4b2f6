"""Random generators for layers: one ``np.random.Generator`` per owner, seedable."""

from __future__ import annotations

import numpy as np

RNG = np.random.Generator | int | None


def as_generator(rng: RNG, owner: str) -> np.random.Generator:
    """``rng`` itself if it is a Generator, a Generator seeded with it if it is an int, else a fresh one.

    A Generator is used, not copied: layers built from one Generator draw one after another, so
    a network built from a seeded Generator is deterministic.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{owner}: rng must be an np.random.Generator, an int seed or None, got {type(rng).__name__}")
