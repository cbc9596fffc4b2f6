"""What a benchmark is: a named workload with one implementation per framework.

Everything a timer needs from a framework is the three callables of an :class:`Impl`, so a
later peer (PyTorch, JAX, HIPS autograd) can provide them in a worker process as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Gradients = dict[str, np.ndarray]


@dataclass(frozen=True)
class Impl:
    """One framework's way to run a workload.

    ``setup()`` builds the state once (untimed); ``prepare(state)`` runs before every timed
    call and is not timed (e.g. the forward pass when only backward is measured);
    ``step(state)`` is the timed call.  ``gradients()`` computes, from a fresh setup, the
    gradients that the correctness check compares across frameworks.
    """

    setup: Callable[[], Any]
    step: Callable[[Any], object]
    prepare: Callable[[Any], object] | None = None
    gradients: Callable[[], Gradients] | None = None


@dataclass(frozen=True)
class Workload:
    """A measurement: ``impls`` maps a framework name to its :class:`Impl`."""

    group: str  # the table section, e.g. "backward"
    name: str  # the row, e.g. "784-30-10 σ/MSE, batch 128"
    impls: dict[str, Impl]
    reference: str = "numpy"  # ratios are framework / reference
