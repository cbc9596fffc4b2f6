"""Shape and construction: NumPy's values, gradients against independent oracles, conventions, errors.

Every function here is linear in its array inputs (pad is affine), so two oracles are exact:
HIPS autograd where it has the function, and everywhere the transpose of the linear map built
column by column from NumPy itself, ``(Jᵀw)_k = ⟨w, f(e_k)⟩`` (for pad, f without its constants).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matgrad as mg
from table_specs import HYPOTHESIS

PUBLIC = mg.primitives.rearrange.__all__
MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def arr(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def data(x: Any) -> np.ndarray:
    return x.data if isinstance(x, mg.Tensor) else np.asarray(x)


def transpose_oracle(np_fn: Callable, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Jᵀw of the linear map ``np_fn`` at any point: ⟨w, np_fn(e_k)⟩ for every basis array e_k."""
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = 1.0
        columns.append(np.sum(w * np_fn(e)))
    return np.array(columns).reshape(x.shape)


def check_linear(mg_fn: Callable, np_fn: Callable, x: np.ndarray, seed: int = 1) -> None:
    """Values equal NumPy's (on arrays and on Tensors); the gradient is the transpose of the map;
    the JVP is the map applied to the tangent."""
    expected = np_fn(x)
    np.testing.assert_array_equal(mg_fn(x), expected)
    np.testing.assert_array_equal(data(mg_fn(mg.tensor(x))), expected)
    w = np.random.default_rng(seed).standard_normal(np.shape(expected))
    gradient = mg.grad(lambda x: mg.sum(mg_fn(x) * w))(x)
    np.testing.assert_allclose(gradient, transpose_oracle(np_fn, x, w), rtol=1e-12, atol=1e-12)
    t = np.random.default_rng(seed + 1).standard_normal(x.shape)
    np.testing.assert_allclose(mg.jvp(mg_fn, (x,), (t,))[1], np_fn(t), rtol=1e-12, atol=1e-12)


# ----- NumPy's signatures and values ------------------------------------------------------------------
@pytest.mark.parametrize("name", PUBLIC)
def test_signature_is_numpys(name):
    ours, theirs = inspect.signature(getattr(mg, name)), inspect.signature(getattr(np, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ]
    assert getattr(mg.primitives, name) is getattr(mg, name)


X = arr(3, 4)
CALLS = [
    ("ravel", (X,), {}),
    ("ravel", (X,), {"order": "F"}),
    ("ravel", (np.asfortranarray(X),), {"order": "A"}),
    ("ravel", (X.T,), {"order": "K"}),
    ("ravel", (X.T[::-1],), {"order": "K"}),
    ("ravel", (arr(2, 3, 4).transpose(2, 0, 1)[:, ::-1],), {"order": "K"}),
    ("repeat", (X, 3), {}),
    ("repeat", (X, [2, 0, 1]), {"axis": 0}),
    ("repeat", (X, np.array([1])), {"axis": -1}),
    ("repeat", (arr(), 2), {}),
    ("tile", (X, 2), {}),
    ("tile", (X, (2, 1, 3)), {}),
    ("tile", (arr(2, 1, 3), (0, 2)), {}),
    ("roll", (X, 2), {}),
    ("roll", (X, -7), {"axis": 1}),
    ("roll", (X, (1, 2, -1)), {"axis": (0, 1, 0)}),
    ("roll", (X, 1), {"axis": (0, -1)}),
    ("roll", (arr(0, 3), 1), {"axis": 0}),
    ("flip", (X,), {}),
    ("flip", (arr(2, 3, 4),), {"axis": (0, -1)}),
    ("flipud", (arr(3),), {}),
    ("fliplr", (X,), {}),
    ("rot90", (X,), {}),
    ("rot90", (arr(2, 3, 4), 3, (2, 0)), {}),
    ("rot90", (X, -2), {}),
    ("rot90", (X, 4), {}),
    ("moveaxis", (arr(2, 3, 4), 0, -1), {}),
    ("moveaxis", (arr(2, 3, 4), [0, 1], [-1, 0]), {}),
    ("append", (X, [1.0, 2.0]), {}),
    ("append", (X, arr(3, 2)), {"axis": 1}),
    ("take", (X, [[0, 11], [-1, 5]]), {}),
    ("take", (X, 2), {"axis": 1}),
    ("take", (X, [4, -5, 7]), {"axis": 1, "mode": "wrap"}),
    ("take", (X, [4, -5, 2]), {"axis": 0, "mode": "clip"}),
    ("take", (X, []), {}),
    ("take_along_axis", (X, np.array([[0, 0, 3], [1, -1, 2], [3, 3, 3]]), 1), {}),
    ("take_along_axis", (X, np.array([[2, 0, 1, 1]])), {"axis": 0}),
    ("take_along_axis", (X, np.array([11, 0, -1])), {"axis": None}),
    ("diff", (X,), {}),
    ("diff", (X, 2, 0), {}),
    ("diff", (X,), {"n": 0}),
    ("diff", (X,), {"prepend": 1.5, "append": arr(3, 2)}),
    ("diff", (arr(5),), {"n": 7}),
    ("pad", (X, 1), {}),
    ("pad", (X, ((1, 2), (3, 0))), {"constant_values": ((1, 2), (3, 4))}),
    ("pad", (X, (2, 3)), {"mode": "constant", "constant_values": -1.5}),
    ("pad", (arr(), 2), {}),
    ("pad", (arr(3), 5), {"mode": "reflect"}),
    ("pad", (arr(2, 2), ((4, 1), (0, 6))), {"mode": "symmetric"}),
    ("pad", (X, ((1,), (7,))), {"mode": "wrap"}),
    ("pad", (X, 3), {"mode": "edge"}),
    ("pad", (X, [[1, 1]]), {"mode": "reflect", "reflect_type": "even"}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
def test_values_equal_numpys(name, args, kwargs):
    expected = getattr(np, name)(*args, **kwargs)
    ours = getattr(mg, name)(*args, **kwargs)
    assert type(ours) is type(expected) or np.ndim(expected) == 0
    np.testing.assert_array_equal(ours, expected)
    assert np.asarray(ours).dtype == np.asarray(expected).dtype
    traced = getattr(mg, name)(mg.tensor(args[0], requires_grad=True), *args[1:], **kwargs)
    assert isinstance(traced, mg.Tensor) and traced.requires_grad
    np.testing.assert_array_equal(traced.data, expected)


PIECES = [
    ("split", (arr(6, 2), 3), {}),
    ("split", (arr(6, 2), [1, 4, 4, 10]), {}),
    ("split", (arr(2, 6), [-2, 1, 8]), {"axis": -1}),
    ("array_split", (arr(7), 3), {}),
    ("array_split", (arr(2, 7), 5), {"axis": 1}),
    ("array_split", (arr(3, 2), 5), {}),
    ("hsplit", (arr(2, 4), 2), {}),
    ("hsplit", (arr(4), [3]), {}),
    ("vsplit", (arr(4, 2), [0, 2]), {}),
    ("dsplit", (arr(1, 2, 4), 2), {}),
    ("atleast_1d", (arr(), arr(2), arr(2, 3)), {}),
    ("atleast_2d", (arr(), arr(2), arr(2, 3)), {}),
    ("atleast_3d", (arr(), arr(2), arr(2, 3), arr(1, 2, 3, 4)), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), PIECES, ids=[c[0] for c in PIECES])
def test_pieces_equal_numpys(name, args, kwargs):
    expected = getattr(np, name)(*args, **kwargs)
    ours = getattr(mg, name)(*args, **kwargs)
    assert type(ours) is type(expected) and len(ours) == len(expected)
    for a, b in zip(ours, expected):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_atleast_of_one_array_is_an_array():
    for name, shape in (("atleast_1d", (1,)), ("atleast_2d", (1, 1)), ("atleast_3d", (1, 1, 1))):
        assert getattr(mg, name)(3.0).shape == shape == getattr(np, name)(3.0).shape


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), (2, 3)], [(), ()], [(1, 2, 3), (1, 2, 3)], [(2, 1), (2, 0)]])
def test_stacking_equals_numpy(name, shapes):
    arrays = [arr(*s, seed=i) for i, s in enumerate(shapes)]
    try:
        expected = getattr(np, name)(arrays)
    except ValueError:
        with pytest.raises(ValueError, match="concatenate"):
            getattr(mg, name)(arrays)
        return
    np.testing.assert_array_equal(getattr(mg, name)(arrays), expected)
    w = arr(*getattr(np, name)(arrays).shape, seed=9)
    grads = mg.grad(lambda a, b: mg.sum(getattr(mg, name)([a, b]) * w), argnums=(0, 1))(*arrays)
    expected = agrad(lambda a, b: anp.sum(getattr(anp, name)([a, b]) * w), argnum=(0, 1))(*arrays)
    for ours, theirs in zip(grads, expected):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shape", [(2,), (2, 3), (2, 3, 4)])
def test_stacking_an_array_stacks_its_slices_along_axis_0(name, shape):
    """HIPS autograd's test_vstack_1d (and hstack, column_stack, row_stack): ``np.vstack(a)`` of one array
    iterates its first axis, as NumPy does.  Before: "arrays to stack must be passed as a sequence"."""
    a = arr(*shape)
    np.testing.assert_array_equal(getattr(mg, name)(a), getattr(np, name)(a))
    mg.gradcheck(getattr(mg, name), [a], order=2)
    t = mg.tensor(a, requires_grad=True)
    assert getattr(mg, name)(t).requires_grad


def test_append_of_lists_holding_tensors():
    """HIPS autograd's test_simple_append_list / _2D: ``np.append([x, y, z], b)`` with Tensors in the list
    (before: NumPy read the list and refused the Tensors)."""
    def f(a, b, c, d):
        return mg.numpy.append([a, b, c], d)

    mg.gradcheck(f, [1.0, 2.0, 3.0, 4.0], order=2)
    g = mg.jacrev(lambda x: mg.numpy.append([[x, 2.0 * x, 3.0], [4.0, 5.0, x * x]], [[7.0, x, 9.0]], axis=0))(1.5)
    np.testing.assert_array_equal(g, [[1.0, 2.0, 0.0], [0.0, 0.0, 3.0], [0.0, 1.0, 0.0]])


def test_stacking_dtype_and_casting():
    a, b = arr(2, seed=1).astype(np.float32), arr(2, seed=2).astype(np.float32)
    out = mg.hstack([a, b], dtype=np.float64)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.hstack([a, b], dtype=np.float64))
    g = mg.grad(lambda a: mg.sum(mg.vstack([a, b], dtype=np.float64)))(a)
    assert g.dtype == np.float32
    with pytest.raises(TypeError, match="cannot cast from float32 to int64"):
        mg.vstack([a, b], dtype=np.int64)
    np.testing.assert_array_equal(mg.vstack([a, b], dtype=np.int64, casting="unsafe"), np.vstack([a, b]).astype(int))


# ----- gradients against autograd ---------------------------------------------------------------------
AUTOGRAD = [
    ("repeat", lambda np_, x: np_.repeat(x, 3, axis=1)),
    ("repeat-flat", lambda np_, x: np_.repeat(x, 2)),
    ("tile", lambda np_, x: np_.tile(x, (2, 1, 3))),
    ("roll", lambda np_, x: np_.roll(x, -5, axis=1)),
    ("roll-flat", lambda np_, x: np_.roll(x, 7)),
    ("rot90", lambda np_, x: np_.rot90(x, 3)),
    ("fliplr", lambda np_, x: np_.fliplr(x)),
    ("flipud", lambda np_, x: np_.flipud(x)),
    ("pad", lambda np_, x: np_.pad(x, ((1, 2), (0, 3)), mode="constant", constant_values=2.0)),
    ("moveaxis", lambda np_, x: np_.moveaxis(x, 0, -1)),
    ("ravel", lambda np_, x: np_.ravel(x)),
    ("split", lambda np_, x: np_.split(x, [1, 3], axis=1)[1]),
    ("array_split", lambda np_, x: np_.array_split(x, 3, axis=1)[0]),
    ("hstack", lambda np_, x: np_.hstack([x, x[:, :2]])),
    ("vstack", lambda np_, x: np_.vstack([x, x[0]])),
    ("dstack", lambda np_, x: np_.dstack([x, x])),
    ("column_stack", lambda np_, x: np_.column_stack([x[0], x[1], x[2]])),
    ("concatenate", lambda np_, x: np_.concatenate([x, x[1:]], axis=0)),
    ("append", lambda np_, x: np_.append(x, x[0])),
    ("atleast_3d", lambda np_, x: np_.atleast_3d(x)),
    ("diff", lambda np_, x: np_.diff(x, 2, axis=1)),
    ("diff-axis0", lambda np_, x: np_.diff(x, axis=0)),
]


@pytest.mark.parametrize(("name", "f"), AUTOGRAD, ids=[a[0] for a in AUTOGRAD])
def test_gradient_equals_autograds(name, f):
    x = arr(3, 4)
    w = arr(*np.shape(f(np, x)), seed=5)
    ours = mg.grad(lambda x: mg.sum(f(mg, x) ** 3 * w))(x)
    theirs = agrad(lambda x: anp.sum(f(anp, x) ** 3 * w))(x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# ----- every pad mode, and the conventions ------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("widths", [((1, 2), (0, 3)), ((5, 7), (2, 2)), ((0, 0), (9, 1))])
def test_pad_gradient_sums_the_copies(mode, widths):
    x = arr(2, 3)
    kwargs = {"constant_values": 7.0} if mode == "constant" else {}
    check_linear(lambda x: mg.pad(x, widths, mode=mode), lambda x: np.pad(x, widths, mode=mode), x)
    np.testing.assert_array_equal(mg.pad(x, widths, mode, **kwargs), np.pad(x, widths, mode, **kwargs))
    # the gradient of Σ pad(x) counts how often each entry is copied (the interior once)
    counts = np.zeros(x.shape)
    np.add.at(counts, np.ix_(*[_sources(n, w, mode) for n, w in zip(x.shape, widths)]), 1.0)
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum(mg.pad(x, widths, mode, **kwargs)))(x), counts)


def _sources(n: int, widths: tuple, mode: str) -> np.ndarray:
    """The entry each position copies, along one axis (the interior alone for constants)."""
    return np.pad(np.arange(n), widths, mode=mode) if mode != "constant" else np.arange(n)


def test_pad_edge_copies_reach_the_corner():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = mg.grad(lambda x: mg.sum(mg.pad(x, 2, mode="edge")))(x)
    np.testing.assert_array_equal(g, [[9.0, 9.0], [9.0, 9.0]])  # each corner entry fills a 3×3 block
    g = mg.grad(lambda x: mg.sum(mg.pad(x, ((0, 0), (3, 0)), mode="edge")))(x)
    np.testing.assert_array_equal(g, [[4.0, 1.0], [4.0, 1.0]])


def test_pad_second_order_and_float32():
    x = arr(3, 2).astype(np.float32)
    for mode in MODES:
        f = lambda x, mode=mode: mg.sum(mg.pad(x, ((2, 1), (1, 3)), mode=mode) ** 3)
        h = mg.hessian(f)(x)
        assert h.dtype == np.float32
        counts = mg.grad(lambda x, mode=mode: mg.sum(mg.pad(x, ((2, 1), (1, 3)), mode=mode)))(x)
        if mode == "constant":
            np.testing.assert_allclose(h.reshape(6, 6), np.diag(6 * x.ravel()), rtol=1e-6)
        else:  # every copy of x_k is x_k: the Hessian of Σ copies³ is diagonal, 6 x_k × (number of copies)
            np.testing.assert_allclose(h.reshape(6, 6), np.diag(6 * x.ravel() * counts.ravel()), rtol=1e-5)


def test_take_and_take_along_axis_add_the_gradients_of_repeated_indices():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    idx = np.array([[0, 0, -3], [2, 2, 2]])
    g = mg.grad(lambda x: mg.sum(mg.take_along_axis(x, idx, axis=1)))(x)
    np.testing.assert_array_equal(g, [[3.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    g = mg.grad(lambda x: mg.sum(mg.take(x, [1, 1, -5, 5, 5])))(x)
    np.testing.assert_array_equal(g, [[0.0, 3.0, 0.0], [0.0, 0.0, 2.0]])
    g = mg.grad(lambda x: mg.sum(mg.repeat(x, [3, 0, 1], axis=1)))(x)
    np.testing.assert_array_equal(g, [[3.0, 0.0, 1.0], [3.0, 0.0, 1.0]])
    g = mg.grad(lambda x: mg.sum(mg.take(x, [0, 1, 3], axis=1, mode="wrap") * np.array([1.0, 2.0, 4.0])))(x)
    np.testing.assert_array_equal(g, [[5.0, 2.0, 0.0]] * 2)
    g = mg.grad(lambda x: mg.sum(mg.take(x, [-1, 1, 9], axis=1, mode="clip") * np.array([1.0, 2.0, 4.0])))(x)
    np.testing.assert_array_equal(g, [[1.0, 2.0, 4.0]] * 2)


def test_take_along_axis_after_argsort_is_the_sort():
    x = arr(3, 5)
    order = np.argsort(x, axis=1)
    np.testing.assert_array_equal(mg.take_along_axis(x, order, axis=1), np.sort(x, axis=1))
    w = arr(3, 5, seed=4)
    g = mg.grad(lambda x: mg.sum(mg.take_along_axis(x, order, axis=1) * w))(x)
    expected = np.zeros_like(x)
    np.put_along_axis(expected, order, w, axis=1)  # a permutation: no index repeats
    np.testing.assert_array_equal(g, expected)


def test_take_along_axis_broadcasts_arr_and_sums_back():
    x = arr(1, 4)
    idx = np.array([[0, 3], [1, 1], [3, 0]])
    out = mg.take_along_axis(x, idx, axis=1)
    np.testing.assert_array_equal(out, np.take_along_axis(x, idx, axis=1))
    g = mg.grad(lambda x: mg.sum(mg.take_along_axis(x, idx, axis=1)))(x)
    np.testing.assert_array_equal(g, [[2.0, 2.0, 0.0, 2.0]])


def test_split_pieces_get_their_gradients_and_empty_pieces_none():
    x = arr(5, 2)
    pieces = mg.split(mg.tensor(x, requires_grad=True), [2, 2, 4])
    assert [p.shape for p in pieces] == [(2, 2), (0, 2), (2, 2), (1, 2)]
    g = mg.grad(lambda x: sum(mg.sum(p) * (i + 1.0) for i, p in enumerate(mg.array_split(x, [2, 2, 4]))))(x)
    np.testing.assert_array_equal(g, [[1.0, 1.0]] * 2 + [[3.0, 3.0]] * 2 + [[4.0, 4.0]])


def test_diff_prepend_and_append_are_differentiable():
    x, p, q = arr(2, 3), arr(), arr(2, 1, seed=3)
    gx, gp, gq = mg.grad(lambda x, p, q: mg.sum(mg.diff(x, 2, prepend=p, append=q) ** 2), argnums=(0, 1, 2))(x, p, q)
    theirs = agrad(
        lambda x, p, q: anp.sum(anp.diff(anp.concatenate([p * anp.ones((2, 1)), x, q], axis=1), 2) ** 2),
        argnum=(0, 1, 2),
    )(x, p, q)
    for ours, expected in zip((gx, gp, gq), theirs):
        np.testing.assert_allclose(ours, expected, rtol=1e-12)
    assert np.shape(gp) == ()


def test_roll_without_a_shift_is_a_new_array():
    x = arr(2, 3)
    out = mg.roll(x, 3, axis=1)
    np.testing.assert_array_equal(out, x)
    assert out is not x and not np.shares_memory(out, x)


# ----- hypothesis: shapes, axes, widths ---------------------------------------------------------------
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
small_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3).filter(lambda s: math.prod(s) <= 12)


@settings(HYPOTHESIS, max_examples=60)
@given(shape=shapes, mode=st.sampled_from(MODES), data=st.data())
def test_pad_any_widths(shape, mode, data):
    widths = tuple(tuple(data.draw(st.integers(0, 4), f"width {k}") for k in range(2)) for _ in shape)
    x = arr(*shape, seed=data.draw(seeds, "seed"))
    check_linear(lambda x: mg.pad(x, widths, mode=mode), lambda x: np.pad(x, widths, mode=mode), x)


@st.composite
def rearrangements(draw: Any) -> tuple[str, tuple[int, ...], tuple]:
    """A function of this module, a shape (maybe with an empty axis) and random arguments."""
    shape = draw(small_shapes)
    ndim = len(shape)
    axis = draw(st.integers(-ndim, ndim - 1))
    other = draw(st.integers(-ndim, ndim - 1))
    n = shape[axis]
    names = ["roll", "flip", "tile", "repeat", "moveaxis", "diff", "split-join", "ravel"]
    names += ["rot90"] * (ndim >= 2 and axis % ndim != other % ndim) + ["take", "take_along_axis"] * (n > 0)
    name = draw(st.sampled_from(names))
    if name == "roll":
        shift = draw(st.integers(-7, 7))
        args = draw(st.sampled_from([(shift, None), (shift, axis), ((shift, shift + 2), (axis, other))]))
    elif name == "flip":
        args = (draw(st.none() | st.just(axis) | hnp.valid_tuple_axes(ndim)),)
    elif name == "rot90":
        args = (draw(st.integers(-5, 5)), (axis, other))
    elif name == "tile":
        args = (tuple(draw(st.lists(st.integers(0, 2), min_size=1, max_size=4))),)
    elif name == "repeat":
        counts = draw(st.integers(0, 3) | st.lists(st.integers(0, 3), min_size=n, max_size=n))
        args = (counts, axis) if isinstance(counts, list) else (counts, draw(st.none() | st.just(axis)))
    elif name == "moveaxis":
        args = (axis, other)
    elif name in ("take", "take_along_axis"):
        index_shape = tuple(
            draw(st.integers(0, 3)) if k == axis % ndim else draw(st.sampled_from([1, m])) for k, m in enumerate(shape)
        )
        args = (draw(hnp.arrays(np.intp, index_shape, elements=st.integers(-n, n - 1))), axis)
    elif name == "diff":
        args = (draw(st.integers(0, 4)), axis)
    elif name == "split-join":
        args = (draw(st.integers(1, 4)), axis)
    else:
        args = (draw(st.sampled_from(["C", "F"])),)
    return name, shape, args


def _split_join(lib: Any, x: Any, sections: int, axis: int) -> Any:
    """The pieces of array_split joined in reverse order, each scaled by its position."""
    pieces = lib.array_split(x, sections, axis=axis)
    return lib.concatenate([p * (i + 1.0) for i, p in enumerate(pieces)][::-1], axis=axis)


@settings(HYPOTHESIS, max_examples=150)
@given(case=rearrangements(), seed=seeds)
def test_rearrangements_are_numpys_maps(case, seed):
    name, shape, args = case
    x = arr(*shape, seed=seed)
    if name == "split-join":
        check_linear(lambda x: _split_join(mg, x, *args), lambda x: _split_join(np, x, *args), x)
    else:
        check_linear(lambda x: getattr(mg, name)(x, *args), lambda x: getattr(np, name)(x, *args), x)


# ----- clear errors -----------------------------------------------------------------------------------
ERRORS = [
    (lambda: mg.pad(arr(2), -1), ValueError, "can't contain negative values"),
    (lambda: mg.pad(arr(2), 1.5), TypeError, "integral type"),
    (lambda: mg.pad(arr(2, 2), [1, 2, 3]), ValueError, "pair for each of the 2 axes"),
    (lambda: mg.pad(arr(2), 1, mode="mean"), ValueError, "not supported"),
    (lambda: mg.pad(arr(2), 1, mode="edge", constant_values=1), ValueError, "unsupported keyword"),
    (lambda: mg.pad(arr(2), 1, mode="reflect", reflect_type="odd"), ValueError, "reflect_type='odd'"),
    (lambda: mg.pad(arr(0, 2), 1, mode="edge"), ValueError, "axis 0 of shape (0, 2) is empty"),
    (lambda: mg.take_along_axis(arr(2, 3), np.array([[3]]), axis=1), IndexError, "[-3, 3) along axis 1"),
    (lambda: mg.take_along_axis(arr(2, 3), np.array([0]), axis=1), ValueError, "same number of dimensions"),
    (lambda: mg.take_along_axis(arr(2, 3), np.array([[0.5]]), axis=1), IndexError, "must be integers"),
    (lambda: mg.take_along_axis(arr(2, 3), np.ones((3, 1), int), axis=1), IndexError, "do not broadcast"),
    (lambda: mg.take(arr(2, 3), [0], out=np.zeros(1)), TypeError, "out= is not supported"),
    (lambda: mg.take(arr(2, 3), [0], mode="nope"), ValueError, "'raise', 'wrap' or 'clip'"),
    (lambda: mg.take(arr(2, 3), [6]), IndexError, "out of bounds"),
    (lambda: mg.split(arr(5), 2), ValueError, "equal division"),
    (lambda: mg.array_split(arr(5), 0), ValueError, "larger than 0"),
    (lambda: mg.vsplit(arr(5), 1), ValueError, "2 or more dimensions"),
    (lambda: mg.fliplr(arr(3)), ValueError, ">= 2-d"),
    (lambda: mg.flip(arr(3), 1), np.exceptions.AxisError, "out of bounds"),
    (lambda: mg.rot90(arr(2, 2), axes=(1, 1)), ValueError, "axes must be different"),
    (lambda: mg.rot90(arr(2, 2), axes=(0, 3)), ValueError, "out of range"),
    (lambda: mg.repeat(arr(3), [1, 2]), ValueError, "2 counts"),
    (lambda: mg.repeat(arr(3), -1), ValueError, "may not be negative"),
    (lambda: mg.repeat(arr(3), 1.5), TypeError, "integers"),
    (lambda: mg.tile(arr(3), -1), ValueError, "may not be negative"),
    (lambda: mg.moveaxis(arr(2, 3), [0, 1], [0]), ValueError, "same number of elements"),
    (lambda: mg.moveaxis(arr(2, 3), [0, 0], [0, 1]), ValueError, "repeated axis"),
    (lambda: mg.roll(arr(2, 3), [[1]], 0), ValueError, "scalars or 1D sequences"),
    (lambda: mg.diff(arr(3), -1), ValueError, "non-negative"),
    (lambda: mg.diff(arr(), 1), ValueError, "at least one dimensional"),
    (lambda: mg.hstack(x for x in [arr(2)]), TypeError, "sequence"),
    (lambda: mg.vstack([]), ValueError, "at least one array"),
    (lambda: mg.ravel(arr(2), order="Q"), ValueError, "order must be"),
]


@pytest.mark.parametrize(("call", "kind", "message"), ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_bad_input_gives_a_clear_error(call, kind, message):
    with pytest.raises(kind, match=re.escape(message)):
        call()
