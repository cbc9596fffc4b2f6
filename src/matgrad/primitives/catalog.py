"""The supported functions, written out from the table itself: ``docs/functions.md``.

Two lists, both generated: every row of :data:`TABLE` with the gradient its notation column
writes for each input (what ``explain`` prints), and every NumPy function that
``matgrad.numpy`` differentiates, by area.  Regenerate with::

    python -m matgrad.primitives.catalog > docs/functions.md

(``tests/test_docs.py`` fails when the file is out of date.)
"""

from __future__ import annotations

import importlib
import sys

from .core import TABLE
from .notation import render_formula

_INPUTS = {"g": "g", "t": "t", "out": "out", "x0": "x", "x1": "y", "x2": "z"}


def table_rows() -> list[str]:
    """One Markdown row per primitive: name, the gradient of each input, the product it uses."""
    rows = ["| primitive | y = … | gradient of each input (from g = ∂ℓ/∂out) | product |", "| --- | --- | --- | --- |"]
    for name in sorted(TABLE):
        notation = TABLE[name].notation
        expression = _cell(render_formula(notation.expression, _INPUTS))
        gradients = "; ".join(_cell(render_formula(v, _INPUTS)) for v in notation.vjp)
        rows.append(f"| `{name}` | {expression} | {gradients} | {', '.join(dict.fromkeys(notation.product))} |")
    return rows


def numpy_rows() -> list[str]:
    """The NumPy names ``matgrad.numpy`` differentiates, and those it computes as constants."""
    mnp = importlib.import_module("matgrad.numpy")
    differentiable = ", ".join(f"`{n}`" for n in mnp.DIFFERENTIABLE)
    linalg = ", ".join(f"`linalg.{n}`" for n in mnp.linalg.DIFFERENTIABLE)
    constant = ", ".join(f"`{n}`" for n in sorted(mnp.CONSTANT))
    return [
        f"**Differentiable** ({len(mnp.DIFFERENTIABLE) + len(mnp.linalg.DIFFERENTIABLE)}): {differentiable}"
        + (f", {linalg}" if linalg else ""),
        "",
        f"**No derivative by nature** (computed on the values, NumPy results): {constant}",
    ]


def markdown() -> str:
    lines = [
        "# Supported functions",
        "",
        "Generated from `matgrad.TABLE` and `matgrad.numpy` by `python -m matgrad.primitives.catalog`;",
        "do not edit by hand. `x, y, z` are a primitive's inputs, `out` its result, `g` the gradient",
        "flowing in; each gradient is the closed form `explain` prints, checked on the numbers by the",
        "table's tests.",
        "",
        "## NumPy functions",
        "",
        "`import matgrad.numpy as np` (or plain `numpy` on Tensors) differentiates these:",
        "",
        *numpy_rows(),
        "",
        f"## The table: {len(TABLE)} primitives",
        "",
        *table_rows(),
    ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.stdout.write(markdown())
