"""The recorded computation as a picture: one box per primitive, with its formula, its shape and
the norm of the gradient of the output with respect to it; parameters and data drawn apart.

The walk over the graph, the names (``W¹``, ``z¹``, the user's ``Tensor.name``, ``θ₁`` for
unnamed leaves) and the formulas (``z¹ = W¹ x + b¹``) are ``explain``'s.  Numbers are shown in
the formulas of the boxes that use them, and an operation that changes nothing — the division by
a batch of 1 in a mean — is folded away, its name moved to its argument.

Two engines draw it: matplotlib (the default: a pip install, laid out top to bottom by
:mod:`.graph_layout` at a bounded width) and Graphviz's ``dot`` program, when installed, from the
DOT text that is always available (``.source``) and carries the same labels.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..explain.api import recorded_network
from ..explain.graph import Constant, Graph, Quantity
from ..reverse import grad_of
from ..symbolic import render, simplify
from ..symbolic.render import scalar_test
from ..tensor import Tensor

FORMATS = ("svg", "png", "pdf")
ENGINES = ("matplotlib", "dot")
DPI = 100
INSTALL_HINT = (
    "install Graphviz, which provides it: apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
    "(macOS), conda install graphviz, or see https://graphviz.org/download/"
)
PARAMETER_FILL, OPERATION_FILL, CONSTANT_COLOUR = "#cfe2f3", "#fff2cc", "#777777"
FORMULA_CHARACTERS = 40  # a longer formula (an unnamed chain inlined) is cut with "…"


class GraphvizNotFoundError(FileNotFoundError):
    """The ``dot`` program is not installed (DOT text can still be written, and matplotlib draws)."""


@dataclass
class Box:
    """One node of the picture: ``rows[0]`` is its heading (a name, a formula), then its shape and ‖∂C/∂·‖."""

    key: str
    kind: str  # "parameter", "operation" or "data"
    rows: list[str]
    output: bool = False


@dataclass
class Picture:
    """What both engines draw: boxes in the order computed, edges from argument to use."""

    boxes: list[Box]
    edges: list[tuple[str, str]]
    legend: str
    by_key: dict[str, Box] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {box.key: box for box in self.boxes}


class GraphDrawing:
    """A computation graph: ``.picture`` (boxes and edges), ``.source`` (its DOT text);
    ``render``/``save`` draw it with matplotlib (default) or Graphviz's ``dot``.

    Jupyter shows it as SVG.
    """

    def __init__(self, source: str, picture: Picture | None = None) -> None:
        self.source = source
        self.picture = picture

    def __str__(self) -> str:
        return self.source

    def render(self, format: str = "svg", engine: str = "matplotlib", dpi: float = DPI) -> bytes:  # noqa: A002
        """The picture in ``format`` ("svg", "png", "pdf"), drawn by ``engine`` ("matplotlib" or "dot")."""
        if format not in FORMATS:
            raise ValueError(f"plot.graph: cannot render {format!r}; formats: {', '.join(FORMATS)} (or save as .dot)")
        if engine not in ENGINES:
            raise ValueError(f"plot.graph: engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if engine == "matplotlib":
            return self._matplotlib(format, dpi)
        program = shutil.which("dot")
        if program is None:
            raise GraphvizNotFoundError(
                f"plot.graph: drawing {format.upper()} with engine='dot' needs the `dot` program; {INSTALL_HINT}; "
                "or draw with engine='matplotlib'"
            )
        done = subprocess.run([program, f"-T{format}"], input=self.source.encode("utf-8"), capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"plot.graph: dot -T{format} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def figure(self) -> Any:
        """The matplotlib figure of the picture (a ``Figure`` on the Agg canvas)."""
        if self.picture is None:
            raise ValueError("plot.graph: this drawing holds DOT text only; draw it with engine='dot'")
        try:
            from .graph_figure import draw
        except ModuleNotFoundError as error:
            if error.name is None or not error.name.startswith("matplotlib"):
                raise
            raise ImportError(
                'plot.graph draws with matplotlib, which is not installed: pip install "matgrad[cli]" '
                "(or draw with engine='dot', which needs Graphviz)"
            ) from error
        return draw(self.picture)

    def _matplotlib(self, format: str, dpi: float) -> bytes:  # noqa: A002
        import io

        import matplotlib

        buffer = io.BytesIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "matgrad"}):
            self.figure().savefig(buffer, format=format, dpi=dpi)  # SVG text stays text: W¹ is searchable
        return buffer.getvalue()

    def save(self, path: str | Path, engine: str = "matplotlib", dpi: float = DPI) -> Path:
        """Write the DOT text (``.dot``/``.gv``) or the picture (``.svg``, ``.png``, ``.pdf``), by suffix."""
        target = Path(path)
        suffix = target.suffix.lower().lstrip(".")
        if suffix in ("dot", "gv"):
            target.write_text(self.source, encoding="utf-8")
        elif suffix in FORMATS:
            target.write_bytes(self.render(suffix, engine, dpi))
        else:
            raise ValueError(f"plot.graph: {target} — name it .dot, .gv, {', '.join('.' + f for f in FORMATS)}")
        return target

    def _engine(self) -> str | None:
        """The engine Jupyter can use here: matplotlib when installed, else dot when installed."""
        import importlib.util

        if self.picture is not None and importlib.util.find_spec("matplotlib") is not None:
            return "matplotlib"
        return "dot" if shutil.which("dot") else None

    def _repr_svg_(self) -> str | None:
        engine = self._engine()
        return self.render("svg", engine).decode("utf-8") if engine else None

    def _repr_markdown_(self) -> str | None:  # only when nothing can draw: Jupyter would prefer it to the SVG
        if self._engine():
            return None
        return (
            f'neither matplotlib (pip install "matgrad[cli]") nor `dot` ({INSTALL_HINT}) is installed; '
            f"the DOT text:\n\n```dot\n{self.source}\n```"
        )


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
        target, _ = recorded_network(target, loss, x, y, given)  # explain's walk, which names zˡ, aˡ, Wˡ, bˡ
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
    picture = to_picture(recorded, _gradient_norms(recorded))
    return GraphDrawing(to_dot(picture), picture)


def _gradient_norms(recorded: Graph) -> dict[int, float]:
    """‖∂output/∂node‖ for every node, when the output is a scalar (else nothing)."""
    output = recorded.output.tensor
    if output.size != 1:
        return {}
    tensors = [q.tensor for q in recorded.quantities]
    gradients = grad_of([output], tensors, [np.ones_like(output.data)], retain_graph=True)
    return {id(t): float(np.linalg.norm(np.asarray(g))) for t, g in zip(tensors, gradients)}


# ----- what is drawn ------------------------------------------------------------------------------


def to_picture(recorded: Graph, norms: dict[int, float]) -> Picture:
    """The boxes and edges both engines draw, with explain's names and formulas."""
    kept: dict[int, Quantity] = {}  # id(quantity) -> the quantity drawn for it (itself, or what an identity passes on)
    aliases: dict[int, list[str]] = {}  # names moved onto a drawn quantity by folding
    for quantity in recorded.quantities:
        passed = None if quantity.is_leaf else _identity_argument(quantity)
        if passed is None:
            kept[id(quantity)] = quantity
            continue
        into = kept[id(passed)]
        kept[id(quantity)] = into
        if quantity.name is not None:
            aliases.setdefault(id(into), []).append(quantity.name)
    output = kept[id(recorded.output)]
    output_name = _names(output, aliases)[0] if _names(output, aliases) else "output"
    display = recorded.display_names()
    is_scalar = _scalar_test(recorded)

    boxes, edges = [], []
    keys = {id(c): f"k{i}" for i, c in enumerate(recorded.constants)}
    keys.update({id(q): f"q{q.position}" for q in recorded.quantities})
    for constant in recorded.constants:
        if constant.name is not None:  # numbers appear in the formulas that use them
            boxes.append(Box(keys[id(constant)], "data", [constant.name, _shape_text(constant.shape)]))
    for quantity in recorded.quantities:
        if kept[id(quantity)] is not quantity:
            continue
        names = _names(quantity, aliases)
        if quantity.is_leaf:
            heading, kind = names[0] if names else "leaf", "parameter"
            rows = [heading, _shape_text(quantity.shape)]
        else:
            formula = _formula(recorded, quantity, display, is_scalar)
            heading = " = ".join([*names, formula] if formula else names) or quantity.prim.name
            kind = "operation"
            rows = [heading, f"{quantity.prim.name}{_parameters_text(quantity.params)} → {_shape_text(quantity.shape)}"]
            for argument in quantity.args:
                if isinstance(argument, Quantity):
                    edges.append((keys[id(kept[id(argument)])], keys[id(quantity)]))
                elif argument.name is not None:
                    edges.append((keys[id(argument)], keys[id(quantity)]))
        is_output = quantity is output
        if is_output and quantity.tensor.size == 1:
            rows.append(f"value {float(quantity.value.reshape(-1)[0]):.4g}")
        elif id(quantity.tensor) in norms:
            rows.append(f"‖∂{output_name}/∂{names[0] if names else '·'}‖ = {norms[id(quantity.tensor)]:.3g}")
        boxes.append(Box(keys[id(quantity)], kind, rows, is_output))
    edges = list(dict.fromkeys(edges))
    return Picture(_reading_order(boxes, edges, keys[id(output)]), edges, _legend(output_name, bool(norms)))


def _reading_order(boxes: list[Box], edges: list[tuple[str, str]], output: str) -> list[Box]:
    """The boxes as the formulas read: each operation after its arguments, taken in argument order
    (``W¹`` before ``x`` for ``W¹ x``): the left-to-right order the layout starts from."""
    arguments: dict[str, list[str]] = {}
    for source, target in edges:
        arguments.setdefault(target, []).append(source)
    order: dict[str, None] = {}
    stack = [(output, False)]
    while stack:  # post-order, without recursion (a chain of thousands of primitives is fine)
        key, expanded = stack.pop()
        if key in order:
            continue
        if expanded:
            order[key] = None
            continue
        stack.append((key, True))
        stack.extend((argument, False) for argument in reversed(arguments.get(key, [])) if argument not in order)
    by_key = {box.key: box for box in boxes}
    return [by_key[key] for key in order] + [box for box in boxes if box.key not in order]


def _names(quantity: Quantity, aliases: dict[int, list[str]]) -> list[str]:
    """A drawn quantity's names: those folded into it (the output's C first), then its own."""
    own = [quantity.name] if quantity.name is not None else []
    return [*aliases.get(id(quantity), []), *own]


def _identity_argument(quantity: Quantity) -> Quantity | None:
    """The argument an operation passes on unchanged — x/1, 1·x, x·1, x+0, 0+x, x−0 — else None."""
    if len(quantity.args) != 2:
        return None
    name = quantity.prim.name
    for position, (kept, number) in enumerate((quantity.args, quantity.args[::-1])):
        if not isinstance(kept, Quantity) or not isinstance(number, Constant) or number.name is not None:
            continue
        if np.size(number.value) != 1 or kept.shape != quantity.shape:
            continue
        value = float(np.asarray(number.value).reshape(-1)[0])
        number_on_right = position == 0
        if (
            (name == "mul" and value == 1)
            or (name == "div" and number_on_right and value == 1)
            or (name == "add" and value == 0)
            or (name == "sub" and number_on_right and value == 0)
        ):
            return kept
    return None


def _formula(recorded: Graph, quantity: Quantity, display: dict[str, str], is_scalar: Any) -> str | None:
    """explain's formula for ``quantity`` (unnamed arguments inline), or None where it has none."""
    try:
        text = render(simplify(recorded.definition(quantity)), display, is_scalar=is_scalar)
    except (AttributeError, KeyError, NotImplementedError, TypeError, ValueError):  # a primitive without notation
        return None
    return text if len(text) <= FORMULA_CHARACTERS else text[: FORMULA_CHARACTERS - 1] + "…"


def _scalar_test(recorded: Graph) -> Any:
    return scalar_test(recorded.values())


# ----- DOT ---------------------------------------------------------------------------------------


def to_dot(picture: Picture) -> str:
    """DOT text: nodes top to bottom from inputs to the output, edges from argument to use."""
    lines = [
        "digraph matgrad {",
        '  rankdir=TB; labelloc=b; fontname="Helvetica"; fontsize=10; nodesep=0.25; ranksep=0.35;',
        f'  label="{_escape_rows(textwrap.wrap(picture.legend, 90))}";',  # wrapped: the legend sets no width
        '  node [fontname="Helvetica", fontsize=11]; edge [color="#555555", arrowsize=0.7];',
    ]
    for box in picture.boxes:
        lines.append(f"  {box.key} {_dot_node(box)};")
    for source, target in picture.edges:
        lines.append(f"  {source} -> {target};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(box: Box) -> str:
    style = {
        "parameter": f'shape=box, style="rounded,filled", fillcolor="{PARAMETER_FILL}"',
        "operation": f'shape=box, style=filled, fillcolor="{OPERATION_FILL}"',
        "data": f'shape=box, style=dashed, color="{CONSTANT_COLOUR}", fontcolor="#333333"',
    }[box.kind]
    if box.output:
        style += ", peripheries=2"
    return f'[label="{_escape_rows(box.rows)}", {style}]'


def _legend(output_name: str, with_norms: bool) -> str:
    norm = f"; ‖∂{output_name}/∂·‖: norm of the gradient at the node" if with_norms else ""
    return (
        "blue: parameters (leaves that require grad); dashed: data and constants; yellow: primitives, "
        f"with their formulas (numbers shown in them){norm}"
    )


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
