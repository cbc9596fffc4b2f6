"""Shapes typed as text, shape checking on dummy arrays, and random inputs for checking gradients."""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from .parser import Formula, check_names, did_you_mean, parse
from .tree import Const, FormulaError, Node, Op, Var, walk

_SHAPE_HINT = "write a shape as 3x4, 3,4, 3, 1x3x4 or scalar"
_SEPARATORS = re.compile(r"\s*[x×,]\s*", re.IGNORECASE)
CONSTRAINTS = ("positive", "symmetric", "simplex", "binary", "onehot", "spd", "invertible")
#: The constraints drawn along one axis, the class axis: ``onehot:0`` (one-hot columns), ``simplex:1``.
AXIS_CONSTRAINTS = ("simplex", "onehot")
#: Functions that normalize along an axis: what a one-hot or simplex input multiplies tells its class axis.
_NORMALIZING = ("softmax", "log_softmax", "logsumexp", "sum")
#: What the matrix argument of a function must be: symmetric positive definite, or invertible.
#: The most elements all drawn inputs may have together (8 MB of float64): explain and check really
#: compute on them (forward, backward and a numerical check per line), and a gradient's rule is
#: the same at 3x3 as at 8000x8000.
MAX_INPUT_ELEMENTS = 1_000_000
_ARGUMENT_NEEDS = {"logdet": "spd", "cholesky": "spd", "inv": "invertible", "det": "invertible",
                   "solve": "invertible", "pinv": "invertible"}


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


def split_inputs(inputs: dict[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
    """Inputs by name → (every name's shape, the values given): a str (``"6x3"``) or a tuple of
    ints is a shape, drawn at random; anything else (an array, a number, a Tensor) is a value,
    held fixed, as float64."""
    shapes, fixed = {}, {}
    for name, given in inputs.items():
        if isinstance(given, str):
            shapes[name] = parse_shape(given)
        elif isinstance(given, tuple) and all(isinstance(n, (int, np.integer)) for n in given):
            if any(n < 1 for n in given):
                raise FormulaError(f"bad shape {given} for {name!r}: every dimension must be at least 1")
            shapes[name] = tuple(int(n) for n in given)
        else:
            value = given.detach().data if hasattr(given, "detach") else given  # a Tensor's values
            fixed[name] = np.asarray(value, dtype=np.float64)
            shapes[name] = fixed[name].shape
    return shapes, fixed


def _formula_and_shapes(formula: Formula | str, shapes: dict[str, Any]) -> tuple[Formula, dict[str, tuple]]:
    formula = parse(formula) if isinstance(formula, str) else formula
    shapes = {name: parse_shape(s) if isinstance(s, str) else tuple(s) for name, s in shapes.items()}
    check_names(formula, shapes, "shape")
    check_input_sizes(shapes)
    return formula, shapes


def check_input_sizes(shapes: dict[str, tuple[int, ...]]) -> None:
    """Refuse shapes whose elements together exceed :data:`MAX_INPUT_ELEMENTS`, before drawing them."""
    sizes = {name: math.prod(shape) for name, shape in shapes.items()}  # Python ints: 10⁵x10⁵ cannot overflow
    total = sum(sizes.values())
    if total > MAX_INPUT_ELEMENTS:
        largest = max(sizes, key=sizes.__getitem__)
        shape = "x".join(map(str, shapes[largest]))
        raise FormulaError(
            f"inputs too large: {total:,} elements in all ({largest}={shape} has {sizes[largest]:,}), more than the "
            f"cap of {MAX_INPUT_ELEMENTS:,}; use smaller shapes: a gradient's rule is the same at 3x4 as at any size"
        )


def check_shapes(
    formula: Formula | str, shapes: dict[str, Any], constraints: dict[str, str] | None = None
) -> tuple[int, ...]:
    """Evaluate on one fixed random draw of the given shapes and return the result's shape.

    The draw is :func:`random_inputs`' (with ``constraints``, and an invertible or SPD matrix
    where :func:`default_constraints` asks for one), not zeros: ``inv(X)`` of zeros is singular.
    A conflict is a FormulaError naming the sub-expression that failed, its column, the
    primitive and the shapes; a variable without a shape (or a shape for no variable) is one too.
    """
    formula, shapes = _formula_and_shapes(formula, shapes)
    values = random_inputs(formula, shapes, np.random.default_rng(0), constraints)
    try:
        with np.errstate(all="ignore"):
            out = formula.evaluate(**values)
    except MemoryError:  # inputs within the cap can still broadcast into a huge intermediate (outer(x, x))
        given = ", ".join(f"{name}={'x'.join(map(str, shape)) or 'scalar'}" for name, shape in shapes.items())
        raise FormulaError(f"out of memory evaluating the formula at {given}", detail="use smaller shapes") from None
    return tuple(np.shape(out))


def _needs(op: Op) -> str | None:
    """What ``op`` needs of its first (matrix) argument, if anything."""
    if op.name == "matrix_power":
        return "invertible" if op.param("n", 2) < 0 else None
    return _ARGUMENT_NEEDS.get(op.name)


def default_constraints(formula: Formula | str, shapes: dict[str, Any]) -> dict[str, str]:
    """``spd`` or ``invertible`` for each square matrix used only as the argument of a function
    that needs one (``logdet(X)``, ``cholesky(X)``: spd; ``inv``, ``det``, ``solve``, ``pinv``,
    ``matrix_power`` with n < 0: invertible), directly or through ``.T``.

    A matrix used anywhere else (``inv(X + Y)``, ``X @ inv(X)``) is left to the user's constraint.
    """
    formula, shapes = _formula_and_shapes(formula, shapes)
    uses: dict[str, set[str | None]] = {}
    stack: list[tuple[Any, str | None]] = [(formula.tree, None)]
    while stack:
        node, need = stack.pop()
        if isinstance(node, Var):
            uses.setdefault(node.name, set()).add(need)
        elif isinstance(node, Op):
            inherited = [need] if node.name == "transpose" else [_needs(node)] + [None] * (len(node.args) - 1)
            stack.extend(zip(node.args, inherited))
    return {
        name: "spd" if "spd" in needs else "invertible"
        for name, needs in uses.items()
        if None not in needs and _is_square(shapes[name])
    }


def _is_square(shape: tuple[int, ...]) -> bool:
    return len(shape) >= 2 and shape[-1] == shape[-2]


def random_inputs(
    formula: Formula | str, shapes: dict[str, Any], rng: Any = None, constraints: dict[str, str] | None = None
) -> dict[str, np.ndarray]:
    """float64 inputs drawn from N(0, 1), one per variable, some shaped by a constraint.

    ``constraints`` maps a name to ``positive`` (|N| + 0.1), ``symmetric`` ((A + Aᵀ)/2),
    ``simplex`` (entries > 0 summing to 1 along the class axis), ``binary`` (0. or 1.), ``onehot``
    (one-hot along the class axis; see :func:`class_axis`: ``onehot:0`` names the axis),
    ``spd`` (A Aᵀ/n + I) or ``invertible`` (U diag(s) Vᵀ, s in [1, 2], det > 0).  A name without
    one gets its :func:`default_constraints` (an invertible X for ``inv(X)``), if any.
    """
    formula, shapes = _formula_and_shapes(formula, shapes)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    constraints = dict(constraints or {})
    for name, kind in constraints.items():
        if name not in formula.names:
            hint = did_you_mean(name, formula.names)
            raise FormulaError(f"constraint for {name!r}, which the formula does not use{hint}")
        check_constraint(name, kind)
    constraints = {**default_constraints(formula, shapes), **resolve_constraints(formula, shapes, constraints)}
    return {name: draw_input(rng, shapes[name], constraints.get(name), name) for name in formula.names}


def check_constraint(name: str, kind: str) -> None:
    """Refuse an unknown constraint, suggesting the closest known one, or a bad class axis."""
    split_constraint(name, kind)


def split_constraint(name: str, kind: str) -> tuple[str, int | None]:
    """``"onehot:0"`` → ``("onehot", 0)``, ``"simplex"`` → ``("simplex", None)``; only onehot and
    simplex take an axis (an integer, negative counting from the end)."""
    if not isinstance(kind, str):
        raise FormulaError(f"constraint for {name!r} must be a string such as 'positive' or 'onehot:0', got {kind!r}")
    base, colon, axis_text = kind.partition(":")
    base, axis_text = base.strip(), axis_text.strip()
    if base not in CONSTRAINTS:
        raise FormulaError(f"unknown constraint {base!r} for {name!r}{did_you_mean(base, CONSTRAINTS)} "
                           f"(known: {', '.join(CONSTRAINTS)})")
    if not colon:
        return base, None
    if base not in AXIS_CONSTRAINTS:
        raise FormulaError(f"constraint {kind!r} for {name!r}: only {' and '.join(AXIS_CONSTRAINTS)} take an axis "
                           f"(write {base!r})")
    if not re.fullmatch(r"[-+]?\d{1,4}", axis_text):
        raise FormulaError(f"constraint {kind!r} for {name!r}: the axis after ':' must be an integer, "
                           f"e.g. {base}:0 (along the columns' length) or {base}:1")
    return base, int(axis_text)


def class_axis(shape: tuple[int, ...], kind: str, name: str, formula: Formula | None = None) -> int:
    """The axis a one-hot or simplex input is drawn along (its entries sum to 1 along it).

    Given (``onehot:0``): that axis, checked against the shape.  Not given: a vector, a column
    n×1 or a row 1×n along its length; a matrix along the axis of the softmax, log_softmax,
    logsumexp or sum (with an axis) that ``formula`` applies to what the input multiplies
    (``y * log_softmax(Z, axis=0)``: axis 0), or its ``cross_entropy`` axis; else the last axis
    (the row layout: one example per row).
    """
    base, axis = split_constraint(name, kind)
    if not shape:
        if base == "onehot":
            raise FormulaError(f"onehot {name!r} needs at least one axis, got a scalar")
        return 0
    ndim = len(shape)
    if axis is not None:
        if not -ndim <= axis < ndim:
            raise FormulaError(f"{kind} for {name!r}: axis {axis} is out of range for shape "
                               f"{'x'.join(map(str, shape))} ({ndim} ax{'i' if ndim == 1 else 'e'}s)")
        return axis % ndim
    long = [i for i, n in enumerate(shape) if n > 1]
    if ndim == 1 or (ndim == 2 and len(long) <= 1):  # a vector, a column or a row: along its length
        return long[0] if long else ndim - 1
    found = formula_class_axis(formula, name, ndim) if formula is not None else None
    return ndim - 1 if found is None else found


def formula_class_axis(formula: Formula, name: str, ndim: int) -> int | None:
    """The one axis the formula normalizes along where ``name`` is used, if it says (see :func:`class_axis`)."""
    axes = set()
    for node in walk(formula.tree):
        if not isinstance(node, Op):
            continue
        if node.name == "cross_entropy" and len(node.args) > 1 and _is(node.args[1], name):
            axes.add(node.param("axis", -1))
        elif node.name in ("mul", "div") and any(_is(arg, name) for arg in node.args):
            for other in node.args:
                axis = None if _is(other, name) else _normalized_axis(other)
                if axis is not None:
                    axes.add(axis)
    normalized = set()
    for axis in axes:
        if not isinstance(axis, int) or not -ndim <= axis < ndim:
            return None
        normalized.add(axis % ndim)
    return normalized.pop() if len(normalized) == 1 else None


def _is(node: Node, name: str) -> bool:
    """``node`` is the variable ``name``, perhaps negated or scaled by a number (not transposed:
    the class axis of yᵀ is y's other axis, which is not read)."""
    while isinstance(node, Op) and node.name in ("neg", "mul", "div"):
        named = [arg for arg in node.args if not isinstance(arg, Const)]
        if len(named) != 1 or (node.name != "neg" and len(node.args) != 2):
            return False
        node = named[0]
    return isinstance(node, Var) and node.name == name


def _normalized_axis(node: Node) -> Any:
    """The axis of the outermost softmax, log_softmax, logsumexp or sum with an axis within ``node``."""
    for each in walk(node):
        if isinstance(each, Op) and each.name in _NORMALIZING:
            if each.name in ("softmax", "log_softmax"):
                return each.param("axis", -1)
            if each.param("axis") is not None:
                return each.param("axis")
    return None


def resolve_constraints(
    formula: Formula | None, shapes: dict[str, tuple[int, ...]], constraints: dict[str, str]
) -> dict[str, str]:
    """Each onehot or simplex constraint with its class axis written out (``onehot`` → ``onehot:0``),
    read from the formula where it says (see :func:`class_axis`); other constraints as given."""
    resolved = {}
    for name, kind in constraints.items():
        base, _ = split_constraint(name, kind)
        if base in AXIS_CONSTRAINTS and name in shapes:
            resolved[name] = f"{base}:{class_axis(shapes[name], kind, name, formula)}"
        else:
            resolved[name] = base if base not in AXIS_CONSTRAINTS else kind
    return resolved


def draw_input(rng: np.random.Generator, shape: tuple[int, ...], kind: str | None, name: str) -> np.ndarray:
    """One random array of ``shape`` under one constraint (``None``: standard normal)."""
    if kind == "binary":
        return (rng.random(shape) < 0.5).astype(np.float64)
    axis = None
    if kind is not None:
        kind, given = split_constraint(name, kind)
        if kind in AXIS_CONSTRAINTS:
            axis = class_axis(shape, kind if given is None else f"{kind}:{given}", name)
    if kind == "onehot":
        assert axis is not None
        moved = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
        hot = rng.integers(shape[axis], size=moved[:-1])
        return np.moveaxis(np.eye(shape[axis])[hot], -1, axis)
    sample = rng.standard_normal(shape)
    if kind == "positive":
        return np.abs(sample) + 0.1
    if kind in ("symmetric", "spd", "invertible") and not _is_square(shape):
        raise FormulaError(f"{kind} {name!r} needs a square matrix, got shape {shape}")
    if kind == "symmetric":
        return (sample + np.swapaxes(sample, -1, -2)) / 2
    if kind == "spd":  # eigenvalues at least 1: well conditioned for logdet, cholesky, solve
        return sample @ np.swapaxes(sample, -1, -2) / shape[-1] + np.eye(shape[-1])
    if kind == "invertible":
        return _well_conditioned(rng, sample)
    if kind == "simplex":
        if not shape:
            return np.ones(())
        weights = np.exp(sample - sample.max(axis=axis, keepdims=True))
        return weights / weights.sum(axis=axis, keepdims=True)
    return sample


def _well_conditioned(rng: np.random.Generator, sample: np.ndarray) -> np.ndarray:
    """U diag(s) Vᵀ with U, V random rotations and s in [1, 2]: condition number at most 2, and
    a positive determinant (so that log(det(X)) is defined), yet not symmetric."""
    u, _ = np.linalg.qr(sample)
    v, _ = np.linalg.qr(rng.standard_normal(sample.shape))
    flip = np.sign(np.linalg.det(u) * np.linalg.det(v))  # det U diag(s) Vᵀ = det U · det V · Π s
    u[..., :, 0] *= flip[..., None]
    singular = rng.uniform(1.0, 2.0, size=sample.shape[:-1])
    return (u * singular[..., None, :]) @ np.swapaxes(v, -1, -2)


def check_finite(
    formula: Formula, values: dict[str, Any], constraints: dict[str, str] | None = None, every_part: bool = False
) -> None:
    """Refuse inputs outside the formula's domain: if its value at ``values`` is not finite, a
    FormulaError names the innermost sub-expression that first gives inf or nan (its arguments
    all finite) and, for the inputs it depends on that are drawn without a constraint, suggests one.

    A part that is constant (``2.0**10000``) is always checked; with ``every_part``, every part is,
    even when the value is finite (``sqrt(x)[0]`` can be, and its gradient still nan)."""
    with np.errstate(all="ignore"):  # a constant part first: 2.0**10000 is inf even where x**inf is finite
        found = _first_non_finite(formula, values, constants_only=not every_part)
        if found is None and not np.all(np.isfinite(formula.evaluate(**values))):
            found = _first_non_finite(formula, values)
    if found is None:
        return
    node, bad = found
    where = formula.segment(node)
    suspects = [name for name in _names_in(_culprits(node)) if name not in (constraints or {})]
    if suspects:
        flags = " ".join(f"--positive {name}" for name in suspects)
        given = ", ".join(f"{name!r}: 'positive'" for name in suspects)
        hint = (f"its input is outside the domain of {_operation(node)} on this random draw; if "
                f"{', '.join(suspects)} must be positive, say so: {flags} (constraints={{{given}}})")
    else:
        hint = f"{_operation(node)} of these values has no finite result (an overflow or a division by zero)"
    raise FormulaError(f"domain error: {where!r} gives {bad}", formula.line, node.span[0] + 1, hint)


def _first_non_finite(formula: Formula, values: dict[str, Any], constants_only: bool = False) -> tuple[Op, str] | None:
    """The first sub-expression, children before parents, whose value has an inf or a nan."""
    for node in reversed(list(walk(formula.tree))):  # reversed pre-order: every node after its children
        if not isinstance(node, Op) or (constants_only and _names_in(node)):
            continue
        part = Formula(formula.text, _names_in(node), node, formula.line)
        try:
            out = np.asarray(part.evaluate(**{name: values[name] for name in part.names}), dtype=np.float64)
        except FormulaError:  # a part that cannot stand alone, such as I before its size is known
            continue
        if not np.all(np.isfinite(out)):
            return node, "nan" if np.any(np.isnan(out)) else "inf"
    return None


def _culprits(node: Op) -> Node:
    """The part of ``node`` that can leave the domain: a division's denominator, else all of it."""
    return node.args[1] if node.name == "div" else node


def _operation(node: Op) -> str:
    return {"div": "division", "pow": "a power", "mul": "a product", "add": "a sum", "sub": "a difference",
            "matmul": "a matrix product", "neg": "negation"}.get(node.name, node.name)


def _names_in(node: Node) -> tuple[str, ...]:
    """The variables of a sub-tree, in order of first appearance."""
    return tuple(dict.fromkeys(each.name for each in walk(node) if isinstance(each, Var)))
