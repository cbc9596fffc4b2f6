"""Closed-form Hessians (explain/hessian.py): checked against the sweep (mg.hessian) and central
differences of the gradient, on the problems of Laue et al. (NeurIPS 2018) and a few more."""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

import matgrad as mg
from matgrad.cli import main
from matgrad.explain.hessian import NotCoveredError, derive_hessian, evaluate_matrix, hessian_symbolic
from matgrad.explain.hessian_lines import HessianLine
from matgrad.symbolic import Sym, Transpose
from matgrad.symbolic.vec_jacobian import diag
from matgrad.tensor import Tensor

RNG = np.random.default_rng(7)
X = RNG.standard_normal((7, 4))
Y_SIGN = np.where(RNG.random(7) < 0.5, -1.0, 1.0)
Y_01 = (RNG.random((7, 1)) < 0.5).astype(float)
A = RNG.standard_normal((4, 4))  # not symmetric: the Hessian of xᵀAx is A + Aᵀ, not 2A
LABELS = RNG.integers(0, 3, 7)


def quadratic(x, A):
    return x @ A @ x


def quadratic_column(x, A):
    return (x.T @ A @ x).sum()


def least_squares(x, A, b):
    return ((A @ x - b) ** 2).sum()


def logistic_sum(w, X, y):
    return mg.log(1 + mg.exp(-y * (X @ w))).sum()


def logistic_mean(w, X, y):
    return mg.softplus(-y * (X @ w)).mean()


def binary_cross_entropy(w, X, y):
    p = mg.sigmoid(X @ w)
    return -mg.sum(y * mg.log(p) + (1 - y) * mg.log(1 - p))


def tanh_sum(x, W):
    return mg.tanh(W @ x).sum()


def softmax_cross_entropy(w, X, labels):  # w: the 4·3 weights of a linear model, flattened (C order)
    return mg.cross_entropy(X @ w.reshape(4, 3), labels)


def softmax_cross_entropy_one_hot(w, X, Y):
    return -(Y * mg.log_softmax(X @ w.reshape(4, 3), axis=1)).sum() / 7


def matrix_quadratic(W, A):  # tr(Wᵀ A W) as a sum: the Hessian is 4-D, (A + Aᵀ) ⊗ I
    return mg.sum(W * (A @ W))


def matrix_trace(W, A):
    return mg.trace(W.T @ A @ W)


def ridge(w, X, y, lam):
    return logistic_mean(w, X, y) + lam * (w**2).sum()


def ridge_closed_over(w, X, y):
    return ((X @ w - y) ** 2).mean() + 0.3 * (w @ w)


def log_sum_exp(w, X):
    return mg.logsumexp(X @ w)


def bias_of_a_layer(b, X, W):  # b copied along the batch: (𝟏 ⊗ I)
    return mg.tanh(X @ W + b).sum()


def column_sums(w, X):  # a sum over one axis
    return (mg.sum(X * w, axis=1) ** 2).sum()


def mean_over_examples(W, X):  # a matrix variable, a mean over axis 0
    return (mg.mean(mg.tanh(X @ W), axis=0) ** 2).sum()


CASES = {
    "xᵀAx": (quadratic, (RNG.standard_normal(4), A)),
    "xᵀAx, x a column": (quadratic_column, (RNG.standard_normal((4, 1)), A)),
    "‖Ax − b‖²": (least_squares, (RNG.standard_normal(4), X, Y_SIGN)),
    "logistic, sum of log(1 + exp)": (logistic_sum, (RNG.standard_normal(4), X, Y_SIGN)),
    "logistic, mean of softplus": (logistic_mean, (RNG.standard_normal(4), X, Y_SIGN)),
    "binary cross-entropy": (binary_cross_entropy, (RNG.standard_normal((4, 1)), X, Y_01)),
    "Σ tanh(Wx)": (tanh_sum, (RNG.standard_normal(4), X)),
    "softmax cross-entropy, labels": (softmax_cross_entropy, (RNG.standard_normal(12), X, LABELS)),
    "softmax cross-entropy, one-hot": (softmax_cross_entropy_one_hot, (RNG.standard_normal(12), X,
                                                                       np.eye(3)[LABELS])),
    "matrix quadratic": (matrix_quadratic, (RNG.standard_normal((4, 2)), A)),
    "trace(WᵀAW)": (matrix_trace, (RNG.standard_normal((4, 2)), A)),
    "logistic + λ‖w‖²": (ridge, (RNG.standard_normal(4), X, Y_SIGN, 0.25)),
    "least squares + 0.3‖w‖², closed over": (ridge_closed_over, (RNG.standard_normal(4), X, Y_SIGN)),
    "logsumexp": (log_sum_exp, (RNG.standard_normal(4), X)),
    "bias over a batch": (bias_of_a_layer, (RNG.standard_normal(3), X, RNG.standard_normal((4, 3)))),
    "sum over an axis": (column_sums, (RNG.standard_normal(4), X)),
    "mean over examples, W a matrix": (mean_over_examples, (RNG.standard_normal((4, 3)), X)),
}


def central_differences(f, args, argnum=0, column=None, h=1e-5):
    """∂(∂f/∂x)/∂zⱼ by central differences of the engine's gradient with respect to x (argument
    ``argnum``), entry by entry of z (argument ``column``, x itself by default)."""
    column = argnum if column is None else column
    x, z = np.asarray(args[argnum], dtype=np.float64), np.asarray(args[column], dtype=np.float64)
    gradient = mg.grad(f, argnums=argnum)
    columns = []
    for j in range(z.size):
        step = np.zeros(z.size)
        step[j] = h
        plus = list(args)
        minus = list(args)
        plus[column], minus[column] = z + step.reshape(z.shape), z - step.reshape(z.shape)
        columns.append(np.ravel((np.asarray(gradient(*plus)) - np.asarray(gradient(*minus))) / (2 * h)))
    return np.stack(columns, axis=1).reshape(x.shape + z.shape)


@pytest.mark.parametrize("name", list(CASES))
def test_agrees_with_the_sweep_and_with_finite_differences(name):
    f, args = CASES[name]
    hessian = hessian_symbolic(f)(*args)
    sweep = np.asarray(mg.hessian(f)(*args))
    assert hessian.shape == sweep.shape == np.shape(args[0]) * 2
    np.testing.assert_allclose(hessian, sweep, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian, central_differences(f, args), rtol=1e-6, atol=1e-7)


def test_second_argument():
    def loss(X, w):
        return mg.softplus(X @ w).sum()

    args = (X, RNG.standard_normal(4))
    np.testing.assert_allclose(hessian_symbolic(loss, argnums=1)(*args), mg.hessian(loss, argnums=1)(*args),
                               rtol=1e-10, atol=1e-12)


def least_squares_with_offset(w, b, X, y):  # b a number, added to every prediction
    return ((X @ w + b - y) ** 2).sum()


def logistic_in_weights_and_data(w, X, y):  # X a variable too: its blocks are 3-D and 4-D
    return mg.softplus(-y * (X @ w)).mean()


def layer_and_readout(W, v, X):  # tanh(XW) v: the cross block of W and v goes through 𝟏 vᵀ
    return (mg.tanh(X @ W) @ v).sum()


def bilinear(u, v, A):
    return u @ A @ v


TUPLE_CASES = {
    "xᵀAx in (x, A)": (quadratic, (RNG.standard_normal(4), A)),
    "least squares in (w, b)": (least_squares_with_offset, (RNG.standard_normal(4), 0.3, X, Y_SIGN)),
    "logistic in (w, X)": (logistic_in_weights_and_data, (RNG.standard_normal(4), X, Y_SIGN)),
    "a layer and its readout (W, v)": (layer_and_readout, (RNG.standard_normal((4, 3)), RNG.standard_normal(3), X)),
    "uᵀAv in (u, v)": (bilinear, (RNG.standard_normal(4), RNG.standard_normal(4), A)),
}


@pytest.mark.parametrize("name", list(TUPLE_CASES))
def test_blocks_agree_with_the_sweep_and_with_finite_differences(name):
    f, args = TUPLE_CASES[name]
    blocks = hessian_symbolic(f, argnums=(0, 1))(*args)
    sweep = mg.hessian(f, argnums=(0, 1))(*args)
    assert isinstance(blocks, tuple) and all(isinstance(row, tuple) and len(row) == 2 for row in blocks)
    for i in range(2):
        for j in range(2):
            assert blocks[i][j].shape == np.shape(args[i]) + np.shape(args[j]) == np.shape(sweep[i][j])
            np.testing.assert_allclose(blocks[i][j], sweep[i][j], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(blocks[i][j], central_differences(f, args, i, j), rtol=1e-6, atol=1e-7)


def test_a_tuple_of_one_and_a_negative_argnum_as_mg_hessian():
    f, args = TUPLE_CASES["least squares in (w, b)"]
    for argnums in [(0,), (1, 0), (-4, 1)]:
        blocks, sweep = hessian_symbolic(f, argnums=argnums)(*args), mg.hessian(f, argnums=argnums)(*args)
        assert len(blocks) == len(sweep) == len(argnums)
        for row, expected in zip(blocks, sweep):
            assert len(row) == len(expected) == len(argnums)
            for block, want in zip(row, expected):
                np.testing.assert_allclose(block, want, rtol=1e-10, atol=1e-12)


def test_a_repeated_argnum_gives_the_same_block_everywhere():
    f, args = TUPLE_CASES["least squares in (w, b)"]
    blocks = hessian_symbolic(f, argnums=(0, 0))(*args)
    expected = mg.hessian(f)(*args)  # (mg.hessian itself gives zeros for a repeated argnum's first copy)
    for row in blocks:
        for block in row:
            np.testing.assert_allclose(block, expected, rtol=1e-10, atol=1e-12)


def test_blocks_derived_once_and_right_at_new_values():
    h = hessian_symbolic(layer_and_readout, argnums=(0, 1))
    h(*TUPLE_CASES["a layer and its readout (W, v)"][1])
    W, v, X2 = RNG.standard_normal((4, 3)), RNG.standard_normal(3), RNG.standard_normal((7, 4))
    blocks, sweep = h(W, v, X2), mg.hessian(layer_and_readout, argnums=(0, 1))(W, v, X2)
    assert len(h.plans) == 1
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(blocks[i][j], sweep[i][j], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("argnums", [(), [0.0], "01", True, 1.5])
def test_bad_argnums_are_refused(argnums):
    with pytest.raises(TypeError, match=r"hessian_symbolic: argnums must be an int or a non-empty tuple of ints"):
        hessian_symbolic(quadratic, argnums=argnums)


def test_derived_once_and_right_at_new_values():
    h = hessian_symbolic(ridge)
    h(*CASES["logistic + λ‖w‖²"][1])
    w, X2, y2 = RNG.standard_normal(4), RNG.standard_normal((7, 4)), -Y_SIGN
    assert len(h.plans) == 1
    np.testing.assert_allclose(h(w, X2, y2, 0.5), mg.hessian(ridge)(w, X2, y2, 0.5), rtol=1e-10, atol=1e-12)
    assert len(h.plans) == 1  # new values, same closed form
    h(RNG.standard_normal(5), RNG.standard_normal((3, 5)), Y_SIGN[:3], 0.5)
    assert len(h.plans) == 2  # new shapes: derived again


def test_retrace_follows_integer_labels():
    h = hessian_symbolic(softmax_cross_entropy)
    w = RNG.standard_normal(12)
    h(w, X, LABELS)
    other = (LABELS + 1) % 3
    np.testing.assert_allclose(h(w, X, other), mg.hessian(softmax_cross_entropy)(w, X, other), rtol=1e-10,
                               atol=1e-12)


def test_float32_stays_float32():
    w = RNG.standard_normal(4).astype(np.float32)
    args = (w, X.astype(np.float32), Y_SIGN.astype(np.float32))
    hessian = hessian_symbolic(logistic_mean)(*args)
    assert hessian.dtype == np.float32
    np.testing.assert_allclose(hessian, mg.hessian(logistic_mean)(*args), rtol=1e-4, atol=1e-5)


def readable_text(f, args):
    names = ("x", "A", "X", "y")
    tensors = [Tensor(np.asarray(a, float), requires_grad=True, name=n) for a, n in zip(args, names)]
    return derive_hessian(f(*tensors), tensors[0], readable_form=True).text()


def test_closed_forms_read_as_matrix_expressions():
    assert readable_text(quadratic, (RNG.standard_normal(3), RNG.standard_normal((3, 3)))) == "A + Aᵀ"

    def bce(x, A, X, y):
        return binary_cross_entropy(x, X, y)

    text = readable_text(bce, (RNG.standard_normal((4, 1)), A, X, Y_01))
    assert text == "Xᵀ diag(σ(X x) − σ(X x)²) X"


@pytest.mark.parametrize("columns", [5, 250])  # a general product; the symmetric one, Yᵀ Y
@pytest.mark.parametrize("s", [np.array([1.0, 2.0, 0.5]), np.array([-1.0, -2.0, 0.0]), np.array([1.0, -2.0, 3.0])])
def test_gram_evaluation_matches_the_dense_product(s, columns):
    M = RNG.standard_normal((3, columns))
    expr = Transpose(Sym("M")) @ (diag(Sym("s")) @ Sym("M"))
    np.testing.assert_allclose(evaluate_matrix(expr, {"M": M, "s": s}, columns), M.T @ np.diag(s) @ M,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "f, operation",
    [(lambda x: mg.sum(mg.cumsum(x) ** 2), "'cumsum'"), (lambda x: mg.prod(x), "'prod_others'")],
)
def test_an_operation_without_a_rule_is_named(f, operation):
    with pytest.raises(NotCoveredError) as error:
        hessian_symbolic(f)(np.arange(1.0, 4.0))
    assert operation in str(error.value) and "mg.hessian(f)" in str(error.value)
    assert isinstance(error.value, ValueError)


def test_a_closed_form_that_cannot_be_evaluated_is_not_covered(monkeypatch):
    """A caller that falls back to the sweep on NotCoveredError must get that, not NumPy's error."""
    from matgrad.explain import hessian as module

    def misshapen(output, variables):
        raise ValueError("cannot reshape array of size 84 into shape (4,3,3)")

    monkeypatch.setattr(module, "derive_blocks", misshapen)
    with pytest.raises(NotCoveredError, match=r"could not be evaluated \(ValueError: cannot reshape"):
        hessian_symbolic(quadratic)(np.ones(3), np.eye(3))


def test_a_vector_valued_f_is_refused():
    with pytest.raises(ValueError, match=r"scalar Tensor, got shape \(7,\)"):
        hessian_symbolic(lambda w: X @ w)(np.ones(4))


def test_explanation_hessian_is_checked():
    text = mg.explain(quadratic, RNG.standard_normal(3), RNG.standard_normal((3, 3))).hessian()
    assert "∂²C/∂x² = A + Aᵀ   (3, 3)   ✓" in text


def cells(row):
    """The cells of a Markdown table row: split at the bars that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def table_rows(markdown):
    return [line for line in markdown.splitlines() if line.startswith("|")]


def test_explanation_hessian_renders_as_latex_markdown_and_html():
    hessians = mg.explain(quadratic, RNG.standard_normal(3), RNG.standard_normal((3, 3))).hessian()
    latex = hessians._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert r"\frac{\partial^{2} C}{\partial x^{2}} &= A + A^{\top}" in latex
    rows = table_rows(hessians._repr_markdown_())
    assert cells(rows[0]) == ["Hessian", "formula", "shape", "check"]
    assert all(len(cells(row)) == 4 for row in rows)
    x_row = next(cells(row) for row in rows if "partial x" in row)
    assert x_row[1:3] == ["$A + A^{\\top}$", "(3, 3)"] and x_row[3].startswith("✓")
    html = hessians._repr_html_()
    assert "<td style=\"text-align: left\">$A + A^{\\top}$</td>" in html and html.count("<tr>") == 3


def test_a_line_not_covered_keeps_the_table_and_says_why():
    def f(x, y):
        return mg.sum(mg.cumsum(x) ** 2) + (y**3).sum()

    hessians = mg.explain(f, RNG.standard_normal(3), RNG.standard_normal(3)).hessian()
    rows = table_rows(hessians.to_markdown())
    assert all(len(cells(row)) == 4 for row in rows)
    x_row = next(cells(row) for row in rows if "partial x" in row)
    assert "'cumsum'" in x_row[1] and x_row[3] == "not covered"
    assert r"\frac{\partial^{2} C}{\partial y^{2}} &= \operatorname{diag}\left(6 y\right)" in hessians.to_latex()
    assert hessians.ok  # a Hessian not written out is reported, not a disagreement


def test_a_name_with_a_superscript_is_squared_in_brackets():
    line = HessianLine("∂²C/∂W¹²", None, (6, 6), loss="C", variable="W¹")
    assert line.latex_name == r"\frac{\partial^{2} C}{\partial \left({W}^{1}\right)^{2}}"


def test_the_block_diagonal_of_a_softmax_renders_in_latex():
    w = Tensor(RNG.standard_normal(12), requires_grad=True, name="w")
    plan = derive_hessian(softmax_cross_entropy(w, Tensor(X, name="X"), LABELS), w)
    latex = plan.text(latex=True)
    assert r"\operatorname{blockdiag}" in latex and "\t" not in latex and r"^{\top}" in latex


def test_explain_command_hessian():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["explain", "x.T @ A @ x", "--shape", "x=3,1", "--shape", "A=3,3", "--wrt", "x", "--hessian"])
    assert code == 0
    assert "∂²f/∂x² = A + Aᵀ   (3, 3)   ✓" in out.getvalue()


def explain_output(*options):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["explain", "x.T @ A @ x", "--shape", "x=3,1", "--shape", "A=3,3", "--wrt", "x", "--hessian",
                     *options])
    return code, out.getvalue()


def test_explain_command_hessian_as_markdown():
    code, out = explain_output("--format", "markdown")
    assert code == 0
    assert "| Hessian | formula | shape | check |" in out
    row = next(line for line in table_rows(out) if "partial^{2}" in line)
    assert cells(row)[:3] == [r"$\frac{\partial^{2} f}{\partial x^{2}}$", "$A + A^{\\top}$", "(3, 3)"]


def test_explain_command_hessian_as_latex():
    code, out = explain_output("--format", "latex")
    assert code == 0
    assert out.count("\\begin{aligned}") == 2  # the gradient's block, then the Hessian's
    assert r"\frac{\partial^{2} f}{\partial x^{2}} &= A + A^{\top} \qquad 3 \times 3,\ \checkmark" in out
    assert "Aᵀ" not in out  # no Unicode text form in a LaTeX output


def test_explain_command_hessian_of_a_vector_is_a_usage_error(capsys):
    code = main(["explain", "tanh(W@x)", "--shape", "W=4,3", "--shape", "x=3", "--hessian"])
    assert code != 0
    assert "--hessian is written for a formula giving one number" in capsys.readouterr().err


def test_mg_hessian_method_symbolic_auto_and_sweep_agree_and_auto_falls_back():
    rng = np.random.default_rng(4)
    A, x = rng.normal(size=(4, 4)), rng.normal(size=4)

    def quadratic(x):
        return x @ (A @ x)

    sweep = mg.hessian(quadratic)(x)
    np.testing.assert_allclose(mg.hessian(quadratic, method="symbolic")(x), A + A.T, rtol=1e-12)
    np.testing.assert_allclose(mg.hessian(quadratic, method="auto")(x), sweep, rtol=1e-12)

    def uncovered(x):
        return mg.sum(mg.cumsum(x) ** 3)

    with pytest.raises(NotCoveredError, match="cumsum"):
        mg.hessian(uncovered, method="symbolic")(x)
    auto = mg.hessian(uncovered, method="auto")
    for _ in range(2):  # the second call goes straight to the sweep
        np.testing.assert_allclose(auto(x), mg.hessian(uncovered)(x), rtol=1e-12)
    with pytest.raises(ValueError, match="'sweep', 'symbolic' or 'auto'"):
        mg.hessian(quadratic, method="newton")
