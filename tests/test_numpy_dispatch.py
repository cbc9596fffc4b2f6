"""NumPy code differentiates as written: Tensor's ``__array_ufunc__`` and ``__array_function__``.

The sweep at the end calls every public NumPy function on a Tensor that requires grad, in several
argument patterns, and fails if any returns floating-point values that left the graph: each call
must record (a Tensor that requires grad), refuse with an error, or give a value with no
derivative by nature (booleans, indices, shapes, or a value that does not depend on the input's
values such as ``zeros_like``).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import matgrad as mg
import matgrad.numpy as mnp


def leaf(*shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, shape), requires_grad=True)


def test_numpy_functions_on_tensors_record_the_primitive():
    x = leaf(3, 4)
    for result in (np.exp(x), np.sum(x, axis=0), np.tanh(x) + np.ones(4), np.ones((2, 3)) @ x):
        assert isinstance(result, mg.Tensor) and result.requires_grad
    assert np.sum(x, 0)._prim.name == "sum" and np.sum(x, 0)._params == {"axis": 0, "keepdims": False}
    assert np.add.reduce(x)._prim.name == "sum" and np.add.reduce(x).shape == (4,)  # reduce's axis=0


def test_a_function_written_against_numpy_gets_the_right_gradient():
    """A loss written with plain ``numpy``, passed to mg.grad unchanged, against the closed form."""
    rng = np.random.default_rng(1)
    X, y, w0 = rng.standard_normal((6, 3)), rng.standard_normal(6), rng.standard_normal(3)

    def loss(w):
        r = np.dot(X, w) - y if hasattr(mg, "dot") else np.matmul(X, w) - y
        return 0.5 * np.mean(np.square(r)) if hasattr(mg, "square") else 0.5 * np.mean(r * r)

    expected = X.T @ (X @ w0 - y) / len(y)
    np.testing.assert_allclose(mg.grad(loss)(w0), expected, rtol=1e-12)
    np.testing.assert_allclose(mg.grad(lambda w: np.sum(np.exp(w) * np.maximum(w, 0.0)))(w0),
                               np.exp(w0) * np.maximum(w0, 0) + np.exp(w0) * (w0 > 0), rtol=1e-12)


def test_ndarray_on_the_left_dispatches_to_the_tensor():
    x = leaf(3)
    c = np.array([1.0, 2.0, 3.0])
    for result, expected in ((c - x, -1.0), (c * x, c), (c / x, -c / x.data**2), (c @ x, c)):
        assert isinstance(result, mg.Tensor)
        np.testing.assert_allclose(mg.grad_of([result], [x], [np.ones(result.shape)])[0], expected * np.ones(3))


def test_unsupported_numpy_function_names_itself_and_keeps_constants_working():
    x = leaf(3)
    with pytest.raises(TypeError, match=r"numpy\.nancumsum has no derivative rule in matgrad yet"):
        np.nancumsum(x)
    np.testing.assert_array_equal(np.nancumsum(x.detach()), np.nancumsum(x.data))  # nothing to differentiate
    with mg.no_grad():
        np.testing.assert_array_equal(np.nancumsum(x), np.nancumsum(x.data))
    with pytest.raises(TypeError, match="out= is not supported"):
        np.exp(x, out=np.empty(3))


def test_functions_without_a_derivative_give_numpy_values():
    x = leaf(2, 3)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.argmax(x) == np.argmax(x.data)
    mask = np.greater(x, 1.0)
    assert type(mask) is np.ndarray and mask.dtype == bool
    np.testing.assert_array_equal(mask, x.data > 1.0)
    assert np.allclose(x, x.data) and np.isfinite(x).all()


def test_matgrad_numpy_mirrors_numpy():
    assert mnp.pi == np.pi and mnp.float32 is np.float32 and mnp.newaxis is None
    assert "sum" in mnp.DIFFERENTIABLE and "argmax" in mnp.CONSTANT
    for name in mnp.DIFFERENTIABLE:
        assert callable(getattr(mnp, name)), name
    x = mnp.array([leaf(2), leaf(2, seed=1)])  # np.array of Tensors: traced
    assert isinstance(x, mg.Tensor) and x.shape == (2, 2) and x.requires_grad


_IO_AND_SIDE_EFFECTS = {
    "save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt", "fromfile", "fromregex",
    "info", "show_config", "show_runtime", "get_include", "memmap", "lookfor", "source", "who", "nditer",
    "ndenumerate", "test", "printoptions", "set_printoptions", "setbufsize", "seterr", "seterrcall",
}
_VALUE_FREE = {"zeros_like", "ones_like", "empty_like", "full_like"}  # depend on the shape only


def _calls(t: mg.Tensor) -> list[tuple[str, tuple]]:
    return [("f(t)", (t,)), ("f(t, t)", (t, t)), ("f(t, 1)", (t, 1)), ("f([t, t])", ([t, t],))]


@pytest.mark.parametrize("namespace", [np, np.linalg], ids=["numpy", "numpy.linalg"])
def test_no_numpy_call_on_a_tensor_returns_an_untraced_result(namespace):
    t = leaf(3, 3)
    untraced = []
    for name in sorted(dir(namespace)):
        function = getattr(namespace, name)
        if name.startswith("_") or name in _IO_AND_SIDE_EFFECTS | _VALUE_FREE:
            continue
        if not callable(function) or inspect.isclass(function) or inspect.ismodule(function):
            continue
        for pattern, args in _calls(t):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = function(*args)
            except Exception:  # refusing is a correct answer here
                continue
            for value in result if isinstance(result, (tuple, list)) else (result,):
                if isinstance(value, mg.Tensor):
                    if not value.requires_grad:
                        untraced.append(f"{name} as {pattern}: a Tensor that does not require grad")
                elif isinstance(value, (np.ndarray, np.generic, float)) and np.asarray(value).dtype.kind in "fc":
                    untraced.append(f"{name} as {pattern}: {type(value).__name__} of {np.asarray(value).dtype}")
    assert untraced == []


def test_public_shape_functions_take_numpys_parameter_names():
    for name in ("swapaxes", "expand_dims", "squeeze"):
        ours, theirs = inspect.signature(getattr(mg, name)), inspect.signature(getattr(np, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    x = leaf(2, 1, 3)
    assert mg.squeeze(a=x, axis=1).shape == (2, 3) and mg.expand_dims(a=x, axis=0).shape == (1, 2, 1, 3)


# ----- array_like arguments that are lists of Tensors (found by HIPS autograd's own tests) ----------
#: The names of a second parameter that is an array (elsewhere it is a dtype, bounds, widths, counts,
#: indices, a flag: a list of Tensors there means something else, or is refused as it should be).
_ARRAY_SECOND = {"x2", "b", "v", "values", "w", "in2"}


def _second_is_an_array(f) -> bool:
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return False
    return len(names) > 1 and names[1] in _ARRAY_SECOND


def _list_patterns(x: mg.Tensor) -> dict[str, tuple]:
    """Argument patterns holding lists of 0-d Tensors (the row list, and the same values stacked)."""
    row = [x, x + 2.0, 3.0 * x]
    rows = [[x, x + 1.0, x], [x + 2.0, 3.0 * x + 5.0, x - 1.0], [x * x, x + 4.0, 2.0 * x]]
    a1, a2 = np.arange(3.0) + 1.0, np.arange(9.0).reshape(3, 3) + 5.0 * np.eye(3)
    return {"f(row)": (row,), "f(rows)": (rows,), "f(row, a)": (row, a1), "f(rows, A)": (rows, a2),
            "f(a, row)": (a1, row), "f(A, rows)": (a2, rows), "f([row, row])": ([row, row],)}


def _stacked(args: tuple) -> tuple:
    return tuple(mnp.array(a) if isinstance(a, list) and mg.primitives.composites.holds_tensor(a) else a
                 for a in args)


def _total(out):
    return sum(mnp.sum(o) for o in out) if isinstance(out, (tuple, list)) else mnp.sum(out)


@pytest.mark.parametrize("namespace", [mnp, mnp.linalg], ids=["numpy", "numpy.linalg"])
def test_a_list_of_tensors_is_an_array_like_everywhere(namespace):
    """``np.std([x, x + 2])``, ``np.linalg.norm([x, x + 2])``, ``np.append([x, y], z)`` (autograd's
    test_std_list_of_boxes, test_norm_list_of_boxes, test_simple_append_list): an array_like holding
    Tensors is NumPy's asarray of it, traced.  Before, some 50 functions read such a list's shape
    with NumPy, which read the Tensors' values and refused.  Each call must give what the same call on
    the stacked array gives, values and gradients, or refuse in both forms."""
    leaked, differ = [], []
    for name in namespace.DIFFERENTIABLE:
        f = getattr(namespace, name)
        for pattern in _list_patterns(mg.tensor(0.7)):
            if pattern.startswith(("f(a", "f(A")) and not _second_is_an_array(f):
                continue
            results = []
            for form in (lambda args: args, _stacked):
                def loss(x, form=form, pattern=pattern, f=f):
                    return _total(f(*form(_list_patterns(x)[pattern])))

                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        results.append(mg.value_and_grad(loss)(0.7))
                except TypeError as error:
                    if "numpy read the values" in str(error):
                        leaked.append(f"{name} as {pattern}")
                    results.append(None)
                except Exception:
                    results.append(None)
            listed, stacked = results
            if (listed is None) != (stacked is None) or (
                listed is not None and not np.allclose(listed, stacked, rtol=1e-12, atol=1e-12, equal_nan=True)
            ):
                differ.append(f"{name} as {pattern}: {listed} vs {stacked}")
    assert leaked == [] and differ == []


def test_where_with_the_condition_alone_is_nonzero():
    """autograd's test_custom_where: ``np.where(condition)`` is NumPy's indices of the nonzero entries
    (constants, like argmax's), for arrays, lists and Tensors alike; x without y is NumPy's error."""
    x, s = leaf(3), leaf()
    for condition in ([True, False, True], np.array([1.0, 0.0, 2.0]), [s, s * 0.0, s], x * np.array([1, 0, 1])):
        (indices,) = mnp.where(condition)
        np.testing.assert_array_equal(indices, [0, 2])
    with pytest.raises(ValueError, match="either both or neither of x and y"):
        mnp.where([True], x)
    np.testing.assert_array_equal(np.where(x * np.array([0.0, 1.0, 1.0]))[0], [1, 2])  # through dispatch


def test_an_unsupported_function_of_a_numpy_submodule_is_named_with_its_module():
    """HIPS autograd's test_fft on matgrad: the error for ``np.fft.rfft`` named "numpy.rfft" (no such function)."""
    x = leaf(4)
    with pytest.raises(TypeError, match=r"^numpy\.fft\.rfft has no derivative rule"):
        np.fft.rfft(x)
    with pytest.raises(TypeError, match=r"^numpy\.linalg\.eig has no derivative rule"):
        np.linalg.eig(mg.numpy.reshape(leaf(4), (2, 2)))
