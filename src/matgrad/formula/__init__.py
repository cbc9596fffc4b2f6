"""Formulas typed as text: a whitelist parser (never ``eval``), evaluation with matgrad,
shape checking, random inputs, and rendering as text or LaTeX.

>>> f = parse("0.5*sum((sigmoid(W@h+b)-y)**2)")
>>> f.names
('W', 'h', 'b', 'y')
>>> check_shapes(f, parse_shapes(["W=3x4", "h=4x1", "b=3x1", "y=3x1"]))
()
"""

from .functions import FUNCTIONS, UNSUPPORTED, Function
from .parser import Formula, parse
from .render import to_latex, to_text
from .shapes import (
    CONSTRAINTS,
    MAX_INPUT_ELEMENTS,
    check_constraint,
    check_finite,
    check_input_sizes,
    check_shapes,
    default_constraints,
    draw_input,
    parse_shape,
    parse_shapes,
    random_inputs,
    split_inputs,
)
from .tree import Const, FormulaError, Node, Op, Slice, Var, walk

__all__ = [
    "CONSTRAINTS", "FUNCTIONS", "MAX_INPUT_ELEMENTS", "UNSUPPORTED", "Const", "Formula", "FormulaError", "Function",
    "Node", "Op", "Slice", "Var", "check_constraint", "check_finite", "check_input_sizes", "check_shapes",
    "default_constraints", "draw_input", "parse", "parse_shape", "parse_shapes", "random_inputs", "split_inputs",
    "to_latex", "to_text", "walk",
]
