"""The networks the workloads train, and their data, as plain NumPy arrays.

Every framework starts from the same arrays (same seed), batch-first row layout:
``Z = A W + b`` with ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``.

Heads:
- ``"sigmoid_mse"`` (seed 001): ``A_L = σ(Z_L)``, ``C = ½ Σ_rows ‖A_L − Y‖²``, *summed* over
  the batch (not averaged), ``Y`` uniform in [0, 1);
- ``"softmax_ce"``: ``C = mean_rows(−log softmax(Z_L)[label])``, *averaged* over the batch,
  integer labels.

The transform workloads differentiate ``f(x, W) = tanh(W x)`` (``jacrev``, 100 → 100) and
``g(x, W) = Σ tanh(W x)`` (``hessian``, 50 inputs) with respect to ``x``; the per-op workloads
use two 2×2 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Problem:
    sizes: tuple[int, ...]  # layer widths, input first
    hidden: str  # activation of the hidden layers: "sigmoid" or "relu"
    head: str  # "sigmoid_mse" or "softmax_ce"
    batch: int
    lr: float  # SGD step size of the full-step workloads
    dtype: str = "float32"
    seed: int = 0

    @property
    def label(self) -> str:
        kind = "σ/MSE" if self.head == "sigmoid_mse" else "ReLU/softmax-CE"
        return f"{'-'.join(map(str, self.sizes))} {kind}, batch {self.batch}"

    def arrays(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """``([W1, b1, W2, b2, …], X, target)``: fresh copies on every call."""
        rng = np.random.default_rng(self.seed)
        dtype = np.dtype(self.dtype)
        params: list[np.ndarray] = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            params.append((rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype))
            params.append((0.1 * rng.standard_normal(n_out)).astype(dtype))
        X = rng.random((self.batch, self.sizes[0])).astype(dtype)
        if self.head == "sigmoid_mse":
            target = rng.random((self.batch, self.sizes[-1])).astype(dtype)
        else:
            target = rng.integers(0, self.sizes[-1], size=self.batch)
        return params, X, target


def param_names(problem: Problem) -> list[str]:
    """``["W1", "b1", "W2", "b2", …]``, the keys of every gradient dict."""
    layers = range(1, len(problem.sizes))
    return [f"{kind}{layer}" for layer in layers for kind in ("W", "b")]


def tanh_map_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(x, W)`` for ``tanh(W x)``: ``x`` of shape ``(n,)``, ``W`` of shape ``(n, n)``, float32."""
    rng = np.random.default_rng(seed)
    W = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
    x = rng.standard_normal(n).astype(np.float32)
    return x, W


def op_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The two 2×2 float32 operands of the per-op workloads."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 2)).astype(np.float32), rng.standard_normal((2, 2)).astype(np.float32)


#: the gradient flowing into the single node of the "backward of one mul node" workload
OP_SEED = np.ones((2, 2), dtype=np.float32)
