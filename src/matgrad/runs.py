"""What the ``matgrad`` commands do: build a run from its settings, train, save, evaluate.

A run's settings are stored in its checkpoint (as JSON), so ``evaluate`` finds the data it was
trained on and ``train --resume`` continues with exactly the same data, network, optimizer and
random state — reaching the weights an uninterrupted run would have reached.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint as ckpt
from . import data as datasets
from . import nn, optim
from .atomic import atomic_writer
from .cli import EXIT_NO, UsageError, elapsed, format_metrics
from .data.limits import check_bytes, regular_file
from .nn.config import MAX_LAYERS
from .train import Callback, EarlyStopping, History, TrainState, evaluate, fit

CHECKPOINT, HISTORY, CURVES = "model.npz", "history.json", "curves.png"
LOSSES = {"mse": "MSELoss", "cross-entropy": "CrossEntropyLoss", "bce": "BCEWithLogitsLoss"}
# Bytes per weight while training: float64 at worst, times the weights, their gradients and
# Adam's two moments. A --layers whose estimate exceeds --max-memory is refused before building.
BYTES_PER_WEIGHT = 8 * 4
DEFAULT_LR = {"sgd": 3.0, "adam": 1e-3, "adamw": 1e-3, "lbfgs": 1.0, "newton": 1.0}
# Newton's step solves with the full Hessian: n² numbers and an n³ solve for n weights.
NEWTON_MAX_WEIGHTS = 1000  # about 2 s a full-batch step on digits at 910 weights


@dataclass
class Run:
    """Everything a training run is made of."""

    settings: dict[str, Any]
    train: Any
    test: Any
    model: Any
    loss: Any
    optimizer: Any
    schedule: Any
    regularizer: Any
    standardizer: Any = None


class Penalty:
    """Sum of the L2 and L1 penalties on the weights (the λΩ(θ) of Goodfellow et al., Deep Learning, Algorithm 6.4)."""

    def __init__(self, l2: float, l1: float) -> None:
        self.terms = [term for lam, term in ((l2, nn.L2), (l1, nn.L1)) if lam > 0 for term in [term(lam)]]

    def __call__(self, model: Any) -> Any:
        total = self.terms[0](model)
        for term in self.terms[1:]:
            total = total + term(model)
        return total


class PrintEachEpoch(Callback):
    """One line per finished epoch, as it finishes."""

    def on_epoch_end(self, state: TrainState) -> None:
        print(_epoch_line(state.history.last()), flush=True)


class StopIfDiverged(Callback):
    """Stop once the training loss is nan or inf: the run failed (exit status 1), say so."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.loss = math.nan

    def on_epoch_end(self, state: TrainState) -> None:
        loss = state.history.last()["loss"]
        if not math.isfinite(loss):
            self.epoch, self.loss, state.stop = state.epoch, loss, True


class SaveEachEpoch(Callback):
    """Write the checkpoint after every epoch: a crash loses at most the epoch in progress."""

    def __init__(self, run: Run, path: Path) -> None:
        self.run, self.path = run, path

    def on_epoch_end(self, state: TrainState) -> None:
        save_run(self.run, self.path, state.epoch, state.history, state.rng)


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    output_activation = args.output_activation or ("sigmoid" if args.loss == "mse" else None)
    if output_activation in ("none", "identity"):
        output_activation = None
    return {
        "data": args.data,
        "data_dir": str(args.data_dir) if args.data_dir else None,
        "seed": args.seed,
        "layers": args.layers,
        "activation": args.activation,
        "output_activation": output_activation,
        "init": args.init,
        "loss": args.loss,
        "l2": args.l2,
        "l1": args.l1,
        "optimizer": args.optimizer,
        "lr": lr,
        "momentum": args.momentum,
        "nesterov": args.nesterov,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "standardize": args.standardize,
        "patience": args.patience,
        "dropout": args.dropout,
    }


def _integer(low: int) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, bool) and isinstance(v, int) and v >= low


def _number(low: float, high: float = math.inf, open_low: bool = False) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        ok_type = not isinstance(v, bool) and isinstance(v, (int, float))
        return ok_type and (low < v if open_low else low <= v) and v < high

    return check


def _text(*allowed: str, null: bool = False) -> Callable[[Any], bool]:
    return lambda v: (null and v is None) or (isinstance(v, str) and (not allowed or v in allowed))


def _layers(v: Any) -> bool:
    return v is None or (isinstance(v, list) and 2 <= len(v) <= MAX_LAYERS and all(map(_integer(1), v)))


# What a run's saved settings must be (a checkpoint may come from anywhere): key → (check, meaning).
SETTINGS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "data": (_text(), "a data set name"),
    "data_dir": (_text(null=True), "a folder or null"),
    "seed": (_integer(0), "an integer ≥ 0"),
    "layers": (_layers, f"null or a list of 2 to {MAX_LAYERS} positive integers"),
    "activation": (_text(), "an activation name"),
    "output_activation": (_text(null=True), "an activation name or null"),
    "init": (_text(null=True), "an initializer name or null"),
    "loss": (_text(*LOSSES), " or ".join(LOSSES)),
    "l2": (_number(0.0), "a finite number ≥ 0"),
    "l1": (_number(0.0), "a finite number ≥ 0"),
    "optimizer": (_text(*DEFAULT_LR), ", ".join(DEFAULT_LR)),
    "lr": (_number(0.0, open_low=True), "a finite number > 0"),
    "momentum": (_number(0.0), "a finite number ≥ 0"),
    "nesterov": (lambda v: isinstance(v, bool), "true or false"),
    "weight_decay": (_number(0.0), "a finite number ≥ 0"),
    "schedule": (_text("none", "step", "cosine"), "none, step or cosine"),
    "epochs": (_integer(0), "an integer ≥ 0"),
    "batch_size": (_integer(1), "an integer ≥ 1"),
    "standardize": (lambda v: isinstance(v, bool), "true or false"),
    "patience": (_integer(0), "an integer ≥ 0"),
    "dropout": (_number(0.0, 1.0), "a number in [0, 1)"),
}
DATA_SETTINGS = ("data", "data_dir", "seed")
LATER_SETTINGS = {"dropout": 0.0}  # added after the first release: older runs have none


def saved_settings(saved: ckpt.Checkpoint, keys: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """The run settings in a checkpoint (``None`` if it has none), each of ``keys`` present and
    of the right type (all of them by default); a ``CheckpointError`` otherwise."""
    extra = saved.meta.get("extra", {})
    settings = extra.get("settings")
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise ckpt.CheckpointError(f"checkpoint {saved.path}: its run settings are not a JSON object")
    settings = {**LATER_SETTINGS, **settings}
    for key in keys if keys is not None else tuple(SETTINGS):
        if key not in settings:
            raise ckpt.CheckpointError(f"checkpoint {saved.path}: its run settings have no {key!r}")
        check, meaning = SETTINGS[key]
        if not check(settings[key]):
            raise ckpt.CheckpointError(
                f"checkpoint {saved.path}: its run setting {key!r} is {settings[key]!r:.60}, expected {meaning}"
            )
    return settings


def load_data(settings: dict[str, Any], max_bytes: int = datasets.MAX_DATA_BYTES) -> tuple[Any, Any]:
    data_dir = Path(settings["data_dir"]) if settings.get("data_dir") else None
    return datasets.load_dataset(settings["data"], data_dir=data_dir, seed=settings["seed"], max_bytes=max_bytes)


def check_memory(layers: list[int] | None, max_memory: int) -> None:
    """Refuse ``--layers`` whose weights would need more than ``max_memory`` to train."""
    if layers is None:
        return
    weights = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(layers))
    needed = weights * BYTES_PER_WEIGHT
    if needed > max_memory:
        raise UsageError(
            f"--layers {','.join(map(str, layers))}: {weights:,} weights need about {needed / 2**30:.1f} GiB to "
            f"train, more than --max-memory {max_memory / 2**30:.1f} GiB; use smaller layers or raise --max-memory"
        )


def build_run(settings: dict[str, Any], max_bytes: int = datasets.MAX_DATA_BYTES) -> Run:
    train, test = load_data(settings, max_bytes)
    standardizer = None
    if settings["standardize"]:
        standardizer = datasets.Standardizer().fit(train.X)
        train, test = _standardized(train, standardizer), _standardized(test, standardizer)
    layers = settings["layers"] or [train.X.shape[1], 30, train.classes]
    if layers[0] != train.X.shape[1]:
        raise UsageError(
            f"--layers starts with {layers[0]} inputs but {settings['data']} has {train.X.shape[1]} features"
        )
    outputs = 1 if settings["loss"] == "bce" else train.classes
    if layers[-1] != outputs:
        raise UsageError(
            f"--layers ends with {layers[-1]} outputs but {settings['loss']} on {train.classes} classes needs {outputs}"
        )
    settings["layers"] = layers
    model = nn.MLP(
        layers,
        activation=settings["activation"],
        output_activation=settings["output_activation"],
        init=settings["init"],
        seed=settings["seed"],
        dtype=train.X.dtype,
        dropout=settings.get("dropout", 0.0),  # runs saved before --dropout existed have none
    )
    loss = getattr(nn, LOSSES[settings["loss"]])()
    hyper = _optimizer_settings(settings, sum(p.size for p in model.parameters()))
    optimizer = optim.make_optimizer(settings["optimizer"], model.parameters(), **hyper)
    schedule_kw = {"total_steps": settings["epochs"]} if settings["schedule"] == "cosine" else {}
    if settings["schedule"] == "step":
        schedule_kw = {"step_size": max(settings["epochs"] // 3, 1), "gamma": 0.1}
    schedule = optim.make_schedule(settings["schedule"], optimizer, **schedule_kw)
    penalty = Penalty(settings["l2"], settings["l1"]) if settings["l2"] > 0 or settings["l1"] > 0 else None
    return Run(settings, train, test, model, loss, optimizer, schedule, penalty, standardizer)


def _standardized(dataset: Any, standardizer: Any) -> Any:
    return dataclasses.replace(dataset, X=standardizer.transform(dataset.X).astype(dataset.X.dtype))


def save_run(run: Run, path: Path, epoch: int, history: History, rng: np.random.Generator) -> Path:
    arrays = run.standardizer.state_dict() if run.standardizer is not None else None
    return ckpt.save_training(
        path,
        run.model,
        run.loss,
        run.optimizer,
        run.schedule,
        epoch=epoch,
        history=history,
        rng=rng,
        extra_meta={"settings": run.settings},
        extra_arrays=arrays,
    )


def resume_run(path: Path, max_memory: int) -> tuple[Run, History, np.random.Generator | None]:
    if not path.exists():
        raise UsageError(f"--resume: no checkpoint at {path}; train without --resume first")
    saved = ckpt.load(path)
    settings = saved_settings(saved)
    if settings is None:
        raise ckpt.CheckpointError(f"checkpoint {path}: it holds no run settings, so it cannot be resumed")
    check_memory(settings["layers"], max_memory)
    ckpt.restore_model(saved)  # checks the architecture against the weights, before building the run
    try:
        run = build_run(settings, max_memory)
    except datasets.DataError:
        raise
    except (UsageError, ValueError) as error:  # settings of the right types that still make no run
        raise ckpt.CheckpointError(f"checkpoint {path}: its run settings do not make a run: {error}") from error
    try:
        run.model.load_state_dict(saved.section("model"))
        run.optimizer.load_state_dict(saved.state("optimizer"))
        if run.schedule is not None and saved.meta.get("schedule") is not None:
            run.schedule.load_state_dict(saved.state("schedule"))
    except (ValueError, TypeError, KeyError) as error:
        raise ckpt.CheckpointError(f"checkpoint {path}: its state does not fit its run settings: {error}") from error
    ckpt.restore_dropout_rngs(run.model, saved)
    return run, History.from_records(saved.meta.get("history", [])), ckpt.restore_rng(saved)


def check_out_folder(out: Path, resume: bool, overwrite: bool, epochs: int) -> None:
    """Before any data is loaded or any epoch trained: ``out`` is a writable folder, each file
    matgrad writes there is a file, and nothing is replaced that matgrad did not write (or a
    trained model by an untrained one) without ``--overwrite``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder; name a folder for {CHECKPOINT}, {HISTORY}, {CURVES}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise UsageError(f"--out {out}: cannot write files there ({error.strerror}); name a writable folder") from None
    for name in (CHECKPOINT, HISTORY, CURVES):
        if (out / name).exists() and not (out / name).is_file():
            raise UsageError(f"--out {out}: {out / name} is a folder or device, where matgrad writes a file")
    if resume or overwrite:
        return
    _refuse_foreign_checkpoint(out / CHECKPOINT, epochs)
    _refuse_foreign_history(out / HISTORY)
    if (out / CHECKPOINT).exists() or (out / HISTORY).exists():  # matgrad's own: an earlier run
        raise UsageError(
            f"--out {out}: holds an earlier run ({_earlier_run(out)}); pass --overwrite to replace it, "
            "--resume to continue it, or choose another --out"
        )


def _earlier_run(out: Path) -> str:
    """``model.npz trained for 3 epochs``, or ``history.json`` when there is no model."""
    if not (out / CHECKPOINT).exists():
        return HISTORY
    trained = ckpt.load(out / CHECKPOINT).meta.get("epoch", 0)
    return f"{CHECKPOINT} trained for {trained} epoch{'s' if trained != 1 else ''}"


def _refuse_foreign_checkpoint(path: Path, epochs: int) -> None:
    if not path.exists():
        return
    try:
        trained = ckpt.load(path).meta.get("epoch", 0)
    except ckpt.CheckpointError as error:
        raise UsageError(
            f"--out: {path} exists and is not a readable matgrad checkpoint ({error}); "
            "pass --overwrite to replace it, or choose another --out"
        ) from None
    if epochs == 0 and trained > 0:
        raise UsageError(
            f"--epochs 0 would replace the model trained for {trained} epochs in {path} with an untrained one; "
            "pass --resume to continue it, or --overwrite to replace it"
        )


def _refuse_foreign_history(path: Path) -> None:
    """A history.json that is not ``{"epochs": [...]}`` (what matgrad writes) is someone else's."""
    if not path.exists():
        return
    try:
        check_bytes(path, "history", regular_file(path, "history"), ckpt.MAX_META_BYTES, "the file")
        content = json.loads(path.read_text(encoding="utf-8"))
        ours = isinstance(content, dict) and set(content) == {"epochs"} and isinstance(content["epochs"], list)
    except (ValueError, OSError, RecursionError):
        ours = False
    if not ours:
        raise UsageError(
            f"--out: {path} exists and was not written by matgrad; pass --overwrite to replace it, "
            "or choose another --out"
        )


def train_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    path = args.out / CHECKPOINT
    check_memory(args.layers, args.max_memory)
    check_out_folder(args.out, args.resume, args.overwrite, args.epochs)
    if args.resume:
        run, history, rng = resume_run(path, args.max_memory)
        run.settings["epochs"] = args.epochs
    else:
        run, history, rng = build_run(settings_from_args(args), args.max_memory), History(), None
    remaining = max(run.settings["epochs"] - len(history), 0)
    print(_describe(run, remaining), flush=True)
    diverged = StopIfDiverged()
    callbacks: list[Callback] = [SaveEachEpoch(run, path), diverged]
    if not args.quiet:
        callbacks.insert(0, PrintEachEpoch())
    if run.settings["patience"] > 0:
        callbacks.insert(0, EarlyStopping("val_accuracy", patience=run.settings["patience"]))
    rng = rng if rng is not None else np.random.default_rng(run.settings["seed"])
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        # overflow on the way to nan: StopIfDiverged reports it in one line instead
        warnings.simplefilter("ignore", RuntimeWarning)
        history = _fit(run, remaining, rng, callbacks, history)
    save_run(run, path, len(history), history, rng)
    history.to_json(args.out / HISTORY)
    if diverged.epoch is not None:
        print(
            f"matgrad train: error: the training loss became {diverged.loss} in epoch {diverged.epoch}: the run "
            f"diverged (stopped; {path} holds it); try a smaller --lr than {run.settings['lr']:g}", file=sys.stderr
        )
        return EXIT_NO
    print(format_metrics("train", evaluate(run.model, run.loss, run.train)))
    print(format_metrics("test", evaluate(run.model, run.loss, run.test)))
    curves = _write_curves(history, args.out / CURVES)
    print(f"time {elapsed(started)}; wrote {path}, {args.out / HISTORY}{', ' + str(curves) if curves else ''}")
    return 0


def _fit(run: Run, epochs: int, rng: np.random.Generator, callbacks: list[Callback], history: History) -> History:
    return fit(
        run.model,
        run.loss,
        run.optimizer,
        run.train,
        epochs,
        run.settings["batch_size"],
        run.test,
        rng=rng,
        regularizer=run.regularizer,
        schedule=run.schedule,
        callbacks=callbacks,
        verbose=0,  # the CLI prints its own line per epoch (PrintEachEpoch), fit's bar and line would repeat it
        history=history,
    )


def _optimizer_settings(settings: dict[str, Any], weights: int) -> dict[str, Any]:
    """The keywords of ``settings["optimizer"]``; the second-order ones refuse what they lack."""
    name = settings["optimizer"]
    if name in ("lbfgs", "newton"):
        if settings["weight_decay"] > 0 or settings["momentum"] > 0:
            raise UsageError(f"--optimizer {name} has no --weight-decay or --momentum; use --l2 for a penalty")
        if name == "newton" and weights > NEWTON_MAX_WEIGHTS:
            raise UsageError(f"--optimizer newton: the network has {weights:,} weights, more than "
                             f"{NEWTON_MAX_WEIGHTS:,} (its Hessian has {weights:,}² entries); use lbfgs or smaller "
                             "--layers")
        return {"lr": settings["lr"], "line_search_fn": "strong_wolfe"} if name == "lbfgs" else {"lr": settings["lr"]}
    hyper: dict[str, Any] = {"lr": settings["lr"], "weight_decay": settings["weight_decay"]}
    if name == "sgd":
        hyper.update(momentum=settings["momentum"], nesterov=settings["nesterov"])
    return hyper


def _describe(run: Run, epochs: int) -> str:
    s = run.settings
    hidden = f"{s['activation']} hidden" if len(s["layers"]) > 2 else "no hidden layer"
    return (
        f"matgrad train: {s['data']} ({len(run.train)} train / {len(run.test)} test), "
        f"layers {'-'.join(map(str, s['layers']))} ({hidden}, output {s['output_activation'] or 'logits'}), "
        f"{s['loss']} loss, {s['optimizer']} lr {s['lr']:g}, batch {s['batch_size']}, {epochs} epochs, seed {s['seed']}"
    )


def _epoch_line(record: dict[str, float]) -> str:
    val = (
        f"  test loss {record['val_loss']:.4f} acc {100 * record['val_accuracy']:.2f}%" if "val_loss" in record else ""
    )
    return (
        f"epoch {int(record['epoch']):>3}  loss {record['loss']:.4f} acc {100 * record['accuracy']:.2f}%{val}"
        f"  ({record['seconds']:.2f} s)"
    )


def _write_curves(history: History, path: Path) -> Path | None:
    try:
        from .plot import training_curves
    except ImportError:
        print('matgrad: note: no curves.png (matplotlib is missing: pip install "matgrad[cli]")', file=sys.stderr)
        return None
    figure = training_curves(history)
    with atomic_writer(path) as file:
        figure.savefig(file, format="png", dpi=100)
    return path


def _restore(path: Path) -> tuple[Any, Any, dict[str, Any], Any]:
    saved = ckpt.load(path)
    model, loss = ckpt.restore_model(saved), ckpt.restore_loss(saved)
    settings = saved_settings(saved, tuple(key for key in DATA_SETTINGS if key != "data")) or {}
    return model, loss, settings, restore_standardizer(saved)


def restore_standardizer(saved: ckpt.Checkpoint) -> Any:
    """The standardizer saved with a run (its statistics in the ``extra`` section), or ``None``."""
    if not saved.section("extra"):
        return None
    try:
        return datasets.Standardizer().load_state_dict(saved.section("extra"))
    except ValueError as error:
        raise ckpt.CheckpointError(f"checkpoint {saved.path}: its standardizer is malformed: {error}") from error


def evaluate_command(args: argparse.Namespace) -> int:
    model, loss, settings, standardizer = _restore(args.checkpoint)
    if args.data:
        settings = {**settings, "data": args.data, "data_dir": str(args.data_dir) if args.data_dir else None}
    if not isinstance(settings.get("data"), str):
        raise UsageError(f"{args.checkpoint} does not say what data it was trained on; pass --data")
    settings.setdefault("seed", 0)
    train, test = load_data(settings)
    _check_fits(model, loss, train, settings["data"], args.checkpoint)
    if standardizer is not None:
        train, test = _standardized(train, standardizer), _standardized(test, standardizer)
    print(f"matgrad evaluate: {args.checkpoint} on {settings['data']}")
    print(format_metrics("train", evaluate(model, loss, train)))
    print(format_metrics("test", evaluate(model, loss, test)))
    return 0


def _widths(model: Any) -> tuple[int, int]:
    """(inputs, outputs) of a network: the first weight's rows, the last weight's columns."""
    weights = [p for p in model.parameters() if p.ndim == 2]
    return weights[0].shape[0], weights[-1].shape[1]


def _check_fits(model: Any, loss: Any, dataset: Any, name: str, checkpoint: Path) -> None:
    """Refuse data the network cannot take (before standardizing it), naming both sides."""
    inputs, outputs = _widths(model)
    if dataset.X.shape[1] != inputs:
        raise UsageError(
            f"{checkpoint} takes {inputs} features but {name} has {dataset.X.shape[1]}; "
            "pass --data with the kind of data it was trained on"
        )
    needed = 1 if type(loss).__name__ == "BCEWithLogitsLoss" else dataset.classes
    if (needed == 1 and outputs != 1) or (needed > 1 and outputs < needed):
        raise UsageError(
            f"{checkpoint} has {outputs} output{'s' if outputs != 1 else ''} but {name} has "
            f"{dataset.classes} classes; pass --data with the kind of data it was trained on"
        )


def class_probabilities(outputs: np.ndarray, loss_name: str) -> np.ndarray:
    """One row per example, one column per class, summing to 1: the softmax of the logits
    (cross-entropy), the sigmoid of the one logit (bce), or the outputs clipped to [0, ∞) and
    scaled to sum to 1 (mse, whose sigmoid outputs are scores rather than probabilities)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 1 or outputs.shape[1] == 1:
        column = outputs.reshape(-1)
        positive = 1 / (1 + np.exp(-column)) if loss_name == "BCEWithLogitsLoss" else np.clip(column, 0.0, 1.0)
        return np.column_stack([1 - positive, positive])
    if loss_name == "MSELoss":
        scores = np.clip(outputs, 0.0, None)
        totals = scores.sum(axis=1, keepdims=True)
        return np.where(totals > 0, scores / np.where(totals > 0, totals, 1), 1 / outputs.shape[1])
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def predict_command(args: argparse.Namespace) -> int:
    """A header, then per row: its index, the true label (when known), the prediction and the
    class probabilities; ``--format csv`` or ``json`` for scripts (every row unless ``--limit``)."""
    from .tensor import Tensor
    from .train import predictions

    model, loss, settings, standardizer = _restore(args.checkpoint)
    if args.input:
        X, labels, source = _feature_rows(args.input), None, str(args.input)
    else:
        if not isinstance(settings.get("data"), str):
            raise UsageError(f"{args.checkpoint} does not say what data it was trained on; pass --input")
        test = load_data({"seed": 0, **settings})[1]
        _check_fits(model, loss, test, settings["data"], args.checkpoint)
        X, labels, source = test.X, test.y, f"{settings['data']} (test split)"
    width = _widths(model)[0]
    if X.shape[1] != width:
        raise UsageError(f"the rows have {X.shape[1]} features but the network takes {width}")
    if standardizer is not None:
        X = standardizer.transform(X).astype(X.dtype)
    model.eval()
    outputs = model(Tensor(X.astype(model.parameters()[0].dtype))).data
    loss_name = type(loss).__name__
    predicted = predictions(outputs, loss_name == "BCEWithLogitsLoss")
    probabilities = class_probabilities(outputs, loss_name)
    limit = args.limit if args.limit is not None else (20 if args.format == "text" else len(predicted))
    shown = range(min(limit, len(predicted)))
    classes = probabilities.shape[1]
    if args.format == "json":
        rows = [{"row": i, "label": None if labels is None else int(labels[i]), "predicted": int(predicted[i]),
                 "probabilities": [float(f"{p:.6g}") for p in probabilities[i]]} for i in shown]
        print(json.dumps({"checkpoint": str(args.checkpoint), "data": source, "classes": classes, "rows": rows}))
        return 0
    if args.format == "csv":
        print(",".join(["row", "label", "predicted", *(f"p{k}" for k in range(classes))]))
        for i in shown:
            label = "" if labels is None else str(int(labels[i]))
            print(",".join([str(i), label, str(int(predicted[i])), *(f"{p:.6g}" for p in probabilities[i])]))
        return 0
    print(f"matgrad predict: {args.checkpoint} on {source}")
    print("  ".join(["  row", "label", "predicted", *(f"p({k})".rjust(6) for k in range(classes))]))
    for i in shown:
        label = "    -" if labels is None else f"{int(labels[i]):>5}"
        mark = "" if labels is None or labels[i] == predicted[i] else "  ✗"
        print("  ".join([f"{i:>5}", label, f"{int(predicted[i]):>9}", *(f"{p:6.4f}" for p in probabilities[i])])
              + mark)
    if len(predicted) > len(shown):
        print(f"... {len(predicted) - len(shown)} more rows (--limit)")
    if labels is not None:
        right = int((predicted == labels).sum())
        print(f"accuracy {100 * right / len(labels):.2f}% ({right} of {len(labels)} rows)")
    return 0


def _feature_rows(path: Path) -> np.ndarray:
    """Rows of numbers from a CSV file (no header, no target column)."""
    check_bytes(path, "CSV", regular_file(path, "CSV"), datasets.MAX_DATA_BYTES, "the file")
    try:
        rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise datasets.DataError(f"predict: {path}: not a CSV of numbers: {error}") from error
    return rows
