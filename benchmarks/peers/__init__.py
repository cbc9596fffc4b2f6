"""One module per framework; each is imported only in that framework's worker process.

A peer module gives ``build(spec) -> Impl`` (raising ``NotApplicableError`` for a workload it cannot
express) and ``describe() -> dict`` (its version, BLAS and thread settings, as strings).
``numpy_hand`` is the reference: the δ equations (and their Jacobian, Hessian and
per-example forms) written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..workload import Impl, NotApplicableError, Spec

Builder = Callable[[Spec], Impl]


def dispatch(spec: Spec, builders: dict[str, Builder], framework: str) -> Impl:
    """``builders[spec.kind](spec)``, or :class:`NotApplicableError` naming what is missing."""
    builder = builders.get(spec.kind)
    if builder is None:
        raise NotApplicableError(f"{framework} has no {spec.kind} workload")
    return builder(spec)


def blas_pools() -> str:
    """The BLAS and OpenMP pools loaded in this process, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    pools: list[dict[str, Any]] = threadpool_info()
    if not pools:
        return "none found by threadpoolctl"
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version') or ''} "
        f"({', '.join(str(p[k]) for k in ('architecture', 'threading_layer') if p.get(k))}) "
        f"{p.get('num_threads')} threads".replace("  ", " ").replace(" () ", " ")
        for p in pools
    )
