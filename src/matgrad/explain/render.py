"""Rendering a derivation as Unicode text, Markdown or LaTeX."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from ..symbolic import Expr, Num, Sym, latex_name, render
from ..symbolic.expr import children
from ..symbolic.render import scalar_test
from . import readings
from .derive import Derivation, Line, environment

NOTATIONS = ("jacobian", "index", "differential")
TITLES = {
    "jacobian": "Jacobian notation: the chain rule as vector-Jacobian products, no Jacobian is ever formed",
    "index": "index notation: component k, the chain-rule sum and the Kronecker delta that collapses it",
    "differential": "differentials: d(loss) = G : dM, rearranged (A : BC = BᵀA : C = ACᵀ : B) until it reads (…) : dq",
}


def _scalar_test(derivation: Derivation) -> Any:
    return scalar_test(environment(derivation))


def formula_text(derivation: Derivation, expr: Expr, latex: bool = False, names: dict[str, str] | None = None) -> str:
    """``expr`` as the derivation writes it; ``names`` adds display names for extra symbols."""
    shown = {**derivation.names(), **(names or {})}
    return render(expr, shown, is_scalar=_scalar_test(derivation), latex=latex)


def forward_lines(derivation: Derivation, latex: bool = False) -> list[tuple[str, str, tuple[int, ...]]]:
    """(name, definition, shape) of each named computed quantity, in the order computed."""
    graph = derivation.graph
    rows = []
    for q in graph.quantities:
        if q.is_leaf or q.name is None:
            continue
        name = latex_name(q.name) if latex else q.name
        shape = np.shape(derivation.env[q.symbol]) if derivation.env is not None else q.shape
        rows.append((name, formula_text(derivation, derivation.definition(q), latex), shape))
    return rows


def notes(derivation: Derivation, line: Line, latex: bool = False) -> str:
    """What a line's formula rests on and what its symbols mean: ``, since Σⱼ y = 1, where N = 6``."""
    text = (lambda words: rf"\quad\text{{{words}}}\ ") if latex else (lambda words: words)
    facts = [
        f"{formula_text(derivation, lhs, latex)} = {formula_text(derivation, rhs, latex)}"
        for lhs, rhs in line.assumptions
    ]
    used = _symbols_in(line.formula)
    keys = [
        f"{latex_name(shown) if latex else shown} = {derivation.extra_values[name]:g}"
        for name, shown in derivation.extra_names.items()
        if name in used and np.ndim(derivation.extra_values[name]) == 0
    ]
    keys += [
        f"{latex_name(c.name) if latex else c.name} = {float(c.value):g}"
        for c in derivation.graph.constants
        if c.symbol in used and c.name is not None and np.ndim(c.value) == 0
    ]
    keys += [
        f"{c.name} = " + (rf"\text{{{words}}}" if latex else words)
        for c in derivation.graph.constants
        if c.symbol in used and c.name is not None and c.name.startswith("c") and c.name[1:2] in "₀₁₂₃₄₅₆₇₈₉"
        for words in [f"a constant of shape {np.shape(c.value)}"]
    ]
    out = ""
    if facts:
        out += text(", since ") + text(" and ").join(facts)
    if keys:
        out += text(", where ") + ", ".join(keys)
    return out


def _symbols_in(expr: Expr) -> set[str]:
    found, stack = set(), [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Sym):
            found.add(node.name)
        stack.extend(children(node))
    return found


def backward_line(derivation: Derivation, line: Line, notation: str) -> str:
    """One line of the backward pass in the chosen notation, as ``matgrad explain --notation`` prints it."""
    jacobian = f"{line.name} = {formula_text(derivation, line.formula)}{notes(derivation, line)}"
    if notation == "jacobian":
        return jacobian
    if derivation.layout is not None:
        raise ValueError(
            f"explain: the {notation} notation follows the layout of the code; re-rendered in "
            f"{derivation.layout} layout, a derivation is written in the jacobian notation"
        )
    if notation == "index":
        reading = readings.index_reading(derivation, line, lambda e: formula_text(derivation, e))
        component = "kl" if "_kl" in reading else "k"
        return f"[{line.name}]_{component} = {reading}   ⇒   {jacobian}"
    step = readings.differential(derivation, line)
    names = derivation.names()
    names[step.differential_symbol] = "d" + (line.quantity.name or "q")
    text = lambda e: render(e, names, is_scalar=_scalar_test(derivation))
    terms = [text(m) if g == Num(1.0) else f"{_framed(text(g))} : {_framed(text(m))}" for g, m in step.terms]
    if len(terms) > 1:  # ':' binds loosest: bracket each term of a sum
        terms = [f"({term})" for term in terms]
    line.differential_error = step.error
    gradient = f"{_framed(formula_text(derivation, line.formula))} : {names[step.differential_symbol]}"
    steps = [" + ".join(terms), gradient]
    return f"d{derivation.loss_name} = " + " = ".join(dict.fromkeys(steps))  # a step that changes nothing once


def _framed(text: str) -> str:
    """Parenthesize a sum or difference beside the Frobenius product ':', which binds loosest."""
    return f"({text})" if (" + " in text or " − " in text) and not text.startswith("(") else text


def _mark(line: Line) -> str:
    if line.problem and line.value is None:
        return "? not checked"
    return f"✓ {line.error:.0e}" if line.ok else f"✗ {line.error:.1e}"


LAYOUT_WORDS = {
    "column": "column layout (z = Wx + b): an example is a column; each gradient has its variable's shape",
    "row": "row layout (Z = XW + b): an example is a row; each gradient has its variable's shape",
}


def layout_line(derivation: Derivation) -> list[str]:
    """``Layout: column layout (z = Wx + b) …`` when the matrix products show which it is."""
    from .layout import evident_layout

    layout = derivation.layout or evident_layout(derivation)
    return [f"Layout: {LAYOUT_WORDS[layout]}"] if layout else []


def to_text(derivation: Derivation, notation: str, title: str) -> str:
    out = [title, *layout_line(derivation), "", "Forward pass"]
    forward = forward_lines(derivation)
    width = max((len(f"{n} = {d}") for n, d, _ in forward), default=0)
    for name, definition, shape in forward:
        out.append(f"  {f'{name} = {definition}':<{width}}   {shape}")
    out += ["", f"Backward pass ({TITLES[notation]})"]
    rows = [(backward_line(derivation, line, notation), line) for line in derivation.lines]
    width = max((len(text) for text, _ in rows), default=0) if notation != "index" else 0
    products = max((len(", ".join(line.products)) for line in derivation.lines), default=0)
    for text, line in rows:
        product = ", ".join(line.products)
        out.append(f"  {text:<{width}}   {line.shape!s:<10} {product:<{products}}  {_mark(line)}")
    out += _jacobian_text(derivation)
    out += ["", check_summary(derivation)]
    for line in derivation.lines:
        if line.problem:
            out.append(f"  ✗ {line.name}: {line.problem}")
    reasons = []
    for line in derivation.lines:
        for reason in line.reasons:
            if reason not in reasons:
                reasons.append(reason)
    out += ["", "Why these products:"] + [f"  - {r}" for r in reasons]
    return "\n".join(out)


JACOBIAN_TITLES = {
    "numerator": "numerator layout: m×n, row i is ∂fᵢ/∂x",
    "denominator": "denominator layout: n×m, column i is ∂fᵢ/∂x",
}


def _jacobian_text(derivation: Derivation, latex: bool = False) -> list[str]:
    """The Jacobians of a vector f, read off the VJP lines above (``Jᵀ u``), each checked."""
    if not derivation.jacobians:
        return []
    title = JACOBIAN_TITLES[derivation.jacobian_layout]
    out = ["", f"Jacobian ({title}), the matrix in front of u in ∂(uᵀf)/∂x = Jᵀ u"]
    for line in derivation.jacobians:
        if line.formula is None:
            out.append(f"  {line.name}: the VJP is not written as a matrix times u; not read off   {line.shape}")
            continue
        mark = f"✓ {line.error:.0e}" if line.ok else f"✗ {line.error:.1e}"
        out.append(f"  {line.name} = {formula_text(derivation, line.formula, latex)}   {line.shape}   {mark}")
    return out


def check_summary(derivation: Derivation) -> str:
    """The closing sentence: how many lines were checked numerically, the worst error, the verdict."""
    checked = [line for line in derivation.lines if line.value is not None]
    bad = [line.name for line in derivation.lines if not line.ok]
    bad += [j.name for j in derivation.jacobians if j.formula is not None and not j.ok]
    verdict = "every line agrees with the engine's gradient" if not bad else f"DISAGREEING: {', '.join(bad)}"
    return (
        f"Checked {len(checked)} of {len(derivation.lines)} lines numerically: worst relative error "
        f"{derivation.worst_error:.1e} (tolerance {derivation.tolerance:.0e}); {verdict}."
    )


# the private names these had before the playground used them
_reading, _summary = backward_line, check_summary


def to_markdown(derivation: Derivation, notation: str, title: str) -> str:
    out = [f"**{title}**", *(f"*{line}*" for line in layout_line(derivation))]
    out += ["", "| quantity | definition | shape |", "| --- | --- | --- |"]
    for name, definition, shape in forward_lines(derivation, latex=True):
        out.append(f"| {cell_math(name)} | {cell_math(definition)} | {shape} |")
    out += [
        "",
        f"*{TITLES[notation]}*",
        "",
        "| gradient | formula | shape | product | check |",
        "| --- | --- | --- | --- | --- |",
    ]
    for line in derivation.lines:
        product = ", ".join(line.products)
        name, formula = latex_name(line.name), formula_text(derivation, line.formula, latex=True)
        formula += notes(derivation, line, latex=True)
        out.append(f"| {cell_math(name)} | {cell_math(formula)} | {line.shape} | {cell(product)} | {_mark(line)} |")
    out += ["", check_summary(derivation)]
    return "\n".join(out)


def cell_math(tex: str) -> str:
    """A formula as one Markdown table cell: a ``|`` (``\\left|x\\right|``, ``\\|x\\|``) would end
    the cell, so bars are written ``\\vert``/``\\Vert``, which read the same in every renderer."""
    return "$" + tex.replace("\\|", "\\Vert ").replace("|", "\\vert ") + "$"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_latex(derivation: Derivation) -> str:
    rows = [rf"{name} &= {definition} \\" for name, definition, _ in forward_lines(derivation, latex=True)]
    rows += [
        rf"{latex_name(line.name)} &= {formula_text(derivation, line.formula, latex=True)}"
        + notes(derivation, line, latex=True)
        + r" \\"
        for line in derivation.lines
    ]
    return "\\begin{aligned}\n" + "\n".join(rows).rstrip("\\ ") + "\n\\end{aligned}"


def html_words(text: str) -> str:
    """Text for HTML that MathJax also reads: escaped, and a ``$`` written ``\\$`` (MathJax's escape)."""
    return escape(text, quote=False).replace("$", r"\$")


def html_math(tex: str) -> str:
    """One formula, one ``$…$`` block for MathJax."""
    return "$" + escape(tex, quote=False) + "$"


def html_table(head: list[str], rows: list[list[str]]) -> list[str]:
    """An HTML table, left-aligned (as the Markdown tables), its cells given as HTML."""
    left = ' style="text-align: left"'
    out = ["<table>", "<thead><tr>" + "".join(f"<th{left}>{h}</th>" for h in head) + "</tr></thead>", "<tbody>"]
    out += ["<tr>" + "".join(f"<td{left}>{entry}</td>" for entry in row) + "</tr>" for row in rows]
    return [*out, "</tbody>", "</table>"]


def to_html(derivation: Derivation, notation: str, title: str) -> str:
    """The Markdown rendering's tables written as HTML, each formula one ``$…$`` for MathJax.

    Jupyter (JupyterLab, nbconvert's HTML) prefers this to the Markdown, whose table cells a
    formula containing ``|`` (``\\left|x\\right|``) splits apart.  Text is HTML-escaped, ``$``
    in it written ``\\$`` (MathJax's escape), so only the formulas' delimiters reach MathJax.
    """
    out = ['<div class="matgrad-explanation">', f"<p><strong>{html_words(title)}</strong></p>"]
    out += [f"<p><em>{html_words(line)}</em></p>" for line in layout_line(derivation)]
    forward = [[html_math(name), html_math(text), html_words(str(shape))]
               for name, text, shape in forward_lines(derivation, True)]
    out += html_table(["quantity", "definition", "shape"], forward)
    out.append(f"<p><em>{html_words(TITLES[notation])}</em></p>")
    backward = []
    for line in derivation.lines:
        formula = formula_text(derivation, line.formula, latex=True) + notes(derivation, line, latex=True)
        cells = [html_math(latex_name(line.name)), html_math(formula), html_words(str(line.shape)),
                 html_words(", ".join(line.products))]
        backward.append([*cells, html_words(_mark(line))])
    out += html_table(["gradient", "formula", "shape", "product", "check"], backward)
    out += [f"<p>{html_words(check_summary(derivation))}</p>", "</div>"]
    return "\n".join(out)
