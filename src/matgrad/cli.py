"""The matgrad command line: train, evaluate, predict, explain, check, demo, plot.

``matgrad train`` with no arguments trains a sigmoid network — one sigmoid hidden layer of 30,
sigmoid outputs, C = ½‖a − y‖², plain SGD (η = 3, minibatches of 10), as in Nielsen's book —
on scikit-learn's embedded digits and writes a checkpoint, the history and the curves.

Exit status, one policy for every command:

* 0: done, and the answer is yes (a run trained, a claim is right, every line of a derivation checks).
* 1: the answer is no, or the run failed: ``check`` finds the claim wrong, ``explain`` or ``demo``
  has a line that disagrees (✗), training diverged (the loss became nan or inf), memory ran out, a
  disk error while writing.
* 2: a usage or input error, before any work: an unknown command or flag (with "did you mean"), a
  value out of range, a combination that makes no sense, an unreadable or corrupt file, an ``--out``
  holding an earlier run; one line on standard error, never a traceback.
* 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import checkpoint as ckpt

EXIT_OK, EXIT_NO, EXIT_USAGE = 0, 1, 2  # see the module docstring: the one exit-status policy
EXIT_FAILURE = EXIT_NO  # "the run failed" is the same status as "the answer is no"
EXIT_INTERRUPTED = 130


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


# ----- names checked at parse time, with "did you mean" --------------------------------------------

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
OUTPUT_ACTIVATIONS = ("none", "sigmoid", "softmax", "log_softmax", "tanh", "relu", "leaky_relu", "identity")
INITS = ("glorot", "glorot_uniform", "glorot_normal", "he", "he_normal", "he_uniform", "nielsen", "zeros")
DATA_NAMES = ("digits", "moons", "circles", "spirals", "xor", "mnist")
# Names refused with a reason rather than a list: what they would do, and what to write instead.
REFUSED_HIDDEN = {
    "softmax": "softmax is not for hidden layers: it makes a layer's units one distribution summing to 1, so "
               "they cannot carry independent features (the network trains to near chance); use it at the "
               "output: --loss cross-entropy applies it to the logits (or --output-activation softmax with "
               "--loss mse); hidden activations: " + ", ".join(HIDDEN_ACTIVATIONS),
    "log_softmax": "log_softmax is not for hidden layers; --loss cross-entropy applies it to the logits; "
                   "hidden activations: " + ", ".join(HIDDEN_ACTIVATIONS),
}


def _close(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``word`` was probably meant to be (``cross_entropy`` → ``cross-entropy``), or None."""
    normal = word.strip().lower().replace("_", "-")
    for candidate in candidates:
        if candidate.lower().replace("_", "-") == normal:
            return candidate
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def choice_type(names: Sequence[str], refused: dict[str, str] | None = None) -> Any:
    """An argparse type accepting one of ``names``; a refused name gets its reason, a typo a suggestion."""

    def check(text: str) -> str:
        if text in names:
            return text
        if refused and text in refused:
            raise argparse.ArgumentTypeError(refused[text])
        guess = _close(text, names)
        hint = f"; did you mean {guess}?" if guess else ""
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(names)}){hint}")

    return check


def _data_name(text: str) -> str:
    """``digits``, ``moons``, …, ``mnist`` or ``csv:PATH``."""
    if text in DATA_NAMES or (text.startswith("csv:") and len(text) > len("csv:")):
        return text
    if text.endswith(".csv"):
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r}; did you mean csv:{text}?")
    guess = _close(text, DATA_NAMES)
    hint = f"; did you mean {guess}?" if guess else ""
    raise argparse.ArgumentTypeError(
        f"invalid choice: {text!r} (choose from {', '.join(DATA_NAMES)}, csv:PATH){hint}"
    )


def _three_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) != 3 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"needs three positive sizes like 4,3,2, got {text!r}")
    return sizes


# Flags people type from other tools, and the flag matgrad has for it (suggested only where it exists).
SYNONYMS = {
    "--learning-rate": "--lr", "--eta": "--lr", "--rate": "--lr", "--step-size": "--lr",
    "--epoch": "--epochs", "--num-epochs": "--epochs", "--n-epochs": "--epochs", "--iterations": "--epochs",
    "--batch": "--batch-size", "--bs": "--batch-size", "--minibatch": "--batch-size",
    "--mini-batch-size": "--batch-size",
    "--output": "--out", "--output-dir": "--out", "--outdir": "--out", "--out-dir": "--out", "--dir": "--out",
    "--dataset": "--data", "--optim": "--optimizer", "--opt": "--optimizer", "--wd": "--weight-decay",
    "--hidden": "--layers", "--sizes": "--layers", "--architecture": "--layers", "--act": "--activation",
    "--ckpt": "--checkpoint", "--model": "--checkpoint", "--lambda": "--l2", "--early-stopping": "--patience",
    "--normalize": "--standardize", "--scale": "--standardize", "--random-seed": "--seed", "--continue": "--resume",
    "--force": "--overwrite", "--input-file": "--input", "--csv": "--input",
    "--with-respect-to": "--wrt", "--gradient": "--claim", "--tol": "--tolerance",
}


def _suggest_flag(token: str, options: Sequence[str]) -> str | None:
    """The option of this command ``token`` (e.g. ``--learning-rate=0.1``) probably meant, or None."""
    flag = token.split("=", 1)[0]
    if not flag.startswith("-") or len(flag) < 2 or flag[1:2].isdigit():
        return None
    normal = "--" + flag.lstrip("-").lower().replace("_", "-")
    if normal in options:
        return normal
    if normal in SYNONYMS and SYNONYMS[normal] in options:
        return SYNONYMS[normal]
    candidates = [o for o in options if o.startswith("--") and o not in ("--help", "--version")]
    matches = difflib.get_close_matches(normal, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, with ``(default: X)`` after every option whose help does not already give it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown_elsewhere = "default" in text or "%(default)" in text
        no_default = default is None or default is False or default is argparse.SUPPRESS or default == []
        if shown_elsewhere or no_default or not action.option_strings:
            return text
        if isinstance(default, (list, tuple)):
            default = ",".join(map(str, default)) if action.nargs is None else " ".join(map(str, default))
        shown = str(default).replace("%", "%%")
        return f"{text} (default: {shown})" if text else f"(default: {shown})"


class _CommandListFormatter(_HelpFormatter):
    """The top-level help: argparse measures a command's name two columns short of where it prints
    it, so the longest name (playground) would push its line of help onto the next line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):  # the names print indented 2 more
            longest = max(map(len, action.choices), default=0)
            self._action_max_length = max(self._action_max_length, longest + self._current_indent + 4)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a bad argument is one line (not the whole usage text) and exit 2, with
    "did you mean" for a mistyped flag, command or choice, and defaults in the help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {self._with_hint(message)} (see {self.prog} --help)\n")

    def _with_hint(self, message: str) -> str:
        if "did you mean" in message:
            return message
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            options = [o for action in self._actions for o in action.option_strings]
            hints = [f"{token} → {guess}" for token in unknown.group(1).split()
                     for guess in [_suggest_flag(token, options)] if guess]
            if len(hints) == 1:
                return f"{message}; did you mean {hints[0].split(' → ')[1]}?"
            return f"{message}; did you mean {', '.join(hints)}?" if hints else message
        bad = re.search(r"invalid choice: '(.*?)' \(choose from (.*)\)$", message)
        if bad:
            guess = _close(bad.group(1), re.findall(r"'(.*?)'", bad.group(2)))
            return f"{message}; did you mean {guess}?" if guess else message
        return message

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """As argparse's, but an unknown flag is reported by the (sub)command it was given to, which
        knows the flags to suggest, and combinations are checked before any work."""
        parsed, extras = self.parse_known_args(args, namespace)
        innermost = _innermost(self, parsed)
        if extras:
            innermost.error(f"unrecognized arguments: {' '.join(extras)}")
        problem = _bad_combination(parsed)
        if problem:
            innermost.error(problem)
        return parsed


def _innermost(top: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command (``train``) or subcommand (``plot surface``) that ``args`` came from."""
    current = top
    while True:
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        name = getattr(args, sub.dest, None) if sub is not None else None
        if sub is None or name not in sub.choices:
            return current
        current = sub.choices[name]


def _bad_combination(args: argparse.Namespace) -> str | None:
    """Arguments each valid that make no sense together (checked at parse time: exit 2, no work done)."""
    from .data.mnist import FILES

    command = getattr(args, "command", None)
    if command in ("train", "evaluate") and getattr(args, "data", None) == "mnist" and args.data_dir is None:
        if not (command == "train" and args.resume):
            return (f"--data mnist needs --data-dir FOLDER, the folder holding {', '.join(FILES.values())} "
                    "(each may end in .gz); MNIST is not downloaded")
    if command == "train" and args.loss != "mse" and args.output_activation in ("softmax", "sigmoid"):
        itself = "softmax" if args.loss == "cross-entropy" else "sigmoid"
        return (f"--loss {args.loss} takes logits and applies the {itself} itself: --output-activation "
                f"{args.output_activation} would squash them first (and train poorly); drop --output-activation, "
                "or use --loss mse")
    return None


def add_command(commands: Any, name: str, about: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command with its one-line ``about`` in the top-level help and as its own description."""
    kwargs.setdefault("description", about)
    return commands.add_parser(name, help=about, **kwargs)


def _add_train(commands: Any) -> None:
    p = add_command(commands, "train", "train a network (default: 64-30-10 sigmoid, SGD, digits)",
                     description="train a network; with no arguments a 64-30-10 sigmoid network, ½‖a − y‖², "
                                 "SGD (η = 3, minibatches of 10) on scikit-learn's digits, as in Nielsen's book")
    p.add_argument("--data", type=_data_name, default="digits", metavar="NAME",
                   help=f"{', '.join(DATA_NAMES)}, or csv:PATH")
    p.add_argument("--data-dir", type=Path, metavar="FOLDER",
                   help="folder of MNIST-format IDX files (needed by --data mnist)")
    p.add_argument("--layers", type=_int_list, help="layer sizes, e.g. 64,30,10 (default: inputs,30,classes)")
    p.add_argument("--activation", type=choice_type(HIDDEN_ACTIVATIONS, REFUSED_HIDDEN), default="sigmoid",
                   metavar="NAME", help=f"hidden activation: {', '.join(HIDDEN_ACTIVATIONS)}")
    p.add_argument("--output-activation", type=choice_type(OUTPUT_ACTIVATIONS), metavar="NAME",
                   help=f"{', '.join(OUTPUT_ACTIVATIONS)} (default: sigmoid with --loss mse, none (logits) "
                        "otherwise)")
    p.add_argument("--loss", default="mse", choices=["mse", "cross-entropy", "bce"],
                   help="mse: ½‖a − y‖²; cross-entropy: softmax of the logits; bce: one sigmoid output")
    p.add_argument("--init", type=choice_type(INITS), metavar="NAME",
                   help=f"{', '.join(INITS)} (default: he for relu and leaky_relu, else glorot)")
    p.add_argument("--l2", type=_non_negative_float, default=0.0, help="λ of the L2 penalty λ/2 ‖W‖² on weights")
    p.add_argument("--l1", type=_non_negative_float, default=0.0, help="λ of the L1 penalty λ ‖W‖₁ on weights")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw", "lbfgs", "newton"],
                   help="the update rule; lbfgs (strong Wolfe line search) and newton (exact Hessian, small "
                        "networks) take one step per minibatch and are made for full batches (a --batch-size of at "
                        "least the training set's size)")
    p.add_argument("--lr", type=_positive_float,
                   help="learning rate (default: 3.0 for sgd, 1e-3 for adam/adamw, 1.0 for lbfgs/newton)")
    p.add_argument("--momentum", type=_non_negative_float, default=0.0, help="momentum of sgd")
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (sgd)")
    p.add_argument("--weight-decay", type=_non_negative_float, default=0.0,
                   help="weight decay of the optimizer (decoupled for adamw)")
    p.add_argument("--schedule", default="none", choices=["none", "step", "cosine"],
                   help="learning-rate schedule: step (×0.1 every third of the epochs) or cosine")
    p.add_argument("--epochs", type=_non_negative_int, default=30, help="passes over the training data")
    p.add_argument("--batch-size", type=_positive_int, default=10, help="examples per minibatch")
    p.add_argument(
        "--patience", type=_non_negative_int, default=0,
        help="stop early after this many epochs without improvement (0: never)",
    )
    p.add_argument("--standardize", action="store_true", help="standardize features with the training statistics")
    p.add_argument("--dropout", type=_probability, default=0.0, help="drop hidden units with this probability")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="of the data split, the weights and the batches")
    p.add_argument(
        "--out", type=Path, default=Path("runs/default"), metavar="FOLDER",
        help="folder for model.npz, history.json, curves.png; refused if it holds an earlier run",
    )
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace an earlier run in --out, files matgrad did not write, or a trained model by an untrained one",
    )
    _add_max_memory(p)
    p.add_argument("--quiet", action="store_true", help="no line per epoch (the summary at the end stays)")


def _add_evaluate(commands: Any) -> None:
    p = add_command(commands, "evaluate", "loss and accuracy of a checkpoint on its data")
    p.add_argument("checkpoint", type=Path, help="a model.npz written by matgrad train (or mg.save with its loss)")
    p.add_argument("--data", type=_data_name, metavar="NAME",
                   help="data set to evaluate on (default: the one it was trained on)")
    p.add_argument("--data-dir", type=Path, metavar="FOLDER", help="folder of MNIST-format IDX files (--data mnist)")


def _add_predict(commands: Any) -> None:
    p = add_command(commands, "predict", "class predictions and probabilities of a checkpoint")
    p.add_argument("checkpoint", type=Path, help="a model.npz written by matgrad train")
    p.add_argument("--input", type=Path,
                   help="CSV file of feature rows, no header, no label (default: the test split of its data, "
                        "with the true labels)")
    p.add_argument("--limit", type=_non_negative_int,
                   help="print at most this many rows (default: 20 for text, all for csv and json)")
    p.add_argument("--format", default="text", choices=["text", "csv", "json"],
                   help="text for people; csv (a header row) or json for scripts")


def _add_explain(commands: Any) -> None:
    p = add_command(commands, "explain", "a gradient written out as matrix calculus, each line checked")
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
    p.add_argument("--l2", type=_non_negative_float, default=0.0,
                   help="add the L2 penalty λ/2 ‖W‖² on the weights with this λ")
    p.add_argument(
        "--jacobian-layout", default="numerator", choices=["numerator", "denominator"],
        help="for a formula giving a vector f: its Jacobian m×n, row i = ∂fᵢ/∂x (numerator), or n×m (denominator)",
    )
    p.add_argument("--checkpoint", type=Path, help="explain a trained network on a few of its examples")
    p.add_argument("--examples", type=_positive_int, default=4, help="examples from the checkpoint's data")
    p.add_argument("--format", default="text", choices=["text", "markdown", "latex"], help="how to write it")
    p.add_argument("--cost", action="store_true", help="count the work of the VJP sweep against Jacobian products")
    p.add_argument("--jacobians", action="store_true", help="print each step's explicit Jacobian beside its VJP")
    p.add_argument(
        "--hessian", action="store_true",
        help="print the Hessian of a scalar formula as one matrix expression (A + Aᵀ, Xᵀ diag(…) X), checked",
    )
    p.add_argument(
        "--inline", action="store_true",
        help="write every δ out: closed forms such as ∂J/∂W = Hᵀ((Y − Y*) ⊙ f'(HW + B))",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0, help="of the random inputs")


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
    p = add_command(commands, "check", "is a hand-derived gradient right? if not, what went wrong",
                     description="is a gradient derived by hand right? if not, how did it go wrong? exit status: "
                                 "0 the claim is right, 1 it is wrong (the diagnosis says how), 2 it could not be "
                                 "checked (bad input), in one line")
    p.add_argument("formula", help='the function f, e.g. "sum((y - X@w)**2)"; an f that gives more than one '
                                   "number (f: Rⁿ → Rᵐ) makes the claim its Jacobian")
    p.add_argument("--claim", required=True, help='the claimed gradient ∂f/∂WRT, e.g. "2*X.T@(X@w - y)" (or the '
                                                  "Jacobian, or with --hessian the Hessian)")
    p.add_argument("--shape", action="append", help="NAME=SHAPE for every input, e.g. X=6x3 (repeat)")
    p.add_argument("--wrt", required=True, help="the variable the claim is the gradient for")
    _add_constraints(p)
    p.add_argument("--draws", type=_positive_int, default=5, help="random draws (and as many fresh ones to confirm)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="of the random draws")
    p.add_argument("--tolerance", type=float, default=1e-8, help="largest relative error that counts as equal")
    p.add_argument("--notation", default="jacobian", choices=["jacobian", "index", "differential"],
                   help="how matgrad's own derivation is written after a wrong claim")
    p.add_argument("--jacobian-layout", default="numerator", choices=["numerator", "denominator"],
                   help="for an f with more than one entry: numerator, m×n (f's entries by WRT's, the default), or "
                        "denominator, n×m; a column or row counts as a vector")
    p.add_argument("--hessian", action="store_true", help="the claim is the Hessian ∂²f/∂WRT² of a scalar f (n×n)")


def _add_demo(commands: Any) -> None:
    p = add_command(commands, "demo", "a network's gradient by matgrad and by the δ equations",
                     description="a small sigmoid network's gradient (z = Wx + b) by matgrad and by the δ "
                                 "equations, gradchecked; exit status 1 if they disagree")
    p.add_argument("--sizes", type=_three_sizes, default="4,3,2", help="layer sizes n_in,n_hidden,n_out")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="of the weights and the example")


def _add_plot(commands: Any) -> None:
    p = add_command(commands, "plot", "pictures: cost surface, graph, training curves, boundary",
                     description="pictures: cost surface, computation graph, training curves, decision regions")
    pictures = p.add_subparsers(dest="picture", required=True, metavar="PICTURE")
    about = {
        "surface": "the loss over two weights in 3-D and as contours, with −∇C from backward and the descent path",
        "graph": "the recorded computation, one box per primitive (SVG/PNG/PDF by matplotlib or Graphviz; DOT always)",
        "curves": "loss and accuracy per epoch, training and test",
        "boundary": "the decision regions of a network trained on 2-D data",
    }
    for name, text in about.items():
        q = pictures.add_parser(name, help=text, description=text)
        q.add_argument(
            "--checkpoint", type=Path, help="a run of matgrad train (default: train here as matgrad train would)"
        )
        q.add_argument("--seed", type=_non_negative_int, default=0, help="of the data and the weights")
        q.add_argument("--out", type=Path, default=Path(f"{name}.svg" if name == "graph" else f"{name}.png"),
                       help="the picture file")
        _add_max_memory(q)
        if name != "graph":
            q.add_argument("--data", default="moons" if name == "boundary" else "digits", help="without --checkpoint")
            q.add_argument(
                "--epochs", type=_non_negative_int, help="without --checkpoint (default: 300 for boundary, else 30)"
            )
            q.add_argument("--dpi", type=_positive_int, default=100, help="dots per inch of a raster picture")
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
    graph.add_argument("--engine", default="matplotlib", choices=["matplotlib", "dot"],
                       help="draw with matplotlib (default, no system program) or Graphviz's dot program")
    boundary.add_argument("--resolution", type=_positive_int, default=300, help="grid points along each axis")


def parser() -> argparse.ArgumentParser:
    from . import __version__

    top = _Parser(
        prog="matgrad", formatter_class=_CommandListFormatter,
        description="Train and inspect small neural networks; write out and check gradients.",
        epilog="Exit status, for every command: 0 done (the answer is yes); 1 the answer is no or the run failed "
               "(a wrong claim, a ✗ line, a diverged run); 2 a usage or input error (one line on stderr); "
               "130 interrupted. matgrad COMMAND --help lists a command's options with their defaults.",
    )
    top.add_argument("--version", action="version", version=f"matgrad {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    from .export.command import add_export
    from .playground.command import add_playground

    for add in (_add_train, _add_evaluate, _add_predict, _add_explain, _add_check, _add_demo, _add_plot, add_export,
                add_playground):
        add(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from . import runs
    from .claim.command import check_command
    from .data import DataError
    from .explain.command import explain_command
    from .export.command import export_command
    from .formula import FormulaError
    from .playground.command import playground_command
    from .plot.command import plot_command

    handlers = {
        "train": runs.train_command,
        "evaluate": runs.evaluate_command,
        "predict": runs.predict_command,
        "explain": explain_command,
        "check": check_command,
        "plot": plot_command,
        "export": export_command,
        "playground": playground_command,
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
        return EXIT_INTERRUPTED


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def elapsed(since: float) -> str:
    return f"{time.perf_counter() - since:.1f} s"


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    return f"{name:<6} loss {metrics['loss']:.4f}  accuracy {100 * metrics['accuracy']:.2f}%"
