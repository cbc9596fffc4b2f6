"""mg.hvp: the Hessian of a scalar function times a vector, forward over reverse, checked against
the full Hessian and against central differences of the gradient (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.transforms import hvp

rng = np.random.default_rng(0)
A = rng.standard_normal((5, 5))


def tanh_net(x):
    return mg.sum(mg.tanh(x @ A) ** 2)


def quadratic(x):
    return x @ (A @ x)


X = rng.standard_normal((20, 5))
y = (rng.random(20) > 0.5).astype(float)


def logistic(w):
    z = X @ w
    return mg.sum(mg.softplus(z) - y * z) + 0.5 * mg.sum(w * w)


def gradient_differences(f, x, v, h=1e-6):
    g = mg.grad(f)
    return (np.asarray(g(x + h * v)) - np.asarray(g(x - h * v))) / (2 * h)


@pytest.mark.parametrize("f", [tanh_net, quadratic, logistic], ids=lambda f: f.__name__)
def test_hvp_is_the_hessian_times_the_vector(f):
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    value, product = hvp(f, (x,), (v,))
    assert np.isclose(float(np.asarray(value)), float(np.asarray(f(x))))
    np.testing.assert_allclose(product, np.asarray(mg.hessian(f)(x)) @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(product, gradient_differences(f, x, v), rtol=1e-6, atol=1e-6)


def test_the_quadratic_form_has_hessian_a_plus_a_transpose():
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    _, product = hvp(quadratic, (x,), (v,))
    np.testing.assert_allclose(product, (A + A.T) @ v, rtol=1e-12)


def test_several_primals_give_one_product_per_primal():
    def f(x, y):
        return mg.sum(x * x * y) + mg.sum(y**3)

    x, y, u, w = (rng.standard_normal(3) for _ in range(4))
    _, (hx, hy) = hvp(f, (x, y), (u, w))
    # H = [[2 diag(y), 2 diag(x)], [2 diag(x), 6 diag(y)]]
    np.testing.assert_allclose(hx, 2 * y * u + 2 * x * w, rtol=1e-12)
    np.testing.assert_allclose(hy, 2 * x * u + 6 * y * w, rtol=1e-12)


@pytest.mark.parametrize("fn", ["tanh", "quadratic", "logistic"])
def test_second_order_benchmark_references_match_the_transforms(fn):
    """The closed forms the second-order benchmarks time (``benchmarks/second_order.py``) are the
    Hessian and the Hessian-vector product that mg.hessian and mg.hvp compute."""
    from types import SimpleNamespace

    from benchmarks import second_order

    ops = SimpleNamespace(tanh=mg.tanh, sum=mg.sum, softplus=mg.softplus, mean=mg.mean)
    f = second_order.objective(fn, ops)
    x, constants, v = second_order.arrays(fn, 7)
    H = mg.hessian(f)(x, *constants)
    np.testing.assert_allclose(second_order.closed_form_hessian(fn, x, constants), H, rtol=1e-10, atol=1e-13)
    _, Hv = mg.hvp(lambda y: f(y, *constants), (x,), (v,))
    np.testing.assert_allclose(second_order.closed_form_hvp(fn, x, constants, v), Hv, rtol=1e-10, atol=1e-13)
