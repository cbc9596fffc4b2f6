"""Elementwise functions of NumPy's surface: trigonometric, hyperbolic, logarithms and
exponentials of other bases, and the zero-derivative family (sign, floor, ceil, round).
"""

from __future__ import annotations

__all__: list[str] = []
