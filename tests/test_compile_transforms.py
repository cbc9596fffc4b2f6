"""``mg.compile`` of transforms: one traced call, then a flat NumPy plan, bit-identical to eager.

Every compiled transform is compared with ``np.array_equal`` (not a tolerance) to the same
transform run eagerly, on the tracing call and on fresh inputs; a function whose plan cannot be
replayed faithfully runs eagerly (``fallbacks`` says why), and a new signature traces again.
"""

from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg

rng = np.random.default_rng(11)
W = rng.standard_normal((6, 5)) / 2
A = rng.standard_normal((5, 5))
X = rng.standard_normal((12, 5))
y = rng.choice([-1.0, 1.0], 12)


def tanh_net(x, W):
    return mg.tanh(W @ x).sum()


def quadratic(x):
    return x @ (A @ x)


def logistic(w):
    return mg.mean(mg.softplus(-y * (X @ w)))


def softmax_mix(x):  # softmax and cumsum: JVP rules that run row by row in the batched sweep
    return mg.sum(mg.softmax(x.reshape(1, 5), axis=1) * mg.cumsum(x) ** 2)


SCALARS = {
    "tanh net": (tanh_net, 1),
    "quadratic": (quadratic, 0),
    "logistic": (logistic, 0),
    "softmax": (softmax_mix, 0),
}
TRANSFORMS = {
    "grad": mg.grad,
    "jacrev of grad": lambda f: mg.jacrev(mg.grad(f)),
    "jacfwd of grad": lambda f: mg.jacfwd(mg.grad(f)),
    "hessian": mg.hessian,
}


def inputs(extra: int, seed: int) -> tuple:
    r = np.random.default_rng(seed)
    return (r.standard_normal(5),) + ((W + 0.1 * r.standard_normal(W.shape),) if extra else ())


def assert_identical(got, want):
    got_leaves, want_leaves = mg.tree_flatten(got)[0], mg.tree_flatten(want)[0]
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        assert isinstance(g, np.ndarray) and g.dtype == w.dtype
        assert np.array_equal(g, w), np.max(np.abs(g - w))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("function", SCALARS)
def test_compiled_transform_is_bit_identical_to_eager(function, transform):
    f, extra = SCALARS[function]
    eager = TRANSFORMS[transform](f)
    compiled = mg.compile(eager)
    for seed in (0, 1, 2):  # the tracing call, then the plan on new values of the same shapes
        args = inputs(extra, seed)
        assert_identical(compiled(*args), eager(*args))
    assert compiled.traces == 1 and not compiled.fallbacks
    assert compiled.plans[next(iter(compiled.plans))] is not None


def test_hessian_plan_matches_the_closed_form_and_is_faster_than_eager():
    compiled = mg.compile(mg.hessian(quadratic))
    x = rng.standard_normal(5)
    compiled(x)
    np.testing.assert_allclose(compiled(x), A + A.T, rtol=1e-14)


def test_hvp_and_jvp_compile_with_transform_true():
    def product(x, v):
        return mg.hvp(logistic, (x,), (v,))[1]

    compiled = mg.compile(product, transform=True)
    for seed in (0, 1):
        x, v = inputs(0, seed)[0], inputs(0, seed + 5)[0]
        assert_identical(compiled(x, v), product(x, v))
    assert compiled.traces == 1 and not compiled.fallbacks
    x, v = inputs(0, 3)[0], inputs(0, 4)[0]
    np.testing.assert_allclose(compiled(x, v), mg.hessian(logistic)(x) @ v, rtol=1e-12, atol=1e-14)


def test_per_example_grad_compiles_bit_identically():
    def loss(params, Xb, Yb):
        W1, b1, W2 = params
        hidden = mg.sigmoid(Xb @ W1 + b1)
        return 0.5 * mg.sum((mg.sigmoid(hidden @ W2) - Yb) ** 2) + 0.01 * mg.sum(W2 * W2)

    per_example = mg.per_example_grad(loss)
    compiled = mg.compile(per_example)
    params = [rng.standard_normal((5, 4)), np.zeros(4), rng.standard_normal((4, 3))]
    for seed in (0, 1):
        r = np.random.default_rng(seed)
        batch = (r.standard_normal((8, 5)), r.random((8, 3)))
        assert_identical(compiled(params, *batch), per_example(params, *batch))
    assert compiled.traces == 1 and not compiled.fallbacks


def test_pytrees_argnums_and_aux_pass_through():
    def f(p, scale):
        return mg.sum(mg.exp(p["a"]) * p["b"]) * scale, p["a"] * 2.0

    eager = mg.grad(f, has_aux=True)
    compiled = mg.compile(eager)
    for seed in (0, 1):
        r = np.random.default_rng(seed)
        p = {"a": r.standard_normal(3), "b": r.standard_normal(3)}
        assert_identical(compiled(p, 1.5), eager(p, 1.5))
    assert compiled.traces == 1
    compiled(p, 2.5)  # a new Python scalar is part of the signature: traced again
    assert compiled.traces == 2


def test_new_shapes_trace_again():
    compiled = mg.compile(mg.hessian(lambda x: mg.sum(mg.tanh(x) * x)))
    for n in (3, 4, 3):
        x = rng.standard_normal(n)
        assert_identical(compiled(x), mg.hessian(lambda x: mg.sum(mg.tanh(x) * x))(x))
    assert compiled.traces == 2 and len(compiled.plans) == 2


def test_value_dependent_masks_fall_back_to_eager():
    # relu's derivative is a mask taken from the values: a recorded gradient holds it as a constant,
    # so a plan would replay the first call's mask; the check on moved arguments sees that
    def f(x):
        return mg.sum(mg.relu(x) * x)

    eager = mg.hessian(f)
    compiled = mg.compile(eager)
    x = np.array([1.0, -2.0, 3.0, -0.5])
    assert_identical(compiled(x), eager(x))
    assert compiled.fallbacks and "eagerly" in next(iter(compiled.fallbacks.values()))
    flipped = -x
    assert_identical(compiled(flipped), eager(flipped))  # eager, so the new mask is right
    np.testing.assert_array_equal(compiled(flipped), np.diag(2.0 * (flipped > 0)))


def test_numpy_work_on_an_argument_outside_the_transforms_falls_back():
    def f(x, W):
        return mg.grad(lambda v: mg.sum(mg.tanh(v * np.abs(W).sum())))(x)  # NumPy on W: frozen in a plan

    compiled = mg.compile(f, transform=True)
    x = rng.standard_normal(5)
    assert_identical(compiled(x, W), f(x, W))
    assert compiled.fallbacks
    assert_identical(compiled(x, 2 * W), f(x, 2 * W))


def test_inside_another_transform_and_on_tensors_it_runs_eagerly():
    compiled = mg.compile(mg.grad(quadratic))
    x = rng.standard_normal(5)
    outer = mg.jacrev(lambda v: compiled(v))(x)  # the compiled gradient differentiated again
    np.testing.assert_allclose(outer, A + A.T, rtol=1e-12)
    assert compiled.traces == 0


def test_compile_of_a_transform_refuses_its_own_argnums():
    with pytest.raises(TypeError, match="argnums and has_aux belong to the transform"):
        mg.compile(mg.grad(quadratic), argnums=1)


# ----- every row of the primitive table ---------------------------------------------------------------
from table_specs import all_specs  # noqa: E402  (beside the tests that use it)

SPECS = all_specs()


def weighted_sum(f, args):
    """A scalar every output of ``f`` reaches: ``Σ_k ⟨u_k, f(xs)_k⟩`` for fixed random ``u_k``."""
    outs, _ = mg.tree_flatten(f(*args))
    r = np.random.default_rng(3)
    weights = [r.standard_normal(np.shape(o)) for o in outs]
    return lambda *xs: sum(mg.sum(o * u) for o, u in zip(mg.tree_flatten(f(*xs))[0], weights))


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_compiled_hessian_of_every_row_equals_eager_on_new_inputs(spec):
    """Forward over reverse through every primitive: the plan (or, where a derivative takes a
    constant from the values, the eager fallback) gives eager's Hessian bit for bit on inputs
    other than the traced ones."""
    f, args = spec.function(spec.inputs())
    argnums = tuple(range(len(args)))
    eager = mg.hessian(weighted_sum(f, args), argnums=argnums)
    compiled = mg.compile(eager)
    compiled(*args)
    fresh = spec.function(spec.inputs(seed=1))[1]
    with np.errstate(all="ignore"):
        assert_identical(compiled(*fresh), eager(*fresh))
    assert compiled.traces == 1


def test_most_rows_compile_and_the_fallbacks_are_the_value_dependent_ones():
    fallbacks = set()
    for spec in SPECS:
        f, args = spec.function(spec.inputs())
        compiled = mg.compile(mg.hessian(weighted_sum(f, args), argnums=tuple(range(len(args)))))
        compiled(*args)
        if compiled.fallbacks:
            fallbacks.add(spec.prim)
    assert len(fallbacks) <= 10, sorted(fallbacks)  # maxima shifts, zero handling: constants taken from values
    assert fallbacks <= {"logsumexp", "logdet", "norm", "cumprod", "max", "slogdet", "prod", "absolute"}, fallbacks


def test_a_compiled_transform_inside_another_ones_trace_is_replayed_by_the_outer_plan():
    inner = mg.compile(mg.grad(quadratic))

    def outer(x):
        return mg.jacfwd(mg.grad(logistic))(x), inner(x)

    compiled = mg.compile(outer, transform=True)
    for seed in (0, 1):
        x = inputs(0, seed)[0]
        assert_identical(compiled(x), outer(x))
    assert compiled.traces == 1 and not compiled.fallbacks


def test_batched_forward_sweep_drops_each_tangent_after_its_last_use(monkeypatch):
    from matgrad import forward

    widest = []
    original = forward._push_batched

    def spy(node, tangent_of, batch):
        widest.append(len(tangent_of))
        return original(node, tangent_of, batch)

    monkeypatch.setattr(forward, "_push_batched", spy)

    def chain(x):  # twenty elementwise steps in a row: at most a few tangents alive at once
        for _ in range(20):
            x = mg.sin(x) * 1.1
        return x

    x = rng.standard_normal(4)
    np.testing.assert_allclose(mg.jacfwd(chain)(x), mg.jacrev(chain)(x), rtol=1e-12, atol=1e-14)
    assert len(widest) == 40 and max(widest) <= 3
