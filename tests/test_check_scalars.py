"""Formulas whose value is a 1×1 matrix, not a 0-d number (``x.T@A@x``), are scalars to ``check``;
and a 1×1 claim for a scalar variable (or a number for a 1×1 one) is the same gradient."""

import numpy as np
import pytest

from matgrad.claim import check_gradient
from matgrad.cli import main


def numeric_grad(f, inputs, wrt, h=1e-6):
    x = inputs[wrt]
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(**{**inputs, wrt: x + step}) - f(**{**inputs, wrt: x - step})).item() / (2 * h)
    return grad


LEAST_SQUARES = "w.T@X.T@X@w - 2*w.T@X.T@t + t.T@t"
LS_SHAPES = dict(X="5x3", w="3x1", t="5x1")
CASES = [  # f, claim, wrt, shapes, f in NumPy, the claim in NumPy
    ("x.T@A@x", "(A + A.T)@x", "x", dict(x="3x1", A="3x3"), lambda x, A: x.T @ A @ x, lambda x, A: (A + A.T) @ x),
    ("x.T@A@x", "x@x.T", "A", dict(x="3x1", A="3x3"), lambda x, A: x.T @ A @ x, lambda x, A: x @ x.T),
    (LEAST_SQUARES, "2*X.T@X@w - 2*X.T@t", "w", LS_SHAPES,
     lambda X, w, t: w.T @ X.T @ X @ w - 2 * w.T @ X.T @ t + t.T @ t, lambda X, w, t: 2 * X.T @ X @ w - 2 * X.T @ t),
    (LEAST_SQUARES, "2*t - 2*X@w", "t", LS_SHAPES,
     lambda X, w, t: w.T @ X.T @ X @ w - 2 * w.T @ X.T @ t + t.T @ t, lambda X, w, t: 2 * t - 2 * X @ w),
    ("c*(x.T@x)", "x.T@x", "c", dict(x="3x1", c="scalar"), lambda x, c: c * (x.T @ x), lambda x, c: x.T @ x),
    ("c*(x.T@x)", "sum(x*x)", "c", dict(x="3x1", c="1x1"), lambda x, c: c * (x.T @ x), lambda x, c: np.sum(x * x)),
]


@pytest.mark.parametrize("f, claim, wrt, shapes, numpy_f, numpy_claim", CASES)
def test_a_1x1_formula_is_a_scalar(f, claim, wrt, shapes, numpy_f, numpy_claim):
    report = check_gradient(f, claim, wrt=wrt, **shapes)
    assert report.ok, report.diagnosis
    numeric = numeric_grad(numpy_f, report.inputs, wrt)
    np.testing.assert_allclose(np.reshape(numpy_claim(**report.inputs), numeric.shape), numeric, atol=1e-6)


@pytest.mark.parametrize(
    "f, claim, wrt, shapes, kinds",
    [
        ("x.T@A@x", "2*A@x", "x", dict(x="3x1", A="3x3"), ("symmetric",)),
        ("x.T@A@x", "2*x.T@A", "x", dict(x="3x1", A="3x3"), ("layout", "symmetric")),
        (LEAST_SQUARES, "X.T@X@w - X.T@t", "w", LS_SHAPES, ("factor",)),
        (LEAST_SQUARES, "2*X.T@t - 2*X.T@X@w", "w", LS_SHAPES, ("sign",)),
        ("x.T@A@x", "x.T@x", "A", dict(x="3x1", A="3x3"), ("shape",)),
    ],
)
def test_a_wrong_claim_for_a_1x1_formula_is_diagnosed_with_a_derivation(f, claim, wrt, shapes, kinds):
    report = check_gradient(f, claim, wrt=wrt, **shapes)
    assert report.kinds == kinds, report.diagnosis
    assert report.derivation.ok  # matgrad's own derivation of a 1×1 f, every line checked


def test_the_command_exits_0_and_1_for_1x1_formulas(capsys):
    args = ["check", LEAST_SQUARES, "--shape", "X=5x3", "--shape", "w=3x1", "--shape", "t=5x1", "--wrt", "w"]
    assert main([*args, "--claim", "2*X.T@(X@w - t)"]) == 0
    assert capsys.readouterr().out.startswith("✓ correct: the claim equals ∂f/∂w")
    assert main([*args, "--claim", "X.T@(X@w - t)"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("✗ the claim is right up to a constant factor: it equals ½ × ∂f/∂w")
    assert "matgrad's derivation of ∂f/∂w" in out


def test_a_1x3_formula_is_not_a_scalar():
    report = check_gradient("x.T@A", "A", wrt="x", x="3x1", A="3x3")  # a row: its Jacobian
    assert "Jacobian" in report.verdict
