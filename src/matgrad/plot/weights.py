"""One scalar weight of a network, named as derivations name it: ``W2[0,1]``.

``Wℓ`` and ``bℓ`` are the weight and bias of the ℓ-th ``Linear`` layer, counted from 1 as in
the column layout's ``W²`` (``W²`` and ``W2`` are the same name); the dotted names of
``named_parameters()`` (``layers.2.W``) are accepted too.  Indices refer to the array as matgrad
stores it: ``Linear.W`` has shape ``(in, out)`` (``Y = X W + b``), so ``W2[i,j]`` is the weight
from unit ``i`` of the first hidden layer to unit ``j`` of the next, the entry the
column layout (``z = Wx + b``) writes ``W²_ji``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn.linear import Linear
from ..tensor import Tensor

_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_WRITTEN = re.compile(r"^\s*([^\[\]\s]+)\s*\[([^\]]*)\]\s*$")


@dataclass(frozen=True, eq=False)
class Weight:
    """A scalar entry of a ``Linear`` layer's ``W`` or ``b``.

    ``position`` is the layer's index in the network's sequence of layers (``net.layers``);
    ``label`` is how pictures and history records name it (``"W2[0,1]"``).
    """

    label: str
    position: int
    kind: str  # "W" or "b"
    index: tuple[int, ...]
    tensor: Tensor

    @property
    def value(self) -> float:
        """The weight's current value in the network."""
        return float(self.tensor.data[self.index])


def layers_of(net: Any) -> list[Any]:
    """The network's modules in the order they are applied (``net.layers`` of an MLP, or a Sequential)."""
    layers = getattr(net, "layers", net)
    try:
        return list(layers)
    except TypeError:
        raise TypeError(
            f"plot: needs a network made of layers applied in order (nn.MLP or nn.Sequential), got {type(net).__name__}"
        ) from None


def resolve_weight(net: Any, spec: Any) -> Weight:
    """The weight ``spec`` names: ``"W2[0,1]"``, ``("W2", (0, 1))``, ``("layers.2.W", (0, 1))``, ``"b1[3]"``."""
    name, index = _name_and_index(spec)
    known = _linear_parameters(net)
    entry = known.get(name.translate(_SUPERSCRIPT_DIGITS))
    if entry is None:
        listing = ", ".join(f"{short} {tuple(t.shape)}" for short, (_, _, _, t) in known.items() if "." not in short)
        raise ValueError(f"plot: no parameter {name!r} in this network; it has {listing} (or their dotted names)")
    short, position, kind, tensor = entry
    _check_index(short, index, tensor.shape)
    return Weight(f"{short}[{','.join(map(str, index))}]", position, kind, index, tensor)


def resolve_weights(net: Any, specs: Sequence[Any], count: int = 2) -> tuple[Weight, ...]:
    """Exactly ``count`` distinct weights."""
    if isinstance(specs, str) or len(specs) != count:
        raise ValueError(f"plot: params needs {count} weights like ['W2[0,1]', 'W2[1,2]'], got {specs!r}")
    weights = tuple(resolve_weight(net, spec) for spec in specs)
    labels = [w.label for w in weights]
    if len(set(labels)) != len(labels):
        raise ValueError(f"plot: params names one weight twice ({', '.join(labels)}); choose {count} different ones")
    return weights


def _name_and_index(spec: Any) -> tuple[str, tuple[int, ...]]:
    if isinstance(spec, str):
        match = _WRITTEN.match(spec)
        if match is None:
            raise ValueError(f"plot: cannot read the parameter {spec!r}; write NAME[i,j] like W2[0,1], or b2[3]")
        name, inside = match.groups()
        try:
            return name, tuple(int(part) for part in inside.split(","))
        except ValueError:
            raise ValueError(f"plot: the index of {spec!r} must be integers, like W2[0,1]") from None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        name, index = spec
        index = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
        if not all(isinstance(i, (int, np.integer)) for i in index):
            raise ValueError(f"plot: the index of {spec!r} must be integers, like ('W2', (0, 1))")
        return name, tuple(int(i) for i in index)
    raise ValueError(f"plot: a parameter is written 'W2[0,1]' or ('W2', (0, 1)), got {spec!r}")


def _linear_parameters(net: Any) -> dict[str, tuple[str, int, str, Tensor]]:
    """Every name a Linear layer's parameter answers to → (short name, position, kind, tensor)."""
    dotted = {id(tensor): name for name, tensor in net.named_parameters()}
    names: dict[str, tuple[str, int, str, Tensor]] = {}
    linear_layers = [(position, m) for position, m in enumerate(layers_of(net)) if isinstance(m, Linear)]
    for ordinal, (position, module) in enumerate(linear_layers, start=1):
        for kind in ("W", "b"):
            tensor = getattr(module, kind)
            if tensor is None:
                continue
            entry = (f"{kind}{ordinal}", position, kind, tensor)
            names[entry[0]] = entry
            names[dotted.get(id(tensor), entry[0])] = entry
    return names


def _check_index(name: str, index: tuple[int, ...], shape: tuple[int, ...]) -> None:
    if len(index) != len(shape):
        example = ",".join("0" * len(shape)) if shape else ""
        raise ValueError(
            f"plot: {name} has shape {tuple(shape)}, so it takes {len(shape)} indices like {name}[{example}]; "
            f"got {len(index)}"
        )
    for axis, (i, size) in enumerate(zip(index, shape)):
        if not 0 <= i < size:
            raise ValueError(
                f"plot: index {list(index)} is out of range for {name} of shape {tuple(shape)}: "
                f"axis {axis} runs from 0 to {size - 1}"
            )
