"""``python -m benchmarks.memory``: peak memory of SGD training, matgrad eager against hand NumPy.

Each (framework, network) pair runs in a fresh process, twice: once under ``tracemalloc``
(every NumPy buffer and Python object the steps allocate, counted exactly) and once without it,
for the operating system's view, the peak resident set size (``ru_maxrss``), which includes the
interpreter, the imported modules and BLAS's buffers.  The steps are the harness's own ``step``
workloads (``benchmarks/peers/numpy_hand.py``, ``benchmarks/peers/matgrad_engine.py``): forward,
backward and an in-place SGD update, from the same arrays.

Reported per pair: the memory held after setup (weights and data), the peak *working* memory
of a step above it (what the training loop adds), the total peak, and whether memory is flat:
the peak over the last tenth of the run must not exceed the peak over the first tenth (after
one warm-up step) by more than 1% + 64 KiB, and the memory still held at the end must not
exceed what was held after the first tenth by more than 64 KiB.  Writes ``benchmarks/MEMORY.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from . import outputs
from .suite import BY_KEY, BY_NAME

HERE = Path(__file__).resolve().parent
ABOUT = (
    "each framework and network in a fresh process, twice: under `tracemalloc` (every NumPy buffer and "
    "Python object the steps allocate, counted exactly; imports are done before tracing starts) and without "
    "it, for the peak resident set size (`ru_maxrss`: interpreter, modules and BLAS buffers included). "
    "The steps are the benchmark harness's `step` workloads (forward, backward, SGD update in place, from "
    "the same arrays). *Held after setup*: weights, data and what one warm-up step leaves behind; *working "
    "memory*: the peak above that during the steps. *Flat*: the peak over the last tenth of the run is at "
    "most 1% + 64 KiB above the peak over the first tenth, and the memory held at the end at most 64 KiB "
    "above that held after the first tenth (for RSS: the resident set at the end against after a tenth)."
)
DEFAULT_OUT = "MEMORY.md"
FRAMEWORKS = ("numpy", "matgrad")
#: workload key → steps: 1,000 steps of the sigmoid network, fewer of the wide one (each is ~50× dearer)
RUNS = {"step/784-30-10/b128": 1000, "step/784-1024-1024-10/b256": 100}
SLACK_BYTES = 64 * 1024
SLACK_FRACTION = 0.01
KIB = 1024


# ----- the worker: one framework, one network, one way of measuring -------------------------
def _impl(framework: str, key: str) -> Any:
    peer = importlib.import_module(f"benchmarks.peers.{BY_NAME[framework].module}")
    return peer.build(BY_KEY[key])


def _run_traced(framework: str, key: str, steps: int) -> dict[str, Any]:
    """Bytes by tracemalloc: held after setup, peaks over the first and last tenth, held after each."""
    impl = _impl(framework, key)
    impl.step(impl.setup())  # lazy imports (numpy.random, …) happen here, untraced
    tracemalloc.start()
    state = impl.setup()
    impl.step(state)  # warm-up: gradient buffers and caches that a first step creates once
    setup_bytes = tracemalloc.get_traced_memory()[0]
    tenth = max(steps // 10, 1)
    tracemalloc.reset_peak()
    for _ in range(tenth):
        impl.step(state)
    early_held, early_peak = tracemalloc.get_traced_memory()
    for _ in range(steps - 2 * tenth):
        impl.step(state)
    tracemalloc.reset_peak()
    for _ in range(tenth):
        impl.step(state)
    late_held, late_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "setup": setup_bytes,
        "early_peak": early_peak,
        "late_peak": late_peak,
        "early_held": early_held,
        "late_held": late_held,
    }


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _run_rss(framework: str, key: str, steps: int) -> dict[str, Any]:
    """The process's resident set: after setup, after a tenth and at the end, and its peak."""
    impl = _impl(framework, key)
    state = impl.setup()
    impl.step(state)
    setup_rss = _rss_bytes()
    tenth = max(steps // 10, 1)
    start = time.perf_counter()
    for i in range(steps):
        impl.step(state)
        if i + 1 == tenth:
            early_rss = _rss_bytes()
    seconds = time.perf_counter() - start
    late_rss = _rss_bytes()
    # ru_maxrss (KiB on Linux) and /proc's resident pages are sampled differently: take the larger
    max_rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB, setup_rss, early_rss, late_rss)
    return {"setup": setup_rss, "early": early_rss, "late": late_rss, "max": max_rss, "seconds": seconds}


# ----- the parent ---------------------------------------------------------------------------
def _measure(framework: str, key: str, steps: int, mode: str) -> dict[str, Any]:
    """Run one worker in a fresh interpreter and read its JSON answer."""
    command = [sys.executable, "-m", "benchmarks.memory", "--worker", framework, key, str(steps), mode]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"memory worker {framework} {key} {mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _flat(early_peak: int, late_peak: int, early_held: int, late_held: int) -> bool:
    return late_peak <= early_peak * (1 + SLACK_FRACTION) + SLACK_BYTES and late_held <= early_held + SLACK_BYTES


def _mib(n: float) -> str:
    return f"{n / KIB / KIB:.2f} MiB"


def _row(key: str, steps: int) -> dict[str, Any]:
    results = {
        fw: {"traced": _measure(fw, key, steps, "traced"), "rss": _measure(fw, key, steps, "rss")} for fw in FRAMEWORKS
    }
    for result in results.values():
        traced, rss = result["traced"], result["rss"]
        traced["peak"] = max(traced["early_peak"], traced["late_peak"])
        traced["working"] = traced["peak"] - traced["setup"]
        traced["flat"] = _flat(traced["early_peak"], traced["late_peak"], traced["early_held"], traced["late_held"])
        rss["flat"] = rss["late"] <= rss["early"] * (1 + SLACK_FRACTION) + SLACK_BYTES
    return {"key": key, "steps": steps, "name": BY_KEY[key].name, "results": results}


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| network | steps | framework | held after setup | peak working memory of a step | total peak | "
        "flat (tracemalloc) | RSS after setup | max RSS | RSS growth, step 10% → 100% | flat (RSS) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        for fw in FRAMEWORKS:
            traced, rss = row["results"][fw]["traced"], row["results"][fw]["rss"]
            lines.append(
                f"| {row['name']} | {row['steps']} | {BY_NAME[fw].label} | {_mib(traced['setup'])} | "
                f"{_mib(traced['working'])} | {_mib(traced['peak'])} | {'yes' if traced['flat'] else 'NO'} | "
                f"{_mib(rss['setup'])} | {_mib(rss['max'])} | {(rss['late'] - rss['early']) / KIB:+.0f} KiB | "
                f"{'yes' if rss['flat'] else 'NO'} |"
            )
    return lines


def _ratios(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| network | total peak, matgrad / NumPy (tracemalloc) | working memory, matgrad / NumPy | "
        "max RSS, matgrad / NumPy |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        ours, theirs = row["results"]["matgrad"], row["results"]["numpy"]
        lines.append(
            f"| {row['name']} | {ours['traced']['peak'] / theirs['traced']['peak']:.2f}× | "
            f"{ours['traced']['working'] / theirs['traced']['working']:.2f}× | "
            f"{ours['rss']['max'] / theirs['rss']['max']:.2f}× |"
        )
    return lines


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    return "\n".join(
        [
            "# Memory: matgrad eager against hand-written NumPy backprop",
            "",
            f"`{command}`: {ABOUT}",
            "",
            "## Ratios",
            "",
            *_ratios(rows),
            "",
            "## Measurements",
            "",
            *_table(rows),
            "",
            "Max RSS includes the interpreter and the imported modules: matgrad's worker imports matgrad "
            "(and its primitive table), the NumPy worker NumPy only.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="Markdown file to write (default OUT_DIR/MEMORY.md)")
    outputs.add_arguments(parser)
    parser.add_argument("--steps", type=float, default=1.0, help="scale the number of steps (e.g. 0.1 for a quick run)")
    parser.add_argument("--worker", nargs=4, metavar=("FRAMEWORK", "KEY", "STEPS", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        framework, key, steps, mode = args.worker
        run = _run_traced if mode == "traced" else _run_rss
        print(json.dumps(run(framework, key, int(steps))))
        return 0
    rows = []
    for key, steps in RUNS.items():
        print(f"{BY_KEY[key].name}: {max(int(steps * args.steps), 10)} steps", file=sys.stderr, flush=True)
        rows.append(_row(key, max(int(steps * args.steps), 10)))
    text = markdown(rows, "python -m benchmarks.memory" + ("" if argv is None else " " + " ".join(argv)))
    out = outputs.path(args, DEFAULT_OUT, args.out)
    out.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
