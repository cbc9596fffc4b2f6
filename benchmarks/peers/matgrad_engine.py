"""matgrad: the same networks, written the way a user writes them, differentiated by the engine.

``0.5 * ((σ(Z) − Y) ** 2).sum()`` (summed, as in ``numpy_hand``) and
``mg.cross_entropy(Z, labels)`` (mean over the batch).  Gradients are reset with
``p.grad = None`` before every backward, and the update writes into ``p.data`` in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import matgrad as mg

from ..problems import Problem, param_names
from ..workload import Gradients, Impl


@dataclass
class Net:
    params: list[mg.Tensor]
    X: np.ndarray
    target: np.ndarray
    loss: mg.Tensor | None = None


def forward(net: Net, problem: Problem) -> mg.Tensor:
    """The cost as a recorded Tensor."""
    A: Any = net.X
    layers = len(net.params) // 2
    for layer in range(layers):
        Z = A @ net.params[2 * layer] + net.params[2 * layer + 1]
        if layer == layers - 1:
            if problem.head == "sigmoid_mse":
                return 0.5 * ((mg.sigmoid(Z) - net.target) ** 2).sum()
            return mg.cross_entropy(Z, net.target)
        A = mg.sigmoid(Z) if problem.hidden == "sigmoid" else mg.relu(Z)
    raise ValueError("forward: the network has no layer")


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net([mg.tensor(p, requires_grad=True) for p in params], X, target)


def _prepare(net: Net, problem: Problem) -> None:
    for p in net.params:
        p.grad = None
    net.loss = forward(net, problem)


def _gradients(problem: Problem) -> Gradients:
    net = _setup(problem)
    forward(net, problem).backward()
    return {name: np.asarray(p.grad) for name, p in zip(param_names(problem), net.params)}


def backward_impl(problem: Problem) -> Impl:
    """Time ``loss.backward()`` only; zeroing and the forward pass are untimed."""
    return Impl(
        setup=lambda: _setup(problem),
        prepare=lambda net: _prepare(net, problem),
        step=lambda net: net.loss.backward(),
        gradients=lambda: _gradients(problem),
    )


def step_impl(problem: Problem) -> Impl:
    """Time forward + backward + in-place SGD update."""

    def step(net: Net) -> None:
        forward(net, problem).backward()
        for p in net.params:
            p.data -= problem.lr * p.grad
            p.grad = None

    return Impl(setup=lambda: _setup(problem), step=step, gradients=lambda: _gradients(problem))
