"""Jacobian claims for a vector-valued f (numerator layout m×n by default, or denominator n×m) and
Hessian claims for a scalar f, checked against matgrad's jacrev and, here, central differences."""

import numpy as np
import pytest

from matgrad.claim import check_gradient
from matgrad.cli import main
from matgrad.formula import FormulaError


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numeric_jacobian(f, x, h=1e-6):
    """Numerator layout: f's entries (raveled) by x's entries (raveled)."""
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        columns.append((np.ravel(f(x + step)) - np.ravel(f(x - step))) / (2 * h))
    return np.stack(columns, axis=-1)


def numeric_hessian(f, x, h=1e-4):
    gradient = lambda v: numeric_jacobian(lambda u: np.array([f(u)]), v, h)[0]
    return numeric_jacobian(gradient, x, h)


JACOBIANS = [  # f, claim, shapes, f in NumPy of (x, inputs), the claim in NumPy
    ("A@x", "A", dict(A="2x3", x="3x1"), lambda x, v: v["A"] @ x, lambda v: v["A"]),
    ("sigmoid(A@x)", "sigmoid(A@x)*(1 - sigmoid(A@x))*A", dict(A="2x3", x="3x1"),
     lambda x, v: sigmoid(v["A"] @ x), lambda v: sigmoid(v["A"] @ v["x"]) * (1 - sigmoid(v["A"] @ v["x"])) * v["A"]),
    ("x*x", "diag(2*x)", dict(x="4"), lambda x, v: x * x, lambda v: np.diag(2 * v["x"])),
    ("x.T@A", "A.T", dict(A="3x3", x="3x1"), lambda x, v: x.T @ v["A"], lambda v: v["A"].T),  # f a row
    ("c*x", "x", dict(c="scalar", x="3x1"), lambda c, v: c * v["x"], lambda v: v["x"]),  # by a number: a column
]


@pytest.mark.parametrize("f, claim, shapes, numpy_f, numpy_claim", JACOBIANS, ids=[j[0] for j in JACOBIANS])
def test_a_right_jacobian_in_the_numerator_layout(f, claim, shapes, numpy_f, numpy_claim):
    wrt = "c" if "c" in shapes else "x"
    report = check_gradient(f, claim, wrt=wrt, **shapes)
    assert report.ok, report.diagnosis
    assert report.verdict.startswith(f"✓ correct: the claim equals the Jacobian ∂f/∂{wrt} in the numerator layout")
    values = report.inputs
    numeric = numeric_jacobian(lambda x: numpy_f(x, values), values[wrt])
    np.testing.assert_allclose(np.reshape(numpy_claim(values), numeric.shape), numeric, atol=1e-6)


def test_the_denominator_layout_on_request():
    assert check_gradient("A@x", "A.T", wrt="x", jacobian_layout="denominator", A="2x3", x="3x1").ok
    report = check_gradient("A@x", "A", wrt="x", jacobian_layout="denominator", A="2x3", x="3x1")
    assert report.kinds == ("layout",)
    assert report.details[:2] == ["  you wrote the numerator layout; in the denominator layout the Jacobian is Aᵀ",
                                  "  (or check the claim as it is with --jacobian-layout numerator)"]


@pytest.mark.parametrize(
    "claim, kinds",
    [("A.T", ("layout",)), ("-A", ("sign",)), ("2*A", ("factor",)), ("A@x", ("shape",)), ("A + 1", ("term",)),
     ("A*A", ("entries",))],
)
def test_jacobian_diagnoses(claim, kinds):
    report = check_gradient("A@x", claim, wrt="x", A="2x3", x="3x1")
    assert report.kinds == kinds, report.diagnosis


def test_a_square_jacobian_transposed_names_the_layouts():
    report = check_gradient("tanh(A@x)", "(1 - tanh(A@x)**2)*A", wrt="x", A="3x3", x="3x1")
    assert report.ok
    report = check_gradient("tanh(A@x)", "((1 - tanh(A@x)**2)*A).T", wrt="x", A="3x3", x="3x1")
    assert report.kinds == ("transpose",) and "the Jacobian ∂f/∂x" in report.verdict
    assert "--jacobian-layout denominator" in report.diagnosis


HESSIANS = [
    ("x.T@A@x", "A + A.T", dict(A="3x3", x="3x1"), lambda x, v: (x.T @ v["A"] @ x).item(), lambda v: v["A"] + v["A"].T),
    ("sum(x**3)", "diag(6*x)", dict(x="4"), lambda x, v: np.sum(x**3), lambda v: np.diag(6 * v["x"])),
    ("sum(exp(A@x))", "A.T@diag(exp(A@x))@A", dict(A="2x3", x="3"), lambda x, v: np.sum(np.exp(v["A"] @ x)),
     lambda v: v["A"].T @ np.diag(np.exp(v["A"] @ v["x"])) @ v["A"]),
]


@pytest.mark.parametrize("f, claim, shapes, numpy_f, numpy_claim", HESSIANS, ids=[h[0] for h in HESSIANS])
def test_a_right_hessian(f, claim, shapes, numpy_f, numpy_claim):
    report = check_gradient(f, claim, wrt="x", hessian=True, **shapes)
    assert report.ok, report.diagnosis
    assert report.verdict.startswith("✓ correct: the claim equals the Hessian ∂²f/∂x²")
    values = report.inputs
    numeric = numeric_hessian(lambda x: numpy_f(x, values), values["x"])
    np.testing.assert_allclose(numpy_claim(values), numeric, atol=1e-5)


@pytest.mark.parametrize(
    "claim, kinds",
    [("2*A", ("symmetric",)), ("0.5*(A + A.T)", ("factor",)), ("-(A + A.T)", ("sign",)), ("A + A.T + x@x.T", ("term",)),
     ("A", ("entries",))],
)
def test_hessian_diagnoses(claim, kinds):
    report = check_gradient("x.T@A@x", claim, wrt="x", hessian=True, A="3x3", x="3x1")
    assert report.kinds == kinds, report.diagnosis


def test_a_hessian_needs_a_scalar_f():
    with pytest.raises(FormulaError, match="f must give a scalar for a Hessian"):
        check_gradient("A@x", "A", wrt="x", hessian=True, A="2x3", x="3x1")


def test_the_command(capsys):
    args = ["check", "A@x", "--shape", "A=2x3", "--shape", "x=3x1", "--wrt", "x"]
    assert main([*args, "--claim", "A"]) == 0
    assert main([*args, "--claim", "A.T", "--jacobian-layout", "denominator"]) == 0
    capsys.readouterr()
    assert main([*args, "--claim", "A.T"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("✗ the claim has shape 3×2 but the Jacobian ∂f/∂x has shape 2×3; its transpose is correct")
    assert "matgrad's derivation" not in out  # explain derives gradients, not Jacobians
    hessian = ["check", "x.T@A@x", "--shape", "A=3x3", "--shape", "x=3x1", "--wrt", "x", "--hessian"]
    assert main([*hessian, "--claim", "A + A.T"]) == 0
    assert main([*hessian, "--claim", "2*A"]) == 1
    capsys.readouterr()
    assert main([*args, "--hessian", "--claim", "A"]) == 2
    assert "f must give a scalar for a Hessian" in capsys.readouterr().err
