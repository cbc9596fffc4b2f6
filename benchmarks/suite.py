"""The workloads, in report order: backward only, full step, per-op overhead."""

from __future__ import annotations

from types import ModuleType

from . import overhead
from .peers import matgrad_engine, numpy_hand
from .problems import Problem
from .workload import Workload

#: framework name → module with ``backward_impl(problem)`` and ``step_impl(problem)``
PEERS: dict[str, ModuleType] = {"matgrad": matgrad_engine, "numpy": numpy_hand}

SEED_NETWORK = (784, 30, 10)
DEEP_NETWORK = (784, 1024, 1024, 10)

BACKWARD = "backward only"
STEP = "full step: forward + backward + SGD update in place"


def problems() -> list[Problem]:
    seed = [Problem(SEED_NETWORK, "sigmoid", "sigmoid_mse", b, lr=0.01 / b) for b in (10, 128, 1024)]
    return [*seed, Problem(DEEP_NETWORK, "relu", "softmax_ce", 256, lr=0.01)]


def workloads() -> list[Workload]:
    rows = []
    for group, impl in ((BACKWARD, "backward_impl"), (STEP, "step_impl")):
        for problem in problems():
            impls = {name: getattr(peer, impl)(problem) for name, peer in PEERS.items()}
            rows.append(Workload(group, problem.label, impls))
    return rows + overhead.workloads()
