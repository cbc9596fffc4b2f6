"""The numbers behind a cost-surface picture: the loss over a plane of two weights, its gradient
from matgrad's backward pass, and paths of gradient descent.  No drawing here.

Why it is fast: every other weight stays fixed, so the layers before the first chosen weight
are computed once.  Moving ``W[i, j]`` by ``d`` changes the layer's pre-activations by the
rank-one matrix ``d · a[:, i] e_jᵀ`` (moving ``b[j]`` adds ``d`` to column ``j``), so a whole
batch of G grid points is one forward pass with a leading axis of length G: ``(G, N, width)``
arrays through the remaining layers, and one backward pass from the G losses gives all G
gradients (each loss depends on its own point only, so ∂(Σ_g C_g)/∂d_g = ∂C_g/∂d_g).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn import loss_from_config
from ..nn.linear import Linear
from ..primitives import stack
from ..reverse import grad_of
from ..state import enable_grad, no_grad
from ..tensor import Tensor
from ..train import Callback, History, TrainState, as_arrays
from .weights import Weight, layers_of, resolve_weights

ELEMENTS_PER_BATCH = 1 << 21  # widest (G, N, width) array of one batch of grid points: 16 MB in float64


class LossSlice:
    """``C(w₁, w₂)``: the mean loss over ``data`` as a function of two weights, all others fixed
    at their current values.  ``loss_slice(points)`` gives the loss at each row of a ``(M, 2)``
    array; ``loss_slice.gradient(points)`` also ``∂C/∂(w₁, w₂)`` there, by batched backward passes."""

    def __init__(self, net: Any, loss: Callable, data: Any, weights: Sequence[Weight]) -> None:
        self.weights = tuple(weights)
        self.centre = np.array([w.value for w in self.weights])
        self.layers = layers_of(net)
        self.first = min(w.position for w in self.weights)
        self.fixed = {p: _float64_parameters(m) for p, m in enumerate(self.layers) if isinstance(m, Linear)}
        self.net = net
        X, self.y = as_arrays(data)
        self.examples = len(X)
        self.loss = loss
        self.per_example = _per_example_loss(loss)
        with no_grad(), _evaluation_mode(net):
            self.prefix = self._forward_layers(Tensor(np.asarray(X, dtype=np.float64)), 0, self.first, ())
        widest = max(W.shape[1] for position, (W, _) in self.fixed.items() if position >= self.first)
        self.batch = max(1, ELEMENTS_PER_BATCH // (self.examples * widest))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """The loss at each point, shape ``(M,)``."""
        with no_grad():
            return np.concatenate([self.losses(self._offsets(chunk, False)).data for chunk in self._chunks(points)])

    def gradient(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The loss ``(M,)`` and its gradient ``(M, 2)`` at each point, by matgrad's backward pass."""
        values, gradients = [], []
        for chunk in self._chunks(points):
            offsets = self._offsets(chunk, True)
            with enable_grad():
                losses = self.losses(offsets)
            values.append(losses.data)
            gradients.append(np.stack(grad_of([losses], offsets, [np.ones(len(chunk))]), axis=1))
        return np.concatenate(values), np.concatenate(gradients)

    def losses(self, offsets: Sequence[Tensor]) -> Tensor:
        """The G losses when the weights are moved from their current values by ``offsets`` (two ``(G,)`` Tensors)."""
        with _evaluation_mode(self.net):
            outputs = self._forward_layers(self.prefix, self.first, len(self.layers), offsets)
        return self._loss_per_point(outputs)

    # ----- forward pass with the weights moved ----------------------------------------------
    def _forward_layers(self, a: Tensor, start: int, stop: int, offsets: Sequence[Tensor]) -> Tensor:
        for position in range(start, stop):
            module = self.layers[position]
            if isinstance(module, Linear):
                a = self._linear(position, a, offsets)
            elif module.parameters():
                raise TypeError(
                    f"plot: layer {position} ({type(module).__name__}) has parameters; a cost surface moves weights "
                    f"of Linear layers and passes the other layers through unchanged, so they must be parameter-free"
                )
            else:
                a = module(a)
        return a

    def _linear(self, position: int, a: Tensor, offsets: Sequence[Tensor]) -> Tensor:
        W, b = self.fixed[position]
        z = a @ W if b is None else a @ W + b
        for weight, offset in zip(self.weights, offsets):
            if weight.position == position:
                z = z + _rank_one_change(weight, a, offset, W.shape[1])
        return z

    def _loss_per_point(self, outputs: Tensor) -> Tensor:
        """``(G, N, K)`` outputs → the G mean (or summed) losses, with the user's loss."""
        points = outputs.shape[0]
        if self.per_example is None:  # a plain callable: one call per point, still one graph
            return stack([self.loss(outputs[g], self.y) for g in range(points)])
        flat = outputs.reshape((points * self.examples, *outputs.shape[2:]))
        each = self.per_example(flat, np.concatenate([self.y] * points)).reshape((points, -1))
        return each.mean(axis=1) if self.loss.reduction == "mean" else each.sum(axis=1)

    # ----- batches of points ----------------------------------------------------------------
    def _chunks(self, points: np.ndarray) -> list[np.ndarray]:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return [points[start : start + self.batch] for start in range(0, len(points), self.batch)]

    def _offsets(self, points: np.ndarray, requires_grad: bool) -> list[Tensor]:
        return [Tensor(points[:, k] - self.centre[k], requires_grad=requires_grad) for k in range(2)]


def _rank_one_change(weight: Weight, a: Tensor, offset: Tensor, width: int) -> Tensor:
    """What moving ``weight`` by ``offset`` (one value per point, ``(G,)``) adds to the layer's
    pre-activations: ``d`` in column j for ``b[j]``, ``d · a[:, i]`` in column j for ``W[i, j]``."""
    column = np.zeros(width)
    column[weight.index[-1]] = 1.0
    moved = offset.reshape((-1, 1, 1)) * column  # (G, 1, width)
    if weight.kind == "b":
        return moved
    return a[..., weight.index[0] : weight.index[0] + 1] * moved  # (G or 1, N, 1) · (G, 1, width)


def _float64_parameters(layer: Linear) -> tuple[np.ndarray, np.ndarray | None]:
    """The layer's fixed weights in float64: the surface is a picture of values, so compute them precisely."""
    bias = None if layer.b is None else layer.b.data.astype(np.float64)
    return layer.W.data.astype(np.float64), bias


def _per_example_loss(loss: Any) -> Callable | None:
    """The same loss with ``reduction="none"`` (the nn losses), or None for a plain callable."""
    if getattr(loss, "reduction", None) not in ("mean", "sum") or not hasattr(loss, "config"):
        return None
    return loss_from_config({**loss.config(), "reduction": "none"})


@contextlib.contextmanager
def _evaluation_mode(net: Any) -> Iterator[None]:
    """Dropout off while the surface is computed; the network's mode is restored after."""
    was_training = getattr(net, "training", False)
    if hasattr(net, "eval"):
        net.eval()
    try:
        yield
    finally:
        if was_training:
            net.train()


# ----- paths ----------------------------------------------------------------------------------


class TrackWeights(Callback):
    """Record chosen weights after every epoch of ``fit``, into the history itself.

    ``fit(..., callbacks=[TrackWeights(net, ["W2[0,1]", "W2[1,2]"])])`` adds ``"W2[0,1]"`` and
    ``"W2[1,2]"`` to each epoch's record, so ``cost_surface(..., path=history)`` can draw the path
    training took (and ``history.json`` keeps it).
    """

    def __init__(self, net: Any, params: Sequence[Any]) -> None:
        self.weights = resolve_weights(net, params)

    def on_epoch_end(self, state: TrainState) -> None:
        state.history.last().update({w.label: w.value for w in self.weights})


def path_points(path: Any, weights: Sequence[Weight]) -> np.ndarray:
    """``(T, 2)`` from a History with the weights' columns (see :class:`TrackWeights`) or an array."""
    if isinstance(path, History):
        columns = [path[w.label] for w in weights]
        missing = [w.label for w, column in zip(weights, columns) if len(column) != len(path) or not column]
        if missing:
            raise ValueError(
                f"cost_surface: the history has no {', '.join(missing)} in every epoch; train with "
                f"callbacks=[mg.plot.TrackWeights(net, {[w.label for w in weights]})] to record them"
            )
        return np.column_stack(columns).astype(np.float64)
    points = np.asarray(path, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 1:
        raise ValueError(f"cost_surface: a path is a History or an array of shape (T, 2); got shape {points.shape}")
    return points


def descend(loss_slice: LossSlice, start: np.ndarray, optimizer: Any, steps: int) -> np.ndarray:
    """The ``(steps + 1, 2)`` points full-batch gradient descent visits on the slice from ``start``.

    ``optimizer`` is an Optimizer (its kind and hyperparameters are reused on the two weights)
    or a callable ``params -> Optimizer`` such as ``lambda p: mg.optim.SGD(p, lr=3.0)``.
    """
    # the optimizer steps the weights' values themselves, not their offsets, so that weight decay
    # pulls them towards 0 as it does in training
    weights = [Tensor(np.array([float(start[k])]), requires_grad=True) for k in range(2)]
    stepper = _optimizer_over(optimizer, weights)
    visited = [np.array([w.data[0] for w in weights])]
    for _ in range(steps):
        stepper.zero_grad()
        with enable_grad():
            offsets = [w - loss_slice.centre[k] for k, w in enumerate(weights)]
            loss_slice.losses(offsets).sum().backward()
        stepper.step()
        visited.append(np.array([w.data[0] for w in weights]))
    return np.array(visited)


def _optimizer_over(optimizer: Any, params: list[Tensor]) -> Any:
    if hasattr(optimizer, "hyperparameters"):
        # a fresh optimizer of the same kind and settings over ``params``; configured from the
        # hyperparameters, since constructors spell some differently (Adam's betas = beta1, beta2)
        fresh = type(optimizer)(params, lr=optimizer.lr)
        fresh._configure(fresh._check_hyper(optimizer.hyperparameters()))
        return fresh
    if callable(optimizer):
        return optimizer(params)
    raise TypeError(
        f"cost_surface: optimizer must be an Optimizer or a callable params -> Optimizer, "
        f"got {type(optimizer).__name__}"
    )


# ----- the whole surface ----------------------------------------------------------------------


@dataclass(frozen=True)
class CostSurface:
    """A loss surface over two weights, ready to draw.

    ``w1`` and ``w2`` are ``meshgrid`` arrays ``(R, R)`` of the weights' values and ``loss`` the
    loss there.  ``arrow_points`` ``(M, 2)``, ``arrows`` to a side, carry ``arrow_loss`` and
    ``gradient`` ``(M, 2)``, ∂C/∂(w₁, w₂) by matgrad's backward pass.  ``path`` ``(T, 2)`` and
    ``path_loss`` (empty when there is none) are described by ``path_label``.  ``centre`` is
    where the network's weights are.
    """

    weights: tuple[Weight, ...]
    centre: np.ndarray
    w1: np.ndarray
    w2: np.ndarray
    loss: np.ndarray
    arrow_points: np.ndarray
    arrows: int
    arrow_loss: np.ndarray
    gradient: np.ndarray
    path: np.ndarray
    path_loss: np.ndarray
    path_label: str
    loss_name: str

    @property
    def labels(self) -> tuple[str, str]:
        return self.weights[0].label, self.weights[1].label


def compute_surface(
    net: Any,
    loss: Callable,
    data: Any,
    params: Sequence[Any] = ("W2[0,1]", "W2[1,2]"),
    *,
    path: Any = None,
    optimizer: Any = None,
    steps: int = 500,
    start: Sequence[float] | None = None,
    span: float | Sequence[float] | None = None,
    resolution: int = 50,
    arrows: int = 15,
) -> CostSurface:
    """Evaluate the loss on a ``resolution × resolution`` grid of two weights, and −∇C on an
    ``arrows × arrows`` grid, around their current values (± ``span``; by default twice the
    larger weight's size, at least 1).  With ``path`` (a History recorded by
    :class:`TrackWeights`, or ``(T, 2)`` values) or ``optimizer`` (descend ``steps`` full-batch
    steps on this slice from ``start``, by default the highest of four points near the grid's
    corners) also the path, and the grid widens to hold it.
    """
    if path is not None and optimizer is not None:
        raise ValueError("cost_surface: give path (where training went) or optimizer (descend on this slice), not both")
    if resolution < 2 or arrows < 2 or steps < 0:
        raise ValueError(
            f"cost_surface: need resolution >= 2, arrows >= 2, steps >= 0; got {resolution}, {arrows}, {steps}"
        )
    weights = resolve_weights(net, params)
    loss_slice = LossSlice(net, loss, data, weights)
    centre = loss_slice.centre
    half_width = _half_width(centre, span)
    trail, label = np.empty((0, 2)), ""
    if path is not None:
        trail, label = path_points(path, weights), "training, once per epoch"
    elif optimizer is not None:
        begin = np.asarray(start, dtype=np.float64) if start is not None else _highest_corner(loss_slice, half_width)
        trail, label = descend(loss_slice, begin, optimizer, steps), f"gradient descent on this slice, {steps} steps"
    low, high = _bounds(centre, half_width, trail)
    axes = [np.linspace(low[k], high[k], resolution) for k in range(2)]
    w1, w2 = np.meshgrid(*axes)
    arrow_axes = [np.linspace(low[k], high[k], arrows + 2)[1:-1] for k in range(2)]  # keep arrows inside the frame
    arrow_points = np.column_stack([grid.ravel() for grid in np.meshgrid(*arrow_axes)])
    arrow_loss, gradient = loss_slice.gradient(arrow_points)
    return CostSurface(
        weights=weights,
        centre=centre,
        w1=w1,
        w2=w2,
        loss=loss_slice(np.column_stack([w1.ravel(), w2.ravel()])).reshape(w1.shape),
        arrow_points=arrow_points,
        arrows=arrows,
        arrow_loss=arrow_loss,
        gradient=gradient,
        path=trail,
        path_loss=loss_slice(trail) if len(trail) else np.empty(0),
        path_label=label,
        loss_name=type(loss).__name__ if hasattr(loss, "config") else getattr(loss, "__name__", "loss"),
    )


def _half_width(centre: np.ndarray, span: float | Sequence[float] | None) -> np.ndarray:
    if span is None:  # the same for both weights, so that the contour map can use equal units
        return np.full(2, max(2.0 * float(np.max(np.abs(centre))), 1.0))
    half = np.broadcast_to(np.asarray(span, dtype=np.float64), (2,)).copy()
    if not np.all(half > 0):
        raise ValueError(f"cost_surface: span must be positive, got {span!r}")
    return half


def _bounds(centre: np.ndarray, half_width: np.ndarray, trail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grid's corners: centre ± half width, widened to hold the whole path with a margin."""
    low, high = centre - half_width, centre + half_width
    if len(trail):
        margin = 0.05 * (np.max(trail, axis=0) - np.min(trail, axis=0))
        low = np.minimum(low, np.min(trail, axis=0) - margin)
        high = np.maximum(high, np.max(trail, axis=0) + margin)
    return low, high


def _highest_corner(loss_slice: LossSlice, half_width: np.ndarray) -> np.ndarray:
    """A start for descent that leaves it somewhere to go: the highest of four points at 80% of the span."""
    signs = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64)
    candidates = loss_slice.centre + 0.8 * signs * half_width
    return candidates[int(np.argmax(loss_slice(candidates)))]
