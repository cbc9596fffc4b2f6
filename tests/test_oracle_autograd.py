"""HIPS autograd as an independent oracle for matgrad's derivatives.

Each case is written once against a namespace ``np_`` and runs unchanged in both libraries:
``AG`` is ``autograd.numpy`` (plus a few functions autograd spells differently, built from its
own primitives so that autograd differentiates them itself) and ``MG`` adapts matgrad's
keyword-only parameters.  Operators (``+ - * / ** @``), ``.T`` and indexing are shared.

For every case: the values agree, ``mg.jacrev`` and ``mg.jacfwd`` agree with
``autograd.jacobian``, ``mg.grad`` and ``Tensor.backward()`` agree with ``autograd.grad`` on
``⟨c, f⟩`` for a random cotangent ``c``, ``mg.vjp``/``mg.jvp`` agree with autograd's VJP and
Jacobian; the Hessian of ``⟨c, f⟩`` by four compositions of matgrad's transforms
(``mg.hessian`` = forward-over-reverse, reverse-over-reverse, forward-over-forward,
reverse-over-forward) agrees with ``autograd.hessian``, and mixed second derivatives across two
arguments agree with ``autograd.jacobian(autograd.grad(…))``.  All at float64, rtol 1e-10.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.differential_operators import make_jvp_reversemode
from numpy.testing import assert_allclose

import matgrad as mg


def ag_logsumexp(x, axis=None, keepdims=False):
    """logsumexp in autograd.numpy, shifted by the maximum (autograd.scipy would need SciPy)."""
    shift = anp.max(x, axis=axis, keepdims=True)
    out = anp.log(anp.sum(anp.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else anp.squeeze(out, axis=axis)


close = functools.partial(assert_allclose, rtol=1e-10, atol=1e-12)

# autograd warns when a derivative is identically zero (the Hessian of a linear function)
pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input:UserWarning")


# ----- the two namespaces --------------------------------------------------------------------
def _ag_log_softmax(x, axis=-1):
    return x - ag_logsumexp(x, axis=axis, keepdims=True)


def _ag_softmax(x, axis=-1):
    return anp.exp(_ag_log_softmax(x, axis=axis))


def _ag_where(c, x, y):
    # autograd's where rule does not sum the gradient over broadcast axes: broadcast first
    zeros = anp.zeros(np.broadcast_shapes(np.shape(c), anp.shape(x), anp.shape(y)))
    return anp.where(c, x + zeros, y + zeros)


def _ag_transpose(x, axes=None):
    # autograd's transpose rule inverts negative axes wrongly: give it non-negative ones
    return anp.transpose(x, None if axes is None else tuple(a % anp.ndim(x) for a in axes))


def _ag_cross_entropy(z, targets):
    if isinstance(targets, np.ndarray) and np.issubdtype(targets.dtype, np.integer):
        return -anp.mean(_ag_log_softmax(z, axis=-1)[np.arange(len(targets)), targets])
    return -anp.mean(anp.sum(targets * _ag_log_softmax(z, axis=-1), axis=-1))


AG = SimpleNamespace(
    name="autograd",
    exp=anp.exp,
    log=anp.log,
    sqrt=anp.sqrt,
    abs=anp.abs,
    tanh=anp.tanh,
    sigmoid=lambda x: 0.5 * (anp.tanh(0.5 * x) + 1.0),
    relu=lambda x: anp.maximum(x, 0.0),
    leaky_relu=lambda x, slope: anp.where(x > 0, x, slope * x),
    softplus=lambda x: anp.logaddexp(0.0, x),
    sum=anp.sum,
    mean=anp.mean,
    max=anp.max,
    min=anp.min,
    maximum=anp.maximum,
    minimum=anp.minimum,
    where=_ag_where,
    clip=lambda x, lo, hi: anp.clip(x, lo, hi),
    logsumexp=ag_logsumexp,
    softmax=_ag_softmax,
    log_softmax=_ag_log_softmax,
    cross_entropy=_ag_cross_entropy,
    concatenate=anp.concatenate,
    stack=anp.stack,
    reshape=anp.reshape,
    transpose=_ag_transpose,
    broadcast_to=lambda x, shape: x + anp.zeros(shape),  # autograd's rule cannot add leading axes
    swapaxes=anp.swapaxes,
    expand_dims=anp.expand_dims,
    squeeze=anp.squeeze,
    matmul=anp.matmul,
)

MG = SimpleNamespace(
    name="matgrad",
    exp=mg.exp,
    log=mg.log,
    sqrt=mg.sqrt,
    abs=mg.abs,
    tanh=mg.tanh,
    sigmoid=mg.sigmoid,
    relu=mg.relu,
    leaky_relu=lambda x, slope: mg.leaky_relu(x, slope=slope),
    softplus=mg.softplus,
    sum=mg.sum,
    mean=mg.mean,
    max=mg.max,
    min=mg.min,
    maximum=mg.maximum,
    minimum=mg.minimum,
    where=mg.where,
    clip=lambda x, lo, hi: mg.clip(x, lo=lo, hi=hi),
    logsumexp=mg.logsumexp,
    softmax=mg.softmax,
    log_softmax=mg.log_softmax,
    cross_entropy=mg.cross_entropy,
    concatenate=mg.concatenate,
    stack=mg.stack,
    reshape=lambda x, shape: mg.reshape(x, shape=shape),
    transpose=lambda x, axes=None: mg.transpose(x, axes=axes),
    broadcast_to=lambda x, shape: mg.broadcast_to(x, shape=shape),
    swapaxes=mg.swapaxes,
    expand_dims=mg.expand_dims,
    squeeze=mg.squeeze,
    matmul=mg.matmul,
)


# ----- the table of cases --------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """``fn(np_, *args)``; every argument is a float64 array that gets differentiated."""

    name: str
    fn: Callable
    shapes: tuple
    domain: str = "real"  # "real": N(0, 1); "positive": U(0.5, 2); "ties": small integers
    small: bool = True  # False: too many entries for full Jacobians and Hessians

    def args(self) -> tuple[np.ndarray, ...]:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        if self.domain == "positive":
            return tuple(rng.uniform(0.5, 2.0, size=s) for s in self.shapes)
        if self.domain == "simplex":  # rows that are probability distributions
            return tuple(np.exp(a) / np.exp(a).sum(-1, keepdims=True) for a in map(rng.standard_normal, self.shapes))
        if self.domain == "ties":
            return tuple(rng.integers(-2, 3, size=s).astype(np.float64) for s in self.shapes)
        return tuple(rng.standard_normal(s) for s in self.shapes)

    def bind(self, np_: SimpleNamespace) -> Callable:
        return functools.partial(self.fn, np_)


rng0 = np.random.default_rng(2024)
LABELS = np.array([2, 0, 3, 3, 1])
COND = rng0.standard_normal((3, 4)) > 0
IDX = np.array([0, 2, 2, 4, 1, 0])  # repeats: their gradients must add
ROWS, COLS = np.array([0, 2, 1, 2]), np.array([3, 0, 3, 3])
MASK = rng0.standard_normal((3, 4)) > 0
H0 = rng0.standard_normal((6, 4))  # seed 000 (batch-first rows)
YSTAR0 = rng0.uniform(-0.9, 0.9, size=(6, 3))
X1 = rng0.standard_normal((4, 1))  # seed 001 (one column)
Y1 = rng0.uniform(size=(3, 1))
XB = rng0.standard_normal((5, 4))  # a batch of rows for the cross-entropy network
H2 = rng0.standard_normal((5, 1))  # seed 002
Y2 = rng0.uniform(size=(4, 1))


def _seed000_rows(np_, W, B):
    E = np_.sigmoid(H0 @ W + B) - YSTAR0
    return 0.5 * np_.sum(E * E)


def _seed001_columns(np_, W1, b1, W2, b2):
    a1 = np_.sigmoid(W1 @ X1 + b1)
    a2 = np_.sigmoid(W2 @ a1 + b2)
    return 0.5 * np_.sum((Y1 - a2) ** 2)


def _seed002_regularized(np_, W, b):
    a = b + W @ H2
    return 0.5 * np_.sum((np_.sigmoid(a) - Y2) ** 2) + 0.1 * 0.5 * np_.sum(W * W)


def _softmax_ce_mlp(np_, W1, b1, W2, b2):
    return np_.cross_entropy(np_.tanh(XB @ W1 + b1) @ W2 + b2, LABELS)


def _three_layers(np_, W1, W2, W3, x):
    h1 = np_.tanh(W1 @ x)
    h2 = np_.relu(W2 @ h1)
    return np_.softplus(W3 @ h2)


def _layer_norm(np_, x, gamma):
    mu = np_.mean(x, axis=-1, keepdims=True)
    var = np_.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return gamma * (x - mu) / np_.sqrt(var + 1e-5)


def _attention(np_, Q, K, V):
    scores = Q @ np_.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    return np_.softmax(scores, axis=-1) @ V


PRIMITIVES = [
    Case("add_broadcast_row", lambda np_, x, y: x + y, ((3, 4), (4,))),
    Case("add_outer_broadcast", lambda np_, x, y: x + y, ((3, 1), (1, 4))),
    Case("sub_broadcast", lambda np_, x, y: x - y, ((2, 3, 4), (3, 1))),
    Case("mul_broadcast", lambda np_, x, y: x * y, ((2, 3, 4), (3, 1))),
    Case("div_broadcast", lambda np_, x, y: x / y, ((3, 4), (4,)), "positive"),
    Case("rdiv_scalar", lambda np_, x: 2.0 / x, ((5,),), "positive"),
    Case("power_tensor_exponent", lambda np_, x, y: x**y, ((3, 4), (3, 4)), "positive"),
    Case("power_broadcast_exponent", lambda np_, x, y: x**y, ((3, 4), (4,)), "positive"),
    Case("power_scalar_exponents", lambda np_, x: x**3 + x**-1.5, ((5,),), "positive"),
    Case("rpow", lambda np_, x: 2.0**x, ((4,),)),
    Case("neg", lambda np_, x: -x, ((3, 2),)),
    Case("exp", lambda np_, x: np_.exp(x), ((3, 4),)),
    Case("log", lambda np_, x: np_.log(x), ((3, 4),), "positive"),
    Case("sqrt", lambda np_, x: np_.sqrt(x), ((3, 4),), "positive"),
    Case("abs", lambda np_, x: np_.abs(x), ((3, 4),)),
    Case("tanh", lambda np_, x: np_.tanh(x), ((3, 4),)),
    Case("sigmoid", lambda np_, x: np_.sigmoid(x), ((3, 4),)),
    Case("relu", lambda np_, x: np_.relu(x), ((3, 4),)),
    Case("leaky_relu", lambda np_, x: np_.leaky_relu(x, slope=0.1), ((3, 4),)),
    Case("softplus", lambda np_, x: np_.softplus(x), ((3, 4),)),
    Case("maximum_with_ties", lambda np_, x, y: np_.maximum(x, y), ((3, 4), (3, 4)), "ties"),
    Case("minimum_broadcast", lambda np_, x, y: np_.minimum(x, y), ((3, 4), (4,))),
    Case("minimum_broadcast_ties", lambda np_, x, y: np_.minimum(x, y), ((3, 4), (4,)), "ties"),
    Case("where", lambda np_, x, y: np_.where(COND, x, y), ((3, 4), (3, 4))),
    Case("where_broadcast", lambda np_, x, y: np_.where(COND, x, y), ((3, 4), (4,))),
    Case("clip", lambda np_, x: np_.clip(x, lo=-0.5, hi=0.7), ((4, 5),)),
    Case("clip_lower_only", lambda np_, x: np_.clip(x, lo=-0.2, hi=None), ((3, 4),)),
    Case("sum_axis_keepdims", lambda np_, x: np_.sum(x, axis=1, keepdims=True), ((3, 4, 2),)),
    Case("sum_all", lambda np_, x: np_.sum(x**2), ((3, 4),)),
    Case("sum_large_broadcast_back", lambda np_, x: np_.sum(x, axis=0) ** 2, ((200, 100),), small=False),
    Case("mean_large_all", lambda np_, x: np_.mean(np_.tanh(x)), ((150, 120),), small=False),
    Case("mean_axes", lambda np_, x: np_.mean(x, axis=(0, 2)), ((3, 4, 2),)),
    Case("max_axis", lambda np_, x: np_.max(x, axis=1), ((4, 5),)),
    Case("max_axis_keepdims", lambda np_, x: np_.max(x, axis=0, keepdims=True), ((4, 5),)),
    Case("max_with_ties", lambda np_, x: np_.max(x, axis=1), ((4, 6),), "ties"),
    Case("max_all_keepdims", lambda np_, x: np_.max(x, axis=None, keepdims=True), ((3, 4),)),
    Case("max_all_with_ties", lambda np_, x: np_.max(x), ((3, 4),), "ties"),
    Case("min_axis", lambda np_, x: np_.min(x, axis=-1), ((3, 5),)),
    Case("min_with_ties", lambda np_, x: np_.min(x, axis=0), ((5, 3),), "ties"),
    Case("logsumexp_axis", lambda np_, x: np_.logsumexp(x, axis=1), ((4, 5),)),
    Case("logsumexp_keepdims", lambda np_, x: np_.logsumexp(x, axis=0, keepdims=True), ((4, 5),)),
    Case("logsumexp_axes", lambda np_, x: np_.logsumexp(x, axis=(0, 2)), ((2, 3, 4),)),
    Case("logsumexp_all", lambda np_, x: np_.logsumexp(x), ((3, 4),)),
    Case("softmax", lambda np_, x: np_.softmax(x, axis=0), ((4, 3),)),
    Case("softmax_3d", lambda np_, x: np_.softmax(x, axis=1), ((2, 3, 4),)),
    Case("log_softmax", lambda np_, x: np_.log_softmax(x, axis=-1), ((3, 4),)),
    Case("log_softmax_axis0", lambda np_, x: np_.log_softmax(x, axis=0), ((3, 4),)),
    Case("cross_entropy", lambda np_, z: np_.cross_entropy(z, LABELS), ((5, 4),)),
    Case("cross_entropy_soft_targets", lambda np_, z, p: np_.cross_entropy(z, p), ((5, 4), (5, 4)), "simplex"),
    Case("matmul_matrix_matrix", lambda np_, a, b: a @ b, ((3, 4), (4, 2))),
    Case("matmul_matrix_vector", lambda np_, a, b: a @ b, ((3, 4), (4,))),
    Case("matmul_vector_matrix", lambda np_, a, b: a @ b, ((4,), (4, 3))),
    Case("matmul_vector_vector", lambda np_, a, b: a @ b, ((4,), (4,))),
    Case("matmul_batch_matrix", lambda np_, a, b: a @ b, ((2, 3, 4), (4, 2))),
    Case("matmul_batch_broadcast", lambda np_, a, b: np_.matmul(a, b), ((2, 1, 3, 4), (3, 4, 2))),
    Case("matmul_both_broadcast", lambda np_, a, b: a @ b, ((3, 1, 2, 4), (1, 5, 4, 2))),
    Case("matmul_self_transpose", lambda np_, x: x @ x.T, ((3, 4),)),
    Case("matmul_batch_vector", lambda np_, a, b: a @ b, ((2, 3, 4), (4,))),
    Case("matmul_vector_batch", lambda np_, a, b: a @ b, ((3,), (2, 3, 4))),
    Case("transpose_T", lambda np_, x: x.T, ((3, 4),)),
    Case("transpose_axes", lambda np_, x: np_.transpose(x, (2, 0, 1)), ((2, 3, 4),)),
    Case("transpose_negative_axes", lambda np_, x: np_.transpose(x, (-1, 0, -2)), ((2, 3, 4),)),
    Case("swapaxes", lambda np_, x: np_.swapaxes(x, 0, 2), ((2, 3, 4),)),
    Case("reshape", lambda np_, x: np_.reshape(x, (6, 2)), ((3, 4),)),
    Case("expand_squeeze", lambda np_, x: np_.squeeze(np_.expand_dims(x, axis=1), axis=1) * x, ((3, 4),)),
    Case("broadcast_to", lambda np_, x: np_.broadcast_to(x, (2, 3, 4)) * 1.5, ((3, 1),)),
    Case("broadcast_to_large", lambda np_, x: np_.broadcast_to(x, (2, 130, 70)) * 1.5, ((130, 1),), small=False),
    Case("add_large_broadcast", lambda np_, x, y: x + y, ((300, 1), (80,)), small=False),
    Case("getitem_int_array_repeats", lambda np_, x: x[IDX] * 2.0, ((5, 3),)),
    Case("getitem_2d_fancy", lambda np_, x: x[ROWS, COLS], ((3, 4),)),
    Case("getitem_slice_and_array", lambda np_, x: x[1:, IDX[:3]], ((3, 5),)),
    Case("getitem_bool_mask", lambda np_, x: x[MASK], ((3, 4),)),
    Case("getitem_ellipsis_array", lambda np_, x: x[..., IDX[:4]], ((2, 3, 5),)),
    Case("getitem_newaxis_broadcast", lambda np_, x, y: x[:, None] * y, ((3, 4), (5, 4))),
    Case("getitem_basic", lambda np_, x: x[0, 1:3] + x[-1], ((3, 2),)),
    Case("concatenate", lambda np_, x, y: np_.concatenate([x, y, x], axis=1), ((3, 2), (3, 4))),
    Case("stack", lambda np_, x, y: np_.stack([x, y], axis=-1), ((3, 4), (3, 4))),
    Case("stack_repeated_input", lambda np_, x, y: np_.stack([x, y, x], axis=1), ((3, 2), (3, 2))),
    Case("concatenate_negative_axis", lambda np_, x, y: np_.concatenate([x, y], axis=-2), ((2, 3), (4, 3))),
]

COMPOSITES = [
    Case("seed000_row_layout_loss", _seed000_rows, ((4, 3), (1, 3))),
    Case("seed001_column_layout_loss", _seed001_columns, ((5, 4), (5, 1), (3, 5), (3, 1))),
    Case("seed002_l2_regularized_loss", _seed002_regularized, ((4, 5), (4, 1))),
    Case("softmax_cross_entropy_mlp", _softmax_ce_mlp, ((4, 3), (3,), (3, 4), (4,))),
    Case(
        "logsumexp_axis_log_partition",
        lambda np_, x, W: np_.mean(np_.logsumexp(x @ W, axis=1)),
        ((5, 3), (3, 4)),
    ),
    Case("residual_block", lambda np_, x, W: x + np_.tanh(W @ x), ((4,), (4, 4))),
    Case("residual_block_columns", lambda np_, X, W: X + np_.tanh(W @ X), ((4, 3), (4, 4))),
    Case("three_layers", _three_layers, ((5, 4), (3, 5), (2, 3), (4,))),
    Case("layer_norm", _layer_norm, ((3, 5), (5,))),
    Case("attention", _attention, ((2, 3, 4), (2, 5, 4), (2, 5, 2))),
    Case(
        "max_pool_and_clip",
        lambda np_, x: np_.sum(np_.clip(np_.max(x, axis=-1), lo=-0.3, hi=1.0) ** 2),
        ((4, 5),),
    ),
]

CASES = PRIMITIVES + COMPOSITES
SMALL = [c for c in CASES if c.small]
cases = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
small_cases = pytest.mark.parametrize("case", SMALL, ids=lambda c: c.name)


def _cotangent(case: Case, args: tuple[np.ndarray, ...]) -> np.ndarray:
    out_shape = np.shape(case.bind(AG)(*args))
    return np.random.default_rng(zlib.crc32(b"cot" + case.name.encode())).standard_normal(out_shape)


def _scalarized(case: Case, np_: SimpleNamespace, cot: np.ndarray) -> Callable:
    """⟨c, f(…)⟩ = Σ c ⊙ f(…): a scalar whose gradient is the VJP of f with c."""
    f = case.bind(np_)
    return lambda *args: np_.sum(f(*args) * cot)


# ----- the tests -----------------------------------------------------------------------------
def test_enough_primitives_and_composites() -> None:
    assert len(PRIMITIVES) >= 15 and len(COMPOSITES) >= 5
    assert len({c.name for c in CASES}) == len(CASES)


@cases
def test_values_agree(case: Case) -> None:
    args = case.args()
    got = case.bind(MG)(*(mg.tensor(a) for a in args))
    want = case.bind(AG)(*args)
    assert isinstance(got, mg.Tensor)
    assert got.shape == np.shape(want)
    close(got.data, want)


@small_cases
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobian_agrees(case: Case, transform: str) -> None:
    args = case.args()
    for i in range(len(args)):
        want = autograd.jacobian(case.bind(AG), i)(*args)
        got = getattr(mg, transform)(case.bind(MG), argnums=i)(*args)
        assert isinstance(got, np.ndarray)
        assert got.shape == want.shape, (i, got.shape, want.shape)
        close(got, want, err_msg=f"argument {i}")


@cases
@pytest.mark.parametrize("engine", ["grad", "backward"])
def test_gradient_of_random_projection_agrees(case: Case, engine: str) -> None:
    args = case.args()
    cot = _cotangent(case, args)
    s_mg, s_ag = _scalarized(case, MG, cot), _scalarized(case, AG, cot)
    if engine == "grad":
        got = mg.grad(s_mg, argnums=tuple(range(len(args))))(*args)
    else:
        leaves = [mg.tensor(a, requires_grad=True) for a in args]
        s_mg(*leaves).backward()
        got = tuple(leaf.grad for leaf in leaves)
    for i, g in enumerate(got):
        want = autograd.grad(s_ag, i)(*args)
        assert isinstance(g, np.ndarray) and g.shape == args[i].shape
        close(g, want, err_msg=f"argument {i}")


@cases
def test_vjp_and_jvp_agree(case: Case) -> None:
    args = case.args()
    cot = _cotangent(case, args)
    f_mg, f_ag = case.bind(MG), case.bind(AG)
    value, vjp_fn = mg.vjp(f_mg, *args)
    close(value, f_ag(*args))
    got = vjp_fn(cot)
    assert len(got) == len(args)
    for i, g in enumerate(got):
        ag_vjp, _ = autograd.make_vjp(f_ag, i)(*args)
        close(g, ag_vjp(cot), err_msg=f"argument {i}")

    rng = np.random.default_rng(zlib.crc32(b"tan" + case.name.encode()))
    tangents = [rng.standard_normal(a.shape) for a in args]
    _, got_t = mg.jvp(f_mg, args, tangents)
    want_t = sum(make_jvp_reversemode(f_ag, i)(*args)(t) for i, t in enumerate(tangents))
    close(got_t, want_t)


def _hessian_by(order: str, f: Callable, i: int) -> Callable:
    if order == "fwd_over_rev":
        return mg.hessian(f, argnums=i)
    if order == "rev_over_rev":
        return mg.jacrev(mg.grad(f, argnums=i), argnums=i)
    if order == "fwd_over_fwd":
        return mg.jacfwd(mg.jacfwd(f, argnums=i), argnums=i)
    if order == "rev_over_fwd":
        return mg.jacrev(mg.jacfwd(f, argnums=i), argnums=i)
    raise ValueError(order)


@small_cases
@pytest.mark.parametrize("order", ["fwd_over_rev", "rev_over_rev", "fwd_over_fwd", "rev_over_fwd"])
def test_hessian_agrees(case: Case, order: str) -> None:
    args = case.args()
    cot = _cotangent(case, args)
    s_mg, s_ag = _scalarized(case, MG, cot), _scalarized(case, AG, cot)
    for i in range(len(args)):
        want = autograd.hessian(s_ag, i)(*args)
        got = _hessian_by(order, s_mg, i)(*args)
        assert got.shape == args[i].shape * 2
        close(got, want, err_msg=f"argument {i}")


@pytest.mark.parametrize("case", [c for c in SMALL if len(c.shapes) > 1], ids=lambda c: c.name)
def test_mixed_second_derivatives_agree(case: Case) -> None:
    """∂²s/∂x₀∂x₁, by forward-over-reverse across two different arguments."""
    args = case.args()
    cot = _cotangent(case, args)
    s_mg, s_ag = _scalarized(case, MG, cot), _scalarized(case, AG, cot)
    want = autograd.jacobian(autograd.grad(s_ag, 0), 1)(*args)
    got = mg.jacfwd(mg.grad(s_mg, argnums=0), argnums=1)(*args)
    assert got.shape == args[0].shape + args[1].shape
    close(got, want)
    got_rev = mg.jacrev(mg.grad(s_mg, argnums=0), argnums=1)(*args)
    close(got_rev, want)
