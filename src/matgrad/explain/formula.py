"""A formula typed as text, explained: the same path for ``mg.explain("…")`` and ``matgrad explain``.

The inputs are given as :func:`matgrad.check_gradient` takes them: a shape (``"6x3"`` or
``(6, 3)``, drawn from N(0, 1) under its constraint) or a value (held fixed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .api import Explanation, explain
from .deep import TooDeepError
from .vector import explain_jacobian, is_vector


def explain_formula(
    text: str,
    inputs: dict[str, Any],
    wrt: Sequence[str] = (),
    seed: int = 0,
    constraints: dict[str, str] | None = None,
    jacobian_layout: str = "numerator",
) -> Explanation:
    """∂f/∂(each name in ``wrt``) of the formula ``text``, each line checked; by default the
    names given as shapes, not those given as values (data), or every name if all are values.

    A scalar f gives its gradients; a vector f (a column, a row or 1-D) its Jacobian, read off
    the VJP ``∂(uᵀf)/∂q`` in ``jacobian_layout``.  Bad input raises FormulaError in one line.
    """
    from ..formula import FormulaError, check_finite, check_shapes, parse, random_inputs, split_inputs

    formula = parse(text)
    shapes, fixed = split_inputs(inputs)
    check_shapes(formula, shapes, constraints)
    unknown = [name for name in wrt if name not in formula.names]
    if unknown:
        known = ", ".join(formula.names)
        raise FormulaError(f"--wrt {', '.join(unknown)}: not in the formula, whose names are {known}")
    values = random_inputs(formula, shapes, np.random.default_rng(seed), constraints)
    values.update(fixed)
    check_finite(formula, values, constraints)  # else every line would fail as if the rule were wrong
    targets = list(wrt) or [name for name in formula.names if name not in fixed] or list(formula.names)
    result = _evaluate(formula, values, requires_grad=set(targets))
    _check_result(formula, result, targets)
    vector = result.size > 1
    # Every input is recorded, so that an input used twice, or a part made of inputs alone
    # (1 − y), is written with its names; only the lines of the targets are shown.
    result = _evaluate(formula, values, requires_grad=set(values))
    facts = {name: kind for name, kind in (constraints or {}).items() if name in values}
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


def _evaluate(formula: Any, values: dict[str, np.ndarray], requires_grad: set[str]) -> Any:
    tensors = {name: Tensor(value, requires_grad=name in requires_grad, name=name) for name, value in values.items()}
    with np.errstate(all="ignore"):  # a non-finite part is reported in one line, not warned about
        return formula.evaluate(**tensors)


def _check_result(formula: Any, result: Any, targets: list[str]) -> None:
    """Refuse, in one line, what has no gradient to write: no variables, a matrix, a constant."""
    from ..formula import FormulaError

    if not formula.names:
        constant = np.asarray(result.data if isinstance(result, Tensor) else result)
        what = f"the constant {constant.item()}" if constant.size == 1 else f"a constant of shape {constant.shape}"
        raise FormulaError(f"the formula has no variables: it is {what}, with nothing to differentiate; "
                           "write one with a name, e.g. sum(x**2) --shape x=3")
    if not isinstance(result, Tensor) or (result.size != 1 and not is_vector(result.shape)):
        raise FormulaError(
            f"the formula gives shape {np.shape(result)}: explain writes the gradient of a scalar, or the "
            "Jacobian of a vector (a column, a row or 1-D); for a matrix, sum it or take one entry"
        )
    if not result.requires_grad:  # e.g. a comparison, a 0/1 mask whose derivative is zero everywhere
        raise FormulaError(f"the formula is constant in {', '.join(targets)}: nothing to differentiate "
                           "(a comparison such as x > 0 is a 0/1 mask, with no derivative)")
