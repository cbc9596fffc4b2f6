"""Shapes typed as text, shape checking on dummy arrays, and random inputs for checking gradients."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from .parser import Formula, check_names, did_you_mean, parse
from .tree import FormulaError

_SHAPE_HINT = "write a shape as 3x4, 3,4, 3, 1x3x4 or scalar"
_SEPARATORS = re.compile(r"\s*[x×,]\s*", re.IGNORECASE)
CONSTRAINTS = ("positive", "symmetric", "simplex", "binary", "onehot")


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3x4"`` → ``(3, 4)``; also ``"3,4"``, ``"(3, 4)"``, ``"3"``, ``"1x3x4"``; ``"scalar"`` or ``""`` → ``()``."""
    inner = text.strip()
    if inner.startswith("(") and inner.endswith(")"):
        inner = inner[1:-1].strip()
    if inner.lower() in ("", "scalar"):
        return ()
    parts = _SEPARATORS.split(inner.rstrip(","))
    if not all(part.isdigit() and part.isascii() for part in parts):
        raise FormulaError(f"bad shape {text!r}: {_SHAPE_HINT}")
    shape = tuple(int(part) for part in parts)
    if 0 in shape:
        raise FormulaError(f"bad shape {text!r}: every dimension must be at least 1; {_SHAPE_HINT}")
    return shape


def parse_shapes(items: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """``["W=3x4", "h=4x1"]`` → ``{"W": (3, 4), "h": (4, 1)}``, refusing duplicates and bad names."""
    shapes: dict[str, tuple[int, ...]] = {}
    for item in items:
        name, equals, shape = item.partition("=")
        name = name.strip()
        if not equals:
            raise FormulaError(f"bad shape {item!r}: give NAME=SHAPE, e.g. W=3x4")
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__"):
            raise FormulaError(f"bad shape {item!r}: {name!r} is not a variable name")
        if name in shapes:
            raise FormulaError(f"shape of {name!r} given twice ({shapes[name]} and {shape.strip()!r})")
        shapes[name] = parse_shape(shape)
    return shapes


def _formula_and_shapes(formula: Formula | str, shapes: dict[str, Any]) -> tuple[Formula, dict[str, tuple]]:
    formula = parse(formula) if isinstance(formula, str) else formula
    shapes = {name: parse_shape(s) if isinstance(s, str) else tuple(s) for name, s in shapes.items()}
    check_names(formula, shapes, "shape")
    return formula, shapes


def check_shapes(formula: Formula | str, shapes: dict[str, Any]) -> tuple[int, ...]:
    """Evaluate on zeros of the given shapes and return the result's shape.

    A conflict is a FormulaError naming the sub-expression that failed, its column, the
    primitive and the shapes; a variable without a shape (or a shape for no variable) is one too.
    """
    formula, shapes = _formula_and_shapes(formula, shapes)
    with np.errstate(all="ignore"):
        out = formula.evaluate(**{name: np.zeros(shapes[name]) for name in formula.names})
    return tuple(np.shape(out))


def random_inputs(
    formula: Formula | str, shapes: dict[str, Any], rng: Any = None, constraints: dict[str, str] | None = None
) -> dict[str, np.ndarray]:
    """float64 inputs drawn from N(0, 1), one per variable, some shaped by a constraint.

    ``constraints`` maps a name to ``positive`` (|N| + 0.1), ``symmetric`` ((A + Aᵀ)/2),
    ``simplex`` (each column sums to 1), ``binary`` (0. or 1.) or ``onehot`` (one-hot rows).
    """
    formula, shapes = _formula_and_shapes(formula, shapes)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    constraints = dict(constraints or {})
    for name, kind in constraints.items():
        if name not in formula.names:
            hint = did_you_mean(name, formula.names)
            raise FormulaError(f"constraint for {name!r}, which the formula does not use{hint}")
        if kind not in CONSTRAINTS:
            raise FormulaError(f"unknown constraint {kind!r} for {name!r}{did_you_mean(kind, CONSTRAINTS)} "
                               f"(known: {', '.join(CONSTRAINTS)})")
    return {name: draw_input(rng, shapes[name], constraints.get(name), name) for name in formula.names}


def draw_input(rng: np.random.Generator, shape: tuple[int, ...], kind: str | None, name: str) -> np.ndarray:
    """One random array of ``shape`` under one constraint (``None``: standard normal)."""
    if kind == "binary":
        return (rng.random(shape) < 0.5).astype(np.float64)
    if kind == "onehot":
        if not shape:
            raise FormulaError(f"onehot {name!r} needs at least one axis, got a scalar")
        hot = rng.integers(shape[-1], size=shape[:-1])
        return np.eye(shape[-1])[hot]
    sample = rng.standard_normal(shape)
    if kind == "positive":
        return np.abs(sample) + 0.1
    if kind == "symmetric":
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise FormulaError(f"symmetric {name!r} needs a square matrix, got shape {shape}")
        return (sample + np.swapaxes(sample, -1, -2)) / 2
    if kind == "simplex":
        weights = np.exp(sample - sample.max(axis=0, keepdims=True)) if shape else np.ones(())
        return weights / weights.sum(axis=0, keepdims=True) if shape else weights
    return sample
