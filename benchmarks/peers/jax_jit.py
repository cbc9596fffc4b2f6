"""JAX: pure functions, ``jax.jit`` around ``grad``/``jacrev``/``hessian``/``vmap(grad)``.

A training step is one jitted function returning the updated parameters, with their buffers
donated (``donate_argnums``), the nearest JAX has to an update in place.  Every timed call ends
with ``jax.block_until_ready``, so asynchronous dispatch cannot hide work.  The first call
compiles and is reported apart.  Backward alone has no jitted form (``jit(grad)`` runs the
forward pass too), so that row is n/a.  Per-op rows run single ops eagerly: JAX records no
graph outside a transform, so they measure its dispatch; the backward row calls the pullback
that ``jax.vjp`` returned.  The linear-algebra workloads are ``jit(value_and_grad)`` over the matrix
inputs, in float64: JAX computes in float32 unless ``jax_enable_x64`` is on, so ``build`` turns it on
for these workloads and off for every other (the worker loads and times one workload at a time, so
the setting holds from a workload's build to its last sample, with nothing added to the timed call).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

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
from ..workload import Impl, NotApplicableError, Outputs, Spec
from . import blas_pools, dispatch


def cost(params: list[Any], X: Any, target: Any, problem: Problem) -> Any:
    A = X
    layers = len(params) // 2
    for layer in range(layers):
        Z = A @ params[2 * layer] + params[2 * layer + 1]
        if layer == layers - 1:
            if problem.head == "sigmoid_mse":
                return 0.5 * jnp.sum((jax.nn.sigmoid(Z) - target) ** 2)
            picked = jnp.take_along_axis(Z, target[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(Z, axis=1) - picked)
        A = jax.nn.sigmoid(Z) if problem.hidden == "sigmoid" else jax.nn.relu(Z)
    raise ValueError("cost: the network has no layer")


@dataclass
class Net:
    params: list[Any]
    X: Any
    target: Any


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net([jnp.asarray(p) for p in params], jnp.asarray(X), jnp.asarray(target))


def _named(problem: Problem, arrays: Any) -> Outputs:
    return {name: np.array(a) for name, a in zip(param_names(problem), arrays)}


def _step(spec: Spec) -> Impl:
    problem = spec.problem
    lr = problem.lr

    @functools.partial(jax.jit, donate_argnums=0)
    def sgd_step(params: list[Any], X: Any, target: Any) -> list[Any]:
        grads = jax.grad(cost)(params, X, target, problem)
        return [p - lr * g for p, g in zip(params, grads)]

    def step(net: Net) -> None:
        net.params = jax.block_until_ready(sgd_step(net.params, net.X, net.target))

    return Impl(setup=lambda: _setup(problem), step=step, outputs=lambda net, _: _named(problem, net.params))


def _per_example(spec: Spec) -> Impl:
    problem = spec.problem
    per_example = jax.jit(jax.vmap(jax.grad(lambda params, x, y: cost(params, x, y, problem)), in_axes=(None, 0, 0)))
    return Impl(
        setup=lambda: _setup(problem),
        step=lambda net: jax.block_until_ready(per_example(net.params, net.X, net.target)),
        outputs=lambda _, grads: _named(problem, grads),
        note="vmap(grad)",
    )


def _xW(n: int) -> tuple[Any, Any]:
    return tuple(jnp.asarray(a) for a in tanh_map_arrays(n))


def _jacrev(spec: Spec) -> Impl:
    jacobian = jax.jit(jax.jacrev(lambda x, W: jnp.tanh(W @ x)))
    return Impl(
        setup=lambda: _xW(spec.args["n"]),
        step=lambda xW: jax.block_until_ready(jacobian(*xW)),
        outputs=lambda _, jac: {"jacobian": np.array(jac)},
    )


def _hessian(spec: Spec) -> Impl:
    second = jax.jit(jax.hessian(lambda x, W: jnp.sum(jnp.tanh(W @ x))))
    return Impl(
        setup=lambda: _xW(spec.args["n"]),
        step=lambda xW: jax.block_until_ready(second(*xW)),
        outputs=lambda _, hess: {"hessian": np.array(hess)},
    )


OPS_NAMESPACE = SimpleNamespace(tanh=jnp.tanh, sum=jnp.sum, softplus=jax.nn.softplus, mean=jnp.mean)


def _second_order(spec: Spec) -> Impl:
    """``jit(hessian)`` (forward over reverse) and ``jit(jvp(grad(f)))``, in float64."""
    fn, mode = spec.args["fn"], spec.args["mode"]
    if mode not in ("hessian", "hvp"):
        raise NotApplicableError(f"{mode} is a matgrad-only row")
    f = second_order.objective(fn, OPS_NAMESPACE)

    def setup() -> tuple:
        x, constants, v = second_order.arrays(fn, spec.args["n"])
        return jnp.asarray(x), [jnp.asarray(c) for c in constants], jnp.asarray(v)

    if mode == "hvp":
        product = jax.jit(lambda x, v, *constants: jax.jvp(lambda y: jax.grad(f)(y, *constants), (x,), (v,))[1])
        return Impl(
            setup=setup,
            step=lambda a: jax.block_until_ready(product(a[0], a[2], *a[1])),
            outputs=lambda _, hv: {"hvp": np.array(hv)},
        )
    second = jax.jit(jax.hessian(f))
    return Impl(
        setup=setup,
        step=lambda a: jax.block_until_ready(second(a[0], *a[1])),
        outputs=lambda _, hess: {"hessian": np.array(hess)},
    )


OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "sigmoid": lambda a, b: jax.nn.sigmoid(a),
}


def _arrays() -> tuple[Any, Any]:
    return tuple(jnp.asarray(a) for a in op_arrays())


def _op(spec: Spec) -> Impl:
    op = OPS[spec.args["op"]]
    return Impl(
        setup=_arrays,
        step=lambda ab: op(*ab).block_until_ready(),
        outputs=lambda _, out: {"out": np.array(out)},
        note="eager, nothing recorded",
    )


def _op_backward(spec: Spec) -> Impl:
    seed = jnp.asarray(OP_SEED)

    def prepare(state: dict[str, Any]) -> None:
        _, state["pullback"] = jax.vjp(jnp.multiply, *state["ab"])

    return Impl(
        setup=lambda: {"ab": _arrays()},
        prepare=prepare,
        step=lambda state: jax.block_until_ready(state["pullback"](seed)),
        outputs=lambda _, g: {"a": np.array(g[0]), "b": np.array(g[1])},
        note="pullback of jax.vjp, eager",
    )


def _backward(spec: Spec) -> Impl:
    raise NotApplicableError("JAX has no backward-only call: jit(grad) runs the forward pass too")


LINALG = {
    "logdet": lambda X: jnp.linalg.slogdet(X)[1],
    "inv": lambda X, W: jnp.sum(jnp.linalg.inv(X) * W),
    "solve": lambda A, B, W: jnp.sum(jnp.linalg.solve(A, B) * W),
    "einsum-chain": lambda A, B, C: jnp.einsum("ij,jk,kl->", A, B, C),
    "einsum-batched": lambda A, B, W: jnp.sum(jnp.einsum("bij,bjk->bik", A, B) * W),
}


def _linalg(spec: Spec) -> Impl:
    fn = spec.args["fn"]
    both = jax.jit(jax.value_and_grad(LINALG[fn], argnums=tuple(range(len(LINALG_FUNCTIONS[fn][1])))))

    def setup() -> list[Any]:
        inputs, constants = linalg_arrays(fn, spec.args["n"])
        arrays = [jnp.asarray(a) for a in [*inputs, *constants]]
        if any(a.dtype != np.float64 for a in arrays):
            raise TypeError("jax_enable_x64 is off: the float64 arrays became float32")
        return arrays

    return Impl(
        setup=setup,
        step=lambda arrays: jax.block_until_ready(both(*arrays)),
        outputs=lambda _, ret: linalg_outputs(fn, np.array(ret[0]), [np.array(g) for g in ret[1]]),
        note="log det as slogdet(X)[1]" if fn == "logdet" else "",
    )


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


def build(spec: Spec) -> Impl:
    jax.config.update("jax_enable_x64", spec.kind in ("linalg", "second_order"))  # float64 for these only
    return dispatch(spec, BUILDERS, "JAX")


def _xla_pool_threads() -> int | None:
    """XLA's CPU thread pool (threads named ``…XLAEigen``), counted after one jitted matmul."""
    jax.jit(lambda a: a @ a)(jnp.ones((256, 256), jnp.float32)).block_until_ready()
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    names = []
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as comm:
                names.append(comm.read().strip())
        except OSError:
            continue
    return sum("XLAEigen" in name for name in names)


def describe() -> dict[str, str]:
    devices = ", ".join(str(d) for d in jax.devices())
    pool = _xla_pool_threads()
    return {
        "version": f"jax {jax.__version__}, jaxlib {jaxlib.__version__} ({devices})",
        "threads": f"XLA CPU pool {pool if pool is not None else '?'} threads, "
        f"XLA_FLAGS=`{os.environ.get('XLA_FLAGS', 'not set')}`; {blas_pools()}",
    }
