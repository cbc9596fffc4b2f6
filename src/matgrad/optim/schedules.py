"""Learning-rate schedules: set ``optimizer.lr`` once per epoch from its initial value η₀.

The rate of epoch e is computed from η₀ and e in closed form (not multiplied step by step), so a
schedule restored from its state dict gives bit-identical rates.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from . import _checks as check
from .optimizers import Optimizer


class LRSchedule:
    """Drives ``optimizer.lr``: ``step()`` ends an epoch and sets the next epoch's rate."""

    _HYPER: ClassVar[tuple[str, ...]] = ()

    def __init__(self, optimizer: Optimizer, **settings: Any) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr  # η₀
        self.epoch = 0
        for name, value in self._check_settings(self.base_lr, settings).items():
            setattr(self, name, value)

    @property
    def current_lr(self) -> float:
        """The learning rate of the current epoch."""
        return self._lr_at(self.epoch)

    def step(self) -> None:
        """Move to the next epoch and set the optimizer's learning rate for it."""
        self.epoch += 1
        self.optimizer.lr = self.current_lr

    def _lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    @classmethod
    def _check_settings(cls, base_lr: float, settings: dict[str, Any]) -> dict[str, Any]:
        """The ``_HYPER`` settings, validated; ValueError otherwise."""
        return {}

    def state_dict(self) -> dict[str, int | float | str]:
        """A flat dict of scalars: ``type``, ``base_lr`` (η₀), ``epoch`` and the settings."""
        settings = {name: getattr(self, name) for name in self._HYPER}
        return {"type": type(self).__name__, "base_lr": self.base_lr, "epoch": self.epoch, **settings}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (checked first) and set the optimizer's lr to match it."""
        owner = type(self).__name__
        check.check_type(owner, state)
        check.check_keys(owner, state, {"type", "base_lr", "epoch", *self._HYPER})
        base_lr = check.at_least_zero(owner, "base_lr", check.scalar(owner, state, "base_lr"))
        epoch = check.count(owner, state, "epoch")
        settings = self._check_settings(base_lr, {name: check.scalar(owner, state, name) for name in self._HYPER})
        self.base_lr, self.epoch = base_lr, epoch
        for name, value in settings.items():
            setattr(self, name, value)
        self.optimizer.lr = self.current_lr

    @classmethod
    def from_state(cls, optimizer: Optimizer, state: dict[str, Any]) -> LRSchedule:
        """The schedule a :meth:`state_dict` describes, driving ``optimizer`` (whose lr it sets)."""
        schedule = cls.__new__(cls)  # every attribute comes from the state, not from optimizer.lr
        schedule.optimizer = optimizer
        schedule.load_state_dict(state)
        return schedule

    def __repr__(self) -> str:
        settings = "".join(f", {name}={getattr(self, name)!r}" for name in self._HYPER)
        return f"{type(self).__name__}(base_lr={self.base_lr!r}{settings}, epoch={self.epoch})"


class ConstantLR(LRSchedule):
    """No schedule: the learning rate stays η₀ (the ``"none"`` of :func:`make_schedule`)."""

    def __init__(self, optimizer: Optimizer) -> None:
        super().__init__(optimizer)

    def _lr_at(self, epoch: int) -> float:
        return self.base_lr


class StepLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs: η = η₀ γ^⌊e/s⌋."""

    _HYPER = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    @classmethod
    def _check_settings(cls, base_lr: float, settings: dict[str, Any]) -> dict[str, Any]:
        gamma = check.real("StepLR", "gamma", settings["gamma"])
        if not 0.0 < gamma < math.inf:
            raise ValueError(f"StepLR: gamma must be positive and finite, got {settings['gamma']!r}")
        return {"step_size": check.positive_int("StepLR", "step_size", settings["step_size"]), "gamma": gamma}

    def _lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(LRSchedule):
    """Cosine annealing from η₀ to ``min_lr`` over ``total_steps`` epochs, then ``min_lr``.

    η = η_min + (η₀ − η_min)(1 + cos(πe/T))/2 for e ≤ T.
    """

    _HYPER = ("total_steps", "min_lr")

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer, total_steps=total_steps, min_lr=min_lr)

    @classmethod
    def _check_settings(cls, base_lr: float, settings: dict[str, Any]) -> dict[str, Any]:
        min_lr = check.at_least_zero("CosineLR", "min_lr", settings["min_lr"])
        if min_lr > base_lr:
            raise ValueError(f"CosineLR: min_lr must not exceed the initial lr {base_lr!r}, got {settings['min_lr']!r}")
        total = check.positive_int("CosineLR", "total_steps", settings["total_steps"])
        return {"total_steps": total, "min_lr": min_lr}

    def _lr_at(self, epoch: int) -> float:
        if epoch >= self.total_steps:
            return self.min_lr
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * epoch / self.total_steps)) / 2.0
