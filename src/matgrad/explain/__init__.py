"""``explain``: any gradient written out as matrix calculus, each line checked against the engine."""

from .api import Explanation, explain
from .derive import Derivation, Line, derive
from .graph import Graph

__all__ = ["Derivation", "Explanation", "Graph", "Line", "derive", "explain"]
