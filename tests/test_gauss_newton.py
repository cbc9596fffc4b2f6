"""Gauss-Newton and Levenberg-Marquardt (optim.GaussNewton) on least-squares problems whose
minimizers are known: linear residuals (one Gauss-Newton step is the least-squares solution),
Rosenbrock's residuals (minimizer (1, 1)), and curve fits checked against scipy's
``least_squares(method="lm")`` (MINPACK), an independent implementation."""

import itertools

import numpy as np
import pytest
from scipy.optimize import least_squares

import matgrad as mg
from matgrad import nn
from matgrad.optim import GaussNewton, optimizer_from_state

rng = np.random.default_rng(0)


def run(params, residuals, steps, **settings):
    opt = GaussNewton(params, **settings)

    def closure():
        return residuals(*params)

    for _ in range(steps):
        opt.step(closure)
    return opt


def linear_problem():
    A = rng.standard_normal((12, 4))
    b = rng.standard_normal(12)
    return A, b, np.linalg.lstsq(A, b, rcond=None)[0]


def test_one_gauss_newton_step_solves_linear_least_squares():
    A, b, solution = linear_problem()
    x = mg.tensor(np.zeros(4), requires_grad=True)
    opt = run([x], lambda x: A @ x - b, 1, damping=0)
    np.testing.assert_allclose(x.data, solution, rtol=1e-12, atol=1e-12)
    assert opt.jacobian_evals == 1 and opt.func_evals == 1
    assert opt.last_loss == pytest.approx(0.5 * b @ b)  # F before the step, at x = 0


def test_a_matrix_and_a_vector_are_one_flat_parameter_vector():
    X = rng.standard_normal((30, 3))
    Y = X @ rng.standard_normal((3, 2)) + np.array([0.5, -1.0]) + 0.01 * rng.standard_normal((30, 2))
    W = mg.tensor(np.zeros((3, 2)), requires_grad=True)
    b = mg.tensor(np.zeros(2), requires_grad=True)
    run([W, b], lambda W, b: X @ W + b - Y, 1, damping=0)
    design = np.hstack([X, np.ones((30, 1))])
    expected = np.linalg.lstsq(design, Y, rcond=None)[0]
    np.testing.assert_allclose(W.data, expected[:3], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.data, expected[3], rtol=1e-10, atol=1e-12)


def rosenbrock_residuals(x):
    return mg.stack([1 - x[0], 10 * (x[1] - x[0] ** 2)])


@pytest.mark.parametrize("damping", [0.0, 1e-3, 1.0])
def test_rosenbrock_residuals_reach_the_minimizer(damping):
    x = mg.tensor(np.array([-1.2, 1.0]), requires_grad=True)
    opt = run([x], rosenbrock_residuals, 40, damping=damping)
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-10)
    assert opt.step_count == 40


def test_levenberg_marquardt_takes_no_more_evaluations_than_minpack():
    """From far off, with τ = 1e-3 as MINPACK's default factor: within 1e-8 of (1, 1) with no more
    Jacobians, and no more trial evaluations of r, than scipy's ``lm`` spends to reach its own
    tolerances (MINPACK counts them apart too: ``njev`` and ``nfev``)."""
    start = np.array([-1.2, 1.0])
    f = lambda x: np.array([1 - x[0], 10 * (x[1] - x[0] ** 2)])
    jac = lambda x: np.array([[-1.0, 0.0], [-20 * x[0], 10.0]])
    reference = least_squares(f, start, jac=jac, method="lm")
    assert np.allclose(reference.x, 1.0, atol=1e-8)
    x = mg.tensor(start.copy(), requires_grad=True)
    opt = GaussNewton([x])
    while np.max(np.abs(x.data - 1)) > 1e-8:
        opt.step(lambda: rosenbrock_residuals(x))
    trials = opt.func_evals - opt.jacobian_evals  # each step's first call records r for its Jacobian
    assert opt.jacobian_evals <= reference.njev and trials <= reference.nfev, (opt.jacobian_evals, trials, reference)


def exponential_data(noise):
    t = np.linspace(0, 2, 40)
    y = 2.5 * np.exp(-1.3 * t) + 0.4 + noise * rng.standard_normal(40)
    return t, y


def exponential_residuals(t, y):
    return lambda a, k, c: a * mg.exp(k * t) + c - y


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_curve_fit_matches_minpack(noise):
    t, y = exponential_data(noise)
    start = np.array([1.0, -0.5, 0.0])
    reference = least_squares(
        lambda p: p[0] * np.exp(p[1] * t) + p[2] - y, start, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15
    )
    params = [mg.tensor(np.array(v), requires_grad=True) for v in start]
    run(params, exponential_residuals(t, y), 30)
    np.testing.assert_allclose([float(p.data) for p in params], reference.x, rtol=1e-8, atol=1e-10)
    if noise == 0:
        np.testing.assert_allclose(reference.x, [2.5, -1.3, 0.4], rtol=1e-8)


def test_levenberg_marquardt_never_increases_the_loss_and_stays_put_when_it_cannot_decrease():
    t, y = exponential_data(0.05)
    params = [mg.tensor(np.array(v), requires_grad=True) for v in (5.0, 2.0, -3.0)]  # far off: exp(2t) grows
    residuals = exponential_residuals(t, y)
    opt = GaussNewton(params)
    losses = []
    for _ in range(60):
        opt.step(lambda: residuals(*params))
        losses.append(opt.last_loss)
    assert all(later <= earlier for earlier, later in itertools.pairwise(losses))
    final = 0.5 * float(np.sum(residuals(*params).data ** 2))
    at_minimum = [p.data.copy() for p in params]
    opt.step(lambda: residuals(*params))  # at the minimizer: no step decreases F, or g = 0
    assert 0.5 * float(np.sum(residuals(*params).data ** 2)) <= final
    np.testing.assert_allclose([p.data for p in params], at_minimum, atol=1e-9)


def test_float32_parameters_stay_float32():
    A, b, solution = linear_problem()
    A32, b32 = A.astype(np.float32), b.astype(np.float32)
    x = mg.tensor(np.zeros(4, np.float32), requires_grad=True)
    run([x], lambda x: A32 @ x - b32, 3)
    assert x.data.dtype == np.float32
    np.testing.assert_allclose(x.data, solution, rtol=1e-4, atol=1e-5)


def test_a_small_network_fits_a_curve():
    X = np.linspace(-2, 2, 50)[:, None]
    Y = np.sin(2 * X)
    model = nn.MLP([1, 8, 1], activation="tanh", seed=0, dtype=np.float64)
    params = model.parameters()
    opt = GaussNewton(params)
    for _ in range(100):
        opt.step(lambda: model(mg.tensor(X)) - Y)
    assert np.sqrt(np.mean((model(mg.tensor(X)).data - Y) ** 2)) < 0.015  # 0.10 after 10 steps


def test_state_dict_resumes_with_the_same_damping():
    t, y = exponential_data(0.05)
    residuals = exponential_residuals(t, y)

    def fresh():
        return [mg.tensor(np.array(v), requires_grad=True) for v in (1.0, -0.5, 0.0)]

    straight = fresh()
    run(straight, residuals, 6)
    first = fresh()
    opt = run(first, residuals, 3)
    state = opt.state_dict()
    assert state["type"] == "GaussNewton" and state["lambda"] > 0 and state["jacobian_evals"] == 3
    resumed = GaussNewton(first)
    resumed.load_state_dict(state)
    for _ in range(3):
        resumed.step(lambda: residuals(*first))
    np.testing.assert_array_equal([p.data for p in first], [p.data for p in straight])
    assert resumed.state_dict()["step"] == 6
    with pytest.raises(ValueError, match="key 'type' is 'GaussNewton'"):  # not among the CLI's, which fit steps
        optimizer_from_state(first, state)


def test_bad_closures_and_settings_are_named():
    x = mg.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="damping"):
        GaussNewton([x], damping=-1)
    opt = GaussNewton([x])
    with pytest.raises(TypeError, match="closure"):
        opt.step(None)
    with pytest.raises(TypeError, match="residuals r as a Tensor"):
        opt.step(lambda: np.ones(2))
    with pytest.raises(FloatingPointError, match="not finite"), np.errstate(invalid="ignore"):
        opt.step(lambda: mg.log(x - 1))  # log(−1) at the start
    with pytest.raises(ValueError, match="unexpected key"):
        opt.load_state_dict({**opt.state_dict(), "extra": 1})
    with pytest.raises(ValueError, match="lambda"):
        opt.load_state_dict({**opt.state_dict(), "lambda": -1.0})


def test_fit_refuses_it_with_a_hint():
    model = nn.MLP([2, 3, 2], seed=0)
    with pytest.raises(TypeError, match="residuals its closure returns.*LBFGS"):
        train = (rng.standard_normal((8, 2)), rng.integers(0, 2, 8))
        mg.fit(model, nn.CrossEntropyLoss(), GaussNewton(model.parameters()), train, epochs=1, verbose=0)


def test_the_jacobian_by_columns_equals_the_one_by_rows_and_is_taken_when_residuals_outnumber_weights(monkeypatch):
    from matgrad.optim import gauss_newton
    from matgrad.optim.newton import jacobian_columns, jacobian_rows

    X = rng.standard_normal((7, 3))
    W = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(2), requires_grad=True)
    r = mg.tanh(X @ W + b) * mg.exp(b)
    by_rows, by_columns = jacobian_rows(r, [W, b]), jacobian_columns(r, [W, b])
    assert by_rows.shape == (14, 8)
    np.testing.assert_allclose(by_columns, by_rows, rtol=1e-12, atol=1e-14)
    step, flat = 1e-6, np.concatenate([W.data.ravel(), b.data])

    def residuals_at(v):
        return np.tanh(X @ v[:6].reshape(3, 2) + v[6:]).ravel() * np.tile(np.exp(v[6:]), 7)

    differences = [residuals_at(flat + step * e) - residuals_at(flat - step * e) for e in np.eye(8)]
    numeric = np.stack(differences, axis=1) / (2 * step)
    np.testing.assert_allclose(by_rows, numeric, rtol=1e-6, atol=1e-8)

    used = []
    for name in ("jacobian_rows", "jacobian_columns"):
        original = getattr(gauss_newton, name)
        monkeypatch.setattr(gauss_newton, name, lambda *a, _f=original, _n=name: used.append(_n) or _f(*a))
    t, y = exponential_data(0.05)  # 40 residuals, 3 weights: forward
    run([mg.tensor(np.array(v), requires_grad=True) for v in (1.0, -0.5, 0.0)], exponential_residuals(t, y), 2)
    x = mg.tensor(np.array([-1.2, 1.0]), requires_grad=True)  # 2 residuals, 2 weights: reverse
    run([x], rosenbrock_residuals, 1)
    assert used == ["jacobian_columns", "jacobian_columns", "jacobian_rows"]
