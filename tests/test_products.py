"""Products: einsum over generated subscripts, dot/vdot/inner/outer/tensordot over every shape NumPy
accepts, kron, cross; values against NumPy, gradients against finite differences and HIPS autograd."""

from __future__ import annotations

import math
import re
from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matgrad as mg
from matgrad.primitives.products import label_sizes, parse
from table_specs import HYPOTHESIS, normal

seeds = st.integers(0, 2**32 - 1)


def check_derivatives(f: Any, args: list) -> None:
    mg.gradcheck(f, args, order=2, modes=("rev", "fwd"))
    mg.dot_product_test(f, args)


def against_autograd(f: Any, af: Any, args: list, seed: int = 0) -> None:
    """∂⟨W, f(args)⟩/∂args_i from matgrad equals autograd's, W a fixed random weight."""
    w = normal(np.random.default_rng(seed), *np.shape(np.asarray(f(*args))))
    argnums = tuple(range(len(args)))
    ours = mg.grad(lambda *xs: mg.sum(f(*xs) * w), argnums=argnums)(*args)
    for i in argnums:
        theirs = agrad(lambda *xs: anp.sum(af(*xs) * w), i)(*args)
        np.testing.assert_allclose(ours[i], theirs, rtol=1e-10, atol=1e-12, err_msg=f"argument {i}")


# ----- einsum ------------------------------------------------------------------------------------
@st.composite
def einsum_calls(draw: Any) -> tuple[str, list[tuple[int, ...]]]:
    """Subscripts NumPy accepts: 1–3 operands, repeated labels on an operand, labelled axes of
    length 1 that broadcast, ``...`` with broadcast batch axes, explicit or implicit output."""
    alphabet = "abcd"
    sizes = {c: draw(st.integers(1, 3)) for c in alphabet}
    count = draw(st.integers(1, 3))
    batches = draw(hnp.mutually_broadcastable_shapes(num_shapes=count, max_dims=2, min_side=1, max_side=2))
    terms, shapes, dots = [], [], False
    for k in range(count):
        labels = draw(st.lists(st.sampled_from(alphabet), max_size=3))
        shape = [sizes[c] if labels.count(c) > 1 or not draw(st.booleans()) else draw(st.sampled_from([1, sizes[c]]))
                 for c in labels]
        if draw(st.booleans()):
            at = draw(st.integers(0, len(labels)))
            batch = list(batches.input_shapes[k])
            terms.append("".join(labels[:at]) + "..." + "".join(labels[at:]))
            shapes.append(tuple(shape[:at] + batch + shape[at:]))
            dots = True
        else:
            terms.append("".join(labels))
            shapes.append(tuple(shape))
    subscripts = ",".join(terms)
    if draw(st.booleans()):  # explicit output: distinct labels of the inputs, any order, '...' somewhere
        seen = sorted(set("".join(terms)) - {"."})
        out = draw(st.permutations(seen).flatmap(lambda p: st.integers(0, len(p)).map(lambda n: p[:n])))
        if dots:
            at = draw(st.integers(0, len(out)))
            out = out[:at] + ["..."] + out[at:]
        subscripts += "->" + "".join(out)
    assume(sum(math.prod(s) for s in shapes) <= 24)
    return subscripts, shapes


def _autograd_can(subscripts: str, shapes: list[tuple[int, ...]]) -> bool:
    """autograd's einsum has no rule for a repeated label, nor sums back a broadcast axis."""
    labels, _ = parse(subscripts, tuple(shapes))
    sizes = label_sizes(labels, shapes)
    repeated = any(len(set(term)) < len(term) for term in labels)
    broadcast = any(n != sizes[c] for term, shape in zip(labels, shapes) for c, n in zip(term, shape))
    return not repeated and not broadcast


@HYPOTHESIS
@given(call=einsum_calls(), seed=seeds)
def test_einsum_generated_subscripts(call, seed):
    subscripts, shapes = call
    r = np.random.default_rng(seed)
    xs = [normal(r, *s) for s in shapes]
    expected = np.einsum(subscripts, *xs)
    f = lambda *xs: mg.einsum(subscripts, *xs)
    out = f(*xs)
    assert np.shape(out) == np.shape(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mg.einsum(subscripts, *xs, optimize=True), expected, rtol=1e-12, atol=1e-12)
    assume(math.prod(np.shape(expected)) <= 16)
    check_derivatives(f, xs)
    if _autograd_can(subscripts, shapes):
        against_autograd(f, lambda *xs: anp.einsum(subscripts, *xs), xs, seed=seed % 1000)


@pytest.mark.parametrize(
    ("subscripts", "shape", "expected"),
    [
        ("ii->i", (3, 3), lambda g: np.diag(g)),  # a diagonal written back into zeros
        ("ii", (3, 3), lambda g: g * np.eye(3)),  # the trace: g I
        ("iij->ij", (2, 2, 3), lambda g: np.eye(2)[:, :, None] * g[:, None, :]),
        ("ij->i", (2, 3), lambda g: np.repeat(g[:, None], 3, axis=1)),  # a lone label: copied
    ],
)
def test_einsum_repeated_and_lone_labels_in_closed_form(subscripts, shape, expected):
    x = normal(np.random.default_rng(0), *shape)
    g = normal(np.random.default_rng(1), *np.shape(np.einsum(subscripts, x)))
    _, pullback = mg.vjp(lambda x: mg.einsum(subscripts, x), x)
    np.testing.assert_allclose(pullback(g)[0], expected(g), rtol=1e-12, atol=1e-15)


def test_einsum_broadcast_axes_are_summed_back():
    r = np.random.default_rng(2)
    a, b = normal(r, 1, 3), normal(r, 4, 3)
    ga, gb = mg.grad(lambda a, b: mg.sum(mg.einsum("...i,...i->...", a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, b.sum(axis=0, keepdims=True))
    np.testing.assert_allclose(gb, np.broadcast_to(a, (4, 3)))


def test_einsum_forms_match_numpy():
    r = np.random.default_rng(3)
    a, b, c = normal(r, 2, 3), normal(r, 3, 4), normal(r, 4, 2)
    np.testing.assert_allclose(mg.einsum("Ba", a), np.einsum("Ba", a))  # implicit order is ASCII: B before a
    np.testing.assert_allclose(mg.einsum("aB", a), np.einsum("aB", a))
    np.testing.assert_allclose(mg.einsum(" ij , jk -> ik ", a, b), a @ b)
    np.testing.assert_allclose(mg.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)  # the sublist form
    bt = b[:, :2]
    sublists = (a, [Ellipsis, 1], bt, [1, Ellipsis])
    np.testing.assert_allclose(mg.einsum(*sublists), np.einsum(*sublists))
    path = np.einsum_path("ij,jk,kl->il", a, b, c, optimize="optimal")[0]
    for optimize in (False, True, "greedy", "optimal", path):
        np.testing.assert_allclose(mg.einsum("ij,jk,kl->il", a, b, c, optimize=optimize), a @ b @ c)
    g = mg.grad(lambda b: mg.sum(mg.einsum("ij,jk,kl->il", a, b, c, optimize=path)))(b)
    np.testing.assert_allclose(g, a.sum(axis=0)[:, None] * c.sum(axis=1)[None, :])
    assert mg.einsum("ij,jk->ik", a.astype(np.float32), b.astype(np.float32)).dtype == np.float32
    assert mg.einsum("ij->", a, dtype=np.float32).dtype == np.float32


def test_einsum_on_a_large_contraction_takes_the_optimized_path_and_agrees():
    r = np.random.default_rng(4)
    a, b = normal(r, 40, 30), normal(r, 30, 50)
    x = mg.tensor(a, requires_grad=True)
    mg.einsum("ij,jk->ik", x, b).sum().backward()
    np.testing.assert_allclose(x.grad, np.ones((40, 50)) @ b.T, rtol=1e-12)


def test_einsum_errors_name_the_label_and_the_fix():
    a, b = np.zeros((2, 3)), np.zeros((4, 2))
    with pytest.raises(ValueError, match=re.escape("label 'j' has length 3 in operand 0 but 4 in operand 1")):
        mg.einsum("ij,jk->ik", a, b)
    with pytest.raises(ValueError, match="name 2 operand"):
        mg.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="einsum"):
        mg.einsum("ijk->i", a)
    with pytest.raises(TypeError, match="out= is not supported"):
        mg.einsum("ij->", a, out=np.zeros(()))


def test_quadratic_form_gradient_is_a_plus_a_transpose_times_x():
    r = np.random.default_rng(5)
    a, x = normal(r, 4, 4), normal(r, 4)
    expected = (a + a.T) @ x
    np.testing.assert_allclose(mg.grad(lambda x: mg.dot(x, mg.dot(a, x)))(x), expected, rtol=1e-12)
    np.testing.assert_allclose(mg.grad(lambda x: mg.einsum("i,ij,j->", x, a, x))(x), expected, rtol=1e-12)
    np.testing.assert_allclose(mg.hessian(lambda x: mg.einsum("i,ij,j", x, a, x))(x), a + a.T, rtol=1e-12)


# ----- dot, vdot, inner, outer, tensordot ------------------------------------------------------------
@st.composite
def dot_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Any pair np.dot accepts: scalars, vectors, matrices and stacks, empty axes."""
    a = list(draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
    b = list(draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
    if a and b:
        b[-2 if len(b) >= 2 else -1] = a[-1]
    assume(math.prod(a) + math.prod(b) <= 24 and math.prod(np.dot(np.zeros(a), np.zeros(b)).shape) <= 16)
    return tuple(a), tuple(b)


@HYPOTHESIS
@given(shapes=dot_shapes(), seed=seeds)
def test_dot_every_shape(shapes, seed):
    r = np.random.default_rng(seed)
    a, b = normal(r, *shapes[0]), normal(r, *shapes[1])
    np.testing.assert_allclose(mg.dot(a, b), np.dot(a, b), rtol=1e-12, atol=1e-12)
    check_derivatives(mg.dot, [a, b])
    against_autograd(mg.dot, anp.dot, [a, b])


@HYPOTHESIS
@given(data=st.data())
def test_inner_and_tensordot_every_shape(data):
    a_shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), "a")
    b_shape = list(data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), "b"))
    r = np.random.default_rng(data.draw(seeds, "seed"))
    if a_shape and b_shape:
        b_shape[-1] = a_shape[-1]
    a, b = normal(r, *a_shape), normal(r, *b_shape)
    assume(np.inner(a, b).size <= 16)
    np.testing.assert_allclose(mg.inner(a, b), np.inner(a, b), rtol=1e-12, atol=1e-12)
    check_derivatives(mg.inner, [a, b])
    against_autograd(mg.inner, anp.inner, [a, b])
    # tensordot: k of a's axes (in any order) against k of b's of the same lengths
    k = data.draw(st.integers(0, min(len(a_shape), 2)), "k")
    a_axes = data.draw(st.permutations(range(len(a_shape))), "a axes")[:k]
    b_shape = [n for n in data.draw(st.permutations(b_shape), "b's other axes")][: 2 - k] if k < 2 else []
    b_axes_at = list(range(k))
    b_full = [a_shape[i] for i in a_axes] + b_shape
    order = data.draw(st.permutations(range(len(b_full))), "b layout")
    b = normal(r, *[b_full[i] for i in order])
    b_axes = [order.index(j) for j in b_axes_at]
    axes = (list(a_axes), b_axes) if data.draw(st.booleans(), "lists") else None
    if axes is None:  # the int form: the last k of a with the first k of b
        a = np.moveaxis(a, list(a_axes), list(range(a.ndim - k, a.ndim)))
        b = np.moveaxis(b, b_axes, list(range(k)))
        axes = k
    f = lambda a, b: mg.tensordot(a, b, axes=axes)
    np.testing.assert_allclose(f(a, b), np.tensordot(a, b, axes=axes), rtol=1e-12, atol=1e-12)
    assume(np.size(f(a, b)) <= 16)
    check_derivatives(f, [a, b])
    against_autograd(f, lambda a, b: anp.tensordot(a, b, axes=axes), [a, b])


def test_vdot_and_outer_flatten_their_inputs():
    r = np.random.default_rng(6)
    a, b = normal(r, 2, 3), normal(r, 3, 2)
    assert np.ndim(mg.vdot(a, b)) == 0
    np.testing.assert_allclose(mg.vdot(a, b), np.vdot(a, b))
    np.testing.assert_allclose(mg.grad(lambda a: mg.vdot(a, b))(a), b.reshape(2, 3))
    np.testing.assert_allclose(mg.outer(a, b[0]), np.outer(a, b[0]))
    w = normal(r, 6, 6)
    ga, gb = mg.grad(lambda a, b: mg.sum(mg.outer(a, b) * w), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, (w @ b.ravel()).reshape(2, 3))
    np.testing.assert_allclose(gb, (w.T @ a.ravel()).reshape(3, 2))
    against_autograd(mg.outer, anp.outer, [a[0], b[0]])
    check_derivatives(mg.vdot, [a, b])
    with pytest.raises(ValueError, match="6 and 4 entries"):
        mg.vdot(a, np.zeros(4))


def test_tensordot_and_dot_errors():
    with pytest.raises(ValueError, match=re.escape("axis 1 of a (2, 3) has length 3 but axis 0 of b (4, 2) has 4")):
        mg.tensordot(np.zeros((2, 3)), np.zeros((4, 2)), axes=1)
    with pytest.raises(ValueError, match="out of bounds"):
        mg.tensordot(np.zeros((2, 3)), np.zeros((3, 2)), axes=([2], [0]))
    with pytest.raises(ValueError, match="matmul"):
        mg.dot(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="out= is not supported"):
        mg.dot(np.zeros(2), np.zeros(2), out=np.zeros(()))


# ----- kron, cross -------------------------------------------------------------------------------
@HYPOTHESIS
@given(
    a_shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=2),
    b_shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
    seed=seeds,
)
def test_kron_every_ndim(a_shape, b_shape, seed):
    r = np.random.default_rng(seed)
    a, b = normal(r, *a_shape), normal(r, *b_shape)
    assume(np.kron(a, b).size <= 24)
    np.testing.assert_allclose(mg.kron(a, b), np.kron(a, b))
    check_derivatives(mg.kron, [a, b])
    against_autograd(mg.kron, anp.kron, [a, b])


def test_kron_gradient_contracts_blocks_of_g():
    r = np.random.default_rng(7)
    a, b, g = normal(r, 2, 3), normal(r, 4, 5), normal(r, 8, 15)
    _, pullback = mg.vjp(mg.kron, a, b)
    ga, gb = pullback(g)
    blocks = g.reshape(2, 4, 3, 5)
    np.testing.assert_allclose(ga, np.einsum("ipjq,pq->ij", blocks, b))
    np.testing.assert_allclose(gb, np.einsum("ipjq,ij->pq", blocks, a))


@HYPOTHESIS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), data=st.data())
def test_cross_shapes_and_axes(shapes, data):
    r = np.random.default_rng(data.draw(seeds, "seed"))
    sa, sb = (list(s) for s in shapes.input_shapes)
    ia, ib = data.draw(st.integers(0, len(sa)), "axisa"), data.draw(st.integers(0, len(sb)), "axisb")
    a, b = normal(r, *sa[:ia], 3, *sa[ia:]), normal(r, *sb[:ib], 3, *sb[ib:])
    axisc = data.draw(st.integers(-len(shapes.result_shape) - 1, len(shapes.result_shape)), "axisc")
    f = lambda a, b: mg.cross(a, b, axisa=ia, axisb=ib - len(sb) - 1, axisc=axisc)
    expected = np.cross(a, b, axisa=ia, axisb=ib - len(sb) - 1, axisc=axisc)
    np.testing.assert_allclose(f(a, b), expected, rtol=1e-12, atol=1e-12)
    assume(expected.size <= 12)
    check_derivatives(f, [a, b])
    if sa == sb:  # autograd's cross does not sum broadcast axes back; finite differences cover those
        against_autograd(f, lambda a, b: anp.cross(a, b, axisa=ia, axisb=ib - len(sb) - 1, axisc=axisc), [a, b])


def test_cross_gradients_are_cross_products():
    r = np.random.default_rng(8)
    a, b, g = normal(r, 3), normal(r, 3), normal(r, 3)
    _, pullback = mg.vjp(mg.cross, a, b)
    ga, gb = pullback(g)
    np.testing.assert_allclose(ga, np.cross(b, g))
    np.testing.assert_allclose(gb, np.cross(g, a))


def test_cross_refuses_two_vectors_clearly():
    with pytest.raises(ValueError, match="lengths 2 and 3.*3-vectors.*append a zero component"):
        mg.cross(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="axisa=2 is out of bounds"):
        mg.cross(np.zeros((2, 3)), np.zeros(3), axisa=2)


def test_products_of_lists_holding_tensors():
    """``np.dot([x, y], b)`` and the like: an array_like holding Tensors is its stacked array, traced
    (before: dot, inner, tensordot and cross read the list's shape with NumPy, which refused the Tensors)."""
    b = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 4.0]])
    c = np.array([2.0, -1.0, 0.5])
    for f in (lambda v: mg.numpy.dot(v, b), lambda v: mg.numpy.inner(v, c), lambda v: mg.numpy.tensordot(v, b, 1),
              lambda v: mg.numpy.cross(v, c), lambda v: mg.numpy.outer(v, c), lambda v: mg.numpy.vdot(v, c)):
        listed = mg.jacrev(lambda x, f=f: f([x, 2.0 * x, x * x]))(1.5)
        stacked = mg.jacrev(lambda x, f=f: f(mg.numpy.array([x, 2.0 * x, x * x])))(1.5)
        np.testing.assert_array_equal(listed, stacked)
    np.testing.assert_array_equal(mg.jacrev(lambda x: mg.numpy.dot(c, [x, 2.0 * x, x * x]))(1.5), 2.0 - 2.0 + 1.5)
