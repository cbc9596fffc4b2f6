"""``mg.explain``: the gradient of any recorded computation, written out and checked."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import render
from .deep import check_depth, run_deep
from .derive import Derivation, derive
from .graph import Graph
from .layout import relayout

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def superscript(n: int) -> str:
    return str(n).translate(_SUPERSCRIPTS)


class Text(str):
    """A ``str`` that the REPL and Jupyter show as its text (unquoted, real line breaks)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


class Explanation:
    """A derivation with its renderings: ``str()`` (``print(e)``) for text, ``to_markdown()``,
    ``to_latex()``; ``repr()`` is a one-line summary.  Jupyter shows the HTML (``_repr_html_``:
    the Markdown's tables, each formula one MathJax block); ``_repr_markdown_`` and
    ``_repr_latex_`` (one ``$$\\begin{aligned}…\\end{aligned}$$``) are there for other front ends."""

    def __init__(self, derivation: Derivation, notation: str, title: str) -> None:
        self.derivation = derivation
        self.notation = notation
        self.title = title

    @property
    def lines(self) -> list:
        return self.derivation.lines

    @property
    def ok(self) -> bool:
        return self.derivation.ok

    @property
    def worst_error(self) -> float:
        return self.derivation.worst_error

    def line(self, name: str) -> Any:
        """The line whose gradient is written ``name`` (``"δ²"``, ``"∂C/∂W¹"``)."""
        for line in self.derivation.lines:
            if line.name == name:
                return line
        raise KeyError(f"explain: no line {name!r}; lines: {', '.join(each.name for each in self.derivation.lines)}")

    def formula(self, name: str, latex: bool = False) -> str:
        return run_deep(render.formula_text, self.derivation, self.line(name).formula, latex)

    def cost(self) -> Text:
        """Multiply-adds and memory of the VJP sweep against forward mode and Jacobian products
        (a ``str`` that a notebook shows as text)."""
        from .cost import cost_text

        return Text(run_deep(cost_text, self.derivation.graph))

    def jacobians(self) -> Text:
        """The explicit local Jacobians (``diag(σ'(z))`` …) beside the VJPs that replace them
        (a ``str`` that a notebook shows as text)."""
        from .jacobians import jacobians_text

        return Text(run_deep(jacobians_text, self.derivation))

    def hessian(self) -> Any:
        """The Hessian of the scalar f with respect to each input shown, as one matrix expression
        (``A + Aᵀ``, ``Xᵀ diag(…) X``) checked against the engine's second derivatives (see
        :mod:`matgrad.explain.hessian`): a ``str`` (the text) with ``to_markdown()``, ``to_latex()``
        and the reprs a notebook renders, as this Explanation's (:class:`~.hessian_lines.Hessians`)."""
        from .hessian_lines import Hessians, explain_hessians

        return Hessians(run_deep(explain_hessians, self.derivation))

    def __str__(self) -> str:
        return run_deep(render.to_text, self.derivation, self.notation, self.title)

    def to_markdown(self) -> str:
        return run_deep(render.to_markdown, self.derivation, self.notation, self.title)

    def to_latex(self) -> str:
        return run_deep(render.to_latex, self.derivation)

    def __repr__(self) -> str:
        lines = self.derivation.lines
        checked = sum(line.value is not None for line in lines)
        bad = [line.name for line in lines if not line.ok]
        bad += [j.name for j in self.derivation.jacobians if j.formula is not None and not j.ok]
        if bad:
            verdict = f"✗ disagreeing: {', '.join(bad)}"
        else:
            verdict = f"✓ {checked} of {len(lines)} checked, worst relative error {self.worst_error:.0e}"
        plural = "s" * (len(lines) != 1)
        return f"<Explanation {self.title!r}: {len(lines)} line{plural}, {verdict}; print(e) to read it>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return run_deep(render.to_html, self.derivation, self.notation, self.title)

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"


def explain(
    target: Any,
    *args: Any,
    loss: Callable | None = None,
    x: Any = None,
    y: Any = None,
    names: dict[Any, str] | None = None,
    notation: str = "jacobian",
    inline: bool = False,
    loss_name: str = "C",
    layout: str | None = None,
    constraints: dict[str, str] | None = None,
    show: set[str] | None = None,
    penalty: Callable | None = None,
    upstream: Any = None,
    wrt: str | Sequence[str] | None = None,
    seed: int = 0,
    jacobian_layout: str = "numerator",
    **inputs: Any,
) -> Explanation:
    """Write out ∂loss/∂(every named quantity) and check each line against the engine.

    ``target`` may be a formula typed as text, with its inputs as :func:`matgrad.check_gradient`
    takes them (a shape, drawn at random from ``seed``, or a value, held fixed) and ``wrt`` the
    names to differentiate by (default: those given as shapes), as ``matgrad explain`` takes it::

        mg.explain("sum((y - X@w)**2)", wrt="w", X="6x3", w="3x1", y="6x1")

    ``target`` is a scalar Tensor already computed, a function of arrays (its parameters are
    named after the function's arguments), or an ``nn`` network with ``loss``, ``x`` and ``y``
    (layers named ``zˡ = aˡ⁻¹Wˡ + bˡ``, ``aˡ``).  ``names`` maps Tensors to display names.
    ``inline=True`` writes every δ out, giving closed forms such as ``∂J/∂W = Hᵀ((Y − Y*) ⊙ f'(HW + B))``.
    ``notation``: "jacobian" (the chain rule as vector-Jacobian products), "index" (entry by
    entry, with sums and Kronecker deltas) or "differential" (``dL = G : dW``, Frobenius product).
    ``layout`` ("row": examples in rows, ``Z = XW + b``; "column": examples in columns, ``z = Wx + b``)
    re-renders the derivation with every quantity transposed, when the code uses the other one.
    ``constraints`` maps an input's name to what is known of it (``"symmetric"``, ``"simplex"`` …),
    which the readable forms may use and then state (``Aᵀ = A``); ``show`` keeps only the lines of
    the quantities so named.  ``penalty(net)``, for a network, is added to its loss: the λΩ(θ) it
    was trained with (``nn.L2(λ)``), so that each weight's gradient shows its ``λ W``.
    ``upstream``: for a computation with more than one entry f, the vector u of the VJPs
    ``∂(uᵀf)/∂q`` written out (see :func:`matgrad.explain.vector.explain_jacobian`).
    """
    if notation not in render.NOTATIONS:
        raise ValueError(f"explain: notation must be one of {', '.join(render.NOTATIONS)}, got {notation!r}")
    if isinstance(target, str):
        inputs.update({name: value for name, value in (("x", x), ("y", y)) if value is not None})
        return _formula(target, inputs, wrt, seed, constraints, jacobian_layout, notation, layout)
    if inputs or wrt is not None:
        given_here = ", ".join(f"{name}=" for name in [*inputs, *(["wrt"] if wrt is not None else [])])
        raise TypeError(f"explain: {given_here} describe a formula typed as text, but the target is a "
                        f"{type(target).__name__}; name its quantities with names={{tensor: 'W'}} and pick "
                        "lines with show=")
    if type(target).__module__.startswith("torch."):  # a PyTorch nn.Sequential: read its weights (imports torch)
        from ..export.torch_bridge import for_explain

        target, loss, x, y = for_explain(target, loss, x, y)
    given = {id(t): name for t, name in (names or {}).items()}
    if isinstance(target, Tensor):
        output, title = target, "matgrad explain"
    elif hasattr(target, "parameters") and hasattr(target, "forward"):
        output, title = recorded_network(target, loss, x, y, given)
        if penalty is not None:
            output = output + penalty(target)
    elif callable(target):
        output, title = _function(target, args, given)
    else:
        raise TypeError(f"explain: expected a Tensor, a function or an nn network, got {type(target).__name__}")
    if (output.size != 1 and upstream is None) or not output.requires_grad:
        raise ValueError(
            f"explain: the computation must end in a scalar that depends on something requiring grad; "
            f"got shape {output.shape}, requires_grad={output.requires_grad}"
        )
    given.setdefault(id(output), loss_name)
    graph = Graph(output, given)
    check_depth(graph.depth())
    symbols = {q.name: q.symbol for q in graph.quantities if q.name is not None}
    symbols.update({c.name: c.symbol for c in graph.constants if c.name is not None})
    facts = {symbols[name]: kind for name, kind in (constraints or {}).items() if name in symbols}
    derivation = run_deep(derive, graph, given[id(output)], None, inline, facts, show, upstream)
    if layout is not None:
        derivation = run_deep(relayout, derivation, layout)
        if derivation.layout is not None and notation != "jacobian":
            raise ValueError(f"explain: layout={layout!r} re-renders in the jacobian notation only, not {notation!r}")
    return Explanation(derivation, notation, title)


def _formula(text: str, inputs: dict[str, Any], wrt: Any, seed: int, constraints: dict[str, str] | None,
             jacobian_layout: str, notation: str, layout: str | None) -> Explanation:
    from .formula import explain_formula

    targets = [wrt] if isinstance(wrt, str) else list(wrt or ())
    explanation = explain_formula(text, inputs, targets, seed, constraints, jacobian_layout)
    if layout is not None:
        explanation.derivation = run_deep(relayout, explanation.derivation, layout)
    explanation.notation = notation
    return explanation


def _function(f: Callable, args: tuple, names: dict[int, str]) -> tuple[Tensor, str]:
    parameters = list(inspect.signature(f).parameters)
    tensors = []
    for i, value in enumerate(args):
        tensor = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=float), requires_grad=True)
        names.setdefault(id(tensor), parameters[i] if i < len(parameters) else f"x{i}")
        tensors.append(tensor)
    output = f(*tensors)
    return output, f"matgrad explain: {getattr(f, '__name__', 'f')}({', '.join(names[id(t)] for t in tensors)})"


def recorded_network(net: Any, loss: Callable | None, x: Any, y: Any, names: dict[int, str]) -> tuple[Tensor, str]:
    """Run ``net`` on ``x`` recording a graph whose nodes carry the names the derivation uses
    (x, zˡ, aˡ, Wˡ, bˡ, y): the loss Tensor and a title; ``names`` receives the names by id."""
    if loss is None or x is None or y is None:
        raise ValueError("explain: a network needs loss=, x= and y=")
    layers = getattr(net, "layers", net)
    inputs = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    names.setdefault(id(inputs), "x")
    activation = inputs
    layer = 0
    for module in layers:
        kind = type(module).__name__
        if kind == "Linear":
            layer += 1
            names.setdefault(id(module.W), f"W{superscript(layer)}")
            if module.b is not None:
                names.setdefault(id(module.b), f"b{superscript(layer)}")
        result = module(activation)
        if result is not activation:
            names.setdefault(id(result), f"{'z' if kind == 'Linear' else 'a'}{superscript(layer)}")
        activation = result
    target = y if isinstance(y, Tensor) else _target_tensor(loss, np.asarray(y), activation)
    names.setdefault(id(target), "y")
    return loss(activation, target), f"matgrad explain: {type(net).__name__} with {type(loss).__name__}"


def _target_tensor(loss: Callable, y: np.ndarray, prediction: Tensor) -> Tensor:
    """The target as the loss uses it (labels one-hot), so that it appears in formulas as ``y``:
    by the loss's own ``targets`` where it has one (matgrad's losses), else by :func:`_targets`."""
    convert = getattr(loss, "targets", None)
    target = convert(prediction, y) if callable(convert) else _targets(y, prediction)
    return target if isinstance(target, Tensor) else Tensor(np.asarray(target))


def _targets(y: np.ndarray, prediction: Tensor) -> np.ndarray:
    """For a loss function of the user's: integer labels become one-hot rows."""
    if np.issubdtype(y.dtype, np.integer) and prediction.ndim == 2 and prediction.shape[1] > 1 and y.ndim == 1:
        return np.eye(prediction.shape[1], dtype=prediction.dtype)[y]
    return y.astype(prediction.dtype) if np.issubdtype(y.dtype, np.floating) else y
