"""The ``matgrad`` command: train, evaluate, predict, demo.

``matgrad train`` with no arguments trains a sigmoid network — one sigmoid hidden layer of 30,
sigmoid outputs, C = ½‖a − y‖², plain SGD (η = 3, minibatches of 10), as in Nielsen's book —
on scikit-learn's embedded digits and writes a checkpoint, the history and the curves.
Bad arguments and unreadable files give one line on standard error and a non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import checkpoint as ckpt

EXIT_USAGE, EXIT_FAILURE = 2, 1


class UsageError(Exception):
    """A bad combination of arguments, reported as a usage error (exit status 2)."""


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,30,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need at least two positive sizes, got {text!r}")
    return sizes


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _parsed(text: str, kind: type) -> Any:
    """``kind(text)``, or argparse's own wording for a value that is not a number at all."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None


def _positive_int(text: str) -> int:
    value = _parsed(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _parsed(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    """A finite number ≥ 0 (a penalty, momentum or decay: nan, inf and negatives are refused, not dropped)."""
    value = _parsed(text, float)
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _parsed(text, float)
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


DEFAULT_MAX_MEMORY = 4 * 1024**3
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _byte_size(text: str) -> int:
    """``4G``, ``512M``, ``100000`` (bytes): the memory a command may plan to use."""
    number, unit = text.strip().upper().removesuffix("B"), ""
    if number[-1:] in _UNITS:
        number, unit = number[:-1], number[-1]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 4G, 512M or 100000, got {text!r}") from None
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive size, got {text!r}")
    return int(value)


def _add_max_memory(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-memory", type=_byte_size, default=DEFAULT_MAX_MEMORY, metavar="SIZE",
        help="refuse settings whose estimated memory, or a data file, exceeds SIZE (default 4G; e.g. 16G)",
    )


def _add_train(commands: Any) -> None:
    p = commands.add_parser("train", help="train a network (default: 64-30-10 sigmoid, ½‖a − y‖², SGD on digits)")
    p.add_argument("--data", default="digits", help="digits, moons, circles, spirals, xor, mnist, or csv:PATH")
    p.add_argument("--data-dir", type=Path, help="folder of MNIST-format IDX files (for --data mnist)")
    p.add_argument("--layers", type=_int_list, help="layer sizes, e.g. 64,30,10 (default: inputs,30,classes)")
    p.add_argument("--activation", default="sigmoid", help="hidden activation: sigmoid, tanh, relu, leaky_relu")
    p.add_argument("--output-activation", help="default: sigmoid with --loss mse, none (logits) otherwise")
    p.add_argument("--loss", default="mse", choices=["mse", "cross-entropy", "bce"])
    p.add_argument("--init", help="glorot, he, nielsen, ... (default by activation)")
    p.add_argument("--l2", type=_non_negative_float, default=0.0, help="λ of the L2 penalty λ/2 ‖W‖² on weights")
    p.add_argument("--l1", type=_non_negative_float, default=0.0, help="λ of the L1 penalty λ ‖W‖₁ on weights")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw"])
    p.add_argument("--lr", type=_positive_float, help="learning rate (default: 3.0 for sgd, 1e-3 for adam/adamw)")
    p.add_argument("--momentum", type=_non_negative_float, default=0.0)
    p.add_argument("--nesterov", action="store_true")
    p.add_argument("--weight-decay", type=_non_negative_float, default=0.0)
    p.add_argument("--schedule", default="none", choices=["none", "step", "cosine"])
    p.add_argument("--epochs", type=_non_negative_int, default=30)
    p.add_argument("--batch-size", type=_positive_int, default=10)
    p.add_argument(
        "--patience", type=_non_negative_int, default=0, help="stop early after this many epochs without improvement"
    )
    p.add_argument("--standardize", action="store_true", help="standardize features with the training statistics")
    p.add_argument("--dropout", type=_probability, default=0.0, help="drop hidden units with this probability")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument(
        "--out", type=Path, default=Path("runs/default"), help="folder for model.npz, history.json, curves.png"
    )
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace files in --out that matgrad did not write, or a trained model by an untrained one",
    )
    _add_max_memory(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_evaluate(commands: Any) -> None:
    p = commands.add_parser("evaluate", help="loss and accuracy of a checkpoint on its data")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", help="data set to evaluate on (default: the one it was trained on)")
    p.add_argument("--data-dir", type=Path)


def _add_predict(commands: Any) -> None:
    p = commands.add_parser("predict", help="class predictions of a checkpoint")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--input", type=Path, help="CSV file of feature rows (default: the test split of its data)")
    p.add_argument("--limit", type=_non_negative_int, default=20, help="print at most this many rows")


def _add_explain(commands: Any) -> None:
    p = commands.add_parser("explain", help="a gradient written out as matrix calculus, each line checked")
    p.add_argument(
        "formula", nargs="?",
        help='e.g. "0.5*sum((sigmoid(W@h+b)-y)**2)" (default: a 4-3-2 sigmoid network, C = ½‖a² − y‖²)',
    )
    p.add_argument("--shape", action="append", help="NAME=SHAPE for the formula, e.g. W=3x4 (repeat)")
    p.add_argument("--wrt", action="append", help="differentiate with respect to NAME (repeat; default: all)")
    _add_constraints(p)
    p.add_argument(
        "--layout", default="column", choices=["column", "row"],
        help="of the default network: column (z = Wx + b, one example per column) or row (Z = XW + b, one per row)",
    )
    p.add_argument(
        "--notation", default="jacobian", choices=["jacobian", "index", "differential"],
        help="jacobian: the chain rule as vector-Jacobian products; index: entry by entry, with sums and "
        "Kronecker deltas; differential: dL = G : dW (Frobenius product)",
    )
    p.add_argument(
        "--render-layout", choices=["column", "row"],
        help="re-render with every quantity transposed: column (z = Wx + b) or row (Z = XW + b)",
    )
    p.add_argument("--l2", type=float, default=0.0, help="add the L2 penalty λ/2 ‖W‖² on the weights with this λ")
    p.add_argument(
        "--jacobian-layout", default="numerator", choices=["numerator", "denominator"],
        help="for a formula giving a vector f: its Jacobian m×n, row i = ∂fᵢ/∂x (numerator), or n×m (denominator)",
    )
    p.add_argument("--checkpoint", type=Path, help="explain a trained network on a few of its examples")
    p.add_argument("--examples", type=_positive_int, default=4, help="examples from the checkpoint's data")
    p.add_argument("--format", default="text", choices=["text", "markdown", "latex"])
    p.add_argument("--cost", action="store_true", help="count the work of the VJP sweep against Jacobian products")
    p.add_argument("--jacobians", action="store_true", help="print each step's explicit Jacobian beside its VJP")
    p.add_argument(
        "--inline", action="store_true",
        help="write every δ out: closed forms such as ∂J/∂W = Hᵀ((Y − Y*) ⊙ f'(HW + B))",
    )
    p.add_argument("--seed", type=int, default=0)


def _add_constraints(p: argparse.ArgumentParser) -> None:
    """``--positive NAME`` …: how a formula's input is drawn (``inv(X)`` gets --invertible by default)."""
    meanings = (("binary", "entries 0 or 1"), ("symmetric", "A = Aᵀ"), ("positive", "entries > 0"),
                ("spd", "symmetric positive definite"), ("invertible", "well conditioned, det > 0"))
    group = p.add_argument_group(
        "constraints on the random draws",
        "--onehot and --simplex draw along the class axis: NAME:AXIS names it (--onehot y:0: one-hot columns). "
        "Without an axis, a vector, a column n×1 or a row 1×n is one-hot (or sums to 1) along its length; a "
        "matrix along the axis of the softmax, log_softmax, logsumexp or sum(…, axis=…) that the formula "
        "applies to what NAME multiplies (or of cross_entropy), else along the last axis: one-hot rows, the "
        "row layout with one example per row.",
    )
    group.add_argument("--onehot", action="append", metavar="NAME[:AXIS]",
                       help="draw NAME one-hot along the class axis (repeat)")
    group.add_argument("--simplex", action="append", metavar="NAME[:AXIS]",
                       help="draw NAME with entries > 0 that sum to 1 along the class axis (repeat)")
    for kind, meaning in meanings:
        group.add_argument(f"--{kind}", action="append", metavar="NAME", help=f"draw NAME with {meaning} (repeat)")


def _add_check(commands: Any) -> None:
    p = commands.add_parser("check", help="is a gradient derived by hand right? if not, how did it go wrong?",
                            description="exit status: 0 the claim is right, 1 it is wrong (the diagnosis says how), "
                                        "2 it could not be checked (bad input), in one line")
    p.add_argument("formula", help='the function f, e.g. "sum((y - X@w)**2)"; an f that gives more than one '
                                   "number (f: Rⁿ → Rᵐ) makes the claim its Jacobian")
    p.add_argument("--claim", required=True, help='the claimed gradient ∂f/∂WRT, e.g. "2*X.T@(X@w - y)" (or the '
                                                  "Jacobian, or with --hessian the Hessian)")
    p.add_argument("--shape", action="append", help="NAME=SHAPE for every input, e.g. X=6x3 (repeat)")
    p.add_argument("--wrt", required=True, help="the variable the claim is the gradient for")
    _add_constraints(p)
    p.add_argument("--draws", type=_positive_int, default=5, help="random draws (and as many fresh ones to confirm)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=1e-8, help="largest relative error that counts as equal")
    p.add_argument("--notation", default="jacobian", choices=["jacobian", "index", "differential"])
    p.add_argument("--jacobian-layout", default="numerator", choices=["numerator", "denominator"],
                   help="for an f with more than one entry: numerator, m×n (f's entries by WRT's, the default), or "
                        "denominator, n×m; a column or row counts as a vector")
    p.add_argument("--hessian", action="store_true", help="the claim is the Hessian ∂²f/∂WRT² of a scalar f (n×n)")


def _add_demo(commands: Any) -> None:
    p = commands.add_parser(
        "demo", help="a small sigmoid network's gradient (z = Wx + b) by matgrad and by the δ equations, gradchecked"
    )
    p.add_argument("--sizes", default="4,3,2", help="layer sizes n_in,n_hidden,n_out")
    p.add_argument("--seed", type=int, default=0)


def _add_plot(commands: Any) -> None:
    p = commands.add_parser("plot", help="pictures: cost surface, computation graph, training curves, decision regions")
    pictures = p.add_subparsers(dest="picture", required=True, metavar="PICTURE")
    about = {
        "surface": "the loss over two weights in 3-D and as contours, with −∇C from backward and the descent path",
        "graph": "the recorded computation, one box per primitive (DOT always; SVG/PNG/PDF with Graphviz's dot)",
        "curves": "loss and accuracy per epoch, training and test",
        "boundary": "the decision regions of a network trained on 2-D data",
    }
    for name, text in about.items():
        q = pictures.add_parser(name, help=text, description=text)
        q.add_argument(
            "--checkpoint", type=Path, help="a run of matgrad train (default: train here as matgrad train would)"
        )
        q.add_argument("--seed", type=_non_negative_int, default=0)
        q.add_argument("--out", type=Path, default=Path(f"{name}.svg" if name == "graph" else f"{name}.png"))
        _add_max_memory(q)
        if name != "graph":
            q.add_argument("--data", default="moons" if name == "boundary" else "digits", help="without --checkpoint")
            q.add_argument(
                "--epochs", type=_non_negative_int, help="without --checkpoint (default: 300 for boundary, else 30)"
            )
            q.add_argument("--dpi", type=_positive_int, default=100)
    surface, graph, boundary = (pictures.choices[name] for name in ("surface", "graph", "boundary"))
    surface.add_argument("--params", nargs=2, default=["W2[0,1]", "W2[1,2]"], metavar="W",
                         help="two weights: Wℓ[i,j] or bℓ[j] of the ℓ-th Linear layer, W stored (in, out)")
    surface.add_argument("--path", default="descent", choices=["descent", "training", "none"],
                         help="descent: the run's optimizer on this slice; training: the weights after each epoch")
    surface.add_argument("--steps", type=_non_negative_int, default=500, help="steps of --path descent")
    surface.add_argument("--span", type=_positive_float,
                         help="half width of the grid (default: twice the larger weight, ≥ 1)")
    surface.add_argument("--resolution", type=_positive_int, default=50, help="grid points along each weight")
    surface.add_argument("--arrows", type=_positive_int, default=15, help="arrows along each weight")
    graph.add_argument("--layers", type=_int_list, default=[4, 3, 2], help="layer sizes of a sigmoid network")
    graph.add_argument("--examples", type=_positive_int, default=1, help="examples in the batch")
    boundary.add_argument("--resolution", type=_positive_int, default=300, help="grid points along each axis")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a bad argument is one line (not the whole usage text) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="matgrad", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train, _add_evaluate, _add_predict, _add_explain, _add_check, _add_demo, _add_plot):
        add(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from . import runs
    from .claim.command import check_command
    from .data import DataError
    from .explain.command import explain_command
    from .formula import FormulaError
    from .plot.command import plot_command

    handlers = {
        "train": runs.train_command,
        "evaluate": runs.evaluate_command,
        "predict": runs.predict_command,
        "explain": explain_command,
        "check": check_command,
        "plot": plot_command,
    }
    try:
        if args.command == "demo":
            from .__main__ import demo_command

            return demo_command(args)
        return handlers[args.command](args)
    except (UsageError, FormulaError) as error:  # bad input, such as a formula that does not parse
        print(f"matgrad {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (ckpt.CheckpointError, DataError, FileNotFoundError) as error:  # a bad file given as input
        print(f"matgrad {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:  # the estimates before allocating missed something: still one line, with a hint
        print(f"matgrad {args.command}: error: out of memory; use smaller settings", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except (ValueError, ImportError, OSError) as error:  # e.g. a full disk while saving
        print(f"matgrad {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"matgrad {args.command}: interrupted; the last checkpoint is intact", file=sys.stderr)
        return 130


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def elapsed(since: float) -> str:
    return f"{time.perf_counter() - since:.1f} s"


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    return f"{name:<6} loss {metrics['loss']:.4f}  accuracy {100 * metrics['accuracy']:.2f}%"
