"""What the playground's pages ask, answered by the engines of ``matgrad explain`` and ``matgrad check``.

Each function takes the JSON a page sends (a dict) and returns a JSON-ready dict; bad input raises
:class:`RequestError` (or the engines' own FormulaError / ValueError), whose message is one line
for the page to show.  Nothing here knows of HTTP: the server runs these in worker processes.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

from ..claim.api import run_check
from ..explain import render
from ..explain.command import formula_explanation
from ..explain.deep import TooDeepError, run_deep
from ..explain.layout import relayout
from ..formula import FormulaError, parse_shapes
from ..symbolic import latex_name
from .surface import surface
from .training import SettingsError

#: The longest formula or claim the pages accept: longer text is refused before it is parsed.
MAX_FORMULA_CHARS = 2_000
#: The most inputs one question may name (shapes, variables to differentiate).
MAX_NAMES = 32
LAYOUTS = ("code", "column", "row")  # "code": as the formula is written; else re-rendered (jacobian notation)
_SEPARATORS = re.compile(r"[\s,;]+")


class RequestError(ValueError):
    """A question the playground refuses, said in one line."""


def derive(request: dict[str, Any]) -> dict[str, Any]:
    """The derivation of ``request["formula"]``: its forward pass, each backward line in the three
    notations (LaTeX for the jacobian one) with its numeric check, the summary and the cost."""
    formula = _text(request, "formula")
    shapes = _items(request, "shapes")
    wrt = _items(request, "wrt")
    layout = request.get("layout") or "code"
    if layout not in LAYOUTS:
        raise RequestError(f"derive: layout must be one of {', '.join(LAYOUTS)}, got {str(layout)[:20]!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanation = formula_explanation(formula, shapes, wrt, _seed(request))
        derivation = explanation.derivation
        if layout != "code":
            derivation = run_deep(relayout, derivation, layout)
        return {
            "ok": derivation.ok,
            "layout": layout,
            "layout_line": " ".join(render.layout_line(derivation)),
            "forward": [
                {"name": name, "latex": definition, "shape": list(shape)}
                for name, definition, shape in run_deep(render.forward_lines, derivation, True)
            ],
            "lines": [_line(derivation, line, layout) for line in derivation.lines],
            "summary": render.check_summary(derivation),
            "cost": str(explanation.cost()),
        }


def _line(derivation: Any, line: Any, layout: str) -> dict[str, Any]:
    """One backward line: its LaTeX, its text in each notation (the index and differential
    notations follow the code's layout, so a re-rendered derivation has only the jacobian one)."""
    latex = run_deep(render.formula_text, derivation, line.formula, True) + render.notes(derivation, line, True)
    notations = {}
    for notation in render.NOTATIONS:
        if layout != "code" and notation != "jacobian":
            notations[notation] = None
            continue
        # render.backward_line writes one line exactly as `matgrad explain --notation N` prints it
        notations[notation] = run_deep(render.backward_line, derivation, line, notation)
    unchecked = line.problem is not None and line.value is None
    return {
        "name": line.name,
        "name_latex": latex_name(line.name),
        "latex": latex,
        "notations": notations,
        "shape": list(line.shape),
        "products": list(line.products),
        "ok": bool(line.ok),
        "checked": not unchecked,
        "error": None if unchecked else _number(line.error),
        "problem": line.problem,
    }


def check(request: dict[str, Any]) -> dict[str, Any]:
    """``matgrad check``'s verdict on ``request["claim"]`` as ∂f/∂wrt, with its diagnosis."""
    formula = _text(request, "formula")
    claim = _text(request, "claim")
    wrt = _items(request, "wrt")
    if len(wrt) != 1:
        raise RequestError(f"check: name exactly one variable to differentiate with respect to, got {len(wrt)}")
    shapes = parse_shapes(_items(request, "shapes"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run_check(formula, claim, wrt[0], dict(shapes), seed=_seed(request))
    return {
        "ok": report.ok,
        "verdict": report.verdict,
        "details": list(report.details),
        "kinds": list(report.kinds),
        "max_error": _number(report.max_error),
    }


TASKS = {"derive": derive, "check": check, "surface": surface}  # surface: the Surface page (surface.py)


def answer(task: str, request: Any) -> dict[str, Any]:
    """``{"result": …}`` or ``{"error": one line}``: never raises, so a worker always answers."""
    try:
        if not isinstance(request, dict):
            raise RequestError(f"{task}: expected a JSON object, got {type(request).__name__}")
        return {"result": TASKS[task](request)}
    except (RequestError, SettingsError, FormulaError, TooDeepError) as error:
        return {"error": _one_line(error)}
    except MemoryError:
        return {"error": f"{task}: out of memory; use smaller shapes"}
    except RecursionError:
        return {"error": f"{task}: the formula is nested too deeply"}
    except Exception as error:  # whatever it is, the page gets one line, and the worker lives on
        return {"error": f"{task}: could not answer: {type(error).__name__}: {_one_line(error)}"}


def _text(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f"{key}: give a formula as text, e.g. 0.5*sum((W@x - y)**2)")
    if len(value) > MAX_FORMULA_CHARS:
        raise RequestError(f"{key}: {len(value):,} characters, more than the cap of {MAX_FORMULA_CHARS:,}; "
                           "a gradient's rule reads the same in a short formula")
    return value


def _items(request: dict[str, Any], key: str) -> list[str]:
    """``"W=3x4, x=4x1"`` or ``["W=3x4", "x=4x1"]`` → ``["W=3x4", "x=4x1"]``."""
    value = request.get(key) or []
    if isinstance(value, str):
        if len(value) > MAX_FORMULA_CHARS:
            raise RequestError(f"{key}: {len(value):,} characters, more than the cap of {MAX_FORMULA_CHARS:,}")
        value = [item for item in _SEPARATORS.split(value) if item]
    if not isinstance(value, list) or not all(isinstance(item, str) and len(item) <= 100 for item in value):
        raise RequestError(f"{key}: expected text such as 'W=3x4, x=4x1' or a list of such items")
    if len(value) > MAX_NAMES:
        raise RequestError(f"{key}: {len(value)} items, more than the cap of {MAX_NAMES}")
    return value


def _seed(request: dict[str, Any]) -> int:
    seed = request.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise RequestError(f"seed: expected an integer from 0 to 2³² − 1, got {str(seed)[:20]!r}")
    return seed


def _number(value: Any) -> float | None:
    """A float for JSON, None for NaN or ±inf (which JSON cannot hold)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
