"""Hand-written NumPy backprop: the δ equations, batch-first rows (the floor).

Forward, for layers l = 1 … L (``A_0 = X``)::

    Z_l = A_{l-1} W_l + b_l,   A_l = f(Z_l)   (f = σ or ReLU; the head at l = L)

Backward, from the head's ``δ_L = ∂C/∂Z_L``::

    sigmoid_mse:  δ_L = (A_L − Y) ⊙ A_L (1 − A_L)          (C summed over the batch)
    softmax_ce:   δ_L = (softmax(Z_L) − onehot(labels)) / N  (C averaged over the batch)
    ∂W_l = A_{l-1}ᵀ δ_l,   ∂b_l = Σ_rows δ_l,   δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(Z_{l-1})

with σ' = A(1 − A) and ReLU' = 𝟙[A > 0], both read from the saved activation.

The other workloads by hand as well: the Jacobian of ``tanh(W x)`` is ``diag(1 − t²) W``; the
Hessian of ``Σ tanh(W x)`` is ``Wᵀ diag(−2 t (1 − t²)) W`` (``t = tanh(W x)``); per-example
gradients are the δ equations without the sum over rows (``∂W_n = a_n ⊗ δ_n``), batched.

The linear-algebra workloads by their closed forms (Matrix Cookbook), value and gradient together:
``∂ log det X = X⁻ᵀ``; ``∂ Σ X⁻¹ ⊙ W = −X⁻ᵀ W X⁻ᵀ`` (from the forward's inverse, two matmuls);
``Y = A⁻¹B``: ``∂B = A⁻ᵀ W`` (a solve with Aᵀ), ``∂A = −∂B Yᵀ``.  NumPy keeps no LU between calls,
so log det and solve factor twice (slogdet then inv, solve then solve with Aᵀ), as an engine on
``numpy.linalg`` must.  The einsum chain ``Σ_ijkl A_ij B_jk C_kl = (1ᵀA) B (C1)`` is done in
O(n²): ``∂A = 1 (B C 1)ᵀ``, ``∂B = (Aᵀ1)(C1)ᵀ``, ``∂C = (Bᵀ Aᵀ 1) 1ᵀ`` (the floor for any
contraction order); the batched one is three batched matmuls, ``∂A = W Bᵀ``, ``∂B = Aᵀ W``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import second_order
from ..problems import OP_SEED, Problem, linalg_arrays, linalg_outputs, op_arrays, param_names, tanh_map_arrays
from ..workload import Impl, Outputs, Spec
from . import blas_pools, dispatch


@dataclass
class Net:
    params: list[np.ndarray]
    X: np.ndarray
    target: np.ndarray
    activations: list[np.ndarray] = field(default_factory=list)  # A_0 … A_{L-1}
    head: np.ndarray | None = None  # A_L − Y (MSE) or softmax(Z_L) (CE), kept for δ_L
    out: np.ndarray | None = None  # A_L (MSE only)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def forward(net: Net, problem: Problem) -> float:
    """Run the forward pass, keep what backward needs, return the cost."""
    A = net.X
    net.activations = [A]
    layers = len(net.params) // 2
    for layer in range(layers):
        Z = A @ net.params[2 * layer] + net.params[2 * layer + 1]
        if layer == layers - 1:
            return _head_forward(net, Z, problem)
        A = _sigmoid(Z) if problem.hidden == "sigmoid" else np.maximum(Z, 0)
        net.activations.append(A)
    raise ValueError("forward: the network has no layer")


def _head_forward(net: Net, Z: np.ndarray, problem: Problem) -> float:
    if problem.head == "sigmoid_mse":
        net.out = _sigmoid(Z)
        net.head = net.out - net.target
        return 0.5 * float(np.sum(net.head * net.head))
    shifted = Z - Z.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    net.head = exps / totals
    rows = np.arange(len(Z))
    return float(np.mean(np.log(totals[:, 0]) - shifted[rows, net.target]))


def backward(net: Net, problem: Problem) -> list[np.ndarray]:
    """``[∂W1, ∂b1, ∂W2, …]`` by the δ equations."""
    if problem.head == "sigmoid_mse":
        delta = net.head * net.out * (1 - net.out)
    else:
        delta = net.head.copy()
        delta[np.arange(len(delta)), net.target] -= 1
        delta /= len(delta)
    grads: list[np.ndarray] = []
    for layer in reversed(range(len(net.params) // 2)):
        A = net.activations[layer]
        grads[:0] = [A.T @ delta, delta.sum(axis=0)]
        if layer > 0:
            back = delta @ net.params[2 * layer].T
            delta = back * A * (1 - A) if problem.hidden == "sigmoid" else back * (A > 0)
    return grads


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net(params, X, target)


def _named(problem: Problem, arrays: list[np.ndarray]) -> Outputs:
    return dict(zip(param_names(problem), arrays))


def _backward(spec: Spec) -> Impl:
    """Time the δ equations only; the forward pass is the untimed prepare step."""
    problem = spec.problem
    return Impl(
        setup=lambda: _setup(problem),
        prepare=lambda net: forward(net, problem),
        step=lambda net: backward(net, problem),
        outputs=lambda net, grads: _named(problem, grads),
    )


def _step(spec: Spec) -> Impl:
    """Time forward + δ equations + in-place SGD update."""
    problem = spec.problem

    def step(net: Net) -> None:
        forward(net, problem)
        for p, g in zip(net.params, backward(net, problem)):
            p -= problem.lr * g

    return Impl(setup=lambda: _setup(problem), step=step, outputs=lambda net, _: _named(problem, net.params))


def per_example(net: Net, problem: Problem) -> list[np.ndarray]:
    """Every example's gradients, ``[∂W1 (N, 784, 30), ∂b1 (N, 30), …]``, by batched δ equations."""
    forward(net, problem)
    delta = net.head * net.out * (1 - net.out)
    grads: list[np.ndarray] = []
    for layer in reversed(range(len(net.params) // 2)):
        A = net.activations[layer]
        grads[:0] = [A[:, :, None] * delta[:, None, :], delta]
        if layer > 0:
            delta = (delta @ net.params[2 * layer].T) * A * (1 - A)
    return grads


def _per_example(spec: Spec) -> Impl:
    problem = spec.problem
    if problem.head != "sigmoid_mse" or problem.hidden != "sigmoid":
        raise ValueError("per-example gradients by hand are written for the σ/MSE network only")
    return Impl(
        setup=lambda: _setup(problem),
        step=lambda net: per_example(net, problem),
        outputs=lambda net, grads: _named(problem, grads),
    )


def _jacrev(spec: Spec) -> Impl:
    def jacobian(xW: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x, W = xW
        t = np.tanh(W @ x)
        return (1 - t * t)[:, None] * W

    return Impl(
        setup=lambda: tanh_map_arrays(spec.args["n"]),
        step=jacobian,
        outputs=lambda _, jac: {"jacobian": jac},
    )


def _hessian(spec: Spec) -> Impl:
    def hessian(xW: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x, W = xW
        t = np.tanh(W @ x)
        return W.T @ ((-2 * t * (1 - t * t))[:, None] * W)

    return Impl(
        setup=lambda: tanh_map_arrays(spec.args["n"]),
        step=hessian,
        outputs=lambda _, hess: {"hessian": hess},
    )


def _sigmoid_op(a: np.ndarray, _: Any) -> np.ndarray:
    """matgrad's overflow-safe sigmoid called bare, so that only the engine's cost differs."""
    from matgrad.primitives.elementwise import stable_sigmoid

    return stable_sigmoid(a)


OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "sigmoid": _sigmoid_op,
}


def _op(spec: Spec) -> Impl:
    op = OPS[spec.args["op"]]
    return Impl(setup=op_arrays, step=lambda ab: op(*ab), outputs=lambda _, out: {"out": out}, note="bare NumPy")


def _op_backward(spec: Spec) -> Impl:
    """The two VJPs of ``c = a ⊙ b`` by hand: ``g ⊙ b`` and ``g ⊙ a``."""

    def vjps(ab: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return OP_SEED * ab[1], OP_SEED * ab[0]

    return Impl(setup=op_arrays, step=vjps, outputs=lambda _, g: {"a": g[0], "b": g[1]})


def _logdet(X: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
    _, value = np.linalg.slogdet(X)
    return value, (np.linalg.inv(X).T,)


def _inv(X: np.ndarray, W: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
    Y = np.linalg.inv(X)
    return np.sum(Y * W), (-(Y.T @ W @ Y.T),)


def _solve(A: np.ndarray, B: np.ndarray, W: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
    Y = np.linalg.solve(A, B)
    dB = np.linalg.solve(A.T, W)
    return np.sum(Y * W), (-(dB @ Y.T), dB)


def _einsum_chain(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
    u, v = A.sum(axis=0), C.sum(axis=1)  # 1ᵀA and C1
    Bv, uB = B @ v, u @ B
    dA = np.broadcast_to(Bv, A.shape).copy()  # every row B C 1
    dC = np.broadcast_to(uB[:, None], C.shape).copy()  # every column Bᵀ Aᵀ 1
    return u @ Bv, (dA, np.outer(u, v), dC)


def _einsum_batched(A: np.ndarray, B: np.ndarray, W: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
    Y = A @ B
    return np.sum(Y * W), (W @ B.transpose(0, 2, 1), A.transpose(0, 2, 1) @ W)


LINALG = {
    "logdet": _logdet,
    "inv": _inv,
    "solve": _solve,
    "einsum-chain": _einsum_chain,
    "einsum-batched": _einsum_batched,
}


def _linalg(spec: Spec) -> Impl:
    """Value and gradient of the closed form, inputs then constants as arguments."""
    fn = spec.args["fn"]
    f = LINALG[fn]

    def setup() -> list[np.ndarray]:
        inputs, constants = linalg_arrays(fn, spec.args["n"])
        return [*inputs, *constants]

    return Impl(
        setup=setup,
        step=lambda arrays: f(*arrays),
        outputs=lambda _, ret: linalg_outputs(fn, *ret),
    )


BUILDERS = {
    "second_order": second_order.reference,
    "step": _step,
    "backward": _backward,
    "per_example": _per_example,
    "per_example_loop": _per_example,  # the reference of the loop row is the same batched δ equations
    "jacrev": _jacrev,
    "hessian": _hessian,
    "op": _op,
    "op_backward": _op_backward,
    "linalg": _linalg,
}


def build(spec: Spec) -> Impl:
    return dispatch(spec, BUILDERS, "hand NumPy")


def describe() -> dict[str, str]:
    return {"version": f"NumPy {np.__version__}", "threads": blas_pools()}
