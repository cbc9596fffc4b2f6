"""Correlation and convolution in 1-D and 2-D.

The gradient of a convolution is a correlation with the flipped kernel.
"""

from __future__ import annotations

__all__: list[str] = []
