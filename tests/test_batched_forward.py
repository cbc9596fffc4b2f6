"""Forward mode with many tangents in one sweep (``matgrad.forward.batched_jvp_of``), row by row of the table.

``jacfwd`` and ``hessian`` push all one-hot tangents of an input through one forward sweep that
carries a leading batch axis.  Every spec of the primitive table is checked against the
one-tangent-per-sweep oracle (``mg.jvp`` column by column) and the Hessian against reverse over
reverse, including the rows whose rule cannot keep the batch axis and runs row by row.
"""

from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad import forward
from table_specs import all_specs

SPECS = all_specs()
each_spec = pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
rng = np.random.default_rng(7)


def looped_jacfwd(f, args):
    """The Jacobian block of each output for each argument, one ``mg.jvp`` per input entry."""
    out = f(*args)
    outs, _ = mg.tree_flatten(out)
    blocks = []
    for j, a in enumerate(args):
        columns = []
        for k in range(a.size):
            tangents = [np.zeros_like(x) for x in args]
            tangents[j].flat[k] = 1.0
            columns.append(mg.tree_flatten(mg.jvp(f, args, tangents)[1])[0])
        per_out = []
        for i, o in enumerate(outs):
            if not columns:
                per_out.append(np.zeros(np.shape(o) + a.shape))
                continue
            stacked = np.stack([np.asarray(c[i]) for c in columns], axis=-1)
            per_out.append(stacked.reshape(np.shape(o) + a.shape))
        blocks.append(per_out)
    return blocks


def weighted_sum(f, args):
    """A scalar every output of ``f`` reaches: ``Σ_k ⟨u_k, f(xs)_k⟩`` for fixed random ``u_k``."""
    outs, _ = mg.tree_flatten(f(*args))
    r = np.random.default_rng(3)
    weights = [r.standard_normal(np.shape(o)) for o in outs]
    return lambda *xs: sum(mg.sum(o * u) for o, u in zip(mg.tree_flatten(f(*xs))[0], weights))


@each_spec
def test_batched_jacfwd_equals_one_jvp_per_column(spec):
    f, args = spec.function(spec.inputs())
    argnums = tuple(range(len(args)))
    jac = mg.jacfwd(f, argnums=argnums)(*args)
    want = looped_jacfwd(f, args)
    outs, _ = mg.tree_flatten(f(*args))
    got = [mg.tree_flatten(jac)[0][i * len(args) : (i + 1) * len(args)] for i in range(len(outs))]
    for i in range(len(outs)):
        for j in range(len(args)):
            np.testing.assert_allclose(got[i][j], want[j][i], rtol=1e-12, atol=1e-12, err_msg=f"output {i}, input {j}")


@each_spec
def test_hessian_forward_over_reverse_equals_reverse_over_reverse(spec):
    f, args = spec.function(spec.inputs())
    scalar = weighted_sum(f, args)
    argnums = tuple(range(len(args)))
    H = mg.tree_flatten(mg.hessian(scalar, argnums=argnums)(*args))[0]
    want = mg.tree_flatten(mg.jacrev(mg.jacrev(scalar, argnums=argnums), argnums=argnums)(*args))[0]
    assert len(H) == len(want) == len(args) ** 2
    for got, expected in zip(H, want):
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)


# ----- which rules take the whole batch at once -------------------------------------------------------
def rules_run_row_by_row(f, x, monkeypatch):
    """The primitives whose JVP ran once per tangent during ``jacfwd(f)(x)``."""
    slow = []
    original = forward._row_by_row

    def spy(rule, t, out, args, params, want):
        slow.append(want)
        return original(rule, t, out, args, params, want)

    monkeypatch.setattr(forward, "_row_by_row", spy)
    mg.jacfwd(f)(x)
    return slow


W0 = rng.standard_normal((3, 4))
A3 = rng.standard_normal((2, 4, 3))
ONE_CALL = {  # graphs whose every JVP takes the whole batch in one call
    "mat @ vec": (lambda x: mg.tanh(W0 @ x), rng.standard_normal(4)),
    "vec @ mat": (lambda x: mg.sigmoid(x @ W0.T) * 2.0, rng.standard_normal(4)),
    "vec @ vec": (lambda x: mg.exp((x @ x) * 0.1) + x, rng.standard_normal(4)),
    "vec @ batched mat": (lambda x: x @ A3, rng.standard_normal(4)),
    "batched mat @ vec": (lambda x: A3.transpose(0, 2, 1) @ x, rng.standard_normal(4)),
    "mat @ batched mat, broadcast": (lambda A: mg.softplus(A @ A3), rng.standard_normal((5, 4))),
    "batched mat @ mat": (lambda B: A3 @ B, rng.standard_normal((3, 2))),
    "mat @ a stack of matrices": (lambda B: W0 @ B, rng.standard_normal((2, 4, 3))),
    "vec @ a stack of matrices": (lambda B: W0[0] @ B, rng.standard_normal((2, 4, 3))),
    "a stack of matrices @ vec": (lambda A: A @ W0[0], rng.standard_normal((2, 3, 4))),
    "a bias broadcast over rows": (lambda b: mg.relu(W0.T @ W0 + b), rng.standard_normal(4)),
    "sums, means, transposes, reshapes": (
        lambda X: (X.T.reshape(2, 6).sum(axis=0) + X.mean(axis=1, keepdims=True).sum() + X.sum()),
        rng.standard_normal((4, 3)),
    ),
    "broadcast_to and basic indexing": (lambda x: mg.broadcast_to(x[1:, None], (2, 3)) * x[0], rng.standard_normal(3)),
    "gradient of the tanh net (hessian's graph)": (mg.grad(lambda x: mg.tanh(W0 @ x).sum()), rng.standard_normal(4)),
}


@pytest.mark.parametrize("name", ONE_CALL)
def test_common_rules_take_the_whole_batch_in_one_call(name, monkeypatch):
    f, x = ONE_CALL[name]
    assert rules_run_row_by_row(f, x, monkeypatch) == []
    np.testing.assert_allclose(mg.jacfwd(f)(x), mg.jacrev(f)(x), rtol=1e-12, atol=1e-13)


def test_other_rules_fall_back_to_one_call_per_tangent(monkeypatch):
    f = lambda x: mg.softmax(x.reshape(2, 3), axis=0) * mg.cumsum(x)[:3]
    x = rng.standard_normal(6)
    assert rules_run_row_by_row(f, x, monkeypatch), "softmax and cumsum were expected to run row by row"
    np.testing.assert_allclose(mg.jacfwd(f)(x), mg.jacrev(f)(x), rtol=1e-12, atol=1e-13)


def test_advanced_indices_split_by_a_slice_fall_back(monkeypatch):
    f = lambda X: X[[0, 2], :, [1, 0]] * 2.0  # NumPy moves the advanced axis first: not batchable by a slice
    X = rng.standard_normal((3, 2, 2))
    assert rules_run_row_by_row(f, X, monkeypatch)
    np.testing.assert_allclose(mg.jacfwd(f)(X), mg.jacrev(f)(X), rtol=1e-13, atol=1e-14)


def test_jacfwd_in_chunks_and_in_float32(monkeypatch):
    monkeypatch.setattr(mg.transforms, "BATCHED_TANGENT_ELEMENTS", 30)  # nodes of 15 entries: chunks of 2
    X = rng.standard_normal((5, 4)).astype(np.float32)
    f = lambda W: mg.relu(X @ W + np.arange(3, dtype=np.float32))
    W = rng.standard_normal((4, 3)).astype(np.float32)
    calls = []
    original = mg.transforms.batched_jvp_of
    monkeypatch.setattr(mg.transforms, "batched_jvp_of", lambda *a: calls.append(a[3]) or original(*a))
    J = mg.jacfwd(f)(W)
    assert calls == [2] * 6, calls
    assert J.dtype == np.float32 and J.shape == (5, 3, 4, 3)
    np.testing.assert_allclose(J, mg.jacrev(f)(W), rtol=1e-6, atol=1e-6)


def test_hessian_records_one_gradient_and_sweeps_forward_once(monkeypatch):
    W = rng.standard_normal((6, 5))
    x = rng.standard_normal(5)
    calls = []
    original = mg.transforms.batched_jvp_of
    monkeypatch.setattr(mg.transforms, "batched_jvp_of", lambda *a: calls.append(a[3]) or original(*a))
    H = mg.hessian(lambda x: mg.tanh(W @ x).sum())(x)
    t = np.tanh(W @ x)
    np.testing.assert_allclose(H, W.T @ np.diag(-2 * t * (1 - t * t)) @ W, rtol=1e-12, atol=1e-13)
    assert calls == [5], "all five tangents should go through one forward sweep"


def test_hessian_of_a_vector_function_and_over_pytrees():
    A = rng.standard_normal((3, 3))

    def f(p):  # two outputs, each with its own Hessian: shape out.shape + in.shape * 2
        return mg.stack([p["x"] @ A @ p["x"], mg.sum(mg.exp(p["x"]) * p["y"])])

    p = {"x": rng.standard_normal(3), "y": rng.standard_normal(3)}
    H = mg.hessian(f)(p)
    want = mg.jacrev(mg.jacrev(f))(p)
    for key in ("x", "y"):
        for inner in ("x", "y"):
            assert H[key][inner].shape == (2, 3, 3)
            np.testing.assert_allclose(H[key][inner], want[key][inner], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(H["x"]["x"][0], A + A.T, rtol=1e-12)


def test_nested_jacfwd_still_records_its_sweeps():
    f = lambda x: mg.sum(mg.jacfwd(lambda y: mg.sin(y) * y)(x) ** 2)
    x = rng.standard_normal(3)
    # d/dx Σ_k (sin x_k + x_k cos x_k)^2 (the Jacobian is diagonal)
    d = np.sin(x) + x * np.cos(x)
    np.testing.assert_allclose(mg.grad(f)(x), 2 * d * (2 * np.cos(x) - x * np.sin(x)), rtol=1e-12)
