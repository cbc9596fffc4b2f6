"""What a benchmark is: a named workload (:class:`Spec`) and, per framework, an :class:`Impl`.

The parent process knows only the specs (``suite.SPECS``): plain data that names a workload by
its ``key``.  A worker process (``benchmarks.worker``) imports one framework and turns a key
into that framework's :class:`Impl` with its peer module's ``build(spec)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .problems import Problem

Outputs = dict[str, np.ndarray]


class NotApplicableError(Exception):
    """Raised by a peer's ``build`` for a workload the framework has no way to express."""


@dataclass(frozen=True)
class Impl:
    """One framework's way to run a workload.

    ``setup()`` builds the state once (untimed); ``prepare(state)`` runs before every timed
    call and is not timed (e.g. the forward pass when only backward is measured);
    ``step(state)`` is the timed call and returns what it computed.  ``outputs(state, ret)``,
    called after the first ``prepare`` + ``step`` from a fresh setup (``ret`` is what that
    step returned), gives the arrays the correctness check compares with hand NumPy's: the
    updated weights of a training step, the gradients of a backward pass, a Jacobian.
    ``note`` is shown beside the framework's cell (e.g. "Python loop over examples").
    """

    setup: Callable[[], Any]
    step: Callable[[Any], object]
    outputs: Callable[[Any, Any], Outputs]
    prepare: Callable[[Any], object] | None = None
    note: str = ""


@dataclass(frozen=True)
class Spec:
    """A measurement, as plain data: ``key`` is what parent and worker call it.

    ``kind`` says which builder a peer uses: ``"step"`` (forward + backward + SGD update in
    place), ``"backward"``, ``"jacrev"``, ``"hessian"``, ``"per_example"`` (gradients of every
    example of a batch; ``"per_example_loop"`` the same by a loop of single-example gradients),
    ``"op"`` (one recorded op; ``args`` names it) and ``"op_backward"``
    (the backward sweep over one ``mul`` node).
    """

    key: str
    group: str  # the table section
    name: str  # the row
    kind: str
    problem: Problem | None = None
    args: dict[str, Any] = field(default_factory=dict)
    reference: str = "numpy"  # ratios are framework / reference
