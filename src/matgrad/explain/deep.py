"""Run explain's recursive work (derivation, symbolic rewriting, rendering) on a deep graph.

Formulas are trees, and the symbolic code walks them recursively: a chain of n primitives is a
tree n levels deep, a few Python frames per level.  Rather than rewrite every walk, the work runs
in a thread whose C stack is large enough for :data:`MAX_GRAPH_DEPTH` levels, under a recursion
limit raised to match; a deeper graph is refused with one line (:class:`TooDeepError`) before any work
is done.  The cap is set by time, not stack: the written-out gradient of a chain grows with the
square of its length and simplifying it faster still (100 levels: about 4 s; 200: about 40 s).
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

#: The longest chain of primitives (from an input to the loss) that explain writes out.
MAX_GRAPH_DEPTH = 100
_FRAMES_PER_LEVEL = 100  # the deepest symbolic walk measured uses about 12 frames per level: ample room
_STACK_BYTES = 256 * 1024**2  # reserved, not committed: pages are touched only as deep as the walk goes
_THREAD = "matgrad-explain-deep"
_lock = threading.Lock()  # sys.setrecursionlimit is process-wide: one deep call at a time

T = TypeVar("T")


class TooDeepError(ValueError):
    """A computation too deep to write out in bounded time."""


def check_depth(depth: int) -> None:
    """Refuse a graph deeper than :data:`MAX_GRAPH_DEPTH` levels, with what to do instead."""
    if depth > MAX_GRAPH_DEPTH:
        raise TooDeepError(
            f"explain: the computation is {depth:,} primitives deep, more than the cap of {MAX_GRAPH_DEPTH:,}; "
            "explain a shorter part of it (the written-out gradient grows faster than the square of the depth)"
        )


def run_deep(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` with room for :data:`MAX_GRAPH_DEPTH` levels of recursion; its exception is re-raised."""
    if threading.current_thread().name == _THREAD:  # already deep: nested renderings run in place
        return work(*args)
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()  # the caller's settings, such as np.errstate, hold in the thread too

    def target() -> None:
        try:
            outcome["value"] = context.run(work, *args)
        except BaseException as error:  # handed to the caller's thread, where it is raised as it was
            outcome["error"] = error

    with _lock:
        limit = sys.getrecursionlimit()
        previous_stack = threading.stack_size(_STACK_BYTES)
        try:
            sys.setrecursionlimit(max(limit, MAX_GRAPH_DEPTH * _FRAMES_PER_LEVEL))
            thread = threading.Thread(target=target, name=_THREAD)
            thread.start()
            thread.join()
        finally:
            threading.stack_size(previous_stack)
            sys.setrecursionlimit(limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
