"""Specs of the factorization rows (inv, det, slogdet, solve, cholesky, eigh, svd, pinv).

The makers keep away from the edges: invertible matrices far from singular, SPD matrices for
cholesky, well-separated eigenvalues and singular values (so that eigenvectors are smooth).
"""

from __future__ import annotations

import numpy as np

import matgrad as mg
import matgrad.linalg  # mg.linalg, until matgrad/__init__ imports it

from . import Spec, normal


def invertible(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Square matrices well away from singular: a random matrix plus n·I."""
    n = shape[-1]
    return r.standard_normal(shape) * 0.5 + n * np.eye(n)


def orthogonal(r: np.random.Generator, *shape: int) -> np.ndarray:
    q, upper = np.linalg.qr(r.standard_normal(shape))
    return q * np.sign(np.diagonal(upper, 0, -2, -1))[..., None, :]


def spd(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Symmetric positive definite: B Bᵀ + n I."""
    b = r.standard_normal(shape)
    return b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])


def separated_symmetric(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Symmetric, eigenvalues about 1.5 apart: Q diag(w) Qᵀ."""
    n = shape[-1]
    w = 1.5 * np.arange(n) - 1.0 + r.uniform(-0.2, 0.2, shape[:-1])
    q = orthogonal(r, *shape)
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def lower_read(r: np.random.Generator, *shape: int) -> np.ndarray:
    """A symmetric lower triangle with noise above: only the triangle below counts."""
    a = separated_symmetric(r, *shape)
    return a + np.triu(r.standard_normal(shape), 1)


def separated_singular(r: np.random.Generator, *shape: int) -> np.ndarray:
    """m×n matrices with singular values about 1 apart, the smallest about 1: U diag(s) Vᵀ."""
    m, n = shape[-2:]
    k = min(m, n)
    s = np.arange(k, 0, -1) + r.uniform(-0.2, 0.2, shape[:-2] + (k,))
    u = orthogonal(r, *shape[:-2], m, m)[..., :k]
    v = orthogonal(r, *shape[:-2], n, n)[..., :k]
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _gauge_free_eigh(a, UPLO="L"):
    """V diag(w) Vᵀ-like and |v|²: functions of the eigendecomposition blind to each column's sign."""
    w, v = mg.linalg.eigh(a, UPLO=UPLO)
    return mg.concatenate([mg.reshape((v * w[..., None, :]) @ v.mT, shape=(-1,)), mg.reshape(v * v, shape=(-1,))])


def _gauge_free_svd(a):
    u, s, vh = mg.linalg.svd(a, full_matrices=False)
    return mg.concatenate([mg.reshape(u @ vh, shape=(-1,)), s, mg.reshape(u * u, shape=(-1,))])


S = Spec
SPECS: list[Spec] = [
    # inverse and determinants
    S("inv", "inv", lambda r: (invertible(r, 3, 3),)),
    S("inv-batched", "inv", lambda r: (invertible(r, 2, 2, 2),)),
    S("inv-empty-batch", "inv", lambda r: (invertible(r, 0, 2, 2),)),
    S("det", "det", lambda r: (invertible(r, 3, 3),)),
    S("det-batched", "det", lambda r: (invertible(r, 2, 2, 2),)),
    S("slogdet", "slogdet", lambda r: (invertible(r, 3, 3) * np.array([[-1], [1], [1]]),)),
    S("slogdet-batched", "slogdet", lambda r: (invertible(r, 2, 2, 2),)),
    S("slogdet-logabsdet", "slogdet", lambda r: (-invertible(r, 3, 3),), via=lambda a: mg.linalg.slogdet(a)[1]),
    S("logdet", "slogdet", lambda r: (spd(r, 2, 3, 3),), via=mg.logdet),
    # solve: b a vector or matrices (NumPy 2), batches broadcast
    S("solve-vector", "solve", lambda r: (invertible(r, 3, 3), normal(r, 3))),
    S("solve-matrix", "solve", lambda r: (invertible(r, 3, 3), normal(r, 3, 2))),
    S("solve-batched-a-vector-b", "solve", lambda r: (invertible(r, 2, 3, 3), normal(r, 3))),
    S("solve-broadcast-a", "solve", lambda r: (invertible(r, 2, 2), normal(r, 2, 2, 3))),
    # cholesky: the lower triangle is read (the upper one with upper=True)
    S("cholesky", "cholesky", lambda r: (spd(r, 3, 3),), {"upper": False}),
    S("cholesky-batched", "cholesky", lambda r: (spd(r, 2, 2, 2),), {"upper": False}),
    S("cholesky-upper", "cholesky", lambda r: (spd(r, 3, 3),), {"upper": True}),
    S(
        "cholesky-reads-lower",
        "cholesky",
        lambda r: (spd(r, 3, 3) + np.triu(normal(r, 3, 3), 1),),
        {"upper": False},
        via=lambda a, upper: mg.linalg.cholesky(a, upper=upper),
    ),
    # eigh: packed (w; V)
    S("eigh", "eigh", lambda r: (separated_symmetric(r, 3, 3),), {"UPLO": "L"}),
    S("eigh-reads-lower", "eigh", lambda r: (lower_read(r, 3, 3),), {"UPLO": "L"}),
    S("eigh-upper", "eigh", lambda r: (np.swapaxes(lower_read(r, 3, 3), -1, -2),), {"UPLO": "U"}),
    S("eigh-batched", "eigh", lambda r: (separated_symmetric(r, 2, 2, 2),), {"UPLO": "L"}),
    S("eigh-gauge-free", "eigh", lambda r: (lower_read(r, 3, 3),), {"UPLO": "L"}, via=_gauge_free_eigh),
    S("eigvalsh", "eigh", lambda r: (lower_read(r, 2, 3, 3),), {"UPLO": "U"}, via=mg.linalg.eigvalsh),
    # svd: packed (U; s; V), reduced
    S("svd-square", "svd", lambda r: (separated_singular(r, 3, 3),)),
    S("svd-tall", "svd", lambda r: (separated_singular(r, 4, 2),)),
    S("svd-wide", "svd", lambda r: (separated_singular(r, 2, 3),)),
    S("svd-batched", "svd", lambda r: (separated_singular(r, 2, 3, 2),)),
    S("svd-gauge-free", "svd", lambda r: (separated_singular(r, 3, 2),), via=_gauge_free_svd),
    S("svdvals", "svd", lambda r: (separated_singular(r, 2, 4),), via=lambda a: mg.linalg.svd(a, compute_uv=False)),
    # pinv
    S("pinv-tall", "pinv", lambda r: (separated_singular(r, 3, 2),)),
    S("pinv-wide-batched", "pinv", lambda r: (separated_singular(r, 2, 2, 3),)),
    S("pinv-square", "pinv", lambda r: (invertible(r, 2, 2),), via=mg.linalg.pinv),
    # matrix_power, a composite
    S(
        "matrix_power-5",
        "matmul",
        lambda r: (invertible(r, 2, 2) / 2, normal(r, 2, 3)),
        via=lambda a, b: mg.linalg.matrix_power(a, 5) @ b,
    ),
    S("matrix_power-negative", "inv", lambda r: (invertible(r, 2, 2),), via=lambda a: mg.linalg.matrix_power(a, -3)),
]
