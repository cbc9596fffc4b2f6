"""``matgrad check``: the claim checked on random draws; exit 0 when right, 1 when wrong, 2 on bad input."""

from __future__ import annotations

import argparse

from ..explain.deep import TooDeepError
from ..formula import FormulaError, parse_shapes
from .api import MAX_DRAWS, run_check

#: The constraint options of the command, each naming an input (repeatable).
CONSTRAINT_OPTIONS = ("simplex", "binary", "onehot", "symmetric", "positive", "spd", "invertible")


def constraints_of(args: argparse.Namespace) -> dict[str, str]:
    """``--simplex p --positive x`` → ``{"p": "simplex", "x": "positive"}``, refusing two for one name."""
    constraints: dict[str, str] = {}
    for kind in CONSTRAINT_OPTIONS:
        for name in getattr(args, kind) or []:
            if constraints.get(name, kind) != kind:
                raise FormulaError(f"--{constraints[name]} {name} and --{kind} {name}: one constraint per input")
            constraints[name] = kind
    return constraints


def check_command(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    if not args.tolerance > 0:
        raise UsageError(f"--tolerance must be positive, got {args.tolerance}")
    if args.draws > MAX_DRAWS:
        raise UsageError(f"--draws must be at most {MAX_DRAWS:,}, got {args.draws:,}; a few draws tell a wrong claim")
    shapes = parse_shapes(args.shape or [])
    report = run_check(
        args.formula, args.claim, args.wrt, shapes, draws=args.draws, seed=args.seed,
        constraints=constraints_of(args), tolerance=args.tolerance,
    )
    derivation, untold = None, ""
    try:
        derivation = None if report.ok else report.derivation
    except TooDeepError as error:  # the verdict stands; only the written-out derivation is refused
        untold = f"(matgrad's derivation is not shown: {error})"
    print(report.diagnosis)
    if untold:
        print(untold)
    if derivation is not None:
        derivation.notation = args.notation
        print()
        print(derivation)
    return 0 if report.ok else 1
