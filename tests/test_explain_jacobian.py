"""explain on a vector-valued f: the VJP ∂(uᵀf)/∂x written with the symbol u, and the Jacobian
read off it (the matrix in front of u), in the layout asked for, checked by finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from matgrad.explain.command import formula_explanation
from matgrad.explain.derive import environment
from matgrad.formula import FormulaError, parse
from matgrad.symbolic import evaluate
from matgrad.tensor import Tensor


def jacobian(text: str, *shapes: str, wrt: str, layout: str = "numerator", **constraints: str):
    explanation = formula_explanation(text, list(shapes), [wrt], 0, constraints, layout)
    assert explanation.ok, str(explanation)
    (line,) = [j for j in explanation.derivation.jacobians if j.name == f"∂f/∂{wrt}"]
    return explanation, line


def finite_differences(text: str, values: dict[str, np.ndarray], wrt: str) -> np.ndarray:
    """The m×n Jacobian by central differences, from the formula evaluated on plain arrays."""
    formula = parse(text)

    def f(x: np.ndarray) -> np.ndarray:
        inputs = {**values, wrt: x.reshape(values[wrt].shape)}
        out = formula.evaluate(**{k: Tensor(v) for k, v in inputs.items()})
        return np.ravel(out.data if isinstance(out, Tensor) else out)

    x, h = np.ravel(values[wrt]).astype(float), 1e-6
    columns = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)]
    return np.stack(columns, axis=1)


def check_against_differences(explanation, line, text: str, wrt: str, layout: str = "numerator") -> None:
    graph = explanation.derivation.graph
    values = {q.name: q.value for q in graph.quantities if q.is_leaf}
    values.update({c.name: c.value for c in graph.constants if c.name})
    shown = np.asarray(evaluate(line.formula, environment(explanation.derivation))).reshape(line.shape)
    expected = finite_differences(text, values, wrt)
    np.testing.assert_allclose(shown if layout == "numerator" else shown.T, expected, atol=1e-7)


@pytest.mark.parametrize(
    ("text", "shapes", "wrt", "constraints", "numerator", "denominator"),
    [
        ("sigmoid(W@x)", ("W=3x4", "x=4x1"), "x", {}, "diag(σ'(W x)) W", "Wᵀ diag(σ'(W x))"),
        ("tanh(W@x + b)", ("W=3x4", "x=4x1", "b=3x1"), "b", {}, "diag(tanh'(W x + b))", "diag(tanh'(W x + b))"),
        ("A@x + b", ("A=3x4", "x=4x1", "b=3x1"), "x", {}, "A", "Aᵀ"),
        ("softmax(z, axis=0)", ("z=4x1",), "z", {}, "diag(f) − f fᵀ", "diag(f) − f fᵀ"),
        ("softmax(z, axis=1)", ("z=1x4",), "z", {}, "diag(f) − fᵀ f", "diag(f) − fᵀ f"),
        ("x/sum(x)", ("x=4x1",), "x", {"x": "positive"}, "(I − f 𝟏ᵀ) / (Σ x)", None),
    ],
)
def test_jacobian_read_off_the_vjp(text, shapes, wrt, constraints, numerator, denominator):
    explanation, line = jacobian(text, *shapes, wrt=wrt, **constraints)
    assert str(explanation).count(f"∂f/∂{wrt} = {numerator}") == 1
    check_against_differences(explanation, line, text, wrt)
    if denominator is not None:
        explanation, line = jacobian(text, *shapes, wrt=wrt, layout="denominator", **constraints)
        assert f"∂f/∂{wrt} = {denominator}" in str(explanation)
        check_against_differences(explanation, line, text, wrt, "denominator")


def test_the_vjp_lines_are_written_with_u_and_checked():
    explanation, _ = jacobian("sigmoid(W@x)", "W=3x4", "x=4x1", wrt="x")
    text = str(explanation)
    assert "∂(uᵀf)/∂x = Wᵀ (u ⊙ σ'(W x))" in text
    assert "numerator layout: m×n, row i is ∂fᵢ/∂x" in text


def test_shapes_in_each_layout():
    _, numerator = jacobian("W@x", "W=3x5", "x=5x1", wrt="x")
    _, denominator = jacobian("W@x", "W=3x5", "x=5x1", wrt="x", layout="denominator")
    assert numerator.shape == (3, 5) and denominator.shape == (5, 3)


def test_a_matrix_valued_formula_is_refused_with_a_hint():
    with pytest.raises(FormulaError, match=r"gives shape \(3, 2\).*Jacobian of a vector"):
        formula_explanation("W@X", ["W=3x4", "X=4x2"], ["W"], 0, {})


def test_a_jacobian_not_written_as_a_matrix_times_u_says_so():
    """A 1-D vector is neither a column nor a row: the VJP is checked, J is not read off."""
    explanation = formula_explanation("softmax(z)", ["z=4"], ["z"], 0, {})
    assert explanation.ok
    assert "not read off" in str(explanation)
