"""LBFGS and Newton on problems with known minimizers, against PyTorch's LBFGS iteration counts.

The TORCH_* constants were measured with torch 2.13.0+cpu (torch.optim.LBFGS, the same
problems, starting points, data and settings as the tests below; CI has no torch).  "iters to
tol" is the smallest ``max_iter`` (with ``max_eval = 10 * max_iter``) after which one ``step``
call leaves the parameters within ``tol`` of the minimizer (max abs error); "n_iter" and "err"
are the iterations a single ``step`` ran before a stopping test fired, and the error then.
``tests_peers/test_lbfgs_torch_counts.py`` measures them again with torch installed.
"""

import itertools

import numpy as np
import pytest

import matgrad as mg
from matgrad import nn
from matgrad.optim import LBFGS, Newton
from matgrad.optim.lbfgs import cubic_minimizer

TIGHT = {"tolerance_grad": 1e-12, "tolerance_change": 1e-14}

# Rosenbrock from (−1.5, 2), strong_wolfe, lr=1, history_size=100.
TORCH_ROSEN_F64_DEFAULTS = {"n_iter": 41, "err": 2.6561078363407375e-06}  # max_iter=500, max_eval=5000
TORCH_ROSEN_F64_TIGHT = {"n_iter": 42, "err": 3.2236908698024536e-09, "iters_to_1e-6": 41}  # TIGHT tolerances
TORCH_ROSEN_F32_DEFAULTS = {"n_iter": 40, "err": 5.9604644775390625e-06, "iters_to_1e-4": 39}
TORCH_ROSEN_F64_FIXED_STEP = {"iters_to_1e-6": 89}  # line_search_fn=None, TIGHT tolerances
# Logistic regression below from zeros, strong_wolfe, max_iter=100.
TORCH_LOGREG_F64_DEFAULTS = {"n_iter": 10, "err": 4.421594634806958e-05}
TORCH_LOGREG_F64_TIGHT = {"n_iter": 12, "err": 4.550121845969812e-08, "iters_to_1e-6": 11}
TORCH_LOGREG_F32_DEFAULTS = {"n_iter": 9, "err": 1.5840593210794673e-04}  # never within 1e-4 in float32


# ----- problems -------------------------------------------------------------------------------
def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosen_run(dtype=np.float64, start=(-1.5, 2.0), **settings):
    x = mg.tensor(np.array(start, dtype=dtype), requires_grad=True)
    opt = LBFGS([x], **settings)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    opt.step(closure)
    return x, opt, float(np.max(np.abs(x.data.astype(np.float64) - 1.0)))


LAM = 1e-2  # the L2 term makes the minimizer finite and unique


def logreg_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    w = 2 * rng.standard_normal(5)
    y = (rng.random(200) < 1 / (1 + np.exp(-(X @ w + 0.5)))).astype(float)
    return X, y


def reference_minimizer():
    """Newton's method in plain NumPy, to machine precision: the weights, then the bias."""
    X, y = logreg_data()
    A = np.hstack([X, np.ones((len(X), 1))])
    theta = np.zeros(A.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-A @ theta))
        g = A.T @ (p - y) / len(y) + LAM * theta
        H = (A * (p * (1 - p))[:, None]).T @ A / len(y) + LAM * np.eye(len(theta))
        theta = theta - np.linalg.solve(H, g)
    return theta


THETA = reference_minimizer()


def logreg_loss(model_or_params, X, y):
    if isinstance(model_or_params, nn.Module):
        z = model_or_params(X)[:, 0]
        W, b = model_or_params.parameters()
    else:
        W, b = model_or_params
        z = (X @ W + b)[:, 0]
    return (mg.softplus(z) - y * z).mean() + LAM / 2 * ((W**2).sum() + (b**2).sum())


def logreg_params(dtype):
    return [mg.tensor(np.zeros((5, 1), dtype), requires_grad=True), mg.tensor(np.zeros(1, dtype), requires_grad=True)]


def flat(params):
    return np.concatenate([p.data.ravel() for p in params]).astype(np.float64)


def logreg_lbfgs(dtype=np.float64, params=None, **settings):
    X, y = (a.astype(dtype) for a in logreg_data())
    params = logreg_params(dtype) if params is None else params
    opt = LBFGS(params, line_search_fn="strong_wolfe", **settings)

    def closure():
        opt.zero_grad()
        loss = logreg_loss(params, X, y)
        loss.backward()
        return loss

    opt.step(closure)
    return params, opt, float(np.max(np.abs(flat(params) - THETA)))


def test_reference_minimizer_agrees_with_scipy():
    from scipy import optimize  # in the test extra (an oracle, never a dependency of matgrad)
    X, y = logreg_data()
    A = np.hstack([X, np.ones((len(X), 1))])

    def f(theta):
        z = A @ theta
        return np.mean(np.logaddexp(0, z) - y * z) + LAM / 2 * theta @ theta

    def g(theta):
        return A.T @ (1 / (1 + np.exp(-A @ theta)) - y) / len(y) + LAM * theta

    found = optimize.minimize(f, np.zeros(6), jac=g, method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(found.x, THETA, atol=1e-7)


# ----- LBFGS vs PyTorch's counts ----------------------------------------------------------------
def test_rosenbrock_float64_reaches_1e6_within_torch_iterations():
    k = TORCH_ROSEN_F64_TIGHT["iters_to_1e-6"]
    _, opt, err = rosen_run(max_iter=k, max_eval=10 * k, line_search_fn="strong_wolfe", **TIGHT)
    assert err <= 1e-6 and opt.n_iter <= k
    _, opt, err = rosen_run(max_iter=500, max_eval=5000, line_search_fn="strong_wolfe", **TIGHT)
    assert opt.n_iter <= TORCH_ROSEN_F64_TIGHT["n_iter"]
    assert err <= max(1e-6, TORCH_ROSEN_F64_TIGHT["err"] * 1.01)


def test_rosenbrock_float64_default_tolerances_match_torch():
    _, opt, err = rosen_run(max_iter=500, max_eval=5000, line_search_fn="strong_wolfe")
    assert opt.n_iter <= TORCH_ROSEN_F64_DEFAULTS["n_iter"]
    assert err <= TORCH_ROSEN_F64_DEFAULTS["err"] * 1.01


def test_rosenbrock_float32_stays_float32_and_reaches_1e4_within_torch_iterations():
    k = TORCH_ROSEN_F32_DEFAULTS["iters_to_1e-4"]
    x, opt, err = rosen_run(np.float32, max_iter=k, max_eval=10 * k, line_search_fn="strong_wolfe")
    assert x.dtype == np.float32 and opt.d.dtype == np.float32 and err <= 1e-4
    _, opt, err = rosen_run(np.float32, max_iter=500, max_eval=5000, line_search_fn="strong_wolfe")
    assert opt.n_iter <= TORCH_ROSEN_F32_DEFAULTS["n_iter"] and err <= 1e-4


def test_rosenbrock_fixed_step_float64():
    k = TORCH_ROSEN_F64_FIXED_STEP["iters_to_1e-6"]
    _, opt, err = rosen_run(max_iter=k, max_eval=10 * k, **TIGHT)
    assert err <= 1e-6 and opt.n_iter <= k


def test_logistic_regression_float64_within_torch_iterations():
    k = TORCH_LOGREG_F64_TIGHT["iters_to_1e-6"]
    _, opt, err = logreg_lbfgs(max_iter=k, max_eval=10 * k, **TIGHT)
    assert err <= 1e-6
    _, opt, err = logreg_lbfgs(max_iter=100, **TIGHT)
    assert opt.n_iter <= TORCH_LOGREG_F64_TIGHT["n_iter"] and err <= TORCH_LOGREG_F64_TIGHT["err"] * 1.01
    _, opt, err = logreg_lbfgs(max_iter=100)
    assert opt.n_iter <= TORCH_LOGREG_F64_DEFAULTS["n_iter"] and err <= TORCH_LOGREG_F64_DEFAULTS["err"] * 1.01


def test_logistic_regression_float32():
    params, opt, err = logreg_lbfgs(np.float32, max_iter=100)
    assert all(p.dtype == np.float32 for p in params)
    assert opt.n_iter <= TORCH_LOGREG_F32_DEFAULTS["n_iter"] and err <= TORCH_LOGREG_F32_DEFAULTS["err"]


def test_lbfgs_with_an_nn_linear_model():
    X, y = logreg_data()
    model = nn.Linear(5, 1, dtype=np.float64, rng=0)
    opt = LBFGS(model.parameters(), max_iter=100, line_search_fn="strong_wolfe", **TIGHT)

    def closure():
        opt.zero_grad()
        loss = logreg_loss(model, X, y)
        loss.backward()
        return loss

    first = opt.step(closure)
    assert isinstance(first, mg.Tensor)  # the closure's first result, as in PyTorch
    np.testing.assert_allclose(flat(model.parameters()), THETA, atol=1e-6)


# ----- state across calls, checkpoints ---------------------------------------------------------
@pytest.mark.parametrize("line_search_fn", ["strong_wolfe", None])
def test_repeated_steps_continue_one_run(line_search_fn):
    """Four calls of 5 iterations take the path of one call of 20 (same history, directions)."""
    settings = {"line_search_fn": line_search_fn, "max_eval": 1000, **TIGHT}
    x_once, once, _ = rosen_run(max_iter=20, **settings)
    x = mg.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = LBFGS([x], max_iter=5, **settings)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(4):
        opt.step(closure)
    assert opt.n_iter == once.n_iter == 20 and opt.step_count == 4
    np.testing.assert_array_equal(x.data, x_once.data)


def test_state_dict_resumes_exactly():
    X, y = logreg_data()

    def make(params):
        opt = LBFGS(params, max_iter=3, history_size=4, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = logreg_loss(params, X, y)
            loss.backward()
            return loss

        return opt, closure

    a = logreg_params(np.float64)
    opt_a, close_a = make(a)
    for _ in range(3):
        opt_a.step(close_a)
    state = opt_a.state_dict()
    assert state["type"] == "LBFGS" and state["history"] == 4 and state["line_search_fn"] == "strong_wolfe"
    b = [mg.tensor(p.data.copy(), requires_grad=True) for p in a]
    opt_b, close_b = make(b)
    opt_b.load_state_dict(state)
    for _ in range(2):
        opt_a.step(close_a)
        opt_b.step(close_b)
    np.testing.assert_array_equal(flat(a), flat(b))
    assert opt_a.n_iter == opt_b.n_iter and opt_a.func_evals == opt_b.func_evals
    fresh = LBFGS(logreg_params(np.float64))
    fresh.load_state_dict(fresh.state_dict())  # before any step: no direction or history yet
    bad = dict(state)
    del bad["old_dirs.0"]
    with pytest.raises(ValueError, match="missing key"):
        opt_b.load_state_dict(bad)


def test_lbfgs_arguments_are_checked():
    x = mg.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size"):
        LBFGS([x], history_size=0)
    with pytest.raises(TypeError, match="closure"):
        LBFGS([x]).step(None)
    assert LBFGS([x], max_iter=8).max_eval == 10


def test_converged_start_takes_no_step():
    x, opt, _ = rosen_run(start=(1.0, 1.0), line_search_fn="strong_wolfe")
    assert opt.n_iter == 0 and opt.func_evals == 1
    np.testing.assert_array_equal(x.data, [1.0, 1.0])


def test_cubic_minimizer_is_exact_on_a_cubic():
    f = lambda t: t**3 - 3 * t**2 + 1  # local minimum at t = 2
    df = lambda t: 3 * t**2 - 6 * t
    assert cubic_minimizer(0.5, f(0.5), df(0.5), 3.0, f(3.0), df(3.0)) == pytest.approx(2.0)
    assert cubic_minimizer(3.0, f(3.0), df(3.0), 0.5, f(0.5), df(0.5)) == pytest.approx(2.0)
    assert cubic_minimizer(0.5, f(0.5), df(0.5), 3.0, f(3.0), df(3.0), bounds=(2.5, 4.0)) == 2.5


# ----- Newton -----------------------------------------------------------------------------------
def newton_closure(opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward(create_graph=True)
        return loss

    return closure


@pytest.mark.parametrize(("dtype", "tol"), [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_newton_solves_logistic_regression_in_a_few_steps(dtype, tol):
    X, y = (a.astype(dtype) for a in logreg_data())
    model = nn.Linear(5, 1, dtype=dtype, rng=0)
    opt = Newton(model.parameters())
    closure = newton_closure(opt, lambda: logreg_loss(model, X, y))
    while np.max(np.abs(flat(model.parameters()) - THETA)) > tol and opt.step_count < 10:
        opt.step(closure)
    assert np.max(np.abs(flat(model.parameters()) - THETA)) <= tol
    assert opt.step_count <= 10 and opt.solver == "solve"
    assert all(p.dtype == dtype and isinstance(p.grad, np.ndarray) for p in model.parameters())


def test_newton_takes_the_exact_damped_step_on_a_quadratic():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((4, 4))
    A, c = M @ M.T + np.eye(4), rng.standard_normal(4)
    x = mg.tensor(np.zeros(4), requires_grad=True)
    opt = Newton([x], damping=0.5, line_search=False)
    opt.step(newton_closure(opt, lambda: 0.5 * (x @ (A @ x)) - c @ x))
    np.testing.assert_allclose(x.data, np.linalg.solve(A + 0.5 * np.eye(4), c), rtol=1e-12)
    undamped = Newton([x])
    undamped.step(newton_closure(undamped, lambda: 0.5 * (x @ (A @ x)) - c @ x))
    np.testing.assert_allclose(x.data, np.linalg.solve(A, c), rtol=1e-10)


def test_newton_singular_hessian_falls_back_to_least_squares():
    w = mg.tensor(np.array([3.0, -1.0]), requires_grad=True)
    opt = Newton([w])
    opt.step(newton_closure(opt, lambda: (w.sum() - 1.0) ** 2))  # H = 2·11ᵀ, rank one
    assert opt.solver == "lstsq"
    assert w.data.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w.data, [2.5, -1.5])  # the minimum-norm step: both move equally


def test_newton_needs_create_graph_and_checks_its_state():
    x = mg.tensor(np.ones(2), requires_grad=True)
    opt = Newton([x], damping=0.1)

    def plain():
        opt.zero_grad()
        loss = (x**4).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="create_graph=True"):
        opt.step(plain)
    opt.step(newton_closure(opt, lambda: (x**4).sum()))
    state = opt.state_dict()
    assert state == {"type": "Newton", "lr": 1.0, "damping": 0.1, "line_search": True, "step": 1,
                     "func_evals": opt.func_evals}
    other = Newton([x])
    other.load_state_dict(state)
    assert other.damping == 0.1 and other.step_count == 1
    with pytest.raises(ValueError, match="type"):
        other.load_state_dict({**state, "type": "LBFGS"})


# ----- by name, in fit and on the command line ---------------------------------------------------


def _moons_net(dtype=np.float32):
    return nn.MLP([2, 8, 2], "tanh", None, seed=0, dtype=dtype), nn.CrossEntropyLoss()


def test_fit_steps_lbfgs_through_a_closure_as_a_hand_written_loop_does():
    train, test = mg.data.load_dataset("moons")
    X, y = train.X.astype(np.float64), train.y
    net, loss = _moons_net(np.float64)
    settings = {"line_search_fn": "strong_wolfe", "max_iter": 5}
    history = mg.fit(net, loss, LBFGS(net.parameters(), **settings), (X, y), 3, 10**6, verbose=0)
    by_hand, _ = _moons_net(np.float64)
    opt = LBFGS(by_hand.parameters(), **settings)

    def closure():
        opt.zero_grad()
        objective = loss(by_hand(mg.Tensor(X)), y)
        objective.backward()
        return objective

    first = [float(opt.step(closure).data) for _ in range(3)]
    for mine, theirs in zip(net.parameters(), by_hand.parameters()):  # fit shuffles the rows: sums reorder
        np.testing.assert_allclose(mine.data, theirs.data, rtol=1e-9, atol=1e-12)
    assert [record["loss"] for record in history.records] == pytest.approx(first, rel=1e-12)
    full, _ = _moons_net()
    fitted = mg.fit(full, loss, LBFGS(full.parameters(), line_search_fn="strong_wolfe"), train, 3, 10**6, test,
                    verbose=0)
    assert fitted.last()["val_accuracy"] >= 0.95


def test_fit_takes_newton_steps_on_a_logistic_regression():
    train, test = mg.data.load_dataset("moons")
    net = nn.MLP([2, 2], "tanh", None, seed=0)  # one layer: softmax regression, convex
    history = mg.fit(net, nn.CrossEntropyLoss(), Newton(net.parameters()), train, 6, 10**6, test, verbose=0)
    losses = [record["loss"] for record in history.records]
    assert all(b <= a for a, b in itertools.pairwise(losses)) and losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("name, cls", [("lbfgs", LBFGS), ("newton", Newton)])
def test_second_order_optimizers_by_name_and_from_their_state(name, cls):
    net, loss = _moons_net()
    opt = mg.optim.make_optimizer(name, net.parameters(), lr=0.5)
    assert type(opt) is cls and opt.lr == 0.5
    moons = mg.data.load_dataset("moons")[0]
    X, y = moons.X, moons.y

    def closure():
        opt.zero_grad()
        objective = loss(net(mg.Tensor(X)), y)
        objective.backward(create_graph=cls.closure == "graph")
        return objective

    opt.step(closure)
    again = mg.optim.optimizer_from_state(net.parameters(), opt.state_dict())
    assert type(again) is cls and again.state_dict().keys() == opt.state_dict().keys()


def test_cli_trains_with_lbfgs_resumes_it_and_refuses_what_it_lacks(tmp_path, capsys):
    from matgrad.cli import main

    common = ["--data", "moons", "--layers", "2,8,2", "--loss", "cross-entropy", "--activation", "tanh",
              "--batch-size", "100000", "--quiet"]
    assert main(["train", *common, "--optimizer", "lbfgs", "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", "--resume", "--epochs", "3", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "lbfgs lr 1" in out and "accuracy 100.00%" in out
    assert main(["train", *common, "--optimizer", "lbfgs", "--weight-decay", "0.1", "--out", str(tmp_path / "b")]) == 2
    assert "use --l2" in capsys.readouterr().err
    big = ["--data", "digits", "--optimizer", "newton", "--out", str(tmp_path / "c")]
    assert main(["train", *big]) == 2
    assert "2,260 weights, more than 1,000" in capsys.readouterr().err
