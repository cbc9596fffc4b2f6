"""argnums naming one argument twice gives its derivative twice, as JAX does (it once gave zeros for
the first copy: a silent wrong gradient)."""

import numpy as np
import pytest

import matgrad as mg

X = np.array([0.3, -0.2, 0.7])
Y = np.array([1.0, 2.0, -0.5])


def f(x, y):
    return mg.sum(mg.tanh(x) * y**2 + x * x * y)


def vector_f(x, y):
    return mg.tanh(x) * y + x * x


@pytest.mark.parametrize("transform, function", [
    (mg.grad, f), (mg.jacrev, vector_f), (mg.jacfwd, vector_f), (mg.hessian, f),
])
def test_each_copy_of_a_repeated_argnum_is_the_full_derivative(transform, function):
    single = transform(function, argnums=0)(X, Y)
    other = transform(function, argnums=1)(X, Y)
    repeated = transform(function, argnums=(0, 1, 0))(X, Y)
    assert len(repeated) == 3
    if transform is mg.hessian:  # blocks [i][j]: ∂²f/∂xᵢ∂xⱼ with x₀ = x₂ = x
        np.testing.assert_allclose(repeated[0][0], single, rtol=1e-12)
        np.testing.assert_allclose(repeated[2][2], single, rtol=1e-12)
        np.testing.assert_allclose(repeated[0][2], single, rtol=1e-12)
        np.testing.assert_allclose(repeated[1][1], other, rtol=1e-12)
        return
    np.testing.assert_allclose(repeated[0], single, rtol=1e-12)
    np.testing.assert_allclose(repeated[2], single, rtol=1e-12)
    np.testing.assert_allclose(repeated[1], other, rtol=1e-12)


def test_a_repeated_argnum_against_finite_differences():
    value, (gx, _, gx_again) = mg.value_and_grad(f, argnums=(0, 1, 0))(X, Y)
    h = 1e-6
    numeric = np.array([(float(f(X + h * e, Y)) - float(f(X - h * e, Y))) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(gx, numeric, rtol=1e-7)
    np.testing.assert_array_equal(gx, gx_again)
    assert value == pytest.approx(float(f(X, Y)))


def test_per_example_grad_with_a_repeated_argnum():
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))

    def loss(W, x):
        return mg.sum(mg.tanh(x @ W) ** 2)

    single = mg.per_example_grad(loss, argnums=0)(W, X)
    first, second = mg.per_example_grad(loss, argnums=(0, 0))(W, X)
    np.testing.assert_array_equal(first, single)
    np.testing.assert_array_equal(second, single)
