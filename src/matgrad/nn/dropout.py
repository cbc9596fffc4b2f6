"""Dropout: inverted dropout, active in training mode only."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from ._random import RNG, as_generator
from .module import Module


class Dropout(Module):
    """Zero each entry with probability ``p`` and scale the survivors by 1 / (1 − p).

    The scaling keeps the expectation: E[dropout(x)] = x, so nothing changes at evaluation,
    where the module is the identity (``eval()``; also when ``p == 0``).  The mask is a
    constant: the gradient flows through the kept entries (times 1 / (1 − p)) and is 0 at the
    dropped ones, by the engine's ``mul`` rule.  Any shape in, the same shape out.

    Args:
        p: the probability of dropping an entry, in [0, 1).
        rng: this module's own ``np.random.Generator``, an int seed, or ``None`` (fresh).
    """

    def __init__(self, p: float = 0.5, rng: RNG = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)
        self.seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
        self.rng = as_generator(rng, "Dropout")

    def forward(self, x: Any) -> Any:
        if not self.training or self.p == 0.0:
            return x
        values = x.data if isinstance(x, Tensor) else np.asarray(x)
        dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
        keep = self.rng.random(values.shape) >= self.p
        mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.p))
        return x * mask

    def config(self) -> dict[str, Any]:
        """``{"type": "Dropout", "p": p, "rng": seed}``: an int seed is kept; a Generator is not."""
        return {"type": "Dropout", "p": self.p, "rng": self.seed}

    def extra_repr(self) -> str:
        return f"p={self.p}"
