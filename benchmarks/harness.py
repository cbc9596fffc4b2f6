"""Interleaved timing: warm every framework up, then sample them in alternating rounds.

Round r samples the frameworks in order A B … then … B A in round r + 1, so slow drift
(frequency scaling, a noisy neighbour) hits all alike.  The headline ratio is the median over
rounds of the per-round ratio framework / reference, which cancels drift common to a round.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from .timer import LocalTimer, Timer
from .workload import Impl, Workload


@dataclass(frozen=True)
class Settings:
    rounds: int  # timed samples per framework
    sample_seconds: float  # timed work in one sample
    warmup_samples: int  # untimed samples after calibration


QUICK = Settings(rounds=9, sample_seconds=0.02, warmup_samples=1)  # ~10 s on the 2-core dev machine
FULL = Settings(rounds=25, sample_seconds=0.08, warmup_samples=2)  # ~75 s there


@dataclass(frozen=True)
class Timing:
    """Samples of one workload: seconds per call, per framework, in round order."""

    workload: Workload
    samples: dict[str, list[float]]
    inner: dict[str, int]

    def median(self, framework: str) -> float:
        return statistics.median(self.samples[framework])

    def spread(self, framework: str) -> float:
        """Interquartile range over median: how noisy the samples were."""
        q1, _, q3 = statistics.quantiles(self.samples[framework], n=4)
        return (q3 - q1) / self.median(framework)

    def ratio(self, framework: str) -> float:
        """Median over rounds of framework / reference within the round."""
        pairs = zip(self.samples[framework], self.samples[self.workload.reference])
        return statistics.median(a / b for a, b in pairs if b > 0)


def time_workload(
    workload: Workload, settings: Settings, make_timer: Callable[[Impl], Timer] = LocalTimer
) -> Timing:
    """Calibrate and warm up each framework, then sample them in alternating rounds."""
    timers = {name: make_timer(impl) for name, impl in workload.impls.items()}
    inner = {name: timer.calibrate(settings.sample_seconds) for name, timer in timers.items()}
    for timer in timers.values():
        for _ in range(settings.warmup_samples):
            timer.sample()
    samples: dict[str, list[float]] = {name: [] for name in timers}
    order = list(timers)
    gc.collect()
    for r in range(settings.rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            samples[name].append(timers[name].sample())
    return Timing(workload, samples, inner)
