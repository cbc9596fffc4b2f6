"""How tightly a template such as ``"Σₙ {0}"``, ``"{0}ᵀ"`` or ``"{0} ⊗ {1}"`` binds, read off its text.

A template writes an operation around operand slots (``{0}``, ``{1}``, ``{}``).  Printing it
unambiguously needs two numbers, on the scale of :class:`~.expr.Binary` (sums 1, products 3,
matrix products 4, negation 5, powers 7, calls and postfixes 8, atoms 9):

- the precedence of the whole (``"{0} / N"`` is a division and ``"Σₙ {0}"`` a prefix, 3;
  ``"{0} ⊗ {1}"`` is bracketed inside any product, 2; ``"kron({0})"`` is a call, 8);
- for each slot, the least precedence an operand may have and still be printed bare (inside
  brackets anything goes; after ``Σ`` a product but not a sum; before ``ᵀ`` only an atom).

A prefix such as ``Σ`` also takes in whatever is written after its operand (``Σ a ⊙ b`` sums the
product), so :func:`opens_right` says when an operand that is followed by more must be bracketed:
``(Σ a) ⊙ b``, but ``c Σ a``.
"""

from __future__ import annotations

import functools
import re

_SLOT = re.compile(r"\{\d?\}")
_OPENERS, _CLOSERS, _BARS = "([{⌊⌈", ")]}⌋⌉", "|‖"
_BIG_OPERATORS = ("Σ", "∑", "∏", r"\sum", r"\prod")
SUM, LOOSE_PRODUCT, PRODUCT, MATRIX_PRODUCT, CALL = 1, 2, 3, 4, 8


@functools.lru_cache(maxsize=1024)
def slots(template: str) -> tuple[tuple[int, int, bool], ...]:
    """(start, end, enclosed) of each slot, ``enclosed`` when it sits inside brackets or bars."""
    found, depth, bars, i = [], 0, dict.fromkeys(_BARS, False), 0
    while i < len(template):
        match = _SLOT.match(template, i)
        if match:
            found.append((match.start(), match.end(), depth > 0 or any(bars.values())))
            i = match.end()
            continue
        char = template[i]
        depth += (char in _OPENERS) - (char in _CLOSERS)
        if char in bars:
            bars[char] = not bars[char]
        i += 1
    return tuple(found)


def _bare(template: str) -> list[tuple[int, int]]:
    return [(start, end) for start, end, enclosed in slots(template) if not enclosed]


def _top_level(template: str) -> str:
    """The template with slots and everything inside brackets removed."""
    out, depth = [], 0
    for char in _SLOT.sub("", template):
        depth -= char in _CLOSERS
        if depth == 0 and char not in _CLOSERS:
            out.append(char)
        depth += char in _OPENERS
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def precedence(template: str) -> int:
    """How tightly the whole template binds (see the module docstring)."""
    bare = _bare(template)
    if "/" in _top_level(template):
        return PRODUCT
    if not bare:
        return CALL
    start, end = bare[0]
    if template[:start].strip():  # text before a bare slot: a prefix, as a product binds
        return PRODUCT
    after = template[end:]
    if after.startswith(" "):  # an infix: an operator symbol (⊗, ×) or a juxtaposed factor (c I)
        follower = after.lstrip()[:1]
        return PRODUCT if follower.isalnum() or follower in "{" else LOOSE_PRODUCT
    return CALL  # a postfix glued on: ᵀ, ⁻¹, [idx]


@functools.lru_cache(maxsize=1024)
def opens_right(template: str) -> bool:
    """The template starts with a prefix before a bare operand (``Σₙ {0}``, ``∏_{j≠k} {0}_j``,
    ``P {0}``): written before anything more, it takes that in, so it must be bracketed there."""
    bare = _bare(template)
    return bool(bare) and bool(template[: bare[0][0]].strip())


@functools.lru_cache(maxsize=1024)
def operand_minimum(template: str, slot: int) -> int:
    """The least precedence the operand in slot number ``slot`` (counted from 0) may have unbracketed."""
    start, end, enclosed = slots(template)[slot]
    if enclosed:
        return 0
    before, after = template[:start], template[end:]
    if after and not after.startswith(" "):
        return CALL  # a postfix glued on: (a + b)ᵀ
    if before.strip() and not after and not _SLOT.search(before):
        if before.endswith(" "):  # Σₙ a ⊙ b sums the product; P a b is P (a b)
            return PRODUCT if before.lstrip().startswith(_BIG_OPERATORS) else MATRIX_PRODUCT
        return CALL  # a glued prefix: S(a + b)
    follower = after.lstrip()[:1]
    if not before.strip() and len(slots(template)) == 1 and (follower == "/" or follower.isalnum()):
        return PRODUCT  # a / N and c I, read left to right
    return CALL  # beside an operator symbol: (a + b) ⊗ c
