"""The expression tree of a parsed formula, and the one error every formula problem raises.

A tree is made of three immutable node types: :class:`Const` (a number), :class:`Var` (a free
variable) and :class:`Op` (an operator or function applied to argument nodes, with literal
parameters such as ``axis=0``).  Every node remembers the span of text it came from, so that an
error can point at the sub-expression that failed; spans take no part in equality.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]  # [start, end) character offsets into the formula's one-line text


class FormulaError(ValueError):
    """A formula that cannot be parsed, evaluated or given shapes: one line, with its column.

    ``column`` is 1-based; ``caret`` is the formula with a ``^`` under that column (empty when
    the error has no position); ``reason`` is the message without position or detail.
    """

    def __init__(self, reason: str, text: str | None = None, column: int | None = None, detail: str = "") -> None:
        message = reason + (f" at column {column}" if column is not None else "") + (f": {detail}" if detail else "")
        super().__init__(" ".join(message.splitlines()))  # one line, whatever the detail held
        self.reason = reason
        self.text = text
        self.column = column

    @property
    def caret(self) -> str:
        if self.text is None or self.column is None:
            return ""
        return f"{self.text}\n{' ' * (self.column - 1)}^"


@dataclass(frozen=True)
class Const:
    """A numeric literal (int or float; a leading minus is folded in)."""

    value: int | float
    span: Span = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Var:
    """A free variable, given a value when the formula is evaluated."""

    name: str
    span: Span = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Slice:
    """A literal slice inside an index, ``start:stop:step`` (``None`` where omitted)."""

    start: int | None = None
    stop: int | None = None
    step: int | None = None

    def to_slice(self) -> slice:
        return slice(self.start, self.stop, self.step)


@dataclass(frozen=True)
class Op:
    """An operator or function: ``name`` is canonical (``add``, ``matmul``, ``sigmoid``, ``index``).

    ``params`` holds literal keyword parameters as ``(key, value)`` pairs: ``axis`` (int or tuple
    of ints), ``keepdims`` (bool), and for ``index`` the tuple of ints and :class:`Slice`.
    """

    name: str
    args: tuple[Node, ...]
    params: tuple[tuple[str, Any], ...] = ()
    span: Span = field(default=(0, 0), compare=False, repr=False)

    def param(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)


Node = Const | Var | Op


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, parents before children, left to right (no recursion)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Op):
            stack.extend(reversed(current.args))
