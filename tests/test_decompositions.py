"""Factorizations and norms: NumPy's values, HIPS autograd's gradients (first and second order),
the documented conventions (triangle read, repeated eigenvalues and singular values, kinks of the
norms, singular matrices) and clear errors.  The table-wide checks live in test_primitives.py.
"""

from __future__ import annotations

import gc
import math
import re

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad
from autograd import hessian as ahessian
from hypothesis import given
from hypothesis import strategies as st

import matgrad as mg
import matgrad.linalg as la
from matgrad.primitives.notation import evaluate_formula
from table_specs import HYPOTHESIS, normal
from table_specs.decompositions import SPECS, invertible, separated_singular, separated_symmetric, spd
from table_specs.norms import SPECS as NORM_SPECS

P = mg.primitives


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ----- values equal NumPy's -------------------------------------------------------------------------
def test_values_equal_numpy():
    r = rng()
    a, s, w = invertible(r, 2, 3, 3), spd(r, 3, 3), separated_singular(r, 2, 4, 3)
    np.testing.assert_array_equal(la.inv(a), np.linalg.inv(a))
    np.testing.assert_array_equal(la.det(a), np.linalg.det(a))
    sign, logabsdet = la.slogdet(-a)
    np.testing.assert_array_equal(sign, np.linalg.slogdet(-a).sign)
    np.testing.assert_array_equal(logabsdet, np.linalg.slogdet(-a).logabsdet)
    for b in (normal(r, 3), normal(r, 3, 2), normal(r, 4, 2, 3, 1)):
        np.testing.assert_array_equal(la.solve(a[0], b), np.linalg.solve(a[0], b))
    np.testing.assert_array_equal(la.cholesky(s), np.linalg.cholesky(s))
    np.testing.assert_array_equal(la.cholesky(s, upper=True), np.linalg.cholesky(s, upper=True))
    for uplo in ("L", "U"):
        noisy = s + np.triu(normal(r, 3, 3), 1)
        values, vectors = la.eigh(noisy, UPLO=uplo)
        expected = np.linalg.eigh(noisy, UPLO=uplo)
        np.testing.assert_array_equal(values, expected.eigenvalues)
        np.testing.assert_array_equal(vectors, expected.eigenvectors)
        # eigvalsh is eigh's eigenvalues (the vectors are needed by the gradient): NumPy's to the last bits
        np.testing.assert_allclose(la.eigvalsh(noisy, uplo), np.linalg.eigvalsh(noisy, uplo), rtol=1e-14)
    u, sv, vh = la.svd(w, full_matrices=False)
    expected = np.linalg.svd(w, full_matrices=False)
    for mine, theirs in zip((u, sv, vh), expected):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(la.svd(w, compute_uv=False), np.linalg.svd(w, compute_uv=False), rtol=1e-13)
    np.testing.assert_allclose(la.svdvals(w), np.linalg.svdvals(w), rtol=1e-13)
    full = la.svd(w)  # full_matrices=True of plain arrays: NumPy's full U
    assert full.U.shape == (2, 4, 4) and full.Vh.shape == (2, 3, 3)
    np.testing.assert_array_equal(full.U, np.linalg.svd(w).U)
    np.testing.assert_array_equal(la.pinv(w), np.linalg.pinv(w))
    np.testing.assert_array_equal(la.pinv(w, rcond=0.5), np.linalg.pinv(w, rcond=0.5))
    np.testing.assert_array_equal(la.pinv(w, rtol=0.5), np.linalg.pinv(w, rtol=0.5))
    np.testing.assert_allclose(la.pinv(s, hermitian=True), np.linalg.pinv(s), rtol=1e-12)
    np.testing.assert_allclose(la.logdet(s), np.log(np.linalg.det(s)))


def test_solve_values_for_a_batch_and_one_vector():
    r = rng(4)
    a, b = invertible(r, 2, 3, 3), normal(r, 3)
    np.testing.assert_array_equal(la.solve(a, b), np.linalg.solve(a, b))
    assert la.solve(a, b).shape == (2, 3)


def test_results_are_numpys_named_tuples():
    a = separated_symmetric(rng(), 3, 3)
    result = la.eigh(mg.tensor(a, requires_grad=True))
    assert isinstance(result.eigenvalues, mg.Tensor) and result.eigenvectors.shape == (3, 3)
    assert la.svd(a, full_matrices=False).S.shape == (3,)
    assert la.slogdet(a).logabsdet.shape == ()
    sign = la.slogdet(mg.tensor(-a, requires_grad=True)).sign  # traced, with derivative 0
    assert isinstance(sign, mg.Tensor) and sign.item() == np.linalg.slogdet(-a).sign
    np.testing.assert_array_equal(mg.grad(lambda a: la.slogdet(a).sign * 3.0)(-a), np.zeros((3, 3)))
    np.testing.assert_array_equal(mg.jvp(lambda a: la.slogdet(a).sign, (-a,), (a,))[1], 0.0)


@pytest.mark.parametrize("n", [-3, -2, -1, 0, 1, 2, 3, 4, 7])
def test_matrix_power_values(n):
    a = invertible(rng(n + 10), 2, 3, 3) / 3
    np.testing.assert_allclose(la.matrix_power(a, n), np.linalg.matrix_power(a, n), rtol=1e-12, atol=1e-14)


def test_matrix_power_0_is_the_identity_with_zero_gradient():
    a = invertible(rng(), 3, 3)
    np.testing.assert_array_equal(la.matrix_power(a, 0), np.eye(3))
    np.testing.assert_array_equal(mg.grad(lambda a: mg.sum(la.matrix_power(a, 0)))(a), np.zeros((3, 3)))
    one = la.matrix_power(a, 1)
    assert one is not a and np.array_equal(one, a)  # a copy, as NumPy returns


NORM_CASES = [
    # (shape, ord, axis, keepdims)
    ((5,), None, None, False),
    ((5,), 2, None, True),
    ((5,), 1, None, False),
    ((5,), 0, None, False),
    ((5,), math.inf, None, False),
    ((5,), -math.inf, None, False),
    ((5,), 3, None, False),
    ((5,), 0.5, None, False),
    ((5,), -1.5, None, False),
    ((2, 3, 4), None, None, True),
    ((2, 3, 4), None, 1, False),
    ((2, 3, 4), 1, -1, True),
    ((2, 3, 4), math.inf, 0, False),
    ((2, 3, 4), 4, 2, False),
    ((3, 4), "fro", None, False),
    ((3, 4), "nuc", None, True),
    ((3, 4), 2, None, False),
    ((3, 4), -2, None, False),
    ((3, 4), 1, None, False),
    ((3, 4), -1, None, False),
    ((3, 4), math.inf, None, False),
    ((3, 4), -math.inf, None, True),
    ((2, 3, 4), "fro", (2, 0), False),
    ((2, 3, 4), "nuc", (-1, 0), True),
    ((2, 3, 4), 2, (0, 1), False),
    ((2, 3, 4), -1, (2, 1), True),
    ((2, 3, 4), math.inf, (0, 2), False),
    ((2, 3, 4), -math.inf, (2, 0), False),
]


@pytest.mark.parametrize(("shape", "ord", "axis", "keepdims"), NORM_CASES)
def test_norm_values_and_gradients_equal_numpy_and_autograd(shape, ord, axis, keepdims):  # noqa: A002
    x = rng(len(shape)).permutation(np.arange(1, math.prod(shape) + 1) * 0.37).reshape(shape)  # no ties, no 0
    x = x * np.where(rng(1).random(shape) < 0.5, -1, 1)
    mine = la.norm(x, ord, axis, keepdims)
    expected = np.linalg.norm(x, ord, axis, keepdims)
    assert np.shape(mine) == np.shape(expected)
    np.testing.assert_allclose(mine, expected, rtol=1e-12)
    weights = normal(rng(2), *np.shape(expected))
    g = mg.grad(lambda x: mg.sum(la.norm(x, ord, axis, keepdims) * weights))(x)
    if ord == 0:
        np.testing.assert_array_equal(g, np.zeros(shape))  # a count: no gradient
        return
    reference = agrad(lambda x: anp.sum(anp.reshape(_autograd_norm(x, ord, axis), np.shape(weights)) * weights))(x)
    np.testing.assert_allclose(g, reference, rtol=1e-9, atol=1e-12)


def _autograd_norm(x, ord, axis):  # noqa: A002
    """NumPy's definitions of the norms written in autograd.numpy (autograd differentiates only a few
    of them itself): an independent oracle for the values and the gradients."""
    if axis is None and ord is None:
        return anp.sqrt(anp.sum(x * x))
    if axis is None:
        axis = (0,) if x.ndim == 1 else (0, 1)
    if not isinstance(axis, tuple):
        axis = (axis,)
    if len(axis) == 1:
        ax, a = axis[0], anp.abs(x)
        if ord in (None, 2):
            return anp.sqrt(anp.sum(x * x, axis=ax))
        if ord == math.inf:
            return anp.max(a, axis=ax)
        if ord == -math.inf:
            return anp.min(a, axis=ax)
        return anp.sum(a**ord, axis=ax) ** (1.0 / ord)
    m = anp.moveaxis(x, axis, (-2, -1))
    if ord in (None, "fro"):
        return anp.sqrt(anp.sum(m * m, axis=(-2, -1)))
    if ord in ("nuc", 2, -2):
        s = anp.linalg.svd(m, compute_uv=False)
        return {"nuc": anp.sum, 2: anp.max, -2: anp.min}[ord](s, axis=-1)
    if ord in (1, -1):
        sums = anp.sum(anp.abs(m), axis=-2)
    else:
        sums = anp.sum(anp.abs(m), axis=-1)
    return (anp.max if ord in (1, math.inf) else anp.min)(sums, axis=-1)


def test_norm_of_integers_and_array_api_names():
    x = np.arange(6).reshape(2, 3)
    assert la.norm(x) == np.linalg.norm(x)
    r = normal(rng(), 2, 3, 4)
    for ord_ in (2, 1, math.inf, 3):
        np.testing.assert_allclose(
            la.vector_norm(r, axis=(0, 2), keepdims=True, ord=ord_),
            np.linalg.vector_norm(r, axis=(0, 2), keepdims=True, ord=ord_),
        )
        np.testing.assert_allclose(la.vector_norm(r, ord=ord_), np.linalg.vector_norm(r, ord=ord_))
    np.testing.assert_allclose(la.vector_norm(r, axis=1), np.linalg.vector_norm(r, axis=1))
    for ord_ in ("fro", "nuc", 2, -1):
        np.testing.assert_allclose(
            la.matrix_norm(r, ord=ord_, keepdims=True), np.linalg.matrix_norm(r, ord=ord_, keepdims=True)
        )


# ----- gradients against HIPS autograd, first and second order ------------------------------------------
W3 = normal(rng(99), 3, 3)


def _sym(b):
    return (b + b.T) / 2


CASES = {
    # name: (matgrad function, autograd function, input maker)
    "inv": (lambda a: mg.sum(la.inv(a) * W3), lambda a: anp.sum(anp.linalg.inv(a) * W3), invertible),
    "det": (lambda a: la.det(a) ** 2, lambda a: anp.linalg.det(a) ** 2, invertible),
    "slogdet": (lambda a: la.slogdet(a)[1] ** 2, lambda a: anp.linalg.slogdet(a)[1] ** 2, invertible),
    "logdet": (
        lambda b: la.logdet(b @ b.T + 3 * np.eye(3)),
        lambda b: anp.linalg.slogdet(anp.dot(b, b.T) + 3 * np.eye(3))[1],
        normal,
    ),
    "solve": (
        lambda a: mg.sum(la.solve(a, W3[:, :2] + a[:, 1:] ** 2) * W3[:, 1:]),
        lambda a: anp.sum(anp.linalg.solve(a, W3[:, :2] + a[:, 1:] ** 2) * W3[:, 1:]),
        invertible,
    ),
    "cholesky": (
        lambda b: mg.sum(la.cholesky(b @ b.T + 3 * np.eye(3)) * W3),
        lambda b: anp.sum(anp.linalg.cholesky(anp.dot(b, b.T) + 3 * np.eye(3)) * W3),
        normal,
    ),
    "eigh": (  # gauge-free: eigenvalues and V f(Λ) Vᵀ, of a symmetric parametrization
        lambda b: _eigh_loss(la.eigh((b + b.T) / 2 + np.diag([0.0, 3.0, 6.0])), mg),
        lambda b: _eigh_loss(anp.linalg.eigh((b + b.T) / 2 + np.diag([0.0, 3.0, 6.0])), anp),
        normal,
    ),
    "svd": (
        lambda a: _svd_loss(la.svd(a, full_matrices=False), mg),
        lambda a: _svd_loss(anp.linalg.svd(a, full_matrices=False), anp),
        lambda r, n, _: separated_singular(r, 4, n - 1),
    ),
    "svd-wide": (
        lambda a: _svd_loss(la.svd(a.T, full_matrices=False), mg),
        lambda a: _svd_loss(anp.linalg.svd(a.T, full_matrices=False), anp),
        lambda r, n, _: separated_singular(r, 4, n - 1),
    ),
    "singular values": (
        lambda a: mg.sum(la.svd(a, compute_uv=False) ** 3),
        lambda a: anp.sum(anp.linalg.svd(a, compute_uv=False) ** 3),
        separated_singular,
    ),
    "pinv": (
        lambda a: mg.sum(la.pinv(a) * W3[:2]),
        lambda a: anp.sum(anp.linalg.pinv(a) * W3[:2]),
        lambda r, n, _: separated_singular(r, n, n - 1),
    ),
    "matrix_power": (
        lambda a: mg.sum(la.matrix_power(a, 3) * W3) + mg.sum(la.matrix_power(a, -2) * W3.T),
        lambda a: (
            anp.sum(anp.dot(anp.dot(a, a), a) * W3)  # autograd has no matrix_power gradient
            + anp.sum(anp.dot(anp.linalg.inv(a), anp.linalg.inv(a)) * W3.T)
        ),
        invertible,
    ),
    "norm-nuc": (lambda a: la.norm(a, "nuc"), lambda a: anp.linalg.norm(a, "nuc"), separated_singular),
    "norm-2": (lambda a: la.norm(a, 2) ** 2, lambda a: _autograd_norm(a, 2, None) ** 2, separated_singular),
    "norm-fro": (lambda a: la.norm(a, "fro") ** 3, lambda a: anp.linalg.norm(a, "fro") ** 3, normal),
    "norm-vector": (
        lambda a: mg.sum(la.norm(a, axis=0) ** 3),
        lambda a: anp.sum(anp.linalg.norm(a, axis=0) ** 3),
        normal,
    ),
}


def _eigh_loss(result, lib):
    w, v = result
    return lib.sum(w**3) + lib.sum(((v * lib.sin(w)) @ v.T) * W3)


def _svd_loss(result, lib):
    u, s, vh = result
    return lib.sum(s**2) + lib.sum((u * s) @ vh * 0.5) + lib.sum((u @ vh) ** 2 * 0.1)


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_and_hessian_equal_autograds(name):
    mine, theirs, make = CASES[name]
    x = make(rng(7), 3, 3)
    np.testing.assert_allclose(mg.grad(mine)(x), agrad(theirs)(x), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mg.hessian(mine)(x), ahessian(theirs)(x), rtol=1e-7, atol=1e-9)


def test_closed_forms_of_the_matrix_cookbook():
    a = invertible(rng(3), 3, 3)
    inverse_t = np.linalg.inv(a).T
    np.testing.assert_allclose(mg.grad(la.det)(a), np.linalg.det(a) * inverse_t, rtol=1e-12)
    np.testing.assert_allclose(mg.grad(lambda a: la.slogdet(a)[1])(a), inverse_t, rtol=1e-12)
    s = spd(rng(3), 3, 3)
    np.testing.assert_allclose(mg.grad(la.logdet)(s), np.linalg.inv(s).T, rtol=1e-12)
    # d(X⁻¹) = −X⁻¹ dX X⁻¹, in forward mode
    t = normal(rng(4), 3, 3)
    np.testing.assert_allclose(mg.jvp(la.inv, (a,), (t,))[1], -np.linalg.inv(a) @ t @ np.linalg.inv(a), rtol=1e-12)
    # ‖x‖: x / ‖x‖
    x = normal(rng(5), 4)
    np.testing.assert_allclose(mg.grad(la.norm)(x), x / np.linalg.norm(x), rtol=1e-13)
    # nuclear norm of a full-rank matrix: U Vᵀ
    m = separated_singular(rng(6), 4, 3)
    u, _, vh = np.linalg.svd(m, full_matrices=False)
    np.testing.assert_allclose(mg.grad(lambda m: la.norm(m, "nuc"))(m), u @ vh, rtol=1e-10)


def test_solve_uses_solves_not_inverses(monkeypatch):
    """solve's rules are solves with Aᵀ (and with A): no inverse is formed, in either mode."""
    a, b = invertible(rng(), 2, 3, 3), normal(rng(1), 3, 2)
    monkeypatch.setattr(mg.TABLE["inv"], "forward", lambda *args: pytest.fail("solve's rules called inv"))
    f = lambda a, b: mg.sum(la.solve(a, b) ** 2)
    ga, gb = mg.grad(f, argnums=(0, 1))(a, b)
    x = np.linalg.solve(a, b)
    gx = 2 * x
    lam = np.linalg.solve(np.swapaxes(a, -1, -2), gx)  # A⁻ᵀ G
    np.testing.assert_allclose(gb, lam.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ga, -lam @ np.swapaxes(x, -1, -2), rtol=1e-12)
    mg.jvp(lambda a, b: la.solve(a, b), (a, b), (a, b))
    mg.hessian(lambda b: mg.sum(la.solve(a[0], b) ** 2))(b)


# ----- conventions ----------------------------------------------------------------------------------------
def test_cholesky_and_eigh_read_one_triangle_and_so_does_the_gradient():
    s = spd(rng(), 3, 3)
    weights = normal(rng(1), 3, 3)
    for upper in (False, True):
        g = mg.grad(lambda a, upper=upper: mg.sum(la.cholesky(a, upper=upper) * weights))(s)
        other_side = np.tril(g, -1) if upper else np.triu(g, 1)
        np.testing.assert_array_equal(other_side, 0)
    for uplo in ("L", "U"):
        g = mg.grad(lambda a, uplo=uplo: mg.sum(la.eigh(a, UPLO=uplo)[0] * np.arange(3.0)))(s)
        other_side = np.triu(g, 1) if uplo == "L" else np.tril(g, -1)
        np.testing.assert_array_equal(other_side, 0)
        # eigenvalues: ∂w_i/∂A = v_i v_iᵀ, folded onto the triangle read (2× off the diagonal)
        _, v = np.linalg.eigh(s)
        symmetric = (v * np.arange(3.0)) @ v.T
        folded = np.where(np.eye(3, dtype=bool), symmetric, 2 * symmetric)
        folded = np.tril(folded) if uplo == "L" else np.triu(folded)
        np.testing.assert_allclose(g, folded, rtol=1e-10, atol=1e-12)


def test_symmetric_directions_agree_with_the_symmetrized_convention():
    """⟨gradient, dA⟩ for a symmetric dA is the same as JAX/PyTorch's symmetrized gradient gives."""
    s, d = spd(rng(2), 3, 3), _sym(normal(rng(3), 3, 3))
    weights = normal(rng(4), 3, 3)
    f = lambda a: mg.sum(la.cholesky(a) * weights)
    autograd_f = lambda a: anp.sum(anp.linalg.cholesky(a) * weights)
    np.testing.assert_allclose(np.sum(mg.grad(f)(s) * d), np.sum(agrad(autograd_f)(s) * d), rtol=1e-10)
    np.testing.assert_allclose(np.sum(mg.grad(f)(s) * d), mg.jvp(f, (s,), (d,))[1], rtol=1e-10)


def test_repeated_eigenvalues_exact_for_eigenvalue_functions_and_finite_by_convention():
    """1/(λⱼ − λᵢ) is set to 0 where λᵢ = λⱼ to within n·ε·max|λ| (the computed pair of a double
    eigenvalue differs by rounding): functions of the eigenvalues stay exact, the rest finite."""
    q = np.linalg.qr(normal(rng(5), 3, 3))[0]
    a = _sym((q * np.array([2.0, 2.0, 5.0])) @ q.T)
    w_true, v_true = np.linalg.eigh(a)
    assert 0 < abs(w_true[0] - w_true[1]) < 1e-14  # a double eigenvalue, as computed
    fold = lambda sym: np.tril(np.where(np.eye(3, dtype=bool), sym, 2 * sym))
    # Σ w³ = tr A³: gradient 3A² (on the lower triangle)
    g = mg.grad(lambda a: mg.sum(la.eigvalsh(a) ** 3))(a)
    np.testing.assert_allclose(g, fold(3 * a @ a), rtol=1e-10, atol=1e-10)
    # an eigenvector function: finite, and the convention's value V (diag(w̄) + F ⊙ VᵀV̄) Vᵀ, F masked
    weights = _sym(normal(rng(6), 3, 3))
    g = mg.grad(lambda a: mg.sum(((la.eigh(a)[1] * np.arange(3.0)) @ la.eigh(a)[1].mT) * weights))(a)
    v_bar = 2 * weights @ v_true * np.arange(3.0)
    gaps = w_true[None, :] - w_true[:, None]
    f = np.zeros((3, 3))
    f[np.abs(gaps) > 1e-12] = 1 / gaps[np.abs(gaps) > 1e-12]
    x = v_true @ (f * (v_true.T @ v_bar)) @ v_true.T
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, np.tril(x + x.T, -1) + np.diag(np.diag(x)), rtol=1e-9, atol=1e-9)
    # exactly equal eigenvalues (a diagonal matrix)
    d = np.diag([1.0, 1.0, 3.0])
    np.testing.assert_array_equal(mg.grad(lambda a: mg.sum(la.eigvalsh(a)))(d), np.eye(3))
    np.testing.assert_allclose(mg.grad(lambda a: mg.sum(la.eigvalsh(a) ** 2))(d), 2 * d)
    hess = mg.hessian(lambda a: mg.sum(la.eigvalsh(a) ** 2))(np.diag([1.0, 2.0, 4.0]))
    assert np.all(np.isfinite(hess))


def test_repeated_and_zero_singular_values_give_finite_exact_gradients():
    d = np.diag([3.0, 3.0, 1.0])
    np.testing.assert_allclose(mg.grad(lambda a: la.norm(a, "nuc"))(d), np.eye(3), atol=1e-15)
    np.testing.assert_allclose(mg.grad(lambda a: mg.sum(la.svdvals(a) ** 2))(d), 2 * d, atol=1e-15)
    # a rank-deficient tall matrix: 1/s for s = 0 is set to 0; Σ s² = ‖A‖² has gradient 2A
    low = np.outer([1.0, 2.0, 0.5, -1.0], [1.0, -1.0, 2.0])
    g = mg.grad(lambda a: mg.sum(la.svdvals(a) ** 2))(low)
    np.testing.assert_allclose(g, 2 * low, atol=1e-12)
    u, s, vh = la.svd(mg.tensor(low, requires_grad=True), full_matrices=False)
    loss = mg.sum((u * s) @ vh * normal(rng(), 4, 3))
    loss.backward()
    assert np.all(np.isfinite(loss.grad if loss.grad is not None else 0))


def test_norm_kinks():
    zero = np.zeros(4)
    np.testing.assert_array_equal(mg.grad(la.norm)(zero), zero)  # the 2-norm's gradient at 0 is 0
    np.testing.assert_array_equal(mg.grad(lambda x: la.norm(x, "fro"))(np.zeros((2, 2))), np.zeros((2, 2)))
    np.testing.assert_array_equal(mg.jvp(la.norm, (zero,), (np.ones(4),))[1], 0.0)
    x = np.array([1.0, -3.0, 3.0, 0.0])
    np.testing.assert_array_equal(mg.grad(lambda x: la.norm(x, math.inf))(x), [0.0, -0.5, 0.5, 0.0])  # tie split
    np.testing.assert_array_equal(mg.grad(lambda x: la.norm(x, 1))(x), [1.0, -1.0, 1.0, 0.0])  # |x|' at 0 is 0
    np.testing.assert_array_equal(mg.grad(lambda x: la.norm(x, 0))(x), np.zeros(4))
    assert la.norm(mg.tensor(x, requires_grad=True), 0).item() == 3.0
    # the spectral norm at a tie of the two largest singular values: the gradient is split evenly
    d = np.diag([2.0, 2.0, 1.0])
    np.testing.assert_allclose(mg.grad(lambda a: la.norm(a, 2))(d), np.diag([0.5, 0.5, 0.0]), atol=1e-15)


def test_det_at_a_singular_matrix_has_a_value_and_a_gradient_but_logdet_is_minus_infinity():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert la.det(singular) == 0.0
    np.testing.assert_allclose(mg.grad(la.det)(singular), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-14)  # cofactors
    assert la.logdet(singular) == -np.inf
    assert np.isnan(la.logdet(-np.eye(3)))
    stack = np.stack([np.eye(2), np.diag([-1.0, 1.0]), 2 * np.eye(2)])  # det 1, −1, 4
    np.testing.assert_array_equal(la.logdet(stack), [0, np.nan, np.log(4)])


def test_pinv_is_differentiated_at_constant_rank():
    """For full rank, pinv = (AᵀA)⁻¹Aᵀ: the gradients agree with that composite."""
    a = separated_singular(rng(8), 4, 2)
    weights = normal(rng(9), 2, 4)
    f = lambda a: mg.sum(la.pinv(a) * weights)
    g = lambda a: mg.sum(la.solve(a.mT @ a, a.mT) * weights)
    np.testing.assert_allclose(mg.grad(f)(a), mg.grad(g)(a), rtol=1e-10)
    np.testing.assert_allclose(mg.hessian(f)(a), mg.hessian(g)(a), rtol=1e-8, atol=1e-10)


def test_svd_full_matrices_gradient_is_refused_for_non_square():
    a = separated_singular(rng(), 3, 2)
    with pytest.raises(ValueError, match=re.escape("svd: full_matrices=True of a 3×2 matrix has no gradient")):
        mg.grad(lambda a: mg.sum(la.svd(a)[1]))(a)
    # square matrices and the singular values alone are fine with the default full_matrices=True
    mg.gradcheck(lambda a: la.svd(a)[0], [separated_singular(rng(), 2, 2)])
    mg.gradcheck(lambda a: la.svd(a, compute_uv=False), [a])


# ----- hypothesis over batch shapes ----------------------------------------------------------------------
@HYPOTHESIS
@given(
    batch=st.lists(st.integers(1, 2), max_size=2),
    n=st.integers(1, 3),
    k=st.sampled_from([None, 1, 2]),
    seed=st.integers(0, 2**16),
)
def test_batched_solve_inv_det_against_numpy_and_finite_differences(batch, n, k, seed):
    r = rng(seed)
    a = invertible(r, *batch, n, n)
    b = normal(r, n) if k is None else normal(r, *batch[1:], n, k)
    np.testing.assert_allclose(la.solve(a, b), np.linalg.solve(a, b), rtol=1e-12)
    mg.gradcheck(la.solve, [a, b], modes=("rev", "fwd"))
    mg.gradcheck(lambda a: la.det(a) * la.slogdet(a)[1], [a])
    mg.dot_product_test(la.inv, [a])


@HYPOTHESIS
@given(
    batch=st.lists(st.integers(1, 2), max_size=1), m=st.integers(1, 3), n=st.integers(1, 3), seed=st.integers(0, 2**16)
)
def test_svd_and_eigh_shapes(batch, m, n, seed):
    r = rng(seed)
    a = separated_singular(r, *batch, m, n)
    mg.gradcheck(lambda a: _svd_gauge_free(la.svd(a, full_matrices=False)), [a])
    s = separated_symmetric(r, *batch, n, n)
    mg.gradcheck(lambda s: mg.reshape(la.eigh(s)[1] ** 2, shape=(-1,)), [s])


def _svd_gauge_free(result):
    u, s, vh = result
    return mg.concatenate([mg.reshape(u @ vh, shape=(-1,)), mg.reshape(s, shape=(-1,))])


# ----- the notation's JVP column (explain's differential reading evaluates it) ---------------------------
OWN_ROWS = [spec for spec in SPECS + NORM_SPECS if spec.via is None]


@pytest.mark.parametrize("spec", OWN_ROWS, ids=[spec.name for spec in OWN_ROWS])
def test_the_notation_jvp_computes_what_the_jvp_rule_computes(spec):
    prim = mg.TABLE[spec.prim]
    inputs, params = spec.inputs(), spec.kwargs()
    out = np.asarray(prim(*inputs, **params))
    shapes = [np.shape(v) for v in inputs]
    for i, x in enumerate(inputs):
        tangent = normal(rng(i + 3), *x.shape)
        expected = np.broadcast_to(prim.jvp[i](tangent, out, *inputs, **params), out.shape)
        env = {"t": tangent, "out": out, **{f"x{j}": v for j, v in enumerate(inputs)}}
        context = {"params": params, "shape": shapes[i], "shapes": shapes, "argnum": i, "inputs": inputs}
        formula = np.broadcast_to(evaluate_formula(prim.notation.jvp[i], env, context), out.shape)
        np.testing.assert_allclose(formula, expected, rtol=1e-9, atol=1e-11, err_msg=f"{spec.name}: input {i}")


def test_explain_reads_every_factorization():
    a, b = spd(rng(), 3, 3), normal(rng(1), 3)

    def loss(a):
        total = la.logdet(a) + mg.sum(la.solve(a, b)) + mg.sum(la.eigvalsh(a) ** 2) + la.norm(a, "nuc")
        return total + mg.sum(la.cholesky(a)) + la.det(a) + mg.sum(la.inv(a)) + mg.sum(la.pinv(a)) + la.norm(a)

    for notation in ("jacobian", "index", "differential"):
        text = str(mg.explain(loss, a, notation=notation))
        assert "nan" not in text.lower()
    assert "⁻ᵀ" in str(mg.explain(la.logdet, a))


# ----- errors ----------------------------------------------------------------------------------------------
def test_errors_name_the_operation_and_the_shapes():
    with pytest.raises(np.linalg.LinAlgError, match=re.escape("inv: needs square matrices in the last two axes")):
        la.inv(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match=r"inv: the matrix is singular.*\(input shapes: \(2, 2\)\)"):
        la.inv(np.ones((2, 2)))
    with pytest.raises(ValueError, match=re.escape("det: needs a matrix or a stack of matrices")):
        la.det(np.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match="solve: the matrix is singular"):
        la.solve(np.zeros((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match=re.escape("solve: a is 3×3 but b has 2 rows")):
        la.solve(np.eye(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="for a stack of vectors write b"):
        la.solve(np.eye(3), np.ones((4, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="cholesky: the matrix is not positive definite"):
        la.cholesky(-np.eye(2))
    with pytest.raises(ValueError, match="eigh: UPLO must be 'L' or 'U'"):
        la.eigh(np.eye(2), UPLO="X")
    with pytest.raises(TypeError, match="matrix_power: the exponent must be an integer"):
        la.matrix_power(np.eye(2), 1.5)
    with pytest.raises(np.linalg.LinAlgError, match="matrix_power: needs square matrices"):
        la.matrix_power(np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="norm: invalid norm order 'fro' for vectors"):
        la.norm(np.ones(3), "fro")
    with pytest.raises(ValueError, match="norm: invalid norm order 3 for matrices"):
        la.norm(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="norm: improper number of dimensions"):
        la.norm(np.ones((2, 2, 2)), 2)
    with pytest.raises(ValueError, match="norm: duplicate axes"):
        la.norm(np.ones((2, 2)), axis=(0, -2))
    with pytest.raises(np.linalg.LinAlgError, match="svd: needs a matrix"):
        la.svd(np.ones(3))


def test_public_names():
    for name in (
        "inv",
        "det",
        "slogdet",
        "solve",
        "cholesky",
        "eigh",
        "eigvalsh",
        "svd",
        "pinv",
        "matrix_power",
        "norm",
        "logdet",
        "matmul",
        "matrix_transpose",
    ):
        assert name in la.__all__ and callable(getattr(la, name))
    assert mg.logdet is la.logdet and P.norm is la.norm


def test_norms_and_svd_of_lists_holding_tensors():
    """HIPS autograd's test_norm_list_of_boxes: d/dx ‖(x, x + 2)‖ at 0 is 2/√4 = 1 (before: NumPy read the
    list's Tensors and refused); the matrix functions take such lists as NumPy's asarray too."""
    for container in (list, tuple):
        assert mg.grad(lambda x, c=container: mg.numpy.linalg.norm(c((x, x + 2.0))))(0.0) == 1.0

    def rows(x):
        return [[x, 2.0, 1.0], [0.5, x * x, -1.0], [3.0, 1.0, 2.0 * x + 4.0]]

    for name in ("norm", "vector_norm", "matrix_norm", "svdvals", "det", "inv"):
        ours = getattr(mg.numpy.linalg, name)
        listed = mg.grad(lambda x, f=ours: mg.sum(f(rows(x))))(0.7)
        stacked = mg.grad(lambda x, f=ours: mg.sum(f(mg.numpy.array(rows(x)))))(0.7)
        assert listed == stacked, name
    u, s, _ = mg.numpy.linalg.svd(rows(mg.tensor(0.7, requires_grad=True)), full_matrices=False)
    assert s.requires_grad and u.shape == (3, 3)


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_det_gradient_at_a_singular_matrix_is_its_cofactor_matrix(rank):
    """det is a polynomial: its gradient, the cofactor matrix, exists where A⁻¹ does not."""
    r = rng(rank)
    a = normal(r, 3, rank) @ normal(r, rank, 3)  # rank < 3: exactly singular, no inverse
    minor = lambda i, j: np.linalg.det(np.delete(np.delete(a, i, axis=0), j, axis=1))
    cofactors = np.array([[(-1) ** (i + j) * minor(i, j) for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(mg.grad(la.det)(a), cofactors, atol=1e-12)
    tangent = normal(r, 3, 3)
    np.testing.assert_allclose(mg.jvp(la.det, (a,), (tangent,))[1], np.sum(cofactors * tangent), atol=1e-12)
    batch = np.stack([a, invertible(r, 3, 3)])  # one singular matrix sends the whole stack to the SVD
    mg.gradcheck(la.det, [batch])


# ----- solve keeps the forward's LU for the backward pass (SciPy present) --------------------------------
@pytest.mark.parametrize("b_shape", [(40,), (40, 3)])
def test_solve_with_the_forward_lu_gives_the_same_derivatives(b_shape):
    """At n ≥ _LU_MIN_SIZE the VJPs and JVPs solve with the forward's LU (trans=1 for Aᵀ)."""
    from matgrad.primitives import decompositions

    assert decompositions._scipy_lu() is not None  # the test extra installs SciPy (through scikit-learn)
    r = rng(5)
    a, b = invertible(r, 40, 40), normal(r, *b_shape)
    calls = []
    lu_factor, lu_solve = decompositions._scipy_lu()
    spy = lambda *args, **kwargs: calls.append(kwargs.get("trans", 0)) or lu_solve(*args, **kwargs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decompositions, "_scipy_lu", lambda: (lu_factor, spy))
        mg.gradcheck(la.solve, [a, b], order=2)
        tangents = (normal(r, 40, 40), normal(r, *b_shape))
        with_lu = mg.jvp(la.solve, (a, b), tangents)[1]  # the primal, which holds its LU, is dropped
        grads = mg.compile(lambda a, b: mg.sum(la.solve(a, b) ** 2), argnums=(0, 1))(a, b)[1]
    assert calls.count(1) >= 2 and calls.count(0) >= 2  # the backward's Aᵀ solves and the JVPs' A solves
    gc.collect()  # graphs and compiled plans hold reference cycles
    assert not decompositions._KEPT_LU  # nothing outlives the results it was kept for
    np.testing.assert_allclose(with_lu, np.linalg.solve(a, tangents[1] - tangents[0] @ np.linalg.solve(a, b)))
    x = np.linalg.solve(a, b)
    np.testing.assert_allclose(grads[1], np.linalg.solve(a.T, 2 * x), rtol=1e-10)


def test_solve_without_scipy_or_below_the_size_takes_numpys_path(monkeypatch):
    from matgrad.primitives import decompositions

    r = rng(6)
    a, b = invertible(r, 40, 40), normal(r, 40)
    with_lu = mg.grad(lambda a: mg.sum(la.solve(a, b)))(a)
    monkeypatch.setattr(decompositions, "_scipy_lu", lambda: None)
    np.testing.assert_allclose(mg.grad(lambda a: mg.sum(la.solve(a, b)))(a), with_lu, rtol=1e-10)
    gc.collect()
    assert not decompositions._KEPT_LU


def test_solve_through_the_lu_names_a_singular_matrix():
    a = np.ones((40, 40))
    with pytest.raises(np.linalg.LinAlgError, match="solve: .*singular"):
        la.solve(a, np.ones(40))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.prim == "solve"], ids=lambda s: s.name)
def test_every_solve_spec_through_the_forward_lu(spec, monkeypatch):
    """The table's solve specs (small matrices) with the LU path forced on: same derivatives."""
    from matgrad.primitives import decompositions

    monkeypatch.setattr(decompositions, "_LU_MIN_SIZE", 1)
    f, args = spec.function(spec.inputs())
    mg.gradcheck(f, args, order=2)
    mg.dot_product_test(f, args)


@pytest.mark.parametrize("seed", range(4))
def test_slogdet_from_the_forward_lu_matches_numpy_sign_and_all(seed, monkeypatch):
    """At n ≥ _LU_MIN_SIZE slogdet reads sign and log|det| off the kept LU (pivot swaps counted),
    and log det's gradient A⁻ᵀ comes from that LU, not a second factorization."""
    from matgrad.primitives import decompositions

    a = normal(rng(seed), 40, 40)  # either sign of the determinant
    sign, logabsdet = la.slogdet(a)
    want_sign, want_log = np.linalg.slogdet(a)
    assert sign == want_sign
    np.testing.assert_allclose(logabsdet, want_log, rtol=1e-12)
    inverted, inverse = [], decompositions.inv
    monkeypatch.setattr(decompositions, "inv", lambda *args: inverted.append(1) or inverse(*args))
    gradient = mg.grad(lambda a: la.slogdet(a)[1])(a)
    assert not inverted  # the LU was reused
    np.testing.assert_allclose(gradient, np.linalg.inv(a).T, rtol=1e-9, atol=1e-12)
    singular = np.ones((40, 40))
    assert tuple(la.slogdet(singular)) == tuple(np.linalg.slogdet(singular))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.prim == "slogdet"], ids=lambda s: s.name)
def test_every_slogdet_spec_through_the_forward_lu(spec, monkeypatch):
    from matgrad.primitives import decompositions

    monkeypatch.setattr(decompositions, "_LU_MIN_SIZE", 1)
    f, args = spec.function(spec.inputs())
    mg.gradcheck(f, args, order=2)
