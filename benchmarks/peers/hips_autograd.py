"""HIPS autograd: ``autograd.numpy`` functions, ``grad``, ``make_vjp``, ``jacobian``, ``hessian``.

The parameters are a list of NumPy arrays, updated in place with ``p -= lr * g``.  autograd has
no sigmoid primitive, so σ is ``1 / (1 + exp(−z))`` (four recorded ops), and no ``vmap``, so
per-example gradients are ``grad`` in a Python loop.  Per-op rows record on ``ArrayBox``es of
a trace opened once in setup, which is what every op inside ``grad`` does.  The linear-algebra
workloads are ``value_and_grad`` over the matrix inputs (``argnum`` a tuple) of
``autograd.numpy.linalg`` and ``autograd.numpy.einsum`` functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd import grad, hessian, jacobian, make_vjp, value_and_grad
from autograd.core import VJPNode
from autograd.tracer import getval, new_box, trace_stack

from ..problems import (
    LINALG_FUNCTIONS,
    OP_SEED,
    Problem,
    linalg_arrays,
    linalg_outputs,
    op_arrays,
    param_names,
    tanh_map_arrays,
)
from ..workload import Impl, NotApplicableError, Outputs, Spec
from . import blas_pools, dispatch


def sigmoid(z: Any) -> Any:
    return 1 / (1 + anp.exp(-z))


def cost(params: list[Any], X: np.ndarray, target: np.ndarray, problem: Problem) -> Any:
    A: Any = X
    layers = len(params) // 2
    for layer in range(layers):
        Z = anp.dot(A, params[2 * layer]) + params[2 * layer + 1]
        if layer == layers - 1:
            if problem.head == "sigmoid_mse":
                return 0.5 * anp.sum((sigmoid(Z) - target) ** 2)
            shifted = Z - anp.max(Z, axis=1, keepdims=True)
            log_totals = anp.log(anp.sum(anp.exp(shifted), axis=1))
            return anp.mean(log_totals - shifted[np.arange(len(target)), target])
        A = sigmoid(Z) if problem.hidden == "sigmoid" else anp.maximum(Z, 0)
    raise ValueError("cost: the network has no layer")


@dataclass
class Net:
    params: list[np.ndarray]
    X: np.ndarray
    target: np.ndarray
    vjp: Any = None


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net(params, X, target)


def _named(problem: Problem, arrays: list[Any]) -> Outputs:
    return {name: np.asarray(a) for name, a in zip(param_names(problem), arrays)}


def _step(spec: Spec) -> Impl:
    problem = spec.problem
    gradient = grad(cost)

    def step(net: Net) -> None:
        for p, g in zip(net.params, gradient(net.params, net.X, net.target, problem)):
            p -= problem.lr * g

    return Impl(setup=lambda: _setup(problem), step=step, outputs=lambda net, _: _named(problem, net.params))


def _backward(spec: Spec) -> Impl:
    """``make_vjp`` records the forward pass (untimed); the timed call is ``vjp(1.0)``."""
    problem = spec.problem
    forward = make_vjp(cost)

    def prepare(net: Net) -> None:
        net.vjp, _ = forward(net.params, net.X, net.target, problem)

    return Impl(
        setup=lambda: _setup(problem),
        prepare=prepare,
        step=lambda net: net.vjp(np.float32(1.0)),
        outputs=lambda _, grads: _named(problem, grads),
        note="vjp of make_vjp",
    )


def _per_example(spec: Spec) -> Impl:
    problem = spec.problem
    gradient = grad(lambda params, x, y: cost(params, x, y, problem))

    def step(net: Net) -> list[np.ndarray]:
        rows = [gradient(net.params, net.X[n : n + 1], net.target[n : n + 1]) for n in range(len(net.X))]
        return [np.stack(per_param) for per_param in zip(*rows)]

    return Impl(
        setup=lambda: _setup(problem),
        step=step,
        outputs=lambda _, grads: _named(problem, grads),
        note="Python loop over examples",
    )


def _jacrev(spec: Spec) -> Impl:
    jac = jacobian(lambda x, W: anp.tanh(anp.dot(W, x)))
    return Impl(
        setup=lambda: tanh_map_arrays(spec.args["n"]),
        step=lambda xW: jac(*xW),
        outputs=lambda _, out: {"jacobian": np.asarray(out)},
        note="jacobian (reverse)",
    )


def _hessian(spec: Spec) -> Impl:
    second = hessian(lambda x, W: anp.sum(anp.tanh(anp.dot(W, x))))
    return Impl(
        setup=lambda: tanh_map_arrays(spec.args["n"]),
        step=lambda xW: second(*xW),
        outputs=lambda _, out: {"hessian": np.asarray(out)},
        note="jacobian(jacobian)",
    )


OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "sigmoid": lambda a, b: sigmoid(a),
}
CONSTANT_OPS = {  # the same through autograd.numpy's wrappers, on plain arrays
    "add": lambda a, b: anp.add(a, b),
    "mul": lambda a, b: anp.multiply(a, b),
    "matmul": lambda a, b: anp.matmul(a, b),
    "sigmoid": lambda a, b: sigmoid(a),
}


def _boxes() -> tuple[Any, Any]:
    """The two operands boxed in a trace of their own, each with a root node, as ``grad`` does."""
    a, b = op_arrays()
    with trace_stack.new_trace() as trace:
        return new_box(a, trace, VJPNode.new_root()), new_box(b, trace, VJPNode.new_root())


def _op(spec: Spec) -> Impl:
    requires_grad = spec.args["requires_grad"]
    op = (OPS if requires_grad else CONSTANT_OPS)[spec.args["op"]]
    note = "1/(1 + exp(−x)): 4 recorded ops" if spec.args["op"] == "sigmoid" else ""
    if not requires_grad:
        note = "autograd.numpy on plain arrays"
    return Impl(
        setup=_boxes if requires_grad else op_arrays,
        step=lambda ab: op(*ab),
        outputs=lambda _, out: {"out": np.asarray(getval(out))},
        note=note,
    )


def _op_backward(spec: Spec) -> Impl:
    forward = make_vjp(anp.multiply, argnum=(0, 1))

    def prepare(state: dict[str, Any]) -> None:
        state["vjp"], _ = forward(*state["ab"])

    return Impl(
        setup=lambda: {"ab": op_arrays()},
        prepare=prepare,
        step=lambda state: state["vjp"](OP_SEED),
        outputs=lambda _, g: {"a": np.asarray(g[0]), "b": np.asarray(g[1])},
        note="make_vjp over (a, b): 2 tuple-index nodes too",
    )


LINALG = {
    "logdet": lambda X: anp.linalg.slogdet(X)[1],
    "inv": lambda X, W: anp.sum(anp.linalg.inv(X) * W),
    "solve": lambda A, B, W: anp.sum(anp.linalg.solve(A, B) * W),
    "einsum-chain": lambda A, B, C: anp.einsum("ij,jk,kl->", A, B, C),
    "einsum-batched": lambda A, B, W: anp.sum(anp.einsum("bij,bjk->bik", A, B) * W),
}


#: autograd's einsum, forward and VJPs, is one np.einsum without a contraction path: for three operands
#: a loop over all four labels, n⁴ terms (0.2 s at n = 64, minutes at 512)
EINSUM_CHAIN_LIMIT = 128


def _linalg(spec: Spec) -> Impl:
    fn = spec.args["fn"]
    if fn == "einsum-chain" and spec.args["n"] > EINSUM_CHAIN_LIMIT:
        raise NotApplicableError(
            f"not run above n = {EINSUM_CHAIN_LIMIT}: autograd's einsum has no contraction path, n⁴ terms "
            "(0.2 s at n = 64, minutes at 512)"
        )
    both = value_and_grad(LINALG[fn], argnum=tuple(range(len(LINALG_FUNCTIONS[fn][1]))))

    def setup() -> list[np.ndarray]:
        inputs, constants = linalg_arrays(fn, spec.args["n"])
        return [*inputs, *constants]

    return Impl(
        setup=setup,
        step=lambda arrays: both(*arrays),
        outputs=lambda _, ret: linalg_outputs(fn, *ret),
        note="log det as slogdet(X)[1]" if fn == "logdet" else "",
    )


BUILDERS = {
    "step": _step,
    "backward": _backward,
    "per_example": _per_example,
    "jacrev": _jacrev,
    "hessian": _hessian,
    "op": _op,
    "op_backward": _op_backward,
    "linalg": _linalg,
}


def build(spec: Spec) -> Impl:
    return dispatch(spec, BUILDERS, "HIPS autograd")


def describe() -> dict[str, str]:
    return {"version": f"autograd {version('autograd')} (NumPy {np.__version__})", "threads": blas_pools()}
