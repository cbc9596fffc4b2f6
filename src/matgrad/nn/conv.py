"""Conv2d, the 2-D convolution layer in NCHW layout, and Flatten, which feeds its maps to a Linear."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives.convolution import conv2d, padding_pairs
from ..primitives.shape import reshape
from ..tensor import Tensor
from . import init as initializers
from ._random import RNG, as_generator
from .module import Module


def _pair(v: Any, name: str) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or any(int(p) < 1 for p in pair):
        raise ValueError(f"Conv2d: {name} must be a positive int or a pair of them, got {v!r}")
    return int(pair[0]), int(pair[1])


def _as_padding(padding: Any) -> Any:
    """An int, 'same' or 'valid' as given; pairs as tuples (JSON gives lists back)."""
    if isinstance(padding, (str, int, np.integer)):
        return padding if isinstance(padding, str) else int(padding)
    return tuple(tuple(int(q) for q in p) if isinstance(p, (list, tuple)) else int(p) for p in padding)


def _listed(padding: Any) -> Any:
    if isinstance(padding, tuple):
        return [list(p) if isinstance(p, tuple) else p for p in padding]
    return padding


class Conv2d(Module):
    """``Y = X ⋆ W + b``, a cross-correlation as in PyTorch's ``nn.Conv2d`` (batch first, NCHW).

    Shapes: ``X`` is ``(N, in_channels, H, W)`` (or ``(in_channels, H, W)`` for one image);
    ``W`` is ``(out_channels, in_channels, kH, kW)``; ``b`` is ``(out_channels,)``, added to
    every position of its channel; ``Y`` is ``(N, out_channels, Ho, Wo)`` with
    ``Ho = ⌊(H + 2·padding − kH) / stride⌋ + 1`` (see :func:`matgrad.conv2d` for padding pairs
    and 'same').  Per example the layer is the matrix product ``W X̂`` of the weight, as an
    ``(out_channels, in_channels·kH·kW)`` matrix, with the patches ``X̂ = im2col(X)``; so
    ``∂C/∂W = Σₙ Δ X̂ᵀ`` as for :class:`~matgrad.nn.Linear`.

    Args:
        init: an initializer name from :data:`matgrad.nn.init.BY_NAME`, applied to that
            ``(in_channels·kH·kW, out_channels)`` matrix of the equivalent linear layer on the
            patches (fan-in ``in_channels·kH·kW``, fan-out ``out_channels``).  Biases start at zero.
        rng: an ``np.random.Generator`` (drawn from: ``W`` first, then ``b``), an int seed, or
            ``None`` for a fresh unseeded Generator.
        dtype: of ``W`` and ``b``; plain arrays given to ``forward`` are cast to it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        bias: bool = True,
        init: str = "glorot",
        rng: RNG = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d: channels must be positive, got in={in_channels}, out={out_channels}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _as_padding(padding)
        padding_pairs(self.padding, self.kernel_size, self.stride, (1, 1))  # a bad padding fails now, not at first use
        self.init = init
        weight_init = initializers.get(init)
        generator = as_generator(rng, "Conv2d")
        dtype = np.dtype(dtype)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        matrix = weight_init((fan_in, self.out_channels), generator, dtype)
        weight = np.ascontiguousarray(matrix.T).reshape(self.out_channels, self.in_channels, *self.kernel_size)
        self.W = Tensor(weight, requires_grad=True)
        self.b = (
            Tensor(initializers.zeros((self.out_channels,), generator, dtype), requires_grad=True) if bias else None
        )

    def forward(self, x: Any) -> Any:
        """``(N, C, H, W) -> (N, O, Ho, Wo)``; one image ``(C, H, W) -> (O, Ho, Wo)``."""
        if not isinstance(x, Tensor):
            x = np.asarray(x, dtype=self.W.dtype)
        single = x.ndim == 3
        if single:
            x = reshape(x, shape=(1, *x.shape))
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d({self.in_channels} -> {self.out_channels}): input of shape {x.shape}; expected "
                f"(N, {self.in_channels}, H, W), channels first (an NHWC batch needs x.transpose(0, 3, 1, 2))"
            )
        y = conv2d(x, self.W, stride=self.stride, padding=self.padding)
        if self.b is not None:
            y = y + reshape(self.b, shape=(self.out_channels, 1, 1))
        return reshape(y, shape=y.shape[1:]) if single else y

    def config(self) -> dict[str, Any]:
        return {
            "type": "Conv2d",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": _listed(self.padding),
            "bias": self.b is not None,
            "init": self.init,
            "dtype": self.W.dtype.name,
        }

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, bias={self.b is not None}"
        )


class Flatten(Module):
    """Join the axes ``start_dim`` to ``end_dim`` into one, as PyTorch's ``nn.Flatten``: by
    default ``(N, C, H, W) -> (N, C·H·W)``, the feature maps of a CNN as rows for a Linear."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Any:
        shape = tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)
        if start > end:
            raise ValueError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for shape {shape}"
            )
        joined = int(np.prod(shape[start : end + 1]))
        return reshape(x, shape=(*shape[:start], joined, *shape[end + 1 :]))

    def config(self) -> dict[str, Any]:
        return {"type": "Flatten", "start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
