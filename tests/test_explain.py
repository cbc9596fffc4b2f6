"""explain: the seeds' derivations reproduced from the recorded graph, each line checked."""

import re

import numpy as np
import pytest

import matgrad as mg
from matgrad.explain import explain

rng = np.random.default_rng(0)


def seed_001_network(sizes=(4, 3, 2), batch=1):
    """Column layout, z = Wx + b, every quantity named as in seed 001."""
    n_in, n_hidden, n_out = sizes
    W1 = mg.tensor(rng.standard_normal((n_hidden, n_in)), requires_grad=True, name="W¹")
    b1 = mg.tensor(rng.standard_normal((n_hidden, 1)), requires_grad=True, name="b¹")
    W2 = mg.tensor(rng.standard_normal((n_out, n_hidden)), requires_grad=True, name="W²")
    b2 = mg.tensor(rng.standard_normal((n_out, 1)), requires_grad=True, name="b²")
    x = mg.tensor(rng.standard_normal((n_in, batch)), name="x")
    y = mg.tensor(rng.uniform(size=(n_out, batch)), name="y")
    z1 = W1 @ x + b1
    z1.name = "z¹"
    a1 = mg.sigmoid(z1)
    a1.name = "a¹"
    z2 = W2 @ a1 + b2
    z2.name = "z²"
    a2 = mg.sigmoid(z2)
    a2.name = "a²"
    return 0.5 * ((a2 - y) ** 2).sum()


SEED_001_LINES = {
    "∂C/∂a²": "a² − y",
    "δ²": "(a² − y) ⊙ σ'(z²)",
    "∂C/∂W²": "δ² (a¹)ᵀ",
    "∂C/∂b²": "δ²",
    "δ¹": "((W²)ᵀ δ²) ⊙ σ'(z¹)",
    "∂C/∂W¹": "δ¹ xᵀ",
}


def test_seed_001_network_reads_as_the_delta_equations():
    e = explain(seed_001_network())
    for name, formula in SEED_001_LINES.items():
        assert e.formula(name) == formula
    assert e.ok and e.worst_error < 1e-12
    assert e.line("∂C/∂W²").products == ["outer product"]
    assert e.line("δ²").products == ["hadamard"]
    order = [line.name for line in e.lines]
    assert order.index("δ²") < order.index("∂C/∂W²") < order.index("δ¹") < order.index("∂C/∂W¹")


def test_a_batch_of_columns_is_a_sum_of_outer_products():
    e = explain(seed_001_network(batch=5))
    assert e.line("∂C/∂W²").products[0].startswith("sum of 5 outer products")
    assert e.formula("∂C/∂b²") == "Σₙ δ²"
    assert e.ok


def test_each_operand_of_a_matrix_vector_product_names_its_own_product():
    W = mg.tensor(np.arange(12.0).reshape(3, 4) / 10, requires_grad=True)
    h = mg.tensor(np.linspace(-1, 1, 4), requires_grad=True)
    u, v = (mg.tensor(np.linspace(0, 1, 3) + k, requires_grad=True) for k in (0.0, 1.0))
    e = explain(mg.sum(mg.tanh(W @ h)) + u @ v, names={W: "W", h: "h", u: "u", v: "v"})
    assert e.line("∂C/∂W").products == ["outer product"]  # g hᵀ
    assert e.line("∂C/∂h").products == ["matrix-vector product"]  # Wᵀ g
    assert e.line("∂C/∂u").products == ["scalar times vector"]  # g v, with g a number
    assert e.ok


def test_seed_000_row_layout_closed_form():
    H = mg.tensor(rng.standard_normal((1, 4)), name="H")
    W = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True, name="W")
    B = mg.tensor(rng.standard_normal((1, 3)), requires_grad=True, name="B")
    target = mg.tensor(rng.uniform(size=(1, 3)), name="Y*")
    Y = mg.sigmoid(H @ W + B)
    Y.name = "Y"
    J = 0.5 * ((Y - target) ** 2).sum()
    e = explain(J, loss_name="J")
    assert e.formula("∂J/∂W") == "Hᵀ ((Y − Y*) ⊙ σ'(H W + B))"
    assert e.formula("∂J/∂B") == "(Y − Y*) ⊙ σ'(H W + B)"
    assert e.formula("∂J/∂Y") == "Y − Y*"
    assert e.ok


def test_inline_gives_closed_forms_for_the_parameters():
    e = explain(seed_001_network(), inline=True)
    assert e.formula("∂C/∂W²") == "((a² − y) ⊙ σ'(z²)) (a¹)ᵀ"
    assert "δ" not in e.formula("∂C/∂W¹")
    assert e.ok


def test_softmax_cross_entropy_simplifies_to_softmax_minus_y():
    z = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True, name="z")
    y = mg.tensor(np.eye(3)[[0, 1, 2, 1, 0]], name="y")
    e = explain(mg.cross_entropy(z, y))
    assert e.formula("δ") == "(softmax(z) − y) / N"
    assert e.ok


def test_a_residual_connection_and_a_shared_weight_add_their_gradients():
    W = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True, name="W")
    x = mg.tensor(rng.standard_normal((3, 1)), name="x")
    h = x + mg.tanh(W @ x)
    h.name = "h"
    e = explain((W @ h).sum())
    formula = e.formula("∂C/∂W")
    assert " + " in formula and "tanh'(W x)" in formula and "hᵀ" in formula
    assert e.ok


def test_any_function_with_named_arguments():
    h, y = rng.standard_normal((4, 1)), rng.uniform(size=(3, 1))

    def cost(W, b):
        return 0.5 * ((mg.sigmoid(W @ h + b) - y) ** 2).sum()

    e = explain(cost, rng.standard_normal((3, 4)), rng.standard_normal((3, 1)))
    assert {line.name for line in e.lines} == {"∂C/∂W", "∂C/∂b"}
    assert "σ'(W c₁ + b)" in e.formula("∂C/∂W")  # unnamed data are constants c₁, c₂
    assert e.ok


def test_networks_are_named_by_layer():
    net = mg.nn.MLP([4, 3, 2], activation="sigmoid", output_activation="sigmoid", seed=0, dtype=np.float64)
    e = explain(net, loss=mg.nn.MSELoss(), x=rng.standard_normal((5, 4)), y=np.array([0, 1, 1, 0, 1]))
    assert e.formula("∂C/∂W²") == "(a¹)ᵀ δ²"  # row layout: the transpose moves to the left
    assert e.formula("δ¹") == "(δ² (W²)ᵀ) ⊙ σ'(z¹)"
    assert e.formula("∂C/∂b²") == "Σₙ δ²"
    assert e.ok


def test_a_wrong_rule_is_flagged_on_its_line(monkeypatch):
    sigmoid = mg.TABLE["sigmoid"]
    monkeypatch.setattr(sigmoid, "vjp", (lambda g, out, x: g * out,))  # forgets the (1 − σ)
    e = explain(seed_001_network())
    assert not e.ok
    flagged = {line.name for line in e.lines if not line.ok}
    assert "δ²" in flagged and "∂C/∂a²" not in flagged
    text = str(e)
    assert "✗" in text and "DISAGREEING" in text


def test_text_markdown_and_latex():
    e = explain(seed_001_network())
    text = str(e)
    assert "Forward pass" in text and "z¹ = W¹ x + b¹" in text and "δ² = (a² − y) ⊙ σ'(z²)" in text
    assert "(3, 4)" in text  # shapes are shown
    markdown = e.to_markdown()
    assert markdown == e._repr_markdown_() and "| gradient |" in markdown
    latex = e.to_latex()
    assert latex.startswith("\\begin{aligned}") and latex.count("{") == latex.count("}")


def test_every_latex_formula_parses_with_mathtext():
    from matplotlib.mathtext import MathTextParser  # matplotlib is in the test extra

    parser = MathTextParser("path")
    e = explain(seed_001_network())
    for line in e.lines:
        parser.parse("$" + e.formula(line.name, latex=True) + "$")


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="scalar"):
        explain(mg.tensor(np.ones(3), requires_grad=True) * 2.0)
    with pytest.raises(ValueError, match="notation"):
        explain(seed_001_network(), notation="klingon")
    with pytest.raises(TypeError, match="expected a Tensor"):
        explain(42)


def test_the_differential_reading_follows_seed_002_and_passes_the_dot_product_test():
    from matgrad.explain import readings

    e = explain(seed_001_network())
    e.notation = "differential"
    text = str(e)
    assert "dC = δ² : dW² a¹ = δ² (a¹)ᵀ : dW²" in text  # g : dW h = g hᵀ : dW
    assert "dC = δ¹ : dW¹ x = δ¹ xᵀ : dW¹" in text
    for line in e.lines:
        assert readings.differential(e.derivation, line).error < 1e-12


def test_the_index_reading_shows_the_sum_and_the_kronecker_delta():
    e = explain(seed_001_network())
    e.notation = "index"
    text = str(e)
    assert "[δ²]_k = Σ_j [a² − y]_j ∂[a²]_j/∂[z²]_k = Σ_j [a² − y]_j [σ'(z²)]_j δ_jk" in text
    assert "Σ_j [δ²]_kj [a¹]_lj" in text  # ∂C/∂W²_kl: the delta has collapsed the sum over i


def test_an_l2_regularizer_adds_lambda_w():
    from matgrad.explain.command import seed_network

    e = seed_network("column", 0.1, seed=0)
    assert e.formula("∂C/∂W²") == "δ² (a¹)ᵀ + λ W²"  # λ kept symbolic, its value a note on the line
    assert "∂C/∂W² = δ² (a¹)ᵀ + λ W², where λ = 0.1" in str(e)
    assert e.ok
    e.notation = "index"  # the regularizer's path: a number times an elementwise slope, entry kl
    assert "Σ_ij ½ λ [2 W²]_ij δ_ik δ_jl = ½ λ [2 W²]_kl" in str(e)
    e.notation = "differential"
    assert "dC = Σ da² ⊙ (a² − y) = (a² − y) : da²" in str(e)  # ½ Σ 2 … folded


def test_cost_table_shows_the_vjp_sweep_orders_of_magnitude_cheaper():
    from matgrad.explain.cost import costs

    net = mg.nn.MLP([784, 30, 10], activation="sigmoid", output_activation="sigmoid", seed=0, dtype=np.float64)
    e = explain(net, loss=mg.nn.MSELoss(), x=rng.random((1, 784)), y=np.array([3]))
    vjp, forward_mode, backwards, forwards = costs(e.derivation.graph)
    matmuls = 784 * 30 + 2 * 30 * 10  # ∂/∂W¹ (x is data), then ∂/∂W² and ∂/∂a¹
    assert matmuls <= vjp.multiply_adds < 1.1 * matmuls  # elementwise steps add one per entry
    assert forward_mode.multiply_adds > 1e4 * vjp.multiply_adds  # one JVP per parameter entry
    assert backwards.memory >= 30 * 784 * 30  # the explicit Jacobian of z¹ with respect to W¹ alone
    assert forwards.multiply_adds > 1e5 * vjp.multiply_adds
    assert "reverse sweep of VJPs" in e.cost()


def test_a_transposed_product_keeps_its_parentheses():
    A = mg.tensor(rng.standard_normal((3, 4)), name="A")
    B = mg.tensor(rng.standard_normal((5, 3)), name="B")
    e = explain(lambda X: (A * (X @ B).T).sum(), rng.standard_normal((4, 5)))
    assert "Σ A ⊙ (X B)ᵀ" in str(e)  # not "A ⊙ X Bᵀ", which is another matrix
    assert r"\left(X \, B\right)^{\top}" in e.to_latex()
    assert e.ok


# ----- the other layout -----------------------------------------------------------------------

SEED_000_LINES = {  # seed 001's lines with every quantity transposed: rows, z = a W + b
    "∂C/∂a²": "a² − y",
    "δ²": "(a² − y) ⊙ σ'(z²)",
    "∂C/∂W²": "(a¹)ᵀ δ²",
    "∂C/∂b²": "Σₙ δ²",  # a batch of 3 examples
    "δ¹": "(δ² (W²)ᵀ) ⊙ σ'(z¹)",
    "∂C/∂W¹": "xᵀ δ¹",
}


def test_column_code_re_rendered_in_rows_reads_as_seed_000():
    column = explain(seed_001_network(batch=3))
    row = explain(seed_001_network(batch=3), layout="row")
    for name, formula in SEED_000_LINES.items():
        assert row.formula(name) == formula
    assert row.line("∂C/∂W²").shape == column.line("∂C/∂W²").shape[::-1]
    assert "z¹ = x W¹ + b¹" in str(row) and "(3, 3)" in str(row)  # z¹ is 3 examples × 3 units
    assert row.ok and all(line.value is not None for line in row.lines)  # each line checked again


def test_a_row_network_re_rendered_in_columns_reads_as_seed_001():
    net = mg.nn.MLP([4, 3, 2], activation="sigmoid", output_activation="sigmoid", seed=0)
    x, y = rng.standard_normal((5, 4)), rng.uniform(size=(5, 2))
    e = explain(net, loss=mg.nn.MSELoss(), x=x, y=y, layout="column")
    assert e.formula("∂C/∂W²") == "δ² (a¹)ᵀ" and e.formula("∂C/∂W¹") == "δ¹ xᵀ"
    assert e.formula("δ¹") == "((W²)ᵀ δ²) ⊙ σ'(z¹)"
    assert e.formula("∂C/∂b¹") == "Σₙ δ¹" and e.line("∂C/∂b¹").shape == (3, 1)  # a 1-D bias becomes a column
    assert "z¹ = W¹ x + b¹" in str(e)
    assert e.ok


def test_softmax_cross_entropy_keeps_its_meaning_in_the_other_layout():
    z = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True, name="z")
    y = mg.tensor(np.eye(3)[[0, 1, 2, 1, 0]], name="y")
    e = explain(mg.cross_entropy(z, y), layout="column")  # softmax still over each example's logits
    assert e.line("δ").shape == (3, 5) and e.ok


def test_the_same_layout_changes_nothing():
    e = explain(seed_001_network(), layout="column")
    assert e.derivation.layout is None
    for name, formula in SEED_001_LINES.items():
        assert e.formula(name) == formula


def test_a_wrong_transpose_rule_is_flagged_in_the_other_layout(monkeypatch):
    from matgrad.explain import layout
    from matgrad.symbolic import Binary

    original = layout._Transposer.__call__

    def forgets_to_swap(self, expr):
        if isinstance(expr, Binary) and expr.op == "@":
            return Binary("@", self(expr.left), self(expr.right))  # (AB)ᵀ written AᵀBᵀ
        return original(self, expr)

    monkeypatch.setattr(layout._Transposer, "__call__", forgets_to_swap)
    e = explain(seed_001_network(sizes=(3, 3, 3)), layout="row")  # square, so AᵀBᵀ evaluates
    assert not e.ok and not e.line("∂C/∂a¹").ok
    assert "DISAGREEING" in str(e)


def test_the_other_layout_is_written_in_the_jacobian_notation():
    with pytest.raises(ValueError, match="jacobian notation"):
        explain(seed_001_network(), layout="row", notation="index")
    with pytest.raises(ValueError, match="'row' or 'column'"):
        explain(seed_001_network(), layout="rows")


# ----- the explicit Jacobians -------------------------------------------------------------------


def test_explicit_jacobians_are_diagonal_for_elementwise_steps_and_match_the_vjps():
    from matgrad.explain.jacobians import local_jacobians

    e = explain(seed_001_network())
    steps = {j.label: j for j in local_jacobians(e.derivation)}
    sigma = steps["∂a²/∂z²"]
    assert sigma.diagonal and sigma.vjp == "∂C/∂a² ⊙ σ'(z²)"
    a2 = next(q for q in e.derivation.graph.quantities if q.name == "a²").value
    np.testing.assert_allclose(np.diag(sigma.matrix), (a2 * (1 - a2)).ravel())
    weights = steps["∂(W² a¹)/∂a¹"]
    W2 = next(q for q in e.derivation.graph.quantities if q.name == "W²").value
    np.testing.assert_array_equal(weights.matrix, W2)  # ∂(W a)/∂a = W, and the VJP is Wᵀ v
    assert weights.vjp == "(W²)ᵀ ∂C/∂(W² a¹)"
    assert all(j.error < 1e-12 for j in steps.values())
    assert "diagonal: the VJP is a Hadamard product" in e.jacobians()


def test_explicit_jacobians_flag_a_jvp_rule_that_disagrees_with_the_vjp(monkeypatch):
    sigmoid = mg.TABLE["sigmoid"]
    monkeypatch.setattr(sigmoid, "jvp", (lambda t, out, x: t * out,))  # forgets the (1 − σ)
    text = explain(seed_001_network()).jacobians()
    flagged = [line for line in text.splitlines() if "✗" in line]
    assert len(flagged) == 2  # ∂a²/∂z² and ∂a¹/∂z¹


def test_jacobians_too_large_to_build_are_described():
    from matgrad.explain import jacobians

    W = mg.tensor(rng.standard_normal((300, 200)), requires_grad=True, name="W")
    x = mg.tensor(rng.standard_normal((200, 1)), name="x")
    text = explain(mg.tanh(W @ x).sum()).jacobians()
    assert "not built: 18,000,000 entries" in text  # ∂(W x)/∂W: 300 × 60,000
    assert jacobians.COMPUTED_ENTRIES < 300 * 60_000


# ----- formulas: vectors, the identity, masks, matrices that must be invertible -------------------
def _formula(text, **shapes):
    from matgrad.explain.command import formula_explanation

    return formula_explanation(text, [f"{name}={shape}" for name, shape in shapes.items()], [], seed=0)


@pytest.mark.parametrize(
    ("text", "shapes", "lines"),
    [
        ("sum(x@A)", {"x": "2", "A": "2x2"}, {"∂f/∂A": "xᵀ 𝟏", "∂f/∂x": "𝟏 Aᵀ"}),  # x a row: ∂f/∂A = x 𝟏ᵀ, outer
        ("sum(A@x)", {"x": "2", "A": "2x2"}, {"∂f/∂A": "𝟏 xᵀ", "∂f/∂x": "Aᵀ 𝟏"}),  # x a column
        ("sum((x@A) * (B@y))", {"x": "3", "A": "3x3", "B": "3x3", "y": "3"}, {}),
        ("trace(A@B) + sum(x@A@B@y)", {"x": "3", "A": "3x3", "B": "3x3", "y": "3"}, {}),
        ("sum(x.T@A) + sum((A@x)**2)", {"x": "3", "A": "3x3"}, {}),
        ("sum(solve(X, b))", {"X": "3x3", "b": "3"}, {}),
    ],
)
def test_a_one_dimensional_operand_of_a_matrix_product_checks(text, shapes, lines):
    """(2,) @ (2, 2): the gradient of A is an outer product, which the notation once evaluated as
    NumPy's inner product of two 1-D arrays, marking a right line ✗."""
    e = _formula(text, **shapes)
    assert e.ok, str(e)
    for name, formula in lines.items():
        assert e.formula(name) == formula
    if text == "sum(x@A)":  # Σ_j (xA)_j = Σ_ij x_i A_ij: ∂/∂A_ij = x_i, the outer product x 𝟏ᵀ
        x = next(q.value for q in e.derivation.graph.quantities if q.name == "x")
        np.testing.assert_allclose(e.line("∂f/∂A").value, np.outer(x, np.ones(2)), rtol=1e-12)


@pytest.mark.parametrize("text", ["sum(inv(X))", "log(det(X))", "logdet(X)", "sum(cholesky(X))", "sum(pinv(X))",
                                  "sum(matrix_power(X, n=-2))", "sum(solve(X, X[:, 0]))"])
def test_matrix_functions_get_a_well_conditioned_draw(text):
    e = _formula(text, X="3x3")
    assert e.ok and e.worst_error < 1e-9, str(e)


def test_the_identity_and_a_mask_are_shown_by_name():
    e = _formula("sum(inv(X + 2*I)) + sum(g * (X@v) * (X@v > 0))", X="3x3", g="3", v="3")
    assert e.ok, str(e)
    assert "(X + 2 I)⁻¹" in str(e)
    assert e.formula("∂f/∂g") == "𝟙[X @ v > 0] ⊙ (X v)"  # the mask a constant, shown as typed
    assert e.formula("∂f/∂v") == "Xᵀ (𝟙[X @ v > 0] ⊙ g)"
    assert e.formula("∂f/∂X").count("2 I") == 2  # (X + 2 I)⁻¹ written out where it is used


def test_a_scaled_identity_differentiates_in_its_scale():
    e = _formula("sum(inv(X + λ*I))", X="3x3", λ="scalar")
    assert e.ok and "λ I" in str(e)
    assert "I" in e.formula("∂f/∂λ")


# ----- precedence: a template's operand is bracketed where the template binds tighter -------------
def test_a_template_brackets_an_operand_that_binds_looser():
    from matgrad.symbolic import Structural, Sym, render

    a, b, c = Sym("a"), Sym("b"), Sym("c")
    same = lambda operand: Structural("copy", operand, "{0}", "{0}", lambda v, _: v)
    sum_of = lambda operand: Structural("sum", operand, "Σ {0}", r"\sum {0}", lambda v, _: np.sum(v))
    per = lambda operand: Structural("per", operand, "{0} / N", r"\frac{{0}}{N}", lambda v, _: v)
    transposed = lambda operand: Structural("t", operand, "{0}ᵀ", r"{0}^{\top}", lambda v, _: v.T)
    assert render(transposed(same(a + b))) == "(a + b)ᵀ"  # not a + bᵀ: the "{0}" copy binds as its operand
    assert render(transposed(same(a))) == "aᵀ"
    assert render(sum_of(a - b)) == "Σ (a − b)"  # not Σ a − b
    assert render(sum_of(a * b), is_scalar=lambda e: False) == "Σ a ⊙ b"  # a sum of the product
    assert render(sum_of(a) * b, is_scalar=lambda e: False) == "(Σ a) ⊙ b"  # not Σ a ⊙ b, another number
    assert render(per(a) ** 2) == "(a / N)²"  # not a / N²
    assert render(per(a + b)) == "(a + b) / N"
    assert render(same(a + b) * c, is_scalar=lambda e: False) == "(a + b) ⊙ c"
    assert render(sum_of(a - b), latex=True) == r"\sum \left(a - b\right)"


@pytest.mark.parametrize(
    ("text", "shapes", "pieces"),
    [
        ("sum(kron(A + B, C))", {"A": "2x2", "B": "2x2", "C": "2x3"}, ["f = Σ ((A + B) ⊗ C)", "Σ_ij (A + B) ⊙"]),
        ("sum(exp(sum(A - B, axis=1, keepdims=True)) * C)", {"A": "2x2", "B": "2x2", "C": "2x2"},
         ["exp(Σ (A − B))", "(Σₙ C) ⊙ exp"]),
        ("sum(cross(a + b, c) * d)", {"a": "3", "b": "3", "c": "3", "d": "3"},
         ["((a + b) × c) ⊙ d", "∂f/∂c = d × (a + b)"]),
    ],
)
def test_explain_brackets_compound_operands(text, shapes, pieces):
    e = _formula(text, **shapes)
    assert e.ok, str(e)
    for piece in pieces:
        assert piece in str(e), str(e)


def test_kron_and_cross_name_both_operands():
    kron, cross = mg.TABLE["kron"].notation, mg.TABLE["cross"].notation
    assert kron.text == "{0} ⊗ {1}" and cross.text == "{0} × {1}"
    assert cross.jacobian == ("{1} × {g}", "{g} × {0}")
    assert kron.differential[1].startswith("{g} : {0} ⊗ d{1} = ")
    e = _formula("sum(cross(A, c) ** 2) + sum(kron(c, A))", A="2x3", c="3")
    assert e.ok, str(e)
    assert "A × c" in str(e) and "c ⊗ A" in str(e)


@pytest.mark.parametrize("scale", ["1", "2.5", "0"])
def test_a_number_times_a_filled_gradient_keeps_its_shape(scale):
    """𝟏 ⊙ 1 simplified to the number 1, and the sum over the broadcast axis then read a scalar: ✗."""
    e = _formula(f"sum((y + A) * {scale})", y="3", A="3x3")
    assert e.ok, str(e)


def test_markdown_tables_keep_their_columns_when_a_formula_has_bars():
    """|x| and ‖x‖ render with bars; a bare | in a Markdown cell would split the row."""
    rng = np.random.default_rng(0)
    x, A = rng.normal(size=(3, 1)), rng.normal(size=(3, 3))
    markdown = mg.explain(lambda x: mg.sum(mg.absolute(A @ x)) + mg.norm(x), x).to_markdown()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    header_columns = {"quantity": 3, "gradient": 5}
    columns = None
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        first = cells[0].strip()
        columns = header_columns.get(first, columns)
        assert len(cells) == columns, row
    assert r"\vert" in markdown and r"\Vert" in markdown


# ----- mg.explain of a formula typed as text, its inputs as check_gradient takes them ------------------


def test_explain_takes_a_formula_as_check_gradient_does():
    explanation = mg.explain("sum((y - X@w)**2)", wrt="w", X="6x3", w=(3, 1), y="6x1", seed=3)
    assert [line.name for line in explanation.derivation.lines] == ["∂f/∂w"]
    assert explanation.ok and "2 Xᵀ (X w − y)" in str(explanation)
    report = mg.check_gradient("sum((y - X@w)**2)", "2*X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")
    assert report.ok  # the formula explain wrote is the one check accepts


def test_explain_of_a_formula_equals_the_cli_and_holds_given_values_fixed():
    from matgrad.explain.command import formula_explanation

    A = np.arange(9.0).reshape(3, 3)
    explanation = mg.explain("x.T @ A @ x", x=(3, 1), A=A, notation="differential")
    (line,) = explanation.derivation.lines  # A is data: only ∂f/∂x by default
    assert line.name == "∂f/∂x" and explanation.notation == "differential" and "df =" in str(explanation)
    drawn = mg.formula.random_inputs("x.T @ A @ x", {"x": (3, 1), "A": (3, 3)}, np.random.default_rng(0))
    assert np.allclose(line.value, (A + A.T) @ drawn["x"])  # the drawn x with the given A
    cli = formula_explanation("x.T @ A @ x", ["x=3x1", "A=3x3"], ["x"], seed=0)
    assert str(cli) == str(mg.explain("x.T @ A @ x", x="3x1", A="3x3", wrt=["x"]))


def test_explain_of_a_formula_refuses_bad_input_in_one_line():
    with pytest.raises(mg.formula.FormulaError, match="not in the formula"):
        mg.explain("sum(x**2)", wrt="z", x="3")
    with pytest.raises(mg.formula.FormulaError, match="no shape or value|without a shape|shape"):
        mg.explain("sum(x*y)", x="3")
    with pytest.raises(TypeError, match="formula typed as text"):
        mg.explain(lambda w: mg.sum(w * w), np.ones(3), X="3")


def test_render_layout_row_of_a_formula_written_in_columns_transposes_it():
    """W@x is column layout though x, a formula's input, counts as a leaf like W: the header and
    --render-layout must agree on it (row once returned the column derivation unchanged)."""
    from matgrad.explain.command import formula_explanation
    from matgrad.explain.layout import relayout

    shapes = ["W=3x4", "x=4x1", "b=3x1", "y=3x1"]
    column = formula_explanation("0.5*sum((sigmoid(W@x+b)-y)**2)", shapes, ["W"], seed=0)
    assert "column layout" in str(column)
    row = relayout(column.derivation, "row")
    (line,) = row.lines
    assert line.displayed_shape == (4, 3) and line.ok
    from matgrad.explain import Explanation

    assert "row layout" in str(Explanation(row, "jacobian", "t"))


def test_every_latex_template_fills_only_its_own_slots():
    """``\\mathbb{1}`` once read as slot 1: every ReLU network's Markdown and LaTeX crashed."""
    from matgrad.symbolic import templates
    from matgrad.symbolic.expr import FUNCTIONS

    def slot_numbers(template: str) -> set[int]:
        template = template.replace("{}", "{0}")
        return {int(template[start + 1 : end - 1]) for start, end, _ in templates.slots(template)}

    for name, function in FUNCTIONS.items():
        assert slot_numbers(function.latex) <= slot_numbers(function.text) | {0}, (name, function.latex)


def test_a_relu_network_renders_in_markdown_and_latex():
    rng = np.random.default_rng(0)
    net = mg.nn.MLP([3, 4, 2], "relu", None, seed=0)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    explanation = mg.explain(net, loss=mg.nn.CrossEntropyLoss(), x=x, y=np.arange(5) % 2)
    assert r"\mathbb 1" in explanation.to_markdown() and explanation.ok
    assert r"\mathbb 1" in explanation.to_latex()
