"""No graph outlives its training step, and memory stays flat over many steps.

A node that survives is found by a weak reference taken while the graph is alive.  The cyclic
garbage collector is switched off while a step runs and is never called before the check, so a
reference cycle through the graph (which only the collector could free, late) counts as a leak.
"""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
import weakref
from collections.abc import Iterator

import numpy as np

import matgrad as mg
from matgrad.reverse import toposort

SIZES = [12, 16, 4]
BATCH = 8


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Only reference counting frees memory inside the block (as it must, for a graph)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, SIZES[0])).astype(np.float32), rng.random((BATCH, SIZES[-1])).astype(np.float32)


def _graph_refs(root: mg.Tensor) -> list[weakref.ref]:
    """Weak references to every recorded node below ``root`` (not the parameters, which live on)."""
    return [weakref.ref(node) for node in toposort([root]) if not node.is_leaf]


def _alive(refs: list[weakref.ref]) -> list[str]:
    """The surviving nodes, described by primitive and shape."""
    nodes = [r() for r in refs]
    return [f"{node._prim.name if node._prim else 'leaf'} {node.shape}" for node in nodes if node is not None]


class SpyLoss:
    """A loss that remembers weak references to the graph of every value it returns."""

    def __init__(self, loss: mg.nn.MSELoss) -> None:
        self.loss = loss
        self.refs: list[weakref.ref] = []
        self.calls = 0

    def __call__(self, prediction, target):
        out = self.loss(prediction, target)
        if isinstance(out, mg.Tensor) and out.requires_grad:
            self.refs += _graph_refs(out)
        self.calls += 1
        return out

    def config(self) -> dict:
        return self.loss.config()


def test_no_node_survives_a_step_of_backward_and_sgd():
    net = mg.nn.MLP(SIZES, activation="sigmoid", seed=0)
    opt = mg.optim.SGD(net.parameters(), lr=0.1)
    X, Y = _data()
    with no_cycle_collection():
        loss = mg.nn.MSELoss()(net(X), Y)
        refs = _graph_refs(loss)
        assert len(refs) > 5
        opt.zero_grad()
        loss.backward()
        opt.step()
        del loss
        assert _alive(refs) == []


def test_no_node_survives_retain_graph_or_create_graph_once_released():
    W = mg.tensor(np.ones((3, 3)), requires_grad=True)
    with no_cycle_collection():
        out = (mg.tanh(W @ W) ** 2).sum()
        refs = _graph_refs(out)
        out.backward(create_graph=True)
        refs += _graph_refs(W.grad.sum())
        W.grad = None
        del out
        assert _alive(refs) == []


def test_no_node_survives_grad():
    W = np.ones((SIZES[0], SIZES[-1]), dtype=np.float32)
    X, Y = _data()
    refs: list[weakref.ref] = []

    def cost(W):
        out = 0.5 * ((mg.sigmoid(X @ W) - Y) ** 2).sum()
        refs.extend(_graph_refs(out))
        return out

    with no_cycle_collection():
        mg.grad(cost)(W)
        mg.value_and_grad(cost)(W)
        assert len(refs) > 5
        assert _alive(refs) == []


def test_no_node_survives_per_example_grad():
    W = np.ones((SIZES[0], SIZES[-1]))
    X, Y = _data()
    refs: list[weakref.ref] = []

    def cost(W, X, Y):
        out = 0.5 * ((mg.sigmoid(X @ W) - Y) ** 2).sum()
        refs.extend(_graph_refs(out))
        return out

    with no_cycle_collection():
        mg.per_example_grad(cost)(W, X, Y)
        assert _alive(refs) == []


def test_no_node_survives_fit():
    net = mg.nn.MLP(SIZES, activation="sigmoid", seed=0)
    X, _ = _data()
    labels = np.arange(BATCH) % SIZES[-1]
    loss = SpyLoss(mg.nn.MSELoss())
    with no_cycle_collection():
        mg.fit(net, loss, mg.optim.SGD(net.parameters(), lr=0.1), (X, labels), epochs=2, batch_size=BATCH // 2)
        assert loss.calls >= 4
        assert _alive(loss.refs) == []


def _train(net: mg.nn.MLP, opt: mg.optim.SGD, X: np.ndarray, Y: np.ndarray, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        mg.nn.MSELoss()(net(X), Y).backward()
        opt.step()


def test_memory_is_flat_over_many_steps():
    steps = 200
    net = mg.nn.MLP([64, 32, 10], activation="sigmoid", seed=0)
    opt = mg.optim.SGD(net.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    X, Y = rng.random((32, 64), dtype=np.float32), rng.random((32, 10), dtype=np.float32)
    _train(net, opt, X, Y, 5)  # first-step allocations (gradient buffers) are not growth
    tracemalloc.start()
    try:
        _train(net, opt, X, Y, 20)
        early_current, early_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _train(net, opt, X, Y, steps - 20)
        late_current, late_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    margin = 16 * 1024  # a few small Python objects, far less than one step's ~40 KB of arrays
    assert late_current <= early_current + margin, (early_current, late_current)
    assert late_peak <= early_peak + margin, (early_peak, late_peak)
