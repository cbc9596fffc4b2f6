"""Optimizers and schedules: each update against its formula, written here independently in NumPy;
in-place float32-preserving steps; state dicts that resume bit-identically; schedules; errors."""

import io
import itertools
import json
import math
from functools import partial

import numpy as np
import pytest

import matgrad as mg
import matgrad.optim as optim

SHAPES = [(3, 2), (4,)]


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for shape in SHAPES]


def grad_at(theta, k):
    """A gradient that depends on the parameter and on the step, so order and decay matter."""
    return np.cos(theta + k) + 0.5 * theta


def run(opt, params, steps, start=0):
    for k in range(start, start + steps):
        for p in params:
            p.grad = grad_at(p.data, k)
        opt.step()


# ----- the formulas, written independently of the implementation --------------------------
def ref_sgd(thetas, steps, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    out = []
    for theta in thetas:
        theta, v = theta.copy(), np.zeros_like(theta)
        for k in range(steps):
            g = grad_at(theta, k) + weight_decay * theta
            if momentum:
                v = momentum * v + g
                g = g + momentum * v if nesterov else v
            theta = theta - lr * g
        out.append(theta)
    return out


def ref_adam(thetas, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    b1, b2 = betas
    out = []
    for theta in thetas:
        theta, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
        for t in range(1, steps + 1):
            g = grad_at(theta, t - 1)
            if decoupled:
                theta = theta - lr * weight_decay * theta
            else:
                g = g + weight_decay * theta
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


ROWS = {  # name: (optimizer over params, the formula over arrays)
    "sgd": (partial(optim.SGD, lr=0.1), partial(ref_sgd, lr=0.1)),
    "sgd-decay": (partial(optim.SGD, lr=0.1, weight_decay=0.3), partial(ref_sgd, lr=0.1, weight_decay=0.3)),
    "sgd-momentum": (partial(optim.SGD, lr=0.05, momentum=0.9), partial(ref_sgd, lr=0.05, momentum=0.9)),
    "sgd-nesterov-decay": (
        partial(optim.SGD, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
        partial(ref_sgd, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
    ),
    "adam": (partial(optim.Adam, lr=0.01), partial(ref_adam, lr=0.01)),
    "adam-l2": (
        partial(optim.Adam, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.2),
        partial(ref_adam, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.2),
    ),
    "adamw": (
        partial(optim.AdamW, lr=0.01, weight_decay=0.2),
        partial(ref_adam, lr=0.01, weight_decay=0.2, decoupled=True),
    ),
}
KINDS = {  # one of each class, with every buffer in use
    "sgd": partial(optim.SGD, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": partial(optim.Adam, lr=0.01, weight_decay=0.01),
    "adamw": partial(optim.AdamW, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("row", ROWS)
def test_update_matches_its_formula_over_several_steps(row):
    make, formula = ROWS[row]
    params = make_params()
    expected = formula([p.data for p in params], 7)
    run(make(params), params, 7)
    for p, theta in zip(params, expected):
        np.testing.assert_allclose(p.data, theta, rtol=1e-12, atol=1e-14)


def test_momentum_and_nesterov_really_change_the_trajectory():
    final = {}
    for row in ("sgd", "sgd-momentum", "sgd-nesterov-decay"):
        params = make_params()
        run(ROWS[row][0](params), params, 5)
        final[row] = params[0].data
    assert not np.allclose(final["sgd"], final["sgd-momentum"])
    assert not np.allclose(final["sgd-momentum"], final["sgd-nesterov-decay"])


def test_adam_bias_correction_makes_the_first_step_lr_times_the_sign():
    params = make_params()
    before = [p.data.copy() for p in params]
    run(optim.Adam(params, lr=0.01), params, 1)  # m̂ = g, v̂ = g²: Δθ = −η g / (|g| + ε)
    for p, theta in zip(params, before):
        np.testing.assert_allclose(p.data - theta, -0.01 * np.sign(grad_at(theta, 0)), rtol=1e-6)


def test_adamw_decay_is_decoupled_from_the_gradient_unlike_adam_l2():
    lr, decay = 0.01, 0.5
    w, l2 = make_params(), make_params()
    start = w[0].data.copy()
    adamw, adam = optim.AdamW(w, lr=lr, weight_decay=decay), optim.Adam(l2, lr=lr, weight_decay=decay)
    for p, q in zip(w, l2):
        p.grad, q.grad = np.zeros_like(p.data), np.zeros_like(q.data)
    adamw.step()
    adam.step()
    np.testing.assert_allclose(w[0].data, start * (1 - lr * decay), rtol=1e-15)  # only the shrink
    np.testing.assert_allclose(l2[0].data - start, -lr * np.sign(start), rtol=1e-6)  # λθ went through Adam
    run(adamw, w, 5, start=1)
    run(adam, l2, 5, start=1)
    assert not np.allclose(w[0].data, l2[0].data)


@pytest.mark.parametrize("kind", KINDS)
def test_step_updates_the_same_array_in_place_and_leaves_the_gradient_alone(kind):
    params = make_params()
    array, view = params[0].data, params[0].data[0]  # another holder of the same memory
    before = array.copy()
    opt = KINDS[kind](params)
    run(opt, params, 1)
    grad = params[0].grad.copy()
    opt.step()
    assert params[0].data is array and type(array) is np.ndarray and params[0].is_leaf
    np.testing.assert_array_equal(view, array[0])
    assert not np.allclose(array, before)
    np.testing.assert_array_equal(params[0].grad, grad)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_parameters_gradients_and_buffers_stay_float32(kind):
    params, reference = make_params(np.float32), make_params(np.float64)
    opt, opt64 = KINDS[kind](params), KINDS[kind](reference)
    opt.lr = np.float64(opt.lr)  # a schedule might hand over a NumPy scalar
    run(opt, params, 4)
    run(opt64, reference, 4)
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in params)
    arrays = [v for v in opt.state_dict().values() if isinstance(v, np.ndarray)]
    assert len(arrays) >= 2 and all(a.dtype == np.float32 for a in arrays)
    for p, q in zip(params, reference):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-5)


def test_sgd_computes_in_float32_not_in_float64_then_rounded():
    (p,) = [mg.tensor(np.random.default_rng(1).standard_normal(1000).astype(np.float32), requires_grad=True)]
    g = np.random.default_rng(2).standard_normal(1000).astype(np.float32)
    expected = p.data - np.float32(0.1) * g
    opt = optim.SGD([p], lr=0.1)
    opt.lr = np.float64(0.1)
    p.grad = g
    opt.step()
    np.testing.assert_array_equal(p.data, expected)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_parameters_without_gradient_are_skipped_and_keep_fresh_state(kind):
    params = make_params()
    frozen = params[1].data.copy()
    opt = KINDS[kind](params)
    for k in range(3):
        params[0].grad, params[1].grad = grad_at(params[0].data, k), None
        opt.step()
    np.testing.assert_array_equal(params[1].data, frozen)
    state = opt.state_dict()
    buffers = [key for key in state if key.endswith(".1") and isinstance(state[key], np.ndarray)]
    assert buffers and all(not state[key].any() for key in buffers)
    if kind == "adam":
        assert state["step.0"] == 3 and state["step.1"] == 0
        params[0].grad, params[1].grad = None, grad_at(frozen, 0)
        opt.step()  # its first update: bias correction from t = 1, not t = 4
        np.testing.assert_allclose(params[1].data - frozen, -0.01 * np.sign(grad_at(frozen, 0)), rtol=1e-6)


def test_a_gradient_recorded_with_create_graph_is_used_by_value():
    w = mg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    ((w * w).sum()).backward(create_graph=True)
    assert isinstance(w.grad, mg.Tensor)
    optim.SGD([w], lr=0.25).step()
    np.testing.assert_allclose(w.data, [0.5, -1.0])


def test_zero_grad_clears_every_gradient():
    params = make_params()
    opt = optim.SGD(params, lr=0.1)
    run(opt, params, 1)
    assert all(p.grad is not None for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize(
    "build, message",
    [
        (partial(optim.SGD, lr=-0.1), r"SGD: lr must be .*got -0\.1"),
        (partial(optim.SGD, lr=0.1, momentum=1.0), r"SGD: momentum must be in \[0, 1\), got 1\.0"),
        (partial(optim.SGD, lr=0.1, momentum=-0.5), r"SGD: momentum .*got -0\.5"),
        (partial(optim.SGD, lr=0.1, nesterov=True), r"SGD: nesterov=True needs momentum > 0, got momentum=0\.0"),
        (partial(optim.SGD, lr=0.1, weight_decay=-1), r"SGD: weight_decay .*got -1"),
        (partial(optim.Adam, betas=(1.0, 0.999)), r"Adam: betas\[0\] must be in \[0, 1\), got 1\.0"),
        (partial(optim.Adam, betas=(0.9, -0.1)), r"Adam: betas\[1\] .*got -0\.1"),
        (partial(optim.Adam, betas=(0.9,)), r"Adam: betas must be a pair"),
        (partial(optim.Adam, eps=-1e-8), r"Adam: eps .*got -1e-08"),
        (partial(optim.AdamW, lr=float("nan")), r"AdamW: lr .*got nan"),
        (partial(optim.AdamW, lr="0.1"), r"AdamW: lr must be a real number, got '0\.1'"),
    ],
)
def test_bad_hyperparameters_name_the_optimizer_the_argument_and_the_value(build, message):
    with pytest.raises(ValueError, match=message):
        build(make_params())


def test_a_learning_rate_set_later_is_checked_and_used():
    (p,) = params = [mg.tensor(np.zeros(2), requires_grad=True)]
    opt = optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: lr .*got -1"):
        opt.lr = -1
    opt.lr = 0.5
    p.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(p.data, [-0.5, -0.5])


@pytest.mark.parametrize(
    "params, error, message",
    [
        (mg.tensor(np.zeros(3), requires_grad=True), TypeError, "got a single Tensor"),
        ([], ValueError, "params is empty"),
        ([np.zeros(3)], TypeError, r"params\[0\] is a ndarray"),
        ([mg.tensor(np.arange(3))], TypeError, r"params\[0\] must hold a writable floating-point array"),
    ],
)
def test_bad_parameter_lists_are_refused(params, error, message):
    with pytest.raises(error, match=message):
        optim.Adam(params)


def test_the_same_tensor_twice_is_refused():
    w = mg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"params\[1\] is the same Tensor as params\[0\]"):
        optim.SGD([w, w], lr=0.1)


def test_a_gradient_of_the_wrong_shape_is_named():
    w = mg.tensor(np.zeros(3), requires_grad=True)
    w.grad = np.zeros(4)
    with pytest.raises(ValueError, match=r"params\[0\] has shape \(3,\) but its grad has shape \(4,\)"):
        optim.SGD([w], lr=0.1).step()


# ----- state dicts ---------------------------------------------------------------------------
def test_state_dicts_are_flat_with_indexed_buffers():
    params = make_params()
    sgd, adam = KINDS["sgd"](params), KINDS["adam"](params)
    hyper = {"type", "lr", "momentum", "nesterov", "weight_decay", "step"}
    assert set(sgd.state_dict()) == hyper | {"momentum.0", "momentum.1"}
    state = adam.state_dict()
    assert set(state) == {"type", "lr", "beta1", "beta2", "eps", "weight_decay", "step"} | {
        f"{name}.{i}" for name in ("step", "exp_avg", "exp_avg_sq") for i in range(2)
    }
    assert state["type"] == "Adam" and state["exp_avg_sq.0"].shape == SHAPES[0]
    assert all(isinstance(v, (np.ndarray, int, float, str, bool)) for v in state.values())
    assert set(optim.SGD(params, lr=0.1).state_dict()) == hyper  # no momentum, no buffer


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_is_a_snapshot_and_loads_back_exactly(kind):
    params = make_params()
    opt = KINDS[kind](params)
    run(opt, params, 3)
    saved = opt.state_dict()
    copy = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in saved.items()}
    run(opt, params, 2, start=3)
    assert_same_state(saved, copy)  # later steps did not write into the snapshot
    fresh_params = make_params(seed=5)
    fresh = KINDS[kind](fresh_params)
    fresh.load_state_dict(saved)
    assert_same_state(fresh.state_dict(), saved)
    assert fresh.step_count == 3
    run(fresh, fresh_params, 2)
    assert_same_state(saved, copy)  # nor did the loaded optimizer's steps write into what it loaded


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
        else:
            assert type(a[key]) is type(b[key]) and a[key] == b[key], key


@pytest.mark.parametrize("kind", KINDS)
def test_training_resumed_from_a_state_dict_matches_an_uninterrupted_run_bit_for_bit(kind):
    straight = make_params()
    run(KINDS[kind](straight), straight, 10)

    first = make_params()
    opt = KINDS[kind](first)
    run(opt, first, 5)
    state, weights = opt.state_dict(), [p.data.copy() for p in first]
    resumed = [mg.tensor(w, requires_grad=True) for w in weights]
    again = optim.optimizer_from_state(resumed, state)
    assert type(again) is type(opt) and again.hyperparameters() == opt.hyperparameters()
    run(again, resumed, 5, start=5)

    assert all(np.array_equal(p.data, q.data) for p, q in zip(straight, resumed))
    run(KINDS[kind](first), first, 5, start=5)  # the same 5 steps without the state: not the same
    assert not all(np.array_equal(p.data, q.data) for p, q in zip(straight, first))


def test_optimizer_and_schedule_resume_through_npz_and_json_like_a_checkpoint():
    def train(params, opt, schedule, epochs, start=0):
        for epoch in range(start, start + epochs):
            run(opt, params, 3, start=3 * epoch)
            schedule.step()

    straight = make_params(np.float32)
    opt = optim.AdamW(straight, lr=0.05)
    train(straight, opt, optim.CosineLR(opt, total_steps=6, min_lr=0.001), 6)

    first = make_params(np.float32)
    opt = optim.AdamW(first, lr=0.05)
    schedule = optim.CosineLR(opt, total_steps=6, min_lr=0.001)
    train(first, opt, schedule, 3)
    arrays = {k: v for k, v in opt.state_dict().items() if isinstance(v, np.ndarray)}
    scalars = json.dumps({"optimizer": {k: v for k, v in opt.state_dict().items() if k not in arrays},
                          "schedule": schedule.state_dict()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{f"param{i}": p.data for i, p in enumerate(first)})
    buffer.seek(0)

    loaded, meta = np.load(buffer), json.loads(scalars)
    resumed = [mg.tensor(loaded[f"param{i}"], requires_grad=True) for i in range(len(SHAPES))]
    opt = optim.optimizer_from_state(resumed, {**meta["optimizer"], **{k: loaded[k] for k in arrays}})
    schedule = optim.schedule_from_state(opt, meta["schedule"])
    assert opt.lr == schedule.current_lr < 0.05
    train(resumed, opt, schedule, 3, start=3)
    assert all(p.dtype == np.float32 and np.array_equal(p.data, q.data) for p, q in zip(straight, resumed))


def good_sgd_state():
    params = make_params()
    opt = KINDS["sgd"](params)
    run(opt, params, 2)
    return opt.state_dict()


def set_key(key, value):
    return lambda state: {**state, key: value}


def drop_key(key):
    return lambda state: {k: v for k, v in state.items() if k != key}


@pytest.mark.parametrize(
    "change, message",
    [
        (set_key("momentum.0", np.zeros((2, 3))), r"key 'momentum\.0' has shape \(2, 3\)"),
        (set_key("momentum.1", np.zeros(4, np.float32)), r"key 'momentum\.1' .*dtype float32"),
        (set_key("momentum.1", [0.0] * 4), r"key 'momentum\.1' must be an ndarray"),
        (drop_key("momentum.1"), r"missing key\(s\) 'momentum\.1'"),
        (drop_key("nesterov"), r"missing key 'nesterov'"),
        (set_key("exp_avg.0", np.zeros((3, 2))), r"unexpected key\(s\) 'exp_avg\.0'"),
        (set_key("momentum.2", np.zeros(4)), r"unexpected key\(s\) 'momentum\.2'"),
        (set_key("type", "Adam"), r"key 'type' is 'Adam', expected 'SGD'"),
        (set_key("momentum", 1.5), r"SGD: momentum must be in \[0, 1\), got 1\.5"),
        (set_key("step", -1), r"key 'step' must be an integer >= 0, got -1"),
        (set_key("lr", np.zeros(3)), r"key 'lr' must be a scalar"),
    ],
)
def test_load_state_dict_refuses_a_state_that_does_not_fit_and_changes_nothing(change, message):
    params = make_params()
    opt = KINDS["sgd"](params)
    run(opt, params, 1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(change(good_sgd_state()))
    assert_same_state(opt.state_dict(), before)


def test_from_state_refuses_an_unknown_type():
    with pytest.raises(ValueError, match=r"optimizer_from_state: key 'type' is 'Adagrad'"):
        optim.optimizer_from_state(make_params(), {"type": "Adagrad", "lr": 0.1})
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: missing key 'max_iter'"):
        optim.optimizer_from_state(make_params(), {"type": "LBFGS", "lr": 0.1})
    with pytest.raises(ValueError, match=r"schedule_from_state: key 'type' is None"):
        optim.schedule_from_state(optim.SGD(make_params(), lr=0.1), {})


def test_make_optimizer_by_name():
    params = make_params()
    opt = optim.make_optimizer("sgd", params, lr=0.1, momentum=0.9, nesterov=True)
    assert type(opt) is optim.SGD and opt.momentum == 0.9 and opt.nesterov and opt.params == params
    assert type(optim.make_optimizer("AdamW", params)) is optim.AdamW
    assert optim.make_optimizer("adam", params, lr=0.02, betas=(0.5, 0.9)).betas == (0.5, 0.9)
    with pytest.raises(ValueError, match=r"unknown optimizer 'bfgs'; choose one of 'sgd', 'adam', 'adamw', 'lbfgs'"):
        optim.make_optimizer("bfgs", params)
    with pytest.raises(ValueError, match=r"'adam' takes lr, betas, eps, weight_decay; got momentum=0\.9"):
        optim.make_optimizer("adam", params, momentum=0.9)
    with pytest.raises(ValueError, match=r"'sgd' needs lr"):
        optim.make_optimizer("sgd", params)


# ----- schedules -------------------------------------------------------------------------------
def lr_sequence(schedule, epochs):
    rates = [schedule.current_lr]
    for _ in range(epochs):
        schedule.step()
        assert schedule.optimizer.lr == schedule.current_lr
        rates.append(schedule.current_lr)
    return rates


def test_step_lr_halves_every_step_size_epochs():
    opt = optim.SGD(make_params(), lr=1.0)
    assert lr_sequence(optim.StepLR(opt, step_size=2, gamma=0.5), 6) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_cosine_lr_starts_at_lr_passes_the_midpoint_and_ends_at_min_lr():
    opt = optim.SGD(make_params(), lr=0.1)
    rates = lr_sequence(optim.CosineLR(opt, total_steps=10, min_lr=0.01), 12)
    assert rates[0] == 0.1 and rates[10] == 0.01 and rates[11:] == [0.01, 0.01]
    assert rates[5] == pytest.approx(0.055, rel=1e-12)
    assert rates[2] == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi * 0.2)) / 2, rel=1e-12)
    assert all(a > b for a, b in itertools.pairwise(rates[:11]))


def test_no_schedule_keeps_the_rate():
    opt = optim.Adam(make_params(), lr=0.3)
    schedule = optim.make_schedule("none", opt)
    assert type(schedule) is optim.ConstantLR and lr_sequence(schedule, 3) == [0.3] * 4


@pytest.mark.parametrize(
    "name, settings",
    [("step", {"step_size": 3, "gamma": 0.5}), ("cosine", {"total_steps": 7, "min_lr": 0.002}), ("none", {})],
)
def test_schedules_survive_a_state_dict_round_trip(name, settings):
    opt = optim.SGD(make_params(), lr=0.2)
    schedule = optim.make_schedule(name, opt, **settings)
    whole = lr_sequence(schedule, 9)

    opt = optim.SGD(make_params(), lr=0.2)
    schedule = optim.make_schedule(name, opt, **settings)
    head = lr_sequence(schedule, 4)
    state = json.loads(json.dumps(schedule.state_dict()))
    fresh_opt = optim.SGD(make_params(), lr=0.7)  # built with another rate: the state decides
    loaded = optim.make_schedule(name, fresh_opt, **settings)
    loaded.load_state_dict(state)
    assert fresh_opt.lr == head[-1]
    rebuilt = optim.schedule_from_state(optim.SGD(make_params(), lr=0.7), state)
    assert head + lr_sequence(loaded, 5)[1:] == whole == head + lr_sequence(rebuilt, 5)[1:]


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("step", {"step_size": 0}, r"StepLR: step_size must be a positive integer, got 0"),
        ("step", {"step_size": 2, "gamma": -0.5}, r"StepLR: gamma must be positive and finite, got -0\.5"),
        ("cosine", {"total_steps": 2.5}, r"CosineLR: total_steps must be a positive integer, got 2\.5"),
        ("cosine", {"total_steps": 5, "min_lr": 0.5}, r"CosineLR: min_lr must not exceed the initial lr 0\.1"),
        ("cosine", {"total_steps": 5, "gamma": 0.5}, r"'cosine' takes total_steps, min_lr; got gamma=0\.5"),
        ("none", {"step_size": 2}, r"'none' takes no settings; got step_size=2"),
        ("exponential", {}, r"unknown schedule 'exponential'; choose one of 'none', 'step', 'cosine'"),
    ],
)
def test_bad_schedules_are_refused_with_the_setting_named(name, settings, message):
    with pytest.raises(ValueError, match=message):
        optim.make_schedule(name, optim.SGD(make_params(), lr=0.1), **settings)


def test_schedule_load_refuses_a_state_that_does_not_fit():
    schedule = optim.StepLR(optim.SGD(make_params(), lr=0.1), step_size=2)
    state = schedule.state_dict()
    for bad, message in [
        ({**state, "type": "CosineLR"}, r"key 'type' is 'CosineLR', expected 'StepLR'"),
        ({k: v for k, v in state.items() if k != "gamma"}, r"missing key\(s\) 'gamma'"),
        ({**state, "min_lr": 0.0}, r"unexpected key\(s\) 'min_lr'"),
        ({**state, "epoch": -2}, r"key 'epoch' must be an integer >= 0, got -2"),
    ]:
        with pytest.raises(ValueError, match=message):
            schedule.load_state_dict(bad)
    assert schedule.state_dict() == state


# ----- end to end --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [partial(optim.SGD, lr=0.01, momentum=0.5), partial(optim.Adam, lr=0.05)])
def test_optimizers_minimize_a_convex_quadratic_built_from_tensors(make):
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((8, 3)), rng.standard_normal(8)
    best = np.sum((A @ np.linalg.lstsq(A, b, rcond=None)[0] - b) ** 2)
    w = mg.tensor(np.zeros(3), requires_grad=True)
    opt = make([w])
    losses = []
    for _ in range(300):
        opt.zero_grad()
        loss = ((A @ w - b) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and losses[-1] - best < 1e-3 * (losses[0] - best)
