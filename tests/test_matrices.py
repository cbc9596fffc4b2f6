"""Matrix structure: trace, diagonal, diag, diagflat, tril, triu, eye, identity; values against
NumPy, gradients against finite differences, HIPS autograd and the Matrix Cookbook."""

from __future__ import annotations

import re
from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matgrad as mg
from matgrad.primitives import matrices
from table_specs import HYPOTHESIS, normal

seeds = st.integers(0, 2**32 - 1)


def check_derivatives(f: Any, args: list) -> None:
    mg.gradcheck(f, args, order=2, modes=("rev", "fwd"))
    mg.dot_product_test(f, args)


def against_autograd(f: Any, af: Any, x: np.ndarray, seed: int = 0) -> None:
    w = normal(np.random.default_rng(seed), *np.shape(np.asarray(f(x))))
    ours = mg.grad(lambda x: mg.sum(f(x) * w))(x)
    theirs = agrad(lambda x: anp.sum(af(x) * w))(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@st.composite
def planes(draw: Any) -> tuple[tuple[int, ...], int, int, int]:
    """A shape of 2 or 3 axes (some maybe empty), two distinct (maybe negative) axes, an offset."""
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=3))
    ndim = len(shape)
    axis1, axis2 = draw(st.permutations(range(ndim)))[:2]
    axis1 -= ndim * draw(st.booleans())
    axis2 -= ndim * draw(st.booleans())
    return shape, axis1, axis2, draw(st.integers(-3, 3))


@pytest.mark.parametrize("name", ["trace", "diagonal"])
@HYPOTHESIS
@given(case=planes(), seed=seeds)
def test_trace_and_diagonal_every_plane(name, case, seed):
    shape, axis1, axis2, offset = case
    x = normal(np.random.default_rng(seed), *shape)
    f = lambda x: getattr(mg, name)(x, offset, axis1, axis2)
    expected = getattr(np, name)(x, offset, axis1, axis2)
    np.testing.assert_allclose(f(x), expected)
    assert np.shape(f(x)) == expected.shape
    check_derivatives(f, [x])


def test_trace_diagonal_diag_against_autograd_where_it_has_rules():
    """autograd's rules cover less: trace of a matrix, diagonal (0, -1, -2), diag of a square matrix."""
    r = np.random.default_rng(9)
    x, batch, v = normal(r, 3, 4), normal(r, 2, 3, 3), normal(r, 3)
    for offset in (-1, 0, 2):
        against_autograd(lambda x, o=offset: mg.trace(x, o), lambda x, o=offset: anp.trace(x, o), x)
    against_autograd(lambda y: mg.diagonal(y, 0, -1, -2), lambda y: anp.diagonal(y, 0, -1, -2), batch)
    for k in (-1, 0, 1):
        against_autograd(lambda v, k=k: mg.diag(v, k), lambda v, k=k: anp.diag(v, k), v)
        against_autograd(lambda m, k=k: mg.diag(m, k), lambda m, k=k: anp.diag(m, k), batch[0])


@pytest.mark.parametrize("name", ["tril", "triu"])
@HYPOTHESIS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), k=st.integers(-3, 3), seed=seeds)
def test_triangles_every_shape(name, shape, k, seed):
    x = normal(np.random.default_rng(seed), *shape)
    f = lambda x: getattr(mg, name)(x, k)
    np.testing.assert_array_equal(f(x), getattr(np, name)(x, k))
    check_derivatives(f, [x])
    if len(shape) >= 2:  # autograd's rule keeps a 1-D input's broadcast rows
        against_autograd(f, lambda x: getattr(anp, name)(x, k), x, seed % 1000)


@HYPOTHESIS
@given(n=st.integers(0, 4), k=st.integers(-3, 3), seed=seeds)
def test_diag_both_directions(n, k, seed):
    r = np.random.default_rng(seed)
    v, m = normal(r, n), normal(r, n, n + 1)
    np.testing.assert_array_equal(mg.diag(v, k), np.diag(v, k))
    np.testing.assert_array_equal(mg.diag(m, k), np.diag(m, k))
    np.testing.assert_array_equal(mg.diagflat(m, k), np.diagflat(m, k))
    for f, x in [(lambda v: mg.diag(v, k), v), (lambda m: mg.diag(m, k), m)]:
        check_derivatives(f, [x])
    check_derivatives(lambda m: mg.diagflat(m, k), [m])


def test_trace_gradient_is_g_times_identity():
    x = normal(np.random.default_rng(0), 3, 4)
    np.testing.assert_array_equal(mg.grad(mg.trace)(x), np.eye(3, 4))
    np.testing.assert_array_equal(mg.grad(lambda x: 2.5 * mg.trace(x, 1))(x), 2.5 * np.eye(3, 4, k=1))
    _, pullback = mg.vjp(lambda x: mg.trace(x, axis1=1, axis2=2), normal(np.random.default_rng(1), 2, 3, 3))
    g = np.array([2.0, -1.0])
    np.testing.assert_array_equal(pullback(g)[0], g[:, None, None] * np.eye(3))


def test_trace_of_a_x_b_has_gradient_a_transpose_b_transpose():
    r = np.random.default_rng(2)
    a, x, b = normal(r, 2, 3), normal(r, 3, 4), normal(r, 4, 2)
    np.testing.assert_allclose(mg.grad(lambda x: mg.trace(a @ x @ b))(x), a.T @ b.T, rtol=1e-12)
    # ∂ tr(XᵀX)/∂X = 2X and ∂ tr(AX)/∂X = Aᵀ (the Matrix Cookbook, eqs. 100 and 103)
    np.testing.assert_allclose(mg.grad(lambda x: mg.trace(x.T @ x))(x), 2 * x, rtol=1e-12)
    c = normal(r, 4, 3)
    np.testing.assert_allclose(mg.grad(lambda x: mg.trace(mg.einsum("ij,jk->ik", c, x)))(x), c.T, rtol=1e-12)


def test_diagonal_gradient_scatters_onto_zeros():
    x = normal(np.random.default_rng(3), 3, 4)
    _, pullback = mg.vjp(lambda x: mg.diagonal(x, -1), x)
    np.testing.assert_array_equal(pullback(np.array([1.0, 2.0]))[0], [[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]])
    y = normal(np.random.default_rng(4), 2, 3, 3)  # a batch of 2 along axis 1, the plane (2, 0)
    _, pullback = mg.vjp(lambda y: mg.diagonal(y, 0, 2, 0), y)
    g = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # (batch, diagonal)
    expected = np.zeros((2, 3, 3))
    for b in range(3):
        expected[0, b, 0], expected[1, b, 1] = g[b]  # entries y[i, b, i]
    np.testing.assert_array_equal(pullback(g)[0], expected)


def test_triangle_masks_are_their_own_adjoint():
    x = normal(np.random.default_rng(4), 3, 3)
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(mg.tril(x)))(x), np.tril(np.ones((3, 3))))
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(mg.triu(x, 1)))(x), np.triu(np.ones((3, 3)), 1))
    v = np.array([1.0, 2.0, 3.0])  # a 1-D input is broadcast to rows: each entry collects its column
    np.testing.assert_array_equal(mg.grad(lambda v: mg.sum(mg.tril(v)))(v), [3.0, 2.0, 1.0])


def test_constants_are_plain_numpy_arrays():
    for ours, theirs in [
        (mg.eye(3), np.eye(3)),
        (mg.eye(2, 4, k=1, dtype=np.float32), np.eye(2, 4, k=1, dtype=np.float32)),
        (matrices.identity(3), np.identity(3)),
        (matrices.identity(2, dtype=np.float32), np.identity(2, dtype=np.float32)),
    ]:
        assert type(ours) is np.ndarray and ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    assert mg.primitives.identity is mg.TABLE["identity"]  # the table's identity map is not shadowed


def test_dtype_and_out_of_trace():
    x = normal(np.random.default_rng(5), 3, 3)
    assert mg.trace(x, dtype=np.float32).dtype == np.float32
    assert mg.trace(x.astype(np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="out= is not supported"):
        mg.trace(x, out=np.zeros(()))


def test_bad_planes_and_ranks_are_named():
    with pytest.raises(ValueError, match=re.escape("axis1 and axis2 name the same axis (0, -2)")):
        mg.trace(np.zeros((2, 2)), axis1=0, axis2=-2)
    with pytest.raises(ValueError, match=re.escape("axis 3 is out of bounds for an array of shape (2, 2)")):
        mg.diagonal(np.zeros((2, 2)), axis2=3)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        mg.trace(np.zeros(3))
    with pytest.raises(ValueError, match=re.escape("diag: input must be 1-D or 2-D, got shape (2, 2, 2)")):
        mg.diag(np.zeros((2, 2, 2)))


def test_diag_of_a_list_holding_tensors():
    """``np.diag([x, y])`` builds the diagonal matrix of the stacked entries (before: NumPy read the list's
    shape and refused its Tensors)."""
    jac = mg.jacrev(lambda x: mg.numpy.diag([x, 2.0 * x]))(1.0)
    np.testing.assert_array_equal(jac, [[1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(mg.jacrev(lambda x: mg.numpy.diag([[x, 1.0], [2.0, x * x]]))(3.0), [1.0, 6.0])
