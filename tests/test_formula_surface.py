"""The formula surface: every function in the whitelist, through ``explain`` and ``check_gradient``.

One example per name a formula may call (aliases included), written as ``sum(F * C)`` with C a
random weight of F's shape, so that ∂f/∂x is F's vector-Jacobian product with C.  Each example is
explained (every line checked ✓ against the engine) and checked as a claim: the gradient by
central differences of the formula (no autodiff) is accepted, twice it is refused as a factor.
Then the parser's new syntax: literal parameters, list arguments, strings, refusals.
"""

import inspect

import numpy as np
import pytest

import matgrad as mg
import matgrad.numpy as mnp
from matgrad.explain import Explanation
from matgrad.explain.command import formula_explanation
from matgrad.formula import (
    FUNCTIONS,
    UNSUPPORTED,
    Formula,
    FormulaError,
    Op,
    Var,
    check_shapes,
    parse,
    random_inputs,
    to_text,
    walk,
)

SQUARE = {"X": "3x3"}
PAIR = {"X": "3x3", "Y": "3x3"}
VECTORS = {"a": "4", "b": "4"}
POSITIVE = {"X": "positive"}

#: name → (the call, the shapes of its inputs, their constraints); the gradient is taken with
#: respect to the first name in the call.  Inputs keep away from kinks and singularities.
EXAMPLES = {
    **{name: (f"{name}(X)", SQUARE, {}) for name in (
        "abs", "absolute", "fabs", "arctan", "atan", "arcsinh", "asinh", "cos", "cosh", "sin", "sinh", "tanh",
        "exp", "exp2", "expm1", "square", "sigmoid", "σ", "relu", "softplus", "negative", "positive", "norm",
        "ravel", "diag", "trace", "tr", "sum", "mean", "prod", "cumsum", "logsumexp", "max", "min", "amax",
        "amin", "sort", "median", "ptp", "flip", "fliplr", "flipud", "rot90", "triu")},
    **{name: (f"{name}(X)", SQUARE, POSITIVE) for name in ("log", "log10", "log1p", "log2", "sqrt", "reciprocal",
                                                           "cbrt")},
    **{name: (f"{name}(sigmoid(X))", SQUARE, {}) for name in ("arcsin", "asin", "arccos", "acos", "arctanh", "atanh")},
    **{name: (f"{name}(X + 2)", SQUARE, POSITIVE) for name in ("arccosh", "acosh")},
    "tan": ("tan(tanh(X))", SQUARE, {}),  # |tanh| < 1 < π/2: away from the poles
    # No derivative of their own: + X keeps the gradient away from zero, so that twice it is wrong.
    **{name: (f"{name}(X) + X", SQUARE, {}) for name in ("ceil", "floor", "sign", "rint", "trunc", "fix", "around")},
    "round": ("round(X, decimals=1) + X", SQUARE, {}),
    **{name: (f"{name}(X, Y)", PAIR, {}) for name in (
        "add", "subtract", "multiply", "maximum", "minimum", "hypot", "logaddexp", "logaddexp2", "vdot")},
    **{name: (f"{name}(X, Y)", PAIR, {"Y": "positive"}) for name in (
        "divide", "true_divide", "arctan2", "atan2", "fmod", "mod", "remainder")},
    "power": ("power(X, Y)", PAIR, POSITIVE),
    **{name: (f"{name}(X, Y)", {"X": "2x3", "Y": "3x4"}, {}) for name in ("matmul", "dot")},
    **{name: (f"{name}(X, axis=0, ddof=1)", SQUARE, {}) for name in ("std", "var")},
    **{name: (f"{name}(X, axis=1)", SQUARE, {}) for name in ("softmax", "log_softmax", "cumprod")},
    **{name: (f"{name}([X, 2 * Y])", PAIR, {}) for name in ("hstack", "vstack", "dstack")},
    "inner": ("inner(a, b)", VECTORS, {}),
    "cross": ("cross(a, b)", {"a": "3", "b": "3"}, {}),
    "outer": ("outer(a, b)", {"a": "3", "b": "4"}, {}),
    "kron": ("kron(X, Y)", {"X": "2x2", "Y": "2x3"}, {}),
    "cross_entropy": ("cross_entropy(Z, P)", {"Z": "4x3", "P": "4x3"}, {"P": "onehot"}),
    "det": ("det(X)", SQUARE, {}),  # X is drawn invertible: it only feeds det
    "inv": ("inv(X)", SQUARE, {}),
    "pinv": ("pinv(X)", {"X": "3x2"}, {}),
    "logdet": ("logdet(S)", {"S": "3x3"}, {}),  # S is drawn SPD
    "cholesky": ("cholesky(S)", {"S": "3x3"}, {}),
    "eigvalsh": ("eigvalsh(S)", {"S": "3x3"}, {"S": "symmetric"}),
    "solve": ("solve(A, b)", {"A": "3x3", "b": "3x1"}, {}),
    "matrix_power": ("matrix_power(X, n=3)", SQUARE, {}),
    "diagonal": ("diagonal(X, offset=1)", SQUARE, {}),
    "tril": ("tril(X, k=-1)", SQUARE, {}),
    "transpose": ("transpose(X)", {"X": "2x3"}, {}),
    "matrix_transpose": ("matrix_transpose(X)", {"X": "2x3"}, {}),
    "eye": ("X @ eye(3)", {"X": "2x3"}, {}),
    "atleast_1d": ("atleast_1d(s)", {"s": "scalar"}, {}),
    "atleast_2d": ("atleast_2d(a)", {"a": "4"}, {}),
    "atleast_3d": ("atleast_3d(X)", SQUARE, {}),
    "average": ("average(X, axis=0, weights=(1, 2, 3))", SQUARE, {}),
    "broadcast_to": ("broadcast_to(a, (3, 4))", {"a": "4"}, {}),
    "clip": ("clip(X, -1, None)", SQUARE, {}),
    "where": ("where(X > 0, X, 2 * Y)", PAIR, {}),
    "reshape": ("reshape(X, (3, 2))", {"X": "2x3"}, {}),
    "squeeze": ("squeeze(X, axis=1)", {"X": "3x1"}, {}),
    "expand_dims": ("expand_dims(X, 1)", SQUARE, {}),
    "swapaxes": ("swapaxes(T, 0, 2)", {"T": "2x3x4"}, {}),
    "moveaxis": ("moveaxis(T, 0, -1)", {"T": "2x3x4"}, {}),
    "roll": ("roll(X, 1, axis=1)", SQUARE, {}),
    "tile": ("tile(X, (2, 1))", SQUARE, {}),
    "repeat": ("repeat(X, 2, axis=0)", SQUARE, {}),
    "pad": ('pad(X, ((1, 0), (0, 2)), mode="reflect")', SQUARE, {}),
    "diff": ("diff(X, n=2, axis=0)", {"X": "4x3"}, {}),
    "diagflat": ("diagflat(a, k=1)", {"a": "3"}, {}),
    "take": ("take(X, (0, 2, 2), axis=1)", SQUARE, {}),
    "take_along_axis": ("take_along_axis(X, ((0,), (2,), (1,)), axis=1)", SQUARE, {}),
    "append": ("append(X, Y, axis=0)", {"X": "2x3", "Y": "1x3"}, {}),
    "tensordot": ("tensordot(T, Y, axes=((1, 2), (0, 1)))", {"T": "2x3x4", "Y": "3x4"}, {}),
    "vector_norm": ("vector_norm(X, ord=3, axis=1)", SQUARE, {}),
    "matrix_norm": ('matrix_norm(X, ord="nuc")', SQUARE, {}),
    "svdvals": ("svdvals(X)", {"X": "3x2"}, {}),
    "convolve": ('convolve(a, v, mode="same")', {"a": "5", "v": "3"}, {}),
    "correlate": ("correlate(a, v)", {"a": "5", "v": "3"}, {}),
    "convolve2d": ('convolve2d(X, K, mode="valid")', {"X": "4x4", "K": "2x2"}, {}),
    "correlate2d": ('correlate2d(X, K, mode="same")', {"X": "4x4", "K": "2x2"}, {}),
    "conv2d": ("conv2d(x, w, padding=1)", {"x": "1x2x4x4", "w": "3x2x3x3"}, {}),
    "concatenate": ("concatenate([X, 2 * Y], axis=1)", {"X": "3x2", "Y": "3x1"}, {}),
    "column_stack": ("column_stack([a, b])", VECTORS, {}),
    "stack": ("stack([X, Y], axis=1)", PAIR, {}),
    "einsum": ('einsum("ij,jk->ik", X, Y)', {"X": "2x3", "Y": "3x4"}, {}),
}

NAMES = sorted(FUNCTIONS)


def example(name: str, outer: str = "") -> tuple[str, dict[str, str], str, dict[str, str]]:
    """(formula, shapes, wrt, constraints): ``sum(outer(call) * C)``, C shaped like the call's value."""
    call, shapes, constraints = EXAMPLES[name]
    shape = check_shapes(call, shapes, constraints)
    weights = "x".join(map(str, shape)) or "scalar"
    return f"sum({outer}({call}) * C)", {**shapes, "C": weights}, parse(call).names[0], constraints


def explained(text: str, shapes: dict[str, str], wrt: str, constraints: dict[str, str]) -> Explanation:
    return formula_explanation(text, [f"{k}={v}" for k, v in shapes.items()], [wrt], 0, constraints or None)


def differences(text: str, wrt: str, scale: float):
    """A claim: ``scale`` × ∂f/∂wrt by central differences of the formula, with no autodiff;
    a callable of the formula's names, as check_gradient takes them."""
    formula = parse(text)

    def gradient(**values: np.ndarray) -> np.ndarray:
        x = values[wrt]
        out = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[k] = 1e-6
            out[k] = (formula(**{**values, wrt: x + step}) - formula(**{**values, wrt: x - step})) / 2e-6
        return scale * out

    gradient.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in formula.names]
    )
    return gradient


# ----- the sweep ------------------------------------------------------------------------------
def numpy_function(name: str):
    """NumPy's own function of that name (np or np.linalg), if it has one."""
    return vars(np).get(name) or vars(np.linalg).get(name)


def evaluated(node: Op | Var, values: dict[str, np.ndarray], text: str) -> np.ndarray:
    """The value of one node of the tree parsed from ``text``."""
    names = tuple(dict.fromkeys(each.name for each in walk(node) if isinstance(each, Var)))
    return np.asarray(Formula(text, names, node, text)(**{name: values[name] for name in names}))


def numpy_value(name: str, node: Op, values: dict[str, np.ndarray], text: str) -> np.ndarray:
    """What NumPy computes for the call ``node``, its arguments evaluated by the formula."""
    row, args = FUNCTIONS[name], [evaluated(arg, values, text) for arg in node.args]
    params = {key: np.asarray(value) if key == "indices" else value for key, value in node.params}
    if row.arrays == "list":
        return numpy_function(name)(args, **params)
    if row.arrays == "variadic":  # einsum(subscripts, *operands)
        return numpy_function(name)(params.pop("subscripts"), *args, **params)
    return numpy_function(name)(*args, **params)


SPELLED_AS_NUMPY = [name for name in NAMES if numpy_function(name) and name != "eye"]  # eye(n) has no array


@pytest.mark.parametrize("name", SPELLED_AS_NUMPY)
def test_a_function_spelled_as_numpy_computes_what_numpy_computes(name):
    call, shapes, constraints = EXAMPLES[name]
    values = random_inputs(call, shapes, 1, constraints)
    tree = parse(call).tree
    node = next(each for each in walk(tree) if isinstance(each, Op) and each.name == FUNCTIONS[name].name)
    expected = numpy_value(name, node, values, call)
    np.testing.assert_allclose(evaluated(node, values, call), expected, rtol=1e-12, atol=1e-12)


def test_every_name_in_the_table_has_an_example():
    assert set(EXAMPLES) == set(FUNCTIONS), "a row without an example, or an example without a row"


def test_every_differentiable_numpy_name_is_callable_or_refused_with_a_reason():
    names = set(mnp.DIFFERENTIABLE) | set(mnp.linalg.DIFFERENTIABLE)
    assert not names - set(FUNCTIONS) - set(UNSUPPORTED)
    assert not set(FUNCTIONS) & set(UNSUPPORTED)


@pytest.mark.parametrize("name", NAMES)
def test_explain_checks_every_line(name):
    text, shapes, wrt, constraints = example(name)
    ops = {node.name for node in walk(parse(text).tree) if isinstance(node, Op)}
    assert FUNCTIONS[name].name in ops  # the example does call the function
    explanation = explained(text, shapes, wrt, constraints)
    assert explanation.line(f"∂f/∂{wrt}").ok, str(explanation)
    assert all(line.ok for line in explanation.lines), str(explanation)


@pytest.mark.parametrize("name", NAMES)
def test_explain_checks_every_line_through_a_nonlinear_function(name):
    """sin(F): the gradient inlines F's own forward formula, whose notation is checked too."""
    explanation = explained(*example(name, outer="sin"))
    assert all(line.ok for line in explanation.lines), str(explanation)


@pytest.mark.parametrize("name", NAMES)
def test_check_accepts_the_gradient_and_refuses_it_doubled(name):
    text, shapes, wrt, constraints = example(name)
    common = dict(wrt=wrt, draws=2, constraints=constraints or None, tolerance=1e-6, **shapes)
    right = mg.check_gradient(text, differences(text, wrt, 1.0), **common)
    assert right.ok, right.diagnosis
    wrong = mg.check_gradient(text, differences(text, wrt, 2.0), **common)
    assert not wrong.ok and "factor" in wrong.kinds, wrong.diagnosis
    assert wrong.factor == pytest.approx(2.0, rel=1e-4)


# ----- the parser: literal parameters, lists, strings -------------------------------------------
@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [("absolute(X)", "abs(X)"), ("fabs(X)", "abs(X)"), ("acos(X)", "arccos(X)"), ("atan2(X, Y)", "arctan2(X, Y)"),
     ("amax(X, axis=0)", "max(X, axis=0)"), ("true_divide(X, Y)", "X / Y"), ("add(X, Y)", "X + Y"),
     ("subtract(X, Y)", "X - Y"), ("multiply(X, Y)", "X * Y"), ("power(X, Y)", "X ** Y"), ("negative(X)", "-X"),
     ("around(X, decimals=2)", "round(X, decimals=2)"), ("fix(X)", "trunc(X)")],
)
def test_an_alias_or_the_function_form_of_an_operator_parses_to_the_same_tree(spelled, canonical):
    assert parse(spelled).tree == parse(canonical).tree


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("reshape(X, (3, 2))", (("shape", (3, 2)),)),
        ("reshape(X, shape=[3, 2])", (("shape", (3, 2)),)),  # by keyword; a list literal is a tuple
        ("swapaxes(X, 0, axis2=-1)", (("axis1", 0), ("axis2", -1))),
        ("roll(X, 1, axis=(0, 1))", (("shift", 1), ("axis", (0, 1)))),
        ("clip(X, -1, None)", (("a_min", -1), ("a_max", None))),
        ("vector_norm(X, ord=-inf, keepdims=True)", (("ord", -float("inf")), ("keepdims", True))),
        ("pad(X, ((1, 0), (0, 2)), mode='edge')", (("pad_width", ((1, 0), (0, 2))), ("mode", "edge"))),
        ('einsum("ij,jk->ik", X, Y)', (("subscripts", "ij,jk->ik"),)),
        ("flip(X, axis=None)", (("axis", None),)),
    ],
)
def test_literal_parameters_are_kept_by_name_in_the_table_order(text, params):
    assert parse(text).tree.params == params


@pytest.mark.parametrize("text", ["reshape(X, (3, 2))", "clip(X, -1, None) + roll(X, 1, axis=0)",
                                  "vector_norm(X, ord=inf)", "swapaxes(tile(X, (1, 2)), 0, 1)"])
def test_literal_parameters_render_back_to_the_same_tree(text):
    tree = parse(text).tree
    assert parse(to_text(tree)).tree == tree


def test_a_list_of_expressions_is_the_arrays_of_concatenate_and_nothing_else():
    tree = parse("concatenate([X, 2 * Y], axis=1)").tree
    assert [type(arg).__name__ for arg in tree.args] == ["Var", "Op"] and tree.params == (("axis", 1),)
    values = {"X": np.ones((2, 1)), "Y": np.arange(4.0).reshape(2, 2)}
    np.testing.assert_array_equal(parse("hstack((X, 2 * Y))")(**values), np.hstack([values["X"], 2 * values["Y"]]))


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("reshape(X)", 1, "reshape takes 2 arguments, got 1 at column 1: use reshape(a, shape)"),
        ("reshape(X, (n, 2))", 12, "unsupported shape '(n, 2)'"),
        ("tile(X, (2, 1.5))", 9, "unsupported reps"),
        ("concatenate(X)", 13, "concatenate takes a list of arrays"),
        ("stack([])", 7, "stack takes a list of arrays"),
        ("sum([X, Y])", 5, "unsupported syntax 'list'"),
        ("X @ [Y]", 5, "unsupported syntax 'list'"),
        ("einsum(X, Y)", 8, "unsupported subscripts 'X'"),
        ('einsum("ij")', 1, "einsum takes at least 2 arguments, got 1"),
        ('X + "ij"', 5, "string constant"),
        ("convolve(a, v, mode=m)", 21, "unsupported mode 'm'"),
        ("clip(X, lo, 1)", 9, "unsupported a_min 'lo'"),
        ("vector_norm(X, ord=p)", 20, "unsupported ord 'p'"),
        ("average(X, weights=w)", 20, "unsupported weights 'w'"),
        ("swapaxes(X, 0, axis1=1)", 1, "swapaxes got axis1 twice"),
        ("swapaxes(X, 0, 1, 2)", 1, "swapaxes takes 3 arguments, got 4"),
        ("take(X, (0, 1), where=1)", 17, "keyword 'where' for take"),
        ("diff + 1", 1, "function 'diff' used as a variable"),
        ("split(X, 2)", 1, "x[:2]"),
        ("eigh(A)", 1, "eigvalsh(A)"),
        ("svd(A)", 1, "svdvals(A)"),
        ("slogdet(A)", 1, "logdet(A)"),
        ("array(X)", 1, "stack([A, B])"),
    ],
)
def test_a_wrong_call_is_refused_at_its_column_with_a_hint(text, column, fragment):
    with pytest.raises(FormulaError) as info:
        parse(text)
    assert info.value.column == column, str(info.value)
    assert fragment in str(info.value)


def test_a_bad_literal_value_is_refused_when_computed_naming_the_call():
    with pytest.raises(FormulaError) as info:
        parse('einsum("ij,jk->ik", X)')(X=np.ones((2, 2)))
    assert "cannot compute 'einsum(" in str(info.value) and "2 operand" in str(info.value)
    with pytest.raises(FormulaError, match=r"cannot compute 'reshape\(X, \(4, 2\)\)'"):
        parse("reshape(X, (4, 2))")(X=np.ones((2, 3)))
