"""``matgrad explain``: a small sigmoid network, a formula typed as text, or a trained checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..tensor import Tensor
from .api import Explanation, explain, superscript
from .deep import TooDeepError, run_deep
from .derive import inline
from .layout import relayout
from .vector import explain_jacobian, is_vector


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
    """A formula typed as text, with the inputs drawn at random in the given shapes, under the
    given constraints (an invertible or SPD matrix where the formula only inverts it)."""
    from ..formula import FormulaError, check_finite, check_shapes, parse, parse_shapes, random_inputs

    formula = parse(text)
    shapes = parse_shapes(shape_texts)
    check_shapes(formula, shapes, constraints)
    unknown = [name for name in wrt if name not in formula.names]
    if unknown:
        known = ", ".join(formula.names)
        raise FormulaError(f"--wrt {', '.join(unknown)}: not in the formula, whose names are {known}")
    values = random_inputs(formula, shapes, np.random.default_rng(seed), constraints)
    check_finite(formula, values, constraints)  # else every line would fail as if the rule were wrong
    targets = wrt or formula.names
    tensors = {name: Tensor(value, requires_grad=name in targets, name=name) for name, value in values.items()}
    with np.errstate(all="ignore"):  # a non-finite part is reported below in one line, not warned about
        result = formula.evaluate(**tensors)
    if not formula.names:
        constant = np.asarray(result.data if isinstance(result, Tensor) else result)
        what = f"the constant {constant.item()}" if constant.size == 1 else f"a constant of shape {constant.shape}"
        raise FormulaError(f"the formula has no variables: it is {what}, with nothing to differentiate; "
                           "write one with a name, e.g. sum(x**2) --shape x=3")
    vector = isinstance(result, Tensor) and result.size > 1 and is_vector(result.shape)
    if not isinstance(result, Tensor) or (result.size != 1 and not vector):
        raise FormulaError(
            f"the formula gives shape {np.shape(result)}: explain writes the gradient of a scalar, or the "
            "Jacobian of a vector (a column, a row or 1-D); for a matrix, sum it or take one entry"
        )
    if not result.requires_grad:  # e.g. a comparison, a 0/1 mask whose derivative is zero everywhere
        raise FormulaError(f"the formula is constant in {', '.join(targets)}: nothing to differentiate "
                           "(a comparison such as x > 0 is a 0/1 mask, with no derivative)")
    # Every input is recorded, so that an input used twice, or a part made of inputs alone
    # (1 − y), is written with its names; only the lines of the targets are shown.
    tracked = {name: Tensor(value, requires_grad=True, name=name) for name, value in values.items()}
    with np.errstate(all="ignore"):
        result = formula.evaluate(**tracked)
    facts = {name: kind for name, kind in (constraints or {}).items() if name in tracked}
    try:
        with np.errstate(all="ignore"):
            if vector:
                explanation = explain_jacobian(result, jacobian_layout, seed, facts, set(targets))
            else:
                explanation = explain(result, loss_name="f", constraints=facts, show=set(targets))
    except TooDeepError as error:  # the formula, not the program, is at fault: a usage error
        raise FormulaError(str(error)) from None
    if not explanation.ok:  # a part outside its domain (sqrt(x)[0]) fails lines as if a rule were wrong
        check_finite(formula, values, constraints, every_part=True)
    return explanation


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
    renderers = {"text": str, "markdown": Explanation.to_markdown, "latex": Explanation.to_latex}
    print(renderers[args.format](explanation))
    if args.jacobians:
        print("\n" + explanation.jacobians())
    if args.cost:
        print("\n" + explanation.cost())
    return 0 if explanation.ok else 1
