"""Gauss-Newton and Levenberg-Marquardt steps for least squares: minimize ``F(x) = ½‖r(x)‖²``.

The closure returns the residuals ``r`` (a Tensor of any shape, computed from the parameters; it
need not call ``backward``).  With x all parameters as one vector and ``J = ∂r/∂x`` (m × n, its
rows from one batched reverse sweep over the recorded residuals, or its columns from one batched
forward sweep when there are more residuals than parameters), the gradient of F is ``g = Jᵀr``
and Gauss-Newton replaces the Hessian ``JᵀJ + Σᵢ rᵢ ∇²rᵢ`` by its first part, ``JᵀJ``: exact for
linear residuals, close near a small-residual fit, and never needing a second derivative::

    Gauss-Newton (damping = 0):        p = argmin ‖J p + r‖                   x ← x + lr p
    Levenberg-Marquardt (damping > 0): p = argmin ‖J p + r‖² + λ‖p‖²,  i.e.  (JᵀJ + λI) p = −g

Both are solved as least-squares problems (``[J; √λ I] p ≈ [−r; 0]``), never through the normal
equations, whose condition number is the square of J's.  Levenberg-Marquardt adapts λ as Nielsen
(1999) does and as MINPACK's ``lmder`` (scipy's ``least_squares(method="lm")``) does in spirit:
λ starts at ``damping × max diag(JᵀJ)``; a step is taken only if F decreases, judged by the gain
ratio ``ρ = (F(x) − F(x + p)) / (½ pᵀ(λp − g))`` of actual to predicted decrease; after a taken
step ``λ ← λ · max(1/3, 1 − (2ρ − 1)³)``, after a refused one ``λ ← λν, ν ← 2ν`` and the step is
solved again from the same J (no new Jacobian).  Small λ is Gauss-Newton, large λ a short
gradient step, so the method is robust far from the fit and fast near it.

One ``step(closure)`` is one iteration (one Jacobian).  It returns what the closure returned on
its first call; ``last_loss`` is F before the step, ``func_evals`` and ``jacobian_evals`` count.
Not a minibatch optimizer for :func:`matgrad.fit` (which trains on a scalar loss: LBFGS, Newton).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..state import enable_grad, no_grad
from ..tensor import Tensor
from . import _checks as check
from ._checks import StateDict
from .lbfgs import FlatParams, check_closure
from .newton import jacobian_columns, jacobian_rows
from .optimizers import Optimizer

_MAX_TRIES = 30  # refused Levenberg-Marquardt steps in one iteration before it gives up (x unchanged)


class GaussNewton(Optimizer):
    """Gauss-Newton (``damping=0``) or Levenberg-Marquardt (``damping > 0``, the default) steps.

    Args:
        lr: the length of a Gauss-Newton step (1: the full step); Levenberg-Marquardt steps
            always have length 1, λ controls them.
        damping: τ ≥ 0; λ starts at ``τ × max diag(JᵀJ)`` (Nielsen's τ, 1e-3 by default).

    ``step(closure)``: the closure returns the residuals r; the step minimizes ``½‖r‖²``.
    ``state_dict`` keeps the current λ and ν, so a resumed run goes on with the same damping.
    """

    _HYPER = ("damping",)
    closure = "residuals"

    def __init__(self, params: Iterable[Tensor], lr: float = 1.0, damping: float = 1e-3) -> None:
        super().__init__(params, lr)
        self._flat = FlatParams(self.params)
        self._configure(self._check_hyper({"lr": lr, "damping": damping}))
        self.lam = float("nan")  # λ, set from J at the first step
        self.nu = 2.0
        self.func_evals = 0
        self.jacobian_evals = 0
        self.last_loss = float("nan")

    @classmethod
    def _check_hyper(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        owner = cls.__name__
        return {
            "lr": check.at_least_zero(owner, "lr", hyper["lr"]),
            "damping": check.at_least_zero(owner, "damping", hyper["damping"]),
        }

    # ----- the step -------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One iteration; return the closure's first result (the residuals before the step)."""
        check_closure(type(self).__name__, closure)
        with enable_grad():
            first = closure()
        r = self._residuals(first)
        J = self._jacobian(first)
        self.func_evals += 1
        self.jacobian_evals += 1
        self.step_count += 1
        loss = 0.5 * float(r @ r)
        self.last_loss = loss
        g = J.T @ r
        if not np.any(g):  # at a stationary point (or r does not depend on the parameters)
            return first
        if self.damping == 0:
            p = np.linalg.lstsq(J, -r, rcond=None)[0]
            self._flat.set(self._flat.get() + self._flat.dtype.type(self.lr) * p)
            return first
        self._levenberg_marquardt(closure, J, r, g, loss)
        return first

    def _levenberg_marquardt(self, closure: Callable[[], Any], J: np.ndarray, r: np.ndarray, g: np.ndarray,
                             loss: float) -> None:
        if not np.isfinite(self.lam):
            self.lam = self.damping * float(np.max(np.sum(J * J, axis=0)))
        x0 = self._flat.get()
        n = len(x0)
        eps = float(np.finfo(self._flat.dtype).eps)
        lam, nu = self.lam, self.nu
        for _ in range(_MAX_TRIES):
            augmented = np.vstack([J, np.sqrt(self.lam) * np.eye(n, dtype=J.dtype)])
            p = np.linalg.lstsq(augmented, np.concatenate([-r, np.zeros(n, r.dtype)]), rcond=None)[0]
            predicted = 0.5 * float(p @ (self.lam * p - g))  # F(x) − (F(x) + gᵀp + ½ pᵀJᵀJp), ≥ 0
            if np.linalg.norm(p) <= eps * (np.linalg.norm(x0) + eps) or predicted <= eps * loss:
                break  # converged to working precision: no step can show a decrease
            self._flat.set(x0 + p)
            with no_grad():
                trial = np.asarray(closure().data, dtype=np.float64).ravel()
            self.func_evals += 1
            actual = loss - 0.5 * float(trial @ trial)
            if np.isfinite(actual) and actual > 0:
                rho = actual / predicted
                self.lam *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
                self.nu = 2.0
                return
            self.lam *= self.nu
            self.nu *= 2
        self._flat.set(x0)  # no decrease found: stay, with the damping this step started from
        self.lam, self.nu = lam, nu

    def _jacobian(self, residuals: Tensor) -> np.ndarray:
        """J, m × n: by rows (reverse, one sweep per residual, batched) when m ≤ n, else by columns
        (forward, one tangent per parameter entry): a fit of many residuals never forms an m × m basis."""
        jacobian = jacobian_rows if residuals.size <= self._flat.size else jacobian_columns
        return jacobian(residuals, self.params).astype(self._flat.dtype, copy=False)

    def _residuals(self, result: Any) -> np.ndarray:
        if not isinstance(result, Tensor):
            raise TypeError(
                f"{type(self).__name__}.step: the closure must return the residuals r as a Tensor computed "
                f"from the parameters (the step minimizes ½‖r‖²); got {type(result).__name__}"
            )
        r = result.data.ravel().astype(self._flat.dtype, copy=False)
        if not np.all(np.isfinite(r)):
            raise FloatingPointError(
                f"{type(self).__name__}.step: the residuals are not finite at the current parameters"
            )
        return r

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """``type``, ``lr``, ``damping``, the current ``lambda`` and ``nu``, ``step`` and the counts."""
        return {
            "type": "GaussNewton", **self.hyperparameters(), "lambda": self.lam, "nu": self.nu,
            "step": self.step_count, "func_evals": self.func_evals, "jacobian_evals": self.jacobian_evals,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; everything is checked before anything changes."""
        owner = type(self).__name__
        check.check_type(owner, state)
        keys = {"type", "lr", "damping", "lambda", "nu", "step", "func_evals", "jacobian_evals"}
        check.check_keys(owner, state, keys)
        hyper = self._check_hyper({name: check.scalar(owner, state, name) for name in ("lr", "damping")})
        lam = float(check.scalar(owner, state, "lambda"))
        if not (np.isnan(lam) or lam >= 0):
            raise ValueError(f"{owner}.load_state_dict: 'lambda' must be ≥ 0 (or nan before the first step), got {lam}")
        nu = check.at_least_zero(owner, "nu", check.scalar(owner, state, "nu"))
        counts = [check.count(owner, state, key) for key in ("step", "func_evals", "jacobian_evals")]
        self._configure(hyper)
        self.lam, self.nu = lam, nu
        self.step_count, self.func_evals, self.jacobian_evals = counts
