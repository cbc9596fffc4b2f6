"""matgrad: the same networks, written the way a user writes them, differentiated by the engine.

``0.5 * ((σ(Z) − Y) ** 2).sum()`` (summed, as in ``numpy_hand``) and
``mg.cross_entropy(Z, labels)`` (mean over the batch).  Gradients are reset with
``p.grad = None`` before every backward, and the update writes into ``p.data`` in place.
Transforms are ``mg.jacrev``, ``mg.hessian`` (forward over reverse) and, for per-example
gradients, ``mg.per_example_grad`` (and, as a second row, ``mg.grad`` in a Python loop over the
examples).  The linear-algebra workloads are ``mg.value_and_grad`` of ``mg.linalg.logdet``, ``inv``,
``solve`` and ``mg.einsum`` on float64 arrays, with respect to every matrix input.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

import matgrad as mg

from .. import second_order
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
from ..workload import Impl, Outputs, Spec
from . import blas_pools, dispatch


@dataclass
class Net:
    params: list[mg.Tensor]
    X: np.ndarray
    target: np.ndarray
    loss: mg.Tensor | None = None


def cost(params: list[Any], X: np.ndarray, target: np.ndarray, problem: Problem) -> mg.Tensor:
    """The cost as a recorded Tensor."""
    A: Any = X
    layers = len(params) // 2
    for layer in range(layers):
        Z = A @ params[2 * layer] + params[2 * layer + 1]
        if layer == layers - 1:
            if problem.head == "sigmoid_mse":
                return 0.5 * ((mg.sigmoid(Z) - target) ** 2).sum()
            return mg.cross_entropy(Z, target)
        A = mg.sigmoid(Z) if problem.hidden == "sigmoid" else mg.relu(Z)
    raise ValueError("cost: the network has no layer")


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net([mg.tensor(p, requires_grad=True) for p in params], X, target)


def _named(problem: Problem, arrays: list[Any]) -> Outputs:
    return {name: np.asarray(a) for name, a in zip(param_names(problem), arrays)}


def _backward(spec: Spec) -> Impl:
    """Time ``loss.backward()`` only; zeroing and the forward pass are untimed."""
    problem = spec.problem

    def prepare(net: Net) -> None:
        for p in net.params:
            p.grad = None
        net.loss = cost(net.params, net.X, net.target, problem)

    return Impl(
        setup=lambda: _setup(problem),
        prepare=prepare,
        step=lambda net: net.loss.backward(),
        outputs=lambda net, _: _named(problem, [p.grad for p in net.params]),
    )


def _step(spec: Spec) -> Impl:
    """Time forward + backward + in-place SGD update."""
    problem = spec.problem

    def step(net: Net) -> None:
        cost(net.params, net.X, net.target, problem).backward()
        for p in net.params:
            p.data -= problem.lr * p.grad
            p.grad = None

    return Impl(
        setup=lambda: _setup(problem),
        step=step,
        outputs=lambda net, _: _named(problem, [p.data for p in net.params]),
    )


def _per_example(spec: Spec) -> Impl:
    """``mg.per_example_grad``: one recorded batch, the rows kept apart where weights meet them."""
    problem = spec.problem
    per_example = mg.per_example_grad(lambda params, x, y: cost(params, x, y, problem))
    return Impl(
        setup=lambda: _setup(problem),
        step=lambda net: per_example([p.data for p in net.params], net.X, net.target),
        outputs=lambda net, grads: _named(problem, grads),
        note="per_example_grad",
    )


def _per_example_loop(spec: Spec) -> Impl:
    """The same gradients by ``mg.grad`` in a Python loop over the examples, for comparison."""
    problem = spec.problem
    gradient = mg.grad(lambda params, x, y: cost(params, x, y, problem))

    def step(net: Net) -> list[np.ndarray]:
        params = [p.data for p in net.params]
        rows = [gradient(params, net.X[n : n + 1], net.target[n : n + 1]) for n in range(len(net.X))]
        return [np.stack(per_param) for per_param in zip(*rows)]

    return Impl(
        setup=lambda: _setup(problem),
        step=step,
        outputs=lambda net, grads: _named(problem, grads),
        note="Python loop over examples",
    )


def _jacrev(spec: Spec) -> Impl:
    jacobian = mg.jacrev(lambda x, W: mg.tanh(W @ x))
    return Impl(
        setup=lambda: tanh_map_arrays(spec.args["n"]),
        step=lambda xW: jacobian(*xW),
        outputs=lambda _, jac: {"jacobian": np.asarray(jac)},
    )


def _hessian(spec: Spec) -> Impl:
    hessian = mg.hessian(lambda x, W: mg.tanh(W @ x).sum())
    return Impl(
        setup=lambda: tanh_map_arrays(spec.args["n"]),
        step=lambda xW: hessian(*xW),
        outputs=lambda _, hess: {"hessian": np.asarray(hess)},
    )


OPS_NAMESPACE = SimpleNamespace(tanh=mg.tanh, sum=mg.sum, softplus=mg.softplus, mean=mg.mean)


def second_order_impl(spec: Spec, wrap: Any) -> Impl:
    """``mg.hessian`` (forward over reverse), ``mg.hvp``, the former ``jacrev(jacrev(f))`` or the closed
    form ``mg.hessian(f, method="symbolic")``; ``wrap``
    is applied to the transformed function (``mg.compile`` for the compiled peer)."""
    fn, mode = spec.args["fn"], spec.args["mode"]
    f = second_order.objective(fn, OPS_NAMESPACE)
    if mode == "hvp":

        def hvp(x: Any, v: Any, *constants: Any) -> Any:
            return mg.hvp(lambda y: f(y, *constants), (x,), (v,))[1]

        product = wrap(hvp)
        return Impl(
            setup=lambda: second_order.arrays(fn, spec.args["n"]),
            step=lambda a: product(a[0], a[2], *a[1]),
            outputs=lambda _, hv: {"hvp": np.asarray(hv)},
        )
    transformed = {
        "hessian": lambda: mg.hessian(f),
        "hessian-rr": lambda: mg.jacrev(mg.jacrev(f)),
        "hessian-symbolic": lambda: mg.hessian(f, method="symbolic"),
    }
    second = wrap(transformed[mode]())
    return Impl(
        setup=lambda: second_order.arrays(fn, spec.args["n"]),
        step=lambda a: second(a[0], *a[1]),
        outputs=lambda _, hess: {"hessian": np.asarray(hess)},
        note={"hessian-rr": "jacrev(jacrev(f))", "hessian-symbolic": "closed form"}.get(mode, ""),
    )


OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "sigmoid": lambda a, b: mg.sigmoid(a),
}


def _tensors(requires_grad: bool) -> tuple[mg.Tensor, mg.Tensor]:
    a, b = op_arrays()
    return mg.tensor(a, requires_grad=requires_grad), mg.tensor(b, requires_grad=requires_grad)


def _op(spec: Spec) -> Impl:
    op, requires_grad = OPS[spec.args["op"]], spec.args["requires_grad"]
    return Impl(
        setup=lambda: _tensors(requires_grad),
        step=lambda ab: op(*ab),
        outputs=lambda _, out: {"out": np.asarray(out.data)},
    )


def _op_backward(spec: Spec) -> Impl:
    """``c = a ⊙ b; c.backward(g)``, the forward untimed."""

    def prepare(state: dict[str, Any]) -> None:
        a, b = state["ab"]
        a.grad = b.grad = None
        state["c"] = a * b

    return Impl(
        setup=lambda: {"ab": _tensors(True)},
        prepare=prepare,
        step=lambda state: state["c"].backward(OP_SEED),
        outputs=lambda state, _: {"a": state["ab"][0].grad, "b": state["ab"][1].grad},
    )


#: the scalar functions of the linear-algebra workloads: inputs, then the constant weight
LINALG = {
    "logdet": lambda X: mg.linalg.logdet(X),
    "inv": lambda X, W: (mg.linalg.inv(X) * W).sum(),
    "solve": lambda A, B, W: (mg.linalg.solve(A, B) * W).sum(),
    "einsum-chain": lambda A, B, C: mg.einsum("ij,jk,kl->", A, B, C),
    "einsum-batched": lambda A, B, W: (mg.einsum("bij,bjk->bik", A, B) * W).sum(),
}


def linalg_impl(spec: Spec, transform: Any, note: str = "") -> Impl:
    """``transform(f, argnums=<the matrix inputs>)(*inputs, *constants)`` → ``(value, grads)``."""
    fn = spec.args["fn"]
    argnums = tuple(range(len(LINALG_FUNCTIONS[fn][1])))
    value_and_grad = transform(LINALG[fn], argnums=argnums)

    def setup() -> list[np.ndarray]:
        inputs, constants = linalg_arrays(fn, spec.args["n"])
        return [*inputs, *constants]

    return Impl(
        setup=setup,
        step=lambda arrays: value_and_grad(*arrays),
        outputs=lambda _, ret: linalg_outputs(fn, *ret),
        note=note,
    )


def _linalg(spec: Spec) -> Impl:
    return linalg_impl(spec, mg.value_and_grad)


BUILDERS = {
    "second_order": lambda spec: second_order_impl(spec, lambda f: f),
    "step": _step,
    "backward": _backward,
    "per_example": _per_example,
    "per_example_loop": _per_example_loop,
    "jacrev": _jacrev,
    "hessian": _hessian,
    "op": _op,
    "op_backward": _op_backward,
    "linalg": _linalg,
}


def build(spec: Spec) -> Impl:
    return dispatch(spec, BUILDERS, "matgrad")


def describe() -> dict[str, str]:
    return {"version": f"matgrad {mg.__version__} (NumPy {np.__version__})", "threads": blas_pools()}
