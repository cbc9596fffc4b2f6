"""``--onehot`` and ``--simplex`` along the class axis, for columns as well as rows (issue #13, part 4).

The softmax + cross-entropy gradient ``softmax(z) − y`` is right only when y sums to 1 along the
softmax's axis: each claim below is right, so a draw along the wrong axis would reject it falsely.
Every case is also checked independently: the claim against central differences of f in NumPy.
"""

import numpy as np
import pytest

from matgrad.claim import check_gradient
from matgrad.cli import main
from matgrad.formula import FormulaError, random_inputs
from matgrad.formula.shapes import class_axis, draw_input


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def numeric_grad(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


# f, claim, shape of z and y, the class axis, f in NumPy
CASES = [
    ("column", "-sum(y*log(softmax(z, axis=0)))", "softmax(z, axis=0) - y", (4, 1), 0),
    ("columns, a batch", "-sum(y*log(softmax(z, axis=0)))", "softmax(z, axis=0) - y", (4, 5), 0),
    ("columns, log_softmax", "-sum(log_softmax(z, axis=0)*y)", "softmax(z, axis=0) - y", (4, 5), 0),
    ("columns, logsumexp", "-sum(y*(z - logsumexp(z, axis=0, keepdims=True)))", "softmax(z, axis=0) - y", (3, 6), 0),
    ("row", "-sum(y*log(softmax(z, axis=1)))", "softmax(z, axis=1) - y", (1, 4), 1),
    ("rows, a batch", "-sum(y*log_softmax(z, axis=1))", "softmax(z, axis=1) - y", (5, 4), 1),
    ("rows, softmax's default axis", "-sum(y*log(softmax(z)))", "softmax(z) - y", (5, 4), 1),
    ("rows, negative axis", "-sum(y*log_softmax(z, axis=-1))", "softmax(z, axis=-1) - y", (5, 4), 1),
    ("1-D", "-sum(y*log(softmax(z)))", "softmax(z) - y", (4,), 0),
    ("cross_entropy, columns", "5*cross_entropy(z, y, axis=0)", "softmax(z, axis=0) - y", (4, 5), 0),  # a mean of 5
]


def numpy_f(axis):
    return lambda z, y: -np.sum(y * np.log(softmax(z, axis)))


@pytest.mark.parametrize("kind", ["onehot", "simplex"])
@pytest.mark.parametrize("f, claim, shape, axis", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_softmax_cross_entropy_is_right_in_both_layouts(kind, f, claim, shape, axis):
    report = check_gradient(f, claim, wrt="z", constraints={"y": kind}, z=shape, y=shape)
    assert report.ok, report.diagnosis
    y, z = report.inputs["y"], report.inputs["z"]
    assert np.allclose(y.sum(axis=axis), 1) and np.all(y >= 0)
    if kind == "onehot":
        assert set(np.unique(y)) <= {0.0, 1.0}
    numeric = numeric_grad(lambda v: numpy_f(axis)(v, y), z)
    np.testing.assert_allclose(softmax(z, axis) - y, numeric, atol=1e-7)  # the claim, independently


@pytest.mark.parametrize("kind", ["onehot", "simplex"])
def test_an_axis_f_does_not_show_is_given_as_name_colon_axis(kind):
    f = "-sum(y*log(exp(z)/(J@exp(z))))"  # softmax over columns, the sum written J @ ·: nothing f says
    claim, J = "softmax(z, axis=0) - y", np.ones((4, 4))
    default = check_gradient(f, claim, wrt="z", constraints={"y": kind}, z="4x5", y="4x5", J=J)  # the last axis
    assert not default.ok and np.allclose(default.inputs["y"].sum(axis=1), 1)
    assert f"--{kind} y:0 draws it along axis 0" in default.diagnosis
    given = check_gradient(f, claim, wrt="z", constraints={"y": f"{kind}:0"}, z="4x5", y="4x5", J=J)
    assert given.ok, given.diagnosis
    z, y = given.inputs["z"], given.inputs["y"]
    assert np.allclose(y.sum(axis=0), 1)
    numeric = numeric_grad(lambda v: numpy_f(0)(v, y), z)
    np.testing.assert_allclose(softmax(z, 0) - y, numeric, atol=1e-7)


def test_the_issue_example_on_the_command_line(capsys):
    args = ["check", "-sum(y*log(softmax(z, axis=0)))", "--claim", "softmax(z, axis=0) - y", "--shape", "z=4x1",
            "--shape", "y=4x1", "--wrt", "z"]
    for constraint in (["--onehot", "y"], ["--onehot", "y:0"], ["--simplex", "y"], ["--simplex", "y:-2"]):
        assert main([*args, *constraint]) == 0, capsys.readouterr()
        assert capsys.readouterr().out.startswith("✓ correct")
    assert main([*args, "--onehot", "y:1"]) == 1  # one-hot along the length-1 axis: all ones, and wrong
    out = capsys.readouterr().out
    assert out.startswith("✗")


@pytest.mark.parametrize("shape, axis", [((4,), 0), ((4, 1), 0), ((1, 4), 1), ((1, 1), 1), ((3, 5), 1),
                                         ((2, 3, 4), 2)])
def test_without_an_axis_or_a_formula(shape, axis):
    assert class_axis(shape, "onehot", "y") == axis
    rng = np.random.default_rng(0)
    for kind in ("onehot", "simplex"):
        y = draw_input(rng, shape, kind, "y")
        assert y.shape == shape and np.allclose(y.sum(axis=axis), 1)


def test_draws_along_a_given_axis_of_a_3d_array():
    rng = np.random.default_rng(1)
    y = draw_input(rng, (2, 3, 4), "onehot:1", "y")
    assert np.array_equal(y.sum(axis=1), np.ones((2, 4))) and set(np.unique(y)) == {0.0, 1.0}
    p = draw_input(rng, (2, 3, 4), "simplex:-3", "p")
    assert np.allclose(p.sum(axis=0), 1) and np.all(p > 0)


def test_random_inputs_read_the_axis_from_the_formula():
    values = random_inputs("-sum(Y*log_softmax(Z, axis=0)) + sum(P*log_softmax(Z, axis=0))",
                           {"Z": (3, 4), "Y": (3, 4), "P": (3, 4)}, 0, {"Y": "onehot", "P": "simplex"})
    assert np.array_equal(values["Y"].sum(axis=0), np.ones(4)) and np.allclose(values["P"].sum(axis=0), 1)


def test_a_callable_f_draws_matrices_along_the_last_axis():
    report = check_gradient(lambda z, y: -(y * z).sum(), lambda z, y: -y, wrt="z", constraints={"y": "onehot"},
                            z="3x4", y="3x4")
    assert report.ok and np.array_equal(report.inputs["y"].sum(axis=1), np.ones(3))


@pytest.mark.parametrize(
    "constraint, message",
    [("onehot:2", "axis 2 is out of range for shape 4x5"), ("onehot:x", "must be an integer"),
     ("positive:0", "only simplex and onehot take an axis"), ("onehto:0", "did you mean 'onehot'")],
)
def test_bad_axes_are_formula_errors(constraint, message):
    with pytest.raises(FormulaError, match=message):
        check_gradient("-sum(y*log_softmax(z, axis=0))", "softmax(z, axis=0) - y", wrt="z",
                       constraints={"y": constraint}, z="4x5", y="4x5")


@pytest.mark.parametrize(
    "option, message",
    [(["--positive", "y:0"], "only --onehot and --simplex take NAME:AXIS"),
     (["--onehot", "y:3"], "axis 3 is out of range"),
     (["--onehot", "y", "--simplex", "y"], "--simplex y and --onehot y: one constraint per input"),
     (["--onehot", ":0"], "is not a variable name")],
)
def test_bad_axes_on_the_command_line_exit_2_in_one_line(capsys, option, message):
    code = main(["check", "-sum(y*log_softmax(z, axis=0))", "--claim", "softmax(z, axis=0) - y", "--shape", "z=4x5",
                 "--shape", "y=4x5", "--wrt", "z", *option])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_the_same_axis_given_twice_is_one_constraint(capsys):
    code = main(["check", "-sum(y*log_softmax(z, axis=0))", "--claim", "softmax(z, axis=0) - y", "--shape", "z=4x5",
                 "--shape", "y=4x5", "--wrt", "z", "--onehot", "y:0", "--onehot", "y:0"])
    assert code == 0, capsys.readouterr()


def test_explain_takes_the_axis_too(capsys):
    code = main(["explain", "-sum(y*log_softmax(z, axis=0))", "--shape", "z=4x5", "--shape", "y=4x5", "--wrt", "z",
                 "--onehot", "y:0"])
    assert code == 0, capsys.readouterr().err
