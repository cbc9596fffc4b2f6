"""Products beyond matmul: dot, vdot, inner, outer, tensordot, einsum, kron, cross."""

from __future__ import annotations

__all__: list[str] = []
