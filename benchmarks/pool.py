"""The parent's side of the workers: start them, ask them, time through them, stop them."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from .suite import Framework

ROOT = Path(__file__).resolve().parent.parent  # the directory holding the benchmarks package
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
OPENBLAS_TUNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # read, never changed; optionally unset
XLA_THREAD_FLAG = "--xla_cpu_multi_thread_eigen=true"  # XLA sizes its pool by the CPUs it may use

READY_SECONDS = 180.0  # importing a framework
LOAD_SECONDS = 900.0  # a first call may compile (torch.compile, cold caches)
CALL_SECONDS = 300.0  # calibrate or sample


class WorkerError(RuntimeError):
    """The worker died, timed out or answered with an error."""


#: glibc's malloc gives a block of at least 128 KiB its own fresh pages, faulted in on every call: a
#: framework that allocates its outputs anew each call (torch, JAX) pays for them, NumPy's cached
#: large blocks do not.  With these thresholds raised every worker reuses its memory.
REUSED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(512 << 20)}


def worker_environment(
    threads: int, unset_openblas: bool, base: dict[str, str] | None = None, reuse_memory: bool = False
) -> dict[str, str]:
    """The environment of every worker: the same thread count for every library.

    XLA has no flag for its pool's size: it uses the CPUs the process may run on, so a worker
    asked for fewer threads than there are usable CPUs also narrows its CPU affinity to that
    many (``worker.main``), which holds every library to the count.

    ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` pass through unchanged, unless
    ``unset_openblas``, which removes both (never one alone, never a new value).  ``reuse_memory``
    sets :data:`REUSED_MEMORY` for every worker alike.
    """
    env = dict(os.environ if base is None else base)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    xla = env.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = f"{xla} {XLA_THREAD_FLAG}".strip()
    env["TORCHINDUCTOR_COMPILE_THREADS"] = "1"  # no background pool of compile processes
    if unset_openblas:
        for name in OPENBLAS_TUNING:
            env.pop(name, None)
    if reuse_memory:
        env.update(REUSED_MEMORY)
    import matgrad  # where the parent found it, so that the workers measure the same sources

    paths = [str(ROOT), str(Path(matgrad.__file__).resolve().parents[1])]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


class WorkerProcess:
    """One framework's worker; requests are JSON lines, answered in order."""

    def __init__(self, framework: Framework, threads: int, env: dict[str, str], log_path: Path) -> None:
        self.framework = framework
        self.log_path = log_path
        self._log: IO[str] = log_path.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", "--framework", framework.name, "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=ROOT,
            text=True,
            encoding="utf-8",
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.hello: dict[str, Any] | None = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 12) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise WorkerError(f"{self.framework.name} worker gave no answer in {timeout:.0f} s; killed") from None
        if line is None:
            self.proc.wait()
            tail = self.log_tail()
            raise WorkerError(
                f"{self.framework.name} worker exited (code {self.proc.returncode})"
                + (f"; its stderr ends: {tail}" if tail.strip() else "")
            )
        return json.loads(line)

    def wait_ready(self, timeout: float = READY_SECONDS) -> dict[str, Any]:
        self.hello = self.receive(timeout)
        return self.hello

    def request(self, timeout: float, **message: Any) -> dict[str, Any]:
        if not self.alive:
            raise WorkerError(f"{self.framework.name} worker is not running")
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError as error:
            raise WorkerError(f"{self.framework.name} worker: cannot write ({error})") from error
        reply = self.receive(timeout)
        if "error" in reply:
            raise WorkerError(f"{self.framework.name}: {reply['error']}")
        return reply

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.alive:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._log.close()


class RemoteTimer:
    """The harness's :class:`~benchmarks.timer.Timer`, run by a worker on its loaded workload."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.settles: list[float] = []  # the worker's untimed waits for its threads to sleep

    def calibrate(self, sample_seconds: float) -> int:
        reply = self.worker.request(CALL_SECONDS, cmd="calibrate", seconds=sample_seconds)
        self.settles.append(float(reply.get("settle", 0.0)))
        return int(reply["inner"])

    def sample(self) -> float:
        reply = self.worker.request(CALL_SECONDS, cmd="sample")
        self.settles.append(float(reply.get("settle", 0.0)))
        return float(reply["seconds"])
