"""gradcheck and the dot-product test must catch wrong rules, and say where."""

import numpy as np
import pytest

import matgrad as mg
from matgrad.primitives import Primitive
from matgrad.primitives.core import value
from matgrad.primitives.elementwise import stable_sigmoid
from matgrad.primitives.notation import elementwise, x
from matgrad.symbolic import fn

SIGMOID_NOTATION = elementwise(fn("sigmoid", x[0]), (fn("dsigmoid", x[0]),))


def sigmoid_with(vjp, jvp=None):
    """A sigmoid row built outside the table, with the rules under test."""
    right = lambda t, out, x: t * out * (1 - out)
    return Primitive("test_sigmoid", stable_sigmoid, vjp=[vjp], jvp=[jvp or right], notation=SIGMOID_NOTATION)


good = sigmoid_with(lambda g, out, x: g * out * (1 - out))
# First order right, second order wrong: σ' is frozen as a constant, so reverse-over-reverse misses σ''.
frozen = sigmoid_with(lambda g, out, x: g * (value(out) * (1 - value(out))))
transposed_matmul = Primitive(
    "test_matmul", np.matmul,
    vjp=[lambda g, out, a, b: g @ b, lambda g, out, a, b: a.T @ g],  # Ḡ B instead of Ḡ Bᵀ
    jvp="linear", notation=mg.TABLE["matmul"].notation,
)
x = np.random.default_rng(0).standard_normal((3, 3))
W = np.random.default_rng(1).standard_normal((3, 3))


def test_a_correct_rule_passes_and_the_report_lists_every_input_and_mode():
    report = mg.gradcheck(lambda a: (good(a) ** 2).sum(), (x,), order=2)
    assert report.ok
    assert {c.mode for c in report.checks} == {"rev", "fwd"} and len(report.checks) == 6


def test_a_wrong_vjp_fails_with_a_report_naming_the_input_and_the_worst_element():
    f = lambda a, b: (mg.tanh(transposed_matmul(a, b))).sum()
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(f, (x, W), names=["A", "B"], modes=("rev",))
    report = info.value.report
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == ["A"]  # B's rule is right
    assert "FAIL A" in str(info.value) and "worst J" in str(info.value)
    worst = failed[0]
    assert abs(worst.analytic - worst.numeric) == pytest.approx(worst.max_abs_error)


def test_forward_mode_is_checked_separately_from_reverse():
    wrong_jvp = sigmoid_with(lambda g, out, x: g * out * (1 - out), jvp=lambda t, out, x: t * out)
    report = mg.gradcheck(lambda a: wrong_jvp(a).sum(), (x,), raise_exception=False)
    assert [c.ok for c in report.checks if c.mode == "rev"] == [True]
    assert [c.ok for c in report.checks if c.mode == "fwd"] == [False]


def test_second_order_check_catches_a_rule_that_is_only_first_order_right():
    f = lambda a: (frozen(a) ** 2).sum()
    assert mg.gradcheck(f, (x,), order=1).ok
    with pytest.raises(mg.GradcheckError, match="uᵀJ"):
        mg.gradcheck(f, (x,), order=2, modes=("rev",))


def test_tolerances_are_arguments():
    f = lambda a: mg.tanh(transposed_matmul(a, W)).sum()
    assert not mg.gradcheck(f, (x,), raise_exception=False).ok
    assert mg.gradcheck(f, (x,), atol=1e3, rtol=0, raise_exception=False).ok


def test_gradcheck_runs_in_float64_even_for_float32_inputs():
    f = lambda a: (mg.exp(a) * 3.0).sum()
    report = mg.gradcheck(f, (x.astype(np.float32),))
    assert report.ok and max(c.max_abs_error for c in report.checks) < 1e-7


def test_dot_product_test_passes_for_a_consistent_pair_and_fails_otherwise():
    lhs, rhs = mg.dot_product_test(lambda a, b: mg.tanh(a @ b), (x, W))
    assert lhs == pytest.approx(rhs, rel=1e-12)
    inconsistent = sigmoid_with(lambda g, out, x: g * out * (1 - out), jvp=lambda t, out, x: 2 * t * out * (1 - out))
    with pytest.raises(AssertionError, match="dot-product test failed"):
        mg.dot_product_test(lambda a: inconsistent(a), (x,))
