"""``python -m benchmarks.worker --framework NAME --threads N``: one framework, one process.

The parent (``benchmarks.pool``) starts one worker per framework and keeps it for the whole
run.  The worker imports only its framework's peer module, then speaks JSON, one object a
line: it announces itself (``{"event": "ready", "facts": …}`` or ``{"event": "missing",
"why": …}``), then answers each request read from stdin:

- ``{"cmd": "load", "key": K, "out": PATH, "warm_calls": W}``: build the workload (``n/a`` if
  the framework cannot express it), run its first ``prepare`` + ``step`` from a fresh setup
  (timed: ``first_call``, which includes any JIT compile), save ``outputs`` to ``PATH`` (.npz)
  for the parent's correctness check, run ``W`` more untimed calls, keep the state;
- ``{"cmd": "calibrate", "seconds": S}``: choose calls per sample, answer ``{"inner": n}``;
- ``{"cmd": "sample"}``: one timed sample, ``{"seconds": seconds_per_call}``;
- ``{"cmd": "unload"}`` and ``{"cmd": "quit"}``.

Before it answers a load, calibrate or sample, the worker waits until its other threads sleep
(``quiesce``): OpenBLAS's threads spin for about 0.1 s after a BLAS call, and on a 2-core
machine a spinning idle worker would slow the next worker's sample down by half.  The wait is
reported (``settle``) and never timed.  Anything the framework prints goes to stderr: the
protocol owns the original stdout.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from time import perf_counter
from typing import Any, TextIO

import numpy as np

from .suite import BY_KEY, BY_NAME
from .timer import LocalTimer
from .workload import Impl, NotApplicableError


def _why(error: BaseException) -> str:
    """The exception in one line, and where in the benchmark code it was raised."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "benchmarks" in f.filename]
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    text = " ".join(traceback.format_exception_only(type(error), error)[-1].split())
    return (text[:600] + " …" if len(text) > 600 else text) + where


QUIESCE_LIMIT = 1.0  # seconds; a thread still running then is left to run


def _other_threads_running() -> bool | None:
    """Whether a thread of this process other than the caller is runnable (None: cannot tell)."""
    me = str(threading.get_native_id())
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tids:
        if tid == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
        if state == "R":
            return True
    return False


def quiesce(limit: float = QUIESCE_LIMIT) -> float:
    """Wait until every other thread of this process sleeps; return the seconds waited."""
    start = perf_counter()
    while perf_counter() - start < limit:
        running = _other_threads_running()
        if running is None:  # no /proc: wait out OpenBLAS's default spin
            time.sleep(0.15)
            break
        if not running:
            break
        time.sleep(0.002)
    return perf_counter() - start


class Worker:
    def __init__(self, peer: Any) -> None:
        self.peer = peer
        self.timer: LocalTimer | None = None

    def load(self, key: str, out: str, warm_calls: int = 0) -> dict[str, Any]:
        self.timer = None
        gc.collect()
        try:
            impl: Impl = self.peer.build(BY_KEY[key])
        except NotApplicableError as error:
            return {"status": "n/a", "why": str(error)}
        try:
            state = impl.setup()
            start = perf_counter()
            if impl.prepare is not None:
                impl.prepare(state)
            ret = impl.step(state)
            first_call = perf_counter() - start
            outputs = {k: np.asarray(v) for k, v in impl.outputs(state, ret).items()}
            np.savez(out, **outputs)
            del ret
            for _ in range(warm_calls):
                if impl.prepare is not None:
                    impl.prepare(state)
                impl.step(state)
        except Exception as error:
            traceback.print_exc()
            return {"status": "failed", "why": _why(error)}
        self.timer = LocalTimer(impl, state)
        gc.collect()
        return {"status": "ok", "first_call": first_call, "note": impl.note, "settle": quiesce()}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request["cmd"]
        if cmd == "load":
            return self.load(request["key"], request["out"], request.get("warm_calls", 0))
        if cmd == "unload":
            self.timer = None
            gc.collect()
            return {"ok": True}
        if self.timer is None:
            return {"error": f"{cmd}: no workload loaded"}
        if cmd == "calibrate":
            return {"inner": self.timer.calibrate(float(request["seconds"])), "settle": quiesce()}
        if cmd == "sample":
            return {"seconds": self.timer.sample(), "settle": quiesce()}
        return {"error": f"unknown command {cmd!r}"}


def _send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True, choices=sorted(BY_NAME))
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints of a framework go to stderr
    framework = BY_NAME[args.framework]
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None and args.threads < len(affinity(0)):
        os.sched_setaffinity(0, sorted(affinity(0))[: args.threads])  # before any pool starts
    try:
        peer = importlib.import_module(f"benchmarks.peers.{framework.module}")
    except Exception as error:  # not installed (ImportError), or installed but broken
        traceback.print_exc()
        _send(channel, {"event": "missing", "why": _why(error)})
        return 0
    configure = getattr(peer, "configure", None)
    if configure is not None:
        configure(args.threads)
    _send(channel, {"event": "ready", "facts": peer.describe(), "pid": os.getpid(), "settle": quiesce()})
    worker = Worker(peer)
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        try:
            reply = worker.handle(request)
        except Exception as error:
            traceback.print_exc()
            reply = {"error": _why(error)}
        _send(channel, reply)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
