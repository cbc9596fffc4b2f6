"""matgrad.nn: modules, layers, activations, losses, regularizers, initializers, configs."""

import json

import numpy as np
import pytest

import matgrad as mg
import matgrad.nn as nn

rng = np.random.default_rng(0)
X = rng.standard_normal((5, 4))
F64 = np.float64


def as_param(x):
    """A traced argument as it comes (Tensor), or a plain array (finite differences) as a parameter."""
    return x if isinstance(x, mg.Tensor) else mg.tensor(x, requires_grad=True)


def substitute(module, named_values):
    """Put ``{dotted name: value}`` into the module's parameter slots, so gradcheck can vary them."""
    for name, value in named_values.items():
        *path, leaf = name.split(".")
        owner = module
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, leaf, as_param(value))


def gradcheck_module(module, x):
    """Gradcheck ``module(x)`` with respect to the input and every parameter."""
    names = [name for name, _ in module.named_parameters()]

    def f(x, *params):
        substitute(module, dict(zip(names, params)))
        return module(x)

    mg.gradcheck(f, [x] + [p.data for p in module.parameters()], names=["x", *names])


# ----- layers and activations -----------------------------------------------------------------
def test_linear_is_x_at_w_plus_b_in_row_layout():
    layer = nn.Linear(4, 3, rng=1, dtype=F64)
    assert layer.W.shape == (4, 3) and layer.b.shape == (3,)
    layer.b.data[:] = [1.0, -2.0, 0.5]
    np.testing.assert_allclose(layer(X).data, X @ layer.W.data + layer.b.data, rtol=1e-12)
    np.testing.assert_allclose(layer(X[0]).data, X[0] @ layer.W.data + layer.b.data, rtol=1e-12)
    assert [n for n, _ in nn.Linear(4, 3, bias=False).named_parameters()] == ["W"]


def test_linear_float32_stays_float32_and_rejects_a_column_layout_input():
    layer = nn.Linear(4, 3, rng=0)
    out = layer(X)  # a float64 array is cast to the layer's dtype
    assert layer.W.dtype == np.float32 and out.dtype == np.float32
    with pytest.raises(ValueError, match=r"expected \(N, 4\).*transposed"):
        layer(X.T)


def test_linear_gradcheck():
    gradcheck_module(nn.Linear(4, 3, rng=2, dtype=F64), X)


ACTIVATIONS = [
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (nn.Softmax(axis=0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
    (nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize(("module", "reference"), ACTIVATIONS, ids=lambda a: repr(a)[:14])
def test_activation_values_and_gradcheck(module, reference):
    np.testing.assert_allclose(module(mg.tensor(X)).data, reference(X), rtol=1e-12)
    mg.gradcheck(module, [X])


def test_get_activation_names_the_valid_ones():
    assert isinstance(nn.get_activation("leaky_relu"), nn.LeakyReLU)
    assert isinstance(nn.get_activation(None), nn.Identity)
    with pytest.raises(ValueError, match="'swish'.*sigmoid.*log_softmax"):
        nn.get_activation("swish")


def test_mlp_gradcheck_through_every_parameter():
    gradcheck_module(nn.MLP([4, 3, 2], activation="tanh", output_activation="sigmoid", seed=0, dtype=F64), X)


def test_mlp_matches_the_delta_equations_of_seed_001_transposed():
    """Seed 001's network in column layout; our W is the transpose of its W."""
    net = nn.MLP([4, 3, 2], output_activation="sigmoid", init="nielsen", seed=1, dtype=F64)
    x, y = X[:1], np.array([[0.0, 1.0]])
    nn.MSELoss(reduction="sum")(net(x), y).backward()
    W1, b1, W2, b2 = (p.data for p in net.parameters())
    sig = lambda z: 1 / (1 + np.exp(-z))
    a0 = x.T
    a1 = sig(W1.T @ a0 + b1[:, None])
    a2 = sig(W2.T @ a1 + b2[:, None])
    delta2 = (a2 - y.T) * a2 * (1 - a2)
    delta1 = (W2 @ delta2) * a1 * (1 - a1)
    np.testing.assert_allclose(net.layers[2].W.grad, (delta2 @ a1.T).T, rtol=1e-10)
    np.testing.assert_allclose(net.layers[0].W.grad, (delta1 @ a0.T).T, rtol=1e-10)
    np.testing.assert_allclose(net.layers[0].b.grad, delta1[:, 0], rtol=1e-10)


# ----- dropout --------------------------------------------------------------------------------
def test_dropout_keeps_the_expectation_and_is_identity_in_eval():
    drop = nn.Dropout(0.3, rng=0)
    x = np.ones(200_000)
    out = drop(x)
    assert abs(out.mean() - 1.0) < 0.01 and abs((out == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / 0.7)
    assert drop.eval() is drop and drop(x) is x
    assert nn.Dropout(0.0)(x) is x


def test_dropout_is_deterministic_given_a_seed_and_checks_p():
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    np.testing.assert_array_equal(a(np.ones(50)), b(np.ones(50)))
    assert not np.array_equal(a(np.ones(50)), nn.Dropout(0.5, rng=8)(np.ones(50)))
    for p in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            nn.Dropout(p)


def test_dropout_gradcheck_with_a_fixed_mask():
    mg.gradcheck(lambda x: nn.Dropout(0.4, rng=3)(x), [X])
    x = mg.tensor(X, requires_grad=True)
    out = nn.Dropout(0.4, rng=3)(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, out.data / X)  # mask / (1 − p)


def test_train_and_eval_switch_every_submodule():
    net = nn.MLP([4, 8, 2], dropout=0.5, seed=0)
    assert net.eval() is net and not any(m.training for m in net.modules())
    np.testing.assert_array_equal(net(X).data, net(X).data)
    assert net.train() is net and all(m.training for m in net.modules())
    assert not np.array_equal(net(X).data, net(X).data)
    twin, again = nn.MLP([4, 8, 2], dropout=0.5, seed=0), nn.MLP([4, 8, 2], dropout=0.5, seed=0)
    np.testing.assert_array_equal(twin(X).data, again(X).data)  # the dropout masks follow the seed too


# ----- initializers ---------------------------------------------------------------------------
INITS = [
    (nn.init.glorot_uniform, 2 / (400 + 600)),
    (nn.init.glorot_normal, 2 / (400 + 600)),
    (nn.init.he_normal, 2 / 400),
    (nn.init.he_uniform, 2 / 400),
    (nn.init.nielsen, 1 / 400),
    (nn.init.normal(0.3), 0.09),
    (nn.init.zeros, 0.0),
]


@pytest.mark.parametrize(("initializer", "variance"), INITS)
def test_initializer_variance(initializer, variance):
    w = initializer((400, 600), np.random.default_rng(0), np.float32)
    assert w.shape == (400, 600) and w.dtype == np.float32
    assert abs(w.mean()) <= 5 * np.sqrt(variance / w.size) + 1e-12
    np.testing.assert_allclose(w.var(), variance, rtol=0.05)


def test_linear_init_names_and_biases():
    assert np.all(nn.Linear(3, 4, rng=0).b.data == 0)
    biases = nn.Linear(1, 20_000, init="nielsen", rng=0).b.data
    assert abs(biases.std() - 1.0) < 0.03  # Nielsen's biases are N(0, 1)
    with pytest.raises(ValueError, match="'xavier'.*glorot.*nielsen"):
        nn.Linear(3, 4, init="xavier")


def test_mlp_picks_he_for_relu_and_is_deterministic_given_a_seed():
    net = nn.MLP([4, 3, 2], activation="relu", seed=5)
    np.testing.assert_array_equal(net.layers[0].W.data, nn.init.he_normal((4, 3), np.random.default_rng(5), np.float32))
    again = nn.MLP([4, 3, 2], activation="relu", rng=np.random.default_rng(5))
    for (name, a), (_, b) in zip(net.state_dict().items(), again.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    other = nn.MLP([4, 3, 2], activation="relu", seed=6)
    assert not np.array_equal(other.layers[0].W.data, net.layers[0].W.data)
    with pytest.raises(ValueError, match="'gelu'.*valid names"):
        nn.MLP([4, 2], activation="gelu")


# ----- module registration and state ----------------------------------------------------------
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = mg.tensor(np.ones((2, 2)), requires_grad=True)
        self.inner = nn.Linear(2, 2, rng=0, dtype=F64)
        self.scale = mg.tensor(2.0)  # no requires_grad: a constant, not a parameter
        self.b = mg.tensor(np.zeros(2), requires_grad=True)

    def forward(self, x):
        return self.inner(x @ self.W + self.b) * self.scale


def test_parameters_are_registered_in_assignment_order():
    names = [n for n, _ in nn.MLP([4, 3, 2]).named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    block = Block()
    assert [n for n, _ in block.named_parameters()] == ["W", "inner.W", "inner.b", "b"]
    assert block.parameters()[1] is block.inner.W
    block.tied = block.W  # a shared parameter is listed once
    assert len(block.parameters()) == 4
    del block.tied, block.b
    assert [n for n, _ in block.named_parameters()] == ["W", "inner.W", "inner.b"]


def test_assignment_errors_are_clear():
    block = Block()
    with pytest.raises(TypeError, match=r"Block.W is a registered parameter.*\.data\[\.\.\.\]"):
        block.W = np.zeros((2, 2))

    class Forgetful(nn.Module):
        def __init__(self):
            self.W = mg.tensor(1.0, requires_grad=True)

    with pytest.raises(AttributeError, match="super"):
        Forgetful()
    with pytest.raises(NotImplementedError, match="Block has no config"):
        block.config()


def test_state_dict_round_trip_copies_in_place():
    source, target = nn.MLP([4, 3, 2], seed=0), nn.MLP([4, 3, 2], seed=1)
    state = source.state_dict()
    assert list(state) == [n for n, _ in source.named_parameters()]
    state["layers.0.W"][:] = 0  # a copy: the module is unchanged
    assert np.any(source.layers[0].W.data != 0)
    state = source.state_dict()
    held, held_array = target.layers[0].W, target.layers[0].W.data
    assert target.load_state_dict(state) == ([], [])
    assert target.layers[0].W is held and target.layers[0].W.data is held_array
    np.testing.assert_array_equal(target(X).data, source(X).data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("layers.2.b"), r"missing parameters: layers\.2\.b"),
        (lambda s: s.update(extra=np.zeros(1)), "unexpected parameters: extra"),
        (
            lambda s: s.update({"layers.0.W": np.zeros((3, 4), np.float32)}),
            r"layers\.0\.W: expected shape \(4, 3\), got \(3, 4\)",
        ),
        (lambda s: s.update({"layers.0.b": np.zeros(3)}), r"layers\.0\.b: expected dtype float32, got float64"),
    ],
    ids=["missing", "unexpected", "shape", "dtype"],
)
def test_load_state_dict_errors_name_the_parameter(change, message):
    net = nn.MLP([4, 3, 2], seed=0)
    before = net.state_dict()
    state = nn.MLP([4, 3, 2], seed=1).state_dict()
    change(state)
    with pytest.raises(ValueError, match=message):
        net.load_state_dict(state)
    for name, value in net.state_dict().items():  # a failed load changes nothing
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_non_strict_reports_what_it_skipped():
    net = nn.MLP([4, 3, 2], seed=0)
    state = nn.MLP([4, 3, 2], seed=1).state_dict()
    state.pop("layers.2.b")
    state["extra"] = np.zeros(1)
    assert net.load_state_dict(state, strict=False) == (["layers.2.b"], ["extra"])
    np.testing.assert_array_equal(net.layers[2].W.data, state["layers.2.W"])


def test_zero_grad_and_repr():
    net = nn.MLP([4, 3, 2], seed=0)
    nn.MSELoss()(net(X), np.zeros((5, 2))).backward()
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    expected = "(layers): Sequential(\n    (0): Linear(in_features=4, out_features=3, bias=True)\n    (1): Sigmoid()"
    assert expected in repr(net)


def test_sequential_indexing():
    seq = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=0))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1:][0], nn.ReLU)
    assert [n for n, _ in seq.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    np.testing.assert_allclose(seq(X).data, seq[2](seq[1](seq[0](X))).data)


# ----- losses ---------------------------------------------------------------------------------
A = rng.uniform(size=(5, 3))
Y = rng.uniform(size=(5, 3))
LABELS = np.array([0, 2, 1, 1, 0])
LOSS_CASES = [
    (nn.MSELoss(), A, Y),
    (nn.MSELoss("sum"), A, Y),
    (nn.MSELoss("none"), A, Y),
    (nn.MSELoss(), A, LABELS),
    (nn.MSELoss(), A[:, 0], Y[:, 0]),
    (nn.CrossEntropyLoss(), X[:, :3], LABELS),
    (nn.CrossEntropyLoss("sum"), X[:, :3], Y / Y.sum(1, keepdims=True)),
    (nn.BCEWithLogitsLoss(), X[:, :3], (Y > 0.5).astype(float)),
    (nn.BCEWithLogitsLoss("none"), X[:, :1], LABELS % 2),
    (nn.BCEWithLogitsLoss(), np.array([[-400.0], [400.0], [0.3]]), np.array([[0.0], [1.0], [1.0]])),  # far tails
]


@pytest.mark.parametrize(("loss", "prediction", "target"), LOSS_CASES, ids=lambda c: repr(c)[:24])
def test_loss_gradcheck(loss, prediction, target):
    mg.gradcheck(lambda p: loss(p, target), [prediction])


def test_mse_is_half_the_squared_error_averaged_over_rows():
    a = mg.tensor(A, requires_grad=True)
    loss = nn.MSELoss()(a, Y)
    np.testing.assert_allclose(loss.data, np.mean(0.5 * np.sum((A - Y) ** 2, axis=1)), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(a.grad, (A - Y) / 5, rtol=1e-12)
    np.testing.assert_allclose(nn.MSELoss("sum")(A, Y), 0.5 * np.sum((A - Y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(nn.MSELoss()(A, LABELS), nn.MSELoss()(A, np.eye(3)[LABELS]), rtol=1e-12)
    with pytest.raises(ValueError, match=r"target of shape \(5, 1\) does not match prediction of shape \(5, 3\)"):
        nn.MSELoss()(A, Y[:, :1])


def test_cross_entropy_is_minus_log_softmax_of_the_label():
    z = X[:, :3]
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(nn.CrossEntropyLoss()(mg.tensor(z), LABELS).data, -log_p[range(5), LABELS].mean())


def test_bce_with_logits_matches_the_formula_and_is_stable_at_1000():
    z, y = X[:, :1], (LABELS % 2)[:, None].astype(float)
    s = 1 / (1 + np.exp(-z))
    expected = np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(mg.tensor(z), LABELS % 2).data, expected, rtol=1e-12)
    for dtype in (np.float64, np.float32):
        logits = mg.tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype), requires_grad=True)
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to ~0 is fine
            loss = nn.BCEWithLogitsLoss()(logits, np.array([1.0, 0.0, 0.0, 1.0]))
            loss.backward()
        np.testing.assert_allclose(loss.data, 500.0, rtol=1e-6)  # two confident mistakes of 1000 each, over 4
        np.testing.assert_allclose(logits.grad, [0.0, 0.0, 0.25, -0.25], atol=1e-30)
        assert logits.grad.dtype == dtype


# ----- regularizers ---------------------------------------------------------------------------
def test_l2_gradient_is_lambda_w_on_weights_and_zero_on_biases():
    net = nn.MLP([4, 3, 2], seed=0, dtype=F64)
    penalty = nn.L2(0.3)(net)
    W1, W2 = net.layers[0].W.data, net.layers[2].W.data
    np.testing.assert_allclose(penalty.data, 0.15 * (np.sum(W1**2) + np.sum(W2**2)), rtol=1e-12)
    penalty.backward()
    for name, p in net.named_parameters():
        expected = 0.3 * p.data if name.endswith("W") else None
        assert (p.grad is None) if expected is None else np.allclose(p.grad, expected, rtol=1e-12), name
    net.zero_grad()
    nn.L2(0.3, include_biases=True)(net).backward()
    np.testing.assert_allclose(net.layers[2].b.grad, 0.3 * net.layers[2].b.data, rtol=1e-12)


def test_l1_is_lambda_sum_abs_with_gradient_lambda_sign():
    net = nn.MLP([4, 3, 2], seed=0, dtype=F64)
    penalty = nn.L1(0.5)(net)
    W1, W2 = net.layers[0].W.data, net.layers[2].W.data
    np.testing.assert_allclose(penalty.data, 0.5 * (np.abs(W1).sum() + np.abs(W2).sum()), rtol=1e-12)
    penalty.backward()
    np.testing.assert_allclose(net.layers[0].W.grad, 0.5 * np.sign(net.layers[0].W.data))
    assert float(nn.L2(1.0)(nn.Sequential(nn.ReLU())).data) == 0.0  # nothing to penalise


@pytest.mark.parametrize("reg", [nn.L2(0.3), nn.L1(0.5), nn.L2(0.1, include_biases=True)], ids=repr)
def test_regularizer_gradcheck(reg):
    net = nn.MLP([3, 2, 2], seed=1, dtype=F64)
    named = net.state_dict()

    def f(*params):
        substitute(net, dict(zip(named, params)))
        return reg(net)

    mg.gradcheck(f, list(named.values()), names=list(named))


# ----- configs --------------------------------------------------------------------------------
MODULE_CONFIGS = [
    nn.Linear(4, 3, bias=False, init="he", dtype=F64),
    nn.LeakyReLU(0.2),
    nn.Softmax(axis=0),
    nn.Dropout(0.25, rng=3),
    nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.LogSoftmax()),
    nn.MLP([4, 8, 3], activation="relu", output_activation="sigmoid", dropout=0.1, seed=0),
    *[cls() for cls in (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Identity, nn.LogSoftmax)],
]


@pytest.mark.parametrize("module", MODULE_CONFIGS, ids=lambda m: type(m).__name__)
def test_config_round_trip_rebuilds_an_equal_architecture(module):
    config = json.loads(json.dumps(module.config()))
    rebuilt = nn.from_config(config)
    assert type(rebuilt) is type(module) and rebuilt.config() == module.config() and repr(rebuilt) == repr(module)
    shapes = lambda m: [(n, p.shape, p.dtype) for n, p in m.named_parameters()]
    assert shapes(rebuilt) == shapes(module)
    rebuilt.load_state_dict(module.state_dict())
    rebuilt.eval(), module.eval()
    values = lambda y: y.data if isinstance(y, mg.Tensor) else y
    np.testing.assert_array_equal(values(rebuilt(X)), values(module(X)))


def test_loss_and_regularizer_configs_round_trip():
    for loss in (nn.MSELoss("sum"), nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss("none")):
        rebuilt = nn.loss_from_config(json.loads(json.dumps(loss.config())))
        assert type(rebuilt) is type(loss) and rebuilt.reduction == loss.reduction
    rebuilt = nn.regularizer_from_config(json.loads(json.dumps(nn.L2(0.1, include_biases=True).config())))
    assert isinstance(rebuilt, nn.L2) and rebuilt.lam == 0.1 and rebuilt.include_biases
    with pytest.raises(ValueError, match="unknown type 'Conv3d'.*Linear"):
        nn.from_config({"type": "Conv3d"})
    with pytest.raises(ValueError, match="cannot build Linear"):
        nn.from_config({"type": "Linear", "in_features": 3})
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss("average")
