"""Linear algebra: matmul (every NumPy matmul shape) and transpose.

For ``C = A B`` the VJPs are two matrix products, ``Ḡ Bᵀ`` and ``Aᵀ Ḡ`` (in
differentials, ``g : dW h = g hᵀ : dW``); a vector operand turns one of them into an outer product, and
batch axes that were broadcast are summed back by :func:`unbroadcast`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .core import Primitive, register, summed
from .notation import custom, g, linear, structural, t
from .notation import x as inputs

x0, x1 = inputs[:2]


def _expand_last(g: Any) -> Any:
    return g.reshape(g.shape + (1,))


def _expand_second_last(g: Any) -> Any:
    return g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])


def _matmul_a_core(g: Any, out: Any, a: Any, b: Any) -> Any:
    """Ḡ Bᵀ (an outer product g bᵀ when b is a vector), before broadcast batch axes are summed back."""
    if a.ndim >= 2 and b.ndim >= 2:
        return g @ b.mT
    if b.ndim == 1:  # out = A b drops A's last axis: ∂ℓ/∂A = g bᵀ
        return _expand_last(g) * b
    # a is a vector: out = a B drops B's second-to-last axis, so ∂ℓ/∂a = B g
    if b.ndim == 2:
        return _rows_times(g, b.mT, a.shape)
    return (_expand_second_last(g) @ b.mT).reshape(g.shape[:-1] + a.shape)


def _matmul_b_core(g: Any, out: Any, a: Any, b: Any) -> Any:
    """Aᵀ Ḡ (an outer product a gᵀ when a is a vector), before broadcast batch axes are summed back."""
    if a.ndim >= 2 and b.ndim >= 2:
        return a.mT @ g
    if a.ndim == 1:  # out = a B drops B's second-to-last axis: ∂ℓ/∂B = a gᵀ
        if b.ndim == 1:  # a · b: g is one number per leading (batch) index
            return _expand_last(g) * a
        return _expand_last(a) * _expand_second_last(g)
    # b is a vector: out = A b drops A's last axis, so ∂ℓ/∂b = Aᵀ g
    if a.ndim == 2:
        return _rows_times(g, a, b.shape)
    return (a.mT @ _expand_last(g)).reshape(g.shape[:-1] + b.shape)


def _rows_times(g: Any, m: Any, shape: tuple[int, ...]) -> Any:
    """Every row gᵀ M of g (its last axis, for any leading axes) in one matrix product.

    ``Mᵀ g`` for a single vector; with cotangents stacked on leading axes (a Jacobian's rows,
    batched by ``reverse.batched_grad_of``) one GEMM, where ``M @ g[..., None]`` would be a
    loop of matrix-vector products over the stack.
    """
    if g.ndim == 1:  # one vector: the product itself (no reshapes for a compiled plan to replay)
        return g @ m
    return (g.reshape((-1, g.shape[-1])) @ m).reshape(g.shape[:-1] + shape)


matmul_vjp_a = summed(_matmul_a_core, 0)  # ∂ℓ/∂A = Ḡ Bᵀ
matmul_vjp_b = summed(_matmul_b_core, 1)  # ∂ℓ/∂B = Aᵀ Ḡ


def matmul_hint(values: Sequence[Any], params: dict) -> str:
    """Say which dimensions disagree and whether a transpose of either operand would fix it."""
    a_shape, b_shape = (np.shape(v) for v in values)
    if len(a_shape) == 0 or len(b_shape) == 0:
        return "matmul does not take scalars; use * for scaling"
    inner_a = a_shape[-1]
    inner_b = b_shape[-2] if len(b_shape) >= 2 else b_shape[0]
    if inner_a != inner_b:
        fixes = []
        if len(a_shape) >= 2 and a_shape[-2] == inner_b:
            fixes.append("a.T @ b")
        if len(b_shape) >= 2 and b_shape[-1] == inner_a:
            fixes.append("a @ b.T")
        if len(a_shape) >= 2 and len(b_shape) >= 2 and a_shape[-2] == b_shape[-1]:
            fixes.append("b @ a")
        fix = f"; {' or '.join(fixes)} would match" if fixes else "; no transpose of either fixes it"
        return (
            f"inner dimensions disagree: a {a_shape} has {inner_a} columns but b {b_shape} has "
            f"{inner_b} rows (a's last axis must equal b's second-to-last){fix}"
        )
    return f"batch dimensions {a_shape[:-2]} and {b_shape[:-2]} do not broadcast"


matmul = Primitive(
    "matmul",
    np.matmul,
    vjp=[matmul_vjp_a, matmul_vjp_b],
    jvp="linear",  # bilinear: dA B and A dB
    notation=custom(
        x0 @ x1,
        vjp=(g @ x1.T, x0.T @ g),
        jvp=(t @ x1, x0 @ t),
        index=(
            "Σ_ij [{g}]_ij ∂[{0}{1}]_ij/∂[{0}]_kl = Σ_ij [{g}]_ij δ_ik [{1}]_lj = Σ_j [{g}]_kj [{1}]_lj",
            "Σ_ij [{g}]_ij ∂[{0}{1}]_ij/∂[{1}]_kl = Σ_ij [{g}]_ij [{0}]_ik δ_jl = Σ_i [{0}]_ik [{g}]_il",
        ),
        product=("matrix", "matrix"),
        why=(
            "a matrix product is linear in each factor; moving the other factor across the "
            "Frobenius product (A : BC = BᵀA : C = ACᵀ : B) transposes it. With a single column "
            "or row, the product is an outer product; over a batch, a sum of outer products"
        ),
    ),
    error_hint=matmul_hint,
)


def _inverse_axes(axes: Any, ndim: int) -> Any:
    """The permutation that undoes ``axes`` (negative axes counted from the end, as NumPy does)."""
    return None if axes is None else tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


transpose = Primitive(
    "transpose",
    lambda x, axes=None: np.transpose(x, axes),
    vjp=[lambda g, out, x, axes=None: transpose(g, axes=_inverse_axes(axes, x.ndim))],
    jvp="linear",
    notation=linear(
        structural("transpose", x0, "{0}ᵀ", r"{0}^{\top}", lambda v, c: np.transpose(v, c["params"].get("axes"))),
        vjp=structural(
            "transpose_back",
            g,
            "{0}ᵀ",
            r"{0}^{\top}",
            lambda v, c: np.transpose(v, _inverse_axes(c["params"].get("axes"), np.ndim(v))),
        ),
        index="Σ_ij [{g}]_ij ∂[{0}]_ji/∂[{0}]_kl = Σ_ij [{g}]_ij δ_jk δ_il = [{g}]_lk",
        product="transpose",
        why="transposing permutes entries, so the gradient is permuted back: A : Bᵀ = Aᵀ : B",
    ),
)

register(matmul, transpose)
