"""The run: one worker per framework, each workload checked, then timed in interleaved rounds.

For every workload each worker loads it and runs a first call (timed apart: it includes any
JIT compile), whose outputs are checked against hand NumPy's.  The frameworks that pass are
calibrated and warmed up, then sampled in rounds: round r asks the workers in order A B … and
round r + 1 in order … B A, so slow drift (frequency scaling, a noisy neighbour) hits all
alike.  Only one worker computes at a time; the others wait on their pipes.  The headline
ratio is the median over rounds of the per-round ratio framework / hand NumPy.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .check import mismatch, update_mismatch
from .pool import LOAD_SECONDS, RemoteTimer, WorkerError, WorkerProcess
from .problems import param_names
from .suite import REFERENCE, Framework
from .timer import Timer
from .workload import Spec

OK, FAILED, NOT_APPLICABLE, MISSING = "ok", "FAILED", "n/a", "missing"
NOISY = 0.05  # other processes' share of the CPUs above which a row is flagged


@dataclass(frozen=True)
class Settings:
    rounds: int  # timed samples per framework
    sample_seconds: float  # timed work in one sample
    warmup_samples: int  # untimed samples after calibration
    warm_calls: int  # untimed calls after the first (checked) one, before calibration
    retries: int  # runs again, at the end, of a workload during which other processes were busy


QUICK = Settings(rounds=7, sample_seconds=0.02, warmup_samples=1, warm_calls=2, retries=0)
FULL = Settings(rounds=25, sample_seconds=0.08, warmup_samples=2, warm_calls=3, retries=1)


@dataclass
class Cell:
    """One framework on one workload."""

    status: str
    why: str = ""  # for FAILED, n/a and missing
    note: str = ""  # how the framework does it, when that needs saying
    first_call: float | None = None  # seconds, compile included
    inner: int = 0  # calls per sample
    samples: list[float] = field(default_factory=list)  # seconds per call, in round order
    settle: float = 0.0  # the longest wait, after a sample, for the worker's threads to sleep

    def median(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> float:
        """Interquartile range over median: how noisy the samples were."""
        if len(self.samples) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / self.median()


def _cpu_ticks(pids: list[int]) -> tuple[float, float, float] | None:
    """(busy ticks of the whole machine, ticks of ``pids``, wall seconds), or None without /proc."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # less idle and iowait
        ours = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                values = stat.read().rsplit(")", 1)[1].split()
            ours += sum(int(v) for v in values[11:15])  # utime, stime, and of children waited for (gcc)
    except (OSError, ValueError, IndexError):
        return None
    return float(busy), float(ours), time.monotonic()


def others_share(before: tuple[float, float, float] | None, after: tuple[float, float, float] | None) -> float | None:
    """The share of the machine's CPU time that processes other than ours used in between."""
    if before is None or after is None:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    capacity = (after[2] - before[2]) * ticks * (os.cpu_count() or 1)
    if capacity <= 0:
        return None
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / capacity)


@dataclass
class Row:
    spec: Spec
    cells: dict[str, Cell]
    others_cpu: float | None = None  # the CPU share that other processes took meanwhile
    attempts: int = 1  # runs of this workload; the one kept had the least other load

    @property
    def noisy(self) -> bool:
        return self.others_cpu is not None and self.others_cpu > NOISY

    def timed(self, framework: str) -> bool:
        cell = self.cells.get(framework)
        return cell is not None and cell.status == OK and bool(cell.samples)

    def ratio(self, framework: str) -> float | None:
        """Median over rounds of framework / hand NumPy within the round."""
        if not (self.timed(framework) and self.timed(REFERENCE)):
            return None
        pairs = zip(self.cells[framework].samples, self.cells[REFERENCE].samples)
        ratios = [a / b for a, b in pairs if b > 0]
        return statistics.median(ratios) if ratios else None


def interleave(timers: dict[str, Timer], settings: Settings, cells: dict[str, Cell]) -> None:
    """Calibrate and warm up each timer, then sample them in alternating rounds into ``cells``.

    A timer that fails (its worker died or raised) marks its cell FAILED and leaves the rounds.
    """
    active = dict(timers)

    def attempt(name: str, action: str) -> float | None:
        try:
            timer = active[name]
            if action == "calibrate":
                cells[name].inner = timer.calibrate(settings.sample_seconds)
                return None
            return timer.sample()
        except WorkerError as error:
            cells[name].status, cells[name].why, cells[name].samples = FAILED, f"while timing: {error}", []
            print(f"  {name}: FAILED while timing: {error}", file=sys.stderr, flush=True)
            del active[name]
            return None

    for name in list(active):
        attempt(name, "calibrate")
    for name in list(active):
        for _ in range(settings.warmup_samples):
            if name in active:
                attempt(name, "sample")
    order = list(active)
    for r in range(settings.rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            if name in active:
                seconds = attempt(name, "sample")
                if seconds is not None:
                    cells[name].samples.append(seconds)
    for name, timer in timers.items():
        cells[name].settle = max(getattr(timer, "settles", None) or [0.0])


class Runner:
    """Long-lived workers, one per framework, and the run of one workload across them."""

    def __init__(self, frameworks: list[Framework], settings: Settings, threads: int, env: dict[str, str]) -> None:
        self.frameworks = frameworks
        self.settings = settings
        self.threads = threads
        self.env = env
        self._tmp = tempfile.TemporaryDirectory(prefix="matgrad-bench-")
        self.dir = Path(self._tmp.name)
        self.workers: dict[str, WorkerProcess] = {}
        self.facts: dict[str, dict[str, str]] = {}
        self.missing: dict[str, str] = {}

    def _spawn(self, framework: Framework) -> WorkerProcess:
        log = self.dir / f"{framework.name}.log"
        return WorkerProcess(framework, self.threads, self.env, log)

    def start(self) -> None:
        """Start every worker at once (imports overlap), then read each one's greeting."""
        spawned = {f.name: self._spawn(f) for f in self.frameworks}
        for name, worker in spawned.items():
            try:
                hello = worker.wait_ready()
            except WorkerError as error:
                hello = {"event": "missing", "why": str(error)}
            if hello.get("event") == "ready":
                self.workers[name] = worker
                self.facts[name] = hello.get("facts", {})
            else:
                self.missing[name] = hello.get("why", "unknown")
                worker.close()

    def _worker(self, framework: Framework) -> WorkerProcess:
        """The framework's worker, started again if an earlier workload killed it."""
        worker = self.workers[framework.name]
        if not worker.alive:
            worker.close()
            worker = self._spawn(framework)
            worker.wait_ready()
            self.workers[framework.name] = worker
        return worker

    def _load(self, framework: Framework, spec: Spec, out: Path) -> Cell:
        if framework.name in self.missing:
            return Cell(MISSING, why=self.missing[framework.name])
        try:
            reply = self._worker(framework).request(
                LOAD_SECONDS, cmd="load", key=spec.key, out=str(out), warm_calls=self.settings.warm_calls
            )
        except WorkerError as error:
            return Cell(FAILED, why=str(error))
        if reply["status"] == "n/a":
            return Cell(NOT_APPLICABLE, why=reply["why"])
        if reply["status"] != "ok":
            return Cell(FAILED, why=reply.get("why", "unknown"))
        return Cell(OK, note=reply.get("note", ""), first_call=reply["first_call"])

    def run(self, spec: Spec) -> Row:
        print(f"{spec.group}: {spec.name}", file=sys.stderr, flush=True)
        pids = self._pids()
        before = _cpu_ticks(pids)
        cells: dict[str, Cell] = {}
        outputs: dict[str, Path] = {}
        for framework in self.frameworks:  # the reference first
            outputs[framework.name] = self.dir / f"{framework.name}.npz"
            cells[framework.name] = self._load(framework, spec, outputs[framework.name])
        self._check(spec, cells, outputs)
        for name, cell in cells.items():
            if cell.status == FAILED:
                print(f"  {name}: FAILED: {cell.why}", file=sys.stderr, flush=True)
        timers: dict[str, Timer] = {
            name: RemoteTimer(self.workers[name]) for name, cell in cells.items() if cell.status == OK
        }
        interleave(timers, self.settings, cells)
        for name in timers:
            try:
                self.workers[name].request(LOAD_SECONDS, cmd="unload")
            except WorkerError:
                pass  # a dead worker is started again for the next workload
        for path in outputs.values():
            path.unlink(missing_ok=True)
        share = others_share(before, _cpu_ticks(pids))
        if share is not None and share > NOISY:
            print(f"  other processes used {share:.0%} of the CPUs meanwhile", file=sys.stderr, flush=True)
        return Row(spec, cells, share)

    def run_all(self, specs: list[Spec]) -> list[Row]:
        """Every workload; then each one that a busy neighbour disturbed again, keeping the quieter run."""
        rows = [self.run(spec) for spec in specs]
        for _ in range(self.settings.retries):
            for i, row in enumerate(rows):
                if row.noisy:
                    print(f"again, as other processes were busy: {row.spec.name}", file=sys.stderr, flush=True)
                    again = self.run(row.spec)
                    again.attempts = row.attempts + 1
                    if again.others_cpu is not None and again.others_cpu < (row.others_cpu or 0.0):
                        rows[i] = again
                    else:
                        row.attempts = again.attempts
        return rows

    def _pids(self) -> list[int]:
        return [os.getpid(), *(w.proc.pid for w in self.workers.values() if w.alive)]

    def _check(self, spec: Spec, cells: dict[str, Cell], outputs: dict[str, Path]) -> None:
        """Mark FAILED every cell whose outputs (or training update) differ from the reference's."""
        reference = cells[REFERENCE]
        if reference.status != OK:
            for name, cell in cells.items():
                if name != REFERENCE and cell.status == OK:
                    cell.status, cell.why = FAILED, "unchecked: hand NumPy itself did not run"
            return
        with np.load(outputs[REFERENCE]) as data:
            want = {k: data[k] for k in data.files}
        for name, cell in cells.items():
            if name == REFERENCE or cell.status != OK:
                continue
            with np.load(outputs[name]) as data:
                got = {k: data[k] for k in data.files}
            problem = mismatch(got, want)
            if problem is None and spec.kind == "step" and spec.problem is not None:
                initial = dict(zip(param_names(spec.problem), spec.problem.arrays()[0]))
                problem = update_mismatch(got, want, initial)
            if problem is not None:
                cell.status, cell.why = FAILED, f"differs from hand NumPy: {problem}"

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self._tmp.cleanup()
