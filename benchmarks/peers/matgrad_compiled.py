"""matgrad, compiled: ``mg.compile`` of the same cost as ``matgrad_engine``, then SGD in place.

The step is ``loss, grads = step(params, X, targets)`` followed by ``p -= lr * g`` on the
parameter arrays.  The first call traces (reported apart, as a compile); later calls replay the
generated plan.  Integer labels are one-hot encoded inside the timed step, outside the plan: a
plan freezes NumPy work done inside the traced function, so the targets reach it as floats.
Backward alone has no compiled form: the plan runs forward and backward together.  The
linear-algebra workloads are ``mg.compile`` of the same functions as ``matgrad_engine``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import matgrad as mg

from ..problems import Problem, param_names
from ..workload import Impl, NotApplicableError, Outputs, Spec
from . import blas_pools, dispatch
from .matgrad_engine import cost, linalg_impl, second_order_impl


@dataclass
class Net:
    params: list[np.ndarray]
    X: np.ndarray
    target: np.ndarray


def _setup(problem: Problem) -> Net:
    params, X, target = problem.arrays()
    return Net(params, X, target)


def _targets(problem: Problem, target: np.ndarray) -> np.ndarray:
    if problem.head == "softmax_ce":
        return mg.one_hot(target, problem.sizes[-1], dtype=np.dtype(problem.dtype))
    return target


def _step(spec: Spec) -> Impl:
    problem = spec.problem
    value_and_grad = mg.compile(lambda params, X, targets: cost(params, X, targets, problem))

    def step(net: Net) -> None:
        _, grads = value_and_grad(net.params, net.X, _targets(problem, net.target))
        for p, g in zip(net.params, grads):
            p -= problem.lr * g

    def outputs(net: Net, _: Any) -> Outputs:
        return dict(zip(param_names(problem), net.params))

    return Impl(setup=lambda: _setup(problem), step=step, outputs=outputs)


def _backward(spec: Spec) -> Impl:
    raise NotApplicableError("matgrad compiled has no backward-only call: a plan runs forward and backward together")


def _linalg(spec: Spec) -> Impl:
    return linalg_impl(spec, mg.compile)


def _second_order(spec: Spec) -> Impl:
    """``mg.compile`` of the very transforms ``matgrad_engine`` times (hvp with ``transform=True``)."""
    if spec.args["mode"] in ("hessian-rr", "hessian-symbolic"):
        raise NotApplicableError(f"the {spec.args['mode']} row times eager matgrad only")
    return second_order_impl(spec, lambda f: mg.compile(f, transform=True))


def _per_example(spec: Spec) -> Impl:
    """``mg.compile(mg.per_example_grad(f))``."""
    problem = spec.problem
    per_example = mg.compile(mg.per_example_grad(lambda params, x, y: cost(params, x, y, problem)))
    return Impl(
        setup=lambda: _setup(problem),
        step=lambda net: per_example(net.params, net.X, net.target),
        outputs=lambda net, grads: dict(zip(param_names(problem), grads)),
        note="compile(per_example_grad)",
    )


BUILDERS = {
    "step": _step,
    "backward": _backward,
    "linalg": _linalg,
    "second_order": _second_order,
    "per_example": _per_example,
}


def build(spec: Spec) -> Impl:
    return dispatch(spec, BUILDERS, "matgrad compiled")


def describe() -> dict[str, str]:
    return {"version": f"matgrad {mg.__version__} compiled (NumPy {np.__version__})", "threads": blas_pools()}
