"""Checking derivatives against numbers: finite differences and the dot-product test.

``gradcheck`` compares the Jacobian of ``f`` from reverse mode (``jacrev``) and from forward
mode (``jacfwd``) with central differences in float64; ``order=2`` also checks the derivatives
of the VJP and the JVP themselves (second order, both modes).  ``dot_product_test`` checks
``⟨u, J v⟩ = ⟨Jᵀ u, v⟩``: that a VJP and a JVP describe the same linear map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tensor import Tensor
from .transforms import jacfwd, jacrev, jvp, vjp


class GradcheckError(AssertionError):
    """An analytic derivative disagrees with finite differences; the report says where."""

    def __init__(self, report: GradcheckReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass
class InputCheck:
    """How the derivative with respect to one input compares with central differences."""

    name: str
    mode: str
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float
    ok: bool

    def __str__(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return (
            f"{mark} {self.name:<10} {self.mode:<8} max abs {self.max_abs_error:.2e}  "
            f"max rel {self.max_rel_error:.2e}  worst J{list(self.worst_index)}: "
            f"analytic {self.analytic:.6g} vs numeric {self.numeric:.6g}"
        )


@dataclass
class GradcheckReport:
    checks: list[InputCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def __str__(self) -> str:
        verdict = "gradcheck passed" if self.ok else "gradcheck FAILED"
        return "\n".join([verdict, *map(str, self.checks)])


def numeric_jacobian(f: Callable, args: Sequence[np.ndarray], argnum: int, eps: float) -> np.ndarray:
    """∂f/∂args[argnum] by central differences, shaped ``out.shape + in.shape``."""
    x = args[argnum]
    columns = []
    for k in range(x.size):
        shifted = [a.copy() for a in args]
        shifted[argnum].flat[k] = x.flat[k] + eps
        plus = _evaluate(f, shifted)
        shifted[argnum].flat[k] = x.flat[k] - eps
        minus = _evaluate(f, shifted)
        columns.append((plus - minus) / (2 * eps))
    out_shape = _evaluate(f, list(args)).shape
    if not columns:
        return np.zeros(out_shape + x.shape)
    return np.stack(columns, axis=-1).reshape(out_shape + x.shape)


def gradcheck(
    f: Callable,
    args: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    modes: Sequence[str] = ("rev", "fwd"),
    order: int = 1,
    names: Sequence[str] | None = None,
    raise_exception: bool = True,
    seed: int = 0,
) -> GradcheckReport:
    """Check ``f``'s derivatives with respect to every floating-point argument.

    Arguments are copied to float64.  ``order=2`` adds checks of ``x ↦ uᵀJ(x)`` (reverse over
    reverse/forward) and ``x ↦ J(x)v`` (forward over forward/reverse) for random ``u``, ``v``.
    Raises :class:`GradcheckError` naming the input and its worst element when a check fails.
    """
    values = [np.array(a.data if isinstance(a, Tensor) else a, dtype=np.float64) for a in args]
    labels = list(names) if names is not None else [f"input {i}" for i in range(len(values))]
    report = GradcheckReport()
    for mode in modes:
        transform = {"rev": jacrev, "fwd": jacfwd}[mode]
        for i in range(len(values)):
            analytic = np.asarray(transform(f, argnums=i)(*values))
            numeric = numeric_jacobian(f, values, i, eps)
            report.checks.append(_compare(labels[i], mode, analytic, numeric, atol, rtol))
    if order >= 2:
        rng = np.random.default_rng(seed)
        out = _evaluate(f, values)
        u = rng.standard_normal(out.shape)
        tangents = [rng.standard_normal(v.shape) for v in values]

        def vjp_of_f(*xs: Any) -> Any:
            return _concat_flat(vjp(f, *xs)[1](u))

        def jvp_of_f(*xs: Any) -> Any:
            return jvp(f, xs, tangents)[1]

        for derived, label in ((vjp_of_f, "uᵀJ"), (jvp_of_f, "Jv")):
            inner = gradcheck(
                derived, values, eps=eps, atol=atol, rtol=rtol, modes=modes, order=order - 1,
                names=[f"{n} ({label})" for n in labels], raise_exception=False, seed=seed + 1,
            )
            report.checks.extend(inner.checks)
    if raise_exception and not report.ok:
        raise GradcheckError(report)
    return report


def dot_product_test(
    f: Callable, args: Sequence[Any], *, seed: int = 0, rtol: float = 1e-10, atol: float = 1e-12
) -> tuple[float, float]:
    """Check ``⟨u, J v⟩ = ⟨Jᵀ u, v⟩`` for random ``u`` and ``v``; return both sides."""
    rng = np.random.default_rng(seed)
    values = [np.array(a.data if isinstance(a, Tensor) else a, dtype=np.float64) for a in args]
    v = [rng.standard_normal(x.shape) for x in values]
    out, jv = jvp(f, values, v)
    u = rng.standard_normal(np.shape(out))
    _, f_vjp = vjp(f, *values)
    jt_u = f_vjp(u)
    lhs = float(np.sum(u * np.asarray(jv)))
    rhs = float(sum(np.sum(np.asarray(a) * b) for a, b in zip(jt_u, v)))
    if not np.isclose(lhs, rhs, rtol=rtol, atol=atol):
        raise AssertionError(f"dot-product test failed: ⟨u, J v⟩ = {lhs!r} but ⟨Jᵀu, v⟩ = {rhs!r}")
    return lhs, rhs


def _evaluate(f: Callable, args: Sequence[np.ndarray]) -> np.ndarray:
    out = f(*args)
    return np.array(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def _concat_flat(parts: Sequence[Any]) -> Any:
    from .primitives import concatenate, reshape

    return concatenate([reshape(p, shape=(-1,)) for p in parts])


def _compare(name: str, mode: str, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> InputCheck:
    if analytic.shape != numeric.shape:
        raise ValueError(f"gradcheck: {name}: analytic Jacobian {analytic.shape} vs numeric {numeric.shape}")
    error = np.abs(analytic - numeric)
    if error.size == 0:
        return InputCheck(name, mode, 0.0, 0.0, (), 0.0, 0.0, True)
    excess = error - (atol + rtol * np.abs(numeric))
    worst = np.unravel_index(int(np.argmax(excess)), error.shape)
    scale = np.maximum(np.abs(numeric), np.finfo(np.float64).tiny)
    ok = bool(np.all(excess <= 0))  # NaN compares False: a NaN anywhere fails
    return InputCheck(
        name, mode, float(error.max()), float((error / scale).max()),
        tuple(int(i) for i in worst), float(analytic[worst]), float(numeric[worst]), ok,
    )
