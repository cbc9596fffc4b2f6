"""Specs of correlation and convolution: 1-D (NumPy), 2-D (SciPy), batched NCHW conv2d and its
im2col/col2im.  All are bilinear (no kinks), so normal inputs will do; shapes cover every mode,
a kernel longer than the signal (NumPy and SciPy swap the inputs), strides, padding, dilation
and an empty batch."""

from __future__ import annotations

import matgrad as mg

from . import Spec, normal

S = Spec
NO_PAD = ((0, 0), (0, 0))
PLAIN = {"stride": (1, 1), "padding": NO_PAD, "dilation": (1, 1)}
SPECS: list[Spec] = [
    # 1-D, NumPy's semantics
    S("convolve-full", "convolve", lambda r: (normal(r, 5), normal(r, 3)), {"mode": "full"}),
    S("convolve-same-longer-kernel", "convolve", lambda r: (normal(r, 3), normal(r, 5)), {"mode": "same"}),
    S("convolve-valid", "convolve", lambda r: (normal(r, 6), normal(r, 3)), {"mode": "valid"}),
    S("convolve-number", "convolve", lambda r: (normal(r), normal(r, 3)), {"mode": "full"}),
    S(
        "convolve-public",
        "convolve",
        lambda r: (normal(r, 4), normal(r, 2)),
        {"mode": "same"},
        via=lambda a, v, mode: mg.convolve(a, v, mode),
    ),
    S("correlate-valid", "correlate", lambda r: (normal(r, 6), normal(r, 3)), {"mode": "valid"}),
    S("correlate-same", "correlate", lambda r: (normal(r, 5), normal(r, 2)), {"mode": "same"}),
    S("correlate-same-longer-kernel", "correlate", lambda r: (normal(r, 2), normal(r, 5)), {"mode": "same"}),
    S("correlate-full-longer-kernel", "correlate", lambda r: (normal(r, 3), normal(r, 4)), {"mode": "full"}),
    S(
        "correlate-public",
        "correlate",
        lambda r: (normal(r, 5), normal(r, 3)),
        {"mode": "valid"},
        via=lambda a, v, mode: mg.correlate(a, v),
    ),
    # 2-D, SciPy's semantics
    S("convolve2d-full", "convolve2d", lambda r: (normal(r, 3, 4), normal(r, 2, 3)), {"mode": "full"}),
    S("convolve2d-same", "convolve2d", lambda r: (normal(r, 3, 4), normal(r, 2, 3)), {"mode": "same"}),
    S("convolve2d-same-larger-kernel", "convolve2d", lambda r: (normal(r, 2, 3), normal(r, 3, 2)), {"mode": "same"}),
    S("convolve2d-valid-swapped", "convolve2d", lambda r: (normal(r, 2, 2), normal(r, 3, 4)), {"mode": "valid"}),
    S(
        "convolve2d-public",
        "convolve2d",
        lambda r: (normal(r, 4, 4), normal(r, 2, 2)),
        {"mode": "valid"},
        via=lambda a, v, mode: mg.convolve2d(a, v, mode),
    ),
    S("correlate2d-full", "correlate2d", lambda r: (normal(r, 3, 3), normal(r, 2, 3)), {"mode": "full"}),
    S("correlate2d-same", "correlate2d", lambda r: (normal(r, 4, 3), normal(r, 2, 2)), {"mode": "same"}),
    S("correlate2d-valid", "correlate2d", lambda r: (normal(r, 4, 5), normal(r, 2, 3)), {"mode": "valid"}),
    S("correlate2d-valid-swapped", "correlate2d", lambda r: (normal(r, 2, 3), normal(r, 3, 4)), {"mode": "valid"}),
    S(
        "correlate2d-public",
        "correlate2d",
        lambda r: (normal(r, 3, 4), normal(r, 3, 2)),
        {"mode": "same"},
        via=lambda a, v, mode: mg.correlate2d(a, v, mode=mode),
    ),
    # conv2d, NCHW, PyTorch's semantics
    S("conv2d", "conv2d", lambda r: (normal(r, 2, 1, 3, 4), normal(r, 2, 1, 2, 2)), PLAIN),
    S("conv2d-channels", "conv2d", lambda r: (normal(r, 1, 2, 3, 3), normal(r, 2, 2, 2, 1)), PLAIN),
    S(
        "conv2d-stride-padding",
        "conv2d",
        lambda r: (normal(r, 1, 1, 4, 5), normal(r, 2, 1, 2, 3)),
        {"stride": (2, 2), "padding": ((1, 1), (1, 1)), "dilation": (1, 1)},
        via=lambda x, w, stride, padding, dilation: mg.conv2d(x, w, stride=2, padding=1),
    ),
    S(
        "conv2d-dilation-uneven-stride",
        "conv2d",
        lambda r: (normal(r, 1, 1, 5, 5), normal(r, 1, 1, 2, 2)),
        {"stride": (1, 2), "padding": ((0, 0), (1, 1)), "dilation": (2, 1)},
        via=lambda x, w, stride, padding, dilation: mg.conv2d(x, w, (1, 2), (0, 1), (2, 1)),
    ),
    S(
        "conv2d-same-even-kernel",
        "conv2d",
        lambda r: (normal(r, 1, 1, 3, 4), normal(r, 2, 1, 2, 2)),
        {"stride": (1, 1), "padding": ((0, 1), (0, 1)), "dilation": (1, 1)},
        via=lambda x, w, stride, padding, dilation: mg.conv2d(x, w, padding="same"),
    ),
    S(
        "conv2d-stride-skips-last-row",
        "conv2d",
        lambda r: (normal(r, 1, 1, 5, 4), normal(r, 1, 1, 2, 2)),
        {"stride": (2, 3), "padding": NO_PAD, "dilation": (1, 1)},
    ),
    S("conv2d-empty-batch", "conv2d", lambda r: (normal(r, 0, 2, 3, 3), normal(r, 2, 2, 2, 2)), PLAIN),
    S(
        "im2col",
        "im2col",
        lambda r: (normal(r, 1, 2, 3, 3),),
        {"kernel": (2, 2), "stride": (1, 2), "padding": ((1, 0), (0, 1)), "dilation": (1, 1)},
    ),
    S(
        "col2im",
        "col2im",
        lambda r: (normal(r, 1, 4, 4),),
        {"shape": (1, 1, 3, 4), "kernel": (2, 2), "stride": (1, 2), "padding": NO_PAD, "dilation": (1, 1)},
    ),
    S(
        "col2im-padded-dilated",
        "col2im",
        lambda r: (normal(r, 1, 4, 6),),
        {"shape": (1, 1, 3, 3), "kernel": (2, 2), "stride": (1, 1), "padding": ((1, 0), (0, 1)), "dilation": (2, 1)},
    ),
]
