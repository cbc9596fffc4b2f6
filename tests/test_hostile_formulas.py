"""Issue #14, the formula pipeline: hostile and careless input gives one line and exit 2 (or the
right number), never a traceback, and in bounded time and memory."""

import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad import primitives as prim
from matgrad.claim.api import MAX_DRAWS, check_gradient
from matgrad.cli import main
from matgrad.explain.command import formula_explanation
from matgrad.explain.deep import MAX_GRAPH_DEPTH, TooDeepError
from matgrad.formula import (
    FUNCTIONS,
    MAX_INPUT_ELEMENTS,
    FormulaError,
    check_finite,
    check_shapes,
    parse,
    random_inputs,
)
from matgrad.formula.guards import MAX_INTERMEDIATE_ELEMENTS
from matgrad.formula.parser import MAX_DEPTH, MAX_LENGTH
from matgrad.symbolic.render import _number
from matgrad.tensor import Tensor


def refused(capsys, *argv):
    """Run the command in process; assert exit 2 with one line on stderr; return that line."""
    code = main(list(argv))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    assert lines[0].startswith(f"matgrad {argv[0]}: error: ")
    return lines[0]


def accepted(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0 and err == "", (code, err)
    return out


# ----- constants the renderer could not print -----------------------------------------------------


def test_a_constant_that_overflows_is_a_domain_error_naming_it(capsys):
    line = refused(capsys, "explain", "sum(x)*2.0**10000", "--shape", "x=3")
    assert "domain error: '2.0**10000' gives inf" in line and "overflow" in line


def test_a_subnormal_constant_is_explained_and_every_line_checks(capsys):
    out = accepted(capsys, "explain", "sum(x)*1e-320", "--shape", "x=3")
    assert "✓" in out and "✗" not in out
    shown = [word for word in out.split() if "e-32" in word]
    assert shown and float(shown[0]) == pytest.approx(1e-320, rel=1e-3)


@pytest.mark.parametrize("value", [1e308, -3e300, 1e-320, 5e-324, 2.0**60, 1 / 3, -0.125])
def test_rendered_numbers_read_back_as_the_number(value):
    for latex in (False, True):
        text = _number(value, latex)
        if "frac" not in text and "/" not in text:
            assert float(text) == pytest.approx(value, rel=1e-5)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_numbers_render_as_words(value):
    assert _number(value, False) == f"{value:g}"


# ----- length and nesting, bounded before ast.parse ------------------------------------------------


@pytest.mark.parametrize("text", ["x" + "**x" * 3000, "-" * 10000 + "x", "- " * 5000 + "x", "x" + "**-x" * 1000])
def test_deep_operator_chains_are_refused_before_ast_parse(text):
    start = time.perf_counter()
    with pytest.raises(FormulaError, match=f"nested too deeply \\(more than {MAX_DEPTH} levels\\)"):
        parse(text)
    assert time.perf_counter() - start < 1.0


def test_a_chain_inside_the_bound_still_parses_and_computes():
    signs = MAX_DEPTH - 10
    assert parse("-" * signs + "x")(x=2.0) == (-1) ** signs * 2.0
    assert parse("x" + "**x" * 2)(x=2.0) == 2.0 ** (2.0**2.0)


def test_a_formula_longer_than_the_cap_is_refused_with_its_length():
    with pytest.raises(FormulaError, match=f"too long \\({MAX_LENGTH + 1:,} characters, more than {MAX_LENGTH:,}\\)"):
        parse("x" * (MAX_LENGTH + 1))


def test_the_command_refuses_a_long_unary_chain_in_one_line(capsys):
    line = refused(capsys, "explain", "--shape", "x=scalar", "--", "-" * 10000 + "x")
    assert "nested too deeply" in line


# ----- literal parameters and constants as arguments ----------------------------------------------


def test_an_axis_too_large_for_a_c_long_is_refused(capsys):
    line = refused(capsys, "explain", "sum(x, axis=99999999999999999999)", "--shape", "x=3")
    assert "cannot compute 'sum(x, axis=99999999999999999999)'" in line and "at most 64 axes" in line


def test_an_axis_on_a_scalar_is_refused_not_divided_by_zero(capsys):
    line = refused(capsys, "explain", "max(x, axis=0)", "--shape", "x=scalar")
    assert "'max(x, axis=0)'" in line and "scalar, which has no axes" in line


def test_logsumexp_of_a_number_is_that_number():
    for value in (-1.0, 0.5, 3.0):
        assert parse(f"logsumexp({value})").evaluate() == pytest.approx(np.log(np.sum(np.exp([value]))))


def test_a_formula_without_variables_has_nothing_to_differentiate(capsys):
    line = refused(capsys, "explain", "logsumexp(-1)")
    assert "no variables" in line and "-1.0" in line


# ----- sizes: capped before anything is drawn -----------------------------------------------------


@pytest.mark.parametrize("shape", ["100000x100000", "8000x8000"])
def test_huge_shapes_are_refused_before_drawing(capsys, shape):
    start = time.perf_counter()
    line = refused(capsys, "explain", "sum(x@x)", "--shape", f"x={shape}")
    elements = np.prod([int(n) for n in shape.split("x")])
    assert f"{elements:,}" in line and f"cap of {MAX_INPUT_ELEMENTS:,}" in line and "smaller shapes" in line
    line = refused(capsys, "check", "sum(x@x)", "--claim", "x", "--wrt", "x", "--shape", f"x={shape}")
    assert "inputs too large" in line
    assert time.perf_counter() - start < 5.0


def test_the_size_cap_counts_all_inputs_together():
    half = MAX_INPUT_ELEMENTS // 2
    assert check_shapes("sum(x) + sum(y)", {"x": (half,), "y": (MAX_INPUT_ELEMENTS - half,)}) == ()
    with pytest.raises(FormulaError, match="inputs too large"):
        check_shapes("sum(x) + sum(y)", {"x": (half,), "y": (MAX_INPUT_ELEMENTS - half + 1,)})


@pytest.mark.parametrize(
    ("formula", "shapes", "entries"),
    [
        ("sum(outer(x, x))", (f"x={MAX_INPUT_ELEMENTS // 2}",), (MAX_INPUT_ELEMENTS // 2) ** 2),
        ("sum(x + y.T)", ("x=100000x1", "y=100000x1"), 10**10),  # broadcasting: every pair
        ("sum(x * y)", ("x=400000x1", "y=1x2"), None),  # 800,000 entries: under the cap, computed
        ("sum(A @ B)", ("A=20000x2", "B=2x20000"), 4 * 10**8),
        ("sum(kron(A, B))", ("A=1000x20", "B=100x10"), 2 * 10**7),
    ],
)
def test_a_huge_intermediate_within_the_input_cap_is_refused_before_it_is_made(capsys, formula, shapes, entries):
    """Inputs within their cap can still broadcast into far more: the step is refused, naming it,
    before NumPy allocates anything (each case runs in milliseconds, not until memory runs out)."""
    arguments = [part for shape in shapes for part in ("--shape", shape)]
    start = time.perf_counter()
    if entries is None:
        assert main(["explain", formula, *arguments]) == 0
        return
    line = refused(capsys, "explain", formula, *arguments)
    assert f"would make {entries:,} entries" in line and f"cap of {MAX_INTERMEDIATE_ELEMENTS:,}" in line
    assert "smaller shapes" in line and time.perf_counter() - start < 30  # refused, not attempted


def test_shape_checking_keeps_its_fixed_random_draw():
    assert check_shapes("inv(X)", {"X": (3, 3)}) == (3, 3)  # a zero matrix would be singular
    assert np.isfinite(parse("log(det(X))")(**random_inputs("log(det(X))", {"X": (3, 3)}, 0)))


# ----- values outside a function's domain --------------------------------------------------------


def test_division_by_a_zero_constant_is_a_domain_error_not_a_wrong_rule(capsys):
    line = refused(capsys, "explain", "sum(x)/0", "--shape", "x=3")
    assert "domain error: 'sum(x)/0' gives inf at column 1" in line and "division" in line


def test_sqrt_of_negative_draws_names_the_part_and_suggests_positive(capsys):
    line = refused(capsys, "explain", "sum(sqrt(x))", "--shape", "x=3")
    assert "domain error: 'sqrt(x)' gives nan at column 5" in line and "--positive x" in line
    assert "✓" in accepted(capsys, "explain", "sum(sqrt(x))", "--shape", "x=3", "--positive", "x")


@pytest.mark.parametrize(
    ("formula", "part"),
    [("(x - sqrt(x))[0]", "sqrt(x)"),  # the value can be finite while a part, and so the gradient, is nan
     ("sum(x ** 2.0**10000)", "2.0**10000")],  # x**inf is finite where |x| < 1, the constant never
)
def test_a_part_outside_its_domain_is_found_even_when_the_value_is_finite(capsys, formula, part):
    line = refused(capsys, "explain", formula, "--shape", "x=3")  # one line: no RuntimeWarning either
    assert f"domain error: {part!r} gives" in line


def test_a_comparison_alone_has_nothing_to_differentiate(capsys):
    assert "nothing to differentiate" in refused(capsys, "explain", "-trace(W) > 0", "--shape", "W=3x3")


def test_the_domain_error_points_at_the_innermost_part():
    formula = parse("sum(exp(x) * log(y - 1))")
    values = {"x": np.ones(2), "y": np.array([0.5, 3.0])}
    with pytest.raises(FormulaError, match=r"'log\(y - 1\)' gives nan") as caught:
        check_finite(formula, values)
    assert caught.value.column == formula.line.index("log") + 1 and "--positive x" not in str(caught.value)
    check_finite(formula, {"x": np.ones(2), "y": np.array([2.5, 3.0])})  # inside the domain: silent


def test_check_names_the_draw_and_the_part_outside_the_domain(capsys):
    line = refused(capsys, "check", "sum(log(p))", "--claim", "1/p", "--wrt", "p", "--shape", "p=3")
    assert "not finite on draw 1" in line and "'log(p)' gives nan" in line and "--positive p" in line


# ----- empty input and unbounded options ----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_formula_is_refused_not_the_seed_network(capsys, text):
    assert "empty formula" in refused(capsys, "explain", text)


def test_draws_are_capped(capsys):
    line = refused(capsys, "check", "sum(x**2)", "--claim", "2*x", "--wrt", "x", "--shape", "x=3", "--draws",
                   "1000000000")
    assert f"at most {MAX_DRAWS:,}" in line
    with pytest.raises(ValueError, match=f"from 1 to {MAX_DRAWS:,}"):
        check_gradient("sum(x**2)", "2*x", wrt="x", x="3", draws=MAX_DRAWS + 1)
    assert check_gradient("sum(x**2)", "2*x", wrt="x", x="3", draws=2).ok


# ----- deep computations in mg.explain ------------------------------------------------------------


def _chain(length):
    x = Tensor(np.random.default_rng(0).uniform(0.1, 1.0, 3), requires_grad=True, name="x")
    h = x
    for _ in range(length):
        h = prim.sin(h)
    return prim.sum(h)


@pytest.mark.parametrize("length", [400, 2000])
def test_a_chain_beyond_the_cap_is_refused_in_one_line_at_once(length):
    start = time.perf_counter()
    with pytest.raises(TooDeepError, match=f"{length + 1:,} primitives deep, more than the cap of {MAX_GRAPH_DEPTH}"):
        mg.explain(_chain(length))
    assert time.perf_counter() - start < 2.0


def test_a_chain_at_the_cap_is_explained_and_checked_without_touching_the_recursion_limit():
    limit = sys.getrecursionlimit()
    start = time.perf_counter()
    explanation = mg.explain(_chain(MAX_GRAPH_DEPTH - 1))  # and the sum: MAX_GRAPH_DEPTH levels
    text = str(explanation)
    assert explanation.ok and "∂C/∂x" in text and text.count("sin") >= MAX_GRAPH_DEPTH - 1
    assert time.perf_counter() - start < 30.0 and sys.getrecursionlimit() == limit


def test_a_deep_formula_is_a_usage_error(capsys):
    depth = MAX_GRAPH_DEPTH + 5
    line = refused(capsys, "explain", "sum(" + "sin(" * depth + "x" + ")" * depth + ")", "--shape", "x=3")
    assert "primitives deep" in line


def test_check_of_a_deep_formula_gives_its_verdict_without_the_derivation(capsys):
    depth = MAX_GRAPH_DEPTH + 5
    formula = "sum(" + "sin(" * depth + "x" + ")" * depth + ")"
    code = main(["check", formula, "--claim", "x", "--wrt", "x", "--shape", "x=3"])
    out, err = capsys.readouterr()
    assert code == 1 and err == "" and out.startswith("✗ the claim is wrong")
    assert "derivation is not shown" in out and "primitives deep" in out


# ----- fuzz: only FormulaError escapes ------------------------------------------------------------

_NAMES = ("x", "y", "W")
_SHAPES = {"x": (3,), "y": (3,), "W": (3, 3)}
_UNARY = ("exp", "log", "sqrt", "sigmoid", "tanh", "sum", "mean", "max", "logsumexp", "softmax", "abs", "relu",
          "inv", "det", "trace", "norm", "cumsum", "sort", "tril")
_BINARY = ("+", "-", "*", "/", "**", "@", ">")
_SUFFIX = ("", ".T", "[0]", "[:, 1]", "[1:]")
_AXES = ("axis=0", "axis=-1", "axis=1", "axis=(0, 1)", "keepdims=True", "axis=99999999999999999999")
_CONSTANTS = ("0", "1", "2.5", "-1", "1e-320", "2.0**10000", "1e308")
_leaves = st.one_of(st.sampled_from(_NAMES), st.sampled_from(("I", "eye(3)") + _CONSTANTS))


def _keyword(function):
    """No keyword, or one the function takes (axis=, keepdims=): a refused keyword ends the walk early."""
    allowed = [text for text in _AXES if text.split("=")[0] in FUNCTIONS[function].keywords]
    return st.sampled_from(["", *(", " + text for text in allowed)])


def _extend(inner):
    call = st.sampled_from(_UNARY).flatmap(
        lambda f: st.builds(lambda a, k: f"{f}({a}{k})", inner, _keyword(f)))
    binary = st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(_BINARY), inner)
    return st.one_of(call, binary, st.builds(lambda a, s: f"({a}){s}", inner, st.sampled_from(_SUFFIX)),
                     st.builds(lambda a: f"-{a}", inner))


formulas = st.recursive(_leaves, _extend, max_leaves=8)
junk = st.text(alphabet="xyW()[]{}+-*/@.,:=~<>!&|^%0123456789eIT _'\"\\\n\t#λ𝐈", max_size=60)
_FUZZ = settings(max_examples=400, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


def _through_the_pipeline(text):
    """Parse, check shapes, explain and check: a FormulaError is the only way out."""
    try:
        formula = parse(text)
        shapes = {name: _SHAPES.get(name, (2,)) for name in formula.names}
        scalar = text if check_shapes(formula, shapes) == () else f"sum({text})"  # explain needs a scalar
        if formula.names:
            shape_texts = [f"{name}={'x'.join(map(str, shape))}" for name, shape in shapes.items()]
            formula_explanation(scalar, shape_texts, [], 0)
            check_gradient(scalar, "0*" + formula.names[0], wrt=formula.names[0], draws=1, **shapes)
    except FormulaError as error:
        assert "\n" not in str(error) and str(error)


@_FUZZ
@given(junk)
def test_fuzz_random_text_only_raises_formula_error(text):
    _through_the_pipeline(text)


@_FUZZ
@given(formulas)
def test_fuzz_random_formulas_only_raise_formula_error(text):
    _through_the_pipeline(text)

