"""Sequential: modules applied one after another; children are named "0", "1", …"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .module import Module


class Sequential(Module):
    """``Sequential(m0, m1, …)(x) = … m1(m0(x))``.

    The children are registered under their positions as strings, so the parameters of the
    first child are named ``"0.W"``, ``"0.b"`` (and, inside an MLP, ``"layers.0.W"``).
    Indexing (``seq[0]``, ``seq[-1]``), ``len`` and iteration work as on a list; a slice is a
    new Sequential sharing the same modules.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns ``self``."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self.named_children())

    def __iter__(self) -> Iterator[Module]:
        return iter([module for _, module in self.named_children()])

    def __getitem__(self, index: int | slice) -> Any:
        children = [module for _, module in self.named_children()]
        if isinstance(index, slice):
            return Sequential(*children[index])
        return children[index]

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x

    def config(self) -> dict[str, Any]:
        return {"type": "Sequential", "modules": [module.config() for module in self]}
