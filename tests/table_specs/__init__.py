"""The spec list of the primitive table: how to call each row, on which inputs.

A :class:`Spec` is one primitive call, ``TABLE[prim](*make(rng), **params)``, optionally through
a public function built on it (``via``).  Each area of the table keeps its specs in a module of
its own here (``core``, and one per primitives module); :data:`SPECS` gathers them, and
``tests/test_primitives.py`` runs every check on every spec.  The input makers below keep away
from the kinks and edges of the function they feed, so that finite differences are meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings

import matgrad as mg

VARIADIC = {"concatenate", "stack", "einsum"}  # one notation entry stands for every input
SAME = object()  # a ``dtype`` parameter meaning "the dtype of the inputs" (astype)

HYPOTHESIS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# ----- inputs: each keeps away from the kinks and edges of the function it feeds -------------
def normal(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.standard_normal(shape)


def positive(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Bases of log, sqrt, power and divisors: positive and away from 0."""
    return r.uniform(0.5, 2.0, shape)


def nonzero(r: np.random.Generator, *shape: int) -> np.ndarray:
    """At least 0.3 away from the kink of abs, relu and leaky_relu at 0."""
    return r.choice([-1.0, 1.0], shape) * r.uniform(0.3, 2.0, shape)


def distinct(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Entries at least 0.3 apart: a maximum over any axes has no tie."""
    n = math.prod(shape)
    return ((r.permutation(n) + r.uniform(-0.2, 0.2, n)) * 0.5 - n / 4).reshape(shape)


def on_integers(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.integers(-3, 4, shape) + r.uniform(-0.2, 0.2, shape)


def on_halves(r: np.random.Generator, *shape: int) -> np.ndarray:
    """At least 0.1 away from every value of :func:`on_integers`: maximum/minimum never tie."""
    return r.integers(-3, 3, shape) + 0.5 + r.uniform(-0.2, 0.2, shape)


LO, HI = -0.5, 0.5  # clip bounds; :func:`clip_safe` keeps at least 0.1 away from both


def clip_safe(r: np.random.Generator, *shape: int) -> np.ndarray:
    inside = r.random(shape) < 0.5
    magnitude = np.where(inside, r.uniform(0.0, 0.4, shape), r.uniform(0.6, 2.0, shape))
    return r.choice([-1.0, 1.0], shape) * magnitude


def probabilities(r: np.random.Generator, *shape: int, axis: int = -1) -> np.ndarray:
    p = r.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


def one_hot_rows(r: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.eye(k)[r.integers(0, k, n)]


def mask(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.random(shape) < 0.5


# ----- the spec list -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Spec:
    """One primitive call: ``TABLE[prim](*make(rng), **params)``.

    ``const`` lists the inputs held constant (conditions, labels); the others are the
    arguments of the checked function.  ``via`` is a public function to check instead of the
    bare primitive, called like it: ``via(*inputs, **params)``.
    """

    name: str
    prim: str
    make: Callable[[np.random.Generator], tuple]
    params: dict = field(default_factory=dict)
    const: tuple[int, ...] = ()
    via: Callable[..., Any] | None = None

    def inputs(self, dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray, ...]:
        raw = self.make(np.random.default_rng(seed))
        return tuple(_cast(np.asarray(x), dtype) for x in raw)

    def kwargs(self, dtype: Any = np.float64) -> dict:
        return {k: (np.dtype(dtype) if v is SAME else v) for k, v in self.params.items()}

    def function(self, inputs: tuple, dtype: Any = np.float64) -> tuple[Callable, list]:
        """The checked function of the non-constant inputs, and those inputs."""
        free = [i for i in range(len(inputs)) if i not in self.const]
        op = self.via or mg.TABLE[self.prim]
        params = self.kwargs(dtype)

        def f(*xs: Any) -> Any:
            full = list(inputs)
            for i, x in zip(free, xs):
                full[i] = x
            return op(*full, **params)

        return f, [inputs[i] for i in free]


def _cast(x: np.ndarray, dtype: Any) -> np.ndarray:
    return x.astype(dtype) if np.issubdtype(x.dtype, np.floating) else x


def all_specs() -> list[Spec]:
    """The specs of every area module in this package (each defines ``SPECS``), in name order."""
    import importlib
    import pkgutil

    specs: list[Spec] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        specs += importlib.import_module(f"{__name__}.{module}").SPECS
    return specs
