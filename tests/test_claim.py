"""``matgrad check``: claimed gradients verified, and wrong ones diagnosed, in the order the issue asks.

One table of classic derivations (each right, and each with the usual slip); then every diagnosis
branch with a true case and a near miss; then the command in subprocesses, and the tutorial page
docs/check.md, whose every ``matgrad check`` command is run and compared with what it shows.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matgrad.claim import check_gradient, run_check
from matgrad.claim.diagnose import constant_factor, relative_error
from matgrad.claim.problem import Draw
from matgrad.claim.words import factor_hint, number_text
from matgrad.formula import FormulaError

ROOT = Path(__file__).resolve().parents[1]
LS = dict(X="6x3", w="3x1", y="6x1")
LOGISTIC = "sum(softplus(X@w) - y*(X@w))"
AUTOENCODER = "0.5*sum((W.T@W@x - x)**2)"
R = "(W.T@W@x - x)"  # the autoencoder's residual

# seed 001's column layout, z = W x, over a batch of 5 columns; a1 = σ(W1 x), a2 = σ(W2 a1)
A1, A2 = "sigmoid(W1@x)", "sigmoid(W2@sigmoid(W1@x))"
COLUMN_NET = f"0.5*sum(({A2} - y)**2)"
COLUMN_DELTA1 = f"((W2.T@(({A2} - y)*{A2}*(1 - {A2})))*{A1}*(1 - {A1}))"  # δ¹, in parentheses
COLUMN_SHAPES = dict(W1="3x4", W2="2x3", x="4x5", y="2x5")
# seed 000's row layout, Z = X W, a batch of 5 rows
H1, H2 = "sigmoid(X@W1)", "sigmoid(sigmoid(X@W1)@W2)"
ROW_NET = f"0.5*sum(({H2} - Y)**2)"
ROW_DELTA1 = f"(((({H2} - Y)*{H2}*(1 - {H2}))@W2.T)*{H1}*(1 - {H1}))"
ROW_SHAPES = dict(X="5x4", W1="4x3", W2="3x2", Y="5x2")

CLASSICS = [  # name, f, claim, wrt, constraints, shapes, expected kinds (() = correct)
    ("least squares", "sum((y - X@w)**2)", "2*X.T@(X@w - y)", "w", {}, LS, ()),
    ("least squares, missing 2", "sum((y - X@w)**2)", "X.T@(X@w - y)", "w", {}, LS, ("factor",)),
    ("mean squares", "mean((y - X@w)**2)", "2*X.T@(X@w - y)/6", "w", {}, LS, ()),
    ("mean squares, claimed for the sum", "mean((y - X@w)**2)", "2*X.T@(X@w - y)", "w", {}, LS, ("factor",)),
    ("logistic", LOGISTIC, "X.T@(sigmoid(X@w) - y)", "w", {"y": "binary"}, LS, ()),
    ("logistic, log-likelihood", LOGISTIC, "X.T@(y - sigmoid(X@w))", "w", {"y": "binary"}, LS, ("sign",)),
    ("softmax cross-entropy", "-sum(Y*log_softmax(Z, axis=1))", "softmax(Z, axis=1) - Y", "Z", {"Y": "onehot"},
     dict(Z="4x3", Y="4x3"), ()),
    ("mean cross-entropy", "cross_entropy(Z, Y)", "(softmax(Z, axis=1) - Y)/4", "Z", {"Y": "onehot"},
     dict(Z="4x3", Y="4x3"), ()),
    ("mean cross-entropy, claimed for the sum", "cross_entropy(Z, Y)", "softmax(Z, axis=1) - Y", "Z", {"Y": "onehot"},
     dict(Z="4x3", Y="4x3"), ("factor",)),
    ("xᵀAx", "sum(x.T@A@x)", "(A + A.T)@x", "x", {}, dict(x="3x1", A="3x3"), ()),
    ("xᵀAx, 2Ax", "sum(x.T@A@x)", "2*A@x", "x", {}, dict(x="3x1", A="3x3"), ("symmetric",)),
    ("xᵀAx, 2Ax, A symmetric", "sum(x.T@A@x)", "2*A@x", "x", {"A": "symmetric"}, dict(x="3x1", A="3x3"), ()),
    ("tr(AXB)", "trace(A@X@B)", "A.T@B.T", "X", {}, dict(A="3x4", X="4x5", B="5x3"), ()),
    ("tr(AXB), numerator layout", "trace(A@X@B)", "B@A", "X", {}, dict(A="3x4", X="4x5", B="5x3"), ("layout",)),
    ("tr(AXB) square, numerator layout", "tr(A@X@B)", "B@A", "X", {}, dict(A="3x3", X="3x3", B="3x3"),
     ("transpose",)),
    ("column network", COLUMN_NET, f"{COLUMN_DELTA1}@x.T", "W1", {}, COLUMN_SHAPES, ()),
    ("column network, row-layout answer", COLUMN_NET, f"x@{COLUMN_DELTA1}.T", "W1", {}, COLUMN_SHAPES, ("layout",)),
    ("column network, σ' forgotten", COLUMN_NET, f"(W2.T@(({A2} - y)*{A2}*(1 - {A2})))@x.T", "W1", {}, COLUMN_SHAPES,
     ("entries",)),
    ("row network", ROW_NET, f"X.T@{ROW_DELTA1}", "W1", {}, ROW_SHAPES, ()),
    ("row network, column-layout answer", ROW_NET, f"{ROW_DELTA1}.T@X", "W1", {}, ROW_SHAPES, ("layout",)),
    ("row network, half the squares", ROW_NET, f"0.5*X.T@{ROW_DELTA1}", "W1", {}, ROW_SHAPES, ("factor",)),
    ("tied autoencoder", AUTOENCODER, f"W@(x@{R}.T + {R}@x.T)", "W", {}, dict(W="3x4", x="4x1"), ()),
    ("tied autoencoder, batch", AUTOENCODER, f"W@(x@{R}.T + {R}@x.T)", "W", {}, dict(W="3x4", x="4x6"), ()),
    ("tied autoencoder, one term", AUTOENCODER, f"W@{R}@x.T", "W", {}, dict(W="3x4", x="4x1"), ("entries",)),
    # the Matrix Cookbook's first questions, X drawn invertible (or SPD) because f only inverts it
    ("log det X", "log(det(X))", "inv(X).T", "X", {}, dict(X="3x3"), ()),
    ("log det X, numerator layout", "log(det(X))", "inv(X)", "X", {}, dict(X="3x3"), ("transpose",)),
    ("logdet of SPD X", "logdet(X)", "inv(X)", "X", {}, dict(X="4x4"), ()),  # SPD: X⁻ᵀ = X⁻¹
    ("Σ X⁻¹", "sum(inv(X))", "-inv(X).T@(0*X + 1)@inv(X).T", "X", {}, dict(X="3x3"), ()),  # 0*X + 1: ones
    ("a shifted inverse, by its shift", "sum(inv(A + λ*I))", "-sum(inv(A + λ*I)@inv(A + λ*I))", "λ",
     {"A": "spd", "λ": "positive"}, dict(A="3x3", λ="scalar"), ()),
    ("a shifted inverse, I for X⁻²", "sum(inv(A + λ*I))", "-sum(inv(A + λ*I))", "λ",
     {"A": "spd", "λ": "positive"}, dict(A="3x3", λ="scalar"), ("entries",)),
    ("relu layer, mask by hand", "sum(g*relu(W@x))", "W.T@(g*(W@x > 0))", "x", {}, dict(g="3", W="3x4", x="4"), ()),
    ("relu layer, mask forgotten", "sum(g*relu(W@x))", "W.T@g", "x", {}, dict(g="3", W="3x4", x="4"),
     ("some draws",)),
    ("hinge, mask on the other side", "sum(maximum(1 - y*(X@w), 0))", "-X.T@(y*(y*(X@w) < 1))", "w",
     {"y": "binary"}, LS, ()),
]


@pytest.mark.parametrize(
    "f, claim, wrt, constraints, shapes, kinds", [row[1:] for row in CLASSICS], ids=[row[0] for row in CLASSICS]
)
def test_classic_derivations(f, claim, wrt, constraints, shapes, kinds):
    report = check_gradient(f, claim, wrt=wrt, constraints=constraints, **shapes)
    assert report.kinds == kinds, report.diagnosis
    assert report.ok == (kinds == ())
    assert report.verdict.startswith("✓ correct" if report.ok else "✗ ")
    if report.ok:
        assert report.max_error < 1e-12


def check(f, claim, wrt, **shapes):
    return check_gradient(f, claim, wrt=wrt, **shapes)


# ----- each diagnosis: a true case and a near miss ------------------------------------------------


def test_correct_reports_the_error_and_draws():
    report = check("sum((y - X@w)**2)", "2*X.T@(X@w - y)", "w", **LS)
    assert report.ok and report.kind == "correct" and report.details == []
    assert re.fullmatch(r"✓ correct: the claim equals ∂f/∂w \(max relative error \de[-+]\d\d over 5 random draws\)",
                        report.verdict)


def test_correct_near_miss_a_factor_of_one_plus_half_a_millionth():
    report = check("sum((y - X@w)**2)", "2.000001*X.T@(X@w - y)", "w", **LS)
    assert not report.ok and report.kinds == ("factor",)
    assert report.factor == pytest.approx(1.0000005, rel=1e-9)
    assert 1e-8 < report.max_error < 1e-6
    assert "1.0000005 × ∂f/∂w" in report.verdict


def test_wrong_shape_that_no_transpose_or_reshape_fixes():
    report = check("sum((y - X@w)**2)", "2*X@w", "w", **LS)
    assert report.kinds == ("shape",) and report.max_error == np.inf
    assert report.verdict == (
        "✗ the claim has shape 6×1 but ∂f/∂w has shape 3×1, and neither its transpose nor a reshape fits")


def test_wrong_shape_near_miss_a_vector_with_the_right_entries():
    report = check("sum((y - X@w)**2)", "2*sum(X*(X@w - y), axis=0)", "w", **LS)
    assert report.kinds == ("shape",)
    assert report.verdict.endswith("its entries are right:") and "(3,)" in report.verdict
    assert report.details == ["  reshape it to 3×1"]


def test_layout_the_issue_example():
    report = check("sum(A * (X@B).T)", "B@A", "X", A="3x4", X="4x5", B="5x3")
    assert report.kinds == ("layout",)
    assert report.verdict == "✗ the claim has shape 5×4 but ∂f/∂X has shape 4×5; its transpose is correct:"
    assert report.details[0] == "  you used the numerator layout; the gradient in the shape of X is (B A)ᵀ = Aᵀ Bᵀ"
    assert report.details[1] == "  as a formula: (B @ A).T"


def test_layout_near_miss_transposed_and_twice_too_large():
    report = check("sum(A * (X@B).T)", "2*B@A", "X", A="3x4", X="4x5", B="5x3")
    assert report.kinds == ("layout", "factor") and report.factor == pytest.approx(2)
    assert "its transpose is right up to a constant factor: it equals 2 × ∂f/∂X" in report.verdict
    assert "  the gradient is ½ × the claim's transpose = Aᵀ Bᵀ" in report.details


def test_layout_of_a_row_vector_gives_the_simple_form():
    report = check("sum((y - X@w)**2)", "2*(X.T@(X@w - y)).T", "w", **LS)
    assert report.kinds == ("layout",)
    assert report.details == ["  you used the numerator layout; the gradient in the shape of w is 2 Xᵀ (X w − y)",
                              "  as a formula: 2 * (X.T @ (X @ w - y))"]


def test_transpose_of_a_square_gradient():
    report = check("trace(A@X@B)", "B@A", "X", A="3x3", X="3x3", B="3x3")
    assert report.kinds == ("transpose",)
    assert report.verdict == "✗ the claim is the transpose of ∂f/∂X:"
    assert "(B A)ᵀ = Aᵀ Bᵀ" in report.details[0]


def test_transpose_near_miss_a_transpose_plus_a_term():
    report = check("trace(A@X@B)", "B@A + X", "X", A="3x3", X="3x3", B="3x3")
    assert report.kinds == ("entries",)


def test_symmetric_finds_the_smallest_set_of_inputs_that_must_be_symmetric():
    report = check("trace(A@X@B)", "A@B", "X", A="3x3", X="3x3", B="3x3")  # AᵀBᵀ = AB when both are symmetric
    assert report.kinds == ("symmetric",)
    assert report.verdict == "✗ the claim is right only for symmetric A and B (A = Aᵀ, B = Bᵀ):"


def test_sign():
    report = check(LOGISTIC, "X.T@(y - sigmoid(X@w))", "w", constraints={"y": "binary"}, **LS)
    assert report.kinds == ("sign",) and report.verdict == "✗ the claim is right up to sign: it equals −∂f/∂w"
    assert report.details == ["  the gradient is −Xᵀ (y − σ(X w))",
                              "  as a formula: -(X.T @ (y - sigmoid(X @ w)))"]
    fixed = check(LOGISTIC, report.details[1].split(": ", 1)[1], "w", constraints={"y": "binary"}, **LS)
    assert fixed.ok


def test_sign_near_miss_minus_one_half_is_a_factor():
    report = check(LOGISTIC, "0.5*X.T@(y - sigmoid(X@w))", "w", constraints={"y": "binary"}, **LS)
    assert report.kinds == ("factor",) and report.factor == pytest.approx(-0.5)
    assert "it equals −½ × ∂f/∂w" in report.verdict


def test_factor_sum_versus_mean_names_n_and_the_fix_is_correct():
    report = check("mean((y - X@w)**2)", "2*X.T@(X@w - y)", "w", **LS)
    assert report.kinds == ("factor",) and report.factor == pytest.approx(6)
    assert "  the claim sums where f takes a mean over N = 6 (the number of rows of y)" in report.details
    assert "  the gradient is 1/6 × the claim = 1/3 Xᵀ (X w − y)" in report.details
    assert any("draws 1–5" in line and "fresh draws 6–10" in line for line in report.details)
    paste = next(line for line in report.details if "as a formula" in line).split(": ", 1)[1]
    assert check("mean((y - X@w)**2)", paste, "w", **LS).ok


def test_factor_a_missing_half_and_two_n():
    missing = check("0.5*sum((y - X@w)**2)", "2*X.T@(X@w - y)", "w", **LS)
    assert missing.factor == pytest.approx(2) and "an extra 2" in missing.details[0]
    two_n = check("0.5*mean((y - X@w)**2)", "2*X.T@(X@w - y)", "w", **LS)
    assert two_n.factor == pytest.approx(12) and "N = 6" in two_n.details[0] and "an extra 2" in two_n.details[0]


def test_factor_near_miss_a_factor_that_changes_from_draw_to_draw():
    report = check("sum((y - X@w)**2)", "2*X.T@(X@w - y)*sum(w*w)", "w", **LS)
    assert report.kinds == ("entries",) and report.factor is None


def _draws(factor, count=5, seed=0):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal((3, 2)) for _ in range(count)]
    return [Draw({}, g, factor * g) for g in grads]


def test_a_factor_is_reported_only_if_it_holds_on_fresh_draws():
    assert constant_factor(_draws(2.0), _draws(2.0, seed=1), 1e-8) == pytest.approx(2.0)
    assert constant_factor(_draws(2.0), _draws(3.0, seed=1), 1e-8) is None  # right on draws 1-5 only
    assert constant_factor(_draws(0.0), _draws(0.0, seed=1), 1e-8) is None  # a zero claim is no factor


def test_symmetric_only():
    report = check("sum(x.T@A@x)", "2*A@x", "x", x="3x1", A="3x3")
    assert report.kinds == ("symmetric",) and report.verdict == "✗ the claim is right only for symmetric A (A = Aᵀ):"
    assert "with A symmetric it matches on 10 draws" in report.details[0]
    assert report.details[1] == "  for any A: put ½(A + Aᵀ) in place of A in the claim"


def test_symmetric_names_the_input_that_must_be_symmetric():
    report = check("sum(x.T@A@x) + sum(B*B)", "2*A@x", "x", x="3x1", A="3x3", B="3x3")
    assert report.kinds == ("symmetric",) and "symmetric A (A = Aᵀ)" in report.verdict


def test_symmetric_near_miss_wrong_even_for_a_symmetric_matrix():
    report = check("sum(x.T@A@x)", "3*A@x", "x", x="3x1", A="3x3")
    assert report.kinds == ("entries",)


def test_some_draws_a_forgotten_relu_mask():
    report = check("sum(relu(w.T@x))", "x", "w", w="3x1", x="3x1")
    assert report.kinds == ("some draws",)
    right = int(re.search(r"right on only (\d+) of 10 draws", report.verdict).group(1))
    assert 0 < right < 10
    assert "f uses relu" in report.details[1]


def test_some_draws_near_miss_right_on_no_draw():
    report = check("sum(relu(w.T@x))", "2*x", "w", w="3x1", x="3x1")
    assert report.kinds == ("entries",) and "on all 10 draws" in report.verdict


def test_entries_lists_the_entries_that_disagree_most_on_draw_1():
    claim = f"W@{R}@x.T"
    report = check(AUTOENCODER, claim, "W", W="3x4", x="4x1")
    assert report.kinds == ("entries",) and report.verdict.endswith("the entries that disagree most on draw 1:")
    W, x = (report.inputs[name] for name in ("W", "x"))
    r = W.T @ W @ x - x
    true, claimed = W @ (x @ r.T + r @ x.T), W @ r @ x.T
    worst = np.unravel_index(np.argmax(np.abs(claimed - true)), true.shape)
    first = report.details[1].split()
    assert first[:2] == [f"[{worst[0]},", f"{worst[1]}]"]
    assert float(first[2]) == pytest.approx(claimed[worst], rel=1e-4)
    assert float(first[3]) == pytest.approx(true[worst], rel=1e-4)
    assert len(report.details) == 4


def test_a_claim_that_is_not_finite_is_wrong_not_an_error():
    report = check("sum(x*x)", "2*x + log(x - 100)", "x", x="3x1")
    assert not report.ok and report.kinds == ("entries",) and "nan" in report.details[1]


# ----- the API ------------------------------------------------------------------------------------


def test_callables_and_fixed_arrays():
    X = np.random.default_rng(1).standard_normal((6, 3))

    def f(X, w, y):
        return ((y - X @ w) ** 2).sum()

    report = check_gradient(f, lambda X, w, y: 2 * X.T @ (X @ w - y), wrt="w", X=X, w=(3, 1), y="6x1")
    assert report.ok
    np.testing.assert_array_equal(report.inputs["X"], X)
    transposed = check_gradient(f, lambda X, w, y: (2 * X.T @ (X @ w - y)).T, wrt="w", X=X, w=(3, 1), y="6x1")
    assert transposed.kinds == ("layout",) and "the claim's transpose" in transposed.details[0]
    mixed = check_gradient("sum((y - X@w)**2)", lambda X, w, y: 2 * X.T @ (y - X @ w), wrt="w", X=X, w=(3, 1), y="6x1")
    assert mixed.kinds == ("sign",) and mixed.details == ["  the gradient is −(the claim)"]


def test_the_derivation_is_matgrads_own_and_checked():
    report = check("sum(A * (X@B).T)", "B@A", "X", A="3x4", X="4x5", B="5x3")
    derivation = report.derivation
    assert derivation.ok and "∂f/∂X = Aᵀ Bᵀ" in str(derivation)


def test_seeded_and_deterministic():
    first, again = (check_gradient("sum(relu(w.T@x))", "x", wrt="w", seed=3, w="3x1", x="3x1") for _ in range(2))
    assert first.diagnosis == again.diagnosis
    assert check_gradient("sum((y - X@w)**2)", "2*X.T@(X@w - y)", wrt="w", draws=1, seed=7, **LS).verdict.endswith(
        "over 1 random draw)")


def test_inputs_with_reserved_names_go_through_run_check():
    report = run_check("sum(seed*draws)", "draws", "seed", {"seed": "2x2", "draws": "2x2"})
    assert report.ok


def test_constraints_are_drawn():
    report = check_gradient("-sum(q*log(p))", "-q/p", wrt="p", constraints={"p": "simplex", "q": "simplex"},
                            p="4x2", q="4x2")
    assert report.ok
    positive = check_gradient("sum(sqrt(x))", "0.5/sqrt(x)", wrt="x", constraints={"x": "positive"}, x="5x1")
    assert positive.ok


@pytest.mark.parametrize(
    "f, claim, wrt, shapes, constraints, message",
    [
        ("sum(X@w)", "X.T@1", "w", dict(X="6x3", w="4x1"), {}, "'X@w' at column 5"),
        ("sum(X@w)", "X.T@(1", "w", dict(X="6x3", w="3x1"), {}, "syntax error at column 5"),
        ("sum(X@w)", "X.T@v", "w", dict(X="6x3", w="3x1"), {}, "unknown name 'v' in the claim 'X.T@v' at column 5"),
        ("sum(X@w)", "X.T", "v", dict(X="6x3", w="3x1"), {}, "wrt 'v' is not a name f uses"),
        ("sum(X@w)", "X.T", "w", dict(X="6x3"), {}, "no shape or value for 'w'"),
        ("sum(log(p))", "1/p", "p", dict(p="3x1"), {}, "not finite on draw 1"),
        ("sum(log(p))", "1/p", "p", dict(p="3x1"), {"p": "positiv"}, "did you mean 'positive'"),
        ("sum(log(p))", "1/p", "p", dict(p="3x1"), {"q": "positive"}, "constraint for 'q'"),
    ],
)
def test_bad_input_is_a_formula_error_with_a_position(f, claim, wrt, shapes, constraints, message):
    with pytest.raises(FormulaError, match=re.escape(message)):
        check_gradient(f, claim, wrt=wrt, constraints=constraints, **shapes)


def test_helpers():
    assert [number_text(c) for c in (2.0, 0.5, 1 / 6, -2 / 3, 1 / np.pi)] == ["2", "½", "1/6", "−2/3", "0.3183098862"]
    assert relative_error(np.ones(3), np.ones(3)) == 0 and relative_error(np.ones(3), np.ones((3, 1))) == np.inf
    assert relative_error(np.array([np.nan]), np.array([1.0])) == np.inf
    problem = check("mean((y - X@w)**2)", "X.T", "w", **LS).problem
    assert factor_hint(7.0, problem) == "" and "mean over N = 6" in factor_hint(1 / 6, problem)


# ----- the command --------------------------------------------------------------------------------


def matgrad(*args):
    return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True, text=True, timeout=120)


def test_command_exit_0_when_correct():
    result = matgrad("check", "sum((y - X@w)**2)", "--claim", "2*X.T@(X@w - y)", "--shape", "X=6x3", "--shape",
                     "w=3x1", "--shape", "y=6x1", "--wrt", "w")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("✓ correct: the claim equals ∂f/∂w (max relative error ")
    assert len(result.stdout.splitlines()) == 1


def test_command_exit_1_with_the_diagnosis_and_matgrads_derivation():
    result = matgrad("check", "sum(A * (X@B).T)", "--claim", "B@A", "--shape", "A=3x4", "--shape", "X=4x5",
                     "--shape", "B=5x3", "--wrt", "X", "--notation", "differential")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "✗ the claim has shape 5×4 but ∂f/∂X has shape 4×5; its transpose is correct:"
    assert lines[1] == "  you used the numerator layout; the gradient in the shape of X is (B A)ᵀ = Aᵀ Bᵀ"
    assert "matgrad's derivation of ∂f/∂X" in result.stdout and "Aᵀ Bᵀ : dX" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["sum(X@w)", "--claim", "X.T@(1", "--shape", "X=6x3", "--shape", "w=3x1", "--wrt", "w"],
         "the claim 'X.T@(1': syntax error at column 5"),
        (["sum(X@w", "--claim", "X.T", "--shape", "X=6x3", "--shape", "w=3x1", "--wrt", "w"],
         "f 'sum(X@w': syntax error at column 4"),
        (["sum(X@w)", "--claim", "X.T@N", "--shape", "X=6x3", "--shape", "w=3x1", "--wrt", "w"],
         "unknown name 'N' in the claim 'X.T@N' at column 5"),
        (["sum(X@w)", "--claim", "sigmod(X)", "--shape", "X=6x3", "--shape", "w=3x1", "--wrt", "w"],
         "did you mean 'sigmoid'?"),
        (["sum(X@w)", "--claim", "X.T", "--shape", "X=6x3", "--shape", "w=4x1", "--wrt", "w"],
         "cannot compute 'X@w' at column 5"),
        (["sum(X@w)", "--claim", "X.T", "--shape", "X=6x3", "--wrt", "w"], "no shape or value for 'w'"),
        (["sum(X@w)", "--claim", "X.T", "--shape", "X=6x3", "--shape", "w=3x1", "--wrt", "W"], "did you mean 'w'?"),
        (["sum(log(p))", "--claim", "1/p", "--shape", "p=3x1", "--wrt", "p", "--simplex", "p", "--positive", "p"],
         "--simplex p and --positive p"),
        (["sum(log(p))", "--claim", "1/p", "--shape", "p=3x1", "--wrt", "p"], "--positive NAME"),
        (["sum(X@w)", "--claim", "X.T", "--shape", "X=6x3", "--shape", "w=3y1", "--wrt", "w"], "bad shape '3y1'"),
        (["sum(X@w)", "--claim", "X.T", "--shape", "X=6x3", "--shape", "w=3x1", "--wrt", "w", "--tolerance", "0"],
         "--tolerance must be positive"),
    ],
)
def test_command_exit_2_on_bad_input_in_one_line(args, message):
    result = matgrad("check", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("matgrad check: error: ") and message in lines[0]
    assert result.stdout == ""


def test_command_constraint_options_reach_the_draws():
    result = matgrad("check", "sum(x.T@A@x)", "--claim", "2*A@x", "--shape", "x=3x1", "--shape", "A=3x3",
                     "--symmetric", "A", "--wrt", "x")
    assert result.returncode == 0, result.stdout + result.stderr
    missing = matgrad("check", "sum(x.T@A@x)", "--claim", "2*A@x", "--shape", "x=3x1", "--shape", "A=3x3", "--wrt", "x")
    assert missing.returncode == 1 and "only for symmetric A" in missing.stdout


def test_command_log_det_draws_an_invertible_x_by_default_and_spd_on_request():
    """log(det(X)) on N(0, 1) draws once failed: det X < 0 on some draw, so log det X was not finite."""
    args = ["log(det(X))", "--shape", "X=3x3", "--wrt", "X"]
    right = matgrad("check", *args, "--claim", "inv(X).T")
    assert right.returncode == 0 and right.stdout.startswith("✓ correct"), right.stdout + right.stderr
    wrong = matgrad("check", *args, "--claim", "inv(X)")  # X is not symmetric: X⁻¹ ≠ X⁻ᵀ
    assert wrong.returncode == 1 and wrong.stdout.startswith("✗ the claim is the transpose of ∂f/∂X"), wrong.stdout
    spd = matgrad("check", *args, "--claim", "inv(X)", "--spd", "X")  # symmetric: now X⁻¹ = X⁻ᵀ
    assert spd.returncode == 0, spd.stdout + spd.stderr


def test_command_a_mask_in_the_claim():
    args = ["sum(g*relu(W@x))", "--shape", "g=3", "--shape", "W=3x4", "--shape", "x=4", "--wrt", "x"]
    assert matgrad("check", *args, "--claim", "W.T@(g*(W@x > 0))").returncode == 0
    forgotten = matgrad("check", *args, "--claim", "W.T@(g*(W@x < 0))")  # the mask on the wrong side
    assert forgotten.returncode == 1 and "✗" in forgotten.stdout


def test_command_help():
    result = matgrad("check", "--help")
    assert result.returncode == 0 and "--claim" in result.stdout and "--onehot" in result.stdout
    assert "--spd" in result.stdout and "--invertible" in result.stdout


# ----- the tutorial page --------------------------------------------------------------------------

_EXAMPLE = re.compile(r"```bash\n(.*?)```\s*```text\n(.*?)```", re.S)
_NUMBER = re.compile(r"\d(\.\d+)?e[-+]\d+")


def doc_examples():
    page = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    examples = []
    for block, shown in _EXAMPLE.findall(page):
        command = [line for line in block.splitlines() if line.startswith("matgrad check ")]
        status = re.search(r"# exit status (\d)", block)
        assert len(command) == 1 and status, block
        examples.append((command[0], int(status.group(1)), shown.splitlines()))
    return examples


def test_the_page_has_examples_of_every_exit_status():
    statuses = [status for _, status, _ in doc_examples()]
    assert len(statuses) >= 8 and set(statuses) == {0, 1, 2}


@pytest.mark.parametrize("command, status, shown", doc_examples())
def test_the_page_shows_what_each_command_prints(command, status, shown):
    result = matgrad(*shlex.split(command)[1:])
    assert result.returncode == status, result.stdout + result.stderr
    printed = (result.stderr if status == 2 else result.stdout).splitlines()
    assert shown and len(printed) >= len(shown)
    normalized = [_NUMBER.sub("N", line) for line in printed[: len(shown)]]
    assert normalized == [_NUMBER.sub("N", line) for line in shown]

