"""The PyTorch iteration counts that ``tests/test_second_order_optim.py`` holds matgrad's LBFGS to,
measured again here with ``torch.optim.LBFGS`` on the same problems, starts and settings, so that
the constants there are checked against PyTorch itself and not only written down once.
Needs torch: see README.md here."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

_SPEC = importlib.util.spec_from_file_location(
    "second_order_optim", Path(__file__).parents[1] / "tests" / "test_second_order_optim.py"
)
counts = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(counts)

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def rosenbrock_run(dtype=np.float64, **settings):
    x = torch.tensor([-1.5, 2.0], dtype=TORCH_DTYPES[dtype], requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=1, history_size=100, **settings)

    def closure():
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss

    opt.step(closure)
    error = float(np.max(np.abs(x.detach().numpy().astype(np.float64) - 1.0)))
    return opt.state[x]["n_iter"], error


def logistic_run(dtype=np.float64, **settings):
    X, y = (torch.tensor(a.astype(dtype)) for a in counts.logreg_data())
    W = torch.zeros((5, 1), dtype=TORCH_DTYPES[dtype], requires_grad=True)
    b = torch.zeros(1, dtype=TORCH_DTYPES[dtype], requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, history_size=100, line_search_fn="strong_wolfe", **settings)

    def closure():
        opt.zero_grad()
        z = (X @ W + b)[:, 0]
        loss = (torch.nn.functional.softplus(z) - y * z).mean() + counts.LAM / 2 * ((W**2).sum() + (b**2).sum())
        loss.backward()
        return loss

    opt.step(closure)
    found = np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()]).astype(np.float64)
    return opt.state[W]["n_iter"], float(np.max(np.abs(found - counts.THETA)))


def iterations_to(tolerance, run, **settings):
    """The smallest max_iter (max_eval = 10 × max_iter) after which one step is within tolerance."""
    for k in range(1, 200):
        if run(max_iter=k, max_eval=10 * k, **settings)[1] <= tolerance:
            return k
    raise AssertionError(f"not within {tolerance} in 200 iterations")


def agrees(measured, written):
    n_iter, error = measured
    assert n_iter == written["n_iter"]
    assert error == pytest.approx(written["err"], rel=1e-6)


def test_rosenbrock_counts():
    long = {"max_iter": 500, "max_eval": 5000, "line_search_fn": "strong_wolfe"}
    agrees(rosenbrock_run(**long), counts.TORCH_ROSEN_F64_DEFAULTS)
    agrees(rosenbrock_run(**long, **counts.TIGHT), counts.TORCH_ROSEN_F64_TIGHT)
    agrees(rosenbrock_run(np.float32, **long), counts.TORCH_ROSEN_F32_DEFAULTS)
    wolfe = {"line_search_fn": "strong_wolfe"}
    assert iterations_to(1e-6, rosenbrock_run, **wolfe, **counts.TIGHT) == counts.TORCH_ROSEN_F64_TIGHT["iters_to_1e-6"]
    assert iterations_to(1e-4, lambda **s: rosenbrock_run(np.float32, **s), **wolfe) == (
        counts.TORCH_ROSEN_F32_DEFAULTS["iters_to_1e-4"]
    )
    assert iterations_to(1e-6, rosenbrock_run, **counts.TIGHT) == counts.TORCH_ROSEN_F64_FIXED_STEP["iters_to_1e-6"]


def test_logistic_regression_counts():
    agrees(logistic_run(max_iter=100), counts.TORCH_LOGREG_F64_DEFAULTS)
    agrees(logistic_run(max_iter=100, **counts.TIGHT), counts.TORCH_LOGREG_F64_TIGHT)
    agrees(logistic_run(np.float32, max_iter=100), counts.TORCH_LOGREG_F32_DEFAULTS)
    assert iterations_to(1e-6, logistic_run, **counts.TIGHT) == counts.TORCH_LOGREG_F64_TIGHT["iters_to_1e-6"]
