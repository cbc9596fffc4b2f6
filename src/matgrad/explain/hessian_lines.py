"""``explain``'s Hessian lines: ∂²f/∂x² for each input shown, one matrix expression each, checked
against the engine's second derivatives and rendered as text, Markdown, LaTeX or HTML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..reverse import grad_of
from ..symbolic.render import latex_name
from .api import Text
from .derive import Derivation
from .graph import Graph, Quantity
from .hessian import HINT, HessianPlan, NotCoveredError, derive_hessian
from .render import cell, cell_math, html_math, html_table, html_words

TITLE = ("Hessian (n×n, entry (i, j) = ∂²f/∂xᵢ∂xⱼ over the entries of x in C order): one matrix "
         "expression, evaluated once, not n Hessian-vector products")
NOT_COVERED = "not written as one matrix expression"


@dataclass
class HessianLine:
    """``∂²f/∂x² = formula`` for one input, with its check against the engine's second derivatives."""

    name: str
    plan: HessianPlan | None
    shape: tuple[int, int]
    error: float = float("nan")
    ok: bool = False
    problem: str | None = None
    loss: str = "f"  # the output's name, and the input's: for the LaTeX ∂²f/∂x²
    variable: str = "x"

    @property
    def latex_name(self) -> str:
        """``\\frac{\\partial^{2} C}{\\partial x^{2}}``; a name with its own superscript (W¹) in brackets."""
        x = latex_name(self.variable)
        squared = rf"\left({x}\right)^{{2}}" if "^" in x else f"{x}^{{2}}"
        return rf"\frac{{\partial^{{2}} {latex_name(self.loss)}}}{{\partial {squared}}}"

    @property
    def mark(self) -> str:
        if self.plan is None:
            return "not covered"
        return f"✓ {self.error:.0e}" if self.ok else f"✗ {self.error:.1e}"


def explain_hessians(derivation: Derivation) -> list[HessianLine]:
    """The Hessian of the derivation's scalar output with respect to each input it shows."""
    output = derivation.graph.output
    if output.tensor.size != 1 or derivation.jacobians:
        raise ValueError("explain: a Hessian is written for a scalar f; this one has shape "
                         f"{output.tensor.shape} (take one entry or a sum)")
    tolerance = max(derivation.tolerance, 1e-7)
    graph = derivation.graph
    names = {id(q.tensor): q.name for q in graph.quantities if q.name is not None}
    names.update({id(c.source): c.name for c in graph.constants if c.name is not None and c.source is not None})
    return [_hessian_line(output.tensor, line.quantity, tolerance, derivation.loss_name, names)
            for line in derivation.lines if line.quantity.is_leaf]


def _hessian_line(output: Any, quantity: Quantity, tolerance: float, loss: str, names: dict[int, str]) -> HessianLine:
    n = int(np.prod(quantity.shape))
    line = HessianLine(f"∂²{loss}/∂{quantity.name}²", None, (n, n), loss=loss, variable=quantity.name or "x")
    try:
        plan = derive_hessian(output, quantity.tensor, True, names)
    except NotCoveredError as error:
        line.problem = str(error).removeprefix("hessian_symbolic: ").removesuffix(f"; {HINT}")
        return line
    env = {**Graph(output, {**names, id(output): "f"}).values(), **plan.extra}
    expected = _sweep_hessian(output, quantity.tensor)
    shown = plan.expr if plan.shown is None else plan.shown
    value = HessianPlan(plan.variable, plan.shape, shown).evaluate(env).reshape(n, n)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    line.plan, line.error = plan, float(np.max(np.abs(value - expected), initial=0.0)) / scale
    line.ok = line.error <= tolerance
    return line


def _sweep_hessian(output: Any, variable: Any) -> np.ndarray:
    """The engine's Hessian, reverse over reverse: one backward sweep of the gradient per row."""
    n = int(np.prod(variable.shape))
    (gradient,) = grad_of([output], [variable], [np.ones(output.shape, output.dtype)], retain_graph=True,
                          create_graph=True)
    if not getattr(gradient, "requires_grad", False):
        return np.zeros((n, n))
    rows = [grad_of([gradient], [variable], [e.reshape(gradient.shape)], retain_graph=True)[0]
            for e in np.eye(n, dtype=output.dtype)]
    return np.stack([np.ravel(np.asarray(getattr(row, "data", row))) for row in rows]).astype(np.float64)


# ----- renderings ----------------------------------------------------------------------------------------


def hessian_text(lines: list[HessianLine]) -> str:
    """The Hessian lines as text: one matrix expression per input, its shape and its check."""
    out = [TITLE]
    for line in lines:
        if line.plan is None:
            out.append(f"  {line.name}: {NOT_COVERED}: {line.problem}")
            continue
        out.append(f"  {line.name} = {line.plan.text()}   {line.shape}   {line.mark}")
    return "\n".join(out)


def hessian_markdown(lines: list[HessianLine]) -> str:
    """A table as ``explain``'s Markdown writes its lines: formulas in ``$…$``, shape, check."""
    out = [f"*{TITLE}*", "", "| Hessian | formula | shape | check |", "| --- | --- | --- | --- |"]
    for line in lines:
        formula = cell(f"{NOT_COVERED}: {line.problem}") if line.plan is None else cell_math(line.plan.text(True))
        out.append(f"| {cell_math(line.latex_name)} | {formula} | {line.shape} | {line.mark} |")
    return "\n".join(out)


def hessian_latex(lines: list[HessianLine]) -> str:
    """One ``aligned`` block, as ``explain``'s LaTeX: ``∂²f/∂x² = formula``, its shape and check."""
    rows = []
    for line in lines:
        if line.plan is None:
            rows.append(rf"{line.latex_name} &\quad \text{{{NOT_COVERED}}} \\")
            continue
        check = r"\checkmark" if line.ok else r"\text{disagrees}"
        rows.append(rf"{line.latex_name} &= {line.plan.text(True)} \qquad {line.shape[0]} \times {line.shape[1]},\ "
                    rf"{check} \\")
    return "\\begin{aligned}\n" + "\n".join(rows).rstrip("\\ ") + "\n\\end{aligned}"


def hessian_html(lines: list[HessianLine]) -> str:
    """The Markdown table as HTML, each formula one ``$…$`` for MathJax (as ``explain``'s HTML)."""
    rows = []
    for line in lines:
        formula = html_words(f"{NOT_COVERED}: {line.problem}") if line.plan is None else html_math(line.plan.text(True))
        rows.append([html_math(line.latex_name), formula, html_words(str(line.shape)), html_words(line.mark)])
    table = html_table(["Hessian", "formula", "shape", "check"], rows)
    return "\n".join(['<div class="matgrad-hessian">', f"<p><em>{html_words(TITLE)}</em></p>", *table, "</div>"])


class Hessians(Text):
    """``Explanation.hessian()``: the text (a ``str``, as before), with ``to_markdown()``,
    ``to_latex()`` and the reprs a notebook shows (HTML table; Markdown; ``$$…$$``)."""

    lines: list[HessianLine]

    def __new__(cls, lines: list[HessianLine]) -> Hessians:
        self = super().__new__(cls, hessian_text(lines))
        self.lines = lines
        return self

    @property
    def ok(self) -> bool:
        """Every Hessian written out agrees with the engine's (one not covered is not a disagreement)."""
        return all(line.ok for line in self.lines if line.plan is not None)

    def to_markdown(self) -> str:
        return hessian_markdown(self.lines)

    def to_latex(self) -> str:
        return hessian_latex(self.lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"

    def _repr_html_(self) -> str:
        return hessian_html(self.lines)
