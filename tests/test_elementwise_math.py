"""NumPy's elementwise functions: values equal NumPy's, gradients equal HIPS autograd's (first and
second order), the conventions at kinks, jumps and domain ends, stability, NumPy's signatures,
the comparisons and predicates (NumPy booleans, no derivative), and errors on bad input."""

from __future__ import annotations

import inspect
import math
import re
import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matgrad as mg
from table_specs import HYPOTHESIS, nonzero, normal, on_halves, on_integers, positive
from table_specs.elementwise_math import (
    above_minus_one,
    above_one,
    inside_unit,
    mod_pair,
    quarter_turn,
)


def _autograd_cbrt(x):
    return anp.sign(x) * anp.abs(x) ** (1 / 3)  # autograd has no rule for cbrt


def _autograd_fmod(x, y):
    return x - anp.trunc(x / y) * y  # autograd has no rule for fmod; trunc has derivative 0 there


# autograd warns when a function of the zero-derivative family gives a gradient independent of x
pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input:UserWarning")

# name: (the domain of inputs, autograd's function)
UNARY = {
    "sin": (normal, anp.sin),
    "cos": (normal, anp.cos),
    "tan": (quarter_turn, anp.tan),
    "arcsin": (inside_unit, anp.arcsin),
    "arccos": (inside_unit, anp.arccos),
    "arctan": (normal, anp.arctan),
    "sinh": (normal, anp.sinh),
    "cosh": (normal, anp.cosh),
    "arcsinh": (normal, anp.arcsinh),
    "arccosh": (above_one, anp.arccosh),
    "arctanh": (inside_unit, anp.arctanh),
    "log1p": (above_minus_one, anp.log1p),
    "expm1": (normal, anp.expm1),
    "log2": (positive, anp.log2),
    "log10": (positive, anp.log10),
    "exp2": (normal, anp.exp2),
    "square": (normal, anp.square),
    "reciprocal": (nonzero, anp.reciprocal),
    "cbrt": (nonzero, _autograd_cbrt),
    "sign": (nonzero, anp.sign),
    "floor": (on_halves, anp.floor),
    "ceil": (on_halves, anp.ceil),
    "round": (on_integers, anp.round),
    "around": (on_integers, anp.around),
    "rint": (on_integers, anp.rint),
    "trunc": (on_halves, anp.trunc),
    "fix": (on_halves, anp.fix),
}
BINARY = {
    "logaddexp": anp.logaddexp,
    "logaddexp2": anp.logaddexp2,
    "arctan2": anp.arctan2,
    "hypot": anp.hypot,
    "mod": anp.mod,
    "remainder": anp.remainder,
    "fmod": _autograd_fmod,
}
ZERO_FAMILY = ["sign", "floor", "ceil", "round", "around", "rint", "trunc", "fix"]
PREDICATES = ["isfinite", "isnan", "isinf", "signbit", "logical_not"]
COMPARISONS = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
LOGICAL = ["logical_and", "logical_or", "logical_xor"]
ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
           "atanh": "arctanh", "atan2": "arctan2"}


def binary_inputs(name, r, x_shape=(3, 1), y_shape=(1, 4)):
    """Inputs in the domain of a binary function: x/y away from the jumps for mod and fmod."""
    if name in ("mod", "remainder", "fmod"):
        return mod_pair(r, np.broadcast_shapes(x_shape, y_shape), y_shape)
    return normal(r, *x_shape), (nonzero if name == "arctan2" else normal)(r, *y_shape)


# ----- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(2, 3), (), (0, 2)])
def test_unary_values_equal_numpy(name, shape):
    x = UNARY[name][0](np.random.default_rng(0), *shape)
    expected = getattr(np, name)(x)
    got = getattr(mg, name)(x)
    assert type(got) is type(expected)  # arrays in, arrays (or NumPy scalars) out: nothing recorded
    np.testing.assert_array_equal(got, expected)
    recorded = getattr(mg, name)(mg.tensor(x, requires_grad=True))
    assert isinstance(recorded, mg.Tensor) and recorded.requires_grad
    np.testing.assert_array_equal(recorded.detach().numpy(), expected)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_values_equal_numpy(name):
    x, y = binary_inputs(name, np.random.default_rng(1))
    expected = getattr(np, name)(x, y)
    np.testing.assert_array_equal(getattr(mg, name)(x, y), expected)
    recorded = getattr(mg, name)(mg.tensor(x, requires_grad=True), y)
    assert recorded.requires_grad
    np.testing.assert_array_equal(recorded.detach().numpy(), expected)


def test_mod_and_fmod_keep_numpys_sign_conventions():
    x = np.array([5.5, -5.5, 5.5, -5.5])
    y = np.array([2.0, 2.0, -2.0, -2.0])
    np.testing.assert_array_equal(mg.mod(x, y), [1.5, 0.5, -0.5, -1.5])  # the sign of y
    np.testing.assert_array_equal(mg.fmod(x, y), [1.5, -1.5, 1.5, -1.5])  # the sign of x
    assert mg.mod is not mg.fmod and mg.TABLE["mod"] is not mg.TABLE["fmod"]


def test_round_takes_decimals_and_rounds_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, 1.25, 1.35, 123.456])
    for decimals in (0, 1, 2, -1):
        np.testing.assert_array_equal(mg.round(x, decimals), np.round(x, decimals))
        np.testing.assert_array_equal(mg.around(x, decimals=decimals), np.around(x, decimals=decimals))
    np.testing.assert_array_equal(mg.round(x), [0.0, 2.0, 2.0, -0.0, 1.0, 1.0, 123.0])


@pytest.mark.parametrize(("alias", "name"), list(ALIASES.items()))
def test_numpy2_aliases(alias, name):
    assert getattr(mg, alias) is getattr(mg, name)


# ----- gradients against HIPS autograd -----------------------------------------------------------
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradients_equal_autograd(name):
    domain, theirs = UNARY[name]
    r = np.random.default_rng(2)
    x, w, v = domain(r, 2, 3), normal(r, 2, 3), normal(r, 2, 3)
    ours = getattr(mg, name)
    expected = agrad(lambda x: anp.sum(theirs(x) * w))(x)
    # second order: the gradient of ⟨∇(w · f), v⟩, i.e. w ⊙ f''(x) ⊙ v
    expected2 = agrad(lambda x: anp.sum(agrad(lambda y: anp.sum(theirs(y) * w))(x) * v))(x)
    got = mg.grad(lambda x: mg.sum(ours(x) * w))(x)
    got2 = mg.grad(lambda x: mg.sum(mg.grad(lambda y: mg.sum(ours(y) * w))(x) * v))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got2, expected2, rtol=1e-10, atol=1e-12)
    # forward mode, and the Jacobian's rows through one batched sweep (g with a leading axis)
    _, tangent = mg.jvp(ours, (x,), (v,))
    np.testing.assert_allclose(tangent, agrad(lambda x: anp.sum(theirs(x) * v))(x), rtol=1e-12, atol=1e-14)
    flat = x.ravel()
    np.testing.assert_allclose(
        mg.jacrev(ours)(flat), np.diag(agrad(lambda x: anp.sum(theirs(x)))(flat)), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_gradients_equal_autograd(name):
    r = np.random.default_rng(3)
    x, y = binary_inputs(name, r)
    w = normal(r, 3, 4)
    ours, theirs = getattr(mg, name), BINARY[name]
    for argnum in (0, 1):
        expected = agrad(lambda x, y: anp.sum(theirs(x, y) * w), argnum)(x, y)
        got = mg.grad(lambda x, y: mg.sum(ours(x, y) * w), argnums=argnum)(x, y)
        assert got.shape == (x, y)[argnum].shape  # the broadcast axes summed back
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
        hessian = agrad(lambda x, y, i=argnum: anp.sum(agrad(lambda a, b: anp.sum(theirs(a, b) * w), i)(x, y)), argnum)
        second = mg.grad(
            lambda x, y, i=argnum: mg.sum(mg.grad(lambda a, b: mg.sum(ours(a, b) * w), argnums=i)(x, y)),
            argnums=argnum,
        )
        np.testing.assert_allclose(second(x, y), hessian(x, y), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(BINARY))
@HYPOTHESIS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=0, max_side=3), seed=st.integers())
def test_binary_broadcasting(name, shapes, seed):
    x_shape, y_shape = shapes.input_shapes
    x, y = binary_inputs(name, np.random.default_rng(seed % 2**32), x_shape, y_shape)
    f = getattr(mg, name)
    assert np.shape(f(x, y)) == shapes.result_shape
    mg.gradcheck(f, [x, y], order=2)


@HYPOTHESIS
@given(
    name=st.sampled_from(sorted(UNARY)),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_unary_shapes(name, shape, seed):
    x = UNARY[name][0](np.random.default_rng(seed), *shape)
    f = getattr(mg, name)
    assert np.shape(f(x)) == shape
    mg.gradcheck(f, [x], order=2)


# ----- conventions --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ZERO_FAMILY)
def test_zero_family_has_exact_zero_derivatives_even_at_the_jumps(name):
    jumps = np.array([-1.0, 0.0, 0.5, 2.0, -2.5])  # jumps of floor/ceil/trunc/fix/sign, and of round/rint
    f = getattr(mg, name)
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(f(x)))(jumps), np.zeros(5))
    np.testing.assert_array_equal(mg.jvp(f, (jumps,), (np.ones(5),))[1], np.zeros(5))
    # x ⊙ f(x): the product rule sees f(x) and a zero derivative of f
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(x * f(x)))(jumps), getattr(np, name)(jumps))
    hessian = mg.hessian(lambda x: mg.sum(f(x) * x * x))(jumps)
    np.testing.assert_array_equal(hessian, np.diag(2 * getattr(np, name)(jumps)))


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "rint", "trunc", "fix"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_family_rules_return_zeros_where_g_is_inf(name, dtype):
    p = mg.TABLE[name]
    x = np.array([-1.5, 0.0, 2.0], dtype=dtype)
    out = p(x)
    g = np.array([np.inf, -np.inf, np.nan], dtype=dtype)
    vjp, jvp = p.vjp[0](g, out, x), p.jvp[0](g, out, x)
    for zero in (vjp, jvp):
        assert zero.dtype == dtype
        np.testing.assert_array_equal(zero, np.zeros(3))
    batched = p.vjp[0](np.stack([g, g]), out, x)  # cotangents stacked on a leading axis
    assert batched.shape == (2, 3) and not batched.any()


def test_mod_and_fmod_derivatives_are_the_quotients_numpy_used():
    x = np.array([5.5, -5.5, 5.5, -5.5])
    y = np.array([2.0, 2.0, -2.0, -2.0])
    for f, quotient in ((mg.mod, [2.0, -3.0, -3.0, 2.0]), (mg.fmod, [2.0, -2.0, -2.0, 2.0])):
        gx, gy = mg.grad(lambda x, y, f=f: mg.sum(f(x, y)), argnums=(0, 1))(x, y)
        np.testing.assert_array_equal(gx, np.ones(4))
        np.testing.assert_array_equal(gy, -np.array(quotient))
    # at a jump (x a multiple of y), the quotient NumPy's remainder used: ⌊6/2⌋ = 3, ⌊−6/2⌋ = −3
    gy = mg.grad(lambda y: mg.sum(mg.mod(np.array([6.0, -6.0]), y)))(np.array([2.0, 2.0]))
    np.testing.assert_array_equal(gy, [-3.0, 3.0])
    # a Python number as the divisor
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(mg.mod(x, 2.0)))(x), np.ones(4))


def test_hypot_gradient_at_the_origin_is_zero_and_elsewhere_the_unit_vector():
    gx, gy = mg.grad(lambda x, y: mg.sum(mg.hypot(x, y)), argnums=(0, 1))(np.array([0.0, 3.0]), np.array([0.0, 4.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.6])
    np.testing.assert_array_equal(gy, [0.0, 0.8])


def test_arctan2_is_singular_at_the_origin_and_cbrt_infinite_at_zero():
    with np.errstate(invalid="ignore", divide="ignore"):
        ga, gb = mg.grad(lambda a, b: mg.sum(mg.arctan2(a, b)), argnums=(0, 1))(np.zeros(1), np.zeros(1))
        assert np.isnan(ga).all() and np.isnan(gb).all()
        assert mg.grad(lambda x: mg.sum(mg.cbrt(x)))(np.zeros(1))[0] == np.inf


def test_inverse_functions_are_accurate_near_the_ends_of_their_domain():
    """(1 − x)(1 + x) is exact near x = 1, where 1 − x·x loses half the digits (relative 5e-10 here)."""
    e = 2.0**-30
    near_one, above = np.array([1 - e]), np.array([1 + e])
    product = 2 * e - e * e  # (1 − x)(1 + x) = e (2 − e), exact in float64
    grad = lambda f, x: mg.grad(lambda x: mg.sum(f(x)))(x)[0]
    assert grad(mg.arctanh, near_one) == pytest.approx(1 / product, rel=1e-15)
    assert grad(mg.arcsin, near_one) == pytest.approx(1 / math.sqrt(product), rel=1e-15)
    assert grad(mg.arccos, near_one) == pytest.approx(-1 / math.sqrt(product), rel=1e-15)
    assert grad(mg.arccosh, above) == pytest.approx(1 / math.sqrt(2 * e + e * e), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_at_extremes(dtype):
    huge = np.finfo(dtype).max / 8
    tiny = np.finfo(dtype).smallest_normal * 8
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        big = np.array([1000.0, -1000.0], dtype=dtype)
        for f in (mg.logaddexp, mg.logaddexp2):
            value = f(big, big[::-1])
            gx, gy = mg.grad(lambda x, y, f=f: mg.sum(f(x, y)), argnums=(0, 1))(big, big[::-1])
            np.testing.assert_array_equal(value, [1000.0, 1000.0])
            np.testing.assert_allclose(gx, [1.0, 0.0], rtol=0, atol=1e-30)  # σ(−2000): its tail, clamped
            np.testing.assert_allclose(gy, [0.0, 1.0], rtol=0, atol=1e-30)
            assert gx.dtype == dtype
        for scale in (huge, tiny):  # hypot and arctan2 never square their inputs
            a, b = np.array([3 * scale / 5], dtype=dtype), np.array([4 * scale / 5], dtype=dtype)
            gx, gy = mg.grad(lambda x, y: mg.sum(mg.hypot(x, y)), argnums=(0, 1))(a, b)
            np.testing.assert_allclose([gx[0], gy[0]], [0.6, 0.8], rtol=1e-5)
            ga, gb = mg.grad(lambda x, y: mg.sum(mg.arctan2(x, y)), argnums=(0, 1))(a, b)
            np.testing.assert_allclose([ga[0] * scale, gb[0] * scale], [0.8, -0.6], rtol=1e-5)
        # arcsinh' = 1/√(x² + 1) with x² beyond the range: 1/|x|, not 0
        assert mg.grad(lambda x: mg.sum(mg.arcsinh(x)))(np.array([huge], dtype=dtype))[0] == pytest.approx(
            1 / float(huge), rel=1e-5
        )
    # expm1' = eˣ, exact where expm1(x) + 1 would round to 0
    assert mg.grad(lambda x: mg.sum(mg.expm1(x)))(np.array([-40.0]))[0] == pytest.approx(math.exp(-40), rel=1e-15)


# ----- signatures and options ---------------------------------------------------------------------
DIFFERENTIABLE = list(UNARY) + list(BINARY)
EVERY = DIFFERENTIABLE + PREDICATES + COMPARISONS + LOGICAL


def _parameters(f):
    return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]


@pytest.mark.parametrize("name", EVERY + list(ALIASES))
def test_signatures_are_numpys(name):
    assert _parameters(getattr(mg, name)) == _parameters(getattr(np, name))


def _call(name, *, tensor=False, **options):
    r = np.random.default_rng(4)
    nin = 2 if name in BINARY or name in COMPARISONS or name in LOGICAL else 1
    xs = [positive(r, 3) for _ in range(nin)]
    if tensor:
        xs = [mg.tensor(x, requires_grad=True) for x in xs]
    return getattr(mg, name)(*xs, **options)


@pytest.mark.parametrize("name", EVERY)
def test_out_is_refused(name):
    with pytest.raises(TypeError, match=re.escape("out= is not supported; matgrad returns a new array")):
        _call(name, out=np.empty(3))


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if n not in ("round", "around", "fix")])
def test_where_and_integer_dtype_are_refused(name):
    with pytest.raises(TypeError, match="where= is not supported"):
        _call(name, where=np.array([True, False, True]))
    with pytest.raises(TypeError, match="casting='same_kind'"):
        _call(name, casting="unsafe")
    with pytest.raises(TypeError, match=r"dtype=int64 is not supported"):
        _call(name, dtype=np.int64)


def test_dtype_is_the_dtype_of_the_computation():
    x = np.array([0.1, 0.7, 1.3], dtype=np.float32)
    got = mg.sin(x, dtype=np.float64)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.sin(x, dtype=np.float64))
    assert mg.hypot(x, x.astype(np.float64), dtype="float32").dtype == np.float32
    g = mg.grad(lambda x: mg.sum(mg.sin(x, dtype=np.float64)))(x)
    assert g.dtype == np.float32  # the gradient has the input's dtype
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)
    assert mg.sin(x, order="C").dtype == np.float32  # order: layout only, accepted


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_float32_stays_float32(name):
    domain = UNARY[name][0] if name in UNARY else None
    r = np.random.default_rng(5)
    xs = [domain(r, 3)] if domain else list(binary_inputs(name, r, (3,), (3,)))
    xs = [x.astype(np.float32) for x in xs]
    f = getattr(mg, name)
    assert f(*xs).dtype == np.float32
    for g in mg.grad(lambda *xs: mg.sum(f(*xs)), argnums=tuple(range(len(xs))))(*xs):
        assert g.dtype == np.float32


# ----- no derivative: NumPy booleans ---------------------------------------------------------------
SPECIAL = np.array([-np.inf, -1.5, -0.0, 0.0, 2.0, np.inf, np.nan])


@pytest.mark.parametrize("name", PREDICATES)
def test_predicates_give_numpy_booleans(name):
    expected = getattr(np, name)(SPECIAL)
    for x in (SPECIAL, mg.tensor(SPECIAL, requires_grad=True)):
        got = getattr(mg, name)(x)
        assert type(got) is np.ndarray and got.dtype == np.bool_
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", COMPARISONS + LOGICAL)
def test_comparisons_give_numpy_booleans_and_broadcast(name):
    x, y = SPECIAL.reshape(-1, 1), np.array([0.0, 2.0, np.nan])
    expected = getattr(np, name)(x, y)
    assert expected.shape == (7, 3)
    for a, b in ((x, y), (mg.tensor(x, requires_grad=True), y), (x, mg.tensor(y)), (mg.tensor(x), mg.tensor(y))):
        got = getattr(mg, name)(a, b)
        assert type(got) is np.ndarray and got.dtype == np.bool_
        np.testing.assert_array_equal(got, expected)


def test_predicates_pass_numpys_options_through():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mg.less(x, 2.5, dtype=np.bool_), [True, True, False])
    np.testing.assert_array_equal(mg.equal(x, x.astype(np.float32), casting="same_kind"), [True] * 3)
    with pytest.raises(Exception, match="casting"):
        mg.equal(x, np.array([1, 2, 3]), casting="no")  # NumPy's own refusal


def test_a_comparison_inside_a_traced_function_is_a_constant():
    """relu written with a comparison: the mask carries no derivative; the product does."""
    x = np.array([-1.0, 0.5, 2.0])
    g = mg.grad(lambda x: mg.sum(x * mg.greater(x, 0.0)))(x)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


# ----- bad input and explain ---------------------------------------------------------------------
@pytest.mark.parametrize("name", list(BINARY))
def test_shapes_that_do_not_broadcast_name_the_axis(name):
    for x in (np.ones((2, 3)), mg.tensor(np.ones((2, 3)), requires_grad=True)):
        with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4,\) do not broadcast: axis -1") as info:
            getattr(mg, name)(x, np.ones(4))
        assert mg.TABLE["mod" if name == "remainder" else name].name in str(info.value)


def test_dtype_not_a_dtype_is_a_clear_error():
    with pytest.raises(TypeError):
        mg.sin(np.ones(2), dtype="no such dtype")


def test_explain_reads_and_checks_the_new_rows():
    x = mg.tensor(np.array([0.3, -0.4, 0.2]), requires_grad=True, name="x")
    y = mg.tensor(np.array([0.5, 0.9, -1.2]), requires_grad=True, name="y")
    loss = mg.sum(mg.sin(x) * mg.arctan2(x, y) + mg.logaddexp(x, y) + mg.floor(y) + mg.hypot(x, y))
    e = mg.explain(loss)
    assert e.ok
