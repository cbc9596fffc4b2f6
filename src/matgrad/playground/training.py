"""The Train page's sessions: a small network on a 2-D data set or the digits, trained step by step in the server.

A :class:`TrainSession` holds the network (``nn.MLP``, row layout ``Z = XW + b``), its optimizer
and an endless stream of minibatches; :meth:`TrainSession.steps` trains, :meth:`snapshot` reports
the loss curve, the accuracies, the decision regions on a grid (2-D data only) and the backward pass
of the current minibatch (δ = ∂C/∂Z and ∂C/∂W of every layer, read from the engine).  It also
keeps where the weights went (:attr:`TrainSession.trail`) for the Surface page's path.  Every setting is
checked against a cap before anything is built, so a bad request changes nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import nn
from ..data import batches, load_digits, train_test_split
from ..data.registry import SYNTHETIC
from ..optim import make_optimizer
from ..state import no_grad
from ..tensor import Tensor

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
OPTIMIZERS = ("sgd", "adam")
DATA = (*SYNTHETIC, "digits")  # digits: the 8×8 images (64 features, 10 classes) that ship with scikit-learn
#: cross_entropy: softmax on the logits; mse: ½‖σ(z) − onehot(y)‖² (sigmoid outputs, the quadratic cost)
LOSSES = ("cross_entropy", "mse")
MAX_LAYERS = 6  # hidden layers
MAX_UNITS = 32  # per hidden layer
MAX_BATCH = 256
MAX_EXAMPLES = 1_000
MAX_STEPS_PER_CALL = 500
MAX_STEPS = 200_000  # a session pauses itself here
GRID = 48  # decision regions: GRID × GRID points
HISTORY = 400  # points of the loss curve kept (older ones thinned)
TRAIL = 128  # snapshots of all the weights kept for the Surface page's path (older ones thinned)


class SettingsError(ValueError):
    """A Train setting out of range, said in one line."""


def settings_of(request: dict[str, Any]) -> dict[str, Any]:
    """The request's settings, each checked against its cap; SettingsError names the first bad one."""
    data = request.get("data", "moons")
    if data not in DATA:
        raise SettingsError(f"train: data must be one of {', '.join(DATA)}, got {str(data)[:20]!r}")
    layers = request.get("layers", [8, 8])
    if isinstance(layers, str):
        layers = [part for part in layers.replace(",", " ").split() if part]
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS or not all(small_int(n, 1, MAX_UNITS) for n in layers):
        raise SettingsError(f"train: layers must be up to {MAX_LAYERS} hidden sizes from 1 to {MAX_UNITS}, "
                            f"e.g. 8,8; got {str(layers)[:40]!r}")
    activation = _choice(request, "activation", ACTIVATIONS, "tanh")
    optimizer = _choice(request, "optimizer", OPTIMIZERS, "adam")
    loss = _choice(request, "loss", LOSSES, "cross_entropy")
    lr = _number(request, "lr", 0.03, 1e-6, 10.0)
    l2 = _number(request, "l2", 0.0, 0.0, 1.0)
    noise = _number(request, "noise", 0.15, 0.0, 1.0)
    batch = request.get("batch", 16)
    examples = request.get("examples", 400)
    seed = request.get("seed", 0)
    for name, value, low, high in (("batch", batch, 1, MAX_BATCH), ("examples", examples, 20, MAX_EXAMPLES),
                                   ("seed", seed, 0, 2**31)):
        if not small_int(value, low, high):
            raise SettingsError(f"train: {name} must be an integer from {low} to {high:,}, got {str(value)[:20]!r}")
    return {"data": data, "layers": [int(n) for n in layers], "activation": activation, "optimizer": optimizer,
            "loss": loss, "lr": lr, "l2": l2, "noise": noise, "batch": int(batch), "examples": int(examples),
            "seed": int(seed)}


class TrainSession:
    """One network training on one data set; every method holds the session's lock."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.train, self.test = split_data(settings)
        self.net = network(settings, self.train.X.shape[1], self.train.classes)
        self.loss = loss_of(settings)
        self.optimizer = make_optimizer(settings["optimizer"], self.net.parameters(), lr=settings["lr"])
        self.rng = np.random.default_rng(settings["seed"])
        self.stream = self._minibatches()
        self.step = 0
        self.batch = next(self.stream)  # the minibatch the next step trains on, and the one shown
        self.history: list[tuple[int, float, float]] = []  # (step, training loss, test loss)
        self.trail: list[tuple[int, np.ndarray]] = [(0, self.weights())]  # (step, every weight, float32)
        self.playing = False
        self.lock = threading.Lock()

    def _minibatches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            yield from batches(self.train.X, self.train.y, self.settings["batch"], rng=self.rng)

    def _cost(self, X: np.ndarray, y: np.ndarray) -> Tensor:
        cost = self.loss(self.net(X), y)
        l2 = self.settings["l2"]
        if l2 > 0:
            cost = cost + nn.L2(l2)(self.net)
        return cost

    def steps(self, count: int) -> None:
        """Train on ``count`` minibatches (stops at MAX_STEPS, or when the loss is no longer finite)."""
        if not small_int(count, 1, MAX_STEPS_PER_CALL):
            raise SettingsError(f"train: steps must be an integer from 1 to {MAX_STEPS_PER_CALL}, "
                                f"got {str(count)[:20]!r}")
        with self.lock:
            for _ in range(count):
                if self.step >= MAX_STEPS:
                    self.playing = False
                    return
                X, y = self.batch
                self.optimizer.zero_grad()
                cost = self._cost(X, y)
                cost.backward()
                self.optimizer.step()
                self.step += 1
                self.batch = next(self.stream)
                if not math.isfinite(float(cost.data)):
                    self.playing = False
                    return
                if self.step % 5 == 0 or count == 1:
                    self._record(float(cost.data))

    def _record(self, training_loss: float) -> None:
        with no_grad():
            test_loss = float(self.loss(self.net(self.test.X), self.test.y).data)
        self.history.append((self.step, training_loss, test_loss))
        if len(self.history) > HISTORY:
            self.history = self.history[::2]  # thinned: the whole run stays in view
        self.trail.append((self.step, self.weights()))
        if len(self.trail) > TRAIL:
            self.trail = self.trail[::2]

    def weights(self) -> np.ndarray:
        """Every parameter, flattened in ``parameters()`` order (float32: the path is a picture)."""
        return np.concatenate([np.ravel(p.data) for p in self.net.parameters()]).astype(np.float32)

    @property
    def planar(self) -> bool:
        """Whether the data has two features, so that decision regions can be drawn."""
        return self.train.X.shape[1] == 2

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "step": self.step,
                "playing": self.playing,
                "train_accuracy": _accuracy(self.net, self.train.X, self.train.y),
                "test_accuracy": _accuracy(self.net, self.test.X, self.test.y),
                "history": [list(point) for point in self.history],
                "regions": self._regions() if self.planar else None,
                "backward": self._backward(),
            }

    def points(self) -> dict[str, Any]:
        """The data, for drawing: rounded coordinates and labels of both splits, and the grid's bounds
        (for 2-D data; of the digits only their counts, since there is no plane to draw them in)."""
        if not self.planar:
            return {"classes": self.train.classes, "features": int(self.train.X.shape[1]),
                    "train": {"count": len(self.train.y)}, "test": {"count": len(self.test.y)}}
        return {
            "classes": self.train.classes,
            "features": 2,
            "train": {"X": np.round(self.train.X, 3).tolist(), "y": self.train.y.tolist()},
            "test": {"X": np.round(self.test.X, 3).tolist(), "y": self.test.y.tolist()},
            "bounds": self.bounds(),
        }

    def bounds(self) -> list[float]:
        X = np.concatenate([self.train.X, self.test.X])
        low, high = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * (high - low) + 1e-3
        return [float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1])]

    def _regions(self) -> dict[str, Any]:
        """The predicted class and its probability at GRID × GRID points, row 0 at the top (largest x₁)."""
        x0, x1, y0, y1 = self.bounds()
        xs, ys = np.linspace(x0, x1, GRID), np.linspace(y1, y0, GRID)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        with no_grad():
            outputs = np.asarray(self.net(grid).data)
        if self.settings["loss"] == "mse":  # sigmoid outputs: each class's own score in [0, 1]
            probabilities = outputs
        else:
            probabilities = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
        return {"size": GRID, "class": probabilities.argmax(axis=1).tolist(),
                "confidence": np.round(probabilities.max(axis=1), 3).tolist()}

    def _backward(self) -> list[dict[str, Any]]:
        """δˡ = ∂C/∂Zˡ and ∂C/∂Wˡ of every layer on the current minibatch, at the current weights.

        δ is read from the engine through a zero probe added to each pre-activation (Zˡ + 0):
        the probe's gradient is ∂C/∂Zˡ, and nothing else of the computation changes."""
        X, y = self.batch
        activation: Any = X
        probes, linears = [], []
        for module in self.net.layers:
            if isinstance(module, nn.Linear):
                out = module(activation)
                probe = Tensor(np.zeros(out.shape), requires_grad=True)
                activation = out + probe
                probes.append(probe)
                linears.append(module)
            else:
                activation = module(activation)
        for parameter in self.net.parameters():
            parameter.grad = None
        self.loss(activation, y).backward()
        shown = []
        for layer, (probe, linear) in enumerate(zip(probes, linears), start=1):
            shown.append(_matrix(f"δ{_superscript(layer)}", probe.grad, "∂C/∂Z: one row per example"))
            shown.append(_matrix(f"∂C/∂W{_superscript(layer)}", linear.W.grad, "Aᵀ δ, summed over the minibatch"))
        for parameter in self.net.parameters():
            parameter.grad = None
        return shown


def network(settings: dict[str, Any], features: int, classes: int) -> Any:
    """The MLP the settings describe (the Surface page's worker rebuilds it the same way)."""
    output = "sigmoid" if settings["loss"] == "mse" else None
    return nn.MLP([features, *settings["layers"], classes], activation=settings["activation"],
                  output_activation=output, seed=settings["seed"], dtype=np.float64)


def loss_of(settings: dict[str, Any]) -> Any:
    return nn.MSELoss() if settings["loss"] == "mse" else nn.CrossEntropyLoss()


def split_data(settings: dict[str, Any]) -> tuple[Any, Any]:
    """(training, test) split 75/25; the 2-D sets generated from the seed, the digits loaded whole
    (``examples`` and ``noise`` apply to the 2-D sets only)."""
    if settings["data"] == "digits":
        try:
            full = load_digits(dtype=np.float64)
        except ImportError as error:
            raise SettingsError(f"train: {error}") from None
    else:
        generator = SYNTHETIC[settings["data"]]
        full = generator(n=settings["examples"], noise=settings["noise"], seed=settings["seed"], dtype=np.float64)
    return train_test_split(full, test_size=0.25, seed=settings["seed"])


def _accuracy(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    with no_grad():
        return float((np.asarray(net(X).data).argmax(axis=1) == y).mean())


def _matrix(name: str, value: Any, meaning: str) -> dict[str, Any]:
    values = np.asarray(value, dtype=float)
    return {"name": name, "shape": list(values.shape), "meaning": meaning, "values": np.round(values, 5).tolist()}


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def small_int(value: Any, low: int, high: int) -> bool:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(request: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = request.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high:
        raise SettingsError(f"train: {key} must be a number from {low:g} to {high:g}, got {str(value)[:20]!r}")
    return number


def _choice(request: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = request.get(key, default)
    if value not in choices:
        raise SettingsError(f"train: {key} must be one of {', '.join(choices)}, got {str(value)[:20]!r}")
    return value
