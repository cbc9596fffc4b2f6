"""A few worker processes that run the engine, each request under a time limit.

A thread cannot be stopped, so a question that runs too long would hold its thread (and the GIL
the server needs) for good; a process can be killed.  Each worker is a long-lived process
(``python -m matgrad.playground.worker``) that imports matgrad once and then answers one question
at a time over its pipes, JSON lines both ways.  A worker that overruns its time limit or dies is
killed and replaced; the others, and the server, go on.
At most ``size`` questions run at once and at most ``max_waiting`` wait for a worker: beyond
that a request is refused at once as busy.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import time
from typing import Any

#: How long a new worker may take to import matgrad and say it is ready.
START_TIMEOUT = 60.0
#: The largest answer read from a worker (a derivation of a few dozen lines is far below it).
MAX_ANSWER_BYTES = 8_000_000


class BusyError(Exception):
    """Too many questions are waiting; the page is told to try again."""


class TimeLimitError(Exception):
    """A question ran past its time limit; its worker was replaced."""


class WorkerDiedError(Exception):
    """A worker's process ended or wrote something unreadable; it was replaced."""


class Worker:
    """One ``python -m matgrad.playground.worker`` process and its pipes (JSON lines both ways)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "matgrad.playground.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        try:
            ready = self._read(time.monotonic() + START_TIMEOUT)
        except (TimeLimitError, WorkerDiedError):
            ready = None
        if ready != "ready":
            self.stop()
            raise RuntimeError("playground: a worker process did not start")

    def ask(self, task: str, request: Any, time_limit: float) -> dict[str, Any]:
        """The engine's answer; TimeLimitError past ``time_limit`` s, WorkerDiedError if the process ended."""
        deadline = time.monotonic() + time_limit
        try:
            self.process.stdin.write(json.dumps({"task": task, "request": request}).encode() + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            raise WorkerDiedError from None
        answer = self._read(deadline)
        if not isinstance(answer, dict):
            raise WorkerDiedError
        return answer

    def _read(self, deadline: float) -> Any:
        """One JSON line from the worker, waiting no later than ``deadline``."""
        fd = self.process.stdout.fileno()
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeLimitError
            chunk = os.read(fd, 1 << 16)
            if not chunk or len(data) > MAX_ANSWER_BYTES:
                raise WorkerDiedError
            data += chunk
        try:
            return json.loads(data)
        except ValueError:
            raise WorkerDiedError from None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)
        for pipe in (self.process.stdin, self.process.stdout):
            pipe.close()


class WorkerPool:
    """``await pool.run(task, request)``: the engine's answer dict, run in an idle worker."""

    def __init__(self, size: int = 2, time_limit: float = 10.0, max_waiting: int = 256) -> None:
        if size < 1:
            raise ValueError(f"playground: workers must be at least 1, got {size}")
        self.size, self.time_limit, self.max_waiting = size, time_limit, max_waiting
        self.waiting = 0
        self.running = 0  # questions in a worker now
        self.replaced = 0  # workers killed for overrunning or dying (the tests read it)
        self._idle: asyncio.Queue[Worker] | None = None
        self._all: list[Worker] = []

    async def start(self) -> None:
        self._idle = asyncio.Queue()
        workers = await asyncio.gather(*(asyncio.to_thread(Worker) for _ in range(self.size)))
        for worker in workers:
            self._all.append(worker)
            self._idle.put_nowait(worker)

    async def run(self, task: str, request: Any) -> dict[str, Any]:
        if self._idle is None:
            raise RuntimeError("playground: the worker pool is not started")
        if self.waiting >= self.max_waiting:
            raise BusyError
        self.waiting += 1
        try:
            worker = await self._idle.get()
        finally:
            self.waiting -= 1
        self.running += 1
        # The job holds the worker until it is done, even if this request is cancelled meanwhile
        # (the client went away): only then does the worker go back to the pool.
        job = asyncio.ensure_future(asyncio.to_thread(self._ask, worker, task, request))
        job.add_done_callback(self._release)
        answer = (await asyncio.shield(job))[1]
        if answer is None:
            raise TimeLimitError
        return answer

    def _ask(self, worker: Worker, task: str, request: Any) -> tuple[Worker, dict[str, Any] | None]:
        """(the worker to put back, the answer or None past the time limit); a worker that overran
        or died is replaced by a fresh one."""
        try:
            return worker, worker.ask(task, request, self.time_limit)
        except TimeLimitError:
            return self._replace(worker), None
        except WorkerDiedError:
            message = f"{task}: the worker answering it stopped (out of memory?); try smaller shapes"
            return self._replace(worker), {"error": message}
        except Exception as error:  # never lose a worker to a surprise: start afresh
            return self._replace(worker), {"error": f"{task}: could not ask a worker ({type(error).__name__})"}

    def _release(self, job: asyncio.Future) -> None:
        self.running -= 1
        self._idle.put_nowait(job.result()[0])

    def _replace(self, worker: Worker) -> Worker:
        worker.stop()
        self.replaced += 1
        try:
            fresh = Worker()
        except (RuntimeError, OSError):
            return worker  # stopped: its next question fails at once, and it is replaced again then
        self._all[self._all.index(worker)] = fresh
        return fresh

    async def close(self) -> None:
        for worker in self._all:
            await asyncio.to_thread(worker.stop)
        self._all.clear()
