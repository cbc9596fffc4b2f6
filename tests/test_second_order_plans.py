"""Second order at speed: the factored batch of one-hot tangents in the forward sweep
(``matgrad.forward._Scaled``) and the compiled plan's folding (constants, ``x * 1``, a linear
rule called as its primitive's forward), each checked against an independent result."""

from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad import forward

rng = np.random.default_rng(7)


def closed_form_tanh(W, x):
    t = np.tanh(W @ x)
    return W.T @ ((-2 * t * (1 - t * t))[:, None] * W)


def count_calls(monkeypatch, name):
    calls = []
    original = getattr(forward, name)

    def spy(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(forward, name, spy)
    return calls


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose_with_no_product(monkeypatch):
    A = rng.standard_normal((7, 7))
    x = rng.standard_normal(7)
    products = count_calls(monkeypatch, "_matmul_batched")
    f = lambda x: x @ (A @ x)
    H = mg.hessian(f)(x)
    assert np.array_equal(H, A + A.T), "A e_b is column b of A: the sweep adds Aᵀ and A, nothing else"
    assert products == [], "no product by the identity"
    compiled = mg.compile(mg.hessian(f), transform=True)
    assert np.array_equal(compiled(x), A + A.T) and np.array_equal(compiled(x + 1), A + A.T)
    text = next(iter(compiled.plans.values())).text
    assert "matmul" not in text, text


def test_hessian_of_tanh_takes_one_product_not_two(monkeypatch):
    W = rng.standard_normal((6, 5))
    x = rng.standard_normal(5)
    products = count_calls(monkeypatch, "_matmul_batched")
    H = mg.hessian(lambda x: mg.tanh(W @ x).sum())(x)
    np.testing.assert_allclose(H, closed_form_tanh(W, x), rtol=1e-12, atol=1e-13)
    assert len(products) == 1, "W e_b is a column of W; only the product by W after the scaling is computed"


@pytest.mark.parametrize(
    "f",
    [
        lambda x: mg.sum(mg.sin(x) * mg.exp(x) - x * x / 3),  # elementwise chains, two uses of one input
        lambda x: mg.sum(mg.tanh(x.reshape((2, 3)) @ np.arange(6.0).reshape(3, 2))),  # a matrix tangent
        lambda x: mg.sum(mg.sigmoid(x.reshape((1, 6)) @ np.linspace(-1, 1, 18).reshape(6, 3))),  # a row @ B
        lambda x: mg.sum(mg.relu(x + np.arange(6.0) - 2.5) ** 2),  # a mask, a broadcast constant
        lambda x: mg.sum(mg.tanh(x * np.arange(1.0, 4.0).reshape(3, 1))),  # the node wider than the input
    ],
)
def test_factored_sweep_equals_the_dense_one_and_finite_differences(f):
    x = rng.standard_normal(6)
    H = mg.hessian(f)(x)
    with mg.detect_anomaly():  # anomaly checks make every batch dense: the plain sweep
        dense = mg.hessian(f)(x)
    np.testing.assert_allclose(H, dense, rtol=1e-12, atol=1e-12)
    step = 1e-5
    columns = [(mg.grad(f)(x + step * e) - mg.grad(f)(x - step * e)) / (2 * step) for e in np.eye(len(x))]
    np.testing.assert_allclose(H, np.stack(columns, axis=1), rtol=1e-5, atol=1e-6)


def test_a_change_of_precision_keeps_the_batch_dense_where_it_must():
    f = lambda x: mg.sum(mg.tanh(x.astype(np.float32)).astype(np.float64) * x)
    x = rng.standard_normal(6)
    H = mg.hessian(f)(x)
    with mg.detect_anomaly():
        dense = mg.hessian(f)(x)
    assert H.dtype == dense.dtype == np.float64
    np.testing.assert_allclose(H, dense, rtol=1e-6, atol=1e-6)
    t = np.tanh(x)
    np.testing.assert_allclose(H, np.diag(2 * (1 - t * t) - 2 * x * t * (1 - t * t)), rtol=1e-5, atol=1e-5)


def test_chunks_are_factored_but_not_taken_for_the_identity(monkeypatch):
    monkeypatch.setattr(mg.transforms, "BATCHED_TANGENT_ELEMENTS", 12)  # nodes of 6 entries: chunks of 2
    W = rng.standard_normal((6, 6))
    x = rng.standard_normal(6)
    products = count_calls(monkeypatch, "_matmul_batched")
    H = mg.hessian(lambda x: mg.tanh(W @ x).sum())(x)
    np.testing.assert_allclose(H, closed_form_tanh(W, x), rtol=1e-12, atol=1e-13)
    assert len(products) == 6, "three chunks, two products each: a chunk is not the whole basis"


def test_hvp_plan_keeps_three_products_and_no_dispatch():
    W = rng.standard_normal((8, 8))
    f = lambda x, W: mg.sum(mg.tanh(W @ x))

    def hvp(x, v, W):
        return mg.hvp(lambda y: f(y, W), (x,), (v,))[1]

    compiled = mg.compile(hvp, transform=True)
    x, v = rng.standard_normal(8), rng.standard_normal(8)
    for scale in (1.0, 2.0):
        assert np.array_equal(compiled(scale * x, v, W), hvp(scale * x, v, W))
    t = np.tanh(W @ x)
    np.testing.assert_allclose(compiled(x, v, W), W.T @ (-2 * t * (1 - t * t) * (W @ v)), rtol=1e-12)
    text = next(iter(compiled.plans.values())).text
    assert text.count("# matmul") == 3, text  # W x, W v and the product back: not the gradient's own Wᵀg
    assert "linear_jvp" not in text, text  # a linear rule is its primitive's forward, called directly
    assert "fw" in text, text  # the recorded gradient's steps, each its primitive's forward
    assert ".reshape(" not in text, text  # a single vector's product back is g @ W, not a reshaped GEMM
    assert text.count("# multiply") == 1, text  # d(t ⊙ t) = ṫ ⊙ t + t ⊙ ṫ: the second product is the first
    assert "# mul\n" not in text and "# sub" not in text, text  # 1 − t ⊙ t: read by no rule the plan calls


def test_unread_positions_are_the_parameters_no_instruction_reads():
    from matgrad.compile.transform import _unread_positions

    def captured(t, out, x):
        return lambda: x + t  # x and t are read by the inner function

    def rebinds(t, out, x):
        x = t
        return x

    assert _unread_positions(lambda t, out, x, y: -t) == {1, 2, 3}
    assert _unread_positions(lambda t, out, x: t * out) == {2}
    assert _unread_positions(captured) == {1}
    assert _unread_positions(rebinds) == {1}  # a store counts as a use: never passed None by mistake
    assert _unread_positions(lambda *args: args[0]) == set()
    assert _unread_positions(np.multiply) == set()  # not Python code: every argument is read


def test_plan_shares_a_repeated_ufunc_step_and_keeps_the_order_where_it_matters():
    def f(x, y):
        return mg.sum((x * y) * (y * x)) + mg.sum((x - y) * (y - x)) + mg.sum(mg.exp(x) + mg.exp(x))

    gradient = mg.grad(f, argnums=(0, 1))
    compiled = mg.compile(gradient)
    for scale in (1.0, -3.0):
        x, y = scale * rng.standard_normal(5), rng.standard_normal(5)
        oracles = (2 * x * y * y - 2 * (x - y) + 2 * np.exp(x), 2 * x * x * y + 2 * (x - y))
        for got, want, oracle in zip(compiled(x, y), gradient(x, y), oracles):
            assert np.array_equal(got, want)
            np.testing.assert_allclose(got, oracle, rtol=1e-12)
    text = next(iter(compiled.plans.values())).text
    forward = text.split("_vjp")[0]  # the recorded forward, before the first rule of the backward sweep
    assert forward.count("# mul") == 3, text  # x ⊙ y once (y ⊙ x is it), its square, (x − y) ⊙ (y − x)
    assert forward.count("# sub") == 2, text  # x − y and y − x are not the same step
    assert forward.count("# exp") == 1, text


def test_plan_folds_multiplications_by_one_only_where_nothing_widens():
    def f(x):
        return mg.sum(x * np.ones(3)) + mg.sum(mg.sin(x) * np.ones((2, 3)))  # the second widens x

    compiled = mg.compile(mg.grad(f), transform=True)
    for x in (rng.standard_normal(3), rng.standard_normal(3)):
        got = compiled(x)
        assert np.array_equal(got, mg.grad(f)(x))
        np.testing.assert_allclose(got, 1 + 2 * np.cos(x), rtol=1e-14)
    assert compiled.traces == 1 and not compiled.fallbacks


def test_compiled_call_with_arrays_only_and_with_containers_agree():
    W = rng.standard_normal((4, 4))
    compiled = mg.compile(mg.hessian(lambda x, W: mg.tanh(W @ x).sum()), transform=True)
    x = rng.standard_normal(4)
    fast = compiled(x, W)
    compiled_tree = mg.compile(mg.hessian(lambda p: mg.tanh(p["W"] @ p["x"]).sum()), transform=True)
    tree = compiled_tree({"x": x, "W": W})
    np.testing.assert_allclose(fast, closed_form_tanh(W, x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(tree["x"]["x"], fast, rtol=1e-12, atol=1e-13)
    assert np.array_equal(compiled(x, W), fast) and compiled.traces == 1
    assert compiled(mg.Tensor(x), W).shape == (4, 4)  # a Tensor argument: the general signature


def test_a_jacobian_read_off_a_constant_is_a_copy_of_it():
    W = rng.standard_normal((4, 3))
    J = mg.jacfwd(lambda x: W @ x)(rng.standard_normal(3))
    assert np.array_equal(J, W) and not np.shares_memory(J, W) and J.flags.c_contiguous
    J[0, 0] = 100.0
    assert W[0, 0] != 100.0


@pytest.mark.parametrize("fn", ["tanh", "quadratic", "logistic"])
def test_benchmark_closed_form_rows_match_hand_numpy(fn):
    from benchmarks import second_order
    from benchmarks.peers.matgrad_engine import second_order_impl
    from benchmarks.workload import Spec

    spec = Spec(f"second/hessian-symbolic/{fn}/n9", second_order.GROUP, "closed form", "second_order",
                args={"fn": fn, "mode": "hessian-symbolic", "n": 9})
    impl = second_order_impl(spec, lambda f: f)
    state = impl.setup()
    got = impl.outputs(state, impl.step(state))["hessian"]
    x, constants, _ = state
    np.testing.assert_allclose(got, second_order.closed_form_hessian(fn, x, constants), rtol=1e-10, atol=1e-13)
    assert impl.note == "closed form"
