"""Optimizers and learning-rate schedules: in-place updates of parameters from their ``.grad``.

θ is a parameter, g its gradient ``θ.grad``, η the learning rate ``lr``, μ the momentum, λ the
weight decay, β₁ and β₂ the decay rates of Adam's moment estimates, ε its stabilizer and t the
number of updates the parameter has received (from 1).  Products, squares, roots and quotients
of arrays are elementwise.  A step reads raw NumPy arrays (no graph is recorded), writes
``θ.data`` in place (the same ndarray, so every holder sees it) and computes in θ's dtype;
parameters whose ``grad`` is None are skipped.

SGD, PyTorch's semantics without dampening; the velocity v starts at 0 and exists when μ > 0::

    g ← g + λθ
    v ← μv + g
    θ ← θ − η (g + μv)      Nesterov
    θ ← θ − η v             classical momentum   (θ ← θ − η g when μ = 0)

Adam (Kingma & Ba), weight decay as an L2 term in the gradient; m and v start at 0::

    g ← g + λθ
    m ← β₁m + (1 − β₁)g,    v ← β₂v + (1 − β₂)g²
    m̂ = m / (1 − β₁ᵗ),      v̂ = v / (1 − β₂ᵗ)
    θ ← θ − η m̂ / (√v̂ + ε)

AdamW (Loshchilov & Hutter, as in PyTorch), weight decay decoupled from the gradient::

    θ ← θ − ηλθ,   then Adam's step with g unchanged

Schedules set ``optimizer.lr`` from its initial value η₀ once per epoch e (``schedule.step()``)::

    StepLR     η = η₀ γ^⌊e/s⌋
    CosineLR   η = η_min + (η₀ − η_min)(1 + cos(πe/T))/2  for e ≤ T,  η_min after

Second order, stepped through a closure as in PyTorch (``opt.step(closure)``): :class:`LBFGS`
and :class:`Newton` minimize the loss the closure returns; :class:`GaussNewton` (and
Levenberg-Marquardt) minimizes ``½‖r‖²`` of the residuals it returns.

``state_dict()`` of an optimizer or a schedule is a flat dict: ``"type"``, hyperparameters and
counts as scalars, per-parameter buffers under ``"<buffer>.<index in params>"`` (``"momentum.0"``,
``"exp_avg.3"``, ``"exp_avg_sq.3"``, Adam's per-parameter ``"step.3"``).  It saves as ``.npz``
arrays plus JSON scalars, and training resumed from it (:func:`optimizer_from_state`,
:func:`schedule_from_state`) reaches bit-identical weights.
"""

from .factory import (
    OPTIMIZERS,
    SCHEDULES,
    make_optimizer,
    make_schedule,
    optimizer_from_state,
    schedule_from_state,
)
from .gauss_newton import GaussNewton
from .lbfgs import LBFGS
from .newton import Newton
from .optimizers import SGD, Adam, AdamW, Optimizer
from .schedules import ConstantLR, CosineLR, LRSchedule, StepLR

__all__ = [
    "LBFGS", "GaussNewton", "Newton", "OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "AdamW", "ConstantLR", "CosineLR",
    "LRSchedule", "Optimizer", "StepLR", "make_optimizer", "make_schedule", "optimizer_from_state",
    "schedule_from_state",
]
