"""What ``check`` compares: a function ``f``, a claimed gradient, the inputs, and random draws of them.

``f`` and the claim are formulas typed as text (parsed by :mod:`matgrad.formula`, never
``eval``) or Python callables taking the inputs by name.  Each input is given as a shape (drawn
anew on every draw, under an optional constraint) or as a value (held fixed).  A :class:`Draw`
holds one set of inputs, matgrad's gradient ∂f/∂wrt there and the claim's value there.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..formula import (
    CONSTRAINTS,
    Formula,
    FormulaError,
    Node,
    Var,
    check_constraint,
    check_finite,
    check_input_sizes,
    default_constraints,
    draw_input,
    parse,
    split_inputs,
    walk,
)
from ..formula.parser import did_you_mean
from ..formula.shapes import formula_class_axis, resolve_constraints
from ..reverse import grad_of
from ..tensor import Tensor
from ..transforms import hessian as hessian_of
from ..transforms import jacrev


@dataclass(frozen=True)
class Draw:
    """One draw: the inputs, ∂f/∂wrt at them (matgrad's reverse mode) and the claim at them."""

    inputs: dict[str, np.ndarray]
    grad: np.ndarray
    claim: np.ndarray


@dataclass(frozen=True)
class Problem:
    """A checked claim: ``f`` and ``claim`` as formulas or callables, the names ``f`` uses, the
    shapes of all inputs, the inputs held fixed, the constraints of the drawn ones."""

    f: Formula | Callable[..., Any]
    claim: Formula | Callable[..., Any]
    names: tuple[str, ...]
    claim_names: tuple[str, ...]
    wrt: str
    shapes: dict[str, tuple[int, ...]]
    fixed: dict[str, np.ndarray]
    constraints: dict[str, str]
    notes: tuple[str, ...] = ()
    #: what the claim is: ``"gradient"`` (f scalar), ``"jacobian"`` (f not), or ``"hessian"`` (asked for)
    derivative: str = "gradient"
    #: a Jacobian's layout: ``"numerator"`` (f's entries by wrt's, m×n) or ``"denominator"`` (n×m)
    layout: str = "numerator"

    @property
    def target(self) -> str:
        """``∂f/∂w``, ``the Jacobian ∂f/∂x``, ``the Hessian ∂²f/∂x²``."""
        return {"gradient": f"∂f/∂{self.wrt}", "jacobian": f"the Jacobian ∂f/∂{self.wrt}",
                "hessian": f"the Hessian ∂²f/∂{self.wrt}²"}[self.derivative]

    @property
    def symbol(self) -> str:
        """The target in formulas: ``∂f/∂w``, ``J``, ``H``."""
        return {"gradient": f"∂f/∂{self.wrt}", "jacobian": "J", "hessian": "H"}[self.derivative]

    @property
    def claim_formula(self) -> Formula | None:
        return self.claim if isinstance(self.claim, Formula) else None

    @property
    def f_formula(self) -> Formula | None:
        return self.f if isinstance(self.f, Formula) else None

    def draw(self, rng: np.random.Generator, extra: dict[str, str] | None = None) -> dict[str, np.ndarray]:
        """New values of the drawn inputs (``extra`` adds constraints, e.g. symmetric), the fixed ones as given."""
        constraints = {**self.constraints, **(extra or {})}
        return {
            name: self.fixed[name]
            if name in self.fixed
            else draw_input(rng, self.shapes[name], constraints.get(name), name)
            for name in self.names
        }

    def claim_at(self, inputs: dict[str, Any]) -> np.ndarray:
        given = {name: inputs[name] for name in self.claim_names}
        with np.errstate(all="ignore"):
            if isinstance(self.claim, Formula):
                value = _in("the claim", self.claim, self.claim.evaluate, given)
            else:
                value = self.claim(**given)
        return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)

    def tree_at(self, tree: Node, inputs: dict[str, Any]) -> np.ndarray:
        """A variant of the claim formula (its tree rewritten) at ``inputs``, as an array."""
        assert isinstance(self.claim, Formula)
        names = tuple(dict.fromkeys(node.name for node in walk(tree) if isinstance(node, Var)))
        variant = Formula(self.claim.text, names, tree, self.claim.line)
        with np.errstate(all="ignore"):
            value = variant.evaluate(**{name: inputs[name] for name in names})
        return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)

    def evaluate(self, inputs: dict[str, np.ndarray], number: int) -> Draw:
        """f, ∂f/∂wrt and the claim at ``inputs``; a non-finite f or gradient is a FormulaError."""
        tensors = {name: Tensor(value, requires_grad=name == self.wrt, name=name) for name, value in inputs.items()}
        output = self.output(tensors)
        if self.derivative != "gradient":
            return self._second(inputs, output, number)
        if isinstance(output, Tensor) and output.requires_grad:
            with np.errstate(all="ignore"):  # a non-finite gradient is refused below, in one line
                grad = np.asarray(grad_of([output], [tensors[self.wrt]], [np.ones_like(output.data)])[0])
        else:  # f does not depend on wrt
            grad = np.zeros(self.shapes[self.wrt])
        value = output.data if isinstance(output, Tensor) else np.asarray(output)
        if not np.all(np.isfinite(value)) and isinstance(self.f, Formula):  # name the part that left its domain
            self._check_domain(inputs, number)
        if not (np.all(np.isfinite(value)) and np.all(np.isfinite(grad))):
            raise FormulaError(
                f"f or ∂f/∂{self.wrt} is not finite on draw {number} (a log, sqrt or division of a number that can be "
                f"negative or zero?); draw the inputs under a constraint ({', '.join(CONSTRAINTS)}; "
                "e.g. --positive NAME)"
            )
        claim = self.claim_at(inputs)
        if claim.size == grad.size == 1 and claim.shape != grad.shape:  # a 1×1 matrix is a scalar, and back
            claim = claim.reshape(grad.shape)
        return Draw(inputs, grad, claim)

    def _second(self, inputs: dict[str, np.ndarray], output: Any, number: int) -> Draw:
        """A draw for a Jacobian (in the layout asked) or a Hessian claim, by matgrad's jacrev."""
        value = output.data if isinstance(output, Tensor) else np.asarray(output)
        if not np.all(np.isfinite(value)) and isinstance(self.f, Formula):
            self._check_domain(inputs, number)

        def at(v: Any) -> Any:
            result = self.output({**{n: Tensor(x, name=n) for n, x in inputs.items() if n != self.wrt}, self.wrt: v})
            return result if isinstance(result, Tensor) else Tensor(np.asarray(result, dtype=np.float64))

        x = inputs[self.wrt]
        with np.errstate(all="ignore"):
            if self.derivative == "hessian":
                target = np.asarray(hessian_of(at)(x)).reshape(vector_shape(x.shape) * 2)
            else:
                jacobian = np.asarray(jacrev(at)(x)).reshape(vector_shape(np.shape(value)) + vector_shape(x.shape))
                if self.layout == "denominator":
                    k = len(vector_shape(np.shape(value)))
                    jacobian = np.transpose(jacobian, [*range(k, jacobian.ndim), *range(k)])
                target = jacobian
        if not (np.all(np.isfinite(value)) and np.all(np.isfinite(target))):
            raise FormulaError(f"f or {self.target} is not finite on draw {number}; draw the inputs under a "
                               f"constraint ({', '.join(CONSTRAINTS)}; e.g. --positive NAME)")
        claim = self.claim_at(inputs)
        if claim.shape != target.shape and vector_shape(claim.shape) == target.shape and len(target.shape) <= 1:
            claim = claim.reshape(target.shape)  # a column or a row for a vector (or 1×1 for a number): the same
        return Draw(inputs, target, claim)

    def _check_domain(self, inputs: dict[str, np.ndarray], number: int) -> None:
        """The FormulaError of :func:`check_finite` for f, with the draw and every constraint named."""
        try:
            check_finite(self.f, {name: inputs[name] for name in self.f.names}, self.constraints)
        except FormulaError as error:
            located = FormulaError(f"f {self.f.text!r} is not finite on draw {number}: {error}; the constraints: "
                                   f"{', '.join(CONSTRAINTS)} (--positive NAME and so on)")
            located.text, located.column = error.text, error.column
            raise located from None

    def output(self, tensors: dict[str, Tensor]) -> Any:
        """f at Tensors (recorded), refusing anything but a scalar."""
        with np.errstate(all="ignore"):
            if isinstance(self.f, Formula):
                output = _in("f", self.f, self.f.evaluate, tensors)
            else:
                output = self.f(**tensors)
        size = np.size(output.data if isinstance(output, Tensor) else output)
        if size != 1 and self.derivative != "jacobian":
            what = "for a Hessian" if self.derivative == "hessian" else "to differentiate"
            raise FormulaError(f"f must give a scalar {what}; it gives shape {np.shape(output)}")
        return output


def _in(role: str, formula: Formula, evaluate: Callable[..., Any], values: dict[str, Any]) -> Any:
    """Evaluate, naming the formula in the error: ``the claim 'B@A': cannot compute ... at column 1``."""
    try:
        return evaluate(**values)
    except FormulaError as error:
        raise _located(role, formula.text, error) from None


def _located(role: str, text: str, error: FormulaError) -> FormulaError:
    located = FormulaError(f"{role} {text!r}: {error}")
    located.text, located.column = error.text, error.column
    return located


def _parse(role: str, given: Any) -> Formula | Callable[..., Any]:
    if isinstance(given, str):
        try:
            return parse(given)
        except FormulaError as error:
            raise _located(role, given, error) from None
    if callable(given):
        return given
    raise TypeError(f"check_gradient: {role} must be a formula (str) or a callable, got {type(given).__name__}")


def _names(function: Formula | Callable[..., Any]) -> tuple[str, ...]:
    if isinstance(function, Formula):
        return function.names
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in inspect.signature(function).parameters.values() if p.kind in kinds)


def _check_inputs(names: tuple[str, ...], given: dict[str, Any]) -> None:
    missing = [name for name in names if name not in given]
    extra = [name for name in given if name not in names]
    parts = []
    if missing:
        parts.append("no shape or value for " + ", ".join(repr(n) + did_you_mean(n, extra) for n in missing))
    if extra:
        parts.append(f"inputs given for names f does not use: {', '.join(map(repr, extra))}")
    if parts:
        raise FormulaError(f"{'; '.join(parts)} (f uses {', '.join(names) or 'no names'})")


def _check_constraints(names: tuple[str, ...], fixed: dict[str, Any], constraints: dict[str, str]) -> None:
    for name, kind in constraints.items():
        if name not in names:
            raise FormulaError(f"constraint for {name!r}, which f does not use{did_you_mean(name, names)}")
        check_constraint(name, kind)
        if name in fixed:
            raise FormulaError(f"constraint {kind!r} for {name!r}, whose value is given (only drawn inputs take one)")


def vector_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A column n×1 or a row 1×n as the vector (n,) it is, in a Jacobian's or a Hessian's shape; a 1×1
    or a 0-d value as no axis at all; anything else as it is."""
    if int(np.prod(shape)) == 1:
        return ()
    if len(shape) == 2 and 1 in shape:
        return (max(shape),)
    return tuple(shape)


def build(f: Any, claim: Any, wrt: str, inputs: dict[str, Any], constraints: dict[str, str] | None,
          hessian: bool = False, layout: str = "numerator") -> Problem:
    """Parse and check everything before the first draw; every problem is a FormulaError.

    f giving more than one number makes the claim a Jacobian (in ``layout``); ``hessian``: a Hessian."""
    f, claim = _parse("f", f), _parse("the claim", claim)
    names, claim_names = _names(f), _names(claim)
    if wrt not in names:
        raise FormulaError(f"wrt {wrt!r} is not a name f uses{did_you_mean(wrt, names)} (f uses {', '.join(names)})")
    unknown = [name for name in claim_names if name not in names]
    if unknown:
        close = did_you_mean(unknown[0], names).strip(" ()")
        detail = f"{close + ' ' if close else ''}the claim may use only the names of f: {', '.join(names)}"
        if isinstance(claim, Formula):
            at = next(node.span[0] for node in walk(claim.tree) if isinstance(node, Var) and node.name == unknown[0])
            raise FormulaError(f"unknown name {unknown[0]!r} in the claim {claim.text!r}", claim.line, at + 1, detail)
        raise FormulaError(f"unknown name {unknown[0]!r} in the claim: {detail}")
    _check_inputs(names, inputs)
    shapes, fixed = split_inputs(inputs)
    check_input_sizes({name: shape for name, shape in shapes.items() if name not in fixed})  # the drawn ones
    constraints = dict(constraints or {})
    _check_constraints(names, fixed, constraints)
    resolved = resolve_constraints(f if isinstance(f, Formula) else None, shapes, constraints)
    notes = tuple(_axis_note(f, name, kind, resolved[name], shapes[name]) for name, kind in constraints.items()
                  if resolved[name] != kind and len([n for n in shapes[name] if n > 1]) > 1)
    if layout not in ("numerator", "denominator"):
        raise FormulaError(f"unknown Jacobian layout {layout!r} (numerator: f's entries by {wrt}'s; denominator)")
    problem = Problem(f, claim, names, claim_names, wrt, shapes, fixed,
                      {**_defaults(f, shapes, fixed), **resolved}, notes, "hessian" if hessian else "gradient", layout)
    if hessian:
        return problem
    probe = problem.draw(np.random.default_rng(0))  # is f a scalar? one draw of its own tells
    jacobian = dataclasses.replace(problem, derivative="jacobian")
    output = jacobian.output({name: Tensor(value, name=name) for name, value in probe.items()})
    return jacobian if np.size(output.data if isinstance(output, Tensor) else output) != 1 else problem


def _axis_note(f: Any, name: str, kind: str, resolved: str, shape: tuple[int, ...]) -> str:
    """How a matrix drawn one-hot or simplex without an axis was drawn, and how to ask for another axis."""
    axis = int(resolved.partition(":")[2])
    default = not isinstance(f, Formula) or formula_class_axis(f, name, len(shape)) is None
    what = {"onehot": "one-hot", "simplex": "as probabilities summing to 1"}[kind]
    why = ("the last axis: one example per row, as nothing in f says otherwise" if default
           else "the axis of the softmax, log_softmax or sum in f that it multiplies")
    other = 0 if axis == len(shape) - 1 else len(shape) - 1
    return f"({name} was drawn {what} along axis {axis}, {why}; --{kind} {name}:{other} draws it along axis {other})"


def _defaults(f: Formula | Callable[..., Any], shapes: dict[str, tuple[int, ...]], fixed: dict) -> dict[str, str]:
    """An invertible or SPD draw for a matrix that f only inverts (``log(det(X))``), as explain does."""
    if not isinstance(f, Formula):
        return {}
    return {name: kind for name, kind in default_constraints(f, shapes).items() if name not in fixed}
