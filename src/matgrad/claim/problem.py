"""What ``check`` compares: a function ``f``, a claimed gradient, the inputs, and random draws of them.

``f`` and the claim are formulas typed as text (parsed by :mod:`matgrad.formula`, never
``eval``) or Python callables taking the inputs by name.  Each input is given as a shape (drawn
anew on every draw, under an optional constraint) or as a value (held fixed).  A :class:`Draw`
holds one set of inputs, matgrad's gradient ∂f/∂wrt there and the claim's value there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..formula import (
    CONSTRAINTS,
    Formula,
    FormulaError,
    Var,
    check_finite,
    check_input_sizes,
    default_constraints,
    draw_input,
    parse,
    parse_shape,
    walk,
)
from ..formula.parser import did_you_mean
from ..reverse import grad_of
from ..tensor import Tensor


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

    def evaluate(self, inputs: dict[str, np.ndarray], number: int) -> Draw:
        """f, ∂f/∂wrt and the claim at ``inputs``; a non-finite f or gradient is a FormulaError."""
        tensors = {name: Tensor(value, requires_grad=name == self.wrt, name=name) for name, value in inputs.items()}
        output = self.output(tensors)
        if isinstance(output, Tensor) and output.requires_grad:
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
        return Draw(inputs, grad, self.claim_at(inputs))

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
        if np.size(output.data if isinstance(output, Tensor) else output) != 1:
            raise FormulaError(f"f must give a scalar to differentiate; it gives shape {np.shape(output)}")
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


def _split(inputs: dict[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
    """A str or a tuple of ints is a shape (drawn); anything else is a value (fixed)."""
    shapes, fixed = {}, {}
    for name, given in inputs.items():
        if isinstance(given, str):
            shapes[name] = parse_shape(given)
        elif isinstance(given, tuple) and all(isinstance(n, (int, np.integer)) for n in given):
            if any(n < 1 for n in given):
                raise FormulaError(f"bad shape {given} for {name!r}: every dimension must be at least 1")
            shapes[name] = tuple(int(n) for n in given)
        else:
            fixed[name] = np.asarray(given.data if isinstance(given, Tensor) else given, dtype=np.float64)
            shapes[name] = fixed[name].shape
    return shapes, fixed


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
        if kind not in CONSTRAINTS:
            hint = did_you_mean(kind, CONSTRAINTS)
            raise FormulaError(f"unknown constraint {kind!r} for {name!r}{hint} (known: {', '.join(CONSTRAINTS)})")
        if name in fixed:
            raise FormulaError(f"constraint {kind!r} for {name!r}, whose value is given (only drawn inputs take one)")


def build(f: Any, claim: Any, wrt: str, inputs: dict[str, Any], constraints: dict[str, str] | None) -> Problem:
    """Parse and check everything before the first draw; every problem is a FormulaError."""
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
    shapes, fixed = _split(inputs)
    check_input_sizes({name: shape for name, shape in shapes.items() if name not in fixed})  # the drawn ones
    constraints = dict(constraints or {})
    _check_constraints(names, fixed, constraints)
    return Problem(f, claim, names, claim_names, wrt, shapes, fixed, {**_defaults(f, shapes, fixed), **constraints})


def _defaults(f: Formula | Callable[..., Any], shapes: dict[str, tuple[int, ...]], fixed: dict) -> dict[str, str]:
    """An invertible or SPD draw for a matrix that f only inverts (``log(det(X))``), as explain does."""
    if not isinstance(f, Formula):
        return {}
    return {name: kind for name, kind in default_constraints(f, shapes).items() if name not in fixed}
