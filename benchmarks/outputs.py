"""Where a benchmark command writes: a folder of the user's (``benchmark-results/`` in the current
directory unless ``--out-dir`` names another), never the tracked results beside this file unless
``--update-results`` asks for exactly that.  One rule for every ``python -m benchmarks…`` command."""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = Path("benchmark-results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_DIR,
                        help="folder for the report and the chart (default: ./%(default)s)")
    parser.add_argument("--update-results", action="store_true",
                        help=f"write the tracked results in {HERE.name}/ instead (for a commit)")


def path(args: argparse.Namespace, name: str, given: Path | None = None) -> Path:
    """The file ``name`` goes to: ``given`` (an explicit --out/--png) first, then the tracked copy
    with --update-results, else the output folder (made if missing)."""
    if given is not None:
        target = given
    elif args.update_results:
        target = HERE / name
    else:
        target = args.out_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
