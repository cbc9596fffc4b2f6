"""Activation functions as modules: each calls the engine's primitive of the same name.

All are elementwise except ``Softmax`` and ``LogSoftmax``, which normalise along ``axis``;
every one maps a Tensor of any shape to one of the same shape.
"""

from __future__ import annotations

from typing import Any

from ..primitives import identity, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .module import Module


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ), elementwise (stable for any x)."""

    def forward(self, x: Any) -> Any:
        return sigmoid(x)

    def config(self) -> dict[str, Any]:
        return {"type": "Sigmoid"}


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Any) -> Any:
        return tanh(x)

    def config(self) -> dict[str, Any]:
        return {"type": "Tanh"}


class ReLU(Module):
    """max(x, 0), elementwise (derivative 0 at 0)."""

    def forward(self, x: Any) -> Any:
        return relu(x)

    def config(self) -> dict[str, Any]:
        return {"type": "ReLU"}


class LeakyReLU(Module):
    """x for x > 0, ``slope``·x otherwise, elementwise."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = float(slope)

    def forward(self, x: Any) -> Any:
        return leaky_relu(x, slope=self.slope)

    def config(self) -> dict[str, Any]:
        return {"type": "LeakyReLU", "slope": self.slope}

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Softmax(Module):
    """exp(x) / Σ exp(x) along ``axis`` (default: the last, one distribution per row)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: Any) -> Any:
        return softmax(x, axis=self.axis)

    def config(self) -> dict[str, Any]:
        return {"type": "Softmax", "axis": self.axis}

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """x − logsumexp(x) along ``axis`` (default: the last)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: Any) -> Any:
        return log_softmax(x, axis=self.axis)

    def config(self) -> dict[str, Any]:
        return {"type": "LogSoftmax", "axis": self.axis}

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Identity(Module):
    """The identity map (recorded as the ``identity`` primitive, so ``explain`` shows it)."""

    def forward(self, x: Any) -> Any:
        return identity(x)

    def config(self) -> dict[str, Any]:
        return {"type": "Identity"}


#: Activation names accepted by :class:`~matgrad.nn.MLP`; ``None`` also means the identity.
ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "identity": Identity,
}


def get_activation(name: str | None) -> Module:
    """A new activation module from its name (``None`` gives :class:`Identity`)."""
    if name is None:
        return Identity()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid names: {', '.join(ACTIVATIONS)} or None")
    return ACTIVATIONS[name]()
