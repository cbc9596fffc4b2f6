"""Correlation and convolution: values against NumPy, SciPy and a direct loop; gradients against
HIPS autograd; the notation; errors; and Conv2d/Flatten in a small CNN.

The table-wide checks (finite differences to second order in both modes, the dot-product test,
float32, the notation against the rule) run on ``table_specs/convolution.py``.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
import scipy.signal
from autograd import grad as agrad
from autograd import hessian as ahessian
from autograd.scipy.signal import convolve as aconvolve
from hypothesis import assume, given
from hypothesis import strategies as st

import matgrad as mg
from matgrad import checkpoint
from matgrad.primitives.notation import evaluate_formula, evaluate_vjp, render_formula
from table_specs import HYPOTHESIS

MODES = ["full", "same", "valid"]
seeds = st.integers(0, 2**32 - 1)
sides = st.integers(1, 6)


def _sum_against(f, r):
    """A scalar loss ⟨f(...), R⟩ with a fixed random R: every output entry gets its own weight."""

    def loss(*xs):
        out = f(*xs)
        weights = np.random.default_rng(r).standard_normal(np.shape(out))
        return (out * weights).sum()

    return loss


# ----- 1-D: NumPy's convolve and correlate ------------------------------------------------------
@HYPOTHESIS
@given(m=sides, n=sides, mode=st.sampled_from(MODES), seed=seeds)
def test_1d_values_and_gradients_match_numpy_and_autograd(m, n, mode, seed):
    r = np.random.default_rng(seed)
    a, v = r.standard_normal(m), r.standard_normal(n)
    np.testing.assert_allclose(mg.convolve(a, v, mode), np.convolve(a, v, mode), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mg.correlate(a, v, mode), np.correlate(a, v, mode), rtol=1e-12, atol=1e-12)
    # autograd has no np.convolve rule; its scipy.signal.convolve gives the full convolution, and
    # every mode is a window of it (NumPy's offsets, checked against NumPy just above)
    if mode == "full":
        ours = mg.grad(_sum_against(mg.convolve, 1), argnums=(0, 1))(a, v)
        theirs = agrad(_sum_against(lambda a, v: aconvolve(a, v, mode="full"), 1), argnum=[0, 1])(a, v)
        for o, e in zip(ours, theirs):
            np.testing.assert_allclose(o, e, rtol=1e-12, atol=1e-12)
        ours = mg.grad(_sum_against(lambda a, v: mg.correlate(a, v, "full"), 2), argnums=(0, 1))(a, v)
        theirs = agrad(_sum_against(lambda a, v: aconvolve(a, v[::-1], mode="full"), 2), argnum=[0, 1])(a, v)
        for o, e in zip(ours, theirs):
            np.testing.assert_allclose(o, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_1d_gradient_is_a_correlation_with_the_other_input(mode):
    """∂ℓ/∂a of a ∗ v is g ⋆ v on the full result; of a ⋆ v, g ⋆ flip(v) (closed forms, by NumPy)."""
    r = np.random.default_rng(7)
    a, v = r.standard_normal(6), r.standard_normal(3)
    full = np.convolve(a, v, "full")
    out = np.convolve(a, v, mode)
    start = next(s for s in range(len(full)) if np.allclose(full[s : s + len(out)], out))
    g = r.standard_normal(out.shape)
    g_full = np.zeros_like(full)
    g_full[start : start + len(out)] = g
    ga, gv = mg.vjp(lambda a, v: mg.convolve(a, v, mode), a, v)[1](g)
    np.testing.assert_allclose(ga, np.correlate(g_full, v, "valid"), rtol=1e-12)
    np.testing.assert_allclose(gv, np.correlate(g_full, a, "valid"), rtol=1e-12)
    out = np.correlate(a, v, mode)
    full = np.correlate(a, v, "full")
    start = next(s for s in range(len(full)) if np.allclose(full[s : s + len(out)], out))
    g = r.standard_normal(out.shape)
    g_full = np.zeros_like(full)
    g_full[start : start + len(out)] = g
    ga, gv = mg.vjp(lambda a, v: mg.correlate(a, v, mode), a, v)[1](g)
    np.testing.assert_allclose(ga, np.correlate(g_full, v[::-1], "valid"), rtol=1e-12)
    np.testing.assert_allclose(gv, np.correlate(a, g_full, "valid"), rtol=1e-12)


def test_convolve_reads_a_number_as_a_signal_of_length_one():
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(mg.convolve(3.0, v), np.convolve(3.0, v))
    gx = mg.grad(lambda x: mg.convolve(x, v).sum())(np.array(3.0))
    assert gx.shape == () and gx == pytest.approx(v.sum())


# ----- 2-D: SciPy's convolve2d and correlate2d --------------------------------------------------
@HYPOTHESIS
@given(
    shapes=st.tuples(st.tuples(sides, sides), st.tuples(sides, sides)).filter(
        lambda s: s[0][0] * s[0][1] <= 16 and s[1][0] * s[1][1] <= 12
    ),
    mode=st.sampled_from(MODES),
    seed=seeds,
)
def test_2d_values_match_scipy_and_gradients_match_autograd(shapes, mode, seed):
    (s1, s2), r = shapes, np.random.default_rng(seed)
    bigger = all(p >= q for p, q in zip(s1, s2))
    assume(mode != "valid" or bigger or all(p <= q for p, q in zip(s1, s2)))
    in1, in2 = r.standard_normal(s1), r.standard_normal(s2)
    for ours, theirs in ((mg.convolve2d, scipy.signal.convolve2d), (mg.correlate2d, scipy.signal.correlate2d)):
        np.testing.assert_allclose(ours(in1, in2, mode), theirs(in1, in2, mode), rtol=1e-12, atol=1e-12)
    if mode == "full" or (mode == "valid" and bigger):  # the modes autograd's convolve shares with SciPy
        ours = mg.grad(_sum_against(lambda a, b: mg.convolve2d(a, b, mode), 3), argnums=(0, 1))(in1, in2)
        theirs = agrad(_sum_against(lambda a, b: aconvolve(a, b, mode=mode), 3), argnum=[0, 1])(in1, in2)
        for o, e in zip(ours, theirs):
            np.testing.assert_allclose(o, e, rtol=1e-12, atol=1e-12)
        flip = lambda b: b[::-1, ::-1]
        ours = mg.grad(_sum_against(lambda a, b: mg.correlate2d(a, b, mode), 4), argnums=(0, 1))(in1, in2)
        theirs = agrad(_sum_against(lambda a, b: aconvolve(a, flip(b), mode=mode), 4), argnum=[0, 1])(in1, in2)
        for o, e in zip(ours, theirs):
            np.testing.assert_allclose(o, e, rtol=1e-12, atol=1e-12)


@HYPOTHESIS
@given(
    shapes=st.tuples(st.tuples(sides, sides), st.tuples(sides, sides)).filter(
        lambda s: s[0][0] * s[0][1] <= 9 and s[1][0] * s[1][1] <= 6
    ),
    mode=st.sampled_from(MODES),
    seed=seeds,
)
def test_2d_derivatives_to_second_order_over_shapes(shapes, mode, seed):
    s1, s2 = shapes
    assume(mode != "valid" or all(p >= q for p, q in zip(s1, s2)) or all(p <= q for p, q in zip(s1, s2)))
    r = np.random.default_rng(seed)
    args = [r.standard_normal(s1), r.standard_normal(s2)]
    for op in (mg.convolve2d, mg.correlate2d):
        mg.gradcheck(lambda a, b, op=op: op(a, b, mode), args, order=2, modes=("rev", "fwd"))


# ----- conv2d -------------------------------------------------------------------------------------
def loop_conv2d(x, w, stride, padding, dilation):
    """Direct conv2d: a sum over kernel positions of strided slices (autograd.numpy, so differentiable)."""
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, padding, dilation
    x = anp.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode="constant")
    kh, kw = w.shape[2:]
    ho = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = 0.0
    for i in range(kh):
        for j in range(kw):
            window = x[:, :, i * dh : i * dh + sh * (ho - 1) + 1 : sh, j * dw : j * dw + sw * (wo - 1) + 1 : sw]
            out = out + anp.einsum("nchw,oc->nohw", window, w[:, :, i, j])
    return out


@st.composite
def conv_cases(draw):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    size = tuple(draw(st.integers(1, 7)) for _ in range(2))
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    assume(all(s + sum(p) >= span for s, p, span in zip(size, padding, spans)))
    return (n, c, *size), (o, c, *kernel), stride, padding, dilation


@HYPOTHESIS
@given(case=conv_cases(), seed=seeds)
def test_conv2d_matches_a_direct_loop_and_its_autograd_gradients(case, seed):
    x_shape, w_shape, stride, padding, dilation = case
    r = np.random.default_rng(seed)
    x, w = r.standard_normal(x_shape), r.standard_normal(w_shape)
    out = mg.conv2d(x, w, stride, padding, dilation)
    np.testing.assert_allclose(out, loop_conv2d(x, w, stride, padding, dilation), rtol=1e-12, atol=1e-12)
    ours = mg.grad(_sum_against(lambda x, w: mg.conv2d(x, w, stride, padding, dilation), 5), argnums=(0, 1))(x, w)
    theirs = agrad(_sum_against(lambda x, w: loop_conv2d(x, w, stride, padding, dilation), 5), argnum=[0, 1])(x, w)
    for o, e in zip(ours, theirs):
        np.testing.assert_allclose(o, e, rtol=1e-11, atol=1e-12)


def test_conv2d_matches_autograds_scipy_convolve():
    """Stride 1, no padding: conv2d is scipy.signal.convolve over H, W with the kernel flipped,
    contracting the channels; autograd differentiates that independently."""
    r = np.random.default_rng(3)
    x, w = r.standard_normal((2, 3, 6, 5)), r.standard_normal((4, 3, 3, 2))

    def theirs(x, w):
        return aconvolve(x, w[:, :, ::-1, ::-1], axes=([2, 3], [2, 3]), dot_axes=([1], [1]), mode="valid")

    np.testing.assert_allclose(mg.conv2d(x, w), theirs(x, w), rtol=1e-12, atol=1e-12)
    ours = mg.grad(_sum_against(mg.conv2d, 6), argnums=(0, 1))(x, w)
    for o, e in zip(ours, agrad(_sum_against(theirs, 6), argnum=[0, 1])(x, w)):
        np.testing.assert_allclose(o, e, rtol=1e-12, atol=1e-12)


def test_conv2d_second_order_matches_autograd():
    """The backward pass is built from rows (im2col, col2im, matmul), so it differentiates again."""
    r = np.random.default_rng(4)
    x, w = r.standard_normal((1, 2, 4, 4)), r.standard_normal((2, 2, 2, 2))
    geometry = ((2, 1), ((1, 0), (0, 1)), (1, 2))
    ours = mg.hessian(lambda w: mg.sum(mg.tanh(mg.conv2d(x, w, *geometry))))(w)
    theirs = ahessian(lambda w: anp.sum(anp.tanh(loop_conv2d(x, w, *geometry))))(w)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    mixed = mg.grad(lambda x: mg.sum(mg.grad(lambda w: mg.sum(mg.conv2d(x, w, *geometry) ** 2))(w) ** 2))(x)
    expected = agrad(lambda x: anp.sum(agrad(lambda w: anp.sum(loop_conv2d(x, w, *geometry) ** 2))(w) ** 2))(x)
    np.testing.assert_allclose(mixed, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_input_gradient_is_a_full_correlation_with_the_flipped_kernel():
    """The classic statement, for stride 1 and no padding: ∂ℓ/∂x = g ⋆_full rot180(W), i.e. a
    'full' SciPy correlation of each g map with the flipped kernel, summed over output channels;
    and ∂ℓ/∂W is the 'valid' correlation of the input with g, summed over the batch."""
    r = np.random.default_rng(5)
    x, w = r.standard_normal((2, 2, 5, 4)), r.standard_normal((3, 2, 2, 3))
    g = r.standard_normal(mg.conv2d(x, w).shape)
    gx, gw = mg.vjp(mg.conv2d, x, w)[1](g)
    corr = scipy.signal.correlate2d
    expected_x = [
        [sum(corr(g[n, o], w[o, c, ::-1, ::-1], "full") for o in range(3)) for c in range(2)] for n in range(2)
    ]
    expected_w = [[sum(corr(x[n, c], g[n, o], "valid") for n in range(2)) for c in range(2)] for o in range(3)]
    np.testing.assert_allclose(gx, expected_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, expected_w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_keeps_the_dtype_and_casts_a_mixed_pair_back(dtype):
    r = np.random.default_rng(6)
    x = r.standard_normal((2, 3, 5, 5)).astype(dtype)
    w = r.standard_normal((4, 3, 3, 3))  # float64 weights
    gx, gw = mg.grad(lambda x, w: mg.sum(mg.conv2d(x, w, padding=1)), argnums=(0, 1))(x, w)
    assert gx.dtype == dtype and gw.dtype == np.float64
    same = w.astype(dtype)
    assert mg.conv2d(x, same).dtype == dtype
    assert all(g.dtype == dtype for g in mg.grad(lambda x, w: mg.sum(mg.conv2d(x, w)), argnums=(0, 1))(x, same))


def test_conv2d_padding_forms():
    r = np.random.default_rng(8)
    x, w = r.standard_normal((1, 1, 5, 6)), r.standard_normal((2, 1, 2, 3))
    same = mg.conv2d(x, w, padding="same")
    assert same.shape == (1, 2, 5, 6)
    # PyTorch's 'same': the odd extra row/column goes after
    np.testing.assert_allclose(same, mg.conv2d(x, w, padding=((0, 1), (1, 1))))
    np.testing.assert_allclose(mg.conv2d(x, w, padding="valid"), mg.conv2d(x, w))
    np.testing.assert_allclose(mg.conv2d(x, w, padding=(1, 2)), mg.conv2d(x, w, padding=((1, 1), (2, 2))))
    dilated = mg.conv2d(x, w, padding="same", dilation=2)
    assert dilated.shape == (1, 2, 5, 6)


# ----- the notation --------------------------------------------------------------------------------
def test_notation_states_the_classic_gradients():
    note = mg.TABLE["conv2d"].notation
    assert "correlation of g with the flipped kernel" in note.why
    assert "correlation of the input with g" in note.index[1]
    assert render_formula(note.vjp[0]) == "col2im({1}ᵀ ({g}))"
    assert render_formula(note.vjp[1]) == "Σₙ ({g}) im2col({0})ᵀ"
    assert render_formula(mg.TABLE["convolve"].notation.vjp[0]) == "patches({g}) vec({1})"
    assert "the correlation of g with the flipped kernel" in mg.TABLE["correlate"].notation.index[0]
    assert "correlation of g with the other input" in mg.TABLE["convolve2d"].notation.why


@pytest.mark.parametrize(
    ("name", "shapes", "params"),
    [
        ("convolve", [(5,), (3,)], {"mode": "same"}),
        ("correlate", [(3,), (5,)], {"mode": "same"}),
        ("convolve2d", [(3, 4), (2, 2)], {"mode": "same"}),
        ("correlate2d", [(2, 3), (3, 4)], {"mode": "valid"}),
        ("conv2d", [(2, 2, 5, 4), (3, 2, 2, 2)], {"stride": (2, 1), "padding": ((1, 0), (0, 2)), "dilation": (1, 2)}),
    ],
)
def test_notation_forward_and_jvp_formulas_compute_what_the_row_computes(name, shapes, params):
    """The expression and the JVP formulas (the VJPs are checked table-wide) evaluate to the row's numbers."""
    p = mg.TABLE[name]
    r = np.random.default_rng(9)
    xs = [r.standard_normal(s) for s in shapes]
    out = p(*xs, **params)
    env = {"out": out, **{f"x{i}": v for i, v in enumerate(xs)}}
    base = {"params": params, "shapes": shapes, "inputs": xs}
    context = {**base, "argnum": 0, "shape": shapes[0]}
    np.testing.assert_allclose(evaluate_formula(p.notation.expression, env, context), out, rtol=1e-12)
    for i in range(2):
        tangent = r.standard_normal(shapes[i])
        context = {**base, "argnum": i, "shape": shapes[i]}
        formula = evaluate_formula(p.notation.jvp[i], {**env, "t": tangent}, context)
        np.testing.assert_allclose(formula, p.jvp[i](tangent, out, *xs, **params), rtol=1e-12, atol=1e-12)
        g = r.standard_normal(out.shape)
        np.testing.assert_allclose(
            evaluate_vjp(p, i, g, out, xs, params), p.vjp[i](g, out, *xs, **params), rtol=1e-12, atol=1e-12
        )


# ----- errors ---------------------------------------------------------------------------------------
def test_conv2d_errors_name_the_shapes_and_a_fix():
    x, w = np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"input has 3 channels .* expects 2 .*transpose\(0, 3, 1, 2\)"):
        mg.conv2d(x, w)
    with pytest.raises(ValueError, match=r"input must be 4-D \(N, C, H, W\)"):
        mg.conv2d(np.zeros((3, 5, 5)), w)
    with pytest.raises(ValueError, match=r"kernel spans \(7, 3\).* padded input is only \(5, 5\)"):
        mg.conv2d(np.zeros((1, 2, 5, 5)), w, dilation=(3, 1))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        mg.conv2d(np.zeros((1, 2, 5, 5)), w, stride=2, padding="same")
    with pytest.raises(ValueError, match="stride must be an int or a pair"):
        mg.conv2d(np.zeros((1, 2, 5, 5)), w, stride=(1, 2, 3))
    with pytest.raises(ValueError, match="conv2d: .*stride must be positive"):
        mg.conv2d(np.zeros((1, 2, 5, 5)), w, stride=0)


def test_signal_errors():
    with pytest.raises(ValueError, match="mode must be one of 'valid', 'same' or 'full', got 'SAME'"):
        mg.convolve(np.ones(3), np.ones(2), "SAME")
    with pytest.raises(ValueError, match="convolve: inputs must be 1-D signals.*convolve2d"):
        mg.convolve(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="inputs must not be empty"):
        mg.correlate(np.ones(0), np.ones(2))
    with pytest.raises(ValueError, match=r"'valid' mode one input must be at least as large .*\(2, 5\) and \(3, 3\)"):
        mg.correlate2d(np.ones((2, 5)), np.ones((3, 3)), "valid")
    with pytest.raises(ValueError, match="inputs must both be 2-D"):
        mg.convolve2d(np.ones(3), np.ones((2, 2)))
    with pytest.raises(NotImplementedError, match="only boundary='fill' with fillvalue=0"):
        mg.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap")
    with pytest.raises(NotImplementedError, match="fillvalue=1"):
        mg.correlate2d(np.ones((3, 3)), np.ones((2, 2)), fillvalue=1)


# ----- Conv2d and Flatten: a small CNN ------------------------------------------------------------
def bars(n, rng):
    """6×6 images of a vertical (class 0) or horizontal (class 1) bar, with noise."""
    labels = rng.integers(0, 2, n)
    images = 0.1 * rng.standard_normal((n, 1, 6, 6))
    where = rng.integers(0, 6, n)
    for k in range(n):
        if labels[k]:
            images[k, 0, where[k], :] += 1.0
        else:
            images[k, 0, :, where[k]] += 1.0
    return images.astype(np.float32), labels


def test_a_small_cnn_learns_bars():
    rng = np.random.default_rng(0)
    model = mg.nn.Sequential(
        mg.nn.Conv2d(1, 4, 3, padding=1, rng=1),
        mg.nn.ReLU(),
        mg.nn.Conv2d(4, 4, (2, 2), stride=2, rng=2),
        mg.nn.ReLU(),
        mg.nn.Flatten(),
        mg.nn.Linear(4 * 3 * 3, 2, rng=3),
    )
    images, labels = bars(32, rng)
    loss_of = mg.nn.CrossEntropyLoss()
    optimizer = mg.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = loss_of(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    assert model[0].W.grad.dtype == np.float32 and model[0].W.grad.shape == (4, 1, 3, 3)
    assert losses[-1] < 0.5 * losses[0]
    assert np.all(np.isfinite(losses))


def test_conv2d_layer_shapes_bias_and_single_image():
    layer = mg.nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), rng=0)
    assert layer.W.shape == (3, 2, 3, 2) and layer.b.shape == (3,) and layer.W.dtype == np.float32
    x = np.random.default_rng(1).standard_normal((4, 2, 7, 5))
    y = layer(x)
    assert y.shape == (4, 3, 4, 4) and y.dtype == np.float32
    expected = mg.conv2d(x.astype(np.float32), layer.W.data, (2, 1), (1, 0)) + layer.b.data[:, None, None]
    np.testing.assert_allclose(y.data, expected, rtol=1e-6)
    np.testing.assert_allclose(layer(x[0]).data, y.data[0], rtol=1e-6)
    assert mg.nn.Conv2d(2, 3, 3, bias=False).b is None
    assert [name for name, _ in layer.named_parameters()] == ["W", "b"]
    with pytest.raises(ValueError, match=r"expected \(N, 2, H, W\), channels first"):
        layer(np.zeros((4, 7, 5, 2)))
    with pytest.raises(ValueError, match="kernel_size must be a positive int"):
        mg.nn.Conv2d(2, 3, 0)


def test_conv2d_init_uses_the_fan_in_of_a_patch():
    layer = mg.nn.Conv2d(8, 16, 3, init="he", rng=0, dtype=np.float64)
    std = layer.W.data.std()
    assert std == pytest.approx(np.sqrt(2 / (8 * 9)), rel=0.1)


def test_conv2d_state_dict_round_trip(tmp_path):
    layer = mg.nn.Conv2d(3, 5, 3, padding="same", rng=0)
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6))
    state = layer.state_dict()
    assert set(state) == {"W", "b"} and state["W"].shape == (5, 3, 3, 3)
    path = checkpoint.save(tmp_path / "conv.npz", {"model": layer.config()}, {"model": state})
    loaded = checkpoint.load(path)
    config = loaded.meta["model"]
    rebuilt = mg.nn.Conv2d(**{k: v for k, v in config.items() if k != "type"}, rng=99)
    assert not np.array_equal(rebuilt.W.data, layer.W.data)
    rebuilt.load_state_dict(loaded.section("model"))
    np.testing.assert_array_equal(rebuilt(x).data, layer(x).data)
    assert rebuilt.config() == layer.config()
    with pytest.raises(ValueError, match=r"W: expected shape \(5, 3, 3, 3\), got \(5, 3, 2, 2\)"):
        rebuilt.load_state_dict({"W": np.zeros((5, 3, 2, 2), np.float32), "b": state["b"]})


def test_flatten():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    assert mg.nn.Flatten()(x).shape == (2, 12)
    assert mg.nn.Flatten(0, 1)(x).shape == (6, 2, 2)
    assert mg.nn.Flatten(1, 2)(x).shape == (2, 6, 2)
    t = mg.tensor(x, requires_grad=True)
    mg.sum(mg.nn.Flatten()(t) * np.arange(12.0)).backward()
    np.testing.assert_array_equal(t.grad, np.broadcast_to(np.arange(12.0).reshape(3, 2, 2), x.shape))
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        mg.nn.Flatten(2, 1)(x)
