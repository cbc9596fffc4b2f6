"""Linear: the affine layer ``Y = X W + b`` in row (batch-first) layout."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import init as initializers
from ._random import RNG, as_generator
from .module import Module


class Linear(Module):
    """``Y = X W + b``: batch first, one example per row, the row layout of ``Y = f(HW + B)``.

    Shapes: ``X`` is ``(N, in_features)`` (or ``(..., in_features)``, or ``(in_features,)`` for
    one example); ``W`` is ``(in_features, out_features)``; ``b`` is ``(out_features,)``,
    broadcast over the rows; ``Y`` is ``(N, out_features)``.

    ``W`` is the transpose of the column-layout weight, ``z = W_col x + b`` with
    ``x`` a column and ``W_col`` of shape ``(out, in)``: stacking the examples as rows of ``X``
    gives ``Z = X W_colᵀ + bᵀ``, so ``W = W_colᵀ``.  Accordingly ``∂C/∂W = Xᵀ Δ`` (``Δ`` holds
    the rows ``δᵀ``), the transpose of the column layout's ``∂C/∂W_col = Σ δ aᵀ``.

    Args:
        init: an initializer name from :data:`matgrad.nn.init.BY_NAME` ("glorot" is Glorot
            uniform, "he" is He normal).  Biases start at zero, except with "nielsen", whose
            biases are N(0, 1) as in Nielsen's book.
        rng: an ``np.random.Generator`` (drawn from: ``W`` first, then ``b``), an int seed, or
            ``None`` for a fresh unseeded Generator.
        dtype: of ``W`` and ``b``.  Plain arrays given to ``forward`` are cast to it (so a
            float32 layer computes in float32); Tensors are used as they are.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "glorot",
        rng: RNG = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: sizes must be positive, got in={in_features}, out={out_features}")
        weight_init = initializers.get(init)
        generator = as_generator(rng, "Linear")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        dtype = np.dtype(dtype)
        self.W = Tensor(weight_init((self.in_features, self.out_features), generator, dtype), requires_grad=True)
        if bias:
            bias_init = initializers.normal(1.0) if init == "nielsen" else initializers.zeros
            self.b = Tensor(bias_init((self.out_features,), generator, dtype), requires_grad=True)
        else:
            self.b = None

    def forward(self, x: Any) -> Tensor:
        """``x @ W + b``: ``(..., in_features) -> (..., out_features)``."""
        if not isinstance(x, Tensor):
            x = np.asarray(x, dtype=self.W.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features} -> {self.out_features}): input of shape {x.shape}; "
                f"expected (N, {self.in_features}): one example per row (batch first). A column "
                f"layout input of shape ({self.in_features}, N) must be transposed first"
            )
        y = x @ self.W
        return y if self.b is None else y + self.b

    def config(self) -> dict[str, Any]:
        return {
            "type": "Linear",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.b is not None,
            "init": self.init,
            "dtype": self.W.dtype.name,
        }

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.b is not None}"
