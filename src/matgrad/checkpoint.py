"""Checkpoints: one ``.npz`` of arrays with the JSON metadata inside it, written atomically.

Layout of the archive (every entry an ordinary array, so nothing in it can execute code):

- ``model/<parameter name>``  the weights, e.g. ``model/layers.0.W``;
- ``optimizer/<key>``, ``schedule/<key>``, ``extra/<key>``  array-valued state;
- ``__meta__``  UTF-8 JSON as ``uint8``: format tag and version, matgrad's version, the
  architecture (``model.config()``), the loss, scalar optimizer and schedule state, the epoch,
  the training history, the random generator's state and anything the caller adds.

Saving goes through :func:`matgrad.atomic.atomic_writer`: a crash mid-save leaves the previous
checkpoint whole, and a killed save leaves no temporary file behind.

Loading trusts nothing in the file: it must be a regular file, a zip of ``.npy`` members,
stored or deflated; every member's header is read first and its shape and dtype checked
against the bytes the zip says it holds, and the total against ``max_bytes``
(``MAX_CHECKPOINT_BYTES``), before any array is read or inflated; object arrays are refused;
the metadata must be a JSON object of at most ``MAX_META_BYTES`` with the types of
``_META_SCHEMA``. Every problem is one ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_writer

FORMAT = "matgrad-checkpoint"
FORMAT_VERSION = 1
_META = "__meta__"
MAX_CHECKPOINT_BYTES = 2 * 1024**3  # all arrays together, decompressed
MAX_META_BYTES = 64 * 1024**2  # the JSON metadata (a long history is a few MB)
MAX_ENTRIES = 100_000
_ARRAY_KINDS = "biufc"  # booleans and numbers: what weights and optimizer state are made of
# Building a model whose weights are missing from the archive is allowed only this much beyond
# what the archive holds, so a missing or misshapen weight is named by load_state_dict while an
# architecture far bigger than its weights (10⁹ parameters, 200,000 layers) is never built.
_SLACK_TENSORS, _SLACK_WEIGHTS = 16, 1 << 16


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


# ----- saving ------------------------------------------------------------------------------------


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
    with atomic_writer(target) as file:
        np.savez(file, **entries)
    return target


# ----- loading -----------------------------------------------------------------------------------


def load(path: str | os.PathLike, max_bytes: int = MAX_CHECKPOINT_BYTES) -> Checkpoint:
    """Read and validate a checkpoint (never unpickles; sizes bounded before reading, see above)."""
    source = Path(path)
    _check_regular_file(source)
    try:
        with zipfile.ZipFile(source) as archive:
            members = _checked_members(archive, source, max_bytes)
            entries = {name: _read_member(archive, info, source) for name, info in members.items()}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as error:
        raise CheckpointError(
            f"checkpoint {source}: not a readable .npz archive (corrupt or truncated?): {error}"
        ) from error
    meta = _parse_meta(entries.pop(_META), source)
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for name, array in entries.items():
        section, _, key = name.partition("/")
        if not key:
            raise CheckpointError(f"checkpoint {source}: unexpected entry {name!r}")
        arrays.setdefault(section, {})[key] = array
    return Checkpoint(meta, arrays, source)


def _check_regular_file(source: Path) -> None:
    try:
        mode = os.stat(source).st_mode
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {source}: no such file") from None
    except OSError as error:
        raise CheckpointError(f"checkpoint {source}: cannot be read ({error.strerror})") from None
    if stat.S_ISDIR(mode):
        raise CheckpointError(f"checkpoint {source}: is a folder; name the model.npz inside it")
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"checkpoint {source}: not a regular file (a device, pipe or socket)")


def _checked_members(archive: zipfile.ZipFile, source: Path, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's ``.npy`` members by entry name, after checking what the zip's own headers say:
    names, compression, encryption, and the decompressed total against ``max_bytes``."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise CheckpointError(f"checkpoint {source}: {len(infos):,} entries, more than the {MAX_ENTRIES:,} allowed")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename[: -len(".npy")]
        if not info.filename.endswith(".npy") or name in members:
            raise CheckpointError(f"checkpoint {source}: unexpected or repeated entry {info.filename!r}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
            raise CheckpointError(
                f"checkpoint {source}: entry {info.filename!r} is encrypted or uses compression method "
                f"{info.compress_type}; matgrad reads stored or deflated entries only (corrupt file?)"
            )
        members[name] = info
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise CheckpointError(
            f"checkpoint {source}: its arrays take {total:,} bytes decompressed, more than the cap of "
            f"{max_bytes:,} (pass max_bytes= to load a trusted larger file)"
        )
    if _META not in members:
        raise CheckpointError(f"checkpoint {source}: no {_META} entry; this .npz was not written by matgrad")
    if members[_META].file_size > MAX_META_BYTES:
        raise CheckpointError(f"checkpoint {source}: metadata of {members[_META].file_size:,} bytes is too large")
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: Path) -> np.ndarray:
    """One ``.npy`` member: its header checked against the member's size, then exactly its data."""
    with archive.open(info) as file:
        version = np.lib.format.read_magic(file)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"entry {info.filename!r}: .npy format version {version} is not supported")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(file, max_header_size=10_000)
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields:
            raise CheckpointError(
                f"checkpoint {source}: entry {info.filename!r} has dtype {dtype}; a checkpoint holds numbers only "
                "(Python objects are never loaded: not a readable .npz archive for matgrad)"
            )
        size = math.prod(shape) * dtype.itemsize
        if size != info.file_size - file.tell():
            raise CheckpointError(
                f"checkpoint {source}: entry {info.filename!r} declares shape {shape} of {dtype} ({size:,} bytes) "
                f"but holds {info.file_size - file.tell():,} bytes (corrupt or forged?)"
            )
        data = bytearray(size)
        if file.readinto(data) != size:
            raise ValueError(f"entry {info.filename!r} is truncated")
        file.read(1)  # reach the end, where zipfile checks the CRC
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def _parse_meta(array: np.ndarray, source: Path) -> dict[str, Any]:
    """The metadata object, parsed strictly (no NaN/Infinity) and checked against ``_META_SCHEMA``."""
    if array.dtype != np.uint8 or array.ndim != 1:
        raise CheckpointError(f"checkpoint {source}: {_META} is {array.dtype} {array.shape}, not UTF-8 bytes")
    try:
        meta = json.loads(array.tobytes().decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {source}: its metadata is not valid JSON: {error}") from error
    except RecursionError:
        raise CheckpointError(f"checkpoint {source}: its metadata is nested too deeply to be matgrad's") from None
    problem = _meta_problem(meta)
    if problem:
        raise CheckpointError(f"checkpoint {source}: {problem}")
    return meta


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


_OBJECT, _LIST = "an object", "a list"
_META_SCHEMA: dict[str, tuple[str, ...]] = {  # key: the JSON types it may have
    "matgrad_version": ("a string",),
    "model_class": ("a string",),  # written by mg.save; only ever shown, never imported
    "architecture": (_OBJECT,),
    "loss": (_OBJECT,),
    "epoch": ("an integer",),
    "history": (_LIST,),
    "rng_state": (_OBJECT,),
    "dropout_rng_states": (_LIST,),
    "optimizer": (_OBJECT, "null"),
    "schedule": (_OBJECT, "null"),
    "extra": (_OBJECT,),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    kinds = {dict: _OBJECT, list: _LIST, str: "a string", float: "a number", type(None): "null"}
    return kinds[type(value)]


def _meta_problem(meta: Any) -> str:
    """What is wrong with the metadata's shape, or ``""``."""
    if not isinstance(meta, dict):
        return f"its metadata is {_json_type(meta)}, expected a JSON object; not written by matgrad"
    if meta.get("format") != FORMAT:
        return f"format is {meta.get('format')!r}, expected {FORMAT!r}"
    version = meta.get("format_version")
    if _json_type(version) != "an integer" or version < 1:
        return f"format_version is {version!r}, expected a positive integer"
    if version > FORMAT_VERSION:
        return f"format version {version} is newer than this matgrad reads ({FORMAT_VERSION}); upgrade matgrad"
    for key, allowed in _META_SCHEMA.items():
        if key in meta and _json_type(meta[key]) not in allowed:
            return f"metadata {key!r} is {_json_type(meta[key])}, expected {' or '.join(allowed)}"
    if meta.get("epoch", 0) < 0:
        return f"metadata 'epoch' is {meta['epoch']}, expected at least 0"
    for key in ("history", "dropout_rng_states"):
        if any(not isinstance(item, dict) for item in meta.get(key, [])):
            return f"metadata {key!r} must be a list of objects"
    return _history_problem(meta.get("history", []))


def _history_problem(records: list[dict[str, Any]]) -> str:
    for index, record in enumerate(records):
        for key, value in record.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"history record {index} has {key!r} = {_json_type(value)}, expected a number"
    return ""


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
    dtypes checked). The architecture is checked against the weights the archive holds before
    anything is built, so metadata cannot make it allocate beyond the file's own arrays."""
    from . import nn
    from .nn.config import parameter_count

    architecture = _required(checkpoint, "architecture")
    weights = checkpoint.section("model")
    try:
        tensors, size = parameter_count(architecture)
    except ValueError as error:
        raise CheckpointError(f"checkpoint {checkpoint.path}: its architecture is malformed: {error}") from error
    held = sum(array.size for array in weights.values())
    if tensors > len(weights) + _SLACK_TENSORS or size > held + _SLACK_WEIGHTS:
        raise CheckpointError(
            f"checkpoint {checkpoint.path}: the architecture declares {tensors:,} weight arrays of {size:,} numbers "
            f"but the archive holds {len(weights):,} of {held:,}; the weights do not fit the architecture"
        )
    try:
        model = nn.from_config(architecture)
        model.load_state_dict(weights)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(
            f"checkpoint {checkpoint.path}: the weights do not fit the architecture: {error}"
        ) from error
    restore_dropout_rngs(model, checkpoint)
    return model


def _required(checkpoint: Checkpoint, key: str) -> Any:
    if key not in checkpoint.meta:
        raise CheckpointError(f"checkpoint {checkpoint.path}: its metadata has no {key!r}; not a training checkpoint")
    return checkpoint.meta[key]


def restore_dropout_rngs(model: Any, checkpoint: Checkpoint) -> None:
    """Give the model's Dropout layers the generator states saved with it, so masks continue."""
    for module, state in zip(_dropouts(model), checkpoint.meta.get("dropout_rng_states", [])):
        _set_generator_state(module.rng, state, checkpoint, "a dropout generator")


def _dropouts(model: Any) -> list[Any]:
    return [m for m in model.modules() if type(m).__name__ == "Dropout"] if hasattr(model, "modules") else []


def restore_loss(checkpoint: Checkpoint) -> Any:
    from . import nn

    try:
        return nn.loss_from_config(_required(checkpoint, "loss"))
    except ValueError as error:
        raise CheckpointError(f"checkpoint {checkpoint.path}: its loss is malformed: {error}") from error


def restore_rng(checkpoint: Checkpoint) -> np.random.Generator | None:
    state = checkpoint.meta.get("rng_state")
    if state is None:
        return None
    generator = np.random.default_rng()
    _set_generator_state(generator, state, checkpoint, "the random generator")
    return generator


def _set_generator_state(generator: np.random.Generator, state: Any, checkpoint: Checkpoint, what: str) -> None:
    try:
        generator.bit_generator.state = state
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise CheckpointError(f"checkpoint {checkpoint.path}: the state of {what} is malformed: {error!r}") from error
