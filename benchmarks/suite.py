"""The frameworks and the workloads, in report order.  Plain data: importing this needs no peer."""

from __future__ import annotations

from dataclasses import dataclass

from . import second_order
from .problems import LINALG_FUNCTIONS, Problem
from .workload import Spec


@dataclass(frozen=True)
class Framework:
    name: str  # what ``--frameworks`` and the worker's ``--framework`` take
    label: str  # the column header
    module: str  # ``benchmarks.peers.<module>`` has ``build(spec)`` (and ``describe()``)
    compiled: bool = False  # first call includes a compile, reported separately


FRAMEWORKS = (
    Framework("numpy", "hand NumPy", "numpy_hand"),
    Framework("matgrad", "matgrad", "matgrad_engine"),
    Framework("matgrad.compile", "matgrad compiled", "matgrad_compiled", compiled=True),
    Framework("torch", "PyTorch (eager)", "pytorch"),
    Framework("torch.compile", "torch.compile", "pytorch_compiled", compiled=True),
    Framework("jax", "JAX (jit)", "jax_jit", compiled=True),
    Framework("autograd", "HIPS autograd", "hips_autograd"),
)
BY_NAME = {f.name: f for f in FRAMEWORKS}
REFERENCE = "numpy"

SEED_NETWORK = (784, 30, 10)
DEEP_NETWORK = (784, 1024, 1024, 10)
JACOBIAN_SIZE = 100  # jacrev of tanh(W x): 100 → 100
HESSIAN_SIZE = 50  # hessian of Σ tanh(W x): 50 inputs

STEP = "full step: forward + backward + SGD update in place"
BACKWARD = "backward only"
TRANSFORMS = "transforms: Jacobian, Hessian, per-example gradients"
OVERHEAD = "per-op overhead"
LINALG = "linear algebra: value and gradient (float64)"
SECOND_ORDER = second_order.GROUP
GROUPS = (STEP, BACKWARD, TRANSFORMS, OVERHEAD, LINALG, SECOND_ORDER)
SHORT = {
    STEP: "step", BACKWARD: "backward", TRANSFORMS: "transform", OVERHEAD: "op", LINALG: "linalg",
    SECOND_ORDER: "second",
}
LINALG_SIZES = (64, 512)

#: per-op rows: key suffix → (row name, op, inputs require grad)
OPS = {
    "add": ("add, recorded", "add", True),
    "mul": ("mul, recorded", "mul", True),
    "matmul": ("matmul, recorded", "matmul", True),
    "sigmoid": ("sigmoid, recorded", "sigmoid", True),
    "add-constants": ("add, constants, no graph", "add", False),
}


def seed_problem(batch: int) -> Problem:
    """Nielsen's 784-30-10 σ/MSE network; the cost is summed over the batch, hence lr / batch."""
    return Problem(SEED_NETWORK, "sigmoid", "sigmoid_mse", batch, lr=0.01 / batch)


def problems() -> list[Problem]:
    return [*(seed_problem(b) for b in (10, 128, 1024)), Problem(DEEP_NETWORK, "relu", "softmax_ce", 256, lr=0.01)]


def _problem_key(problem: Problem) -> str:
    return f"{'-'.join(map(str, problem.sizes))}/b{problem.batch}"


def _specs() -> list[Spec]:
    specs = [Spec(f"step/{_problem_key(p)}", STEP, p.label, "step", p) for p in problems()]
    specs += [Spec(f"backward/{_problem_key(p)}", BACKWARD, p.label, "backward", p) for p in problems()]
    specs += [
        Spec(
            "jacrev",
            TRANSFORMS,
            f"jacrev of tanh(W x), {JACOBIAN_SIZE} → {JACOBIAN_SIZE}",
            "jacrev",
            args={"n": JACOBIAN_SIZE},
        ),
        Spec(
            "hessian", TRANSFORMS, f"hessian of Σ tanh(W x), {HESSIAN_SIZE} inputs", "hessian", args={"n": HESSIAN_SIZE}
        ),
        Spec(
            "per-example",
            TRANSFORMS,
            "per-example gradients, 784-30-10 σ/MSE, batch 128",
            "per_example",
            seed_problem(128),
        ),
        Spec(
            "per-example-loop",
            TRANSFORMS,
            "per-example gradients by a Python loop of grad, 784-30-10 σ/MSE, batch 128",
            "per_example_loop",
            seed_problem(128),
        ),
    ]
    specs += [
        Spec(f"op/{key}", OVERHEAD, name, "op", args={"op": op, "requires_grad": rg})
        for key, (name, op, rg) in OPS.items()
    ]
    specs.append(Spec("op/mul-backward", OVERHEAD, "backward of one mul node", "op_backward"))
    specs += [
        Spec(f"linalg/{fn}/n{n}", LINALG, f"{name}, n = {n}", "linalg", args={"fn": fn, "n": n})
        for n in LINALG_SIZES
        for fn, (name, _) in LINALG_FUNCTIONS.items()
    ]
    return specs


SPECS = _specs()
#: ``--second-order`` times these only, into their own report (``benchmarks/SECOND_ORDER.md``)
SECOND_ORDER_SPECS = second_order.specs(seed_problem)
BY_KEY = {s.key: s for s in (*SPECS, *SECOND_ORDER_SPECS)}

#: ``--quick`` times these only (the network at batch 128 and the deep one, every transform,
#: two per-op rows, the linear-algebra rows at n = 64); the full run times every spec
QUICK_KEYS = (
    "step/784-30-10/b128",
    "step/784-1024-1024-10/b256",
    "jacrev",
    "hessian",
    "per-example",
    "op/mul",
    "op/mul-backward",
    *(f"linalg/{fn}/n{LINALG_SIZES[0]}" for fn in LINALG_FUNCTIONS),
)
