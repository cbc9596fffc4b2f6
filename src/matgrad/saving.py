"""Saving and loading models from Python, in the checkpoint format ``matgrad train`` writes.

``mg.save(model, path)`` writes one ``.npz`` (see :mod:`matgrad.checkpoint`): the weights under
``model/``, the architecture as JSON, and optionally the loss, the optimizer's state and a JSON
``extra`` dict.  The write is atomic: a failed or killed save leaves the previous file whole.
Loading never unpickles and never imports or runs code named in the file.

- ``mg.load(path)`` rebuilds the model (Keras' ``load_model``): the built-in modules only
  (``MLP``, ``Sequential`` of ``Linear``, ``Conv2d``, ``Flatten``, activations, ``Dropout``).
- ``mg.load_state(path)`` gives the weights, ``{name: array}`` (PyTorch's
  ``model.load_state_dict(torch.load(path))``); ``model.load_weights(path)`` loads them into an
  existing model in place.  This is the way for a ``Module`` subclass of your own: its code is
  not in the file, so ``mg.load`` cannot rebuild it and says so.
- ``mg.load_checkpoint(path)`` gives the model with its loss, optimizer, schedule and extra.

A model saved with a loss opens with ``matgrad evaluate PATH --data NAME`` and ``predict``; a
checkpoint of ``matgrad train`` loads with all of the above.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint as ckpt
from .checkpoint import CheckpointError

__all__ = ["CheckpointError", "LoadedCheckpoint", "load", "load_checkpoint", "load_state", "save"]


@dataclass
class LoadedCheckpoint:
    """What :func:`load_checkpoint` returns. ``optimizer`` and ``schedule`` are rebuilt over
    ``model.parameters()`` with their saved state (``None`` when the file holds none);
    ``checkpoint`` is the raw :class:`~matgrad.checkpoint.Checkpoint` (all metadata and arrays)."""

    model: Any
    loss: Any = None
    optimizer: Any = None
    schedule: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    checkpoint: ckpt.Checkpoint | None = None


# ----- saving ------------------------------------------------------------------------------------


def save(
    model: Any,
    path: str | os.PathLike,
    *,
    loss: Any = None,
    optimizer: Any = None,
    schedule: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save ``model`` (its weights and, for built-in modules, its architecture) to ``path``.

    ``loss`` (a built-in loss), ``optimizer`` (over ``model.parameters()``) and its ``schedule``
    are stored too when given; ``extra`` is any JSON object (numbers, strings, booleans, lists,
    dicts; no NaN) returned by :func:`load_checkpoint`.  The file replaces ``path`` in one step;
    on any error the previous file is left as it was.  Returns the path written.
    """
    from . import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"mg.save: expected a matgrad nn.Module, got {type(model).__name__}")
    target = Path(path)
    if target.is_dir():
        raise CheckpointError(f"checkpoint {target}: is a folder; name a file such as {target / 'model.npz'}")
    meta: dict[str, Any] = {"model_class": _class_name(model)}
    architecture = _architecture(model)
    if architecture is not None:
        meta["architecture"] = architecture
    arrays: dict[str, dict[str, np.ndarray]] = {"model": model.state_dict()}
    if loss is not None:
        meta["loss"] = _loss_config(loss)
    if schedule is not None and optimizer is None:
        raise ValueError("mg.save: a schedule is saved with its optimizer; pass optimizer= too")
    if optimizer is not None:
        _check_optimizer(optimizer, model)
        meta["optimizer"], arrays["optimizer"] = ckpt.split_state(optimizer.state_dict())
    if schedule is not None:
        if getattr(schedule, "optimizer", None) is not optimizer:
            raise ValueError("mg.save: the schedule does not drive the optimizer given; pass the schedule's own")
        meta["schedule"], arrays["schedule"] = ckpt.split_state(schedule.state_dict())
    dropout_states = [module.rng.bit_generator.state for module in ckpt._dropouts(model)]
    if dropout_states:
        meta["dropout_rng_states"] = dropout_states  # the masks continue where they were
    if extra is not None:
        meta["extra"] = _checked_extra(extra)
    return ckpt.save(target, meta, arrays)


def _class_name(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def _architecture(model: Any) -> dict[str, Any] | None:
    """``model.config()`` if every module in it is a built-in one ``nn.from_config`` rebuilds
    exactly; ``None`` for anything holding a class of the user's own (a subclass of ``MLP``
    too: rebuilding it as a plain ``MLP`` would silently drop its code)."""
    from .nn.config import MODULES
    from .nn.sequential import Sequential

    known = {*MODULES.values(), Sequential}
    if any(type(module) not in known for module in model.modules()):
        return None
    return model.config()


def _loss_config(loss: Any) -> dict[str, Any]:
    from .nn.config import LOSSES

    if type(loss) not in LOSSES.values():
        raise TypeError(
            f"mg.save: cannot save the loss {type(loss).__name__}; only the built-in losses "
            f"({', '.join(LOSSES)}) can be stored and rebuilt. Leave loss= out to save the model alone"
        )
    return loss.config()


def _check_optimizer(optimizer: Any, model: Any) -> None:
    from .optim import OPTIMIZERS

    if type(optimizer) not in OPTIMIZERS.values():
        names = ", ".join(cls.__name__ for cls in OPTIMIZERS.values())
        raise TypeError(f"mg.save: cannot save the optimizer {type(optimizer).__name__}; only {names} can be rebuilt")
    if [id(p) for p in optimizer.params] != [id(p) for p in model.parameters()]:
        raise ValueError(
            "mg.save: the optimizer does not hold this model's parameters (all of them, in the order of "
            "model.parameters()), so its state could not be restored over the loaded model"
        )


def _checked_extra(extra: Any) -> dict[str, Any]:
    if not isinstance(extra, dict):
        raise TypeError(f"mg.save: extra must be a dict (a JSON object), got {type(extra).__name__}")
    try:
        return json.loads(json.dumps(extra, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"mg.save: extra must hold only JSON values (str keys; numbers without NaN or inf, strings, booleans, "
            f"None, lists, dicts; no arrays): {error}"
        ) from None


# ----- loading -----------------------------------------------------------------------------------


def load(path: str | os.PathLike) -> Any:
    """The model saved at ``path``, rebuilt from its architecture with its weights (names, shapes
    and dtypes checked).  Raises :class:`CheckpointError` naming the file for anything wrong,
    and for a model of a class of your own, which only :func:`load_state` can load."""
    return _rebuild(ckpt.load(path))


def load_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The weights saved at ``path``, ``{parameter name: array}``, for
    ``model.load_state_dict(mg.load_state(path))`` (any model, including your own classes)."""
    saved = ckpt.load(path)
    weights = saved.section("model")
    if not weights:
        raise CheckpointError(f"checkpoint {saved.path}: holds no model weights (nothing under 'model/')")
    return dict(weights)


def load_weights(model: Any, path: str | os.PathLike, strict: bool = True) -> Any:
    """Load the weights saved at ``path`` into ``model`` in place (``Module.load_weights``).
    A file of another architecture is a :class:`CheckpointError` naming each parameter that
    disagrees, both shapes, and what the file holds; nothing is changed then."""
    saved = ckpt.load(path)
    _load_into(model, saved, strict)
    return model


def load_checkpoint(path: str | os.PathLike, model: Any = None) -> LoadedCheckpoint:
    """Everything saved at ``path``: the model rebuilt (or, when ``model`` is given, loaded into
    that model in place: the way for your own ``Module`` classes), the loss, the optimizer and
    schedule rebuilt over the model's parameters with their state, and ``extra``."""
    from . import optim

    saved = ckpt.load(path)
    if model is None:
        model = _rebuild(saved)
    else:
        _load_into(model, saved, strict=True)
        ckpt.restore_dropout_rngs(model, saved)
    loss = ckpt.restore_loss(saved) if "loss" in saved.meta else None
    optimizer = schedule = None
    try:
        if saved.meta.get("optimizer") is not None:
            optimizer = optim.optimizer_from_state(model.parameters(), saved.state("optimizer"))
        if optimizer is not None and saved.meta.get("schedule") is not None:
            schedule = optim.schedule_from_state(optimizer, saved.state("schedule"))
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(
            f"checkpoint {saved.path}: its optimizer state does not fit the model: {error}"
        ) from error
    return LoadedCheckpoint(model, loss, optimizer, schedule, saved.meta.get("extra", {}), saved)


def _rebuild(saved: ckpt.Checkpoint) -> Any:
    if "architecture" not in saved.meta:
        if saved.section("model"):
            raise CheckpointError(
                f"checkpoint {saved.path}: holds the weights of {_held_class(saved)}, a Module class of your own "
                f"that matgrad cannot rebuild without its code (nothing is imported from a file). Build the model, "
                f"then load the weights into it: model.load_weights(path), or "
                f"model.load_state_dict(mg.load_state(path))"
            )
        raise CheckpointError(f"checkpoint {saved.path}: holds no model (no architecture and no weights)")
    return ckpt.restore_model(saved)


def _load_into(model: Any, saved: ckpt.Checkpoint, strict: bool) -> None:
    weights = saved.section("model")
    if not weights:
        raise CheckpointError(f"checkpoint {saved.path}: holds no model weights (nothing under 'model/')")
    try:
        model.load_state_dict(weights, strict=strict)
    except ValueError as error:
        held = _held_class(saved)
        hint = "; rebuild it with mg.load(path)" if "architecture" in saved.meta else ""
        raise CheckpointError(
            f"checkpoint {saved.path}: its weights do not fit this {type(model).__name__}: {error}. "
            f"The file holds {held}{hint}"
        ) from error


def _held_class(saved: ckpt.Checkpoint) -> str:
    """What model the file holds, for messages: its class (never imported) and sizes if known."""
    architecture = saved.meta.get("architecture")
    name = saved.meta.get("model_class")
    if not isinstance(name, str):
        name = architecture.get("type") if isinstance(architecture, dict) else None
    if not isinstance(name, str):
        return "an unnamed model"
    text = name if len(name) <= 80 else f"{name[:77]}..."
    sizes = architecture.get("sizes") if isinstance(architecture, dict) else None
    return f"{text} with sizes {sizes}" if isinstance(sizes, list) and len(sizes) <= 20 else text
