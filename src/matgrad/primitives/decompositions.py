"""Linear algebra with factorizations: inv, pinv, det, slogdet, logdet, solve, cholesky, eigh, svd, matrix_power."""

from __future__ import annotations

__all__: list[str] = []
