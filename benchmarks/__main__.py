"""``python -m benchmarks [--quick] [--out PATH]``: matgrad against hand-written NumPy backprop."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import environment, suite
from .check import GradientMismatchError, assert_same_gradients
from .harness import FULL, QUICK, time_workload
from .report import markdown

DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (~30 s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file to write")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    start = time.perf_counter()
    workloads = suite.workloads()
    try:
        for workload in workloads:
            assert_same_gradients(workload)
    except GradientMismatchError as error:
        print(f"benchmarks: gradients disagree, nothing timed.\n{error}", file=sys.stderr)
        return 1
    timings = []
    for workload in workloads:
        print(f"timing {workload.group}: {workload.name}", file=sys.stderr, flush=True)
        timings.append(time_workload(workload, settings))
    mode = "quick" if args.quick else "full"
    text = markdown(timings, environment.describe(), settings, mode, time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
