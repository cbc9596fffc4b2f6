"""Shape and construction: ravel, repeat, tile, roll, flip, rot90, pad, moveaxis, split,
stacking helpers, atleast_*d.
"""

from __future__ import annotations

__all__: list[str] = []
