"""``matgrad plot``: each picture from a checkpoint of ``matgrad train``, or from the network
``matgrad train`` would train (Nielsen's sigmoid network, by default) trained on the spot.

Only standard-library modules are imported at the top: ``matgrad --help`` and every other
command work without matplotlib.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EPOCHS = {"surface": 30, "curves": 30, "boundary": 300}  # boundary: enough for the seed network to bend round the moons
FIGURE_INCHES = {"surface": 13 * 5.6, "curves": 10 * 4, "boundary": 7 * 6}  # the areas the pictures are drawn at
BYTES_PER_PIXEL = 4  # Agg renders RGBA
# A grid point of --resolution costs its coordinates, loss or class and a forward pass through the
# network: 1 KiB covers float64 activations up to ~120 units wide. Estimates against --max-memory.
BYTES_PER_GRID_POINT = 1024
BYTES_PER_NUMBER = 8 * 4  # float64, for the forward values, their gradients and the graph's copies


@dataclass
class Trained:
    """A network with what it was trained with and on."""

    model: Any
    loss: Any
    optimizer: Any
    train: Any
    test: Any
    history: Any


def plot_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    draw = {"surface": _surface, "graph": _graph, "curves": _curves, "boundary": _boundary}[args.picture]
    _check_arguments(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    status = draw(args)
    if status == 0:
        print(f"matgrad plot {args.picture}: wrote {args.out} in {time.perf_counter() - started:.1f} s")
    return status


# ----- arguments, checked before anything is trained or allocated ------------------------------


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse an ``--out`` that cannot take the picture, and sizes whose memory estimate exceeds
    ``--max-memory``; name a suffix-less ``--out`` with the ``.png`` it will be written as."""
    from ..cli import UsageError

    if args.out.is_dir():
        raise UsageError(f"--out {args.out}: is a folder; name the picture file, e.g. {args.out / args.picture}.png")
    if args.picture != "graph":
        if not args.out.suffix:
            args.out = args.out.with_name(args.out.name + ".png")  # what matplotlib would write: say so
        _check_suffix(args.out)
    for what, needed in _estimates(args).items():
        if needed > args.max_memory:
            raise UsageError(
                f"{what} needs about {needed / 2**30:.1f} GiB, more than --max-memory {args.max_memory / 2**30:.1f} "
                "GiB; choose a smaller value or raise --max-memory"
            )


def _check_suffix(out: Path) -> None:
    from ..cli import UsageError

    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:  # drawing will explain that matplotlib is missing
        return
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix.lower().lstrip(".") not in formats:
        raise UsageError(f"--out {out}: matplotlib cannot write {out.suffix!r} files; name it .png, .svg or .pdf")


def _estimates(args: argparse.Namespace) -> dict[str, float]:
    """Bytes each size-giving argument implies (see the constants above)."""
    if args.picture == "graph":
        layers = args.layers
        weights = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(layers))
        values = args.examples * sum(layers)
        return {f"--layers {','.join(map(str, layers))} with --examples {args.examples}":
                (weights + values) * BYTES_PER_NUMBER}
    estimates = {f"--dpi {args.dpi}": FIGURE_INCHES[args.picture] * args.dpi**2 * BYTES_PER_PIXEL}
    if hasattr(args, "resolution"):
        estimates[f"--resolution {args.resolution}"] = args.resolution**2 * BYTES_PER_GRID_POINT
    return estimates


# ----- the pictures -----------------------------------------------------------------------------


def _surface(args: argparse.Namespace) -> int:
    from . import TrackWeights, cost_surface  # through the package: a missing matplotlib is explained

    if args.path == "training" and args.checkpoint:
        raise ValueError(
            "--path training: a checkpoint does not record the weights along training; use --path descent, "
            "or leave out --checkpoint to train here while recording them"
        )

    def callbacks_for(model: Any) -> list[Any]:
        tracker = TrackWeights(model, args.params)  # resolves the names: a bad one fails before training
        return [tracker] if args.path == "training" else []

    trained = _trained(args, callbacks_for)
    figure = cost_surface(
        trained.model,
        trained.loss,
        trained.train,
        args.params,
        path=trained.history if args.path == "training" else None,
        optimizer=trained.optimizer if args.path == "descent" else None,
        steps=args.steps,
        span=args.span,
        resolution=args.resolution,
        arrows=args.arrows,
    )
    figure.savefig(args.out, dpi=args.dpi)
    return 0


def _curves(args: argparse.Namespace) -> int:
    from . import training_curves

    trained = _trained(args)
    if len(trained.history) == 0:
        raise ValueError(f"{args.checkpoint}: the checkpoint holds no training history to draw")
    training_curves(trained.history).savefig(args.out, dpi=args.dpi)
    return 0


def _boundary(args: argparse.Namespace) -> int:
    from . import decision_regions

    trained = _trained(args)
    figure = decision_regions(
        trained.model, trained.train, test=trained.test, loss=trained.loss, resolution=args.resolution
    )
    figure.savefig(args.out, dpi=args.dpi)
    return 0


def _graph(args: argparse.Namespace) -> int:
    from .dot import FORMATS, GraphvizNotFoundError, graph

    suffix = args.out.suffix.lower().lstrip(".")
    if suffix not in (*FORMATS, "dot", "gv"):
        raise ValueError(f"--out {args.out}: name the picture .svg, .png or .pdf, or .dot for the Graphviz source")
    if args.checkpoint:
        model, loss, x, y = _graph_inputs(args)
        drawing = graph(model, loss=loss, x=x, y=y)
    else:
        drawing = graph(_seed_cost(args.layers, args.examples, args.seed))
    source = drawing.save(args.out if suffix in ("dot", "gv") else args.out.with_suffix(".dot"))  # DOT, always
    if source == args.out:
        return 0
    engine = getattr(args, "engine", "matplotlib")
    try:
        drawing.save(args.out, engine=engine)
    except GraphvizNotFoundError as error:
        print(f"matgrad plot graph: wrote {source}, but not {args.out}: {error}", file=sys.stderr)
        return 1
    print(f"matgrad plot graph: drew {args.out} with {engine}; its DOT source is {source}")
    return 0


def _graph_inputs(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """The network of a checkpoint and a few of its training examples."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    trained = _from_checkpoint(args.checkpoint)
    rows = rng.choice(len(trained.train), size=min(args.examples, len(trained.train)), replace=False)
    return trained.model.eval(), trained.loss, trained.train.X[rows], trained.train.y[rows]


def _seed_cost(layers: list[int], examples: int, seed: int) -> Any:
    """``matgrad explain``'s seed network with ``layers``: column layout (z = Wx + b, an example per
    column), sigmoid units, C = ½ Σ (a − y)², drawn from ``seed`` in explain's order — so with the
    defaults (4,3,2, one example, seed 0) it is the very network ``matgrad explain`` explains."""
    import numpy as np

    from ..explain.api import superscript
    from ..primitives import sigmoid
    from ..tensor import Tensor

    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((layers[0], examples)), name="x")
    y = Tensor(rng.uniform(size=(layers[-1], examples)), name="y")
    activation = x
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(layers), start=1):
        W = Tensor(rng.standard_normal((fan_out, fan_in)), True, f"W{superscript(layer)}")
        b = Tensor(rng.standard_normal((fan_out, 1)), True, f"b{superscript(layer)}")
        z = W @ activation + b
        z.name = f"z{superscript(layer)}"
        activation = sigmoid(z)
        activation.name = f"a{superscript(layer)}"
    return 0.5 * ((activation - y) ** 2).sum()


# ----- where the network comes from ---------------------------------------------------------------


def _trained(args: argparse.Namespace, callbacks_for: Any = None) -> Trained:
    if args.checkpoint:
        return _from_checkpoint(args.checkpoint)
    return _train_here(args, callbacks_for)


def _from_checkpoint(path: Path) -> Trained:
    """A run saved by ``matgrad train``, on the data it was trained on (standardized as it was)."""
    import dataclasses

    from .. import checkpoint as ckpt
    from ..optim import optimizer_from_state
    from ..runs import DATA_SETTINGS, load_data, restore_standardizer, saved_settings
    from ..train import History

    saved = ckpt.load(path)
    model, loss = ckpt.restore_model(saved), ckpt.restore_loss(saved)
    settings = saved_settings(saved, DATA_SETTINGS)
    if settings is None:
        raise ValueError(f"{path} does not say what data it was trained on; it was not written by matgrad train")
    train, test = load_data(settings)
    standardizer = restore_standardizer(saved)
    if standardizer is not None:
        train, test = (dataclasses.replace(d, X=standardizer.transform(d.X).astype(d.X.dtype)) for d in (train, test))
    optimizer = None
    if saved.meta.get("optimizer"):  # for --path descent: the same kind of steps, on two weights
        optimizer = optimizer_from_state(model.parameters(), saved.state("optimizer"))
    history = History.from_records(saved.meta.get("history", []))
    return Trained(model, loss, optimizer, train, test, history)


def _train_here(args: argparse.Namespace, callbacks_for: Any) -> Trained:
    """Train as ``matgrad train --data DATA --epochs E --seed S`` would, without writing files."""
    import numpy as np

    from ..cli import parser
    from ..runs import build_run, settings_from_args
    from ..train import fit

    epochs = args.epochs if args.epochs is not None else EPOCHS[args.picture]
    train_args = parser().parse_args(["train", "--data", args.data, "--epochs", str(epochs), "--seed", str(args.seed)])
    run = build_run(settings_from_args(train_args))
    print(
        f"matgrad plot {args.picture}: training {'-'.join(map(str, run.settings['layers']))} on {args.data} for "
        f"{epochs} epoch{'s' if epochs != 1 else ''} as `matgrad train` would (give --checkpoint to draw a saved run)",
        flush=True,
    )
    history = fit(
        run.model,
        run.loss,
        run.optimizer,
        run.train,
        epochs,
        run.settings["batch_size"],
        run.test,
        rng=np.random.default_rng(args.seed),
        regularizer=run.regularizer,
        schedule=run.schedule,
        callbacks=callbacks_for(run.model) if callbacks_for else (),
        progress=False,
    )
    return Trained(run.model, run.loss, run.optimizer, run.train, run.test, history)
