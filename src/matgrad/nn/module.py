"""Module: the base class of layers and networks, with parameters registered explicitly.

A parameter is an :class:`~matgrad.Tensor` with ``requires_grad=True`` assigned as an attribute;
a submodule is a :class:`Module` assigned as an attribute.  ``__setattr__`` records both, in
assignment order, in one ordered registry; there is no metaclass and nothing is discovered by
scanning.  Everything else (a Tensor that does not require grad, an array, a number, a list of
modules) is a plain attribute: it is not a parameter and is not saved.  Put modules in a
:class:`~matgrad.nn.Sequential`, not a list, to have them registered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..tensor import Tensor

_PARAMETER = "parameter"
_MODULE = "module"


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` skipped with ``strict=False`` (empty when strict)."""

    missing: list[str]
    unexpected: list[str]


class _ClassOnly:
    """A ``classmethod`` that refuses to be called on an instance: ``model.load(path)`` would
    return a new model and leave ``model`` unchanged, so it points to ``model.load_weights``."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self.function.__get__(owner, type(owner))

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise TypeError(
                f"{owner.__name__}.load(path) builds a new model and leaves this one unchanged; to load "
                f"the weights into this model call model.load_weights(path), or rebuild it with "
                f"model = {owner.__name__}.load(path)"
            )

        return refuse


class Module:
    """Base class: subclasses call ``super().__init__()`` first, then assign parameters and
    submodules as attributes, and define ``forward``.

    ``training`` is ``True`` after construction; :meth:`train` and :meth:`eval` switch it for the
    module and every submodule (only :class:`~matgrad.nn.Dropout` reads it here).
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_registry", {})  # name -> "parameter" | "module", assignment order
        object.__setattr__(self, "training", True)

    # ----- registration ---------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        registry = self.__dict__.get("_registry")
        if registry is None:
            raise AttributeError(
                f"{type(self).__name__}: cannot assign {name!r} before Module.__init__(); "
                f"call super().__init__() first in __init__"
            )
        kind = _kind_of(value)
        registered = registry.get(name)
        if registered is not None and kind != registered:
            raise TypeError(
                f"{type(self).__name__}.{name} is a registered {registered}; it can only be replaced "
                f"by another {_describe(registered)} (got {type(value).__name__}). To change a "
                f"parameter's values in place use .data[...] = ..., or `del` the attribute first"
            )
        if kind is not None and registered is None:
            registry[name] = kind
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._registry.pop(name, None)
        object.__delattr__(self, name)

    # ----- traversal ------------------------------------------------------------------------
    def named_children(self) -> list[tuple[str, Module]]:
        """The direct submodules, ``(attribute name, module)``, in assignment order."""
        return [(name, getattr(self, name)) for name, kind in self._registry.items() if kind == _MODULE]

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """This module (named ``prefix``, ``""`` by default) and all submodules, depth first."""
        found = [(prefix, self)]
        for name, child in self.named_children():
            found.extend(child.named_modules(f"{prefix}.{name}" if prefix else name))
        return found

    def modules(self) -> list[Module]:
        return [module for _, module in self.named_modules()]

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``(dotted name, Tensor)`` for every parameter, in registration order, depth first.

        A parameter shared by two modules is listed once, under the first name reached.
        """
        found: list[tuple[str, Tensor]] = []
        seen: set[int] = set()
        self._collect_parameters("", found, seen)
        return found

    def _collect_parameters(self, prefix: str, found: list[tuple[str, Tensor]], seen: set[int]) -> None:
        for name, kind in self._registry.items():
            value = getattr(self, name)
            if kind == _MODULE:
                value._collect_parameters(f"{prefix}{name}.", found, seen)
            elif id(value) not in seen:
                seen.add(id(value))
                found.append((prefix + name, value))

    def parameters(self) -> list[Tensor]:
        """The parameters, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    # ----- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameter values, keyed by dotted name, in :meth:`named_parameters` order."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy ``state``'s arrays into the parameters, in place (the Tensors stay the same objects).

        Every name, shape and dtype is checked before anything is copied, so a failed load
        changes nothing.  Raises ``ValueError`` listing each problem: missing and unexpected
        names (only when ``strict``), and shape or dtype mismatches (always), each naming the
        parameter, what was expected and what was got.  Returns the names skipped.
        """
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        problems = []
        if strict and missing:
            problems.append(f"missing parameters: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected parameters: {', '.join(unexpected)}")
        arrays = {}
        for name, param in params.items():
            if name not in state:
                continue
            array = np.asarray(state[name])
            if array.shape != param.shape:
                problems.append(f"{name}: expected shape {param.shape}, got {array.shape}")
            elif array.dtype != param.dtype:
                problems.append(f"{name}: expected dtype {param.dtype}, got {array.dtype}")
            arrays[name] = array
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems))
        for name, array in arrays.items():
            np.copyto(params[name].data, array)
        return LoadResult(missing, unexpected)

    # ----- saving to a file (see matgrad.saving) --------------------------------------------
    def save(
        self,
        path: str | os.PathLike,
        *,
        loss: Any = None,
        optimizer: Any = None,
        schedule: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> Path:
        """Save this model to ``path`` atomically, as :func:`matgrad.save` (the format of
        ``matgrad train``'s checkpoints); rebuild it with ``type(model).load(path)``."""
        from ..saving import save

        return save(self, path, loss=loss, optimizer=optimizer, schedule=schedule, extra=extra)

    @_ClassOnly
    def load(cls, path: str | os.PathLike) -> Any:  # noqa: N805  (a classmethod)
        """A new model rebuilt from ``path`` (``nn.MLP.load(path)``, or ``nn.Module.load(path)``
        for whatever built-in model the file holds), as :func:`matgrad.load`.  A class of your
        own cannot be rebuilt from a file: build it, then call ``model.load_weights(path)``."""
        from ..saving import CheckpointError, load

        model = load(path)
        if not isinstance(model, cls):
            raise CheckpointError(
                f"checkpoint {path}: holds a {type(model).__name__}, not a {cls.__name__}; "
                f"use matgrad.load(path) or nn.Module.load(path) for whatever model it holds"
            )
        return model

    def load_weights(self, path: str | os.PathLike, strict: bool = True) -> Module:
        """Copy the weights saved at ``path`` into this model, in place (as
        ``load_state_dict(matgrad.load_state(path))``, with the file named in any error);
        every name and shape is checked first, so a failed load changes nothing.  Returns ``self``."""
        from ..saving import load_weights

        return load_weights(self, path, strict=strict)

    # ----- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training = mode`` on this module and every submodule; return ``self``."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): dropout becomes the identity.  Returns ``self``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to ``None``."""
        for p in self.parameters():
            p.grad = None

    # ----- calling, config, display ---------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def config(self) -> dict[str, Any]:
        """A JSON-serialisable dict from which :func:`matgrad.nn.from_config` rebuilds the module."""
        raise NotImplementedError(
            f"{type(self).__name__} has no config(); only the built-in modules can be rebuilt "
            f"by nn.from_config"
        )

    def extra_repr(self) -> str:
        """The arguments shown inside the parentheses of ``repr`` (override in leaf modules)."""
        return ""

    def __repr__(self) -> str:
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


def _kind_of(value: Any) -> str | None:
    if isinstance(value, Module):
        return _MODULE
    if isinstance(value, Tensor) and value.requires_grad:
        return _PARAMETER
    return None


def _describe(kind: str) -> str:
    return "Tensor with requires_grad=True" if kind == _PARAMETER else "Module"

