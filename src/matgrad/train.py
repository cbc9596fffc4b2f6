"""The training loop: epochs of shuffled minibatches, validation, history, callbacks.

``fit`` is deterministic given its random generator: the only randomness it uses is the
shuffling of ``rng`` (and whatever the model draws from its own seeded generators), so two
runs with the same seed give bit-identical weights.

By default each minibatch step runs as a compiled plan (:func:`matgrad.compile_backward`),
which gives bit-identical weights to the eager step, faster.  Models with active dropout draw
fresh masks every step, which a plan would freeze, so they train eagerly, as does
``compiled=False``; so does any step the compiler cannot replay faithfully.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .compile import CompileError, compile_backward
from .data.batching import batches
from .nn import Dropout
from .state import no_grad
from .tensor import Tensor

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass
class History:
    """One record per epoch: ``epoch``, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
    ``lr``, ``seconds``.  ``history["val_accuracy"]`` gives a column."""

    records: list[dict[str, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> list[float]:
        return [record[key] for record in self.records if key in record]

    def append(self, record: dict[str, float]) -> None:
        self.records.append(record)

    def last(self) -> dict[str, float]:
        return self.records[-1] if self.records else {}

    def to_json(self, path: str | Path) -> None:
        """Write ``{"epochs": records}`` atomically (a crash leaves the previous file whole)."""
        from .atomic import atomic_writer

        with atomic_writer(Path(path)) as file:
            file.write(json.dumps({"epochs": self.records}, indent=1).encode("utf-8"))

    @classmethod
    def from_records(cls, records: Iterable[dict[str, float]]) -> History:
        return cls([dict(r) for r in records])

    def __repr__(self) -> str:
        if not self.records:
            return "History(no epochs yet)"
        plural = "s" * (len(self.records) != 1)
        last = ", ".join(f"{key} {_number(key, self.last()[key])}" for key in _ordered(self.last()) if key != "epoch")
        return f"History({len(self.records)} epoch{plural}; last: epoch {self.last().get('epoch', '?')}, {last})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        """The epochs as a small table (the first 5 and the last 10 when there are more than 20)."""
        from html import escape

        if not self.records:
            return "<p>History: no epochs yet</p>"
        columns = _ordered(dict.fromkeys(key for record in self.records for key in record))
        shown: list[dict[str, float] | None] = list(self.records)
        if len(shown) > 20:
            shown = [*shown[:5], None, *shown[-10:]]
        head = "".join(f"<th>{escape(key)}</th>" for key in columns)
        rows = []
        for record in shown:
            if record is None:
                rows.append(f'<tr><td colspan="{len(columns)}">⋮</td></tr>')
                continue
            cells = "".join(
                f"<td>{_number(key, record[key]) if key in record else ''}</td>" for key in columns
            )
            rows.append(f"<tr>{cells}</tr>")
        plural = "s" * (len(self.records) != 1)
        return (
            f"<table><caption>History: {len(self.records)} epoch{plural}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


def _ordered(keys: Iterable[str]) -> list[str]:
    """Epoch first, the metrics in their order, then the learning rate and the seconds."""
    keys = list(keys)
    tail = [key for key in ("lr", "seconds") if key in keys]
    return [key for key in keys if key == "epoch"] + [k for k in keys if k not in ("epoch", *tail)] + tail


def _number(key: str, value: Any) -> str:
    """A metric as the history's repr and the epoch lines show it."""
    if key == "epoch" or isinstance(value, (int, np.integer)):
        return str(value)
    if key == "seconds":
        return f"{value:.2f}"
    if key == "lr":
        return f"{value:g}"
    return f"{value:.4f}"


@dataclass
class TrainState:
    """What a callback sees at the end of each epoch (and may change: set ``stop``)."""

    model: Any
    loss: Callable
    optimizer: Any
    schedule: Any
    rng: np.random.Generator
    history: History
    epoch: int = 0  # epochs completed
    stop: bool = False


class Callback:
    """Override ``on_epoch_end``; it runs after validation and the schedule's step."""

    def on_epoch_end(self, state: TrainState) -> None:  # pragma: no cover - interface
        return None

    def on_train_end(self, state: TrainState) -> None:
        return None


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Losses are minimised and accuracies maximised; ``restore_best`` puts back the weights of
    the best epoch when training ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, restore_best: bool = True):
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best
        self.sign = -1.0 if "acc" in monitor else 1.0
        self.best = np.inf
        self.best_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        value = state.history.last().get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping: no {self.monitor!r} in the history; pass val data or monitor 'loss'")
        score = self.sign * value
        if score < self.best - self.min_delta:
            self.best, self.best_epoch = score, state.epoch
            if self.restore_best:
                self.best_weights = state.model.state_dict()
        elif state.epoch - self.best_epoch >= self.patience:
            state.stop = True

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)


def as_arrays(data: Any) -> Arrays:
    """``(X, y)`` from a Dataset-like object (``.X``, ``.y``) or a pair."""
    if hasattr(data, "X") and hasattr(data, "y"):
        return data.X, data.y
    X, y = data
    return np.asarray(X), np.asarray(y)


def predictions(outputs: np.ndarray, binary_logits: bool) -> np.ndarray:
    """Class predictions: argmax over outputs, or a threshold for a single output column."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    return (outputs.reshape(-1) > (0.0 if binary_logits else 0.5)).astype(np.int64)


def _is_binary_logits(loss: Any) -> bool:
    return type(loss).__name__ == "BCEWithLogitsLoss"


def evaluate(model: Any, loss: Callable, data: Any, batch_size: int = 1024) -> dict[str, float]:
    """Mean loss per example and accuracy, in eval mode, without recording a graph."""
    X, y = as_arrays(data)
    if len(X) == 0:
        raise ValueError("evaluate: the data set is empty")
    was_training = getattr(model, "training", False)
    model.eval()
    total_loss, correct = 0.0, 0
    with no_grad():
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            out = model(Tensor(xb))
            total_loss += float(loss(out, yb).data) * len(xb)
            correct += int((predictions(out.data, _is_binary_logits(loss)) == yb).sum())
    if was_training:
        model.train()
    return {"loss": total_loss / len(X), "accuracy": correct / len(X)}


def _progress(total: int, description: str, enabled: bool) -> Any:
    """A ``tqdm.auto`` bar that stays when closed: a widget in a notebook with ipywidgets, text
    on standard error otherwise; ``None`` when not enabled or without tqdm."""
    if not enabled:
        return None
    try:
        if _in_notebook() and not _has_widgets():
            from tqdm.std import tqdm  # what tqdm.auto would pick, without its warning about ipywidgets
        else:
            from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, leave=True, unit="batch", dynamic_ncols=True)


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _in_notebook() -> bool:
    """Running in a Jupyter kernel (JupyterLab, the notebook, VS Code, Colab)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _interactive() -> bool:
    """A terminal on standard error, or a notebook: where ``verbose="auto"`` shows progress."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):  # a closed or odd stream
        pass
    return _in_notebook()


def _verbosity(verbose: int | str, progress: bool | None) -> int:
    if verbose not in (0, 1, 2, "auto"):  # True and False count as 1 and 0
        raise ValueError(f"fit: verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    if progress is not None:
        if verbose != "auto":
            raise ValueError("fit: pass verbose= (progress= is its deprecated spelling), not both")
        return 1 if progress else 0
    if verbose == "auto":
        return 1 if _interactive() else 0
    return int(verbose)


def epoch_line(record: dict[str, float], total: int) -> str:
    """``epoch 3/10 - loss 0.4512 - accuracy 0.8125 - val_loss … - lr 0.1 - 0.02 s``."""
    parts = [f"{key} {_number(key, record[key])}" for key in _ordered(record) if key not in ("epoch", "seconds")]
    seconds = f" - {record['seconds']:.2f} s" if "seconds" in record else ""
    return f"epoch {record.get('epoch', '?')}/{total} - " + " - ".join(parts) + seconds


def train_epoch(
    model: Any,
    loss: Callable,
    optimizer: Any,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    regularizer: Callable | None = None,
    bar: Any = None,
    step: CompiledStep | None = None,
) -> dict[str, float]:
    """One pass over shuffled minibatches; the mean data loss and accuracy seen while training.

    ``step`` (from :func:`compiled_step`) runs each minibatch as a compiled plan; without it,
    or where it declines, the step runs eagerly.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    binary = _is_binary_logits(loss)
    for xb, yb in batches(X, y, batch_size, shuffle=True, rng=rng):
        if getattr(optimizer, "closure", None) is not None:
            data_loss, out = _closure_step(model, loss, optimizer, xb, yb, regularizer)
        else:
            optimizer.zero_grad()
            done = step(xb, yb) if step is not None else None
            data_loss, out = done if done is not None else _eager_step(model, loss, xb, yb, regularizer)
            optimizer.step()
        total_loss += float(data_loss) * len(xb)
        correct += int((predictions(out, binary) == yb).sum())
        seen += len(xb)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
    return {"loss": total_loss / seen, "accuracy": correct / seen}


def _eager_step(
    model: Any, loss: Callable, xb: np.ndarray, yb: np.ndarray, regularizer: Callable | None
) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward of one minibatch, recorded as usual; the data loss and the outputs."""
    objective, data_loss, out = _objective(model, loss, xb, yb, regularizer)
    objective.backward()
    return data_loss.data, out.data


def _objective(
    model: Any, loss: Callable, xb: np.ndarray, yb: np.ndarray, regularizer: Callable | None
) -> tuple[Tensor, Tensor, Tensor]:
    """The minibatch's objective (data loss plus penalty), its data loss and the outputs, recorded."""
    out = model(Tensor(xb))
    data_loss = loss(out, yb)
    return (data_loss + regularizer(model) if regularizer is not None else data_loss), data_loss, out


def _closure_step(
    model: Any, loss: Callable, optimizer: Any, xb: np.ndarray, yb: np.ndarray, regularizer: Callable | None
) -> tuple[np.ndarray, np.ndarray]:
    """One ``optimizer.step(closure)`` on a minibatch (L-BFGS, Newton); the data loss and outputs
    of the closure's first call, before the step, as an ordinary step reports them."""
    first: list[tuple[np.ndarray, np.ndarray]] = []

    def closure() -> Tensor:
        optimizer.zero_grad()
        objective, data_loss, out = _objective(model, loss, xb, yb, regularizer)
        objective.backward(create_graph=optimizer.closure == "graph")
        if not first:
            first.append((data_loss.data, out.data))
        return objective

    optimizer.step(closure)
    return first[0]


class CompiledStep:
    """The forward and backward of a minibatch as a compiled plan, into the parameters' ``.grad``.

    Integer labels and targets of another dtype are converted before the plan sees them (the
    losses would convert them with NumPy, outside the recorded graph, which a plan freezes).
    Returns ``None`` after giving up (the first step the compiler cannot replay): the caller
    then steps eagerly, with the same results.
    """

    def __init__(self, model: Any, loss: Callable, regularizer: Callable | None) -> None:
        self.model, self.loss = model, loss

        def objective(xb: np.ndarray, targets: np.ndarray) -> tuple[Tensor, tuple[Tensor, Tensor]]:
            total, data_loss, out = _objective(model, loss, xb, targets, regularizer)
            return total, (data_loss, out)

        self.compiled = compile_backward(objective, has_aux=True)
        self.outputs: tuple[tuple[int, ...], np.dtype] | None = None  # of the model, for one example
        self.failed = False

    def __call__(self, xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.failed:
            return None
        try:
            _, (data_loss, out) = self.compiled(xb, self._targets(xb, yb))
        except CompileError:
            self.failed = True
            for p in self.model.parameters():  # the tracing call already ran backward once
                p.grad = None
            return None
        return data_loss, out

    def _targets(self, xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
        """``yb`` as the loss itself converts it (the ``targets`` method of the built-in losses),
        done before the plan; other losses get ``yb`` unchanged, and if they convert it the
        compiler declines."""
        if not hasattr(self.loss, "targets"):
            return yb
        if self.outputs is None:
            with no_grad():
                probe = self.model(Tensor(xb[:1])).data
            self.outputs = (probe.shape[1:], probe.dtype)
        shape, dtype = self.outputs
        stand_in = np.broadcast_to(np.zeros((), dtype), (len(xb), *shape))  # the outputs' shape and dtype
        return self.loss.targets(stand_in, yb)


def compiled_step(model: Any, loss: Callable, regularizer: Callable | None = None) -> CompiledStep | None:
    """A :class:`CompiledStep` for ``model``, or ``None`` when it draws random numbers (dropout)."""
    modules = model.modules() if hasattr(model, "modules") else []
    if not modules or any(isinstance(m, Dropout) and m.p > 0 for m in modules):
        return None
    return CompiledStep(model, loss, regularizer)


def fit(
    model: Any,
    loss: Callable,
    optimizer: Any,
    train: Any,
    epochs: int = 10,
    batch_size: int = 32,
    val: Any = None,
    *,
    seed: int = 0,
    rng: np.random.Generator | None = None,
    regularizer: Callable | None = None,
    schedule: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool | None = None,
    history: History | None = None,
    compiled: bool = True,
    verbose: int | str = "auto",
) -> History:
    """Train ``model`` for ``epochs`` more epochs; return the history (continued if given).

    ``rng`` (or a fresh generator from ``seed``) shuffles the minibatches.  ``compiled`` runs
    the steps as compiled plans where that gives the same weights (not with dropout); ``False``
    always steps eagerly.  An optimizer that steps through a closure (``optim.LBFGS``,
    ``optim.Newton``) gets one per minibatch, as in PyTorch; ``batch_size=len(X)`` gives the
    full-batch method they are made for.

    ``verbose``, as in Keras: ``0`` silent; ``1`` a progress bar per epoch that stays when the
    epoch ends, then the epoch's line; ``2`` the epoch's line only.  The line, printed to
    standard output as each epoch ends, reads ``epoch 3/10 - loss 0.4512 - accuracy 0.8125 -
    val_loss … - lr 0.1 - 0.02 s``.  The bar is ``tqdm.auto``'s: a widget in a notebook that
    has ipywidgets, text on standard error otherwise (without tqdm there is no bar, the lines
    remain); in a saved notebook the lines are the record of training, widget or not.
    ``"auto"`` (the default) is ``1`` in a terminal (standard error a tty) and in a Jupyter
    kernel, and ``0`` otherwise (output redirected, tests, CI): a script run by hand and a
    notebook show their progress, while pipes and logs get nothing they did not ask for, as
    before ``verbose`` existed.

    ``progress`` is deprecated, kept working, and mapped onto ``verbose``: ``True`` gives
    ``verbose=1`` (so its bars now stay, with the epoch lines), ``False`` gives ``0``, ``None``
    leaves ``verbose`` to decide.  Passing both ``progress`` and a ``verbose`` other than
    ``"auto"`` is an error.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"fit: need epochs >= 0 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}")
    X, y = as_arrays(train)
    if len(X) == 0:
        raise ValueError("fit: the training set is empty")
    level = _verbosity(verbose, progress)
    state = TrainState(
        model,
        loss,
        optimizer,
        schedule,
        rng if rng is not None else np.random.default_rng(seed),
        history if history is not None else History(),
    )
    state.epoch = len(state.history)
    if getattr(optimizer, "closure", None) == "residuals":
        raise TypeError(
            f"fit: {type(optimizer).__name__} minimizes ½‖r‖² of residuals its closure returns, not a loss over "
            f"minibatches; call its step(closure) yourself, or train with optim.LBFGS or optim.Newton"
        )
    closure_optimizer = getattr(optimizer, "closure", None) is not None  # steps through its own closure
    step = compiled_step(model, loss, regularizer) if compiled and not closure_optimizer else None
    total = state.epoch + epochs
    for _ in range(epochs):
        started = time.perf_counter()
        bar = _progress(-(-len(X) // batch_size), f"epoch {state.epoch + 1}/{total}", level == 1)
        record: dict[str, float] = {"epoch": state.epoch + 1, "lr": float(optimizer.lr)}
        record.update(train_epoch(model, loss, optimizer, X, y, batch_size, state.rng, regularizer, bar, step))
        if bar is not None:
            bar.close()
        if val is not None:
            record.update({f"val_{k}": v for k, v in evaluate(model, loss, val).items()})
        if schedule is not None:
            schedule.step()
        record["seconds"] = time.perf_counter() - started
        state.history.append(record)
        if level >= 1:
            print(epoch_line(record, total), flush=True)
        state.epoch += 1
        for callback in callbacks:
            callback.on_epoch_end(state)
        if state.stop:
            break
    for callback in callbacks:
        callback.on_train_end(state)
    return state.history
