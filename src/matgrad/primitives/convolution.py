"""Correlation and convolution: 1-D (NumPy's), 2-D (SciPy's) and batched NCHW (PyTorch's conv2d).

Every row is linear in each input (its JVP is the row applied to the tangent) and every VJP is
again a correlation or a convolution, computed by the rows themselves:

- a mode's output is a window of the full result, at offset ``s`` and of length ``L`` on each axis
  (:func:`_numpy_window`, :func:`_scipy_window`); g is put back at ``s`` in zeros of the full
  shape (``scatter_add``) and correlated, in mode 'valid', with the other input;
- the gradient of a convolution with respect to either input is the correlation of g with the
  other input (``∂ℓ/∂a_k = Σ_n g_n v_{n+s−k}``); the gradient of a correlation with respect to
  its signal is the correlation of g with the flipped kernel (a convolution of g with the
  kernel), and with respect to its kernel the correlation of the signal with g;
- ``conv2d`` (a cross-correlation, as in CNNs) is one matrix product per example, ``W X̂`` with
  ``X̂ = im2col(x)`` the patches of x as columns (sliding_window_view, then one copy).  As for a
  linear layer, ``∂ℓ/∂W = Σₙ G X̂ᵀ`` (a correlation of the input with g) and
  ``∂ℓ/∂x = col2im(Wᵀ G)``: each patch's gradient is added back where the patch came from (a
  strided accumulation over the kernel positions), which is the correlation of g, dilated by the
  stride, with the flipped kernel: a transposed convolution.

The backward rules use only rows (``im2col``, ``col2im``, ``matmul``, ``scatter_add``, ``getitem``
and these), so a backward pass can itself be differentiated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .composites import as_array
from .core import Primitive, register, shape_of, value
from .elementwise import astype
from .notation import custom, g, linear, structural, t
from .notation import x as inputs
from .shape import getitem, scatter_add

__all__ = ["conv2d", "convolve", "convolve2d", "correlate", "correlate2d"]

x0, x1 = inputs[:2]
_MODES = ("valid", "same", "full")
Window = Callable[[int, int, str], tuple[int, int]]


# ----- where each mode's output sits in the full result ---------------------------------------
def _mode(mode: Any, owner: str) -> str:
    if mode not in _MODES:
        raise ValueError(f"{owner}: mode must be one of 'valid', 'same' or 'full', got {mode!r}")
    return mode


def _numpy_convolve_window(m: int, n: int, mode: str) -> tuple[int, int]:
    """Offset and length of np.convolve's output in the full convolution (lengths m, n)."""
    p, q = max(m, n), min(m, n)
    if mode == "full":
        return 0, m + n - 1
    if mode == "valid":
        return q - 1, p - q + 1
    return (q - 1) // 2, p  # same: centred, the longer input's length


def _numpy_correlate_window(m: int, n: int, mode: str) -> tuple[int, int]:
    """Offset and length of np.correlate's output in the full correlation."""
    if mode == "same":
        return ((n - 1) // 2 if m >= n else m // 2), max(m, n)
    return _numpy_convolve_window(m, n, mode)


def _scipy_convolve_window(m: int, n: int, mode: str) -> tuple[int, int]:
    """Offset and length of scipy.signal.convolve2d's output along one axis."""
    if mode == "same":
        return (n - 1) // 2, m  # centred, in1's size
    return _numpy_convolve_window(m, n, mode)


def _scipy_correlate_window(m: int, n: int, mode: str) -> tuple[int, int]:
    if mode == "same":
        return n // 2, m
    return _numpy_convolve_window(m, n, mode)


def _signal_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape or (1,)  # np.convolve reads a number as a signal of length 1


def _spans(shapes: Sequence[tuple[int, ...]], mode: str, window: Window) -> list[tuple[int, int]]:
    a, v = (_signal_shape(tuple(s)) for s in shapes)
    return [window(m, n, mode) for m, n in zip(a, v)]


# ----- forward computations ---------------------------------------------------------------------
def _sliding_correlate(x: np.ndarray, k: np.ndarray, start: Sequence[int], size: Sequence[int]) -> np.ndarray:
    """``out[n] = Σ_j x[start + n + j] k[j]`` on every axis, x taken as 0 outside its bounds."""
    lo = [max(0, -s) for s in start]
    hi = [max(0, s + n + kn - 1 - xn) for s, n, kn, xn in zip(start, size, k.shape, x.shape)]
    if any(lo) or any(hi):
        x = np.pad(x, list(zip(lo, hi)))
    windows = sliding_window_view(x, k.shape)[tuple(slice(s + p, s + p + n) for s, p, n in zip(start, lo, size))]
    return np.tensordot(windows, k, axes=k.ndim)  # the patches as one matrix, times the kernel


def _check_2d(in1: Any, in2: Any, mode: str, owner: str) -> tuple[np.ndarray, np.ndarray]:
    in1, in2 = np.asarray(in1), np.asarray(in2)
    if in1.ndim != 2 or in2.ndim != 2:
        raise ValueError(f"{owner}: inputs must both be 2-D arrays, got shapes {in1.shape} and {in2.shape}")
    if mode == "valid" and not (
        all(a >= b for a, b in zip(in1.shape, in2.shape)) or all(a <= b for a, b in zip(in1.shape, in2.shape))
    ):
        raise ValueError(
            f"{owner}: for 'valid' mode one input must be at least as large as the other in every "
            f"dimension, got shapes {in1.shape} and {in2.shape}"
        )
    if in1.size == 0 or in2.size == 0:
        raise ValueError(f"{owner}: inputs must not be empty, got shapes {in1.shape} and {in2.shape}")
    return in1, in2


def _convolve2d_forward(in1: Any, in2: Any, mode: str = "full") -> np.ndarray:
    in1, in2 = _check_2d(in1, in2, _mode(mode, "convolve2d"), "convolve2d")
    spans = _spans((in1.shape, in2.shape), mode, _scipy_convolve_window)
    start = [s - (n - 1) for (s, _), n in zip(spans, in2.shape)]  # full index m ↔ window start m − (n − 1)
    return _sliding_correlate(in1, in2[::-1, ::-1], start, [n for _, n in spans])


def _correlate2d_forward(in1: Any, in2: Any, mode: str = "full") -> np.ndarray:
    in1, in2 = _check_2d(in1, in2, _mode(mode, "correlate2d"), "correlate2d")
    spans = _spans((in1.shape, in2.shape), mode, _scipy_correlate_window)
    start = [s - (n - 1) for (s, _), n in zip(spans, in2.shape)]
    return _sliding_correlate(in1, in2, start, [n for _, n in spans])


def _convolve_forward(a: Any, v: Any, mode: str = "full") -> np.ndarray:
    return np.convolve(a, v, _mode(mode, "convolve"))


def _correlate_forward(a: Any, v: Any, mode: str = "valid") -> np.ndarray:
    return np.correlate(a, v, _mode(mode, "correlate"))


# ----- rules of the signal rows -----------------------------------------------------------------
def _fit(result: Any, x: Any) -> Any:
    """``result`` with exactly x's shape (a number read as length 1) and dtype."""
    if shape_of(result) != shape_of(x):
        result = result.reshape(shape_of(x))
    dtype = np.result_type(value(x))
    return result if np.result_type(value(result)) == dtype else astype(result, dtype=dtype)


def _as_signal(x: Any) -> Any:
    return x.reshape((1,)) if shape_of(x) == () else x


def _placed(g: Any, a: Any, v: Any, mode: str, window: Window) -> Any:
    """g at its offset in zeros of the full result's shape: the gradient of the full result."""
    spans = _spans((shape_of(a), shape_of(v)), mode, window)
    full = tuple(m + n - 1 for m, n in zip(_signal_shape(shape_of(a)), _signal_shape(shape_of(v))))
    if tuple(n for _, n in spans) == full:
        return g
    return scatter_add(g, index=tuple(slice(s, s + n) for s, n in spans), shape=full)


def _flipped(x: Any) -> Any:
    return getitem(x, index=(slice(None, None, -1),) * len(shape_of(x)))


def _signal_rules(kind: str, window: Window, convolve_row: Callable, correlate_row: Callable) -> list:
    """The VJPs of a convolution or correlation row; ``*_row()`` give the rows to call (mode 'valid')."""

    def vjp_a(g: Any, out: Any, a: Any, v: Any, mode: str = "full") -> Any:
        full = _placed(g, a, v, mode, window)
        row = correlate_row() if kind == "convolve" else convolve_row()  # g ⋆ v, or g ⋆ flip(v)
        return _fit(row(full, _as_signal(v), mode="valid"), a)

    def vjp_v(g: Any, out: Any, a: Any, v: Any, mode: str = "full") -> Any:
        full = _placed(g, a, v, mode, window)
        if kind == "convolve":
            return _fit(correlate_row()(full, _as_signal(a), mode="valid"), v)  # g ⋆ a
        return _fit(_flipped(correlate_row()(full, _as_signal(a), mode="valid")), v)  # a ⋆ g, flipped indices

    return [vjp_a, vjp_v]


# ----- notation of the signal rows ----------------------------------------------------------------
def _param(context: dict, name: str, default: Any) -> Any:
    return context.get("params", {}).get(name, default)


def _gather(v: np.ndarray, positions: list[np.ndarray]) -> np.ndarray:
    """``v[positions]`` with 0 wherever a position falls outside v."""
    inside = np.ones(positions[0].shape, dtype=bool)
    for p, n in zip(positions, v.shape):
        inside &= (p >= 0) & (p < n)
    clipped = tuple(np.clip(p, 0, n - 1) for p, n in zip(positions, v.shape))
    return np.where(inside, v[clipped], 0.0) if v.size else np.zeros(inside.shape)


def _index_grid(*sizes: Sequence[int]) -> list[np.ndarray]:
    return np.meshgrid(*[np.arange(n) for group in sizes for n in group], indexing="ij")


def _patches_of_gradient(window: Window, default_mode: str) -> Callable[[Any, dict], np.ndarray]:
    """P[k, j] = g[k + j − s]: rows over the differentiated input, columns over the other one."""

    def evaluate(v: Any, context: dict) -> np.ndarray:
        shapes = [_signal_shape(tuple(s)) for s in context["shapes"]]
        spans = _spans(shapes, _param(context, "mode", default_mode), window)
        own, other = shapes[context["argnum"]], shapes[1 - context["argnum"]]
        grid = _index_grid(own, other)
        d = len(own)
        gv = np.asarray(v).reshape([n for _, n in spans])
        patches = _gather(gv, [grid[i] + grid[d + i] - spans[i][0] for i in range(d)])
        return patches.reshape(*own, math.prod(other))  # times vec(other): a result shaped like own

    return evaluate


def _patches_of_signal(window: Window, default_mode: str) -> Callable[[Any, dict], np.ndarray]:
    """X̂[n, p] = a[n + s − (N − 1) + p]: one row per output entry, the window the kernel meets."""

    def evaluate(v: Any, context: dict) -> np.ndarray:
        shapes = [_signal_shape(tuple(s)) for s in context["shapes"]]
        spans = _spans(shapes, _param(context, "mode", default_mode), window)
        sizes, kernel = [n for _, n in spans], shapes[1]
        grid = _index_grid(sizes, kernel)
        d = len(sizes)
        av = np.asarray(v).reshape(shapes[0])
        positions = [grid[i] + spans[i][0] - (kernel[i] - 1) + grid[d + i] for i in range(d)]
        return _gather(av, positions).reshape(*sizes, math.prod(kernel))  # times vec(kernel): the output

    return evaluate


def _vec(e: Any) -> Any:
    return structural(
        "vec", e, "vec({0})", r"\operatorname{vec}\left({0}\right)", lambda v, c: np.asarray(v).reshape(-1)
    )


def _flip(e: Any) -> Any:
    return structural("flip", e, "flip({0})", r"\operatorname{flip}\left({0}\right)", lambda v, c: np.flip(v))


def _signal_notation(kind: str, window: Window, default_mode: str, dims: int) -> Any:
    """out = im2col(a) flip(v) (convolution) or im2col(a) v (correlation), as matrix products."""
    gradient_patches, signal_patches = (
        _patches_of_gradient(window, default_mode),
        _patches_of_signal(window, default_mode),
    )

    def patches_g(e: Any) -> Any:
        return structural("patches", e, "patches({0})", r"\operatorname{patches}\left({0}\right)", gradient_patches)

    def im2col(e: Any) -> Any:
        return structural("im2col", e, "im2col({0})", r"\operatorname{im2col}\left({0}\right)", signal_patches)

    def kernel(e: Any) -> Any:
        return _vec(_flip(e)) if kind == "convolve" else _vec(e)

    n, k = ("n", "k") if dims == 1 else ("n₁n₂", "k₁k₂")
    if kind == "convolve":
        vjp = (patches_g(g) @ _vec(x1), patches_g(g) @ _vec(x0))
        index = (
            f"Σ_{n} [{{g}}]_{n} ∂[{{0}} ∗ {{1}}]_{n}/∂[{{0}}]_{k} = Σ_{n} [{{g}}]_{n} [{{1}}]_(n+s−k) "
            f"= [{{g}} ⋆ {{1}}]_{k}: the correlation of g with the kernel (s: the mode's offset)",
            f"Σ_{n} [{{g}}]_{n} ∂[{{0}} ∗ {{1}}]_{n}/∂[{{1}}]_{k} = Σ_{n} [{{g}}]_{n} [{{0}}]_(n+s−k) "
            f"= [{{g}} ⋆ {{0}}]_{k}: the correlation of g with the signal",
        )
        product = ("correlation", "correlation")
        why = (
            "a convolution is linear in each input (a ∗ v = T(v) a, T(v) the Toeplitz matrix of v), so its "
            "gradient with respect to either input is T(·)ᵀ g: the correlation of g with the other input"
        )
    else:
        vjp = (patches_g(g) @ _vec(_flip(x1)), _flip(patches_g(g) @ _vec(x0)))
        index = (
            f"Σ_{n} [{{g}}]_{n} ∂[{{0}} ⋆ {{1}}]_{n}/∂[{{0}}]_{k} = Σ_{n} [{{g}}]_{n} [{{1}}]_(k−n−s+N−1) "
            f"= [{{g}} ⋆ flip({{1}})]_{k}: the correlation of g with the flipped kernel",
            f"Σ_{n} [{{g}}]_{n} ∂[{{0}} ⋆ {{1}}]_{n}/∂[{{1}}]_{k} = Σ_{n} [{{g}}]_{n} [{{0}}]_(n+s−N+1+k) "
            f"= [{{0}} ⋆ {{g}}]_{k}: the correlation of the signal with g",
        )
        product = ("convolution", "correlation")
        why = (
            "a correlation is a convolution with the flipped kernel: its gradient with respect to the "
            "signal is the correlation of g with the flipped kernel, with respect to the kernel the "
            "correlation of the signal with g"
        )
    return custom(
        im2col(x0) @ kernel(x1),
        vjp=vjp,
        jvp=(im2col(t) @ kernel(x1), im2col(x0) @ kernel(t)),
        index=index,
        product=product,
        why=why,
    )


def _signal_hint(owner: str, dims: int) -> Callable[[Sequence[Any], dict], str]:
    def hint(values: Sequence[Any], params: dict) -> str:
        shapes = [np.shape(v) for v in values]
        mode = params.get("mode")
        if mode not in _MODES:
            return f"mode must be one of 'valid', 'same' or 'full', got {mode!r}"
        if dims == 1 and any(len(s) > 1 for s in shapes):
            return f"inputs must be 1-D signals, got shapes {shapes[0]} and {shapes[1]}; for images use convolve2d"
        if dims == 2 and any(len(s) != 2 for s in shapes):
            return f"inputs must both be 2-D arrays, got shapes {shapes[0]} and {shapes[1]}"
        if any(math.prod(s) == 0 for s in shapes):
            return f"inputs must not be empty, got shapes {shapes[0]} and {shapes[1]}"
        if mode == "valid":
            return (
                f"for 'valid' mode one input must be at least as large as the other in every dimension, "
                f"got shapes {shapes[0]} and {shapes[1]}; use mode='same' or 'full', or swap a smaller kernel in"
            )
        return f"cannot {owner} shapes {shapes[0]} and {shapes[1]}"

    return hint


def _signal_row(name: str, kind: str, forward: Callable, window: Window, default_mode: str, dims: int) -> Primitive:
    rules = _signal_rules(kind, window, lambda: _CONVOLVE[dims], lambda: _CORRELATE[dims])
    return Primitive(
        name,
        forward,
        vjp=rules,
        jvp="linear",  # bilinear: a ∗ dv and da ∗ v
        notation=_signal_notation(kind, window, default_mode, dims),
        error_hint=_signal_hint(kind, dims),
    )


_convolve = _signal_row("convolve", "convolve", _convolve_forward, _numpy_convolve_window, "full", 1)
_correlate = _signal_row("correlate", "correlate", _correlate_forward, _numpy_correlate_window, "valid", 1)
_convolve2d = _signal_row("convolve2d", "convolve", _convolve2d_forward, _scipy_convolve_window, "full", 2)
_correlate2d = _signal_row("correlate2d", "correlate", _correlate2d_forward, _scipy_correlate_window, "full", 2)
_CONVOLVE = {1: _convolve, 2: _convolve2d}
_CORRELATE = {1: _correlate, 2: _correlate2d}


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """NumPy's ``convolve``: the discrete linear convolution of two 1-D sequences.

    ``mode`` is 'full' (length M + N − 1), 'same' (length max(M, N), centred) or 'valid'
    (length max(M, N) − min(M, N) + 1).  Differentiable in both inputs: the gradient with
    respect to either is the correlation of g with the other.
    """
    return _convolve(a, v, mode=_mode(mode, "convolve"))


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """NumPy's ``correlate`` of two real 1-D sequences: ``c_k = Σ_n a_{n+k} v_n``.

    Differentiable in both inputs: the gradient with respect to ``a`` is the correlation of g
    with the flipped ``v``, with respect to ``v`` the correlation of ``a`` with g.
    """
    return _correlate(a, v, mode=_mode(mode, "correlate"))


def _fill_only(owner: str, boundary: str, fillvalue: Any) -> None:
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(
            f"{owner}: only boundary='fill' with fillvalue=0 (zero padding) is supported, got "
            f"boundary={boundary!r}, fillvalue={fillvalue!r}"
        )


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """SciPy's ``scipy.signal.convolve2d`` (zero padding): 'full', 'same' (in1's size, centred)
    or 'valid' (one input at least as large as the other on both axes)."""
    _fill_only("convolve2d", boundary, fillvalue)
    return _convolve2d(in1, in2, mode=_mode(mode, "convolve2d"))


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """SciPy's ``scipy.signal.correlate2d`` of real arrays (zero padding), modes as :func:`convolve2d`."""
    _fill_only("correlate2d", boundary, fillvalue)
    return _correlate2d(in1, in2, mode=_mode(mode, "correlate2d"))


# ----- conv2d: patches, one matrix product, and the adjoint of the patches ------------------------
Pair = tuple[int, int]
Padding = tuple[Pair, Pair]


def _output_size(size: int, k: int, stride: int, pad: Pair, dilation: int) -> int:
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _output_hw(shape: Sequence[int], kernel: Pair, stride: Pair, padding: Padding, dilation: Pair) -> Pair:
    return tuple(  # type: ignore[return-value]
        _output_size(shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(2)
    )


def _im2col(x: Any, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair) -> np.ndarray:
    """The patches of x (N, C, H, W) as columns: (N, C·kH·kW, Ho·Wo), one copy of a strided view."""
    x = np.asarray(x)
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = _output_hw(x.shape, kernel, stride, padding, dilation)
    if any(p for pair in padding for p in pair):
        x = np.pad(x, ((0, 0), (0, 0), *padding))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(x, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kH, kW)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)


def _col2im(
    cols: Any, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Padding, dilation: Pair
) -> np.ndarray:
    """The adjoint of :func:`_im2col`: every patch added back where it came from (a loop over the
    kH·kW kernel positions, each one strided slice of the image)."""
    cols = np.asarray(cols)
    n, c, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    (top, bottom), (left, right) = padding
    ho, wo = _output_hw(shape, kernel, stride, padding, dilation)
    blocks = cols.reshape(n, c, kh, kw, ho, wo)
    image = np.zeros((n, c, h + top + bottom, w + left + right), dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            image[:, :, rows, j * dw : j * dw + sw * (wo - 1) + 1 : sw] += blocks[:, :, i, j]
    if top or bottom or left or right:
        image = np.ascontiguousarray(image[:, :, top : top + h, left : left + w])
    return image


def _conv2d_problem(x_shape: tuple, w_shape: tuple, stride: Pair, padding: Padding, dilation: Pair) -> str | None:
    """What is wrong with a conv2d call, or None."""
    if len(x_shape) != 4:
        return (
            f"input must be 4-D (N, C, H, W), got shape {x_shape}; for one image use x[None], for a "
            f"single-channel batch x[:, None]"
        )
    if len(w_shape) != 4:
        return f"weight must be 4-D (out_channels, in_channels, kH, kW), got shape {w_shape}"
    if x_shape[1] != w_shape[1]:
        return (
            f"input has {x_shape[1]} channels (axis 1 of {x_shape}) but the weight {w_shape} expects "
            f"{w_shape[1]} (its axis 1); the layout is NCHW: an NHWC image needs x.transpose(0, 3, 1, 2)"
        )
    for name, pair in (("stride", stride), ("dilation", dilation)):
        if len(pair) != 2 or any(int(s) < 1 for s in pair):
            return f"{name} must be positive, got {pair}"
    if any(int(p) < 0 for pair in padding for p in pair):
        return f"padding must be non-negative, got {padding}"
    ho, wo = _output_hw(x_shape, w_shape[2:], stride, padding, dilation)
    if ho < 1 or wo < 1 or min(w_shape[2:]) < 1:
        spans = tuple(d * (k - 1) + 1 for d, k in zip(dilation, w_shape[2:]))
        padded = tuple(x_shape[2 + i] + sum(padding[i]) for i in range(2))
        return (
            f"the kernel spans {spans} (kernel {w_shape[2:]}, dilation {dilation}) but the padded input is "
            f"only {padded}: no output position fits; use a smaller kernel or more padding"
        )
    return None


def _conv2d_forward(
    x: Any, w: Any, stride: Pair = (1, 1), padding: Padding = ((0, 0), (0, 0)), dilation: Pair = (1, 1)
) -> Any:
    x, w = np.asarray(x), np.asarray(w)
    problem = _conv2d_problem(x.shape, w.shape, stride, padding, dilation)
    if problem:
        raise ValueError(problem)
    n, o = x.shape[0], w.shape[0]
    cols = _im2col(x, w.shape[2:], stride, padding, dilation)
    out = w.reshape(o, -1) @ cols  # one GEMM per example: (O, C·kH·kW) @ (C·kH·kW, Ho·Wo)
    return out.reshape((n, o, *_output_hw(x.shape, w.shape[2:], stride, padding, dilation)))


def _conv2d_hint(values: Sequence[Any], params: dict) -> str:
    shapes = [np.shape(v) for v in values]
    stride, padding, dilation = (params.get(k) for k in ("stride", "padding", "dilation"))
    try:
        return _conv2d_problem(*shapes, stride, padding, dilation) or "invalid arguments"
    except (TypeError, ValueError):
        return (
            f"stride and dilation must be pairs of positive ints and padding a pair of (before, after) "
            f"pairs, got stride={stride!r}, padding={padding!r}, dilation={dilation!r}"
        )


def _conv2d_vjp_x(g: Any, out: Any, x: Any, w: Any, stride: Pair, padding: Padding, dilation: Pair) -> Any:
    """col2im(Wᵀ G): a correlation of g with the flipped kernel (a transposed convolution)."""
    n, o, ho, wo = shape_of(g)
    cols = w.reshape((o, -1)).mT @ g.reshape((n, o, ho * wo))
    geometry = {"kernel": shape_of(w)[2:], "stride": stride, "padding": padding, "dilation": dilation}
    return _fit(col2im(cols, shape=shape_of(x), **geometry), x)


def _conv2d_vjp_w(g: Any, out: Any, x: Any, w: Any, stride: Pair, padding: Padding, dilation: Pair) -> Any:
    """Σₙ G X̂ᵀ: a correlation of the input with g."""
    n, o, ho, wo = shape_of(g)
    patches = im2col(x, kernel=shape_of(w)[2:], stride=stride, padding=padding, dilation=dilation)
    return _fit((g.reshape((n, o, ho * wo)) @ patches.mT).sum(axis=0).reshape(shape_of(w)), w)


# ----- notation of conv2d, im2col and col2im (computed independently, by index arithmetic) ---------
def _geometry(context: dict, role: str) -> tuple[tuple[int, ...], Pair, Pair, Padding, Pair]:
    """(image shape, kernel, stride, padding, dilation) of a conv2d, im2col or col2im context."""
    params = context.get("params", {})
    if role == "conv2d":
        image, kernel = tuple(context["shapes"][0]), tuple(context["shapes"][1][2:])
    elif role == "im2col":
        image, kernel = tuple(context["shapes"][0]), params["kernel"]
    else:
        image, kernel = tuple(params["shape"]), params["kernel"]
    return image, kernel, params["stride"], params["padding"], params["dilation"]


def _patch_positions(image: tuple, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair) -> list:
    """Row and column, in the unpadded image, that patch entry (c, i, j) at output (h, w) reads."""
    ho, wo = _output_hw(image, kernel, stride, padding, dilation)
    c, i, j, h, w = _index_grid((image[1], kernel[0], kernel[1], ho, wo))
    rows = h * stride[0] + i * dilation[0] - padding[0][0]
    columns = w * stride[1] + j * dilation[1] - padding[1][0]
    return [c, rows, columns]


def _patches_value(role: str) -> Callable[[Any, dict], np.ndarray]:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        image, *geometry = _geometry(context, role)
        c, rows, columns = _patch_positions(image, *geometry)
        v = np.asarray(v).reshape(image)
        patches = np.zeros((image[0], *c.shape), dtype=np.result_type(v, np.float64))
        for n, example in enumerate(v):
            patches[n] = _gather(example, [c, rows, columns])
        return patches.reshape(image[0], math.prod(c.shape[:3]), math.prod(c.shape[3:]))

    return evaluate


def _col2im_value(role: str) -> Callable[[Any, dict], np.ndarray]:
    def evaluate(v: Any, context: dict) -> np.ndarray:
        image, *geometry = _geometry(context, role)
        c, rows, columns = _patch_positions(image, *geometry)
        v = np.asarray(v).reshape((image[0], *c.shape))
        inside = (rows >= 0) & (rows < image[2]) & (columns >= 0) & (columns < image[3])
        result = np.zeros(image, dtype=np.result_type(v, np.float64))
        for n in range(image[0]):
            np.add.at(result[n], (c[inside], rows[inside], columns[inside]), v[n][inside])
        return result

    return evaluate


def _conv2d_notation() -> Any:
    kernel_matrix = structural(
        "kernel_matrix", x1, "{0}", "{0}", lambda v, c: np.asarray(v).reshape(np.shape(v)[0], -1)
    )
    tangent_kernel = structural(
        "kernel_matrix", t, "{0}", "{0}", lambda v, c: np.asarray(v).reshape(np.shape(v)[0], -1)
    )

    def per_example(v: Any, context: dict) -> np.ndarray:
        v = np.asarray(v)
        return v.reshape(v.shape[0], v.shape[1], math.prod(v.shape[2:]))

    def as_image(v: Any, context: dict) -> np.ndarray:
        image, kernel, *rest = _geometry(context, "conv2d")
        v = np.asarray(v)
        return v.reshape((image[0], context["shapes"][1][0], *_output_hw(image, kernel, *rest)))

    def batch_sum(v: Any, context: dict) -> np.ndarray:
        return np.asarray(v).sum(axis=0).reshape(context["shape"])

    kernel_matrix_t = structural(
        "kernel_matrix_t", x1, "{0}ᵀ", r"{0}^{\top}", lambda v, c: np.asarray(v).reshape(np.shape(v)[0], -1).T
    )

    def patches_t(e: Any) -> Any:
        def evaluate(v: Any, context: dict) -> np.ndarray:
            return np.swapaxes(_patches_value("conv2d")(v, context), -1, -2)

        return structural("im2col_t", e, "im2col({0})ᵀ", r"\operatorname{im2col}\left({0}\right)^{\top}", evaluate)

    def patches(e: Any) -> Any:
        return structural(
            "im2col", e, "im2col({0})", r"\operatorname{im2col}\left({0}\right)", _patches_value("conv2d")
        )

    def image_of(e: Any) -> Any:
        return structural("as_image", e, "({0})", r"\left({0}\right)", as_image)

    # g as one (O, Ho·Wo) matrix per example, in parentheses: a compound g must not run into the product
    grads = structural("per_example", g, "({0})", r"\left({0}\right)", per_example)
    return custom(
        image_of(kernel_matrix @ patches(x0)),
        vjp=(
            structural(
                "col2im",
                kernel_matrix_t @ grads,
                "col2im({0})",
                r"\operatorname{col2im}\left({0}\right)",
                _col2im_value("conv2d"),
            ),
            structural("batch_sum", grads @ patches_t(x0), "Σₙ {0}", r"\sum_n {0}", batch_sum),
        ),
        jvp=(image_of(kernel_matrix @ patches(t)), image_of(tangent_kernel @ patches(x0))),
        index=(
            "Σ_{n,o,h,w} [{g}]_{n,o,h,w} ∂[{out}]_{n,o,h,w}/∂[{0}]_{n,c,y,x} = Σ_{o,i,j} [{g}]_{n,o,h,w} "
            "[{1}]_{o,c,i,j} over h·s + i·d − p = y, w·s + j·d − p = x: a correlation of g (dilated by the "
            "stride) with the flipped kernel, a transposed convolution",
            "Σ_{n,o',h,w} [{g}]_{n,o',h,w} ∂[{out}]_{n,o',h,w}/∂[{1}]_{o,c,i,j} = Σ_{n,h,w} [{g}]_{n,o,h,w} "
            "[{0}]_{n,c,h·s+i·d−p,w·s+j·d−p}: a correlation of the input with g",
        ),
        product=("transposed convolution", "correlation"),
        why=(
            "conv2d is one matrix product W X̂ per example, X̂ = im2col(x) the patches of x as columns: as "
            "for a linear layer, ∂ℓ/∂W = Σₙ G X̂ᵀ, a correlation of the input with g, and ∂ℓ/∂x = "
            "col2im(Wᵀ G), each patch's gradient added back where it came from: the gradient of a "
            "convolution with respect to its input is a correlation of g with the flipped kernel"
        ),
    )


def _im2col_notation() -> Any:
    return linear(
        structural("im2col", x0, "im2col({0})", r"\operatorname{im2col}\left({0}\right)", _patches_value("im2col")),
        vjp=structural("col2im", g, "col2im({0})", r"\operatorname{col2im}\left({0}\right)", _col2im_value("im2col")),
        index="Σ_{(c,i,j),(h,w)} [{g}]_{(c,i,j),(h,w)} over the patch entries that read pixel k",
        product="scatter",
        why="im2col copies each pixel into every patch that covers it; its adjoint adds the copies' gradients back",
    )


def _col2im_notation() -> Any:
    return linear(
        structural("col2im", x0, "col2im({0})", r"\operatorname{col2im}\left({0}\right)", _col2im_value("col2im")),
        vjp=structural("im2col", g, "im2col({0})", r"\operatorname{im2col}\left({0}\right)", _patches_value("col2im")),
        index="[{g}]_{c, h·s+i·d−p, w·s+j·d−p} for patch entry k = ((c, i, j), (h, w))",
        product="gather",
        why="col2im adds each patch entry into the pixel it came from; its adjoint reads every pixel back into "
        "its patches",
    )


_conv2d = Primitive(
    "conv2d",
    _conv2d_forward,
    vjp=[_conv2d_vjp_x, _conv2d_vjp_w],
    jvp="linear",  # bilinear: dx ⋆ W and x ⋆ dW
    notation=_conv2d_notation(),
    error_hint=_conv2d_hint,
)
im2col = Primitive(
    "im2col",
    _im2col,
    vjp=[
        lambda g, out, x, kernel, stride, padding, dilation: col2im(
            g, shape=shape_of(x), kernel=kernel, stride=stride, padding=padding, dilation=dilation
        )
    ],
    jvp="linear",
    notation=_im2col_notation(),
)
col2im = Primitive(
    "col2im",
    _col2im,
    vjp=[
        lambda g, out, cols, shape, kernel, stride, padding, dilation: im2col(
            g, kernel=kernel, stride=stride, padding=padding, dilation=dilation
        )
    ],
    jvp="linear",
    notation=_col2im_notation(),
)


def _pair(v: Any, name: str) -> Pair:
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) for p in pair):
        raise ValueError(f"conv2d: {name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def padding_pairs(padding: Any, kernel: Sequence[int], stride: Pair, dilation: Pair) -> Padding:
    """An int, a pair (per axis, both sides), ((top, bottom), (left, right)), 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"conv2d: padding must be 'valid', 'same', an int or pairs, got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"conv2d: padding='same' is not supported for strided convolutions (stride {stride})")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((total // 2, total - total // 2) for total in totals)  # type: ignore[return-value]
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(isinstance(p, (tuple, list)) for p in padding):
        return _pair(padding[0], "padding"), _pair(padding[1], "padding")
    ph, pw = _pair(padding, "padding")
    return (ph, ph), (pw, pw)


def conv2d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Any:
    """PyTorch's ``F.conv2d`` (no bias, no groups): a cross-correlation in NCHW layout.

    ``x`` is ``(N, C, H, W)``, ``w`` is ``(O, C, kH, kW)``; the result is ``(N, O, Ho, Wo)`` with
    ``Ho = ⌊(H + pad_top + pad_bottom − dilation·(kH − 1) − 1) / stride⌋ + 1`` (and Wo alike).
    ``stride`` and ``dilation`` are an int or a pair; ``padding`` an int, a pair (per axis, both
    sides), ``((top, bottom), (left, right))``, 'valid' or 'same' (stride 1; the extra row or
    column, when the total is odd, goes after, as in PyTorch).  Zero padding.
    """
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    x, w = as_array(x), as_array(w)
    w_shape = shape_of(w)
    kernel = w_shape[2:] if len(w_shape) == 4 else (1, 1)
    return _conv2d(x, w, stride=stride, padding=padding_pairs(padding, kernel, stride, dilation), dilation=dilation)


register(_convolve, _correlate, _convolve2d, _correlate2d, _conv2d, im2col, col2im)
