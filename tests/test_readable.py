"""The readable forms explain prints: the textbook closed form of each classic, in the layout the
textbook uses, and the guarantee that a rewrite is shown only when it equals the derivation."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

import matgrad as mg
from matgrad import Tensor
from matgrad.explain.command import formula_explanation, seed_network
from matgrad.symbolic import Num, Structural, Sym, evaluate, render
from matgrad.symbolic.readable import readable


def lines(explanation: mg.explain) -> dict[str, str]:
    """Each backward line as printed, ``name = formula[, notes]``, keyed by its name."""
    out = {}
    for text in str(explanation).split("Backward pass")[1].splitlines()[1:]:
        if " = " in text and text.strip()[0] in "∂δ":
            name, formula = text.strip().split(" = ", 1)
            out[name] = formula.split("   ")[0]
    assert explanation.ok, str(explanation)
    return out


def formula(text: str, *shapes: str, wrt: str | None = None, **constraints: str) -> dict[str, str]:
    return lines(formula_explanation(text, list(shapes), [wrt] if wrt else [], 0, constraints))


# ----- the classics, each in the layout its textbook uses -------------------------------------------


def test_row_layout_closed_form_is_the_index_notation_derivations():
    """Y = f(HW + B), J = ½ ‖Y − Y*‖²: ∂J/∂W = Hᵀ((Y − Y*) ⊙ f'(HW + B)), row layout, closed form."""
    rng = np.random.default_rng(0)
    H = Tensor(rng.standard_normal((5, 4)), name="H")
    W = Tensor(rng.standard_normal((4, 3)), True, "W")
    B = Tensor(rng.standard_normal((1, 3)), True, "B")
    target = Tensor(rng.uniform(size=(5, 3)), name="Y*")
    Y = mg.sigmoid(H @ W + B)
    Y.name = "Y"
    explanation = mg.explain(0.5 * ((Y - target) ** 2).sum(), loss_name="J", inline=True)
    assert "Layout: row layout (Z = XW + b)" in str(explanation)
    shown = lines(explanation)
    assert shown["∂J/∂W"] == "Hᵀ ((Y − Y*) ⊙ σ'(H W + B))"
    assert shown["∂J/∂B"] == "Σₙ (Y − Y*) ⊙ σ'(H W + B)"


def test_column_layout_delta_equations():
    """z = Wx + b: δ² = (a² − y) ⊙ σ'(z²), ∂C/∂W = δ aᵀ, δ¹ = ((W²)ᵀ δ²) ⊙ σ'(z¹), ∂C/∂b = δ."""
    explanation = seed_network("column", 0.0, 0)
    assert "Layout: column layout (z = Wx + b)" in str(explanation)
    shown = lines(explanation)
    assert shown["δ²"] == "(a² − y) ⊙ σ'(z²)"
    assert shown["∂C/∂W²"] == "δ² (a¹)ᵀ"
    assert shown["δ¹"] == "((W²)ᵀ δ²) ⊙ σ'(z¹)"
    assert shown["∂C/∂W¹"] == "δ¹ xᵀ"
    assert shown["∂C/∂b¹"] == "δ¹"


def test_regularized_gradient_keeps_lambda_symbolic():
    """Goodfellow's Algorithm 6.4 with λΩ(θ): ∂C/∂W = g hᵀ + λ W, λ's value beside it."""
    explanation = seed_network("column", 0.1, 0)
    shown = lines(explanation)
    assert shown["∂C/∂W²"] == "δ² (a¹)ᵀ + λ W², where λ = 0.1"
    assert shown["∂C/∂W¹"] == "δ¹ xᵀ + λ W¹, where λ = 0.1"
    assert "½ λ" in str(explanation).split("Backward pass")[0]  # the forward pass shows λ too


def test_a_penalty_of_nn_l2_shows_lambda_in_each_weight_gradient():
    layers = [mg.nn.Linear(4, 3, rng=0, dtype=np.float64), mg.nn.Sigmoid(), mg.nn.Linear(3, 2, rng=1, dtype=np.float64)]
    net = mg.nn.Sequential(*layers)
    x, y = np.random.default_rng(0).standard_normal((5, 4)), np.arange(5) % 2
    explanation = mg.explain(net, loss=mg.nn.CrossEntropyLoss(), x=x, y=y, penalty=mg.nn.L2(0.01))
    assert lines(explanation)["∂C/∂W²"].endswith("+ λ W², where λ = 0.01")


@pytest.mark.parametrize(
    ("text", "shapes", "wrt", "constraints", "expected"),
    [
        ("sum(x.T@A@x)", ("x=3x1", "A=3x3"), "x", {}, "(A + Aᵀ) x"),
        ("x.T@A@x", ("x=3x1", "A=3x3"), "x", {}, "(A + Aᵀ) x"),  # a 1×1 value is a scalar
        ("x.T@A@x", ("x=3x1", "A=3x3"), "x", {"A": "symmetric"}, "2 A x, since Aᵀ = A"),
        ("sum(softplus(X@w) - y*(X@w))", ("X=6x3", "w=3x1", "y=6x1"), "w", {}, "Xᵀ (σ(X w) − y)"),
        ("-sum(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))", ("z=5x1", "y=5x1"), "z", {"y": "binary"}, "σ(z) − y"),
        ("mean((y - X@w)**2)", ("X=6x3", "w=3x1", "y=6x1"), "w", {}, "2 Xᵀ (X w − y) / N, where N = 6"),
        ("w.T@X.T@X@w - 2*w.T@X.T@t + t.T@t", ("w=3x1", "X=5x3", "t=5x1"), "w", {}, "2 Xᵀ (X w − t)"),
        ("norm(r)**2", ("r=4x1",), "r", {}, "2 r"),
        ("logdet(X)", ("X=3x3",), "X", {"X": "spd"}, "X⁻ᵀ"),
        ("trace(A@inv(X))", ("A=3x3", "X=3x3"), "X", {"X": "invertible"}, "−X⁻ᵀ Aᵀ X⁻ᵀ"),
        ("log(det(inv(X)))", ("X=3x3",), "X", {"X": "invertible"}, "−X⁻ᵀ"),  # (X⁻¹)⁻¹ = X, X⁻ᵀXᵀ = I
        ("det(M)", ("M=3x3",), "M", {"M": "invertible"}, "f M⁻ᵀ"),
        ("trace(inv(X)@X)", ("X=3x3",), "X", {"X": "invertible"}, "0"),  # everything cancels
        (
            "-sum(y*log(sigmoid(X@t)) + (1 - y)*log(1 - sigmoid(X@t)))/6", ("X=6x3", "t=3x1", "y=6x1"), "t",
            {"y": "binary"}, "1/6 Xᵀ (σ(X t) − y)",
        ),
        (
            "-sum(Y*log_softmax(x@W, axis=1))", ("W=4x3", "x=5x4", "Y=5x3"), "W", {"Y": "onehot"},
            "xᵀ (softmax(x W) − Y), since Σⱼ(Y) = 1",
        ),
        (
            "-sum(Y*log_softmax(W.T@X, axis=0))", ("W=4x3", "X=4x5", "Y=3x5"), "W", {"Y": "onehot"},
            "X (softmax(Wᵀ X) − Y)ᵀ, since Σⱼ(Y) = 1",  # Aᵀ − Bᵀ = (A − B)ᵀ
        ),
    ],
)
def test_textbook_closed_forms(text, shapes, wrt, constraints, expected):
    shown = formula(text, *shapes, wrt=wrt, **constraints)
    assert list(shown.values()) == [expected]


def test_the_layout_is_named_only_where_the_products_show_it():
    def header(text, *shapes, wrt):
        return str(formula_explanation(text, list(shapes), [wrt], 0, {})).splitlines()[1]

    assert header("sum(softplus(X@w) - y*(X@w))", "X=6x3", "w=3x1", "y=6x1", wrt="w").startswith("Layout: row")
    assert header("sum(sigmoid(W@h))", "W=3x4", "h=4x1", wrt="W").startswith("Layout: column")
    assert header("sum(x.T@A@x)", "x=3x1", "A=3x3", wrt="x") == ""  # a quadratic form has no layout


def test_softmax_cross_entropy_is_softmax_minus_target_in_both_layouts():
    column = formula("-sum(y*log(softmax(z, axis=0)))", "z=4x1", "y=4x1", wrt="z", y="simplex")
    assert list(column.values()) == ["softmax(z) − y, since Σⱼ(y) = 1"]
    row = formula("-sum(Y*log(softmax(Z, axis=1)))", "Z=5x3", "Y=5x3", wrt="Z", Y="onehot")
    assert list(row.values()) == ["softmax(Z) − Y, since Σⱼ(Y) = 1"]


def test_without_a_simplex_target_the_sum_stays():
    """Σⱼ y = 1 is used only where the data has it: a target drawn freely keeps its sum."""
    shown = formula("-sum(y*log(softmax(z, axis=0)))", "z=4x1", "y=4x1", wrt="z", y="positive")
    assert "since" not in next(iter(shown.values()))


# ----- a rewrite is shown only when it equals the derivation --------------------------------------


def _sum_over(axis: int, operand) -> Structural:
    return Structural("sum", operand, "Σ {0}", r"\sum {0}", lambda v, _c: np.sum(v, axis=axis))


def test_two_operations_written_alike_are_not_taken_for_one():
    """Σ over rows and Σ over columns print alike; their difference is not 0."""
    env = {"A": np.arange(9.0).reshape(3, 3)}
    difference = _sum_over(0, Sym("A")) - _sum_over(1, Sym("A"))
    reading = readable(difference, env)
    assert np.allclose(evaluate(reading.expr, env), env["A"].sum(0) - env["A"].sum(1))
    assert reading.expr != Num(0.0)


def test_like_terms_collect_and_factors_cancel():
    env = {"a": np.array([[1.0, 2.0]]), "s": np.array([[3.0, 5.0]])}
    a, s = Sym("a"), Sym("s")
    reading = readable(s * (a / s) + 2 * a - a, env)
    assert render(reading.expr) == "2 a"


def test_a_number_copied_over_an_array_keeps_the_arrays_shape():
    """𝟏 ⊙ y is y only when y already has the shape of the ones."""
    env = {"y": np.array([1.0, 2.0, 3.0])}
    ones = Structural("spread", Num(1.0), "{0}", "{0}", lambda v, _c: np.broadcast_to(v, (2, 3)))
    reading = readable(ones * Sym("y"), env)
    assert np.shape(evaluate(reading.expr, env)) == (2, 3)


def test_layout_words_in_a_line_match_its_values():
    """Every classic line above was checked against the engine: re-check one at random values."""
    explanation = formula_explanation("sum(x.T@A@x)", ["x=3x1", "A=3x3"], ["x"], 7, {})
    line = explanation.lines[0]
    env = explanation.derivation.graph.values()
    A = next(c.value for c in explanation.derivation.graph.quantities if c.name == "A")
    x = next(c.value for c in explanation.derivation.graph.quantities if c.name == "x")
    assert np.allclose(evaluate(line.formula, env), (A + A.T) @ x)


def _readme_rows() -> list[tuple[str, str, str]]:
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and "matgrad explain" not in cells[2] and " = " in cells[2]:
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_readme_table_of_closed_forms_is_what_explain_prints():
    """README's table of readable forms, each row run as the command line it shows."""
    from matgrad.cli import main

    rows = _readme_rows()
    assert len(rows) >= 10
    for formula_text, options, printed in rows:
        argv = ["explain", *options.split()] + ([] if formula_text.startswith("(") else [formula_text])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(argv)
        assert printed in out.getvalue(), (argv, printed)
