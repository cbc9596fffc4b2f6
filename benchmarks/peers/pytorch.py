"""PyTorch in eager mode: the networks as a user writes them, ``loss.backward()``, ``torch.func``.

The update is ``p.sub_(p.grad, alpha=lr)`` under ``torch.no_grad()``, then ``p.grad = None``.
Transforms are ``torch.func.jacrev``, ``torch.func.hessian`` (``jacfwd(jacrev)``) and, for
per-example gradients, ``torch.func.vmap(torch.func.grad(loss))``.  ``pytorch_compiled``
builds the same workloads with ``torch.compile`` around the same functions.  The linear-algebra
workloads run the function forward, then ``torch.autograd.grad`` with respect to its matrix inputs
(``torch.logdet``, ``torch.linalg.inv``, ``torch.linalg.solve``, ``torch.einsum``, float64); they
are not compiled (n/a for torch.compile).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch.func import grad, hessian, jacrev, jvp, vmap
from torch.nn.functional import cross_entropy, softplus

from .. import second_order
from ..problems import (
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

Wrap = Callable[[Callable], Callable]


def _eager(f: Callable) -> Callable:
    return f


@dataclass
class Net:
    params: list[torch.Tensor]
    X: torch.Tensor
    target: torch.Tensor
    loss: torch.Tensor | None = None


def cost(params: list[torch.Tensor], X: torch.Tensor, target: torch.Tensor, problem: Problem) -> torch.Tensor:
    A = X
    layers = len(params) // 2
    for layer in range(layers):
        Z = A @ params[2 * layer] + params[2 * layer + 1]
        if layer == layers - 1:
            if problem.head == "sigmoid_mse":
                return 0.5 * ((torch.sigmoid(Z) - target) ** 2).sum()
            return cross_entropy(Z, target)
        A = torch.sigmoid(Z) if problem.hidden == "sigmoid" else torch.relu(Z)
    raise ValueError("cost: the network has no layer")


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net([torch.from_numpy(p).requires_grad_() for p in params], torch.from_numpy(X), torch.from_numpy(target))


def _array(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def _named(problem: Problem, tensors: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> Outputs:
    return {name: _array(t) for name, t in zip(param_names(problem), tensors)}


def _step(spec: Spec, wrap: Wrap) -> Impl:
    problem = spec.problem
    lr = problem.lr

    def sgd_step(params: list[torch.Tensor], X: torch.Tensor, target: torch.Tensor) -> None:
        cost(params, X, target, problem).backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
                p.grad = None

    step = wrap(sgd_step)
    return Impl(
        setup=lambda: _setup(problem),
        step=lambda net: step(net.params, net.X, net.target),
        outputs=lambda net, _: _named(problem, net.params),
    )


def _backward(spec: Spec, wrap: Wrap) -> Impl:
    """Time ``loss.backward()`` only; ``p.grad = None`` and the forward pass are untimed."""
    problem = spec.problem
    forward = wrap(lambda params, X, target: cost(params, X, target, problem))

    def prepare(net: Net) -> None:
        for p in net.params:
            p.grad = None
        net.loss = forward(net.params, net.X, net.target)

    return Impl(
        setup=lambda: _setup(problem),
        prepare=prepare,
        step=lambda net: net.loss.backward(),
        outputs=lambda net, _: _named(problem, [p.grad for p in net.params]),
    )


def _per_example(spec: Spec, wrap: Wrap) -> Impl:
    problem = spec.problem

    def one(params: tuple[torch.Tensor, ...], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cost(list(params), x, y, problem)

    per_example = wrap(vmap(grad(one), in_dims=(None, 0, 0)))

    def setup() -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
        net = _setup(problem)
        return tuple(p.detach() for p in net.params), net.X, net.target

    return Impl(
        setup=setup,
        step=lambda state: per_example(*state),
        outputs=lambda _, grads: _named(problem, grads),
        note="vmap(grad)",
    )


def _xW(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return tuple(torch.from_numpy(a) for a in tanh_map_arrays(n))


def _jacrev(spec: Spec, wrap: Wrap) -> Impl:
    jacobian = wrap(jacrev(lambda x, W: torch.tanh(W @ x)))
    return Impl(
        setup=lambda: _xW(spec.args["n"]),
        step=lambda xW: jacobian(*xW),
        outputs=lambda _, jac: {"jacobian": _array(jac)},
    )


def _hessian(spec: Spec, wrap: Wrap) -> Impl:
    second = wrap(hessian(lambda x, W: torch.tanh(W @ x).sum()))
    return Impl(
        setup=lambda: _xW(spec.args["n"]),
        step=lambda xW: second(*xW),
        outputs=lambda _, hess: {"hessian": _array(hess)},
    )


OPS_NAMESPACE = SimpleNamespace(tanh=torch.tanh, sum=torch.sum, softplus=softplus, mean=torch.mean)


def _second_order(spec: Spec, wrap: Wrap) -> Impl:
    """``torch.func.hessian`` (forward over reverse) and ``jvp(grad(f))``."""
    fn, mode = spec.args["fn"], spec.args["mode"]
    if mode not in ("hessian", "hvp"):
        raise NotApplicableError(f"{mode} is a matgrad-only row")
    f = second_order.objective(fn, OPS_NAMESPACE)
    if wrap is torch.compile:  # every size of these rows is a new graph: with dynamic shapes functorch's
        wrap = functools.partial(torch.compile, dynamic=False)  # hessian fails ("storage_offset() … symbolic")

    def setup() -> tuple:
        x, constants, v = second_order.arrays(fn, spec.args["n"])
        return torch.from_numpy(x), [torch.from_numpy(c) for c in constants], torch.from_numpy(v)

    if mode == "hvp":
        product = wrap(lambda x, v, *constants: jvp(lambda y: grad(f)(y, *constants), (x,), (v,))[1])
        return Impl(setup=setup, step=lambda a: product(a[0], a[2], *a[1]), outputs=lambda _, hv: {"hvp": _array(hv)})
    second = wrap(hessian(f))
    return Impl(setup=setup, step=lambda a: second(a[0], *a[1]), outputs=lambda _, hess: {"hessian": _array(hess)})


OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "sigmoid": lambda a, b: torch.sigmoid(a),
}


def _tensors(requires_grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = op_arrays()
    return torch.from_numpy(a).requires_grad_(requires_grad), torch.from_numpy(b).requires_grad_(requires_grad)


def _op(spec: Spec, wrap: Wrap) -> Impl:
    if wrap is not _eager:
        raise NotApplicableError("one op is not compiled on its own")
    op, requires_grad = OPS[spec.args["op"]], spec.args["requires_grad"]
    return Impl(
        setup=lambda: _tensors(requires_grad),
        step=lambda ab: op(*ab),
        outputs=lambda _, out: {"out": _array(out)},
    )


def _op_backward(spec: Spec, wrap: Wrap) -> Impl:
    """``c = a * b; c.backward(g)``, the forward untimed."""
    if wrap is not _eager:
        raise NotApplicableError("one op is not compiled on its own")
    seed = torch.from_numpy(OP_SEED)

    def prepare(state: dict[str, Any]) -> None:
        a, b = state["ab"]
        a.grad = b.grad = None
        state["c"] = a * b

    return Impl(
        setup=lambda: {"ab": _tensors(True)},
        prepare=prepare,
        step=lambda state: state["c"].backward(seed),
        outputs=lambda state, _: {"a": _array(state["ab"][0].grad), "b": _array(state["ab"][1].grad)},
    )


LINALG = {
    "logdet": lambda X: torch.logdet(X),
    "inv": lambda X, W: (torch.linalg.inv(X) * W).sum(),
    "solve": lambda A, B, W: (torch.linalg.solve(A, B) * W).sum(),
    "einsum-chain": lambda A, B, C: torch.einsum("ij,jk,kl->", A, B, C),
    "einsum-batched": lambda A, B, W: (torch.einsum("bij,bjk->bik", A, B) * W).sum(),
}


def _linalg(spec: Spec, wrap: Wrap) -> Impl:
    """``value = f(*inputs, *constants)``, then ``torch.autograd.grad(value, inputs)`` (no ``.grad`` to reset)."""
    if wrap is not _eager:
        raise NotApplicableError(
            "not in this comparison: inductor compiles for seconds (22 s for log det) and lowers the einsum "
            "chain to loops (35 ms at n = 64)"
        )
    fn = spec.args["fn"]
    f = LINALG[fn]

    def setup() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        inputs, constants = linalg_arrays(fn, spec.args["n"])
        return [torch.from_numpy(a).requires_grad_() for a in inputs], [torch.from_numpy(c) for c in constants]

    def step(state: tuple[list[torch.Tensor], list[torch.Tensor]]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        inputs, constants = state
        value = f(*inputs, *constants)
        return value.detach(), torch.autograd.grad(value, inputs)

    def outputs(_: Any, ret: tuple[torch.Tensor, tuple[torch.Tensor, ...]]) -> Outputs:
        value, grads = ret
        return linalg_outputs(fn, _array(value), [_array(g) for g in grads])

    return Impl(setup=setup, step=step, outputs=outputs)


BUILDERS = {
    "second_order": _second_order,
    "step": _step,
    "backward": _backward,
    "per_example": _per_example,
    "jacrev": _jacrev,
    "hessian": _hessian,
    "op": _op,
    "op_backward": _op_backward,
    "linalg": _linalg,
}


def build_with(spec: Spec, wrap: Wrap, framework: str) -> Impl:
    builders = {kind: (lambda s, b=b: b(s, wrap)) for kind, b in BUILDERS.items()}
    return dispatch(spec, builders, framework)


def build(spec: Spec) -> Impl:
    return build_with(spec, _eager, "PyTorch")


def configure(threads: int) -> None:
    torch.set_num_threads(threads)


def describe() -> dict[str, str]:
    config = torch.__config__.show()
    blas = next(
        (part.split("=", 1)[1] for part in config.replace(",", " ").split() if part.startswith("BLAS_INFO=")), "unknown"
    )
    return {
        "version": f"torch {torch.__version__} (NumPy {np.__version__})",
        "threads": f"torch.get_num_threads() {torch.get_num_threads()}, interop "
        f"{torch.get_num_interop_threads()}, BLAS_INFO={blas}, MKL {torch.backends.mkl.is_available()}; "
        f"{blas_pools()}",
    }
