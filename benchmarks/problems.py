"""The networks the workloads train, and their data, as plain NumPy arrays.

Every framework starts from the same arrays (same seed), batch-first row layout:
``Z = A W + b`` with ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``.

Heads:
- ``"sigmoid_mse"`` (Nielsen's network): ``A_L = σ(Z_L)``, ``C = ½ Σ_rows ‖A_L − Y‖²``, *summed* over
  the batch (not averaged), ``Y`` uniform in [0, 1);
- ``"softmax_ce"``: ``C = mean_rows(−log softmax(Z_L)[label])``, *averaged* over the batch,
  integer labels.

The transform workloads differentiate ``f(x, W) = tanh(W x)`` (``jacrev``, 100 → 100) and
``g(x, W) = Σ tanh(W x)`` (``hessian``, 50 inputs) with respect to ``x``; the per-op workloads
use two 2×2 arrays.  The linear-algebra workloads (:func:`linalg_arrays`) are float64 matrices.
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


# ----- linear algebra: value and gradient of a scalar function of matrices (float64) -----------------------
#: function → (row name, subscripts of its inputs).  Every function is summed to a scalar against a fixed
#: random weight ``W`` where it has a matrix result, so that a gradient transposed or summed the wrong way
#: (which a seed of ones can hide) differs from hand NumPy's.
LINALG_FUNCTIONS = {
    "logdet": ("log det X, X symmetric positive definite", ("X",)),
    "inv": ("Σ inv(X) ⊙ W", ("X",)),
    "solve": ("Σ solve(A, B) ⊙ W, B of n × 8", ("A", "B")),
    "einsum-chain": ("einsum ij,jk,kl-> of A, B, C", ("A", "B", "C")),
    "einsum-batched": ("Σ einsum bij,bjk->bik of A, B ⊙ W, batch 4", ("A", "B")),
}
LINALG_RHS = 8  # columns of B in solve
LINALG_BATCH = 4  # matrices in the batched einsum


def linalg_arrays(fn: str, n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(inputs, constants)`` of one linear-algebra workload: fresh float64 copies on every call.

    The inputs are differentiated (in the order of ``LINALG_FUNCTIONS[fn][1]``); the constants (the weight
    ``W``) are not.  Matrices are well conditioned: the SPD ``X = I + ½ M Mᵀ`` (``M`` of N(0, 1/n) entries:
    eigenvalues in about [1, 3]) and the general ``I + 0.3 M`` (singular values in about [0.4, 1.6]).
    """
    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape) / np.sqrt(n)

    eye = np.eye(n)
    if fn == "logdet":
        M = normal(n, n)
        X = eye + 0.5 * (M @ M.T)
        return [(X + X.T) / 2], []
    if fn == "inv":
        return [eye + 0.3 * normal(n, n)], [rng.standard_normal((n, n))]
    if fn == "solve":
        A, B = eye + 0.3 * normal(n, n), rng.standard_normal((n, LINALG_RHS))
        return [A, B], [rng.standard_normal((n, LINALG_RHS))]
    if fn == "einsum-chain":
        return [normal(n, n) for _ in range(3)], []
    if fn == "einsum-batched":
        A, B = normal(LINALG_BATCH, n, n), normal(LINALG_BATCH, n, n)
        return [A, B], [rng.standard_normal((LINALG_BATCH, n, n))]
    raise ValueError(f"no linear-algebra workload {fn!r}; choose from {sorted(LINALG_FUNCTIONS)}")


def linalg_outputs(fn: str, value: object, grads: object) -> dict[str, np.ndarray]:
    """``{"value": f, "dX": ∂f/∂X, …}`` as NumPy arrays (their own dtype), named by ``LINALG_FUNCTIONS[fn]``."""
    names = LINALG_FUNCTIONS[fn][1]
    grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    if len(grads) != len(names):
        raise ValueError(f"{fn}: {len(grads)} gradient(s) for inputs {names}")
    out = {"value": np.array(value)}
    out.update({f"d{name}": np.array(g) for name, g in zip(names, grads)})
    return out
