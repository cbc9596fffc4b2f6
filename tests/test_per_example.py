"""per_example_grad against its oracle: a loop of single-row gradients (float64, tight tolerance)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import matgrad as mg
from matgrad.per_example import PerExampleError, _row_products

N = 6
RTOL, ATOL = 1e-10, 1e-12


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _mlp_params(sizes: tuple[int, ...], dtype: type = np.float64) -> list[np.ndarray]:
    rng = _rng(1)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params += [rng.standard_normal((n_in, n_out)).astype(dtype), rng.standard_normal(n_out).astype(dtype)]
    return params


def _batch(n_in: int, n_out: int, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(2)
    return rng.standard_normal((N, n_in)).astype(dtype), rng.random((N, n_out)).astype(dtype)


def _loop(f, args: tuple, argnums=0):
    """The oracle: mg.grad of f on each row alone, stacked (pytrees by tree_map)."""
    params, batch = args[0] if argnums == 0 else args[: len(argnums)], args[1 if argnums == 0 else len(argnums) :]
    rows = []
    for n in range(N):
        one = tuple(a[n : n + 1] for a in batch)
        call = (params, *one) if argnums == 0 else (*params, *one)
        rows.append(mg.tree_flatten(mg.grad(f, argnums=argnums)(*call))[0])
    return [np.stack(per_leaf) for per_leaf in zip(*rows)]


def _assert_matches(result, expected, rtol=RTOL, atol=ATOL) -> None:
    leaves = mg.tree_flatten(result)[0]
    assert len(leaves) == len(expected)
    for got, want in zip(leaves, expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def sigmoid_mse(params, X, Y):
    W1, b1, W2, b2 = params
    a = mg.sigmoid(mg.sigmoid(X @ W1 + b1) @ W2 + b2)
    return 0.5 * ((a - Y) ** 2).sum()


def sigmoid_mse_mean(params, X, Y):
    W1, b1, W2, b2 = params
    a = mg.sigmoid(mg.sigmoid(X @ W1 + b1) @ W2 + b2)
    return (0.5 * ((a - Y) ** 2).sum(axis=1)).mean()


def relu_ce(params, X, labels):
    W1, b1, W2, b2 = params
    return mg.cross_entropy(mg.relu(X @ W1 + b1) @ W2 + b2, labels)


# ----- agreement with the loop ------------------------------------------------------------
@pytest.mark.parametrize(("f", "reduction"), [(sigmoid_mse, "sum"), (sigmoid_mse_mean, "mean")])
def test_sigmoid_mse_matches_loop(f, reduction):
    params, (X, Y) = _mlp_params((5, 4, 3)), _batch(5, 3)
    result = mg.per_example_grad(f, reduction=reduction)(params, X, Y)
    assert [g.shape for g in result] == [(N,) + p.shape for p in params]
    _assert_matches(result, _loop(f, (params, X, Y)))


def test_sum_rows_add_up_and_mean_rows_average_to_the_batch_gradient():
    params, (X, Y) = _mlp_params((5, 4, 3)), _batch(5, 3)
    summed = mg.per_example_grad(sigmoid_mse)(params, X, Y)
    averaged = mg.per_example_grad(sigmoid_mse_mean, reduction="mean")(params, X, Y)
    for s, a, full_s, full_a in zip(
        summed, averaged, mg.grad(sigmoid_mse)(params, X, Y), mg.grad(sigmoid_mse_mean)(params, X, Y)
    ):
        np.testing.assert_allclose(s.sum(axis=0), full_s, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(a.mean(axis=0), full_a, rtol=RTOL, atol=ATOL)


def test_relu_softmax_cross_entropy_mean_over_labels():
    params = _mlp_params((5, 8, 4))
    X = _batch(5, 4)[0]
    labels = _rng(3).integers(0, 4, size=N)
    result = mg.per_example_grad(relu_ce, reduction="mean")(params, X, labels)
    _assert_matches(result, _loop(relu_ce, (params, X, labels)))


def test_mean_over_every_entry_is_a_mean_over_rows():
    W = _mlp_params((5, 3))[0]
    X, Y = _batch(5, 3)

    def f(W, X, Y):
        return ((X @ W - Y) ** 2).mean()

    _assert_matches(mg.per_example_grad(f, reduction="mean")(W, X, Y), _loop(f, (W, X, Y)))


def _module_loop(net, loss, X, Y):
    """Oracle for modules: backward on each row alone, reading p.grad."""
    rows = []
    for n in range(N):
        net.zero_grad()
        loss(net(X[n : n + 1]), Y[n : n + 1]).backward()
        rows.append([p.grad.copy() for p in net.parameters()])
    net.zero_grad()
    return [np.stack(per_param) for per_param in zip(*rows)]


@pytest.mark.parametrize(
    ("activation", "output", "loss", "labels"),
    [("sigmoid", "sigmoid", mg.nn.MSELoss(), False), ("relu", None, mg.nn.CrossEntropyLoss(), True)],
)
def test_nn_mlp_parameters_are_differentiated_in_place(activation, output, loss, labels):
    net = mg.nn.MLP([5, 7, 3], activation=activation, output_activation=output, seed=0, dtype=np.float64)
    X, Y = _batch(5, 3)
    target = _rng(4).integers(0, 3, size=N) if labels else Y
    per_example = mg.per_example_grad(lambda params, X, Y: loss(net(X), Y), reduction="mean")
    expected = _module_loop(net, loss, X, target)
    _assert_matches(per_example(net.parameters(), X, target), expected)
    named = per_example(dict(net.named_parameters()), X, target)
    assert list(named) == [name for name, _ in net.named_parameters()]
    _assert_matches(named, expected)


def test_shared_weight_used_twice_and_through_its_transpose():
    W = _rng(5).standard_normal((4, 4))
    X, Y = _batch(4, 4)

    def f(W, X, Y):
        h = mg.tanh(X @ W)
        return 0.5 * ((mg.sigmoid(mg.tanh(h @ W) @ W.T) - Y) ** 2).sum()

    _assert_matches(mg.per_example_grad(f)(W, X, Y), _loop(f, (W, X, Y)))


def test_computations_on_parameters_alone_before_they_meet_the_batch():
    rng = _rng(8)
    A, B, s = rng.standard_normal((5, 2)), rng.standard_normal((2, 3)), rng.standard_normal(3)
    X, Y = _batch(5, 3)

    def f(params, X, Y):
        A, B, s = params
        z = X @ (A @ B) * mg.softplus(s) + (2 * B).reshape(6)[:3]
        return 0.5 * ((mg.tanh(z) - Y) ** 2).sum()

    _assert_matches(mg.per_example_grad(f)([A, B, s], X, Y), _loop(f, ([A, B, s], X, Y)))


def test_pytree_params_and_several_argnums():
    W1, b1, W2, b2 = _mlp_params((5, 4, 3))
    X, Y = _batch(5, 3)
    layers = ({"W": W1, "b": b1}, [W2, b2])

    def f(first, second, X, Y):
        h = mg.sigmoid(X @ first["W"] + first["b"])
        return 0.5 * ((h @ second[0] + second[1] - Y) ** 2).sum()

    result = mg.per_example_grad(f, argnums=(0, 1))(*layers, X, Y)
    assert set(result[0]) == {"W", "b"} and isinstance(result[1], list)
    _assert_matches(result, _loop(f, (*layers, X, Y), argnums=(0, 1)))


def test_penalty_on_the_weights_is_added_whole_to_every_row():
    W = _mlp_params((5, 3))[0]
    X, Y = _batch(5, 3)

    def f(W, X, Y):
        return 0.5 * ((X @ W - Y) ** 2).sum() + 0.1 * (W**2).sum()

    _assert_matches(mg.per_example_grad(f)(W, X, Y), _loop(f, (W, X, Y)))


def test_elementwise_parameters_broadcast_over_the_batch():
    rng = _rng(6)
    scale, shift, column = rng.standard_normal(5), rng.standard_normal((1, 5)), rng.standard_normal((5, 1))
    X, Y = _batch(5, 5)

    def f(params, X, Y):
        scale, shift, column = params
        z = mg.maximum(X * scale - shift, X / (1 + column.T**2))
        return (mg.softplus(z) * Y).sum()

    _assert_matches(mg.per_example_grad(f)([scale, shift, column], X, Y), _loop(f, ([scale, shift, column], X, Y)))


@pytest.mark.parametrize(
    "op", [mg.hypot, mg.logaddexp, mg.arctan2, mg.fmod, mg.mod, lambda z, p: mg.sin(z) * mg.cosh(p)]
)
def test_every_elementwise_row_keeps_the_rows_apart_where_a_parameter_meets_the_batch(op):
    """The NumPy-surface rows (``primitives/elementwise_math.py``) use the same spread-and-sum rule."""
    rng = _rng(8)
    shift = rng.uniform(2.0, 3.0, 5)  # keeps mod/fmod away from their jumps for X in N(0, 1)
    X, Y = _batch(5, 5)

    def f(shift, X, Y):
        return (op(X + 0.1 * X**2, shift) * Y).sum()

    _assert_matches(mg.per_example_grad(f)(shift, X, Y), _loop(f, (shift, X, Y)))


def test_rows_with_inner_axes_and_stacks_of_matrices():
    rng = _rng(7)
    W, v, M = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((2, 3))
    X = rng.standard_normal((N, 5, 3))  # five positions per example
    Y = rng.standard_normal((N, 3, 5))

    def f(params, X, Y):
        W, v, M = params
        return mg.tanh(X @ W @ v).sum() + (mg.tanh(M @ Y) ** 2).sum()

    _assert_matches(mg.per_example_grad(f)([W, v, M], X, Y), _loop(f, ([W, v, M], X, Y)))


def test_float32_stays_float32():
    params, (X, Y) = _mlp_params((5, 4, 3), np.float32), _batch(5, 3, np.float32)
    result = mg.per_example_grad(sigmoid_mse)(params, X, Y)
    assert all(g.dtype == np.float32 for g in result)
    reference = _loop(sigmoid_mse, ([p.astype(np.float64) for p in params], X.astype(np.float64), Y.astype(np.float64)))
    _assert_matches(result, reference, rtol=1e-4, atol=1e-5)


# ----- the rows' outer products: one BLAS product, exactly the products ---------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("k", "j"), [(40, 30), (300, 3), (30, 10), (5, 3)])  # BLAS (k·j ≥ 512) and einsum
def test_outer_products_of_the_rows_are_exactly_the_products(dtype, k, j):
    rng = _rng(11)
    a, g = rng.standard_normal((N, k)).astype(dtype), rng.standard_normal((N, j)).astype(dtype)
    a[0, :3] = [np.inf, 0.0, np.finfo(dtype).tiny / 4]  # an infinity, a zero, a subnormal
    g[1, :2] = [np.nan, -0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the infinity meets BLAS's zero term: no warning for it
        got = _row_products(a[:, None], g[:, None])
    assert got.dtype == dtype and got.shape == (N, k, j)
    assert np.array_equal(got, a[:, :, None] * g[:, None, :], equal_nan=True)  # bit for bit, not close


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_layers_match_the_loop_and_compile_bit_identically(dtype):
    """784-30-10 in small: the first layer's outer products take the BLAS branch, the second einsum."""
    params, (X, Y) = _mlp_params((40, 16, 3), dtype), _batch(40, 3, dtype)
    eager = mg.per_example_grad(sigmoid_mse)(params, X, Y)
    compiled = mg.compile(mg.per_example_grad(sigmoid_mse))
    for _ in range(2):  # the tracing call, then the plan
        assert all(np.array_equal(c, e) for c, e in zip(compiled(params, X, Y), eager))
    assert compiled.traces == 1 and not compiled.fallbacks
    assert all(g.dtype == dtype for g in eager)
    as64 = [p.astype(np.float64) for p in params]
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {}
    _assert_matches(eager, _loop(sigmoid_mse, (as64, X.astype(np.float64), Y.astype(np.float64))), **tolerance)


def test_a_batch_of_no_rows_gives_no_rows():
    params = _mlp_params((40, 16, 3))  # the first layer takes the BLAS branch
    result = mg.per_example_grad(sigmoid_mse)(params, np.zeros((0, 40)), np.zeros((0, 3)))
    assert [g.shape for g in result] == [(0,) + p.shape for p in params]


def test_check_passes_on_a_sum_over_rows():
    params, (X, Y) = _mlp_params((5, 4, 3)), _batch(5, 3)
    checked = mg.per_example_grad(sigmoid_mse, check=True)(params, X, Y)
    _assert_matches(checked, _loop(sigmoid_mse, (params, X, Y)))


# ----- errors -------------------------------------------------------------------------------
def test_check_catches_a_wrong_reduction():
    params, (X, Y) = _mlp_params((5, 4, 3)), _batch(5, 3)
    with pytest.raises(PerExampleError, match="reduction='mean'"):
        mg.per_example_grad(sigmoid_mse_mean, check=True)(params, X, Y)


def test_batch_statistics_are_refused():
    W = _mlp_params((5, 3))[0]
    X, Y = _batch(5, 3)

    def centred(W, X, Y):
        Z = X @ W
        return ((Z - Z.mean(axis=0) - Y) ** 2).sum()

    with pytest.raises(PerExampleError, match=r"sub.*summed over the batch with per-row values"):
        mg.per_example_grad(centred)(W, X, Y)


def test_a_nonlinear_function_of_the_batch_sum_is_refused():
    W = _mlp_params((5, 3))[0]
    X = _batch(5, 3)[0]
    with pytest.raises(PerExampleError, match="power.*nonlinear"):
        mg.per_example_grad(lambda W, X: (X @ W).sum() ** 2)(W, X)


def test_unsupported_primitive_is_named_with_the_loop_hint():
    W = _mlp_params((5, 3))[0]
    X = _batch(5, 3)[0]
    with pytest.raises(PerExampleError, match=r"max.*parameter-only computations.*mg\.grad"):
        mg.per_example_grad(lambda W, X: (X @ mg.max(W, axis=1)).sum())(W, X)
    with pytest.raises(PerExampleError, match=r"stack.*no per-example rule.*mg\.grad"):
        mg.per_example_grad(lambda W, X: mg.stack([X @ W, mg.broadcast_to(W[0], shape=(N, 3))], axis=1).sum())(W, X)


def test_column_layout_is_refused():
    W = _mlp_params((5, 3))[0]
    X = _batch(5, 3)[0]
    with pytest.raises(PerExampleError, match="batch first"):
        mg.per_example_grad(lambda W, X: mg.sigmoid(W.T @ X.T).sum())(W, X)


def test_argument_errors():
    W = _mlp_params((5, 3))[0]
    X, Y = _batch(5, 3)
    with pytest.raises(ValueError, match="reduction"):
        mg.per_example_grad(sigmoid_mse, reduction="none")
    with pytest.raises(PerExampleError, match="scalar"):
        mg.per_example_grad(lambda W, X: X @ W)(W, X)
    with pytest.raises(PerExampleError, match=r"lengths \[5, 6\]"):
        mg.per_example_grad(lambda W, X, Y: (X @ W - Y).sum())(W, X, Y[:5])
    with pytest.raises(PerExampleError, match="inside another transform"):
        mg.grad(lambda W: mg.per_example_grad(lambda W, X: (X @ W).sum())(W, X)[0].sum())(W)
