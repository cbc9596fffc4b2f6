"""Timing one framework's implementation of a workload, in this process (a worker's).

A sample is ``inner`` timed calls, reported as seconds per call.  Without a prepare step
the loop is timed as a whole; with one, each call is timed alone (prepare excluded) and the
cost of reading the clock, measured once, is subtracted.
"""

from __future__ import annotations

import math
import statistics
from time import perf_counter
from typing import Any, Protocol

from .workload import Impl


class Timer(Protocol):
    """What the harness needs: ``LocalTimer`` here, ``pool.RemoteTimer`` over a worker's pipe."""

    def calibrate(self, sample_seconds: float) -> int: ...

    def sample(self) -> float: ...


def _clock_overhead(trials: int = 2001) -> float:
    """Median time between two back-to-back ``perf_counter()`` readings."""
    gaps = []
    for _ in range(trials):
        t0 = perf_counter()
        gaps.append(perf_counter() - t0)
    return statistics.median(gaps)


class LocalTimer:
    """Times an :class:`Impl` in the current process."""

    _overhead: float | None = None

    def __init__(self, impl: Impl, state: Any = None) -> None:
        """Time ``impl`` on ``state`` (a fresh ``impl.setup()`` if None)."""
        self.impl = impl
        self.state = impl.setup() if state is None else state
        self.inner = 1
        if LocalTimer._overhead is None:
            LocalTimer._overhead = _clock_overhead()

    def calibrate(self, sample_seconds: float) -> int:
        """Choose ``inner`` so that a sample takes about ``sample_seconds`` of timed calls."""
        n = 1
        while True:
            per_call = self.measure(n)
            if per_call * n >= sample_seconds / 10 or n >= 10**6:
                break
            n *= 10
        self.inner = max(1, math.ceil(sample_seconds / max(per_call, 1e-9)))
        if self.inner > n:  # refine on samples of the chosen size: one slow call would mislead
            per_call = min(self.measure(self.inner), self.measure(self.inner))
            self.inner = max(1, math.ceil(sample_seconds / max(per_call, 1e-9)))
        return self.inner

    def sample(self) -> float:
        return self.measure(self.inner)

    def measure(self, calls: int) -> float:
        """Seconds per call of ``step``, over ``calls`` calls."""
        step, prepare, state = self.impl.step, self.impl.prepare, self.state
        if prepare is None:
            t0 = perf_counter()
            for _ in range(calls):
                step(state)
            return (perf_counter() - t0) / calls
        total = 0.0
        for _ in range(calls):
            prepare(state)
            t0 = perf_counter()
            step(state)
            total += perf_counter() - t0
        return max(total / calls - (self._overhead or 0.0), 0.0)
