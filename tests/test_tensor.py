"""Tensor: interop with NumPy and Python scalars, dtypes, repr, and errors on bad input."""

import operator
import re

import numpy as np
import pytest

import matgrad as mg


def leaf(shape, dtype=np.float64, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype), requires_grad=True)


@pytest.mark.parametrize(
    "expression",
    [
        lambda a, t: a @ t,
        lambda a, t: t.T @ a.T,
        lambda a, t: 2.0 * t,
        lambda a, t: t * 2.0,
        lambda a, t: 1.0 - t,
        lambda a, t: t - 1.0,
        lambda a, t: 3.0 / (t * t + 1.0),
        lambda a, t: 2.0**t,
        lambda a, t: t**2,
        lambda a, t: a.T + t,
        lambda a, t: t + a.T,
        lambda a, t: a.T * t,
        lambda a, t: -t,
        lambda a, t: abs(t),
    ],
)
def test_numpy_arrays_and_scalars_are_constants_on_either_side(expression):
    a = np.random.default_rng(1).standard_normal((2, 3))
    t = leaf((3, 2))
    out = expression(a, t)
    assert isinstance(out, mg.Tensor) and out.requires_grad
    expected = expression(a, t.data)  # the same expression on plain arrays
    np.testing.assert_allclose(out.data, expected)
    out.sum().backward()
    numeric = mg.numeric_jacobian(lambda x: np.sum(expression(a, x)), [t.data.copy()], 0, 1e-6)
    np.testing.assert_allclose(t.grad, numeric, rtol=1e-6, atol=1e-8)


def test_array_protocol_and_numpy():
    t = leaf((2, 3))
    assert t.numpy() is t.data
    assert len(t) == 2 and t.shape == (2, 3) and t.ndim == 2 and t.size == 6
    constant = mg.tensor(t.data)
    assert np.asarray(constant) is constant.data
    assert np.asarray(constant, dtype=np.float32).dtype == np.float32
    with mg.no_grad():
        assert np.asarray(t) is t.data  # nothing is recorded, so nothing can be dropped


def test_numpy_refuses_to_read_a_tensor_that_requires_grad():
    """np.asarray(t) or np.array([t, u]) would silently drop t from the graph (PyTorch refuses too)."""
    t = leaf((2, 3))
    for read in (np.asarray, lambda t: np.array([t, t]), lambda t: np.float64(1.0) + np.array(t)):
        with pytest.raises(TypeError, match=r"requires grad \(shape \(2, 3\)\).*matgrad.numpy.array"):
            read(t)


def test_repr_shows_shape_dtype_and_grad_flag():
    text = repr(leaf((2, 3), np.float32))
    assert "shape=(2, 3)" in text and "float32" in text and "requires_grad=True" in text
    assert "requires_grad" not in repr(mg.tensor([1.0, 2.0]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_is_preserved_end_to_end(dtype):
    x = leaf((4, 3), dtype)
    W = leaf((3, 2), dtype, seed=1)
    out = mg.cross_entropy(mg.tanh(x @ W + 0.5) * 2, np.array([0, 1, 1, 0]))
    loss = out + 0.1 * (W**2).sum() + mg.logsumexp(x, axis=1).mean()
    assert loss.dtype == dtype
    loss.backward()
    assert x.grad.dtype == dtype and W.grad.dtype == dtype


def test_integer_and_boolean_tensors_are_constants():
    x = leaf((3,))
    idx = mg.tensor(np.array([2, 0]))
    mask = mg.tensor(np.array([True, False, True]))
    out = (x[idx] * 2.0).sum() + mg.where(mask, x, 0.0).sum() + (x * np.arange(3)).sum()
    out.backward()
    np.testing.assert_allclose(x.grad, [2 + 1 + 0, 0 + 0 + 1, 2 + 1 + 2])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_asking_for_the_gradient_of_an_integer_tensor_is_a_clear_error(dtype):
    with pytest.raises(TypeError, match="only floating-point"):
        mg.tensor(np.zeros(3, dtype=dtype), requires_grad=True)
    with pytest.raises(TypeError, match="argument 0.*dtype"):
        mg.grad(lambda n: (n * 2.0).sum())(np.zeros(3, dtype=dtype))


def test_comparisons_are_elementwise_boolean_arrays():
    """All six comparisons are elementwise, as in NumPy, and have no derivative: plain boolean arrays.
    (== compared identity before, a silent wrong answer: t == 2.0 was False.)"""
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    expected = {"<": [1, 0, 0], "<=": [1, 1, 0], ">": [0, 0, 1], ">=": [0, 1, 1], "==": [0, 1, 0], "!=": [1, 0, 1]}
    results = {"<": x < 2.0, "<=": x <= 2.0, ">": x > 2.0, ">=": x >= 2.0, "==": x == 2.0, "!=": x != 2.0}
    for op, mask in results.items():
        assert type(mask) is np.ndarray and mask.dtype == bool, op
        np.testing.assert_array_equal(mask, np.array(expected[op], dtype=bool), err_msg=op)
    np.testing.assert_array_equal(x == mg.tensor([1.0, 0.0, 3.0]), [True, False, True])
    assert (2.0 == x).tolist() == [False, True, False]  # reflected: float.__eq__ defers to the Tensor


def test_tensors_hash_by_identity_and_refuse_ambiguous_truth():
    x, y = mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0])
    assert len({x, y, x}) == 2 and {x: 1, y: 2}[y] == 2  # graph nodes: identity, never ==
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x == y)
    assert bool(mg.tensor(3.0) > 2.0) and not bool(mg.tensor([0.0]))


def test_a_list_of_tensors_given_to_a_function_is_traced():
    """A list holding Tensors was read as constants (a zero gradient, no error): it is stacked now."""
    np.testing.assert_array_equal(mg.grad(lambda x: mg.sum([x, x]))(np.ones(3)), [2.0, 2.0, 2.0])
    assert mg.grad(lambda x: mg.mean([x, x + 2.0]))(np.array(1.5)) == 1.0
    np.testing.assert_allclose(mg.grad(lambda x: mg.sum(mg.exp([[x, 1.0], [2.0, x]])))(np.array(0.5)), 2 * np.exp(0.5))
    x = mg.tensor(np.float32(2.0), requires_grad=True)
    stacked = mg.numpy.array([x, 1.0, 3])  # Python numbers do not widen float32
    assert stacked.dtype == np.float32 and stacked.shape == (3,) and stacked.requires_grad


def test_matmul_shape_error_names_dimensions_and_transpose_fix():
    with pytest.raises(ValueError) as info:
        leaf((3, 4)) @ leaf((3, 5))
    message = str(info.value)
    assert "matmul" in message and "(3, 4)" in message and "(3, 5)" in message
    assert "4 columns" in message and "3 rows" in message and "a.T @ b" in message


def test_matmul_error_says_when_no_transpose_helps():
    with pytest.raises(ValueError, match="no transpose"):
        leaf((2, 4)) @ leaf((3, 5))


def test_broadcast_error_names_primitive_shapes_and_axis():
    with pytest.raises(ValueError) as info:
        leaf((3, 4)) * leaf((5,))
    message = str(info.value)
    assert message.startswith("mul:") and "(3, 4)" in message and "(5,)" in message
    assert "axis -1" in message and "4 vs 5" in message


def test_reshape_and_index_errors_name_the_primitive():
    with pytest.raises(ValueError, match="^reshape:"):
        leaf((3, 4)).reshape(5, 2)
    with pytest.raises(IndexError, match="^getitem:"):
        leaf((3,))[7]


def test_detach_cuts_the_graph_and_shares_memory():
    x = leaf((3,))
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad, x.data)  # d is a constant: ∂(x ⊙ c)/∂x = c


def test_numpy_methods_and_the_mod_operator_are_recorded():
    """``t.ravel()``, ``t.flatten()``, ``t.squeeze()`` and ``%`` as on an ndarray, with gradients."""
    x = np.array([[0.7, 2.6, -1.2]])
    f = lambda t: mg.sum(t.ravel() * t.flatten() + t.squeeze() % 2.5 + 5.0 % (t * t + 3.0))
    plain = np.sum(x.ravel() * x.flatten() + x.squeeze() % 2.5 + 5.0 % (x * x + 3.0))
    np.testing.assert_allclose(f(mg.tensor(x)).data, plain)
    mg.gradcheck(f, [x], order=2)


@pytest.mark.parametrize(
    ("f", "says"), [(lambda x: x > 0, "dtype bool"), (lambda x: x * (1 + 0.2j), "complex output")]
)
def test_grad_of_a_boolean_or_complex_output_is_an_error(f, says):
    """A comparison has no derivative and a complex output no gradient: never zeros or a complex number."""
    with pytest.raises(TypeError, match=says):
        mg.grad(f)(1.0)


IN_PLACE = {
    "+=": (operator.iadd, operator.add),
    "-=": (operator.isub, operator.sub),
    "*=": (operator.imul, operator.mul),
    "/=": (operator.itruediv, operator.truediv),
    "**=": (operator.ipow, operator.pow),
    "@=": (operator.imatmul, operator.matmul),
}


@pytest.mark.parametrize("update", list(IN_PLACE))
def test_in_place_update_of_a_tensor_that_requires_grad(update):
    """Refused while recording (Python would rebind the name to a new node, leaving any optimizer
    with the old leaf); done in place under no_grad, the way an optimizer step updates a weight."""
    in_place, plain = IN_PLACE[update]
    W = mg.tensor(np.full((2, 2), 2.0), requires_grad=True, name="W")
    other = np.array([[1.5, 0.5], [0.5, 1.5]])
    with pytest.raises(RuntimeError, match=rf"{re.escape(update)}: the Tensor 'W' requires grad.*mg.no_grad"):
        in_place(W, other)
    with mg.no_grad():
        result = in_place(W, other)
    assert result is W and W.is_leaf and W.requires_grad
    np.testing.assert_allclose(W.data, plain(np.full((2, 2), 2.0), other))


def test_in_place_update_of_a_constant_builds_a_new_tensor_and_keeps_saved_values():
    """A constant's values may be saved by a recorded node: ``x += 1`` must not change its gradient."""
    x, w = mg.tensor(np.array([1.0, 2.0])), mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = mg.sum(x * w)
    before = x
    x += 1.0
    assert x is not before and np.array_equal(before.data, [1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_float_and_int_of_a_0d_tensor():
    t = mg.tensor(np.array(2.75), requires_grad=True)
    assert float(t) == 2.75 and int(t) == 2 and isinstance(float(t), float)
    for shape in [(2,), (1, 1)]:  # NumPy's rule (NumPy 2 converts only 0-d arrays; 1.26 also (1, 1))
        try:
            expected = float(np.ones(shape))
        except TypeError:
            with pytest.raises(TypeError):
                float(mg.tensor(np.ones(shape)))
        else:
            assert float(mg.tensor(np.ones(shape))) == expected


# ----- dtype promotion: NumPy's rule, and a warning for float64 data meeting float32 parameters ----


def test_float64_data_meeting_a_float32_parameter_warns_naming_the_step_and_the_fix():
    import warnings

    from matgrad.tensor import PrecisionWarning

    W = mg.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x64 = np.ones((2, 4))
    with pytest.warns(PrecisionWarning, match=r"matmul: a float32 parameter meets float64 data.*astype\(np.float32\)"):
        out = W @ x64
    assert out.dtype == np.float64  # the rule is NumPy's; the warning only says so
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        assert (W * 2.0).dtype == np.float32  # a Python number adapts
        assert (W @ x64.astype(np.float32)).dtype == np.float32
        V = mg.tensor(np.ones((3, 2)), requires_grad=True)
        assert (V @ x64).dtype == np.float64  # a float64 model: nothing to say
        with mg.no_grad():
            W @ x64  # nothing recorded, nothing trained
