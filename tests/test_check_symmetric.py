"""The Matrix Cookbook's symmetric-matrix convention: for f(A) with A symmetric, the derivative by the
independent entries aᵢⱼ (i ≤ j) is G + Gᵀ − I⊙G, where G = ∂f/∂A is what matgrad (and autodiff)
computes.  A claim in that convention is diagnosed as such, with both explained, never as plain wrong."""

import numpy as np
import pytest

from matgrad.claim import check_gradient
from matgrad.cli import main


def by_independent_entries(f, A, h=1e-6):
    """Central differences of f moving aᵢⱼ and aⱼᵢ together (A stays symmetric)."""
    n = A.shape[0]
    S = np.zeros_like(A)
    for i in range(n):
        for j in range(i, n):
            step = np.zeros_like(A)
            step[i, j] = step[j, i] = h
            S[i, j] = S[j, i] = (f(A + step) - f(A - step)) / (2 * h)
    return S


def cookbook(G):
    return G + G.T - np.diag(np.diag(G))


def sym(M):
    return (M + M.T) / 2


CASES = [  # f, the claim in the convention, shapes, constraints, f in NumPy of (A, inputs), the claim in NumPy
    ("logdet(A)", "2*inv(A) - diag(diag(inv(A)))", dict(A="4x4"), {},
     lambda A, v: np.linalg.slogdet(A)[1], lambda v: cookbook(np.linalg.inv(v["A"]))),
    ("log(det(A))", "2*inv(A) - diag(diag(inv(A)))", dict(A="3x3"), {"A": "spd"},
     lambda A, v: np.log(np.linalg.det(A)), lambda v: cookbook(np.linalg.inv(v["A"]))),
    ("trace(A@B)", "B + B.T - diag(diag(B))", dict(A="3x3", B="3x3"), {"A": "symmetric"},
     lambda A, v: np.trace(A @ v["B"]), lambda v: v["B"] + v["B"].T - np.diag(np.diag(v["B"]))),
    ("x.T@A@x", "2*x@x.T - diag(diag(x@x.T))", dict(x="3x1", A="3x3"), {"A": "symmetric"},
     lambda A, v: (v["x"].T @ A @ v["x"]).item(), lambda v: cookbook(v["x"] @ v["x"].T)),
]


@pytest.mark.parametrize("f, claim, shapes, constraints, numpy_f, numpy_claim", CASES, ids=[c[0] for c in CASES])
def test_the_cookbook_convention_is_recognised_and_explained(f, claim, shapes, constraints, numpy_f, numpy_claim):
    report = check_gradient(f, claim, wrt="A", constraints=constraints, **shapes)
    assert not report.ok and report.kinds == ("symmetric convention",), report.diagnosis
    assert report.verdict.startswith("✗ the claim is the gradient in the symmetric-matrix convention, G + Gᵀ − I⊙G")
    text = report.diagnosis
    assert "both are standard" in text and "matgrad, like any autodiff, computes G = ∂f/∂A" in text
    assert "G + G.T - diag(diag(G))" in text and "independent entries" in text
    assert "drawn general" not in text  # A is symmetric here
    # independently: the claim is the derivative by the independent entries of the symmetric A
    values = report.inputs
    numeric = by_independent_entries(lambda A: numpy_f(A, values), values["A"])
    np.testing.assert_allclose(numpy_claim(values), numeric, atol=1e-6)
    # and the formula given to convert back is matgrad's gradient
    back = next(line for line in report.details if "as a formula" in line).split(": ", 1)[1]
    assert check_gradient(f, back, wrt="A", constraints=constraints, **shapes).ok, back


def test_the_conversion_back_is_checked_for_a_claim_in_any_form():
    report = check_gradient("x.T@A@x", "x@x.T + x@x.T - diag(diag(x@x.T))", wrt="A", x="3x1", A="3x3",
                            constraints={"A": "symmetric"})
    assert report.kinds == ("symmetric convention",)
    assert "  as a formula: x @ x.T" in report.details


def test_a_general_a_says_the_convention_is_for_a_symmetric_one():
    report = check_gradient("x.T@A@x", "2*x@x.T - diag(diag(x@x.T))", wrt="A", x="3x1", A="3x3")
    assert report.kinds == ("symmetric convention",)
    note = "  (A is drawn general here; the convention is for a symmetric A: --symmetric A or --spd A)"
    assert note in report.details


def test_the_symmetric_part_is_recognised_too():
    report = check_gradient("trace(A@B)", "(B + B.T)/2", wrt="A", A="3x3", B="3x3", constraints={"A": "symmetric"})
    assert report.kinds == ("symmetric convention",) and "symmetric part ½(G + Gᵀ)" in report.verdict
    B = report.inputs["B"]
    dA = sym(np.random.default_rng(0).standard_normal((3, 3)))  # a symmetric step: both act the same on it
    assert np.sum(sym(B) * dA) == pytest.approx(np.sum(B.T * dA))


@pytest.mark.parametrize(
    "claim, kinds",
    [("inv(A)", ()), ("2*inv(A)", ("factor",)), ("2*inv(A) - diag(diag(inv(A))) + 0.1*eye(4)", ("entries",)),
     ("inv(A) + inv(A).T - 2*diag(diag(inv(A)))", ("entries",))],
)
def test_near_misses_are_not_the_convention(claim, kinds):
    report = check_gradient("logdet(A)", claim, wrt="A", A="4x4")
    assert report.kinds == kinds, report.diagnosis


def test_the_command_exits_1_with_the_explanation(capsys):
    code = main(["check", "logdet(A)", "--claim", "2*inv(A) - diag(diag(inv(A)))", "--shape", "A=3x3", "--wrt", "A"])
    out = capsys.readouterr().out
    assert code == 1 and "symmetric-matrix convention" in out and "  as a formula: inv(A)" in out
