"""Linear algebra with factorizations: inv, pinv, det, slogdet, logdet, solve, cholesky, eigh, svd
and matrix_power (the norms built on them are in :mod:`.norms`).

Every function is batched over leading axes, as NumPy's are: a stack of matrices has shape
``(..., m, n)``.  The rules use the factorization, never a Jacobian, and are written with other
primitives (``@``, :data:`solve`, :data:`inv`), so second derivatives work (Matrix Cookbook forms:
``d(X⁻¹) = −X⁻¹ dX X⁻¹``, ``∂ det X = det(X) X⁻ᵀ``, ``∂ log|det X| = X⁻ᵀ``).

The engine records one output per primitive, so eigh and svd compute the factorization once into
one packed array, which the public functions slice (the slices' gradients flow back into the
packed rule):

- ``eigh``: ``out[..., 0, :] = w`` (ascending eigenvalues), ``out[..., 1:, :] = V``: ``(..., n+1, n)``;
- ``svd`` (reduced, k = min(m, n)): ``out[..., :m, :] = U``, ``out[..., m, :] = s``,
  ``out[..., m+1:, :] = V = Vhᵀ``: ``(..., m+1+n, k)``;
- ``slogdet``: ``out[..., 0] = sign`` (derivative 0), ``out[..., 1] = log|det|``: ``(..., 2)``.

Conventions
-----------
- **Triangle read.**  cholesky and eigh read one triangle of ``a``, as NumPy does (the lower one
  for ``UPLO='L'`` / ``upper=False``), so their gradient lives on that triangle: the diagonal of
  the symmetric gradient, twice its entries below (above) the diagonal, zeros on the other side.
  This is HIPS autograd's choice for eigh, and what finite differences of NumPy's function give;
  in any symmetric direction ``dA`` it equals the symmetrized gradient of JAX and PyTorch.
- **Repeated eigenvalues / singular values.**  The terms ``1/(λⱼ − λᵢ)`` (eigh) and
  ``1/(sⱼ² − sᵢ²)`` (svd) of two values equal to within the solver's accuracy,
  ``|λⱼ − λᵢ| ≤ n·ε·max|λ|``, are set to 0 (TensorFlow's ``reciprocal_no_nan`` and JAX's svd mask
  exact equality; computed eigenvalues of a repeated one differ by rounding, hence the tolerance).
  The gradient is then exact for functions of the eigenvalues (singular values) alone, whatever
  their multiplicity, and finite for any function; for a function of the eigenvectors at a
  repeated eigenvalue it is this convention's value, not a derivative (which needs the limit
  (f(λⱼ) − f(λᵢ))/(λⱼ − λᵢ) that no rule sees; JAX and PyTorch give inf/nan there).
- **Zero singular values.**  The ``1/sᵢ`` of the svd's rectangular terms is set to 0 where
  ``sᵢ ≤ max(m, n)·ε·max s`` (NumPy's ``matrix_rank`` tolerance).
- **Gauge.**  Eigenvectors and singular vectors are NumPy's (each column's sign is LAPACK's
  choice); the rules hold for any valid factorization.
- **Singular matrices.**  inv and solve raise ``LinAlgError`` naming the operation.  det's gradient
  ``det(A) A⁻ᵀ`` is computed through the inverse; at an exactly singular matrix, from the SVD as the
  cofactor matrix (the transposed adjugate), which exists there (first order; differentiating that
  gradient again at a singular matrix raises).  slogdet and logdet have no gradient there (log 0).
- **pinv** is differentiated where the rank is locally constant (always for full rank): the
  Golub–Pereyra formula evaluated with the computed ``A⁺`` (NumPy's ``rcond`` cutoff); across a
  change of rank the pseudo-inverse is discontinuous and has no derivative.
- **svd(full_matrices=True)** of a non-square matrix has no gradient (the extra singular vectors
  are not unique), as in JAX and autograd: with a Tensor it raises; use ``full_matrices=False``.
  ``hermitian=True`` reads only the lower triangle, as NumPy's path does, and matgrad computes the
  general SVD of the symmetric matrix it determines (same singular values; singular vectors may
  differ in sign from NumPy's hermitian path).
"""

from __future__ import annotations

import functools
import operator
import warnings
import weakref
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .composites import as_array
from .core import Primitive, register, shape_of, unbroadcast, value
from .elementwise import where
from .linalg import matmul
from .notation import custom, g, out, structural, t
from .notation import x as inputs
from .shape import concatenate, stack

__all__ = [
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "logdet",
    "matrix_power",
    "pinv",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
]

x0, x1 = inputs[:2]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


# ----- constants and small helpers shared by the rules -----------------------------------------
@functools.lru_cache(maxsize=256)
def _pattern(n: int, dtype: np.dtype, kind: str) -> np.ndarray:
    """A read-only n×n constant of ``dtype``: the identity, a strict triangle, or fold weights."""
    ones = np.ones((n, n), dtype=dtype)
    made = {
        "eye": lambda: np.eye(n, dtype=dtype),
        "strict_lower": lambda: np.tril(ones, -1),
        "strict_upper": lambda: np.triu(ones, 1),
        "lower": lambda: np.tril(ones),
        "upper": lambda: np.triu(ones),
        "phi": lambda: np.tril(ones) - 0.5 * np.eye(n, dtype=dtype),  # tril with the diagonal halved
    }[kind]()
    made.flags.writeable = False
    return made


def _dtype(x: Any) -> np.dtype:
    return np.asarray(value(x)).dtype


def _eye(n: int, like: Any) -> np.ndarray:
    return _pattern(n, _dtype(like), "eye")


def _per_matrix(v: Any) -> Any:
    """One number per matrix, given two trailing size-1 axes to scale its matrix."""
    return v.reshape(tuple(shape_of(v)) + (1, 1))


def _diagonal(m: Any) -> Any:
    """The diagonal of each matrix (square), as a vector."""
    return (m * _eye(shape_of(m)[-1], m)).sum(axis=-1)


def _diag_matrix(v: Any) -> Any:
    """Each vector as a diagonal matrix."""
    n = shape_of(v)[-1]
    return v[..., None, :] * _eye(n, v)


def _trace(m: Any) -> Any:
    return (m * _eye(shape_of(m)[-1], m)).sum(axis=(-2, -1))


def _tolerance(values: np.ndarray, count: int) -> np.ndarray:
    """Per matrix, ``count · ε · max|values|``: the solver's own accuracy, below which two computed
    eigenvalues (or a singular value and 0) cannot be told apart (NumPy's matrix_rank tolerance)."""
    if values.shape[-1] == 0:
        return np.zeros(values.shape[:-1] + (1,), values.dtype)
    return count * np.finfo(values.dtype).eps * np.max(np.abs(values), axis=-1, keepdims=True)


def _gap_inverse(w: Any) -> Any:
    """F with F_ij = 1/(w_j − w_i), and 0 on the diagonal and where w_i and w_j are equal to within
    the solver's accuracy (|w_j − w_i| ≤ n·ε·max|w|): a repeated value's term is set to 0."""
    gaps = w[..., None, :] - w[..., :, None]
    wv = np.asarray(value(w))
    tolerance = _tolerance(wv, max(wv.shape[-1], 1))[..., None]
    apart = (np.abs(value(gaps)) > tolerance).astype(wv.dtype)
    return apart / (gaps + (1 - apart))


def _reciprocal_or_zero(s: Any, count: int) -> Any:
    """1/s, and 0 where s is 0 to within the solver's accuracy (s ≤ count·ε·max s)."""
    sv = np.asarray(value(s))
    nonzero = (sv > _tolerance(sv, count)).astype(sv.dtype)
    return nonzero / (s + (1 - nonzero))


def _fold(x: Any, lower: bool) -> Any:
    """The gradient of a function that reads one triangle of its (symmetric) input: x's diagonal,
    and x_ij + x_ji on the triangle read, 0 on the other side."""
    n = shape_of(x)[-1]
    strict = _pattern(n, _dtype(x), "strict_lower" if lower else "strict_upper")
    return (x + x.mT) * strict + x * _eye(n, x)


def _unfold(t: Any, lower: bool) -> Any:
    """The symmetric matrix a function reading one triangle sees when that triangle moves by t."""
    n = shape_of(t)[-1]
    dtype = _dtype(t)
    kept = t * _pattern(n, dtype, "lower" if lower else "upper")
    return kept + (t * _pattern(n, dtype, "strict_lower" if lower else "strict_upper")).mT


# ----- error hints --------------------------------------------------------------------------------
def _square_problem(shape: tuple[int, ...]) -> str | None:
    if len(shape) < 2:
        return f"needs a matrix or a stack of matrices of shape (..., n, n), got a {len(shape)}-d array"
    if shape[-1] != shape[-2]:
        return (
            f"needs square matrices in the last two axes (..., n, n), got {shape[-2]}×{shape[-1]}; "
            f"for a non-square matrix use pinv (least squares) or svd"
        )
    return None


def _square_hint(otherwise: str) -> Any:
    def hint(values: Sequence[Any], params: dict) -> str:
        return _square_problem(np.shape(values[0])) or otherwise

    return hint


_SINGULAR = "the matrix is singular (its determinant is 0, it has no inverse); pinv gives a least-squares inverse"


def _solve_hint(values: Sequence[Any], params: dict) -> str:
    a_shape, b_shape = (np.shape(v) for v in values)
    problem = _square_problem(a_shape)
    if problem:
        return f"a {problem}"
    n = a_shape[-1]
    if len(b_shape) == 0:
        return "b must be a vector (n,) or a stack of matrices (..., n, k), got a scalar"
    rows = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if rows != n:
        as_matrix = (
            f"; NumPy 2 reads a b of {len(b_shape)} dimensions as matrices (..., n, k): "
            f"for a stack of vectors write b[..., None] and take [..., 0] of the result"
            if len(b_shape) > 1 and b_shape[-1] == n
            else ""
        )
        where_rows = "only" if len(b_shape) == 1 else "second-to-last"
        return f"a is {n}×{n} but b has {rows} rows (b's {where_rows} axis){as_matrix}"
    if len(b_shape) > 1:
        try:
            np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            return f"the batch shapes {a_shape[:-2]} of a and {b_shape[:-2]} of b do not broadcast"
    return _SINGULAR


# ----- notation helpers -----------------------------------------------------------------------------
def _inverse(e: Any) -> Any:
    return structural("inverse", e, "{0}⁻¹", r"{0}^{-1}", lambda v, c: np.linalg.inv(v))


def _per_matrix_note(e: Any) -> Any:
    return structural("per_matrix", e, "{0}", "{0}", lambda v, c: np.asarray(v)[..., None, None])


def _trace_note(e: Any) -> Any:
    return structural(
        "trace", e, "tr({0})", r"\operatorname{tr}\left({0}\right)", lambda v, c: np.trace(v, axis1=-2, axis2=-1)
    )


def _diag_note(e: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        return np.asarray(v)[..., None, :] * np.eye(np.shape(v)[-1])

    return structural("diag", e, "diag({0})", r"\operatorname{diag}\left({0}\right)", evaluate)


def _diagonal_note(e: Any) -> Any:
    return structural(
        "diagonal", e, "diag({0})", r"\operatorname{diag}\left({0}\right)", lambda v, c: np.diagonal(v, 0, -2, -1)
    )


def _gaps_note(e: Any, text: str, latex: str) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        d = v[..., None, :] - v[..., :, None]
        scale = np.abs(v).max(axis=-1, keepdims=True)[..., None] if v.shape[-1] else 0.0
        equal = np.abs(d) <= max(v.shape[-1], 1) * np.finfo(v.dtype).eps * scale
        return np.divide(1.0, d, out=np.zeros_like(d), where=~equal)

    return structural("gaps", e, text, latex, evaluate)


def _rows(e: Any, kind: str, text: str, pick: Any) -> Any:
    """A named part of a packed result (or of its gradient), cut with NumPy."""
    return structural(kind, e, text, text, lambda v, c: pick(np.asarray(v), c))


# ----- the forward's LU, kept for the backward pass (SciPy, optional) -----------------------------------
# NumPy keeps no factorization between calls, so a VJP would factor A again (solve: three LUs for a
# value and both gradients; log det: an LU, then a fresh inverse).  Where SciPy is installed (the cli
# extra brings it), the forward pass of one nonsingular matrix factors it with ``lu_factor`` and keeps
# the LU beside its result, keyed by that result (the backward pass receives it as ``out``) and checked
# against the very ``a`` it factored; the rules then solve with it (``trans=1`` for Aᵀ).  Anything else
# (a stack, a Tensor being differentiated again, a miss) takes NumPy's way: the numbers never depend on
# whether the LU was kept, only the time does.
_LU_MIN_SIZE = 32  # below this, SciPy's per-call overhead costs more than the factorization it saves
_KEPT_LU: dict[int, tuple[Any, Any]] = {}  # id(result) → (the a factored, its LU and pivots)


@functools.cache
def _scipy_lu() -> tuple[Any, Any] | None:
    try:
        from scipy.linalg import lu_factor, lu_solve
    except ImportError:
        return None
    return lu_factor, lu_solve


def _lu_of(a: Any) -> Any:
    """``lu_factor(a)`` for one square float matrix of at least ``_LU_MIN_SIZE`` rows; ``None``
    where that does not apply, SciPy is missing, or ``a`` is exactly singular (no LU to keep)."""
    if not (type(a) is np.ndarray and a.ndim == 2 and a.shape[0] == a.shape[1] >= _LU_MIN_SIZE):
        return None
    if a.dtype.kind != "f" or _scipy_lu() is None:
        return None
    with warnings.catch_warnings():  # SciPy warns of an exact zero pivot; NumPy's way then raises
        warnings.simplefilter("ignore")
        factors = _scipy_lu()[0](a, check_finite=False)
    return factors if np.all(np.diagonal(factors[0])) else None


def _keep_lu(result: np.ndarray, a: np.ndarray, factors: Any) -> None:
    key = id(result)
    _KEPT_LU[key] = (a, factors)
    weakref.finalize(result, _KEPT_LU.pop, key, None)  # the entry lives exactly as long as the result


def _kept_lu(out: Any, a: Any) -> Any:
    """The forward's LU of ``a`` if ``out`` is the result it computed from this very ``a``."""
    entry = _KEPT_LU.get(id(out)) if type(a) is np.ndarray else None
    return entry[1] if entry is not None and entry[0] is a else None


def _lu_solve(factors: Any, rhs: np.ndarray, transposed: bool) -> np.ndarray:
    return _scipy_lu()[1](factors, rhs, trans=int(transposed), check_finite=False)


# ----- inv, det, slogdet ----------------------------------------------------------------------------
inv = Primitive(
    "inv",
    np.linalg.inv,
    vjp=[lambda g, out, a: -(out.mT @ g @ out.mT)],  # −X⁻ᵀ G X⁻ᵀ
    jvp=[lambda t, out, a: -(out @ t @ out)],  # d(X⁻¹) = −X⁻¹ dX X⁻¹
    notation=custom(
        _inverse(x0),
        vjp=(-(out.T @ g @ out.T),),
        jvp=(-(out @ t @ out),),
        index=("Σ_ij [{g}]_ij ∂[{0}⁻¹]_ij/∂[{0}]_kl = −Σ_ij [{g}]_ij [{0}⁻¹]_ik [{0}⁻¹]_lj = −[{0}⁻ᵀ {g} {0}⁻ᵀ]_kl",),
        product=("matrix",),
        why=(
            "X X⁻¹ = I gives dX X⁻¹ + X d(X⁻¹) = 0, so d(X⁻¹) = −X⁻¹ dX X⁻¹ (Matrix Cookbook 59); "
            "moving both factors across G : (·) transposes them"
        ),
    ),
    error_hint=_square_hint(_SINGULAR),
)


def _cofactors(a: np.ndarray) -> np.ndarray:
    """The cofactor matrix det(A) A⁻ᵀ, also where A is singular: with A = U S Vᵀ it is
    det(U) det(V) U diag(∏_{j≠i} s_j) Vᵀ, and the products leaving one s out need no division."""
    u, s, vh = np.linalg.svd(a)
    ones = np.ones(s.shape[:-1] + (1,), s.dtype)
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)  # ∏_{j<i} s_j
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]  # ∏_{j>i} s_j
    orientation = np.linalg.det(u) * np.linalg.det(vh)  # ±1
    return _per_matrix(orientation) * ((u * (before * after)[..., None, :]) @ vh)


def _det_slope(out: Any, a: Any) -> Any:
    """∂ det A / ∂A = det(A) A⁻ᵀ, computed through the inverse; at an exactly singular A (whose
    inverse does not exist but whose cofactors do), from the SVD.  A Tensor ``a`` (a rule being
    differentiated again) keeps the inverse's form, which the table differentiates."""
    if type(a) is Tensor:
        return _per_matrix(out) * inv(a).mT
    try:
        return _per_matrix(out) * np.linalg.inv(a).mT
    except np.linalg.LinAlgError:
        return _cofactors(a)


def _det_vjp(g: Any, out: Any, a: Any) -> Any:
    return _per_matrix(g) * _det_slope(out, a)  # g det(A) A⁻ᵀ


def _det_jvp(t: Any, out: Any, a: Any) -> Any:
    return (_det_slope(out, a) * t).sum(axis=(-2, -1))  # det(A) tr(A⁻¹ dA) = det(A) A⁻ᵀ : dA


det = Primitive(
    "det",
    np.linalg.det,
    vjp=[_det_vjp],
    jvp=[_det_jvp],
    notation=custom(
        structural("det", x0, "det({0})", r"\det {0}", lambda v, c: np.linalg.det(v)),
        vjp=(_per_matrix_note(g * out) * _inverse(x0).T,),
        jvp=(out * _trace_note(_inverse(x0) @ t),),
        index=("Σ [{g}] ∂det({0})/∂[{0}]_kl = [{g}] det({0}) [{0}⁻ᵀ]_kl (the cofactor C_kl = det({0}) [{0}⁻¹]_lk)",),
        product=("scale",),
        why="Jacobi's formula: d det X = det(X) tr(X⁻¹ dX) = det(X) X⁻ᵀ : dX (Matrix Cookbook 49)",
    ),
    error_hint=_square_hint("the determinant could not be computed"),
)


def _slogdet_forward(a: Any) -> np.ndarray:
    factors = _lu_of(a)
    if factors is None:
        sign, logabsdet = np.linalg.slogdet(a)
        return np.stack([sign, logabsdet], axis=-1)
    pivots = np.diagonal(factors[0])
    swaps = np.count_nonzero(factors[1] != np.arange(len(pivots)))
    sign = (-1.0) ** swaps * np.prod(np.sign(pivots))
    packed = np.array([sign, np.sum(np.log(np.abs(pivots)))], dtype=a.dtype)
    _keep_lu(packed, a, factors)
    return packed


def _inverse_transposed(out: Any, a: Any) -> Any:
    """A⁻ᵀ: from the forward's LU where it was kept (no second factorization), else inverted."""
    factors = _kept_lu(out, a)
    if factors is None:
        return inv(a).mT
    return _lu_solve(factors, np.eye(a.shape[-1], dtype=a.dtype), transposed=True)


def _slogdet_vjp(g: Any, out: Any, a: Any) -> Any:
    return _per_matrix(g[..., 1]) * _inverse_transposed(out, a)  # the sign is piecewise constant


def _slogdet_jvp(t: Any, out: Any, a: Any) -> Any:
    moved = _trace(solve(a, t))  # tr(A⁻¹ dA)
    return stack(np.zeros(shape_of(moved), _dtype(moved)), moved, axis=-1)


_logabsdet_of_g = _rows(g, "logabsdet_part", "{0}", lambda v, c: v[..., 1])

_slogdet = Primitive(
    "slogdet",
    _slogdet_forward,
    vjp=[_slogdet_vjp],
    jvp=[_slogdet_jvp],
    notation=custom(
        structural(
            "slogdet",
            x0,
            "(sign, log|det {0}|)",
            r"\left(\operatorname{sign}, \log|\det {0}|\right)",
            lambda v, c: _slogdet_forward(v),
        ),
        vjp=(_per_matrix_note(_logabsdet_of_g) * _inverse(x0).T,),
        jvp=(
            structural(
                "sign_unmoved",
                _trace_note(_inverse(x0) @ t),
                "(0, {0})",
                r"\left(0, {0}\right)",
                lambda v, c: np.stack([np.zeros_like(v), v], axis=-1),
            ),
        ),
        index=("Σ [{g}] ∂log|det {0}|/∂[{0}]_kl = [{g}] [{0}⁻ᵀ]_kl",),
        product=("scale",),
        why="∂ log|det X| / ∂X = X⁻ᵀ (Matrix Cookbook 57); the sign is piecewise constant, with no gradient",
    ),
    error_hint=_square_hint("the determinant could not be computed"),
)


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, logabsdet)`` of each matrix: ``det a = sign · exp(logabsdet)``, computed by one LU.

    ``sign`` is piecewise constant: recorded (so that every result of a Tensor is traced), with
    derivative 0; ``logabsdet`` has gradient ``A⁻ᵀ``.
    """
    packed = _slogdet(a)
    return SlogdetResult(packed[..., 0], packed[..., 1])


def logdet(a: Any) -> Any:
    """log det a for matrices with a positive determinant (a matgrad extra): gradient ``A⁻ᵀ``.

    ``-inf`` where det a = 0 and ``nan`` where det a < 0, as ``np.log(np.linalg.det(a))`` gives.
    """
    packed = _slogdet(a)
    sign = np.asarray(value(packed))[..., 0]
    logabsdet = packed[..., 1]
    if np.all(sign > 0):
        return logabsdet
    return where(sign < 0, np.array(np.nan, dtype=_dtype(packed)), logabsdet)


# ----- solve ------------------------------------------------------------------------------------------
def _solve_forward(a: Any, b: Any) -> np.ndarray:
    factors = _lu_of(a) if type(b) is np.ndarray and b.dtype == a.dtype and b.ndim in (1, 2) else None
    if factors is None or b.shape[0] != a.shape[0]:
        return np.linalg.solve(a, b)  # NumPy's result, or its error (shapes, a singular matrix)
    x = _lu_solve(factors, b, transposed=False)
    _keep_lu(x, a, factors)
    return x


def _solve_with(a: Any, out: Any, rhs: Any, transposed: bool) -> Any:
    """A⁻¹ rhs (Aᵀ⁻¹ rhs if ``transposed``): with the forward's LU where kept, else a solve."""
    factors = _kept_lu(out, a) if type(rhs) is np.ndarray else None
    if factors is not None:
        return _lu_solve(factors, rhs, transposed)
    return solve(a.mT if transposed else a, rhs)


def _as_columns(v: Any, b: Any) -> Any:
    """A vector right-hand side (and its result, gradient or tangent) as one column."""
    return v[..., None] if len(shape_of(b)) == 1 else v


def _adjoint_solve(g: Any, out: Any, a: Any, b: Any) -> Any:
    """A⁻ᵀ G, by a solve with Aᵀ (columns when b is a vector)."""
    return _solve_with(a, out, _as_columns(g, b), transposed=True)


def _solve_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    grad = -(_adjoint_solve(g, out, a, b) @ _as_columns(out, b).mT)  # −A⁻ᵀ G Xᵀ
    return unbroadcast(grad, a.shape)


def _solve_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    grad = _adjoint_solve(g, out, a, b)  # A⁻ᵀ G
    if len(shape_of(b)) == 1:
        grad = grad[..., 0]
    return unbroadcast(grad, b.shape)


def _solve_jvp_a(t: Any, out: Any, a: Any, b: Any) -> Any:
    moved = _solve_with(a, out, -(t @ _as_columns(out, b)), transposed=False)  # dX = −A⁻¹ dA X
    return moved[..., 0] if len(shape_of(b)) == 1 else moved


def _solve_jvp_b(t: Any, out: Any, a: Any, b: Any) -> Any:
    return _solve_with(a, out, t, transposed=False)


def _b_columns(v: Any, context: dict) -> Any:
    return np.asarray(v)[..., None] if len(context["shapes"][1]) == 1 else v


def _b_shaped(v: Any, context: dict) -> Any:
    return np.asarray(v)[..., 0] if len(context["shapes"][1]) == 1 else v


def _columns_note(e: Any) -> Any:
    return structural("columns", e, "{0}", "{0}", _b_columns)


_adjoint_note = _inverse(x0).T @ _columns_note(g)  # A⁻ᵀ G

solve = Primitive(
    "solve",
    _solve_forward,
    vjp=[_solve_vjp_a, _solve_vjp_b],
    jvp=[_solve_jvp_a, _solve_jvp_b],
    notation=custom(
        _inverse(x0) @ x1,
        vjp=(-(_adjoint_note @ _columns_note(out).T), structural("b_shaped", _adjoint_note, "{0}", "{0}", _b_shaped)),
        jvp=(
            -structural("b_shaped", _inverse(x0) @ t @ _columns_note(out), "{0}", "{0}", _b_shaped),
            _inverse(x0) @ t,
        ),
        index=(
            "Σ_ij [{g}]_ij ∂[{0}⁻¹{1}]_ij/∂[{0}]_kl = −Σ_ij [{g}]_ij [{0}⁻¹]_ik [{out}]_lj = −[{0}⁻ᵀ {g} {out}ᵀ]_kl",
            "Σ_ij [{g}]_ij ∂[{0}⁻¹{1}]_ij/∂[{1}]_kl = Σ_ij [{g}]_ij [{0}⁻¹]_ik δ_jl = [{0}⁻ᵀ {g}]_kl",
        ),
        product=("matrix", "matrix"),
        why=(
            "X = A⁻¹B is linear in B, and dX = −A⁻¹ dA X; both gradients are one solve with Aᵀ, A⁻ᵀ G, never an inverse"
        ),
    ),
    error_hint=_solve_hint,
)


# ----- cholesky ------------------------------------------------------------------------------------------
def _cholesky_forward(a: Any, upper: bool = False) -> np.ndarray:
    return np.linalg.cholesky(a, upper=upper)


def _inverse_sandwich(lower: Any, m: Any) -> Any:
    """L⁻ᵀ M L⁻¹, by two solves with Lᵀ."""
    return solve(lower.mT, solve(lower.mT, m).mT).mT


def _cholesky_vjp(g: Any, out: Any, a: Any, upper: bool = False) -> Any:
    """(S + Sᵀ) on the triangle read, S = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹ (Murray 2016), Φ = tril with half diagonal."""
    lower, g_lower = (out.mT, g.mT) if upper else (out, g)
    n = shape_of(out)[-1]
    phi = _pattern(n, _dtype(out), "phi")
    s = _inverse_sandwich(lower, (lower.mT @ g_lower) * phi)
    return _fold_symmetric(s, upper)


def _fold_symmetric(s: Any, upper: bool) -> Any:
    """(S + Sᵀ)/2, the symmetric gradient, folded onto the triangle read: (S + Sᵀ) ⊙ (strict + I/2)."""
    n = shape_of(s)[-1]
    weights = _pattern(n, _dtype(s), "strict_upper" if upper else "strict_lower") + 0.5 * _eye(n, s)
    return (s + s.mT) * weights


def _cholesky_jvp(t: Any, out: Any, a: Any, upper: bool = False) -> Any:
    """dL = L Φ(L⁻¹ dA L⁻ᵀ), dA the symmetric matrix the read triangle of t makes."""
    lower = out.mT if upper else out
    moved = _unfold(t, not upper)
    inner = solve(lower, solve(lower, moved).mT).mT  # L⁻¹ dA L⁻ᵀ
    d_lower = lower @ (inner * _pattern(shape_of(out)[-1], _dtype(out), "phi"))
    return d_lower.mT if upper else d_lower


def _factor_note(e: Any) -> Any:
    """L itself (Uᵀ when the upper factor was asked for)."""
    return structural(
        "lower_factor", e, "{0}", "{0}", lambda v, c: np.swapaxes(v, -1, -2) if c["params"].get("upper") else v
    )


def _phi_note(e: Any) -> Any:
    return structural(
        "phi", e, "Φ({0})", r"\Phi\left({0}\right)", lambda v, c: np.tril(v) - 0.5 * np.eye(np.shape(v)[-1]) * v
    )


def _sym_fold_note(e: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        sym = v + np.swapaxes(v, -1, -2)
        n = v.shape[-1]
        side = np.triu(np.ones((n, n)), 1) if context["params"].get("upper") else np.tril(np.ones((n, n)), -1)
        return sym * (side + 0.5 * np.eye(n))

    return structural("fold_sym", e, "tri({0} + {0}ᵀ)", r"\operatorname{tri}\left({0} + {0}^{\top}\right)", evaluate)


def _unfold_note(e: Any, parameter: str) -> Any:
    """The symmetric matrix seen when the triangle read (by params ``upper`` or ``UPLO``) moves by e."""

    def evaluate(v: Any, context: dict) -> np.ndarray:
        params = context["params"]
        lower = not params.get("upper", False) if parameter == "upper" else params.get("UPLO", "L") == "L"
        v = np.asarray(v)
        kept = np.tril(v) if lower else np.triu(v)
        return kept + np.swapaxes(kept, -1, -2) - v * np.eye(v.shape[-1])

    return structural("unfold", e, "sym({0})", r"\operatorname{sym}\left({0}\right)", evaluate)


_L = _factor_note(out)
_cholesky_s = _inverse(_L).T @ _phi_note(_L.T @ _factor_note(g)) @ _inverse(_L)

_cholesky = Primitive(
    "cholesky",
    _cholesky_forward,
    vjp=[_cholesky_vjp],
    jvp=[_cholesky_jvp],
    notation=custom(
        structural(
            "cholesky",
            x0,
            "chol({0})",
            r"\operatorname{chol}\left({0}\right)",
            lambda v, c: np.linalg.cholesky(v, upper=c["params"].get("upper", False)),
        ),
        vjp=(_sym_fold_note(_cholesky_s),),
        jvp=(_factor_note(_L @ _phi_note(_inverse(_L) @ _unfold_note(t, "upper") @ _inverse(_L).T)),),
        index=(
            "with S = L⁻ᵀ Φ(Lᵀ {g}) L⁻¹: [S + Sᵀ]_kl / 2 for k = l, [S + Sᵀ]_kl for k > l (the triangle read), 0 above",
        ),
        product=("matrix",),
        why=(
            "A = LLᵀ gives L⁻¹ dA L⁻ᵀ = L⁻¹dL + (L⁻¹dL)ᵀ with L⁻¹dL lower triangular, so dL = L Φ(L⁻¹ dA L⁻ᵀ); "
            "transposing: Ā = L⁻ᵀ Φ(LᵀL̄) L⁻¹ (Murray 2016), with two triangular solves"
        ),
    ),
    error_hint=_square_hint(
        "the matrix is not positive definite (NumPy reads only its lower triangle, or the upper with upper=True)"
    ),
)


def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """The Cholesky factor L (lower, ``a = L Lᵀ``), or U = Lᵀ with ``upper=True`` (``a = Uᵀ U``).

    As NumPy, only the lower (upper) triangle of ``a`` is read; the gradient lives on that triangle.
    """
    return _cholesky(a, upper=bool(upper))


# ----- eigh -----------------------------------------------------------------------------------------------
def _eigh_forward(a: Any, UPLO: str = "L") -> np.ndarray:
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_vjp(g: Any, out: Any, a: Any, UPLO: str = "L") -> Any:
    """V (diag(w̄) + F ⊙ (Vᵀ V̄)) Vᵀ, folded onto the triangle read; F_ij = 1/(w_j − w_i)."""
    w, v = out[..., 0, :], out[..., 1:, :]
    inner = _diag_matrix(g[..., 0, :]) + _gap_inverse(w) * (v.mT @ g[..., 1:, :])
    return _fold(v @ inner @ v.mT, UPLO == "L")


def _eigh_jvp(t: Any, out: Any, a: Any, UPLO: str = "L") -> Any:
    """dw = diag(Vᵀ dA V), dV = V (F ⊙ (Vᵀ dA V)), dA the symmetric matrix of the triangle read."""
    w, v = out[..., 0, :], out[..., 1:, :]
    moved = v.mT @ _unfold(t, UPLO == "L") @ v
    return concatenate(_diagonal(moved)[..., None, :], v @ (_gap_inverse(w) * moved), axis=-2)


def _fold_note(e: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        n = v.shape[-1]
        lower = context["params"].get("UPLO", "L") == "L"
        side = np.tril(np.ones((n, n)), -1) if lower else np.triu(np.ones((n, n)), 1)
        return (v + np.swapaxes(v, -1, -2)) * side + v * np.eye(n)

    return structural("fold", e, "tri({0})", r"\operatorname{tri}\left({0}\right)", evaluate)


_w = _rows(out, "eigenvalues", "w", lambda v, c: v[..., 0, :])
_V = _rows(out, "eigenvectors", "V", lambda v, c: v[..., 1:, :])
_gw = _rows(g, "eigenvalues_part", "w̄", lambda v, c: v[..., 0, :])
_g_v = _rows(g, "eigenvectors_part", "V̄", lambda v, c: v[..., 1:, :])
_F = _gaps_note(_w, "F", "F")
_moved = _V.T @ _unfold_note(t, "UPLO") @ _V


def _place(e: Any, kind: str, first: bool) -> Any:
    """A part of a packed tangent in its rows (zeros elsewhere), so that parts add up to the whole."""

    def evaluate(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        if first:
            return np.concatenate([v[..., None, :], np.zeros(v.shape[:-1] + v.shape[-1:] * 2)], axis=-2)
        return np.concatenate([np.zeros(v.shape[:-2] + (1, v.shape[-1])), v], axis=-2)

    return structural(kind, e, "{0}", "{0}", evaluate)


_eigh = Primitive(
    "eigh",
    _eigh_forward,
    vjp=[_eigh_vjp],
    jvp=[_eigh_jvp],
    notation=custom(
        structural("eigh", x0, "eigh({0})", r"\operatorname{eigh}", lambda v, c: _eigh_forward(v, **c["params"])),
        vjp=(_fold_note(_V @ (_diag_note(_gw) + _F * (_V.T @ _g_v)) @ _V.T),),
        jvp=(
            _place(_diagonal_note(_moved), "eigenvalue_rows", True)
            + _place(_V @ (_F * _moved), "eigenvector_rows", False),
        ),
        index=(
            "Σ_i [w̄]_i [V]_ki [V]_li + Σ_{i≠j, w_i≠w_j} [V]_ki ([Vᵀ V̄]_ij / (w_j − w_i)) [V]_lj, "
            "then folded onto the triangle read (k > l: the (k,l) and (l,k) terms add)",
        ),
        product=("matrix",),
        why=(
            "A = V Λ Vᵀ gives Vᵀ dA V = dΛ + [Vᵀ dV, Λ]: the diagonal moves the eigenvalues, the off-diagonal "
            "part rotates the eigenvectors by (Vᵀ dA V)_ij / (w_j − w_i)"
        ),
    ),
    error_hint=_square_hint("the eigenvalue computation did not converge"),
)


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices: ``(w, V)``.

    Only the ``UPLO`` triangle of ``a`` is read, as in NumPy; see the module's conventions for the
    gradient's triangle, repeated eigenvalues (their 1/(λⱼ − λᵢ) terms set to 0) and signs.
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    packed = _eigh(a, UPLO=UPLO)
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """The eigenvalues of symmetric matrices, ascending (gradient ``V diag(w̄) Vᵀ``, on the triangle read)."""
    return eigh(a, UPLO=UPLO).eigenvalues


# ----- svd --------------------------------------------------------------------------------------------------
def _svd_forward(a: Any) -> np.ndarray:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([u, s[..., None, :], np.swapaxes(vh, -1, -2)], axis=-2)


def _svd_parts(packed: Any, m: int) -> tuple[Any, Any, Any]:
    return packed[..., :m, :], packed[..., m, :], packed[..., m + 1 :, :]


def _svd_vjp(g: Any, out: Any, a: Any) -> Any:
    """U (diag(s̄) + (J + Jᵀ) S + S (K + Kᵀ)) Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ),
    J = F ⊙ UᵀŪ, K = F ⊙ VᵀV̄, F_ij = 1/(s_j² − s_i²) (Townsend 2016)."""
    m, n = shape_of(a)[-2:]
    u, s, v = _svd_parts(out, m)
    gu, gs, gv = _svd_parts(g, m)
    f = _gap_inverse(s * s)
    j = f * (u.mT @ gu)
    k = f * (v.mT @ gv)
    core = _diag_matrix(gs) + (j + j.mT) * s[..., None, :] + s[..., :, None] * (k + k.mT)
    grad = u @ core @ v.mT
    if m > n:  # U has columns to spare: its component outside span(U)
        grad = grad + ((gu - u @ (u.mT @ gu)) * _reciprocal_or_zero(s, max(m, n))[..., None, :]) @ v.mT
    if n > m:
        grad = grad + u @ ((gv - v @ (v.mT @ gv)) * _reciprocal_or_zero(s, max(m, n))[..., None, :]).mT
    return grad


def _svd_jvp(t: Any, out: Any, a: Any) -> Any:
    """dS = Uᵀ dA V: ds = diag(dS), dU = U (F ⊙ (dS S + S dSᵀ)) + …, dV = V (F ⊙ (S dS + dSᵀ S)) + …"""
    m, n = shape_of(a)[-2:]
    u, s, v = _svd_parts(out, m)
    moved = u.mT @ t @ v
    f = _gap_inverse(s * s)
    right = moved * s[..., None, :]  # dS S
    left = s[..., :, None] * moved  # S dS
    du = u @ (f * (right + right.mT))
    dv = v @ (f * (left + left.mT))
    if m > n:
        tv = t @ v
        du = du + (tv - u @ (u.mT @ tv)) * _reciprocal_or_zero(s, max(m, n))[..., None, :]
    if n > m:
        tu = t.mT @ u
        dv = dv + (tu - v @ (v.mT @ tu)) * _reciprocal_or_zero(s, max(m, n))[..., None, :]
    return concatenate(du, _diagonal(moved)[..., None, :], dv, axis=-2)


def _svd_part_note(e: Any, kind: str, text: str, part: int) -> Any:
    def pick(v: np.ndarray, context: dict) -> np.ndarray:
        m = context["shapes"][0][-2]
        return (v[..., :m, :], v[..., m, :], v[..., m + 1 :, :])[part]

    return _rows(e, kind, text, pick)


def _identity_note(e: Any) -> Any:
    return structural("identity", e, "I", "I", lambda v, c: np.eye(np.shape(v)[-1]))


def _pinv_diag_note(e: Any) -> Any:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        cutoff = max(context["shapes"][0][-2:]) * np.finfo(v.dtype).eps * v.max(axis=-1, keepdims=True)
        inverse = np.divide(1.0, v, out=np.zeros_like(v), where=v > cutoff)
        return inverse[..., None, :] * np.eye(v.shape[-1])

    return structural("inverse_diag", e, "S⁺", r"S^{+}", evaluate)


_U = _svd_part_note(out, "U", "U", 0)
_s = _svd_part_note(out, "s", "s", 1)
_Vs = _svd_part_note(out, "V", "V", 2)
_g_u = _svd_part_note(g, "U_part", "Ū", 0)
_gs = _svd_part_note(g, "s_part", "s̄", 1)
_g_vs = _svd_part_note(g, "V_part", "V̄", 2)
_S = _diag_note(_s)
_Sinv = _pinv_diag_note(_s)
_Fs = _gaps_note(_s * _s, "F", "F")
_svd_moved = _U.T @ t @ _Vs  # dS = Uᵀ dA V
_outside_u = _identity_note(_U @ _U.T) - _U @ _U.T  # I − UUᵀ
_outside_v = _identity_note(_Vs @ _Vs.T) - _Vs @ _Vs.T


def _svd_place(e: Any, part: int) -> Any:
    """dU, ds or dV in its rows of the packed (U; s; V), zeros elsewhere."""

    def evaluate(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        m, n = context["shapes"][0][-2:]
        if part == 1:
            v = v[..., None, :]
        rows = (m, 1, n)
        pieces = [v if i == part else np.zeros(v.shape[:-2] + (r, v.shape[-1])) for i, r in enumerate(rows)]
        return np.concatenate(pieces, axis=-2)

    return structural(("dU", "ds", "dV")[part], e, "{0}", "{0}", evaluate)


_J = _Fs * (_U.T @ _g_u - _g_u.T @ _U)  # J + Jᵀ, F being antisymmetric
_K = _Fs * (_Vs.T @ _g_vs - _g_vs.T @ _Vs)

_svd = Primitive(
    "svd",
    _svd_forward,
    vjp=[_svd_vjp],
    jvp=[_svd_jvp],
    notation=custom(
        structural("svd", x0, "svd({0})", r"\operatorname{svd}\left({0}\right)", lambda v, c: _svd_forward(v)),
        vjp=(
            _U @ (_diag_note(_gs) + _J @ _S + _S @ _K) @ _Vs.T
            + _outside_u @ _g_u @ _Sinv @ _Vs.T
            + _U @ _Sinv @ _g_vs.T @ _outside_v,
        ),
        jvp=(
            _svd_place(_U @ (_Fs * (_svd_moved @ _S + _S @ _svd_moved.T)) + _outside_u @ t @ _Vs @ _Sinv, 0)
            + _svd_place(_diagonal_note(_svd_moved), 1)
            + _svd_place(_Vs @ (_Fs * (_S @ _svd_moved + _svd_moved.T @ _S)) + _outside_v @ t.T @ _U @ _Sinv, 2),
        ),
        index=(
            "Σ_i [s̄]_i [U]_ki [V]_li + Σ_{i≠j} [U]_ki [F ⊙ (UᵀŪ − ŪᵀU)]_ij s_j [V]_lj + Σ_{i≠j} [U]_ki s_i "
            "[F ⊙ (VᵀV̄ − V̄ᵀV)]_ij [V]_lj + the parts of Ū, V̄ outside span(U), span(V), over s",
        ),
        product=("matrix",),
        why=(
            "A = U S Vᵀ gives Uᵀ dA V = Uᵀ dU S + dS + S dVᵀ V: its diagonal moves the singular values and its "
            "off-diagonal part rotates U and V by 1/(s_j² − s_i²) (Townsend 2016)"
        ),
    ),
    error_hint=lambda values, params: (
        f"needs a matrix or a stack of matrices (..., m, n), got a {np.ndim(values[0])}-d array"
        if np.ndim(values[0]) < 2
        else "the SVD did not converge"
    ),
)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """``(U, S, Vh)`` with ``a = U diag(S) Vh``, or the singular values S alone (``compute_uv=False``).

    Differentiable with ``full_matrices=False``, for square matrices, and for the singular values;
    ``full_matrices=True`` with m ≠ n has no gradient (raises with a Tensor).  ``hermitian=True`` reads
    only the lower triangle, as NumPy's hermitian path does, and takes the general SVD of the symmetric
    matrix it determines (same values as NumPy's; singular vectors may differ in sign).
    """
    a = _unfold(as_array(a), lower=True) if hermitian else as_array(a)
    shape = shape_of(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError(f"svd: needs a matrix or a stack of matrices (..., m, n), got shape {shape}")
    m, n = shape[-2:]
    if compute_uv and full_matrices and m != n:
        if type(a) is Tensor:
            raise ValueError(
                f"svd: full_matrices=True of a {m}×{n} matrix has no gradient (its extra {max(m, n) - min(m, n)} "
                f"singular vectors are not unique); use full_matrices=False"
            )
        return SVDResult(*np.linalg.svd(a, full_matrices=True))
    packed = _svd(a)
    singular_values = packed[..., m, :]
    if not compute_uv:
        return singular_values
    return SVDResult(packed[..., :m, :], singular_values, packed[..., m + 1 :, :].mT)


def svdvals(x: Any, /) -> Any:
    """The singular values, descending (NumPy 2's ``linalg.svdvals``): gradient ``U diag(s̄) Vᵀ``."""
    return svd(x, compute_uv=False)


# ----- pinv ---------------------------------------------------------------------------------------------------
def _pinv_forward(a: Any, **params: Any) -> np.ndarray:
    return np.linalg.pinv(a, **params)


def _pinv_vjp(g: Any, out: Any, a: Any, **params: Any) -> Any:
    """−A⁺ᵀ G A⁺ᵀ + (I − AA⁺) Gᵀ A⁺A⁺ᵀ + A⁺ᵀA⁺ Gᵀ (I − A⁺A) (Golub & Pereyra 1973)."""
    p, gt = out, g.mT
    y = gt @ (p @ p.mT)
    z = (p.mT @ p) @ gt
    return -(p.mT @ g @ p.mT) + (y - a @ (p @ y)) + (z - (z @ p) @ a)


def _pinv_jvp(t: Any, out: Any, a: Any, **params: Any) -> Any:
    """dA⁺ = −A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I − AA⁺) + (I − A⁺A) dAᵀ A⁺ᵀA⁺."""
    p, tt = out, t.mT
    y = (p @ p.mT) @ tt
    z = tt @ (p.mT @ p)
    return -(p @ t @ p) + (y - (y @ a) @ p) + (z - p @ (a @ z))


_pinv = Primitive(
    "pinv",
    _pinv_forward,
    vjp=[_pinv_vjp],
    jvp=[_pinv_jvp],
    notation=custom(
        structural("pinv", x0, "{0}⁺", r"{0}^{+}", lambda v, c: np.linalg.pinv(v, **c["params"])),
        vjp=(
            -(out.T @ g @ out.T)
            + (_identity_note(x0 @ out) - x0 @ out) @ g.T @ out @ out.T
            + out.T @ out @ g.T @ (_identity_note(out @ x0) - out @ x0),
        ),
        jvp=(
            -(out @ t @ out)
            + out @ out.T @ t.T @ (_identity_note(x0 @ out) - x0 @ out)
            + (_identity_note(out @ x0) - out @ x0) @ t.T @ out.T @ out,
        ),
        index=("[−{out}ᵀ {g} {out}ᵀ + (I − {0}{out}) {g}ᵀ {out}{out}ᵀ + {out}ᵀ{out} {g}ᵀ (I − {out}{0})]_kl",),
        product=("matrix",),
        why=(
            "at constant rank, d(A⁺) = −A⁺ dA A⁺ plus the two terms that keep A⁺'s row and column spaces "
            "those of Aᵀ (Golub & Pereyra 1973); for an invertible A only −A⁻¹ dA A⁻¹ remains"
        ),
    ),
    error_hint=lambda values, params: (
        f"needs a matrix or a stack of matrices (..., m, n), got a {np.ndim(values[0])}-d array"
        if np.ndim(values[0]) < 2
        else "the SVD did not converge (or rcond/rtol are not numbers)"
    ),
)

_NO_VALUE = object()


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _NO_VALUE) -> Any:
    """The Moore–Penrose pseudo-inverse; singular values below the cutoff count as 0 (NumPy's rules).

    Its gradient is the constant-rank derivative (exact for full rank); see the module's conventions.
    ``hermitian=True`` uses NumPy's path for symmetric ``a``, which reads only its lower triangle;
    so does the gradient (zero above the diagonal, as with eigh and cholesky).
    """
    params: dict[str, Any] = {}
    if rcond is not None:
        params["rcond"] = rcond
    if rtol is not _NO_VALUE:
        params["rtol"] = rtol
    if hermitian:
        params["hermitian"] = True
        a = _unfold(as_array(a), lower=True)  # the symmetric matrix its lower triangle determines
    return _pinv(a, **params)


# ----- matrix_power ----------------------------------------------------------------------------------------------
def matrix_power(a: Any, n: int) -> Any:
    """aⁿ for an integer n, by repeated squaring of matmuls; a⁻ⁿ = (a⁻¹)ⁿ; a⁰ = I (zero gradient)."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}") from None
    a = as_array(a)
    shape = shape_of(a)
    problem = _square_problem(shape)
    if problem:
        raise np.linalg.LinAlgError(f"matrix_power: {problem} (input shape {shape})")
    if n == 0:
        identity = np.broadcast_to(np.eye(shape[-1], dtype=_dtype(a)), shape)
        return where(np.zeros(shape, dtype=bool), a, identity)  # connected to a, with gradient 0
    if n < 0:
        a, n = inv(a), -n
    if n == 1:
        return a.copy() if type(a) is np.ndarray else a
    result, square = None, a
    while True:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if not n:
            return result
        square = matmul(square, square)


register(inv, det, _slogdet, solve, _cholesky, _eigh, _svd, _pinv)
