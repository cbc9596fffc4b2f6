"""Transforms: grad, value_and_grad, vjp, jvp, jacrev, jacfwd, hessian over pytrees; nesting."""

import numpy as np
import pytest

import matgrad as mg

rng = np.random.default_rng(0)
W0, b0, x0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 1)), rng.standard_normal((4, 1))
y0 = rng.uniform(size=(3, 1))


def layer_cost(W, b):
    return 0.5 * ((mg.sigmoid(W @ x0 + b) - y0) ** 2).sum()


def vector_map(x):
    """ℝ⁴ → ℝ^{2×3}: a non-trivial map with an output of rank 2."""
    return mg.tanh(W0[:2, :, None] * x[None, :, None] + 1.0).sum(axis=1) * mg.exp(x[:3])


def numeric_grad(f, args, argnum):
    return mg.numeric_jacobian(lambda *a: np.asarray(f(*a)), [np.array(a, dtype=float) for a in args], argnum, 1e-6)


def test_grad_with_argnums_matches_finite_differences():
    gW, gb = mg.grad(layer_cost, argnums=(0, 1))(W0, b0)
    assert isinstance(gW, np.ndarray) and gW.shape == W0.shape and gb.shape == b0.shape
    np.testing.assert_allclose(gW, numeric_grad(layer_cost, (W0, b0), 0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gb, numeric_grad(layer_cost, (W0, b0), 1), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(mg.grad(layer_cost, argnums=-1)(W0, b0), gb)


def test_value_and_grad_with_aux():
    def f(W, b):
        cost = layer_cost(W, b)
        return cost, {"cost_twice": cost * 2.0}

    (value, aux), g = mg.value_and_grad(f, has_aux=True)(W0, b0)
    np.testing.assert_allclose(value, layer_cost(W0, b0).data)
    np.testing.assert_allclose(aux["cost_twice"], 2 * value)
    assert isinstance(aux["cost_twice"], np.ndarray)
    g_only, aux_only = mg.grad(f, has_aux=True)(W0, b0)
    np.testing.assert_allclose(g_only, g)
    np.testing.assert_allclose(aux_only["cost_twice"], aux["cost_twice"])


def test_grad_over_a_nested_pytree():
    params = {"layers": [{"W": W0, "b": b0}], "scale": (np.array(2.0),)}

    def f(p):
        layer = p["layers"][0]
        return layer_cost(layer["W"], layer["b"]) * p["scale"][0]

    g = mg.grad(f)(params)
    assert set(g) == {"layers", "scale"} and isinstance(g["scale"], tuple)
    gW, gb = mg.grad(layer_cost, argnums=(0, 1))(W0, b0)
    np.testing.assert_allclose(g["layers"][0]["W"], 2 * gW)
    np.testing.assert_allclose(g["layers"][0]["b"], 2 * gb)
    np.testing.assert_allclose(g["scale"][0], layer_cost(W0, b0).data)


def test_grad_refuses_a_non_scalar_function():
    with pytest.raises(TypeError, match="scalar.*jacrev"):
        mg.grad(vector_map)(x0[:, 0])


def test_argnums_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match="argnums=5"):
        mg.grad(layer_cost, argnums=5)(W0, b0)


def test_vjp_and_jvp_agree_with_the_jacobian():
    x = x0[:, 0]
    J = mg.jacrev(vector_map)(x)
    out, f_vjp = mg.vjp(vector_map, x)
    u = rng.standard_normal(out.shape)
    (vjp_u,) = f_vjp(u)
    np.testing.assert_allclose(vjp_u, np.einsum("ij,ijk->k", u, J), rtol=1e-12)
    v = rng.standard_normal(x.shape)
    out2, tangent = mg.jvp(vector_map, (x,), (v,))
    np.testing.assert_allclose(out2, out)
    np.testing.assert_allclose(tangent, J @ v, rtol=1e-12)
    (again,) = f_vjp(u)  # the pullback can be called again
    np.testing.assert_allclose(again, vjp_u)


def test_vjp_rejects_a_cotangent_of_the_wrong_shape():
    _, f_vjp = mg.vjp(vector_map, x0[:, 0])
    with pytest.raises(ValueError, match=r"cotangent has shape \(3,\)"):
        f_vjp(np.ones(3))


@pytest.mark.parametrize(
    "f, shape",
    [
        (vector_map, (4,)),
        (lambda x: mg.softmax(x, axis=-1), (2, 3)),
        (lambda x: (x @ x.T).sum(axis=0), (3, 2)),
        (lambda x: mg.logsumexp(x, axis=0), (3, 2)),
        (lambda x: x[[0, 0, 2]] * 2.0, (3,)),
        (lambda x: (x**3).sum(), (2, 2)),
    ],
)
def test_jacrev_equals_jacfwd_and_finite_differences_with_shape_out_plus_in(f, shape):
    x = rng.standard_normal(shape)
    Jr, Jf = mg.jacrev(f)(x), mg.jacfwd(f)(x)
    out_shape = np.shape(f(x).data)
    assert Jr.shape == out_shape + shape and Jf.shape == out_shape + shape
    np.testing.assert_allclose(Jr, Jf, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Jr, mg.numeric_jacobian(lambda a: f(a).data, [x], 0, 1e-6), rtol=1e-6, atol=1e-9)


def test_jacobians_over_pytrees_and_argnums():
    def f(W, b):
        return {"z": W @ x0 + b, "s": (W**2).sum()}

    Jr = mg.jacrev(f, argnums=(0, 1))(W0, b0)
    Jf = mg.jacfwd(f, argnums=(0, 1))(W0, b0)
    assert Jr["z"][0].shape == (3, 1, 3, 4) and Jr["z"][1].shape == (3, 1, 3, 1)
    assert Jr["s"][0].shape == (3, 4)
    for key in ("z", "s"):
        for a, b in zip(Jr[key], Jf[key]):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(Jr["s"][0], 2 * W0)


def test_hessian_is_symmetric_and_matches_the_closed_form():
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)

    def f(v):  # vᵀAv + Σ exp(v): H = A + Aᵀ + diag(exp v)
        return v @ (A @ v) + mg.exp(v).sum()

    H = mg.hessian(f)(x)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    np.testing.assert_allclose(H, A + A.T + np.diag(np.exp(x)), rtol=1e-12)


def test_hessian_of_the_seed_cost_is_symmetric_and_agrees_with_reverse_over_reverse():
    H = mg.hessian(layer_cost)(W0, b0)
    assert H.shape == W0.shape * 2
    flat = H.reshape(12, 12)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-10, atol=1e-14)
    H_rr = mg.jacrev(mg.grad(layer_cost))(W0, b0)
    np.testing.assert_allclose(H, H_rr, rtol=1e-10, atol=1e-14)


def test_third_order_by_nesting_grad():
    d3 = mg.grad(mg.grad(mg.grad(lambda x: x**5 + mg.tanh(x))))
    x = 0.4
    t = np.tanh(x)
    expected = 60 * x**2 + (-2 * (1 - t**2) ** 2 + 4 * t**2 * (1 - t**2))
    np.testing.assert_allclose(d3(x), expected, rtol=1e-12)


def test_no_perturbation_confusion_between_nested_transforms():
    # d/dx [x · d/dy (x y)] = d/dx x² = 2x: the inner derivative is w.r.t. y only
    f = lambda x: x * mg.grad(lambda y: x * y)(3.0)
    np.testing.assert_allclose(mg.grad(f)(2.0), 4.0)
    # d/dx [ d/dy (x + y) · x ] = 1
    g = lambda x: mg.grad(lambda y: x + y)(1.0) * x
    np.testing.assert_allclose(mg.grad(g)(2.0), 1.0)


def test_transforms_return_tensors_inside_transforms_and_arrays_outside():
    seen = []

    def f(x):
        g = mg.grad(lambda z: (z**3).sum())(x)
        seen.append(type(g))
        return g.sum()

    result = mg.grad(f)(np.array([1.0, 2.0]))
    assert seen == [mg.Tensor] and isinstance(result, np.ndarray)
    np.testing.assert_allclose(result, [6.0, 12.0])


def test_jvp_of_a_function_of_several_pytree_arguments():
    def f(p, x):
        return mg.tanh(p["W"] @ x + p["b"])

    p = {"W": W0, "b": b0}
    tp = {"W": rng.standard_normal(W0.shape), "b": rng.standard_normal(b0.shape)}
    tx = rng.standard_normal(x0.shape)
    _, tangent = mg.jvp(f, (p, x0), (tp, tx))
    z = W0 @ x0 + b0
    expected = (1 - np.tanh(z) ** 2) * (tp["W"] @ x0 + W0 @ tx + tp["b"])
    np.testing.assert_allclose(tangent, expected, rtol=1e-12)


def test_empty_inputs_give_empty_jacobians():
    J = mg.jacrev(lambda x: x * 2.0)(np.zeros((0, 3)))
    assert J.shape == (0, 3, 0, 3)
    assert mg.jacfwd(lambda x: x.sum())(np.zeros((0,))).shape == (0,)


# ----- jacrev with many cotangents in one sweep ----------------------------------------------

X5, A3 = rng.standard_normal((5, 4)), rng.standard_normal((2, 4, 3))
BATCHABLE = {  # graphs of elementwise primitives and matmul, every matmul shape, broadcasting
    "mat @ vec": (lambda x: mg.tanh(W0 @ x), rng.standard_normal(4)),
    "vec @ mat": (lambda x: mg.sigmoid(x @ W0.T) * 2.0, rng.standard_normal(4)),
    "vec @ vec": (lambda x: mg.exp((x @ x) * 0.1) + x, rng.standard_normal(4)),
    "row layout, a bias broadcast over the batch": (
        lambda W: mg.relu(X5 @ W + np.arange(3.0)),
        rng.standard_normal((4, 3)),
    ),
    "column layout, a column broadcast over columns": (lambda b: mg.tanh(W0 @ np.ones((4, 6)) + b) / 3.0, b0),
    "batched matmul, one operand broadcast": (lambda A: mg.softplus(A @ A3), rng.standard_normal((5, 4))),
    "a node used twice, powers and quotients": (lambda x: (x * x) ** 1.5 / (1.0 + mg.abs(x)) - x, rng.uniform(1, 2, 4)),
}


@pytest.mark.parametrize("name", BATCHABLE)
def test_jacrev_in_one_sweep_equals_one_sweep_per_row(name, monkeypatch):
    f, x = BATCHABLE[name]
    from matgrad import reverse

    results = []
    original = reverse.batched_grad_of
    monkeypatch.setattr(mg.transforms, "batched_grad_of", lambda *a: results.append(original(*a)) or results[-1])
    batched = mg.jacrev(f)(x)
    assert results and all(r is not None for r in results), "the batched sweep was not taken"
    monkeypatch.setattr(mg.transforms, "batched_grad_of", lambda *a: None)  # the loop of VJPs
    np.testing.assert_allclose(batched, mg.jacrev(f)(x), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(batched, mg.jacfwd(f)(x), rtol=1e-10, atol=1e-12)


def test_jacrev_in_chunks_and_in_float32(monkeypatch):
    monkeypatch.setattr(mg.transforms, "BATCHED_ELEMENTS", 30)  # 12 output rows of width ≤ 12: chunks of 2
    X, bias = X5.astype(np.float32), np.arange(3, dtype=np.float32)

    def f(W):
        return mg.relu(X @ W + bias)

    x = rng.standard_normal((4, 3))
    J = mg.jacrev(f)(x.astype(np.float32))
    assert J.dtype == np.float32 and J.shape == (5, 3, 4, 3)
    np.testing.assert_allclose(J, mg.jacfwd(f)(x), rtol=1e-5, atol=1e-6)


def test_jacrev_falls_back_to_a_loop_for_other_primitives():
    from matgrad import reverse

    x = rng.standard_normal(6)
    out = mg.softmax(mg.tensor(x, requires_grad=True).reshape(2, 3), axis=0)  # reshape, softmax over axis 0
    assert reverse.batched_grad_of(out, [], np.ones((1, 2, 3))) is None
    f = lambda x: mg.softmax(x.reshape(2, 3), axis=0)
    np.testing.assert_allclose(mg.jacrev(f)(x), mg.jacfwd(f)(x), rtol=1e-10, atol=1e-12)


def test_hessian_is_forward_over_reverse_and_agrees_with_reverse_over_reverse(monkeypatch):
    W = rng.standard_normal((6, 5))
    x = rng.standard_normal(5)
    f = lambda x: mg.tanh(W @ x).sum()
    sweeps = []
    original = mg.transforms.batched_jvp_of
    monkeypatch.setattr(mg.transforms, "batched_jvp_of", lambda *a: sweeps.append(a[3]) or original(*a))
    H = mg.hessian(f)(x)
    t = np.tanh(W @ x)
    np.testing.assert_allclose(H, W.T @ np.diag(-2 * t * (1 - t * t)) @ W, rtol=1e-12, atol=1e-13)
    assert sweeps == [5], "the five tangents should share one forward sweep"
    np.testing.assert_allclose(H, mg.jacrev(mg.jacrev(f))(x), rtol=1e-12, atol=1e-13)


def test_variadic_primitives_are_not_batched_and_still_right():
    f = lambda x: mg.concatenate([x, mg.stack([x * 2.0, x**2]).reshape(2, 3)]).sum(axis=0)
    x = rng.standard_normal((1, 3))
    np.testing.assert_allclose(mg.jacrev(f)(x), mg.jacfwd(f)(x), rtol=1e-12, atol=1e-13)


def test_hessian_method_symbolic_gives_the_closed_form_and_a_bad_method_is_named():
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    f = lambda v: v @ (A @ v)
    np.testing.assert_allclose(mg.hessian(f, method="symbolic")(x), A + A.T, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(mg.hessian(f, method="symbolic")(x), mg.hessian(f)(x), rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="hessian: method must be 'sweep', 'symbolic' or 'auto', got 'exact'"):
        mg.hessian(f, method="exact")
