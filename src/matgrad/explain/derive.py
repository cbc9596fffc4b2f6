"""The derivation: one line per named quantity, each built from the table's notation column and
checked against the engine's gradient.

The gradient of a quantity is the sum, over the places it is used, of the consumer's VJP formula
(``notation.vjp[i]``) with ``g`` replaced by the consumer's own gradient.  Gradients of
pre-activations ``zˡ`` are written ``δˡ`` and referred to by name (seed 001's recursion); other
gradients are written out where they are used.  Each line is evaluated with NumPy from its own
formula — the δ it mentions taking the engine's values — and compared with the engine's gradient
of the same quantity, so a rule and its notation that disagree are flagged on that line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..reverse import grad_of
from ..symbolic import Expr, Num, Structural, Sym, bind, evaluate, simplify, substitute
from ..symbolic.readable import readable
from .graph import Graph, Quantity

_SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
UPSTREAM = "upstream:u"  # the symbol of the vector u in ∂(uᵀf)/∂q


@dataclass
class Line:
    """``lhs = rhs`` for one quantity, with its shape, the products it uses and its check."""

    quantity: Quantity
    symbol: str  # the gradient's symbol, e.g. "g:q7"
    name: str  # how the gradient is written, e.g. "δ²" or "∂C/∂W²"
    formula: Expr  # as shown: the readable form of ``derived`` (see symbolic/readable.py)
    products: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    value: np.ndarray | None = None
    engine: np.ndarray | None = None
    error: float = float("nan")
    ok: bool = False
    problem: str | None = None
    differential_error: float = float("nan")  # ⟨G, J dq⟩ vs ⟨∂C/∂q, dq⟩, when the differential is read
    displayed_shape: tuple[int, ...] | None = None  # in the other layout, the transposed shape
    derived: Expr | None = None  # the formula as the chain rule built it, before it was made readable
    assumptions: list[tuple[Expr, Expr]] = field(default_factory=list)  # facts of the data it uses: Σⱼ y = 1

    @property
    def shape(self) -> tuple[int, ...]:
        return self.displayed_shape if self.displayed_shape is not None else self.quantity.shape


class Derivation:
    """Lines of the backward pass of ``graph`` (see :func:`derive`)."""

    def __init__(self, graph: Graph, loss_name: str, tolerance: float) -> None:
        self.graph = graph
        self.loss_name = loss_name
        self.tolerance = tolerance
        self.lines: list[Line] = []
        self._by_quantity: dict[int, Line] = {}
        self._engine: dict[int, np.ndarray] = {}
        # Set when re-rendered in the other layout (see layout.py): the transposed values and the
        # forward formulas rewritten for them.
        self.layout: str | None = None
        self.env: dict[str, Any] | None = None
        self.definitions: dict[int, Expr] = {}
        self.facts: dict[str, str] = {}  # symbol → draw constraint ("symmetric", "simplex", …)
        self.extra_values: dict[str, Any] = {}  # symbols the readable forms introduce (a count N)
        self.extra_names: dict[str, str] = {}
        self.output_gradient: Expr = Num(1.0)  # ∂loss/∂loss; the symbol u for a vector output
        self.jacobians: list[Any] = []  # for a vector output: the Jacobians read off (vector.py)
        self.jacobian_layout = "numerator"

    def definition(self, quantity: Quantity) -> Expr:
        """The forward formula of a computed quantity, as this derivation writes it."""
        return self.definitions.get(id(quantity)) or self.graph.definition(quantity)

    def gradient_name(self, quantity: Quantity) -> str:
        name = quantity.name or "?"
        if self.output_gradient != Num(1.0):  # a vector output: the VJP with the vector u
            return f"∂(uᵀ{self.loss_name})/∂{name}"
        if name.startswith("z") and (len(name) == 1 or name[1] in _SUPERSCRIPT_DIGITS):
            return "δ" + name[1:]
        return f"∂{self.loss_name}/∂{name}"

    def names(self) -> dict[str, str]:
        names = self.graph.display_names()
        names.update({line.symbol: line.name for line in self.lines})
        names.update(self.extra_names)
        return names

    @property
    def worst_error(self) -> float:
        return max((line.error for line in self.lines), default=0.0)

    @property
    def ok(self) -> bool:
        jacobians_ok = all(j.ok for j in self.jacobians if j.formula is not None)
        return all(line.ok for line in self.lines) and jacobians_ok


def derive(
    graph: Graph,
    loss_name: str = "C",
    tolerance: float | None = None,
    closed_forms: bool = False,
    facts: dict[str, str] | None = None,
    show: set[str] | None = None,
    upstream: np.ndarray | None = None,
) -> Derivation:
    """Build and check the lines of ``∂loss/∂q`` for every named quantity ``q`` (those named in
    ``show``, when given).  ``upstream``, for an output with more than one entry, is the vector u
    of the VJP: each line is then ``∂(uᵀf)/∂q``, written with the symbol ``u``."""
    dtype = graph.output.tensor.dtype
    derivation = Derivation(graph, loss_name, tolerance or (1e-9 if dtype == np.float64 else 1e-4))
    derivation.facts = dict(facts or {})
    if upstream is not None:  # the output's gradient is the symbol u, its value the VJP's seed
        derivation.output_gradient = Sym(UPSTREAM)
        derivation.extra_values[UPSTREAM], derivation.extra_names[UPSTREAM] = np.asarray(upstream, dtype), "u"
    named = [q for q in graph.quantities if q.name is not None and q is not graph.output]
    if show is not None:
        named = [q for q in named if q.name in show or not q.is_leaf]
    seed = [np.ones(graph.output.shape, dtype) if upstream is None else np.asarray(upstream, dtype)]
    engine = grad_of([graph.output.tensor], [q.tensor for q in named], seed, retain_graph=True)
    derivation._engine = {id(q): np.asarray(g) for q, g in zip(named, engine)}
    for quantity in _line_order(graph, named):
        line = Line(quantity, f"g:{quantity.symbol}", derivation.gradient_name(quantity), Num(0.0))
        derivation.lines.append(line)
        derivation._by_quantity[id(quantity)] = line
    cache: dict[int, Expr] = {}
    for line in derivation.lines:
        line.formula = gradient_formula(derivation, line.quantity, cache)
        for consumer, argnum in line.quantity.consumers:  # the step that makes this line
            _note(line.products, _product_name(consumer, argnum, line.quantity))
            _note(line.reasons, consumer.prim.notation.why)
    for line in derivation.lines:
        make_readable(derivation, line)
    if closed_forms:
        inline(derivation)
    return derivation


def _line_order(graph: Graph, named: list[Quantity]) -> list[Quantity]:
    """Consumers before producers; a parameter right after the first named quantity using it."""

    def anchor(q: Quantity) -> int:
        if not q.is_leaf:
            return q.position
        return min((_nearest_named(c) for c, _ in q.consumers), default=q.position)

    return sorted(named, key=lambda q: (-anchor(q), 0 if not q.is_leaf else 1, q.position))


def _nearest_named(q: Quantity) -> int:
    while q.name is None and q.consumers:
        q = q.consumers[0][0]
    return q.position


def references_by_name(derivation: Derivation, quantity: Quantity) -> bool:
    line = derivation._by_quantity.get(id(quantity))
    return line is not None and line.name.startswith("δ")


def gradient_formula(derivation: Derivation, quantity: Quantity, cache: dict) -> Expr:
    """∂loss/∂quantity as a formula in named quantities and the δ symbols."""
    if quantity is derivation.graph.output:
        return derivation.output_gradient
    if id(quantity) in cache:
        return cache[id(quantity)]
    total: Expr | None = None
    for consumer, argnum in quantity.consumers:
        if references_by_name(derivation, consumer):
            upstream: Expr = Sym(f"g:{consumer.symbol}")
        else:
            upstream = gradient_formula(derivation, consumer, cache)
        term = _summed_to_shape(derivation, step_formula(derivation.graph, consumer, argnum, upstream), quantity)
        total = term if total is None else total + term
    result = simplify(total if total is not None else Num(0.0))
    cache[id(quantity)] = result
    return result


def step_formula(graph: Graph, consumer: Quantity, argnum: int, upstream: Expr) -> Expr:
    """One step of the chain rule: the consumer's VJP formula from the table, ``g`` = ``upstream``."""
    notation = consumer.prim.notation
    formula = notation.vjp[min(argnum, len(notation.vjp) - 1)]
    mapping = {"g": upstream, "out": graph.ref(consumer)}
    mapping.update({f"x{j}": graph.ref(arg) for j, arg in enumerate(consumer.args)})
    return bind(substitute(formula, mapping), graph.context(consumer, argnum))


def _product_name(consumer: Quantity, argnum: int, quantity: Quantity) -> str:
    """The product a VJP uses; for a leaf of a matrix product, say which: for a vector, a
    matrix-vector product (Wᵀ g), for a matrix times a vector, an outer product (g hᵀ), and
    for two matrices, one outer product per column of the batch, summed."""
    notation = consumer.prim.notation
    product = notation.product[min(argnum, len(notation.product) - 1)]
    if consumer.prim.name != "matmul" or not quantity.is_leaf:
        return product
    a_shape, b_shape = (np.shape(arg.value) for arg in consumer.args)
    own, other = (a_shape, b_shape) if argnum == 0 else (b_shape, a_shape)
    if len(own) < 2:
        return "scalar times vector" if len(other) < 2 else "matrix-vector product"
    if len(other) < 2:
        return "outer product"
    batch = b_shape[-1] if argnum == 0 else a_shape[-2]
    return "outer product" if batch == 1 else f"sum of {batch} outer products (one matrix product)"


def _note(items: list, item: str) -> None:
    if item not in items:
        items.append(item)


def _summed_to_shape(derivation: Derivation, term: Expr, quantity: Quantity) -> Expr:
    """Sum a term over the axes along which the quantity was broadcast (a bias over a batch)."""
    try:
        shape = np.shape(evaluate(term, environment(derivation)))
    except (KeyError, ValueError, TypeError):
        return term
    target = quantity.shape
    if shape == target or (len(shape) <= len(target) and np.broadcast_shapes(shape, target) == target):
        return term
    lead = len(shape) - len(target)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(target) if n == 1 and shape[lead + i] != 1)
    text = "Σₙ {0}" if len(axes) == 1 else "Σ_broadcast({0})"  # one summed axis: the batch
    latex = r"\sum_n {0}" if len(axes) == 1 else r"\sum_{\mathrm{broadcast}} {0}"

    def total(value: Any, _context: dict) -> np.ndarray:
        return np.sum(value, axis=axes, keepdims=True).reshape(target)

    return Structural("sum_broadcast", term, text, latex, total)


def environment(derivation: Derivation) -> dict[str, Any]:
    if derivation.env is not None:
        return dict(derivation.env)
    env = derivation.graph.values()
    env.update(
        {f"g:{q.symbol}": derivation._engine[id(q)] for q in derivation.graph.quantities if id(q) in derivation._engine}
    )
    env.update(derivation.extra_values)
    return env


def inline(derivation: Derivation) -> None:
    """Closed forms: replace every δ by its own formula (seed 000's ∂J/∂W = Hᵀ((Y − Y*) ⊙ f'(HW + B))),
    and check the lines again."""
    formulas: dict[str, Expr] = {}
    for line in derivation.lines:  # consumers first, so each δ is already closed when used
        line.formula = simplify(substitute(line.derived or line.formula, formulas))
        if line.name.startswith("δ"):
            formulas[line.symbol] = line.formula
        make_readable(derivation, line)


def tidy(derivation: Derivation, expr: Expr) -> Expr:
    """``expr`` in its readable form (symbolic/readable.py), checked on the derivation's values."""
    reading = readable(expr, environment(derivation), derivation.facts, derivation.tolerance, derivation.names())
    if reading.assumptions:  # a form that rests on a fact is shown only where the fact is stated
        return expr
    derivation.extra_values.update(reading.values)
    derivation.extra_names.update(reading.names)
    return reading.expr


def make_readable(derivation: Derivation, line: Line) -> None:
    """Check the line as derived, then show its readable form (symbolic/readable.py) if that
    checks too; a reading that would not is never shown."""
    line.derived = line.formula
    check_line(derivation, line)
    if not line.ok:
        return
    reading = readable(
        line.formula, environment(derivation), derivation.facts, derivation.tolerance, derivation.names()
    )
    if reading.expr is line.formula:
        return
    derivation.extra_values.update(reading.values)
    derivation.extra_names.update(reading.names)
    line.formula, line.assumptions = reading.expr, reading.assumptions
    check_line(derivation, line)
    if not line.ok:  # cannot happen: the reading was checked against the derived formula
        line.formula, line.assumptions = line.derived, []
        check_line(derivation, line)


def check_line(derivation: Derivation, line: Line) -> None:
    """Evaluate the line's formula and compare it with the engine's gradient."""
    engine = derivation._engine[id(line.quantity)]
    line.engine, line.problem, line.value = engine, None, None
    try:
        value = np.asarray(evaluate(line.formula, environment(derivation)), dtype=np.float64)
        value = np.broadcast_to(value, line.shape) if value.shape != line.shape else value
    except (KeyError, ValueError, TypeError) as error:
        line.problem = f"could not evaluate the formula: {error}"
        return
    line.value = value
    scale = max(float(np.max(np.abs(engine))) if engine.size else 0.0, 1.0)
    line.error = float(np.max(np.abs(value - engine))) / scale if engine.size else 0.0
    line.ok = bool(line.error <= derivation.tolerance)
    if not line.ok:
        line.problem = (
            f"the formula gives values that differ from the engine's gradient by {line.error:.2e} "
            f"(relative to the largest entry): the rule or its notation is wrong"
        )
