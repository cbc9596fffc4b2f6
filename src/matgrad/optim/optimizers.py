"""SGD (momentum, Nesterov), Adam and AdamW: in-place updates from ``p.grad``, in ``p``'s dtype.

The update formulas are in the docstring of :mod:`matgrad.optim`.  Steps work on raw arrays
(``p.data``, ``p.grad``), so no graph is recorded; hyperparameters are Python floats, which
NumPy does not let upcast a float32 array, and buffers are allocated with the parameter's dtype.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..tensor import Tensor
from . import _checks as check
from ._checks import StateDict


class Optimizer:
    """Updates ``params`` (a list, in the given order) in place from their gradients.

    A subclass names its hyperparameters in ``_HYPER`` (attributes of the same names, besides
    ``lr``), validates them in ``_check_hyper``, declares its per-parameter buffers in
    ``_buffer_kinds`` and updates one parameter in ``_update``; saving and loading live here.
    """

    _HYPER: ClassVar[tuple[str, ...]] = ()
    # How ``step`` is called: None, after the caller's backward; "grad", ``step(closure)`` whose
    # closure runs backward itself (it may be called several times); "graph", the same with
    # ``backward(create_graph=True)`` so that the step can differentiate the gradient again;
    # "residuals", ``step(closure)`` whose closure returns residuals, not a loss (fit refuses it).
    closure: ClassVar[str | None] = None

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params: list[Tensor] = check.param_list(params, type(self).__name__)
        self.lr = lr
        self.step_count = 0  # calls of step()
        self._state: dict[str, list[Any]] = {}  # buffer name → one array or count per parameter

    @property
    def lr(self) -> float:
        """The learning rate η, read at every step; a schedule may set it."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check.at_least_zero(type(self).__name__, "lr", value)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient: ``p.grad = None``."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update, in place, every parameter that has a gradient; skip those with ``grad is None``."""
        for i, p in enumerate(self.params):
            g = self._grad(i, p)
            if g is not None:
                self._update(i, p.data, g)
        self.step_count += 1

    def _update(self, i: int, theta: np.ndarray, g: np.ndarray) -> None:
        """Write the new value of parameter ``i`` into ``theta``; never modify ``g`` in place."""
        raise NotImplementedError

    def _grad(self, i: int, p: Tensor) -> np.ndarray | None:
        g = p.grad
        if g is None:
            return None
        g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=p.data.dtype)  # a Tensor after create_graph
        if g.shape != p.data.shape:
            raise ValueError(
                f"{type(self).__name__}.step: params[{i}] has shape {p.data.shape} but its grad has shape {g.shape}"
            )
        return g

    # ----- hyperparameters and buffers ------------------------------------------------------
    @classmethod
    def _check_hyper(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        """``lr`` and the ``_HYPER`` values, validated and normalized; ValueError otherwise."""
        raise NotImplementedError

    def _buffer_kinds(self, hyper: dict[str, Any]) -> dict[str, str]:
        """The buffers these hyperparameters need: name → ``"array"`` or ``"count"``."""
        return {}

    def _configure(self, hyper: dict[str, Any], buffers: dict[str, list[Any]] | None = None) -> None:
        """Set checked hyperparameters and the buffers (zeros in each parameter's dtype if not given)."""
        self.lr = hyper["lr"]
        for name in self._HYPER:
            setattr(self, name, hyper[name])
        if buffers is None:
            buffers = {
                name: [np.zeros_like(p.data) if kind == "array" else 0 for p in self.params]
                for name, kind in self._buffer_kinds(hyper).items()
            }
        self._state = buffers

    def hyperparameters(self) -> dict[str, Any]:
        """``lr`` and the other hyperparameters, by name."""
        return {"lr": self.lr, **{name: getattr(self, name) for name in self._HYPER}}

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """A flat snapshot: ``type``, hyperparameters, ``step`` and copies of the buffers."""
        out: StateDict = {"type": type(self).__name__, **self.hyperparameters(), "step": self.step_count}
        for name, entries in self._state.items():
            for i, entry in enumerate(entries):
                out[f"{name}.{i}"] = entry.copy() if isinstance(entry, np.ndarray) else entry
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly; everything is checked before anything changes."""
        owner = type(self).__name__
        check.check_type(owner, state)
        hyper = self._check_hyper({name: check.scalar(owner, state, name) for name in ("lr", *self._HYPER)})
        kinds = self._buffer_kinds(hyper)
        indexed = range(len(self.params))
        buffer_keys = {f"{name}.{i}" for name in kinds for i in indexed}
        check.check_keys(owner, state, {"type", "lr", "step", *self._HYPER, *buffer_keys})
        step = check.count(owner, state, "step")
        buffers = {
            name: [
                check.count(owner, state, f"{name}.{i}")
                if kind == "count"
                else check.buffer(owner, state, f"{name}.{i}", self.params[i].data)
                for i in indexed
            ]
            for name, kind in kinds.items()
        }
        self._configure(hyper, buffers)
        self.step_count = step

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} params, {settings})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    _HYPER = ("momentum", "nesterov", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        hyper = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
        self._configure(self._check_hyper(hyper))

    @classmethod
    def _check_hyper(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        checked = {
            "lr": check.at_least_zero("SGD", "lr", hyper["lr"]),
            "momentum": check.unit_interval("SGD", "momentum", hyper["momentum"]),
            "nesterov": check.flag("SGD", "nesterov", hyper["nesterov"]),
            "weight_decay": check.at_least_zero("SGD", "weight_decay", hyper["weight_decay"]),
        }
        if checked["nesterov"] and checked["momentum"] == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0")
        return checked

    def _buffer_kinds(self, hyper: dict[str, Any]) -> dict[str, str]:
        return {"momentum": "array"} if hyper["momentum"] > 0.0 else {}

    def _update(self, i: int, theta: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * theta  # g ← g + λθ
        if self.momentum:
            v = self._state["momentum"][i]
            v *= self.momentum
            v += g  # v ← μv + g
            g = g + self.momentum * v if self.nesterov else v
        theta -= self.lr * g


class Adam(Optimizer):
    """Adam with bias-corrected moments; ``weight_decay`` adds λθ to the gradient (L2)."""

    _HYPER = ("beta1", "beta2", "eps", "weight_decay")
    _DECOUPLED: ClassVar[bool] = False  # AdamW: θ ← θ − ηλθ instead of g ← g + λθ

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair (β₁, β₂), got {betas!r}")
        hyper = {"lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps, "weight_decay": weight_decay}
        self._configure(self._check_hyper(hyper))

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, self.beta2)

    @classmethod
    def _check_hyper(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        owner = cls.__name__
        return {
            "lr": check.at_least_zero(owner, "lr", hyper["lr"]),
            "beta1": check.unit_interval(owner, "betas[0]", hyper["beta1"]),
            "beta2": check.unit_interval(owner, "betas[1]", hyper["beta2"]),
            "eps": check.at_least_zero(owner, "eps", hyper["eps"]),
            "weight_decay": check.at_least_zero(owner, "weight_decay", hyper["weight_decay"]),
        }

    def _buffer_kinds(self, hyper: dict[str, Any]) -> dict[str, str]:
        # t is counted per parameter: one that had no gradient for a while starts its
        # bias correction afresh, as in PyTorch.
        return {"step": "count", "exp_avg": "array", "exp_avg_sq": "array"}

    def _update(self, i: int, theta: np.ndarray, g: np.ndarray) -> None:
        lr, beta1, beta2, decay = self.lr, self.beta1, self.beta2, self.weight_decay
        if decay and self._DECOUPLED:
            theta *= 1.0 - lr * decay  # θ ← θ − ηλθ
        elif decay:
            g = g + decay * theta  # g ← g + λθ
        t = self._state["step"][i] + 1
        self._state["step"][i] = t
        m, v = self._state["exp_avg"][i], self._state["exp_avg_sq"][i]
        m *= beta1
        m += (1.0 - beta1) * g  # m ← β₁m + (1 − β₁)g
        v *= beta2
        v += (1.0 - beta2) * (g * g)  # v ← β₂v + (1 − β₂)g²
        denom = np.sqrt(v)
        denom /= math.sqrt(1.0 - beta2**t)
        denom += self.eps  # √v̂ + ε
        update = m / denom
        update *= lr / (1.0 - beta1**t)  # η m̂ / (√v̂ + ε), m̂ = m / (1 − β₁ᵗ)
        theta -= update


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ − ηλθ, then Adam's step on the plain gradient."""

    _DECOUPLED = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)
