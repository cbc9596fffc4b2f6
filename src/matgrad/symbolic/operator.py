"""The matrix of a linear map read off its formula: ``expr = M u`` gives ``M``.

The Jacobian of a step is the matrix of its VJP, a formula linear in the upstream gradient ``u``
(explain's vector notation writes ``∂C/∂x = Jᵀ u``).  :func:`operator` reads ``M`` term by term off
the normal form of :class:`~matgrad.symbolic.readable.Reader`: ``v ⊙ (A u)`` is ``diag(v) A u``,
a number times ``(m u)`` spread over a vector is ``𝟏 m u``, ``Σ (v ⊙ M u)`` is ``vᵀ M u``.  A
formula not written that way gives None, and the caller shows the VJP alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .algebra import evaluate, simplify
from .expr import Binary, Expr, Num, Structural, Sym, children
from .readable import SUMS, Reader, Term, chain_of, diag_of, identity, key, ones, product_of


def operator(expr: Expr, u: str, env: dict[str, Any], column: bool) -> Expr | None:
    """The matrix M of a formula linear in the vector ``u``: ``expr = M u`` (``column``) or
    ``expr = u M`` (rows), read off the normal form term by term (``v ⊙ (A u)`` is
    ``diag(v) A u``); None when the formula is not written that way."""
    reader = Reader(env, {}, multiply_out=False)
    try:
        with np.errstate(all="ignore"):
            return _Operator(reader).of_terms(reader.normal(simplify(expr)), u, column, np.shape(evaluate(expr, env)))
    except (KeyError, ValueError, TypeError, IndexError):
        return None


class _Operator:
    """The reading of one formula's matrix, on the values and normal forms of ``reader``."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def of_terms(self, terms: list[Term], u: str, column: bool, shape: tuple[int, ...]) -> Expr | None:
        """M with Σ terms = M u (``column``) or u M, the sum having ``shape``."""
        total: Expr | None = None
        for term in terms:
            part = self._of_term(term, u, column, shape)
            if part is None:
                return None
            total = part if total is None else Binary("+", total, part)
        return total

    def _of_term(self, term: Term, u: str, column: bool, shape: tuple[int, ...]) -> Expr | None:
        carrying = [f for f in term.factors if mentions(f[1], u)]
        if len(carrying) != 1 or carrying[0][2] != 1:
            return None
        inner = self._of_atom(carrying[0][1], u, column)
        if inner is None:
            return None
        number = self.reader.value(carrying[0][1]).size == 1  # the carrier is one number, such as sᵀu
        scalars, matrices = [], []
        for _, factor, exponent in term.factors:
            if factor is carrying[0][1]:
                continue
            power = factor if exponent == 1 else Binary("^", factor, Num(float(exponent)))
            if self.reader.shape(factor) == ():
                scalars.append(power)
            elif len(self.reader.shape(factor)) <= 2 and min(self.reader.shape(factor), default=1) == 1:
                # v ⊙ (M u) = diag(v) M u; v times the number (m u) is the outer product v m u
                matrices.append(power if number else diag_of(power))
            else:
                return None
        if number and not matrices and int(np.prod(shape)) > 1:  # one number added to every entry: 𝟏 (m u)
            n = int(np.prod(shape))
            matrices.append(ones((n, 1) if column else (1, n)))
        result = inner
        for m in matrices:
            result = Binary("@", m, result) if column else Binary("@", result, m)
        for s in scalars:
            result = Binary("*", s, result)
        return result if term.coefficient == 1 else Binary("*", Num(term.coefficient), result)

    def _of_sum(self, summed: Structural, u: str, column: bool) -> Expr | None:
        """Σ (v ⊙ M u) over a whole vector is vᵀ M u (rows: u M vᵀ): M's sum weighted by v."""
        total: Expr | None = None
        n = int(np.prod(self.reader.shape(summed.operand)))
        for term in self.reader.normal(summed.operand):
            carrying = [f for f in term.factors if mentions(f[1], u)]
            others = [f for f in term.factors if not mentions(f[1], u)]
            numbers = [f for f in others if self.reader.value(f[1]).size == 1]
            vectors = [f for f in others if self.reader.value(f[1]).size != 1]
            if len(carrying) != 1 or carrying[0][2] != 1 or len(vectors) > 1 or (vectors and vectors[0][2] != 1):
                return None
            inner = self._of_atom(carrying[0][1], u, column)
            if inner is None:
                return None
            weight = self.reader.transpose(vectors[0][1]) if vectors else ones((1, n) if column else (n, 1))
            part = Binary("@", weight, inner) if column else Binary("@", inner, weight)
            for _, number, exponent in numbers:
                part = Binary("*", number if exponent == 1 else Binary("^", number, Num(float(exponent))), part)
            part = part if term.coefficient == 1 else Binary("*", Num(term.coefficient), part)
            total = part if total is None else Binary("+", total, part)
        return total

    def _of_atom(self, atom: Expr, u: str, column: bool) -> Expr | None:
        if isinstance(atom, Sym) and atom.name == u:
            return identity(int(np.size(self.reader.env[u])))
        if isinstance(atom, Structural) and atom.kind in SUMS and self.reader.value(atom).size == 1:
            return self._of_sum(atom, u, column)
        bracketed = self.reader.terms_in_brackets(atom)
        if bracketed is not None:
            return self.of_terms(bracketed, u, column, self.reader.shape(atom))
        factors = chain_of(atom)
        if len(factors) < 2:  # a product such as σ'(z) ⊙ u, written as one factor of a chain
            terms = self.reader.normal(atom)
            if len(terms) == 1 and len(terms[0].factors) == 1 and terms[0].factors[0][0] == key(atom):
                return None  # no further to take apart
            return self.of_terms(terms, u, column, self.reader.shape(atom))
        carrier, rest = (factors[-1], factors[:-1]) if column else (factors[0], factors[1:])
        if any(mentions(f, u) for f in rest):
            return None
        inner = self._of_atom(carrier, u, column)
        if inner is None:
            return None
        return Binary("@", product_of(rest, "@"), inner) if column else Binary("@", inner, product_of(rest, "@"))


def mentions(expr: Expr, name: str) -> bool:
    return (isinstance(expr, Sym) and expr.name == name) or any(mentions(c, name) for c in children(expr))
