"""The recorded computation as ``explain`` sees it: quantities with names and formulas.

A :class:`Quantity` is one node of the graph that requires grad; constants (data, targets,
numbers) are :class:`Constant`.  Named quantities — by the user (``Tensor.name``, a function's
parameter names), by ``nn`` layers (``zˡ``, ``aˡ``, ``Wˡ``, ``bˡ``) — are shown by name; unnamed
ones are shown inline as their formula, built from each primitive's notation entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..reverse import toposort
from ..symbolic import Expr, Num, Sym, bind, substitute
from ..tensor import Tensor


@dataclass(eq=False)
class Constant:
    value: Any
    name: str | None
    symbol: str
    source: Any = None  # the Tensor or array it was made from
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.value)


@dataclass(eq=False)
class Quantity:
    tensor: Tensor
    name: str | None
    symbol: str
    position: int
    args: tuple = ()
    consumers: list[tuple[Quantity, int]] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.tensor.shape

    @property
    def value(self) -> np.ndarray:
        return self.tensor.data

    @property
    def prim(self) -> Any:
        return self.tensor._prim

    @property
    def params(self) -> dict:
        return self.tensor._params or {}

    @property
    def is_leaf(self) -> bool:
        return self.tensor._prim is None


class Graph:
    """The quantities leading to a scalar ``output``, producers first."""

    def __init__(self, output: Tensor, names: dict[int, str] | None = None) -> None:
        names = dict(names or {})
        self.quantities: list[Quantity] = []
        self.constants: list[Constant] = []
        self._definitions: dict[int, Expr] = {}  # each written once: a chain would rewrite its prefix at every step
        by_id: dict[int, Quantity] = {}
        for position, node in enumerate(reversed(toposort([output]))):
            quantity = Quantity(node, names.get(id(node), node.name), f"q{position}", position)
            by_id[id(node)] = quantity
            self.quantities.append(quantity)
        for quantity in self.quantities:
            if quantity.is_leaf:
                continue
            quantity.args = tuple(
                by_id[id(p)] if type(p) is Tensor and id(p) in by_id else self._constant(p, names)
                for p in quantity.tensor._parents
            )
            for i, arg in enumerate(quantity.args):
                if isinstance(arg, Quantity):
                    arg.consumers.append((quantity, i))
        self.output = by_id[id(output)]
        for i, quantity in enumerate(q for q in self.quantities if q.is_leaf and q.name is None):
            quantity.name = f"θ{_subscript(i + 1)}"

    def _constant(self, value: Any, names: dict[int, str]) -> Constant:
        """One constant per array: X used twice is one X, so that Xᵀa + Xᵀb can read Xᵀ(a + b)."""
        if isinstance(value, (Tensor, np.ndarray)):
            for known in self.constants:
                if known.source is value:
                    return known
        name = names.get(id(value)) or (value.name if type(value) is Tensor else None)
        raw = value.data if type(value) is Tensor else value
        if name is None and np.ndim(raw) != 0:
            name = f"c{_subscript(len(self.constants) + 1)}"
        constant = Constant(raw, name, f"k{len(self.constants)}", value)
        self.constants.append(constant)
        return constant

    def depth(self) -> int:
        """The longest chain of primitives from an input to the output (an input alone is 0)."""
        levels: dict[int, int] = {}
        for quantity in self.quantities:  # producers first: every argument's level is known
            below = [levels[id(arg)] for arg in quantity.args if isinstance(arg, Quantity)]
            levels[id(quantity)] = 0 if quantity.is_leaf else 1 + max(below, default=0)
        return levels[id(self.output)]

    # ----- formulas -----------------------------------------------------------------------------

    def ref(self, item: Quantity | Constant) -> Expr:
        """How an argument appears in a formula: its name, or inline its own formula."""
        if isinstance(item, Constant):
            return Sym(item.symbol) if item.name is not None else Num(float(np.asarray(item.value)))
        if item.name is not None:
            return Sym(item.symbol)
        return self.definition(item)

    def definition(self, quantity: Quantity) -> Expr:
        """The forward formula of a quantity in terms of named quantities and constants."""
        if id(quantity) not in self._definitions:  # Exprs are immutable: sharing one is safe
            mapping = {f"x{i}": self.ref(arg) for i, arg in enumerate(quantity.args)}
            formula = bind(substitute(quantity.prim.notation.expression, mapping), self.context(quantity, 0))
            self._definitions[id(quantity)] = formula
        return self._definitions[id(quantity)]

    def context(self, quantity: Quantity, argnum: int) -> dict:
        values = [a.value for a in quantity.args]
        shapes = [np.shape(v) for v in values]
        return {
            "params": quantity.params, "shape": shapes[argnum], "shapes": shapes, "argnum": argnum, "inputs": values,
        }

    def display_names(self) -> dict[str, str]:
        names = {q.symbol: q.name for q in self.quantities if q.name is not None}
        names.update({c.symbol: c.name for c in self.constants if c.name is not None})
        return names

    def values(self) -> dict[str, Any]:
        env: dict[str, Any] = {q.symbol: q.value for q in self.quantities}
        env.update({c.symbol: c.value for c in self.constants})
        return env


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _subscript(n: int) -> str:
    return str(n).translate(_SUBSCRIPTS)
