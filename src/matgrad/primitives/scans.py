"""Reductions and scans beyond sum, mean and max: prod, cumsum, cumprod, sort, var, std, norm."""

from __future__ import annotations

__all__: list[str] = []
