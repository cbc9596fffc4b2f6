"""Checkpoints: one ``.npz`` of arrays with the JSON metadata inside it, written atomically.

Layout of the archive (every entry an ordinary array, so ``np.load(allow_pickle=False)`` reads
it and nothing in it can execute code):

- ``model/<parameter name>``  the weights, e.g. ``model/layers.0.W``;
- ``optimizer/<key>``, ``schedule/<key>``, ``extra/<key>``  array-valued state;
- ``__meta__``  UTF-8 JSON as ``uint8``: format tag and version, matgrad's version, the
  architecture (``model.config()``), the loss, scalar optimizer and schedule state, the epoch,
  the training history, the random generator's state and anything the caller adds.

Saving writes a temporary file in the same directory, flushes it to disk and renames it over
the old one (``os.replace`` is atomic), so a crash mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "matgrad-checkpoint"
FORMAT_VERSION = 1
_META = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, truncated or does not fit what loads it."""


@dataclass
class Checkpoint:
    """What a checkpoint holds: metadata and arrays grouped by section."""

    meta: dict[str, Any]
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    path: Path | None = None

    def section(self, name: str) -> dict[str, np.ndarray]:
        return self.arrays.get(name, {})

    def state(self, name: str) -> dict[str, Any]:
        """Scalars from the metadata and arrays of one section, merged (optimizer, schedule)."""
        merged: dict[str, Any] = dict(self.meta.get(name) or {})
        merged.update(self.section(name))
        return merged


def split_state(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Separate a flat state dict into JSON scalars and arrays."""
    scalars, arrays = {}, {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            arrays[key] = value
        elif isinstance(value, np.generic):
            scalars[key] = value.item()
        else:
            scalars[key] = value
    return scalars, arrays


def save(path: str | os.PathLike, meta: dict[str, Any], arrays: dict[str, dict[str, np.ndarray]]) -> Path:
    """Write a checkpoint atomically; return its path."""
    from . import __version__

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "matgrad_version": __version__, **meta}
    entries = {
        f"{section}/{name}": np.ascontiguousarray(a) for section, group in arrays.items() for name, a in group.items()
    }
    entries[_META] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            np.savez(handle, **entries)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target


def load(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint (never unpickles)."""
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"checkpoint {source}: no such file")
    try:
        with np.load(source, allow_pickle=False) as archive:
            entries = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise CheckpointError(
            f"checkpoint {source}: not a readable .npz archive (corrupt or truncated?): {error}"
        ) from error
    if _META not in entries:
        raise CheckpointError(f"checkpoint {source}: no {_META} entry; this .npz was not written by matgrad")
    try:
        meta = json.loads(entries.pop(_META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"checkpoint {source}: its metadata is not valid JSON: {error}") from error
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {source}: format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {source}: format version {meta['format_version']} is newer than this matgrad "
            f"reads ({FORMAT_VERSION}); upgrade matgrad"
        )
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for name, array in entries.items():
        section, _, key = name.partition("/")
        if not key:
            raise CheckpointError(f"checkpoint {source}: unexpected entry {name!r}")
        arrays.setdefault(section, {})[key] = array
    return Checkpoint(meta, arrays, source)


# ----- training checkpoints: a model, its optimizer and schedule, the loop's state ----------


def save_training(
    path: str | os.PathLike,
    model: Any,
    loss: Any,
    optimizer: Any = None,
    schedule: Any = None,
    *,
    epoch: int = 0,
    history: Any = None,
    rng: np.random.Generator | None = None,
    extra_meta: dict[str, Any] | None = None,
    extra_arrays: dict[str, np.ndarray] | None = None,
) -> Path:
    """Save everything needed to evaluate a model or to resume its training exactly."""
    meta: dict[str, Any] = {"architecture": model.config(), "loss": loss.config(), "epoch": epoch}
    arrays: dict[str, dict[str, np.ndarray]] = {"model": model.state_dict()}
    for name, part in (("optimizer", optimizer), ("schedule", schedule)):
        if part is not None:
            meta[name], arrays[name] = split_state(part.state_dict())
    if history is not None:
        meta["history"] = history.records
    if rng is not None:
        meta["rng_state"] = rng.bit_generator.state
    dropout_states = [m.rng.bit_generator.state for m in _dropouts(model)]
    if dropout_states:
        meta["dropout_rng_states"] = dropout_states  # so a resumed run draws the same masks
    if extra_meta:
        meta["extra"] = extra_meta
    if extra_arrays:
        arrays["extra"] = extra_arrays
    return save(path, meta, arrays)


def restore_model(checkpoint: Checkpoint) -> Any:
    """Rebuild the model from the stored architecture and load its weights (names, shapes and
    dtypes checked)."""
    from . import nn

    try:
        model = nn.from_config(checkpoint.meta["architecture"])
        model.load_state_dict(checkpoint.section("model"))
    except KeyError as error:
        raise CheckpointError(f"checkpoint {checkpoint.path}: missing {error}") from error
    except ValueError as error:
        raise CheckpointError(
            f"checkpoint {checkpoint.path}: the weights do not fit the architecture: {error}"
        ) from error
    restore_dropout_rngs(model, checkpoint)
    return model


def restore_dropout_rngs(model: Any, checkpoint: Checkpoint) -> None:
    """Give the model's Dropout layers the generator states saved with it, so masks continue."""
    for module, state in zip(_dropouts(model), checkpoint.meta.get("dropout_rng_states", [])):
        module.rng.bit_generator.state = state


def _dropouts(model: Any) -> list[Any]:
    return [m for m in model.modules() if type(m).__name__ == "Dropout"] if hasattr(model, "modules") else []


def restore_loss(checkpoint: Checkpoint) -> Any:
    from . import nn

    return nn.loss_from_config(checkpoint.meta["loss"])


def restore_rng(checkpoint: Checkpoint) -> np.random.Generator | None:
    state = checkpoint.meta.get("rng_state")
    if state is None:
        return None
    generator = np.random.default_rng()
    generator.bit_generator.state = state
    return generator
