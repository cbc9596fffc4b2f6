"""``matgrad explain``: a small sigmoid network, a formula typed as text, or a trained checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..tensor import Tensor
from .api import Explanation, explain, superscript
from .deep import run_deep
from .derive import inline
from .layout import relayout


def seed_network(layout: str, l2: float, seed: int, sizes: tuple[int, int, int] = (4, 3, 2)) -> Explanation:
    """A 4-3-2 sigmoid network in column layout (z = Wx + b) or in row layout (z = xW + b),
    with the L2 term λ/2 ‖W‖² when ``l2 > 0``."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    column = layout == "column"
    x = Tensor(rng.standard_normal((n_in, 1) if column else (1, n_in)), name="x")
    y = Tensor(rng.uniform(size=(n_out, 1) if column else (1, n_out)), name="y")
    activation, penalty = x, None
    lam = Tensor(np.asarray(l2), name="λ")  # shown as λ, its value beside it
    for layer, (fan_in, fan_out) in enumerate(((n_in, n_hidden), (n_hidden, n_out)), start=1):
        weight_shape, bias_shape = ((fan_out, fan_in), (fan_out, 1)) if column else ((fan_in, fan_out), (1, fan_out))
        W = Tensor(rng.standard_normal(weight_shape), True, f"W{superscript(layer)}")
        b = Tensor(rng.standard_normal(bias_shape), True, f"b{superscript(layer)}")
        z = W @ activation + b if column else activation @ W + b
        z.name = f"z{superscript(layer)}"
        activation = _sigmoid(z, f"a{superscript(layer)}")
        term = (W**2).sum()
        penalty = term if penalty is None else penalty + term
    cost = 0.5 * ((activation - y) ** 2).sum()
    if l2 > 0:
        cost = cost + 0.5 * (lam * penalty)
    return explain(cost)


def _sigmoid(z: Tensor, name: str) -> Tensor:
    from ..primitives import sigmoid

    a = sigmoid(z)
    a.name = name
    return a


def formula_explanation(
    text: str,
    shape_texts: list[str],
    wrt: list[str],
    seed: int,
    constraints: dict[str, str] | None = None,
    jacobian_layout: str = "numerator",
) -> Explanation:
    """A formula typed as text, with the inputs drawn at random in the shapes given as
    ``NAME=SHAPE`` (see :func:`matgrad.explain.formula.explain_formula`)."""
    from ..formula import parse_shapes
    from .formula import explain_formula

    return explain_formula(text, parse_shapes(shape_texts), wrt, seed, constraints, jacobian_layout)


def checkpoint_explanation(path: Any, examples: int, seed: int) -> Explanation:
    from .. import checkpoint as ckpt
    from .. import data as datasets

    saved = ckpt.load(path)
    model, loss = ckpt.restore_model(saved), ckpt.restore_loss(saved)
    settings = saved.meta.get("extra", {}).get("settings", {})
    if "data" not in settings:
        raise ValueError(f"{path} does not say what data it was trained on")
    data_dir = settings.get("data_dir")
    train, _ = datasets.load_dataset(settings["data"], data_dir=data_dir, seed=settings.get("seed", 0))
    rows = np.random.default_rng(seed).choice(len(train), size=min(examples, len(train)), replace=False)
    model.eval()
    penalty = _trained_penalty(settings)
    return explain(model, loss=loss, x=train.X[rows], y=train.y[rows], penalty=penalty)


def _trained_penalty(settings: dict) -> Any:
    """The λΩ(θ) the run added to its loss (``--l2``, ``--l1``), or None."""
    from ..runs import Penalty

    l2, l1 = float(settings.get("l2", 0.0) or 0.0), float(settings.get("l1", 0.0) or 0.0)
    return Penalty(l2, l1) if l2 > 0 or l1 > 0 else None


def explain_command(args: argparse.Namespace) -> int:
    from ..claim.command import constraints_of
    from ..cli import UsageError

    if args.formula is not None:  # "" is a formula, refused as empty, not a request for the seed network
        shapes, wrt = args.shape or [], args.wrt or []
        explanation = formula_explanation(
            args.formula, shapes, wrt, args.seed, constraints_of(args), args.jacobian_layout
        )
    elif args.checkpoint:
        explanation = checkpoint_explanation(args.checkpoint, args.examples, args.seed)
    else:
        explanation = seed_network(args.layout, args.l2, args.seed)
    if args.inline:
        run_deep(inline, explanation.derivation)
    if args.render_layout:
        if args.notation != "jacobian":
            raise UsageError("--render-layout re-renders in the jacobian notation; drop --notation")
        if args.jacobians:
            raise UsageError("--jacobians are shown in the layout of the code; drop --render-layout")
        explanation.derivation = run_deep(relayout, explanation.derivation, args.render_layout)
    explanation.notation = args.notation
    output = explanation.derivation.graph.output.tensor
    if getattr(args, "hessian", False) and output.size != 1:
        raise UsageError(f"--hessian is written for a formula giving one number; this one gives shape {output.shape} "
                         "(sum it, or take one entry)")
    renderers = {"text": str, "markdown": Explanation.to_markdown, "latex": Explanation.to_latex}
    print(renderers[args.format](explanation))
    if args.jacobians:
        print("\n" + explanation.jacobians())
    if args.cost:
        print("\n" + explanation.cost())
    hessian_ok = _print_hessian(explanation, args.format) if getattr(args, "hessian", False) else True
    return 0 if explanation.ok and hessian_ok else 1


def _print_hessian(explanation: Explanation, output_format: str) -> bool:
    """``--hessian``: the Hessian as one matrix expression per input, checked, in the format of the
    rest (text, a Markdown table, a LaTeX ``aligned`` block); False if one disagrees."""
    hessians = explanation.hessian()
    renderings = {"markdown": hessians.to_markdown, "latex": hessians.to_latex}
    print("\n" + (renderings[output_format]() if output_format in renderings else str(hessians)))
    return hessians.ok
