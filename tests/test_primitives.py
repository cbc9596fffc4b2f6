"""The primitive table, row by row.

``SPECS`` (gathered from ``tests/table_specs/``) holds, for every primitive in ``mg.TABLE``,
one or more specs: a primitive call (inputs and parameters) and optionally a public function
built on it.  Every spec is checked by
``gradcheck`` (first and second order, reverse and forward mode, float64) and by the
dot-product test, at float32 (no silent upcast of values or gradients), for a complete notation
row, and for VJP rules that return exactly the shape of their input.  Hypothesis then varies the
shapes: broadcasting, size-1 and empty axes, every matmul shape, basic and advanced indexing,
reduction axes.  The last tests pin down documented semantics (ties, kinks, stability).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matgrad as mg
from matgrad.primitives.notation import evaluate_vjp
from matgrad.symbolic import Expr
from table_specs import (
    HI,
    HYPOTHESIS,
    LO,
    Spec,
    all_specs,
    clip_safe,
    distinct,
    mask,
    nonzero,
    normal,
    on_halves,
    on_integers,
    positive,
    probabilities,
)

P = mg.primitives
VARIADIC = {"concatenate", "stack", "einsum"}  # one notation entry stands for every input
SPECS = all_specs()
SPEC_IDS = [s.name for s in SPECS]
each_spec = pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)


def check_derivatives(f: Callable, args: list) -> None:
    """First and second order in both modes against finite differences, and ⟨u, Jv⟩ = ⟨Jᵀu, v⟩."""
    mg.gradcheck(f, args, order=2, modes=("rev", "fwd"))
    mg.dot_product_test(f, args)


# ----- the table-driven tests ---------------------------------------------------------------
def test_every_primitive_has_a_spec():
    assert {s.prim for s in SPECS} == set(mg.TABLE)
    assert len(set(SPEC_IDS)) == len(SPEC_IDS)


@each_spec
def test_spec_exercises_its_primitive(spec, monkeypatch):
    """The checked function runs the primitive the spec names, and records a graph on Tensors."""
    p = mg.TABLE[spec.prim]
    calls = []
    forward = p.forward
    monkeypatch.setattr(p, "forward", lambda *a, **k: calls.append(p.name) or forward(*a, **k))
    f, args = spec.function(spec.inputs())
    plain = f(*args)
    assert calls
    recorded = f(*[mg.tensor(a, requires_grad=True) for a in args])
    assert isinstance(recorded, mg.Tensor) and recorded.requires_grad
    np.testing.assert_array_equal(recorded.data, plain)


@each_spec
def test_derivatives(spec):
    check_derivatives(*spec.function(spec.inputs()))


@each_spec
def test_float32_stays_float32(spec):
    inputs = spec.inputs(np.float32)
    f, args = spec.function(inputs, np.float32)
    out = np.asarray(f(*args))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, f(*spec.function(spec.inputs())[1]), rtol=1e-4, atol=1e-4)
    argnums = tuple(range(len(args)))
    grads = mg.grad(lambda *xs: mg.sum(f(*xs)), argnums=argnums)(*args)
    for g, a in zip(grads, args):
        assert g.dtype == np.float32
        assert g.shape == a.shape
    tangents = [np.ones_like(a) for a in args]
    _, tangent_out = mg.jvp(f, args, tangents)
    assert np.asarray(tangent_out).dtype == np.float32

    # second order, both modes: the recorded rules keep float32 too
    def squared_gradient(*xs: Any) -> Any:
        gs = mg.grad(lambda *ys: mg.sum(f(*ys)), argnums=argnums)(*xs)
        return mg.sum(mg.concatenate([mg.reshape(g * g, shape=(-1,)) for g in gs]))

    for g, a in zip(mg.grad(squared_gradient, argnums=argnums)(*args), args):
        assert g.dtype == np.float32 and g.shape == a.shape
    _, second = mg.jvp(lambda *xs: mg.jvp(f, xs, tangents)[1], args, tangents)
    assert np.asarray(second).dtype == np.float32


@each_spec
def test_notation_row_is_complete(spec):
    p = mg.TABLE[spec.prim]
    arity = 1 if spec.prim in VARIADIC else len(spec.inputs())
    note = p.notation
    assert isinstance(note.expression, Expr) and note.text.strip()
    assert [len(column) for column in (note.vjp, note.jvp)] == [arity] * 2
    assert all(isinstance(e, Expr) for e in note.vjp + note.jvp)
    fields = (note.jacobian, note.index, note.differential, note.product)
    assert [len(column) for column in fields] == [arity] * 4
    for column in fields:
        assert all(isinstance(s, str) and s.strip() for s in column)
    if spec.prim not in VARIADIC:
        assert len(p.vjp) == arity


# Where the notation states a special case on purpose, it must disagree there (and only there):
NOTATION_SPECIAL_CASES = {
    "softmax_cross_entropy-unnormalized": "the notation writes softmax(z) − y, true for targets that sum to 1",
    "matmul-vector-batched": "the notation writes g Bᵀ and Aᵀ g for matrices; a vector against a batch is not shown",
    "matmul-batched-vector": "the notation writes g Bᵀ and Aᵀ g for matrices; a vector against a batch is not shown",
}


@each_spec
def test_the_notation_formula_computes_what_the_rule_computes(spec):
    """The notation column is a second statement of each derivative: on the numbers, it agrees."""
    if spec.name in NOTATION_SPECIAL_CASES:
        with pytest.raises((AssertionError, ValueError)):
            _compare_notation_with_rule(spec)
        return
    _compare_notation_with_rule(spec)


def _compare_notation_with_rule(spec: Spec) -> None:
    p = mg.TABLE[spec.prim]
    inputs = spec.inputs()
    params = spec.kwargs()
    out = np.asarray(p(*inputs, **params))
    g = np.random.default_rng(2).standard_normal(out.shape)
    for i, x in enumerate(inputs):
        if i in spec.const or not np.issubdtype(x.dtype, np.floating):
            continue
        expected = p.vjp[i](g, out, *inputs, **params)
        formula = evaluate_vjp(p, i, g, out, inputs, params)
        np.testing.assert_allclose(formula, expected, rtol=1e-10, atol=1e-12, err_msg=f"{spec.name}: input {i}")


@each_spec
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rules_on_arrays_keep_shape_and_dtype(spec, dtype):
    """``vjp[i]`` returns exactly the shape and dtype of input i; ``jvp[i]`` broadcasts to out."""
    p = mg.TABLE[spec.prim]
    inputs = spec.inputs(dtype)
    params = spec.kwargs(dtype)
    out = p(*inputs, **params)
    assert isinstance(out, (np.ndarray, np.generic))  # plain arrays in, plain values out: nothing recorded
    r = np.random.default_rng(1)
    g = r.standard_normal(out.shape).astype(out.dtype)
    for i, x in enumerate(inputs):
        if not np.issubdtype(x.dtype, np.floating):
            assert p.vjp[i] is None and p.jvp[i] is None  # a condition is a constant
            continue
        gi = p.vjp[i](g, out, *inputs, **params)
        assert np.shape(gi) == x.shape, f"vjp[{i}]"
        assert np.asarray(gi).dtype == x.dtype, f"vjp[{i}]"
        ti = p.jvp[i](r.standard_normal(x.shape).astype(x.dtype), out, *inputs, **params)
        assert np.broadcast_to(ti, out.shape).shape == out.shape, f"jvp[{i}]"
        assert np.asarray(ti).dtype == out.dtype, f"jvp[{i}]"


def _weighted_sum(f: Callable, out_like: Any) -> Callable:
    """``xs ↦ Σ_k ⟨u_k, f(xs)_k⟩`` for fixed random ``u_k``: a scalar that every output reaches."""
    leaves, _ = mg.tree_flatten(out_like)
    r = np.random.default_rng(2)
    weights = [r.standard_normal(np.shape(leaf)) for leaf in leaves]

    def scalar(*xs: Any) -> Any:
        outs, _ = mg.tree_flatten(f(*xs))
        return sum(mg.sum(out * u) for out, u in zip(outs, weights))

    return scalar


@each_spec
def test_compiled_plan_matches_eager(spec):
    """``mg.compile`` replays every row's forward and VJP exactly as eager mode runs them (bit for bit)."""
    f, args = spec.function(spec.inputs())
    scalar = _weighted_sum(f, f(*args))
    argnums = tuple(range(len(args)))
    eager = mg.value_and_grad(scalar, argnums=argnums)
    compiled = mg.compile(scalar, argnums=argnums)
    for seed in (0, 1):  # the tracing call, then the plan on fresh inputs of the same shapes
        inputs = [np.asarray(a) for a in spec.function(spec.inputs(seed=seed))[1]]
        value, grads = compiled(*inputs)
        want_value, want_grads = eager(*inputs)
        np.testing.assert_array_equal(value, want_value)  # same rules, same order: bit-identical
        for got, want in zip(grads, want_grads):
            np.testing.assert_array_equal(got, want)
    assert compiled.traces == 1  # the second call ran the plan, not a fresh trace


# ----- shapes with hypothesis -------------------------------------------------------------------
seeds = st.integers(0, 2**32 - 1)


def small(shapes: Any, limit: int = 16) -> Any:
    return shapes.filter(lambda s: math.prod(s) <= limit)


any_shape = small(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), 12)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3)
broadcast_triples = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=0, max_side=3)

BINARY_DOMAINS = {
    "add": (normal, normal),
    "sub": (normal, normal),
    "mul": (normal, normal),
    "div": (normal, nonzero),
    "power": (positive, normal),
    "maximum": (on_integers, on_halves),
    "minimum": (on_halves, on_integers),
}
UNARY = {
    "neg": ({}, normal),
    "exp": ({}, normal),
    "log": ({}, positive),
    "sqrt": ({}, positive),
    "absolute": ({}, nonzero),
    "clip": ({"lo": LO, "hi": HI}, clip_safe),
    "sigmoid": ({}, normal),
    "tanh": ({}, normal),
    "relu": ({}, nonzero),
    "leaky_relu": ({"slope": 0.2}, nonzero),
    "softplus": ({}, normal),
    "astype": ({"dtype": np.float64}, normal),
    "identity": ({}, normal),
}


@pytest.mark.parametrize("name", list(BINARY_DOMAINS))
@HYPOTHESIS
@given(shapes=broadcast_pairs.filter(lambda s: math.prod(s.result_shape) <= 16), seed=seeds)
def test_binary_broadcasting(name, shapes, seed):
    r = np.random.default_rng(seed)
    x_of, y_of = BINARY_DOMAINS[name]
    args = [x_of(r, *shapes.input_shapes[0]), y_of(r, *shapes.input_shapes[1])]
    f = lambda x, y: mg.TABLE[name](x, y)
    assert np.shape(f(*args)) == shapes.result_shape
    check_derivatives(f, args)


@HYPOTHESIS
@given(shapes=broadcast_triples.filter(lambda s: math.prod(s.result_shape) <= 16), seed=seeds)
def test_where_broadcasting(shapes, seed):
    r = np.random.default_rng(seed)
    c_shape, x_shape, y_shape = shapes.input_shapes
    cond = mask(r, *c_shape)
    f = lambda x, y: mg.where(cond, x, y)
    check_derivatives(f, [normal(r, *x_shape), normal(r, *y_shape)])


@pytest.mark.parametrize("name", list(UNARY))
@HYPOTHESIS
@given(shape=any_shape, seed=seeds)
def test_unary_shapes(name, shape, seed):
    params, domain = UNARY[name]
    x = domain(np.random.default_rng(seed), *shape)
    f = lambda x: mg.TABLE[name](x, **params)
    assert np.shape(f(x)) == shape
    check_derivatives(f, [x])


@st.composite
def matmul_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Any pair NumPy's matmul accepts: vectors on either side, broadcast batches, empty axes."""
    a_batch, b_batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=0, max_side=2))[0]
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    a = (k,) if draw(st.booleans()) else (*a_batch, n, k)
    b = (k,) if draw(st.booleans()) else (*b_batch, k, m)
    assume(math.prod(a) + math.prod(b) <= 24)
    return a, b


@HYPOTHESIS
@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_shapes(shapes, seed):
    r = np.random.default_rng(seed)
    a, b = normal(r, *shapes[0]), normal(r, *shapes[1])
    assert mg.matmul(a, b).shape == np.matmul(a, b).shape
    check_derivatives(mg.matmul, [a, b])


def axis_choices(ndim: int) -> Any:
    """axis=None, a (possibly negative) int, or a tuple of distinct axes."""
    ints = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    return st.one_of(st.none(), ints, hnp.valid_tuple_axes(ndim))  # tuples mix signs, may be ()


def reduced_axes(axis: Any, ndim: int) -> set[int]:
    if axis is None:
        return set(range(ndim))
    return {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp"])
@HYPOTHESIS
@given(data=st.data())
def test_reduction_axes(name, data):
    shape = list(data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), "shape"))
    ndim = len(shape)
    axis = data.draw(axis_choices(ndim), "axis")
    keepdims = data.draw(st.booleans(), "keepdims")
    # an empty axis: anywhere for sum (a sum over nothing is 0); elsewhere only where not reduced
    emptiable = range(ndim) if name == "sum" else sorted(set(range(ndim)) - reduced_axes(axis, ndim))
    empty = data.draw(st.sampled_from([None, *emptiable]), "empty axis")
    if empty is not None:
        shape[empty] = 0
    x = distinct(np.random.default_rng(data.draw(seeds, "seed")), *shape)
    f = lambda x: mg.TABLE[name](x, axis=axis, keepdims=keepdims)
    assert np.shape(f(x)) == np.sum(x, axis=axis, keepdims=keepdims).shape
    check_derivatives(f, [x])


@st.composite
def along_an_axis(draw: Any) -> tuple[tuple[int, ...], int]:
    """A shape, an int axis (maybe negative) of positive length, other axes maybe empty."""
    shape = list(draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    others = [i for i in range(len(shape)) if i != axis % len(shape)]
    empty = draw(st.sampled_from([None, *others]))
    if empty is not None:
        shape[empty] = 0
    return tuple(shape), axis


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@HYPOTHESIS
@given(case=along_an_axis(), seed=seeds)
def test_softmax_axes(name, case, seed):
    shape, axis = case
    x = 2 * normal(np.random.default_rng(seed), *shape)
    check_derivatives(lambda x: mg.TABLE[name](x, axis=axis), [x])


@HYPOTHESIS
@given(case=along_an_axis(), data=st.data())
def test_softmax_cross_entropy_axes(case, data):
    """Probability targets: differentiable in both the logits and the targets.

    With a negative axis, either input may lack leading axes (shared across the batch).
    """
    shape, axis = case
    droppable = len(shape) + axis if axis < 0 else 0
    z_shape = shape[data.draw(st.integers(0, droppable), "leading axes z lacks") :]
    y_shape = shape[data.draw(st.integers(0, droppable), "leading axes y lacks") :]
    r = np.random.default_rng(data.draw(seeds, "seed"))
    z, y = normal(r, *z_shape), probabilities(r, *y_shape, axis=axis)
    f = lambda z, y: P.softmax_cross_entropy(z, y, axis=axis)
    assert np.shape(f(z, y)) == np.sum(z * y, axis=axis).shape
    check_derivatives(f, [z, y])


@HYPOTHESIS
@given(case=along_an_axis(), reduction=st.sampled_from(["none", "sum", "mean"]), seed=seeds)
def test_cross_entropy_integer_labels(case, reduction, seed):
    shape, axis = case
    assume(reduction != "mean" or math.prod(shape) > 0)  # the mean of no losses is NaN
    r = np.random.default_rng(seed)
    z = normal(r, *shape)
    labels = r.integers(0, shape[axis], np.sum(z, axis=axis).shape)
    f = lambda z: mg.cross_entropy(z, labels, axis=axis, reduction=reduction)
    check_derivatives(f, [z])


@st.composite
def basic_indexing(draw: Any) -> tuple[tuple[int, ...], Any]:
    shape = draw(small(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)))
    return shape, draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))


@st.composite
def integer_array_indexing(draw: Any) -> tuple[tuple[int, ...], Any]:
    """Integer arrays (negative and repeated entries likely), maybe after a leading slice."""
    shape = draw(small(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)))
    lead = draw(st.integers(0, len(shape) - 1))
    arrays = draw(hnp.integer_array_indices(shape[lead:], result_shape=hnp.array_shapes(min_dims=1, max_dims=2)))
    return shape, (slice(None),) * lead + arrays


@st.composite
def mask_indexing(draw: Any) -> tuple[tuple[int, ...], Any]:
    """A boolean mask over the leading axes (which may be empty)."""
    shape = draw(small(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)))
    k = draw(st.integers(1, len(shape)))
    return shape, draw(hnp.arrays(np.bool_, shape[:k]))


@pytest.mark.parametrize("indexing", [basic_indexing, integer_array_indexing, mask_indexing])
@HYPOTHESIS
@given(data=st.data())
def test_indexing_and_its_adjoint(indexing, data):
    """getitem and scatter_add, its adjoint: ⟨x[index], v⟩ = ⟨x, scatter_add(v, index)⟩."""
    shape, index = data.draw(indexing())
    r = np.random.default_rng(data.draw(seeds, "seed"))
    x = normal(r, *shape)
    selected = x[index]
    assert np.array_equal(P.getitem(x, index=index), selected)
    check_derivatives(lambda x: P.getitem(x, index=index), [x])
    v = normal(r, *np.shape(selected))
    scattered = P.scatter_add(v, index=index, shape=shape)
    assert scattered.shape == shape
    np.testing.assert_allclose(np.sum(scattered * x), np.sum(v * selected), atol=1e-12)
    check_derivatives(lambda v: P.scatter_add(v, index=index, shape=shape), [v])


@pytest.mark.parametrize("name", ["concatenate", "stack"])
@HYPOTHESIS
@given(data=st.data())
def test_join_shapes(name, data):
    """1 to 3 inputs, any (maybe negative) axis, empty pieces and empty axes."""
    base = list(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), "shape"))
    count = data.draw(st.integers(1, 3), "inputs")
    ndim = len(base) + (name == "stack")
    axis = data.draw(st.integers(-ndim, ndim - 1), "axis")
    shapes = []
    for _ in range(count):
        if name == "concatenate":
            base[axis] = data.draw(st.integers(0, 3))
        shapes.append(tuple(base))
    assume(sum(math.prod(s) for s in shapes) <= 18)
    r = np.random.default_rng(data.draw(seeds, "seed"))
    xs = [normal(r, *s) for s in shapes]
    op = getattr(np, name)
    f = lambda *xs: mg.TABLE[name](*xs, axis=axis)
    assert np.array_equal(f(*xs), op(xs, axis=axis))
    check_derivatives(f, xs)


@HYPOTHESIS
@given(data=st.data())
def test_transpose_any_axes(data):
    shape = data.draw(any_shape, "shape")
    ndim = len(shape)
    perm = data.draw(st.permutations(range(ndim)), "permutation")
    negative = data.draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim), "negative")
    axes = data.draw(st.sampled_from([None, tuple(a - ndim if n else a for a, n in zip(perm, negative))]), "axes")
    x = normal(np.random.default_rng(data.draw(seeds, "seed")), *shape)
    f = lambda x: mg.transpose(x, axes=axes)
    assert np.array_equal(f(x), np.transpose(x, axes))
    check_derivatives(f, [x])


@HYPOTHESIS
@given(data=st.data())
def test_reshape_any_shape(data):
    shape = data.draw(any_shape, "shape")
    sides = list(data.draw(st.permutations(shape), "sides"))
    sides.insert(data.draw(st.integers(0, len(sides)), "where to put 1"), 1)
    if math.prod(shape) > 0 and data.draw(st.booleans(), "use -1"):
        sides[data.draw(st.integers(0, len(sides) - 1), "which is -1")] = -1
    x = normal(np.random.default_rng(data.draw(seeds, "seed")), *shape)
    f = lambda x: mg.reshape(x, shape=tuple(sides))
    assert f(x).shape == np.reshape(x, sides).shape
    check_derivatives(f, [x])


@HYPOTHESIS
@given(data=st.data())
def test_broadcast_to_any_shape(data):
    shape = data.draw(any_shape, "shape")
    other = data.draw(hnp.broadcastable_shapes(shape, min_dims=0, max_dims=3, min_side=0, max_side=3), "other")
    target = np.broadcast_shapes(shape, other)
    assume(math.prod(target) <= 16)
    x = normal(np.random.default_rng(data.draw(seeds, "seed")), *shape)
    check_derivatives(lambda x: mg.broadcast_to(x, shape=target), [x])


# ----- semantics the table documents ------------------------------------------------------------
def test_max_splits_the_gradient_evenly_on_ties():
    x = np.array([1.0, 3.0, 3.0])
    np.testing.assert_array_equal(mg.grad(mg.max)(x), [0.0, 0.5, 0.5])
    rows = np.array([[2.0, 2.0, 2.0], [5.0, 1.0, 5.0], [0.0, 4.0, 1.0]])
    expected = (rows == rows.max(axis=1, keepdims=True)) / np.sum(
        rows == rows.max(axis=1, keepdims=True), axis=1, keepdims=True
    )
    np.testing.assert_allclose(mg.grad(lambda x: mg.sum(mg.max(x, axis=1)))(rows), expected)
    np.testing.assert_allclose(
        mg.jacfwd(lambda x: mg.max(x, axis=1))(rows), mg.jacrev(lambda x: mg.max(x, axis=1))(rows)
    )
    np.testing.assert_array_equal(mg.grad(mg.min)(-x), [0.0, 0.5, 0.5])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_split_the_gradient_on_ties(name):
    op = mg.TABLE[name]
    x = np.array([-1.0, 0.0, 2.5])
    gx, gy = mg.grad(lambda a, b: mg.sum(op(a, b)), argnums=(0, 1))(x, x)
    np.testing.assert_array_equal(gx, 0.5)
    np.testing.assert_array_equal(gy, 0.5)
    np.testing.assert_array_equal(mg.grad(lambda a: mg.sum(op(a, a)))(x), 1.0)  # op(x, x) = x
    _, t = mg.jvp(op, (x, x), (np.ones(3), np.zeros(3)))
    np.testing.assert_array_equal(t, 0.5)


def test_relu_derivative_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(mg.relu(x)))(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(mg.jvp(mg.relu, (x,), (np.ones(3),))[1], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable_at_extremes(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    # underflow to 0 is exact here (σ(1000) = 1), and NumPy ignores it by default
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        s = mg.sigmoid(x)
        g = mg.grad(lambda x: mg.sum(mg.sigmoid(x)))(x)
    assert s.dtype == g.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(g))
    assert np.all((s >= 0) & (s <= 1))
    assert s[2] == 0.5 and s[-1] == 1.0 and s[0] < 1e-30
    assert np.all(g >= 0) and g[2] == 0.25 and g[0] < 1e-30 and g[-1] < 1e-30


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_of_a_large_array_equals_its_pieces(dtype):
    # a large array skips the clamp when no entry needs it (checked by a max reduction); the
    # values must not depend on that: the same as the small arrays' always-clamped path
    rng = np.random.default_rng(0)
    calm = rng.normal(0, 5, 4096).astype(dtype)
    wild = calm.copy()
    wild[[3, 700, 4000]] = [-1e4, np.nan, 1e4]
    for x in (calm, wild):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            whole = mg.sigmoid(x)
        pieces = np.concatenate([mg.sigmoid(piece) for piece in np.split(x, 64)])
        np.testing.assert_array_equal(whole, pieces)
    assert np.isnan(whole[700]) and whole[3] < 1e-30 and whole[4000] == 1.0


def test_bias_gradient_sums_the_rows_exactly_like_a_reduction():
    # unbroadcast sums a C-contiguous (rows, k) gradient as 1ᵀ G; other layouts use add.reduce
    rng = np.random.default_rng(1)
    for rows, k in [(1, 3), (10, 30), (1024, 10), (7, 1)]:
        g = rng.standard_normal((rows, k))
        b = mg.tensor(np.zeros(k), requires_grad=True)
        (mg.tensor(np.zeros((rows, k))) + b).backward(g)
        np.testing.assert_allclose(b.grad, g.sum(axis=0), rtol=1e-12, atol=1e-12)
        b.grad = None
        (mg.tensor(np.zeros((k, rows))).T + b).backward(np.asfortranarray(g))
        np.testing.assert_allclose(b.grad, g.sum(axis=0), rtol=1e-12, atol=1e-12)
    cube = rng.standard_normal((4, 5, 6)).astype(np.float32)
    b = mg.tensor(np.zeros((5, 6), np.float32), requires_grad=True)
    (b + mg.tensor(np.zeros((4, 5, 6), np.float32))).backward(cube)
    assert b.grad.dtype == np.float32 and b.grad.shape == (5, 6)
    np.testing.assert_allclose(b.grad, cube.sum(axis=0), rtol=1e-5)


def test_log_sum_exp_family_is_finite_at_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    labels = np.array([1, 2])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is exact here
        lse = mg.logsumexp(z, axis=-1)
        s = mg.softmax(z, axis=-1)
        ls = mg.log_softmax(z, axis=-1)
        ce = mg.cross_entropy(z, labels, reduction="none")
        grads = [
            mg.grad(lambda z: mg.sum(mg.logsumexp(z, axis=-1)))(z),
            mg.grad(lambda z: mg.sum(mg.softmax(z, axis=-1) * np.arange(3.0)))(z),
            mg.grad(lambda z: mg.sum(mg.log_softmax(z, axis=-1)))(z),
            mg.grad(lambda z: mg.cross_entropy(z, labels, reduction="sum"))(z),
        ]
    # closed forms: the largest logit dominates; the second row is uniform
    np.testing.assert_allclose(lse, [1e4, -1e4 + np.log(3)])
    np.testing.assert_allclose(s, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    np.testing.assert_allclose(ls, [[0, -2e4, -1e4], [-np.log(3)] * 3])
    np.testing.assert_allclose(ce, [2e4, np.log(3)])
    for g in grads:
        assert np.all(np.isfinite(g))
    np.testing.assert_allclose(grads[0], s, atol=1e-15)
    np.testing.assert_allclose(grads[3], s - np.eye(3)[labels], atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("magnitude", [1e8, -1e8, 1e15])
def test_log_softmax_keeps_its_log_n_at_large_magnitude(dtype, magnitude):
    """A tie of n logits at |z| ~ 1e8: logsumexp(z) rounds to max(z) in float32, so x − logsumexp(x)
    would give log_softmax 0 (cross-entropy 0, true log 3) and exp(x − logsumexp(x)) weights of 1."""
    z = np.full((2, 3), magnitude, dtype)
    y = np.array([[1.0, 0, 0], [0, 0.5, 0.5]], dtype)
    ce = mg.cross_entropy(z, np.array([0, 2]), reduction="none")
    np.testing.assert_allclose(mg.log_softmax(z, axis=-1), np.full((2, 3), -np.log(3)), rtol=1e-6)
    np.testing.assert_allclose(ce, [np.log(3)] * 2, rtol=1e-6)
    third = np.full((2, 3), 1 / 3)
    grads = {
        "logsumexp": (mg.grad(lambda z: mg.sum(mg.logsumexp(z, axis=-1)))(z), third),
        "log_softmax": (mg.grad(lambda z: mg.sum(mg.log_softmax(z, axis=-1) * y))(z), y - third),
        "cross_entropy": (mg.grad(lambda z: mg.sum(mg.cross_entropy(z, y, reduction="none")))(z), third - y),
    }
    for name, (got, want) in grads.items():
        assert got.dtype == dtype, name
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)
    tangent = np.array([[1.0, 2, 3], [0, 0, 3]], dtype)
    _, lse_jvp = mg.jvp(lambda z: mg.logsumexp(z, axis=-1), (z,), (tangent,))
    np.testing.assert_allclose(lse_jvp, [2.0, 1.0], rtol=1e-6)  # the tangent's mean over the tie
    hessian = mg.hessian(lambda v: mg.logsumexp(v))(z[0])
    np.testing.assert_allclose(hessian, np.eye(3) / 3 - 1 / 9, rtol=1e-5, atol=1e-7)  # diag(s) − s sᵀ


def test_power_conventions():
    # d/dy x**y = x**y log x, taken as 0 where x <= 0
    x, y = np.array([-2.0, 0.0, 3.0]), np.array([2.0, 2.0, 2.0])
    gx, gy = mg.grad(lambda x, y: mg.sum(mg.power(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gy, [0.0, 0.0, 9.0 * np.log(3.0)])
    np.testing.assert_allclose(gx, 2 * x)
    # d/dx x**2 at 0 is 0, with the exponent an array or a Python number
    zero = np.zeros(1)
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(mg.power(x, np.array(2.0))))(zero), [0.0])
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(x**2))(zero), [0.0])
    np.testing.assert_array_equal(mg.jvp(lambda x: x**2, (zero,), (np.ones(1),))[1], [0.0])
    # x⁰ = 1 is constant, even at 0: d/dx (1 + x + x²) at 0 is 1, and no NaN from 0 · 0⁻¹
    polynomial = lambda x: mg.sum(mg.power(x, np.arange(3.0)))
    np.testing.assert_array_equal(mg.grad(polynomial)(zero), [1.0])
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(x**0))(zero), [0.0])
    np.testing.assert_array_equal(mg.hessian(polynomial)(zero), [[2.0]])


def test_getitem_with_repeated_indices_accumulates():
    x = np.array([5.0, 6.0, 7.0])
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(x[[0, 0, 1]]))(x), [2.0, 1.0, 0.0])
    t = mg.tensor(x, requires_grad=True)
    t[np.array([2, 2, 2, 0])].sum().backward()
    np.testing.assert_array_equal(t.grad, [1.0, 0.0, 3.0])


def test_softmax_cross_entropy_gradients_in_closed_form():
    r = np.random.default_rng(3)
    z, y = normal(r, 3, 4), probabilities(r, 3, 4)
    gz, gy = mg.grad(lambda z, y: mg.sum(P.softmax_cross_entropy(z, y)), argnums=(0, 1))(z, y)
    s = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(gz, s - y)  # Σ y = 1 in each row
    np.testing.assert_allclose(gy, -np.log(s))


def test_cross_entropy_names_the_label_shape():
    """A mismatch says which label shape would do: the logits' shape without ``axis``."""
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=re.escape("integer labels of shape (3,)")):
        mg.cross_entropy(z, np.zeros(4, dtype=int), axis=0)
    with pytest.raises(ValueError, match=re.escape("integer labels of shape (4,)")):
        mg.cross_entropy(z, np.zeros(3, dtype=int))


@pytest.mark.parametrize(("source", "target"), [(np.float32, np.float64), (np.float64, np.float32)])
def test_astype_gradient_has_the_input_dtype(source, target):
    x = np.array([1.5, -2.0], dtype=source)
    out = P.astype(x, dtype=np.dtype(target))
    assert out.dtype == target
    g = mg.grad(lambda x: mg.sum(P.astype(x, dtype=np.dtype(target)) * 3.0))(x)
    assert g.dtype == source
    np.testing.assert_array_equal(g, [3.0, 3.0])


def test_one_hot_allocates_rows_not_a_class_by_class_identity():
    """np.eye(C)[labels] would ask for C² entries (4 TB at C = 10⁶): the rows alone are 12 MB."""
    labels = np.array([[0, 999_999], [5, 5]])
    rows = mg.one_hot(labels, 1_000_000, dtype=np.float32)
    assert rows.shape == (2, 2, 1_000_000) and rows.dtype == np.float32
    assert rows.sum() == 4 and rows[0, 1, 999_999] == 1 and rows[1, 0, 5] == rows[1, 1, 5] == 1
