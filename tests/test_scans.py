"""prod, cumsum, cumprod, sort, linear_scan and the composites built on them (var, std, average, ptp,
median, amax, amin), with argmax, argmin, argsort: values against NumPy, gradients against HIPS
autograd and finite differences, the conventions at zeros, ties and flat slices, and the errors."""

from __future__ import annotations

import math
import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matgrad as mg
from matgrad.primitives import scans
from table_specs import HYPOTHESIS, distinct

P = mg.primitives
rng = np.random.default_rng(7)


def numeric_gradient(f, x, h=1e-6):
    """Central differences of a scalar function (exact up to rounding for the polynomials here)."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def factors(*shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.5, shape)


# ----- values equal NumPy's -------------------------------------------------------------------------
def axes_of(ndim):
    ints = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    return st.one_of(st.none(), ints, hnp.valid_tuple_axes(ndim))


@HYPOTHESIS
@given(data=st.data())
def test_reductions_equal_numpy_over_shapes_and_axes(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), "shape")
    axis = data.draw(axes_of(len(shape)), "axis")
    keepdims = data.draw(st.booleans(), "keepdims")
    x = distinct(np.random.default_rng(data.draw(st.integers(0, 2**16), "seed")), *shape)
    np.testing.assert_allclose(mg.prod(x, axis=axis, keepdims=keepdims), np.prod(x, axis=axis, keepdims=keepdims))
    for ours, theirs in [(mg.var, np.var), (mg.std, np.std)]:
        np.testing.assert_allclose(ours(x, axis=axis, keepdims=keepdims), theirs(x, axis=axis, keepdims=keepdims),
                                   atol=1e-12)
    np.testing.assert_allclose(mg.median(x, axis=axis, keepdims=keepdims), np.median(x, axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(mg.ptp(x, axis=axis, keepdims=keepdims), np.ptp(x, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(mg.amax(x, axis, keepdims=keepdims), np.amax(x, axis, keepdims=keepdims))
    np.testing.assert_array_equal(mg.amin(x, axis, keepdims=keepdims), np.amin(x, axis, keepdims=keepdims))
    np.testing.assert_allclose(mg.average(x, axis=axis, keepdims=keepdims), np.average(x, axis=axis, keepdims=keepdims))
    # and the gradient of prod against finite differences, over the same shapes and axes
    mg.gradcheck(lambda x: mg.prod(x, axis=axis, keepdims=keepdims), [x], order=1, modes=("rev", "fwd"))


@HYPOTHESIS
@given(data=st.data())
def test_scans_and_sort_equal_numpy_over_shapes_and_axes(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), "shape")
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), "axis")
    x = distinct(np.random.default_rng(data.draw(st.integers(0, 2**16), "seed")), *shape) / 4
    for ours, theirs in [(mg.cumsum, np.cumsum), (mg.cumprod, np.cumprod), (mg.sort, np.sort)]:
        np.testing.assert_allclose(ours(x, axis=axis), theirs(x, axis=axis))
        if x.size and math.prod(shape) <= 12:
            mg.gradcheck(lambda x, op=ours: op(x, axis=axis), [x], order=1, modes=("rev", "fwd"))
    for ours, theirs in [(mg.argsort, np.argsort), (mg.argmax, np.argmax), (mg.argmin, np.argmin)]:
        if x.size or ours is mg.argsort:
            np.testing.assert_array_equal(ours(x, axis=axis), theirs(x, axis=axis))


def test_public_functions_on_numpy_arrays_return_numpy_arrays():
    x = factors(3, 4)
    for result in [mg.prod(x, 0), mg.cumsum(x), mg.cumprod(x, 1), mg.sort(x), mg.var(x, 1), mg.median(x, 0)]:
        assert isinstance(result, (np.ndarray, np.generic))
    assert isinstance(mg.argmax(mg.tensor(x, requires_grad=True)), (np.integer, np.ndarray))
    np.testing.assert_array_equal(mg.argsort(mg.tensor(x, requires_grad=True), axis=0), np.argsort(x, axis=0))
    np.testing.assert_array_equal(mg.argmin(x, axis=1, keepdims=True), np.argmin(x, axis=1, keepdims=True))


def test_integer_inputs_and_dtype_follow_numpy():
    ints = np.arange(1, 7).reshape(2, 3)
    for ours, theirs in [(mg.prod, np.prod), (mg.cumsum, np.cumsum), (mg.cumprod, np.cumprod)]:
        got, want = ours(ints, axis=1), theirs(ints, axis=1)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert mg.cumsum(ints, dtype=np.float32).dtype == np.float32
    assert mg.prod(np.array([1.5, 2.5]), dtype=np.int64) == np.prod(np.array([1.5, 2.5]).astype(np.int64))
    assert mg.prod(np.array([2.0, 3.0]), initial=5.0) == np.prod(np.array([2.0, 3.0]), initial=5.0)
    np.testing.assert_allclose(mg.var(ints, axis=0, ddof=1), np.var(ints, axis=0, ddof=1))
    np.testing.assert_allclose(mg.median(ints, axis=1), np.median(ints, axis=1))
    np.testing.assert_allclose(mg.average(ints, axis=0, weights=[1, 2]), np.average(ints, axis=0, weights=[1, 2]))


def test_float32_stays_float32_in_the_composites():
    x = factors(3, 4).astype(np.float32)
    for op in [mg.var, mg.std, mg.median, mg.ptp, lambda v: mg.average(v, weights=np.ones(4, np.float32), axis=1)]:
        out = op(x)
        assert np.asarray(out).dtype == np.float32
        assert mg.grad(lambda v, op=op: mg.sum(op(v)))(x).dtype == np.float32


# ----- gradients against HIPS autograd ----------------------------------------------------------
WEIGHTS = rng.standard_normal((3, 4))


@pytest.mark.parametrize(
    ("name", "ours", "theirs"),
    [
        ("prod", lambda x: mg.prod(x, axis=1), lambda x: anp.prod(x, axis=1)),
        ("prod-all", lambda x: mg.prod(x), lambda x: anp.prod(x)),
        ("cumsum", lambda x: mg.cumsum(x, axis=0), lambda x: anp.cumsum(x, axis=0)),
        ("cumsum-flat", lambda x: mg.cumsum(x), lambda x: anp.cumsum(x)),
        ("var", lambda x: mg.var(x, axis=1, ddof=1), lambda x: anp.var(x, axis=1, ddof=1)),
        ("var-keepdims", lambda x: mg.var(x, axis=0, keepdims=True), lambda x: anp.var(x, axis=0, keepdims=True)),
        ("std", lambda x: mg.std(x, axis=0), lambda x: anp.std(x, axis=0)),
        ("std-all-ddof", lambda x: mg.std(x, ddof=1), lambda x: anp.std(x, ddof=1)),
    ],
)
def test_gradients_equal_autograds(name, ours, theirs):
    x = factors(3, 4)

    def weighted(op, np_):
        return lambda v: np_.sum(np_.reshape(op(v), (-1,)) * np.arange(1.0, 1.0 + np.size(theirs(x))))

    expected = agrad(weighted(theirs, anp))(x)
    np.testing.assert_allclose(mg.grad(weighted(ours, mg))(x), expected, rtol=1e-10, atol=1e-12)


def test_cumprod_gradient_equals_autograds_products_of_prefixes():
    """autograd has no cumprod VJP: its oracle is the stack of prefix products (no zeros here)."""
    x = factors(2, 5)
    w = rng.standard_normal((2, 5))
    prefixes = lambda v: anp.stack([anp.prod(v[:, : i + 1], axis=1) for i in range(5)], axis=1)
    expected = agrad(lambda v: anp.sum(prefixes(v) * w))(x)
    np.testing.assert_allclose(mg.grad(lambda v: mg.sum(mg.cumprod(v, axis=1) * w))(x), expected, rtol=1e-12)
    flat = agrad(lambda v: anp.sum(anp.stack([anp.prod(v[: i + 1]) for i in range(4)]) * w[0, :4]))(x[0, :4])
    np.testing.assert_allclose(mg.grad(lambda v: mg.sum(mg.cumprod(v) * w[0, :4]))(x[0, :4]), flat, rtol=1e-12)
    reverse_oracle = agrad(lambda v: anp.sum(anp.stack([anp.prod(v[i:]) for i in range(4)]) * w[0, :4]))(x[0, :4])
    reverse = mg.grad(lambda v: mg.sum(scans._cumprod(v, axis=0, reverse=True) * w[0, :4]))
    np.testing.assert_allclose(reverse(x[0, :4]), reverse_oracle, rtol=1e-12)


def test_sort_gradient_equals_autograds_row_by_row():
    """autograd sorts 1-D arrays only: each row (or column) against it."""
    x = distinct(rng, 3, 4)
    w = rng.standard_normal((3, 4))
    ours = mg.grad(lambda v: mg.sum(mg.sort(v, axis=-1) * w))(x)
    for i in range(3):
        np.testing.assert_allclose(ours[i], agrad(lambda r, i=i: anp.sum(anp.sort(r) * w[i]))(x[i]))
    columns = mg.grad(lambda v: mg.sum(mg.sort(v, axis=0) * w))(x)
    for j in range(4):
        np.testing.assert_allclose(columns[:, j], agrad(lambda c, j=j: anp.sum(anp.sort(c) * w[:, j]))(x[:, j]))
    flat = mg.grad(lambda v: mg.sum(mg.sort(v, axis=None) * w.reshape(-1)))(x)
    np.testing.assert_allclose(flat.reshape(-1), agrad(lambda r: anp.sum(anp.sort(r) * w.reshape(-1)))(x.reshape(-1)))


def test_average_gradients_in_closed_form():
    x, w = factors(3, 4), rng.uniform(0.5, 2.0, 4)
    ga, gw = mg.grad(lambda a, w: mg.sum(mg.average(a, axis=1, weights=w)), argnums=(0, 1))(x, w)
    np.testing.assert_allclose(ga, np.broadcast_to(w / w.sum(), x.shape))
    avg = (x * w).sum(axis=1) / w.sum()
    np.testing.assert_allclose(gw, ((x - avg[:, None]) / w.sum()).sum(axis=0))
    avg_, total = mg.average(x, axis=1, weights=w, returned=True)
    want_avg, want_total = np.average(x, axis=1, weights=w, returned=True)
    np.testing.assert_allclose(avg_, want_avg)
    np.testing.assert_allclose(total, want_total)
    _, count = mg.average(x, axis=0, returned=True)
    np.testing.assert_array_equal(count, np.average(x, axis=0, returned=True)[1])
    w2 = rng.uniform(0.5, 2.0, (4, 3))
    cube = factors(3, 2, 4)
    np.testing.assert_allclose(mg.average(cube, axis=(2, 0), weights=w2), np.average(cube, axis=(2, 0), weights=w2))


# ----- exact at zeros ---------------------------------------------------------------------------
ZERO_CASES = [
    np.array([1.5, 0.0, -2.0, 0.5]),  # one zero
    np.array([0.0, 1.5, 0.0, 2.0]),  # two zeros
    np.array([0.0, 0.0, 0.0]),  # all zeros
    np.array([2.0, -0.5, 1.5, 0.0]),  # the last entry
]


@pytest.mark.parametrize("x", ZERO_CASES, ids=["one", "two", "all", "last"])
def test_prod_is_exact_at_zeros(x):
    gradient = mg.grad(mg.prod)(x)
    others = np.array([np.prod(np.delete(x, k)) for k in range(len(x))])  # the product of the others
    np.testing.assert_array_equal(gradient, others)
    assert np.all(np.isfinite(gradient))
    if np.count_nonzero(x == 0) == 1:
        assert np.count_nonzero(gradient) == 1 and gradient[x == 0] == np.prod(x[x != 0])
    else:
        np.testing.assert_array_equal(gradient, 0.0)
    np.testing.assert_allclose(gradient, numeric_gradient(mg.prod, x), atol=1e-8)
    # second order: ∂²∏/∂x_k∂x_m is the product of all but k and m
    hessian = mg.hessian(mg.prod)(x)
    expected = np.array([[np.prod(np.delete(x, [k, m])) if k != m else 0.0 for m in range(len(x))]
                         for k in range(len(x))])
    np.testing.assert_allclose(hessian, expected, atol=1e-12)
    np.testing.assert_allclose(mg.jacfwd(mg.jacrev(mg.prod))(x), expected, atol=1e-12)


@pytest.mark.parametrize("x", ZERO_CASES, ids=["one", "two", "all", "last"])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumprod_is_exact_at_zeros(x, reverse):
    w = np.arange(1.0, len(x) + 1)
    f = lambda v: mg.sum(scans._cumprod(v, axis=0, reverse=reverse) * w)
    gradient = mg.grad(f)(x)
    assert np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient, numeric_gradient(f, x), atol=1e-8)
    mg.gradcheck(lambda v: scans._cumprod(v, axis=0, reverse=reverse), [x], order=2, modes=("rev", "fwd"))
    hessian = mg.hessian(f)(x)
    assert np.all(np.isfinite(hessian))
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-12)
    for k in range(len(x)):  # row k of the Hessian: finite differences of the exact gradient's entry k
        np.testing.assert_allclose(hessian[k], numeric_gradient(lambda v, k=k: mg.grad(f)(v)[k], x), atol=1e-7)


def test_cumprod_gradient_at_a_zero_in_closed_form():
    x = np.array([2.0, 0.0, 3.0, 4.0])
    # Σ_i ∂out_i/∂x_k: x_0 enters 2, 2·0, …; x_1 enters x_0 (1 + x_2 + x_2 x_3); nothing after moves
    np.testing.assert_array_equal(mg.grad(lambda v: mg.sum(mg.cumprod(v)))(x), [1.0, 2.0 * (1 + 3 + 12), 0.0, 0.0])


def test_cumprod_fast_and_exact_paths_agree():
    """Without zeros the VJP divides (revcumsum(g ⊙ out) / x); the exact path is the reverse
    recurrence.  Both on the same data, and the exact one where the division would be wrong."""
    x, g = factors(3, 6), rng.standard_normal((3, 6))
    out = np.cumprod(x, axis=1)
    fast = scans._cumprod.vjp[0](g, out, x, axis=1)
    later = scans.linear_scan(g, scans._later(x, 1, False, 0), axis=1, reverse=True)
    exact = scans._earlier(out, 1, False, 1) * later
    np.testing.assert_allclose(fast, exact, rtol=1e-12)
    # a partial product that underflows to 0: the division would give 1 where the answer is 2
    tiny = np.array([1e-200, 1e-200, 1e200])
    assert np.cumprod(tiny)[1] == 0.0
    np.testing.assert_allclose(mg.grad(lambda v: mg.sum(mg.cumprod(v)))(tiny)[0], 2.0, rtol=1e-12)
    huge = np.array([1e200, 1e200, 1e-200])
    with np.errstate(over="ignore"):
        assert np.isinf(np.cumprod(huge)[1])
        gradient = mg.grad(lambda v: mg.sum(mg.cumprod(v)))(huge)
    # 1 + x₁ + x₁x₂ and x₀(1 + x₂) are finite (the division would give ∞); x₀x₁ itself overflows
    np.testing.assert_allclose(gradient, [1e200, 1e200, np.inf], rtol=1e-12)


def test_linear_scan_equals_its_recurrence():
    b, a = rng.standard_normal((4, 9)), rng.standard_normal((4, 9))
    expected = np.zeros_like(b)
    previous = np.zeros(4)
    for k in range(9):
        previous = b[:, k] + a[:, k] * previous
        expected[:, k] = previous
    np.testing.assert_allclose(scans.linear_scan(b, a, axis=1), expected, rtol=1e-12)
    np.testing.assert_allclose(scans.linear_scan(b[:, ::-1], a[:, ::-1], axis=-1, reverse=True)[:, ::-1], expected,
                               rtol=1e-12)
    assert scans.linear_scan(np.zeros((0, 3)), np.zeros((0, 3)), axis=0).shape == (0, 3)


# ----- conventions: flat slices, ties -------------------------------------------------------------
def test_std_of_a_flat_slice_has_derivative_zero():
    x = np.array([[0.1, 0.1, 0.1], [1.0, 2.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = mg.std(x, axis=1)
        gradient = mg.grad(lambda v: mg.sum(mg.std(v, axis=1)))(x)
        hessian = mg.hessian(lambda v: mg.std(v[0]))(x)
    np.testing.assert_array_equal(value, np.std(x, axis=1))  # NumPy's value, rounding included
    np.testing.assert_array_equal(gradient[0], 0.0)
    row = x[1]
    np.testing.assert_allclose(gradient[1], (row - row.mean()) / (3 * np.std(row)))
    np.testing.assert_array_equal(hessian, 0.0)
    np.testing.assert_array_equal(mg.jvp(lambda v: mg.std(v), (np.full(4, 2.5),), (np.ones(4),))[1], 0.0)
    assert mg.std(np.float64(3.0)) == 0.0 and mg.grad(mg.std)(np.float64(3.0)) == 0.0


def test_sort_ties_follow_the_stable_order():
    x = np.array([2.0, 1.0, 2.0, 1.0])
    w = np.array([10.0, 20.0, 30.0, 40.0])  # sorted: 1 (index 1), 1 (index 3), 2 (index 0), 2 (index 2)
    np.testing.assert_array_equal(mg.grad(lambda v: mg.sum(mg.sort(v) * w))(x), [30.0, 10.0, 40.0, 20.0])
    np.testing.assert_array_equal(mg.jvp(mg.sort, (x,), (np.arange(4.0),))[1], [1.0, 3.0, 0.0, 2.0])


def test_median_gradient_goes_to_the_middle():
    np.testing.assert_array_equal(mg.grad(mg.median)(np.array([5.0, 1.0, 3.0])), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(mg.grad(mg.median)(np.array([4.0, 1.0, 3.0, 9.0])), [0.5, 0.0, 0.5, 0.0])
    x = np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(mg.median(x, axis=1), np.median(x, axis=1))
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mg.median(np.zeros(0)))


def test_ptp_amax_amin_share_ties_as_max_does():
    x = np.array([3.0, 1.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(mg.grad(mg.ptp)(x), [0.5, -0.5, 0.5, -0.5, 0.0])
    np.testing.assert_array_equal(mg.grad(mg.amax)(x), [0.5, 0.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(mg.grad(mg.amin)(x), [0.0, 0.5, 0.0, 0.5, 0.0])


def test_var_is_two_pass_and_accepts_a_mean():
    x = 1e8 + np.array([1.0, 2.0, 3.0, 4.0])  # E[x²] − E[x]² would lose every digit here
    assert mg.var(x) == np.var(x) == 1.25
    m = np.mean(x, keepdims=True)
    assert mg.var(x, mean=m) == np.var(x, mean=m)
    np.testing.assert_allclose(mg.grad(lambda v: mg.var(v, ddof=1))(x), 2 * (x - x.mean()) / 3)
    assert mg.std(x, correction=1) == np.std(x, ddof=1)


# ----- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [mg.prod, mg.cumsum, mg.cumprod, mg.var, mg.std, mg.ptp, mg.amax, mg.amin,
                                mg.argmax, mg.argmin, mg.median])
def test_out_is_refused(op):
    with pytest.raises(TypeError, match="out= is not supported"):
        op(np.ones(3), out=np.empty(()))


@pytest.mark.parametrize("op", [mg.prod, mg.cumsum, mg.cumprod, mg.sort])
def test_a_bad_axis_names_shape_and_range(op):
    with pytest.raises(ValueError, match=r"axis 2 does not fit an array of shape \(2, 3\).*valid axes are -2 to 1"):
        op(np.ones((2, 3)), axis=2)
    t = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="axis -3 does not fit"):
        op(t, axis=-3)


def test_bad_arguments_of_the_composites():
    x = np.ones((2, 3))
    with pytest.raises(ZeroDivisionError, match="weights sum to zero"):
        mg.average(x, axis=1, weights=np.array([1.0, -1.0, 0.0]))
    with pytest.raises(TypeError, match="axis must be specified"):
        mg.average(x, weights=np.ones(3))
    with pytest.raises(ValueError, match=r"weights of shape \(2,\) must have a's shape \(2, 3\)"):
        mg.average(x, axis=1, weights=np.ones(2))
    with pytest.raises(ValueError, match="ddof and correction"):
        mg.var(x, ddof=1, correction=1)
    with pytest.raises(TypeError, match="where= is not supported"):
        mg.std(x, where=x > 0)
    with pytest.raises(np.exceptions.AxisError):
        mg.median(x, axis=2)
    with pytest.raises(ValueError, match="order"):
        mg.sort(x, order="a")
    with pytest.raises(ValueError):
        mg.sort(x, kind="bogus")
    with pytest.raises(TypeError, match="dtype=int64 has no derivative"):
        mg.cumsum(mg.tensor(x, requires_grad=True), dtype=np.int64)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        assert np.isinf(mg.var(np.array([1.0, 2.0]), ddof=2))
    with pytest.raises(ValueError, match="linear_scan"):
        scans.linear_scan(np.ones(3), np.ones(2))


def test_sort_accepts_numpys_kinds():
    x = distinct(rng, 6)
    for kind in ["quicksort", "mergesort", "heapsort", "stable"]:
        np.testing.assert_array_equal(mg.sort(x, kind=kind), np.sort(x))
    np.testing.assert_array_equal(mg.sort(x, stable=True), np.sort(x))
    np.testing.assert_array_equal(mg.argsort(x, kind="stable"), np.argsort(x, kind="stable"))




def test_statistics_of_a_list_of_tensors():
    """HIPS autograd's test_std_list_of_boxes / test_var_list_of_boxes: ``np.std([x, x + 2])`` is the std of
    the stacked values (before: the list's shape was read with NumPy, which refused the Tensors)."""
    mgnp = mg.numpy
    for reduce in (mgnp.std, mgnp.var):
        for container in (list, tuple):
            assert mg.grad(lambda x, reduce=reduce, c=container: reduce(c((x, x + 2.0))))(0.0) == 0.0

    def rows(x, like):
        return like([[x, 2.0 * x, x + 1.0], [x * x, -x, 3.0]])

    for name in ("prod", "cumsum", "cumprod", "sort", "ptp", "median", "amax", "average"):
        ours, theirs = getattr(mgnp, name), getattr(np, name)
        gradient = mg.grad(lambda x, f=ours: mgnp.sum(f(rows(x, list)) ** 2))(0.3)
        expected = numeric_gradient(lambda v, f=theirs: np.sum(f(rows(float(v), np.array)) ** 2), np.array(0.3))
        np.testing.assert_allclose(gradient, expected, rtol=1e-6, err_msg=name)
