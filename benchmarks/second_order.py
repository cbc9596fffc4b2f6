"""Second-order workloads: Hessians and Hessian-vector products of three objectives, and
per-example gradients at two batch sizes (``python -m benchmarks --second-order``).

Every objective is a scalar function of one vector ``x`` (the others are constants), float64:

- ``tanh``: ``Σ tanh(W x)``, ``W`` of shape ``(n, n)``;
- ``quadratic``: ``xᵀ A x``, ``A`` of shape ``(n, n)`` (not symmetric): ``H = A + Aᵀ``;
- ``logistic``: the mean logistic loss ``(1/m) Σ_i softplus(−y_i (X x)_i)`` of ``m`` samples with
  labels ±1 (``x`` the weights of ``n`` features), ``H = Xᵀ diag(s ⊙ (1 − s)) X / m``,
  ``s = σ(−y ⊙ X x)``.

The labels enter through a recorded product (``-(y ⊙ X x)``, not ``(−y) ⊙ X x``): NumPy work on an
argument outside the framework's operations is frozen by a compiled plan (``mg.compile`` then runs
eagerly).  Each is written once, against a small namespace of the framework's functions (``ops.tanh``,
``ops.sum``, ``ops.softplus``, ``ops.mean``), so every framework differentiates the same code.  The
hand-NumPy reference is the closed form.  The ``hessian-rr`` rows time matgrad's Hessian as it was
before it became forward over reverse (``jacrev(jacrev(f))``), and the ``hessian-symbolic`` rows its
closed form (``mg.hessian(f, method="symbolic")``: derived once, then evaluated, e.g. ``A + Aᵀ``); only
eager matgrad and hand NumPy run them.  The closed form has no Hessian-vector product row: ``H v``
from it would form ``H`` first, which is no win over the forward-over-reverse product.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .problems import Problem
from .workload import Impl, Spec

GROUP = "second order: Hessian, Hessian-vector product, per-example gradients (float64)"
LOGISTIC_SAMPLES = 512  # m, the rows of X
#: objective → (row name, sizes)
OBJECTIVES = {
    "tanh": ("Σ tanh(W x)", (50, 1000)),
    "quadratic": ("xᵀ A x", (100, 1000)),
    "logistic": (f"logistic loss, {LOGISTIC_SAMPLES} samples", (100, 1000)),
}
MODES = {
    "hessian": "hessian of",
    "hvp": "Hessian-vector product of",
    "hessian-rr": "hessian, reverse over reverse (matgrad before), of",
    "hessian-symbolic": "hessian, closed form (mg.hessian(f, method=\"symbolic\")), of",
}
PER_EXAMPLE_BATCHES = (128, 1024)
METHOD = """\
- Second order (keys `second/…`, float64, with respect to `x`): `Σ tanh(W x)` (W n × n), `xᵀ A x` (A n × n, not \
symmetric) and the mean logistic loss `(1/m) Σ softplus(−y ⊙ X x)` (X m × n, m = 512, labels ±1); hessian and the \
Hessian-vector product with a fixed random v. matgrad `mg.hessian` (forward over reverse: one recorded gradient, \
then all n one-hot tangents in one batched forward sweep) and `mg.hvp`; compiled `mg.compile(mg.hessian(f))` and \
`mg.compile(hvp, transform=True)`; PyTorch `torch.func.hessian` and `jvp(grad(f))` (torch.compile with \
`dynamic=False`: with dynamic shapes functorch's hessian fails to trace); JAX `jit(hessian)` and `jit(jvp(grad(f)))`. \
The `hessian-rr` rows time matgrad's former Hessian, `jacrev(jacrev(f))`; the `hessian-symbolic` rows \
its closed form, `mg.hessian(f, method="symbolic")` (derived once from the recorded graph, then evaluated: \
`Wᵀ diag(…) W`, `A + Aᵀ`, `Xᵀ diag(…) X`), eager only (the evaluation is not a sweep a plan replays). \
Hand NumPy writes the closed forms (`Wᵀ diag(−2t(1 − t²)) W`, `A + Aᵀ`, `Xᵀ diag(s(1 − s)) X / m`)."""


def objective(fn: str, ops: Any) -> Callable[..., Any]:
    """The scalar function of ``(x, *constants)`` named ``fn``, written with ``ops``."""
    if fn == "tanh":
        return lambda x, W: ops.sum(ops.tanh(W @ x))
    if fn == "quadratic":
        return lambda x, A: x @ (A @ x)
    if fn == "logistic":
        return lambda x, X, y: ops.mean(ops.softplus(-(y * (X @ x))))  # y enters through a recorded op
    raise ValueError(f"no second-order objective {fn!r}; choose from {sorted(OBJECTIVES)}")


def arrays(fn: str, n: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """``(x, constants, v)``: the point, the objective's constants and the vector of the product."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    v = rng.standard_normal(n)
    if fn == "logistic":
        X = rng.standard_normal((LOGISTIC_SAMPLES, n)) / np.sqrt(n)
        y = rng.choice([-1.0, 1.0], LOGISTIC_SAMPLES)
        return x, [X, y], v
    if fn in OBJECTIVES:
        return x, [rng.standard_normal((n, n)) / np.sqrt(n)], v
    raise ValueError(f"no second-order objective {fn!r}; choose from {sorted(OBJECTIVES)}")


def closed_form_hessian(fn: str, x: np.ndarray, constants: list[np.ndarray]) -> np.ndarray:
    if fn == "tanh":
        (W,) = constants
        t = np.tanh(W @ x)
        return W.T @ ((-2 * t * (1 - t * t))[:, None] * W)
    if fn == "quadratic":
        (A,) = constants
        return A + A.T
    X, y = constants
    s = 1 / (1 + np.exp(y * (X @ x)))  # σ(−y z)
    return X.T @ ((s * (1 - s) / len(y))[:, None] * X)


def closed_form_hvp(fn: str, x: np.ndarray, constants: list[np.ndarray], v: np.ndarray) -> np.ndarray:
    if fn == "tanh":
        (W,) = constants
        t = np.tanh(W @ x)
        return W.T @ (-2 * t * (1 - t * t) * (W @ v))
    if fn == "quadratic":
        (A,) = constants
        return A @ v + A.T @ v
    X, y = constants
    s = 1 / (1 + np.exp(y * (X @ x)))
    return X.T @ (s * (1 - s) / len(y) * (X @ v))


def specs(per_example_problem: Callable[[int], Problem]) -> list[Spec]:
    """The second-order workloads, keyed ``second/<mode>/<fn>/n<n>`` and ``second/per-example/b<batch>``."""
    rows = [
        Spec(f"second/{mode}/{fn}/n{n}", GROUP, f"{label} {name}, n = {n}", "second_order",
             args={"fn": fn, "mode": mode, "n": n})
        for fn, (name, sizes) in OBJECTIVES.items()
        for n in sizes
        for mode, label in MODES.items()
    ]
    rows += [  # float32 like every network workload, in every framework (the group's float64 is the others')
        Spec(f"second/per-example/b{batch}", GROUP, f"per-example gradients, 784-30-10 σ/MSE, float32, batch {batch}",
             "per_example", per_example_problem(batch))
        for batch in PER_EXAMPLE_BATCHES
    ]
    return rows


def reference(spec: Spec) -> Impl:
    """Hand NumPy: the closed forms."""
    fn, mode = spec.args["fn"], spec.args["mode"]
    if mode == "hvp":
        return Impl(
            setup=lambda: arrays(fn, spec.args["n"]),
            step=lambda a: closed_form_hvp(fn, a[0], a[1], a[2]),
            outputs=lambda _, hv: {"hvp": hv},
        )
    return Impl(
        setup=lambda: arrays(fn, spec.args["n"]),
        step=lambda a: closed_form_hessian(fn, a[0], a[1]),
        outputs=lambda _, hess: {"hessian": hess},
    )
