"""One wrong term of a sum named: transposed, of the wrong sign, extra, or off by a factor, with the
whole claim put right as a formula (checked again, and against central differences)."""

import numpy as np
import pytest

from matgrad.claim import check_gradient

LS = dict(X="5x3", w="3x1", t="5x1")
F = "sum((X@w - t)**2)"


def numeric_grad(inputs, h=1e-6):
    X, w, t = inputs["X"], inputs["w"], inputs["t"]
    f = lambda w: np.sum((X @ w - t) ** 2)
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[i] = h
        grad[i] = (f(w + step) - f(w - step)) / (2 * h)
    return grad


@pytest.mark.parametrize(
    "claim, verdict, fixed",
    [
        ("2*X.T@X@w - 2*t.T@X", "2*t.T@X is transposed; 2 * (X.T @ t) makes the claim right",
         "2 * X.T @ X @ w - 2 * (X.T @ t)"),
        ("2*w.T@X.T@X - 2*X.T@t", "2*w.T@X.T@X is transposed; 2 * (X.T @ X @ w) makes the claim right",
         "2 * (X.T @ X @ w) - 2 * X.T @ t"),
        ("2*X.T@X@w + 2*X.T@t", "2*X.T@t has the wrong sign: − 2*X.T@t makes the claim right",
         "2 * X.T @ X @ w - 2 * X.T @ t"),
        ("-2*X.T@t - 2*X.T@X@w", "2*X.T@X@w has the wrong sign: + 2*X.T@X@w makes the claim right",
         "-2 * X.T @ t + 2 * X.T @ X @ w"),
        ("2*X.T@X@w - X.T@t", "X.T@t is off by a factor: 2 × (X.T@t) makes the claim right",
         "2 * X.T @ X @ w - 2 * (X.T @ t)"),
        ("2*X.T@X@w - 2*X.T@t + X.T@X@w", "X.T@X@w should not be there: without it the claim is right",
         "2 * X.T @ X @ w - 2 * X.T @ t"),
    ],
)
def test_the_one_wrong_term_is_named_and_the_fix_is_right(claim, verdict, fixed):
    report = check_gradient(F, claim, wrt="w", **LS)
    assert report.kinds == ("term",), report.diagnosis
    assert report.verdict == f"✗ the claim is wrong in one term: {verdict}:"
    assert f"  as a formula: {fixed}" in report.details
    again = check_gradient(F, fixed, wrt="w", **LS)
    assert again.ok, again.diagnosis
    X, w, t = (again.inputs[name] for name in "Xwt")
    np.testing.assert_allclose(2 * X.T @ X @ w - 2 * X.T @ t, numeric_grad(again.inputs), atol=1e-6)


def test_a_transposed_term_of_a_square_gradient():
    report = check_gradient("trace(A@X@B) + trace(X@C)", "A.T@B.T + C", wrt="X", A="3x3", X="3x3", B="3x3", C="3x3")
    assert report.kinds == ("term",) and "C is transposed; C.T makes the claim right" in report.verdict


def test_the_wrong_shape_is_still_said():
    report = check_gradient(F, "2*X.T@X@w - 2*t.T@X", wrt="w", **LS)
    assert "  the claim has shape 3×3 but ∂f/∂w has shape 3×1" in report.details


@pytest.mark.parametrize(
    "claim, kinds",
    [("2*X.T@X@w + 2*t.T@X", ("shape",)),  # two things wrong in one term: not one fix
     ("X.T@X@w + X.T@t", ("entries",)),  # two terms wrong
     ("X.T@X@w - X.T@t", ("factor",)),  # the whole claim off by 2: a factor, not a term
     ("2*(X.T@X@w - X.T@t)", ()),  # right: one term, nothing to name
     ("-2*X.T@X@w + 2*X.T@t", ("sign",))],
)
def test_near_misses(claim, kinds):
    report = check_gradient(F, claim, wrt="w", **LS)
    assert report.kinds == kinds, report.diagnosis
