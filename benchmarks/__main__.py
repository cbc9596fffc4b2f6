"""``python -m benchmarks [--quick]``: matgrad, PyTorch, torch.compile, JAX and HIPS autograd
against hand-written NumPy backprop, each framework in its own worker process."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import environment, outputs
from .harness import FULL, QUICK, Runner
from .plot import bar_chart
from .pool import worker_environment
from .report import RunInfo, markdown
from .suite import BY_NAME, FRAMEWORKS, QUICK_KEYS, REFERENCE, SECOND_ORDER_SPECS, SPECS

DEFAULT_OUT, DEFAULT_PNG = "RESULTS.md", "results.png"
SECOND_ORDER_OUT, SECOND_ORDER_PNG = "SECOND_ORDER.md", "second_order.png"


def _frameworks(names: str | None) -> list[str]:
    if names is None:
        return [f.name for f in FRAMEWORKS]
    chosen = {n.strip() for n in names.split(",") if n.strip()}
    unknown = chosen - set(BY_NAME)
    if unknown:
        raise SystemExit(f"unknown framework(s) {sorted(unknown)}; choose from {[f.name for f in FRAMEWORKS]}")
    return [f.name for f in FRAMEWORKS if f.name in chosen or f.name == REFERENCE]  # the reference always


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help=f"{len(QUICK_KEYS)} workloads, short rounds (minutes; all: several times that)")
    parser.add_argument(
        "--second-order",
        action="store_true",
        help=f"only the {len(SECOND_ORDER_SPECS)} second-order workloads (Hessians, HVPs, per-example gradients), "
        f"into {SECOND_ORDER_OUT} and {SECOND_ORDER_PNG} unless --out/--png say otherwise",
    )
    parser.add_argument("--out", type=Path, help=f"Markdown file to write (default OUT_DIR/{DEFAULT_OUT})")
    parser.add_argument("--png", type=Path, help=f"bar chart to write (default OUT_DIR/{DEFAULT_PNG})")
    outputs.add_arguments(parser)
    parser.add_argument("--frameworks", help="comma-separated subset, e.g. matgrad,jax (hand NumPy always runs)")
    parser.add_argument("--only", help="run only workloads whose key contains this text, e.g. step/, jacrev or linalg/")
    parser.add_argument(
        "--threads",
        type=int,
        default=environment.usable_cpus(),
        help="threads for every framework (default: the usable CPUs, %(default)s)",
    )
    parser.add_argument(
        "--unset-openblas-vars",
        action="store_true",
        help="run every worker with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (both)",
    )
    parser.add_argument(
        "--reuse-memory",
        action="store_true",
        help="raise glibc's mmap and trim thresholds in every worker, so that no framework pays page faults "
        "for outputs it allocates anew each call (the report says which)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    settings = QUICK if args.quick else FULL
    specs = [s for s in SPECS if not args.quick or s.key in QUICK_KEYS]
    if args.second_order:
        specs = list(SECOND_ORDER_SPECS)
    args.out = outputs.path(args, SECOND_ORDER_OUT if args.second_order else DEFAULT_OUT, args.out)
    args.png = outputs.path(args, SECOND_ORDER_PNG if args.second_order else DEFAULT_PNG, args.png)
    if args.only:
        specs = [s for s in specs if args.only in s.key]
    if not specs:
        raise SystemExit("no workload matches")
    names = _frameworks(args.frameworks)
    env = worker_environment(args.threads, args.unset_openblas_vars, reuse_memory=args.reuse_memory)
    runner = Runner([BY_NAME[n] for n in names], settings, args.threads, env)
    try:
        runner.start()
        for name, why in runner.missing.items():
            print(f"{BY_NAME[name].label}: missing ({why})", file=sys.stderr, flush=True)
        rows = runner.run_all(specs)
    finally:
        runner.close()
    seconds = time.perf_counter() - start
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    info = RunInfo(
        command=command,
        settings=settings,
        seconds=seconds,
        frameworks=names,
        environment=environment.describe(args.threads, args.unset_openblas_vars, env),
        framework_facts=runner.facts,
        missing=runner.missing,
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    text = markdown(rows, info)
    args.out.write_text(text + "\n", encoding="utf-8")
    problem = bar_chart(rows, names, args.png, f"{command} ({seconds:.0f} s)")
    print(text)
    print(f"wrote {args.out}" + (f" ({problem})" if problem else f" and {args.png}"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
