"""``matgrad export RUN/model.npz --to onnx|torch --out FILE``: a trained network for other runtimes.

The exported network takes the raw feature rows ``matgrad predict`` takes (a run's standardizer
is folded into the first layer) and gives the network's outputs, the numbers ``predict`` turns
into probabilities.  Nothing but argparse and pathlib is imported until the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

TARGETS = ("onnx", "torch")
_OUTPUTS = {  # loss class → what the network's outputs are, and how predict reads them
    "CrossEntropyLoss": "logits (predict's probabilities are their softmax)",
    "BCEWithLogitsLoss": "one logit (predict's probability of class 1 is its sigmoid)",
    "MSELoss": "the output layer's activations (predict scales them to sum to 1)",
}


def add_export(commands: Any) -> None:
    """The ``export`` command's parser (called by ``matgrad.cli.parser``)."""
    from ..cli import add_command, choice_type

    p = add_command(
        commands, "export", "a checkpoint as an ONNX model or a PyTorch state_dict",
        description="write a trained MLP for onnxruntime or PyTorch. The exported network takes the raw feature "
                    "rows that matgrad predict takes (a --standardize run's statistics are folded into the first "
                    "layer) and outputs what the matgrad network outputs: the logits for a cross-entropy or bce "
                    "run (predict's probabilities are their softmax, or the sigmoid of the one logit), the output "
                    "activation's values for an mse run. Layers: Linear, sigmoid, tanh, relu, leaky_relu, softmax, "
                    "log_softmax, identity; dropout is left out (inference).",
    )
    p.add_argument("checkpoint", type=Path, help="a model.npz written by matgrad train (or mg.save)")
    p.add_argument("--to", required=True, type=choice_type(TARGETS), metavar="FORMAT",
                   help='onnx: an ONNX graph, opset 17, batch dimension free (needs pip install "matgrad[export]"); '
                        "torch: the state_dict of an nn.Sequential, saved with torch.save (needs torch)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="the file to write, e.g. model.onnx")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def export_command(args: argparse.Namespace) -> int:
    from .. import checkpoint as ckpt
    from ..cli import UsageError
    from ..runs import restore_standardizer
    from .layers import ExportError

    _check_out(args.out, args.checkpoint, args.overwrite)
    try:
        _require_library(args.to)
        saved = ckpt.load(args.checkpoint)
        if "architecture" not in saved.meta:
            raise UsageError(f"{args.checkpoint} holds the weights of a model class of your own, which matgrad "
                             "cannot rebuild; build it in Python and call matgrad.export.to_onnx(model, path)")
        model = ckpt.restore_model(saved).eval()
        standardizer = restore_standardizer(saved)
        written, usage = _write(args.to, model, args.out, standardizer)
    except ExportError as error:  # an unsupported layer, a missing library: input the command cannot take
        raise UsageError(str(error)) from None
    print(f"matgrad export: wrote {written}: {_summary(model, saved, standardizer, args.to)}")
    print(usage)
    return 0


def _check_out(out: Path, checkpoint: Path, overwrite: bool) -> None:
    """Before any work: ``out`` names a file that may be written."""
    from ..cli import UsageError

    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder; name a file such as {out / 'model.onnx'}")
    if out.exists() and checkpoint.exists() and out.resolve() == checkpoint.resolve():
        raise UsageError(f"--out {out}: is the checkpoint itself; name another file")
    if out.exists() and not overwrite:
        raise UsageError(f"--out {out}: exists; pass --overwrite to replace it, or choose another --out")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")


def _require_library(target: str) -> None:
    """A missing onnx or torch is named with its pip command before the checkpoint is read."""
    from .layers import ExportError

    if target == "onnx":
        from .onnx_bridge import _onnx

        _onnx()
        return
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ExportError("--to torch needs PyTorch, which is not installed: pip install torch") from None


def _write(target: str, model: Any, out: Path, standardizer: Any) -> tuple[Path, str]:
    """Write the file; return its path and how to load it."""
    if target == "onnx":
        from .onnx_bridge import INPUT, to_onnx

        written = to_onnx(model, out, standardizer)
        return written, (f'run it: onnxruntime.InferenceSession("{written}").run(None, {{"{INPUT}": rows}})[0]  '
                         "(rows: a float array of shape (batch, features))")
    from .torch_bridge import save_torch

    written, code = save_torch(model, out, standardizer)
    loading = f'net.load_state_dict(torch.load("{written}")); net.eval()'
    return written, f"load it: net = {code}; {loading}  (from torch import nn)"


def _summary(model: Any, saved: Any, standardizer: Any, target: str) -> str:
    from .layers import Drop, describe, steps_of

    steps = steps_of(model, "export")
    if target == "onnx":  # the graph leaves dropout out: it is the identity at inference
        steps = [step for step in steps if not isinstance(step, Drop)]
    loss = saved.meta.get("loss", {}).get("type") if isinstance(saved.meta.get("loss"), dict) else None
    outputs = _OUTPUTS.get(loss, "the network's outputs")
    raw = "; the standardizer is folded into the first layer, so it takes raw features" if standardizer else ""
    return f"{describe(steps)}{raw}; outputs: {outputs}"
