"""``matgrad check``: the claim checked on random draws; exit 0 when right, 1 when wrong, 2 on bad input."""

from __future__ import annotations

import argparse

from ..formula import FormulaError, parse_shapes
from .api import run_check

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
    shapes = parse_shapes(args.shape or [])
    report = run_check(
        args.formula, args.claim, args.wrt, shapes, draws=args.draws, seed=args.seed,
        constraints=constraints_of(args), tolerance=args.tolerance,
    )
    derivation = None if report.ok else report.derivation
    print(report.diagnosis)
    if derivation is not None:
        derivation.notation = args.notation
        print()
        print(derivation)
    return 0 if report.ok else 1
