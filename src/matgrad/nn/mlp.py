"""MLP: a stack of Linear layers with an activation after each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._random import RNG, as_generator
from .activations import get_activation
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .sequential import Sequential

_HE_ACTIVATIONS = ("relu", "leaky_relu")


class MLP(Module):
    """A multilayer perceptron: ``Linear(sizes[i], sizes[i+1])`` for each consecutive pair.

    ``net.layers`` is a :class:`Sequential` holding, for each hidden layer, ``Linear``, the
    activation, then ``Dropout`` (only when ``dropout > 0``); and for the last layer ``Linear``
    followed by the output activation (nothing when it is ``None``/"identity": the output is
    the logits).  With ``MLP([784, 30, 10], output_activation="sigmoid")`` (the network of Nielsen's book)
    the parameters are ``layers.0.W (784, 30)``, ``layers.0.b``, ``layers.2.W (30, 10)``,
    ``layers.2.b``.  Input ``(N, sizes[0])``, output ``(N, sizes[-1])``.

    Args:
        activation / output_activation: "sigmoid", "tanh", "relu", "leaky_relu", "softmax",
            "log_softmax", "identity" or ``None``.
        init: an initializer name (see :class:`Linear`); ``None`` picks "he" for relu and
            leaky_relu hidden activations and "glorot" otherwise.
        rng or seed (not both): a Generator or an int seed.  All layers draw from one
            Generator in order (and each Dropout gets a Generator spawned from it), so the same
            seed gives identical weights.  ``None``: unseeded.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | None = "sigmoid",
        output_activation: str | None = None,
        init: str | None = None,
        rng: RNG = None,
        dtype: Any = np.float32,
        dropout: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if len(sizes) < 2 or any(int(n) < 1 for n in sizes):
            raise ValueError(f"MLP: sizes needs at least two positive sizes, got {list(sizes)}")
        if rng is not None and seed is not None:
            raise ValueError("MLP: give rng or seed, not both")
        generator = as_generator(seed if seed is not None else rng, "MLP")
        get_activation(activation)  # validate both names before building anything
        get_activation(output_activation)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        self.sizes = [int(n) for n in sizes]
        self.activation = activation
        self.output_activation = output_activation
        self.init = init if init is not None else ("he" if activation in _HE_ACTIVATIONS else "glorot")
        self.dtype = np.dtype(dtype)
        self.dropout = float(dropout)
        layers = Sequential()
        last = len(self.sizes) - 2
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            layers.append(Linear(n_in, n_out, init=self.init, rng=generator, dtype=self.dtype))
            if i < last:
                layers.append(get_activation(activation))
                if self.dropout > 0:
                    layers.append(Dropout(self.dropout, rng=generator.spawn(1)[0]))
            elif output_activation not in (None, "identity"):
                layers.append(get_activation(output_activation))
        self.layers = layers

    def forward(self, x: Any) -> Any:
        """``(N, sizes[0]) -> (N, sizes[-1])``."""
        return self.layers(x)

    def config(self) -> dict[str, Any]:
        return {
            "type": "MLP",
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "init": self.init,
            "dtype": self.dtype.name,
            "dropout": self.dropout,
        }

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"
