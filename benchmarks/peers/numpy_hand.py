"""Hand-written NumPy backprop: seed 001's δ equations, batch-first rows (the floor).

Forward, for layers l = 1 … L (``A_0 = X``)::

    Z_l = A_{l-1} W_l + b_l,   A_l = f(Z_l)   (f = σ or ReLU; the head at l = L)

Backward, from the head's ``δ_L = ∂C/∂Z_L``::

    sigmoid_mse:  δ_L = (A_L − Y) ⊙ A_L (1 − A_L)          (C summed over the batch)
    softmax_ce:   δ_L = (softmax(Z_L) − onehot(labels)) / N  (C averaged over the batch)
    ∂W_l = A_{l-1}ᵀ δ_l,   ∂b_l = Σ_rows δ_l,   δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(Z_{l-1})

with σ' = A(1 − A) and ReLU' = 𝟙[A > 0], both read from the saved activation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..problems import Problem, param_names
from ..workload import Gradients, Impl


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


def _gradients(problem: Problem) -> Gradients:
    net = _setup(problem)
    forward(net, problem)
    return dict(zip(param_names(problem), backward(net, problem)))


def backward_impl(problem: Problem) -> Impl:
    """Time the δ equations only; the forward pass is the untimed prepare step."""
    return Impl(
        setup=lambda: _setup(problem),
        prepare=lambda net: forward(net, problem),
        step=lambda net: backward(net, problem),
        gradients=lambda: _gradients(problem),
    )


def step_impl(problem: Problem) -> Impl:
    """Time forward + δ equations + in-place SGD update."""

    def step(net: Any) -> None:
        forward(net, problem)
        for p, g in zip(net.params, backward(net, problem)):
            p -= problem.lr * g

    return Impl(setup=lambda: _setup(problem), step=step, gradients=lambda: _gradients(problem))
