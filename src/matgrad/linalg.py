"""``mg.linalg``: the differentiable counterpart of ``numpy.linalg``, by name.

Each function has NumPy's signature and semantics (batched over leading axes); the rules and the
conventions at repeated eigenvalues, singular matrices and kinks are documented in
:mod:`matgrad.primitives.decompositions` and :mod:`matgrad.primitives.norms`.  ``logdet`` is a matgrad extra.
"""

from __future__ import annotations

from numpy.linalg import LinAlgError

from .primitives.composites import matrix_transpose
from .primitives.decompositions import (
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    logdet,
    matrix_power,
    pinv,
    slogdet,
    solve,
    svd,
    svdvals,
)
from .primitives.linalg import matmul
from .primitives.norms import matrix_norm, norm, vector_norm

__all__ = [
    "LinAlgError",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "logdet",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_transpose",
    "norm",
    "pinv",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]
