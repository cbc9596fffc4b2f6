"""Newton's method for small problems: the full Hessian of the loss over the flat parameters.

One ``step(closure)`` is one Newton iteration.  With x all parameters as one vector (their common
dtype), g the gradient, H the Hessian and δ the damping::

    solve (H + δ I) p = −g
    x ← x + t p          t = lr, halved until f(x + t p) ≤ f(x) + c₁ t gᵀp (c₁ = 1e-4) with line_search

The closure follows PyTorch's convention with one difference: it must call
``loss.backward(create_graph=True)``, so that each ``p.grad`` is a Tensor whose graph can be
differentiated once more; the Hessian is then the Jacobian of the flat gradient with respect to
the parameters, one reverse sweep per row (all rows in one sweep where the graph's rules allow,
as :func:`matgrad.jacrev` does).  It costs n sweeps and n² memory for n parameter entries: meant
for problems with up to a few thousand, such as logistic regression, where a handful of steps
reach the minimizer to machine precision.

When ``H + δ I`` is singular (``np.linalg.solve`` fails or gives non-finite values) the step is the
least-squares solution of minimum norm (``np.linalg.lstsq``).  When the result is not a descent
direction (``gᵀp ≥ 0``: H is not positive definite there, as near a saddle or a maximum), the step
falls back to steepest descent, ``p = −g``; a positive ``damping`` avoids both.

For least squares, ``f = ½‖r(x)‖²``, :class:`~matgrad.optim.GaussNewton` takes ``JᵀJ`` in place of
H (no second derivative), with Levenberg-Marquardt damping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..forward import batched_jvp_of
from ..reverse import batched_grad_of, grad_of, toposort
from ..tensor import Tensor
from . import _checks as check
from ._checks import StateDict
from .lbfgs import FlatParams, check_closure, evaluate
from .optimizers import Optimizer

_ARMIJO = 1e-4
_HALVINGS = 30  # the line search gives up (and takes no step) after this many


def jacobian_rows(output: Tensor, params: list[Tensor]) -> np.ndarray:
    """``∂ output / ∂ x``: one row per entry of ``output``, one column per entry of the parameters
    (flat, in order); all rows in one batched reverse sweep where the graph's rules allow."""
    n = output.size
    seeds = np.eye(n, dtype=output.dtype).reshape((n, *output.shape))
    blocks = batched_grad_of(output, params, seeds, toposort([output]))
    if blocks is None:  # a rule that cannot carry a batch axis: one sweep per row
        blocks = [np.empty((n, *p.data.shape), dtype=p.data.dtype) for p in params]
        for k in range(n):
            found = grad_of([output], params, [seeds[k]], retain_graph=True)
            for block, value in zip(blocks, found):
                block[k] = np.asarray(value.data if isinstance(value, Tensor) else value)
    return np.concatenate([np.asarray(b).reshape(n, -1) for b in blocks], axis=1)


def jacobian_columns(output: Tensor, params: list[Tensor]) -> np.ndarray:
    """The same matrix as :func:`jacobian_rows`, one column per parameter entry, from one batched
    forward sweep of the basis tangents: the cheaper way when the output has more entries than
    the parameters (a least-squares fit of many residuals by a few weights)."""
    n = sum(p.data.size for p in params)
    basis = np.eye(n, dtype=output.dtype)
    tangents, start = [], 0
    for p in params:
        tangents.append(basis[:, start : start + p.data.size].reshape((n, *p.data.shape)))
        start += p.data.size
    (columns,) = batched_jvp_of([output], params, tangents, n, toposort([output]))
    return np.asarray(columns).reshape(n, -1).T


class Newton(Optimizer):
    """Damped Newton steps from the exact Hessian; ``step(closure)`` runs one iteration.

    Args:
        lr: the step length along the Newton direction (1 is the pure Newton step); with a line
            search, the first length tried.
        damping: δ ≥ 0 added to the Hessian's diagonal (Levenberg-style regularization).
        line_search: backtrack (halve t) until the Armijo condition holds; without it every
            step has length ``lr``.

    ``step`` returns what the closure returned on its first call (the loss before the step).
    After it, ``last_decrement`` is the Newton decrement ``−gᵀp`` of that step (about twice the
    loss still to be gained near the minimizer), ``solver`` which of "solve", "lstsq",
    "gradient" gave the direction, and ``func_evals`` counts closure calls over all steps.
    """

    _HYPER = ("damping", "line_search")
    closure = "graph"

    def __init__(
        self, params: Iterable[Tensor], lr: float = 1.0, damping: float = 0.0, line_search: bool = True
    ) -> None:
        super().__init__(params, lr)
        self._flat = FlatParams(self.params)
        self._configure(self._check_hyper({"lr": lr, "damping": damping, "line_search": line_search}))
        self.func_evals = 0
        self.last_decrement = float("nan")
        self.solver = ""

    @classmethod
    def _check_hyper(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        owner = cls.__name__
        return {
            "lr": check.at_least_zero(owner, "lr", hyper["lr"]),
            "damping": check.at_least_zero(owner, "damping", hyper["damping"]),
            "line_search": check.flag(owner, "line_search", hyper["line_search"]),
        }

    # ----- derivatives ----------------------------------------------------------------------
    def _graph_grads(self) -> list[Tensor | None]:
        """Each parameter's gradient as a Tensor on the graph (None where it has no gradient)."""
        out: list[Tensor | None] = []
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise RuntimeError(
                    f"Newton.step: params[{i}].grad is a plain array, so it cannot be differentiated "
                    f"again; the closure must call loss.backward(create_graph=True)"
                )
            if g.shape != p.data.shape:
                raise ValueError(f"Newton.step: params[{i}] has shape {p.data.shape} but its grad has {g.shape}")
            out.append(g)
        return out

    def hessian(self) -> tuple[np.ndarray, np.ndarray]:
        """The flat gradient and the (symmetrized) Hessian from the gradients the closure left."""
        flat = self._flat
        grads = self._graph_grads()
        g = np.concatenate(
            [np.zeros(p.data.size) if gi is None else gi.data.ravel() for p, gi in zip(self.params, grads)]
        ).astype(flat.dtype, copy=False)
        H = np.zeros((flat.size, flat.size), dtype=flat.dtype)
        row = 0
        for p, gi in zip(self.params, grads):
            # Rows stay zero for a parameter without a gradient, or one whose gradient is constant.
            if gi is not None and gi.requires_grad and p.data.size:
                H[row : row + p.data.size] = jacobian_rows(gi, self.params)
            row += p.data.size
        return g, (H + H.T) / 2

    def _direction(self, g: np.ndarray, H: np.ndarray) -> np.ndarray:
        A = H + self.damping * np.eye(len(g), dtype=H.dtype) if self.damping else H
        p: np.ndarray | None = None
        try:
            p = np.linalg.solve(A, -g)
            self.solver = "solve"
        except np.linalg.LinAlgError:
            p = None
        if p is None or not np.all(np.isfinite(p)):
            p = np.linalg.lstsq(A, -g, rcond=None)[0]
            self.solver = "lstsq"
        if not np.all(np.isfinite(p)) or float(g @ p) >= 0:
            p = -g
            self.solver = "gradient"
        return p.astype(self._flat.dtype, copy=False)

    # ----- the step -------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One Newton iteration; return the closure's first result.  Afterwards each ``p.grad``
        holds the values of the last gradient computed, as an array (the graphs are let go)."""
        owner = type(self).__name__
        check_closure(owner, closure)
        flat = self._flat
        orig, loss = evaluate(closure, owner)
        self.func_evals += 1
        g, H = self.hessian()
        self.step_count += 1
        self._drop_graphs()
        if not np.any(g):
            self.last_decrement = 0.0
            return orig
        p = self._direction(g, H)
        slope = float(g @ p)
        self.last_decrement = -slope
        x0 = flat.get()
        t = self.lr
        if not self.line_search:
            flat.set(x0 + flat.dtype.type(t) * p)
            return orig
        for _ in range(_HALVINGS):
            flat.set(x0 + flat.dtype.type(t) * p)
            trial = evaluate(closure, owner)[1]
            self.func_evals += 1
            self._drop_graphs()
            if trial <= loss + _ARMIJO * t * slope:
                return orig
            t *= 0.5
        flat.set(x0)  # no decrease found along p: stay
        return orig

    def _drop_graphs(self) -> None:
        """Keep the gradients' values but not the graphs behind them (they can be large)."""
        for p in self.params:
            if isinstance(p.grad, Tensor):
                p.grad = p.grad.data

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """``type``, ``lr``, ``damping``, ``line_search``, ``step`` and ``func_evals``."""
        return {"type": "Newton", **self.hyperparameters(), "step": self.step_count, "func_evals": self.func_evals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; everything is checked before anything changes."""
        owner = type(self).__name__
        check.check_type(owner, state)
        hyper = self._check_hyper({name: check.scalar(owner, state, name) for name in ("lr", *self._HYPER)})
        check.check_keys(owner, state, {"type", "lr", "step", "func_evals", *self._HYPER})
        step, evals = check.count(owner, state, "step"), check.count(owner, state, "func_evals")
        self._configure(hyper)
        self.step_count, self.func_evals = step, evals
