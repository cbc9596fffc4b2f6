"""The recorded computation as a picture: one box per primitive, with its shape and the norm of
the gradient of the output with respect to it; parameters and constants drawn apart.

The picture is Graphviz DOT text, which needs nothing to write; SVG, PNG and PDF come from the
``dot`` program when it is installed.  The walk over the graph and the names (``W¹``, ``z¹``,
the user's ``Tensor.name``, ``θ₁`` for unnamed leaves) are ``explain``'s.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from ..explain.api import _network
from ..explain.graph import Constant, Graph, Quantity
from ..reverse import grad_of
from ..tensor import Tensor

FORMATS = ("svg", "png", "pdf")
INSTALL_HINT = (
    "install Graphviz, which provides it: apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
    "(macOS), conda install graphviz, or see https://graphviz.org/download/"
)
PARAMETER_FILL, OPERATION_FILL, CONSTANT_COLOUR = "#cfe2f3", "#fff2cc", "#777777"


class GraphvizNotFoundError(FileNotFoundError):
    """The ``dot`` program is not installed (DOT text can still be written)."""


class GraphDrawing:
    """A computation graph as DOT text (``.source``); ``render``/``save`` draw it with ``dot``.

    Jupyter shows it as SVG when ``dot`` is installed, and as its DOT text otherwise.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def render(self, format: str = "svg") -> bytes:  # noqa: A002  (Graphviz's own word)
        """The picture in ``format`` ("svg", "png", "pdf"), drawn by Graphviz's ``dot``."""
        if format not in FORMATS:
            raise ValueError(f"plot.graph: cannot render {format!r}; formats: {', '.join(FORMATS)} (or save as .dot)")
        program = shutil.which("dot")
        if program is None:
            raise GraphvizNotFoundError(f"plot.graph: drawing {format.upper()} needs the `dot` program; {INSTALL_HINT}")
        done = subprocess.run([program, f"-T{format}"], input=self.source.encode("utf-8"), capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"plot.graph: dot -T{format} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def save(self, path: str | Path) -> Path:
        """Write the DOT text (``.dot``/``.gv``) or the picture (``.svg``, ``.png``, ``.pdf``), by suffix."""
        target = Path(path)
        suffix = target.suffix.lower().lstrip(".")
        if suffix in ("dot", "gv"):
            target.write_text(self.source, encoding="utf-8")
        elif suffix in FORMATS:
            target.write_bytes(self.render(suffix))
        else:
            raise ValueError(f"plot.graph: {target} — name it .dot, .gv, {', '.join('.' + f for f in FORMATS)}")
        return target

    def _repr_svg_(self) -> str | None:
        return self.render("svg").decode("utf-8") if shutil.which("dot") else None

    def _repr_markdown_(self) -> str | None:  # only without dot: Jupyter would prefer it to the SVG
        if shutil.which("dot"):
            return None
        return f"`dot` is not installed ({INSTALL_HINT}); the DOT text:\n\n```dot\n{self.source}\n```"


def graph(
    target: Any,
    *,
    loss: Any = None,
    x: Any = None,
    y: Any = None,
    names: dict[Any, str] | None = None,
    loss_name: str = "C",
) -> GraphDrawing:
    """Draw the graph recorded for ``target``: a Tensor you computed (``mg.plot.graph(C)``), or
    an nn network with ``loss``, ``x`` and ``y`` (layers named ``zˡ``, ``aˡ``, ``Wˡ``, ``bˡ``).

    For a scalar output each node also shows ‖∂C/∂node‖, from one backward sweep that keeps the
    graph (so ``C.backward()`` still works after).  Call it before ``C.backward()``, which frees
    the graph, or use ``C.backward(retain_graph=True)``.
    """
    given = {id(t): name for t, name in (names or {}).items()}
    if hasattr(target, "parameters") and hasattr(target, "forward"):
        if loss is None or x is None or y is None:
            raise ValueError("plot.graph: a network is drawn on examples: pass loss=, x= and y=")
        target, _ = _network(target, loss, x, y, given)  # explain's walk, which names zˡ, aˡ, Wˡ, bˡ
    if not isinstance(target, Tensor):
        raise TypeError(f"plot.graph: expected a Tensor or an nn network, got {type(target).__name__}")
    if not target.requires_grad:
        raise ValueError("plot.graph: nothing was recorded: the value does not depend on a Tensor that requires grad")
    given.setdefault(id(target), loss_name)
    try:
        recorded = Graph(target, given)
    except RuntimeError as error:  # toposort met a node whose inputs backward() already freed
        raise RuntimeError(
            f"plot.graph: {error}. Draw the graph before backward(), or call backward(retain_graph=True)"
        ) from error
    return GraphDrawing(to_dot(recorded, _gradient_norms(recorded)))


def _gradient_norms(recorded: Graph) -> dict[int, float]:
    """‖∂output/∂node‖ for every node, when the output is a scalar (else nothing)."""
    output = recorded.output.tensor
    if output.size != 1:
        return {}
    tensors = [q.tensor for q in recorded.quantities]
    gradients = grad_of([output], tensors, [np.ones_like(output.data)], retain_graph=True)
    return {id(t): float(np.linalg.norm(np.asarray(g))) for t, g in zip(tensors, gradients)}


def to_dot(recorded: Graph, norms: dict[int, float]) -> str:
    """DOT text: nodes left to right from inputs to the output, edges from argument to use."""
    output_name = recorded.output.name or "output"
    lines = [
        "digraph matgrad {",
        '  rankdir=LR; labelloc=b; fontname="Helvetica"; fontsize=10;',
        f'  label="{_escape(_legend(output_name, bool(norms)))}";',
        '  node [fontname="Helvetica", fontsize=11]; edge [fontsize=9, color="#555555"];',
    ]
    ids = {id(q): f"q{q.position}" for q in recorded.quantities}
    ids.update({id(c): f"k{i}" for i, c in enumerate(recorded.constants)})
    for constant in recorded.constants:
        lines.append(f"  {ids[id(constant)]} {_constant_node(constant)};")
    for quantity in recorded.quantities:
        is_output = quantity is recorded.output
        lines.append(f"  {ids[id(quantity)]} {_quantity_node(quantity, norms, output_name, is_output)};")
    for quantity in recorded.quantities:
        for position, argument in enumerate(quantity.args):
            label = f' [label="{position}"]' if len(quantity.args) > 1 else ""
            lines.append(f"  {ids[id(argument)]} -> {ids[id(quantity)]}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quantity_node(quantity: Quantity, norms: dict[int, float], output_name: str, is_output: bool) -> str:
    rows = []
    if quantity.is_leaf:
        rows.append(quantity.name or "leaf")
        style = f'shape=box, style="rounded,filled", fillcolor="{PARAMETER_FILL}"'
    else:
        operation = quantity.prim.name + _parameters_text(quantity.params)
        rows.append(f"{quantity.name} = {operation}" if quantity.name else operation)
        style = f'shape=box, style=filled, fillcolor="{OPERATION_FILL}"'
    rows.append(_shape_text(quantity.shape))
    if is_output and quantity.tensor.size == 1:
        rows.append(f"value {float(quantity.value.reshape(-1)[0]):.4g}")
    elif id(quantity.tensor) in norms:
        rows.append(f"‖∂{output_name}/∂{quantity.name or '·'}‖ = {norms[id(quantity.tensor)]:.3g}")
    if is_output:
        style += ", peripheries=2"
    return f'[label="{_escape_rows(rows)}", {style}]'


def _constant_node(constant: Constant) -> str:
    if constant.name is None:  # a number in the formula, such as the ½ of ½‖a − y‖²
        number = f"{float(np.asarray(constant.value)):g}"
        return f'[label="{_escape(number)}", shape=plaintext, fontcolor="{CONSTANT_COLOUR}"]'
    rows = [constant.name, _shape_text(constant.shape)]
    return f'[label="{_escape_rows(rows)}", shape=box, style=dashed, color="{CONSTANT_COLOUR}", fontcolor="#333333"]'


def _legend(output_name: str, with_norms: bool) -> str:
    norm = f"; ‖∂{output_name}/∂·‖: norm of the gradient at the node" if with_norms else ""
    return f"blue: parameters (leaves that require grad); dashed: data and constants; yellow: primitives{norm}"


def _parameters_text(params: dict) -> str:
    shown = {key: value for key, value in params.items() if value not in (None, False)}  # defaults say nothing
    if not shown:
        return ""
    text = ", ".join(f"{key}={value!r}" for key, value in shown.items())
    return f"({text if len(text) <= 40 else text[:39] + '…'})"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else str(tuple(shape))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _escape_rows(rows: list[str]) -> str:
    return "\\n".join(_escape(row) for row in rows)
