"""``matgrad check``: the claim checked on random draws; exit 0 when right, 1 when wrong, 2 on bad input."""

from __future__ import annotations

import argparse
import warnings

from ..explain.deep import TooDeepError
from ..formula import FormulaError, parse_shapes
from ..formula.shapes import AXIS_CONSTRAINTS
from .api import MAX_DRAWS, ClaimReport, run_check

#: The constraint options of the command, each naming an input (repeatable).
CONSTRAINT_OPTIONS = ("simplex", "binary", "onehot", "symmetric", "positive", "spd", "invertible")


def constraints_of(args: argparse.Namespace) -> dict[str, str]:
    """``--simplex p --positive x --onehot y:0`` → ``{"p": "simplex", "x": "positive", "y": "onehot:0"}``,
    refusing two for one name; only ``--onehot`` and ``--simplex`` take ``NAME:AXIS``."""
    constraints: dict[str, str] = {}
    given: dict[str, str] = {}
    for kind in CONSTRAINT_OPTIONS:
        for item in getattr(args, kind, None) or []:
            name, colon, axis = item.partition(":")
            name = name.strip()
            if colon and kind not in AXIS_CONSTRAINTS:
                raise FormulaError(f"--{kind} {item}: only --onehot and --simplex take NAME:AXIS; "
                                   f"write --{kind} {name}")
            if not name.isidentifier():
                raise FormulaError(f"--{kind} {item!r}: {name!r} is not a variable name (give NAME or, for --onehot "
                                   "and --simplex, NAME:AXIS such as y:0)")
            this = f"{kind}:{axis.strip()}" if colon else kind
            if constraints.get(name, this) != this:
                raise FormulaError(f"--{given[name]} and --{kind} {item}: one constraint per input")
            constraints[name], given[name] = this, f"{kind} {item}"
    return constraints


def check_command(args: argparse.Namespace) -> int:
    """0: the claim is right; 1: it is wrong (the diagnosis says how); 2: it could not be checked
    (bad input, or anything unexpected), in one line ``matgrad check: error: …`` and never a traceback."""
    from ..cli import UsageError

    try:
        with warnings.catch_warnings():  # e.g. Python's SyntaxWarning for '2inv(A)': the error says it in one line
            warnings.simplefilter("ignore")
            report = _report(args)
    except (UsageError, FormulaError):
        raise
    except MemoryError:
        raise UsageError("could not check: out of memory; use smaller shapes") from None
    except RecursionError:
        raise UsageError("could not check: the formula or the claim is nested too deeply") from None
    except Exception as error:  # whatever it is, the answer is "could not check", in one line
        raise UsageError(f"could not check: {_one_line(error)}") from None
    lines = [report.diagnosis]
    if not report.ok:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lines += _derivation(report, args.notation)
    print("\n".join(lines))
    return 0 if report.ok else 1


def _report(args: argparse.Namespace) -> ClaimReport:
    from ..cli import UsageError

    if not args.tolerance > 0:
        raise UsageError(f"--tolerance must be positive, got {args.tolerance}")
    if args.draws > MAX_DRAWS:
        raise UsageError(f"--draws must be at most {MAX_DRAWS:,}, got {args.draws:,}; a few draws tell a wrong claim")
    shapes = parse_shapes(args.shape or [])
    return run_check(
        args.formula, args.claim, args.wrt, shapes, draws=args.draws, seed=args.seed,
        constraints=constraints_of(args), tolerance=args.tolerance, hessian=args.hessian,
        jacobian_layout=args.jacobian_layout,
    )


def _derivation(report: ClaimReport, notation: str) -> list[str]:
    """matgrad's derivation after a wrong claim; if it cannot be written out, one line saying so
    (the verdict stands either way).  None for a Jacobian or a Hessian: explain derives gradients."""
    if report.problem is not None and report.problem.derivative != "gradient":
        return []
    try:
        derivation = report.derivation
        derivation.notation = notation
        return ["", str(derivation)]
    except TooDeepError as error:
        return [f"(matgrad's derivation is not shown: {error})"]
    except Exception as error:  # the verdict is known; only the extra text is lost
        return [f"(matgrad's derivation is not shown: {_one_line(error) or type(error).__name__})"]


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if not isinstance(error, ValueError) or not text else text
