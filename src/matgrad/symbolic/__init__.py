"""Small symbolic expressions: the matrix-calculus formulas of the notation column.

An :class:`Expr` is built with Python operators from symbols (``g``, ``out``, ``x0``, ``x1`` in
the table; names such as ``δ²`` or ``W²`` in a derivation), renders as Unicode text or LaTeX, and
evaluates with NumPy alone.  Evaluating a notation formula is a second, independent statement of
a derivative: ``explain`` compares it with what the engine's VJP rule computed.

Operators: ``*`` is the elementwise (Hadamard) product, shown ``⊙`` between two arrays and as a
plain product when one side is a scalar; ``@`` the matrix product, shown by juxtaposition;
``.T`` the transpose; :func:`fn` applies a named elementwise function from :data:`FUNCTIONS`.
"""

from .algebra import bind, evaluate, simplify, substitute
from .expr import FUNCTIONS, Apply, Binary, Expr, Function, Neg, Num, Structural, Sym, Transpose, fn, symbols, wrap
from .render import latex_name, render, superscript

__all__ = [
    "FUNCTIONS", "Apply", "Binary", "Expr", "Function", "Neg", "Num", "Structural", "Sym", "Transpose",
    "bind", "evaluate", "fn", "latex_name", "render", "simplify", "substitute", "superscript", "symbols", "wrap",
]
