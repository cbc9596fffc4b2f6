"""mg.compile / mg.compile_backward: bit-identical to eager mode, re-traced when the signature changes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import matgrad as mg
from matgrad.compile import CompileError

rng = np.random.default_rng(0)


def seed_network(params, X, Y):
    """Seed 001's σ/MSE network in row layout, cost summed over the batch."""
    W1, b1, W2, b2 = params
    A = mg.sigmoid(mg.sigmoid(X @ W1 + b1) @ W2 + b2)
    return 0.5 * ((A - Y) ** 2).sum()


def relu_softmax_ce(params, X, T):
    W1, b1, W2, b2 = params
    return mg.cross_entropy(mg.relu(X @ W1 + b1) @ W2 + b2, T)


def reused_weight(params, X, Y):
    """W is used twice (and b three times): gradients are summed in eager's order."""
    W, b = params
    H = mg.tanh(X @ W + b)
    return ((mg.sigmoid(H @ W + b) - Y) ** 2).mean() + (b * b).sum()


def broadcasting(params, X, Y):
    """A (1, n) row, an (n,) bias and a scalar scale, all broadcast against (N, n)."""
    row, bias, scale = params["row"], params["bias"], params["scale"]
    return (((X * row + bias) * scale - Y) ** 2).sum() / X.shape[0]


def stacked(params, X, Y):
    """A stack of batches (B, N, n): W's and b's gradients are summed over two leading axes."""
    W, b = params
    return ((mg.tanh(X @ W + b) - Y) ** 2).sum()


def arrays(sizes, batch, dtype, labels=False, rng=rng):
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params += [
            (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype),
            rng.standard_normal(n_out).astype(dtype),
        ]
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    if labels:
        Y = mg.one_hot(rng.integers(0, sizes[-1], batch), sizes[-1], dtype=dtype)
    else:
        Y = rng.random((batch, sizes[-1])).astype(dtype)
    return params, X, Y


def assert_identical(got, want):
    got_leaves, got_def = mg.tree_flatten(got)
    want_leaves, want_def = mg.tree_flatten(want)
    assert got_def == want_def
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(g, w), np.max(np.abs(g - w))


CASES = {
    "seed σ/MSE": (seed_network, lambda dtype: arrays((12, 7, 3), 5, dtype)),
    "ReLU/softmax-CE": (relu_softmax_ce, lambda dtype: arrays((12, 9, 4), 6, dtype, labels=True)),
    "reused weight": (reused_weight, lambda dtype: _square(dtype)),
    "broadcasting": (broadcasting, lambda dtype: _broadcast(dtype)),
    "stacked batches": (stacked, lambda dtype: _stacked(dtype)),
}


def _square(dtype):
    W = rng.standard_normal((6, 6)).astype(dtype) / 3
    b = rng.standard_normal(6).astype(dtype)
    return [W, b], rng.standard_normal((4, 6)).astype(dtype), rng.random((4, 6)).astype(dtype)


def _stacked(dtype):
    W, b = rng.standard_normal((5, 5)).astype(dtype) / 3, rng.standard_normal(5).astype(dtype)
    return [W, b], rng.standard_normal((3, 4, 5)).astype(dtype), rng.random((3, 4, 5)).astype(dtype)


def _broadcast(dtype):
    params = {
        "row": rng.standard_normal((1, 5)).astype(dtype),
        "bias": rng.standard_normal(5).astype(dtype),
        "scale": np.asarray(1.5, dtype=dtype),
    }
    return params, rng.standard_normal((8, 5)).astype(dtype), rng.standard_normal((8, 5)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_value_and_grad_bit_identical_to_eager(case, dtype):
    f, make = CASES[case]
    compiled, eager = mg.compile(f), mg.value_and_grad(f)
    for _ in range(3):  # the tracing call, then the plan, on fresh data each time
        params, X, Y = make(dtype)
        assert_identical(compiled(params, X, Y), eager(params, X, Y))
    assert compiled.traces == 1


def test_argnums_and_has_aux():
    params, X, Y = arrays((5, 4, 2), 3, np.float64)

    def f(params, X, Y):
        loss = seed_network(params, X, Y)
        return loss, {"double": 2 * loss}

    compiled, eager = mg.compile(f, argnums=(0, 1), has_aux=True), mg.value_and_grad(f, argnums=(0, 1), has_aux=True)
    for _ in range(2):
        assert_identical(compiled(params, X, Y), eager(params, X, Y))


def train_functional(optimizer_type, steps, compiled, **hyper):
    """Train the seed network on the same minibatches with mg.compile or mg.value_and_grad."""
    data = np.random.default_rng(1)
    params, _, _ = arrays((10, 8, 3), 4, np.float32, rng=data)
    tensors = [mg.tensor(p, requires_grad=True) for p in params]
    optimizer = optimizer_type(tensors, **hyper)
    step = (mg.compile if compiled else mg.value_and_grad)(seed_network)
    for _ in range(steps):
        X = data.standard_normal((4, 10)).astype(np.float32)
        Y = data.random((4, 3)).astype(np.float32)
        _, grads = step([t.data for t in tensors], X, Y)
        for t, g in zip(tensors, grads):
            t.grad = g
        optimizer.step()
    return [t.data for t in tensors]


@pytest.mark.parametrize(
    ("optimizer_type", "hyper"),
    [(mg.optim.SGD, {"lr": 0.5}), (mg.optim.SGD, {"lr": 0.1, "momentum": 0.9}), (mg.optim.Adam, {"lr": 0.01})],
)
def test_training_gives_bit_identical_weights(optimizer_type, hyper):
    assert_identical(
        train_functional(optimizer_type, 6, True, **hyper), train_functional(optimizer_type, 6, False, **hyper)
    )


def test_compile_backward_accumulates_like_backward():
    net = mg.nn.MLP([6, 5, 3], activation="tanh", seed=0, dtype=np.float64)
    X, Y = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    loss = mg.nn.MSELoss()
    step = mg.compile_backward(lambda X, Y: loss(net(X), Y))
    eager_grads = []
    for _ in range(3):
        value = loss(net(X), Y)
        value.backward()
        eager_grads.append([p.grad.copy() for p in net.parameters()])
    eager_value = value.data
    for p in net.parameters():
        p.grad = None
    for expected in eager_grads:  # no zero_grad between calls: gradients add up, as in eager mode
        compiled_value = step(X, Y)
        assert_identical([p.grad for p in net.parameters()], expected)
    assert_identical(compiled_value, eager_value)


def test_a_scalar_leaf_keeps_an_array_gradient_across_calls():
    # eager backward keeps .grad an array when NumPy returns a 0-d sum as a scalar; so must a plan
    x = mg.tensor(np.float64(1.5), requires_grad=True)
    step = mg.compile_backward(lambda x: x * x)
    for calls in range(1, 4):
        step(x)
        assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad == 3.0 * calls


def test_plan_reads_parameters_updated_in_place():
    net = mg.nn.MLP([6, 4, 2], seed=0, dtype=np.float64)
    X, Y = rng.standard_normal((3, 6)), rng.standard_normal((3, 2))
    step = mg.compile_backward(lambda X, Y: mg.nn.MSELoss()(net(X), Y))
    first = step(X, Y)
    for p in net.parameters():
        p.data -= 0.1 * p.grad
        p.grad = None
    second = step(X, Y)
    assert step.traces == 1 and second != first
    assert_identical(second, mg.nn.MSELoss()(net(X), Y).data)


def test_retraces_on_shape_and_dtype_change():
    compiled, eager = mg.compile(seed_network), mg.value_and_grad(seed_network)
    params, X, Y = arrays((8, 5, 2), 6, np.float64)
    for batch in (6, 6, 4, 6, 4):  # e.g. full minibatches and a smaller last one
        assert_identical(compiled(params, X[:batch], Y[:batch]), eager(params, X[:batch], Y[:batch]))
    assert compiled.traces == 2
    low = ([p.astype(np.float32) for p in params], X.astype(np.float32), Y.astype(np.float32))
    assert_identical(compiled(*low), eager(*low))
    assert compiled.traces == 3
    assert compiled(*low)[0].dtype == np.float32


def test_retraces_on_a_new_static_scalar():
    f = lambda W, X, power: (X @ W).sum() ** power
    compiled, eager = mg.compile(f), mg.value_and_grad(f)
    W, X = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    for power in (2, 3, 2):
        assert_identical(compiled(W, X, power), eager(W, X, power))
    assert compiled.traces == 2


def test_results_are_not_overwritten_by_later_calls():
    compiled = mg.compile(seed_network, has_aux=False)
    params, X, Y = arrays((8, 5, 2), 6, np.float64)
    held = [compiled(params, X, Y) for _ in range(2)]  # the tracing call's result and the plan's
    copies = [mg.tree_map(np.copy, result) for result in held]
    compiled(params, 2 * X, Y)
    for result, copy in zip(held, copies):
        assert_identical(result, copy)


def test_aux_views_of_buffers_are_copied_out():
    def f(W, X):
        Z = X @ W
        return (Z * Z).sum(), Z.reshape(-1)  # the reshape is a view of matmul's buffer

    compiled = mg.compile(f, has_aux=True)
    W, X = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    compiled(W, X)
    (_, held), _ = compiled(W, X)
    copy = held.copy()
    compiled(W, -X)
    assert_identical(held, copy)


def test_non_scalar_output_is_an_error():
    with pytest.raises(TypeError, match="scalar"):
        mg.compile(lambda W, X: X @ W)(np.ones((2, 2)), np.ones((3, 2)))


def test_argument_converted_with_numpy_is_an_error():
    def f(W, X, labels):  # one-hot encoding inside f happens outside the recorded graph
        return mg.cross_entropy(X @ W, labels)

    with pytest.raises(CompileError, match="argument leaf 2"):
        mg.compile(f)(np.ones((3, 4)), np.ones((2, 3)), np.array([0, 3]))


def test_aux_must_be_tensors():
    with pytest.raises(CompileError, match="aux"):
        mg.compile(lambda W: ((W * W).sum(), 1.0), has_aux=True)(np.ones(3))


def test_anomaly_mode_runs_eagerly():
    f = lambda W: mg.log(W).sum()
    compiled = mg.compile(f)
    compiled(np.ones(3))
    with np.errstate(divide="ignore"), mg.detect_anomaly(), pytest.raises(FloatingPointError, match="log"):
        compiled(np.zeros(3))


def test_plan_source_is_readable():
    compiled = mg.compile(seed_network)
    compiled(*arrays((4, 3, 2), 2, np.float64))
    (plan,) = compiled.plans.values()
    assert "matmul" in plan.source and "sigmoid" in plan.source


def _fit(compiled, **options):
    data = np.random.default_rng(2)
    X = data.standard_normal((53, 8)).astype(np.float32)
    y = data.integers(0, 3, 53)
    net = mg.nn.MLP(
        [8, 6, 3], activation=options.pop("activation", "relu"), seed=0, dropout=options.pop("dropout", 0.0)
    )
    loss = options.pop("loss", mg.nn.CrossEntropyLoss())
    optimizer = options.pop("optimizer", lambda ps: mg.optim.SGD(ps, lr=0.3))(net.parameters())
    history = mg.fit(net, loss, optimizer, (X, y), epochs=3, batch_size=10, val=(X, y), compiled=compiled, **options)
    return net.state_dict(), history


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"loss": mg.nn.MSELoss(), "activation": "sigmoid", "regularizer": mg.nn.L2(1e-2)},
        {"optimizer": lambda ps: mg.optim.Adam(ps, lr=0.01), "dropout": 0.3},
    ],
    ids=["cross-entropy", "mse-l2", "adam-dropout"],
)
def test_fit_compiled_gives_the_same_weights_and_history(options):
    weights, history = _fit(True, **dict(options))
    eager_weights, eager_history = _fit(False, **dict(options))
    assert_identical(weights, eager_weights)
    for record, eager_record in zip(history.records, eager_history.records):
        assert {k: v for k, v in record.items() if k != "seconds"} == {
            k: v for k, v in eager_record.items() if k != "seconds"
        }


def test_fit_uses_the_compiled_step_without_dropout():
    net = mg.nn.MLP([4, 3, 2], seed=0)
    step = mg.train.compiled_step(net, mg.nn.CrossEntropyLoss())
    assert step is not None
    X, y = rng.standard_normal((10, 4)).astype(np.float32), rng.integers(0, 2, 10)
    step(X, y)
    step(X, y)
    assert step.compiled.traces == 1 and not step.failed
    assert mg.train.compiled_step(mg.nn.MLP([4, 3, 2], seed=0, dropout=0.5), mg.nn.CrossEntropyLoss()) is None


def test_one_array_in_two_argument_positions_is_an_error():
    X = np.ones((2, 3))
    with pytest.raises(CompileError, match="same array"):
        mg.compile(lambda W, X, Y: ((X @ W - Y[:, :1]) ** 2).sum())(np.ones((3, 1)), X, X)


def test_fit_falls_back_to_eager_when_the_compiler_declines():
    def loss(out, labels):  # a custom loss: one-hot encodes the labels with NumPy, outside the graph
        return mg.cross_entropy(out, labels)

    weights, _ = _fit(True, loss=loss)
    eager_weights, _ = _fit(False, loss=loss)
    assert_identical(weights, eager_weights)
    net = mg.nn.MLP([8, 6, 3], seed=0)
    step = mg.train.compiled_step(net, loss)
    X, y = rng.standard_normal((10, 8)).astype(np.float32), rng.integers(0, 3, 10)
    assert step(X, y) is None and step.failed
    assert all(p.grad is None for p in net.parameters())


def test_constant_gradients_are_fresh_arrays_at_every_call():
    """A gradient that does not depend on the data (here the broadcast seed times 0.5) is computed
    once by the plan, but every call hands out a new, writable array."""
    f = lambda W, X: (W * 0.5).sum() + (X @ W).sum()
    compiled, eager = mg.compile(f), mg.value_and_grad(f)
    W, X = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    results = [compiled(W, X)[1] for _ in range(3)]
    assert_identical(results[-1], eager(W, X)[1])
    assert all(r.flags.writeable for r in results)
    assert not any(np.may_share_memory(a, b) for a, b in itertools.combinations(results, 2))
    results[-1][...] = 0
    assert_identical(compiled(W, X), eager(W, X))
    (plan,) = compiled.plans.values()
    assert plan.source.count("vjp") + plan.source.count("core") < 4  # the constant part is not recomputed


def test_captured_arrays_are_read_at_every_call_not_folded():
    scale = np.array([2.0, 3.0])
    f = lambda W: (W * scale).sum()
    compiled = mg.compile(f)
    W = rng.standard_normal((3, 2))
    compiled(W)
    scale[...] = [5.0, 7.0]
    assert_identical(compiled(W), mg.value_and_grad(f)(W))


@pytest.mark.parametrize("calls", [1, 3])
def test_compile_backward_gives_each_leaf_its_own_array(calls):
    """W + V hands both the same gradient array in the sweep; each leaf must get its own."""
    W = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    V = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(2), requires_grad=True)
    f = lambda X: ((W + V) * 2.0 + b).sum() + (X * W).sum()
    step = mg.compile_backward(f)
    X = rng.standard_normal((3, 2))
    for _ in range(calls):
        W.grad = V.grad = b.grad = None
        step(X)
    grads = [W.grad, V.grad, b.grad]
    for p in (W, V, b):
        p.grad = None
    f(X).backward()
    assert_identical(grads, [W.grad, V.grad, b.grad])
    assert all(g.flags.writeable and g.base is None for g in grads)
    assert not any(np.may_share_memory(a, c) for a, c in itertools.combinations(grads, 2))


def shared_sums(params, X, Y):
    """Nodes that pass one gradient to two inputs (x + y) and are used again elsewhere."""
    W, b = params
    H = mg.tanh(X @ W)
    P, Q = H * 2.0, H + b
    S = P + Q
    T = S + P
    return ((T * Q + P) - Y).sum() + (S * S).mean() + (Q + H).sum() * 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_passed_to_two_inputs_are_summed_apart(dtype):
    compiled, eager = mg.compile(shared_sums), mg.value_and_grad(shared_sums)
    for _ in range(3):
        params, X, Y = _square(dtype)
        assert_identical(compiled(params, X, Y), eager(params, X, Y))
