"""Matrix structure: trace, diagonal, diag, tril, triu, and the identity as a constant."""

from __future__ import annotations

__all__: list[str] = []
