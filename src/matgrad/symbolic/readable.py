"""A formula written the way a textbook writes it, every rewrite checked on the numbers.

The derivation builds a gradient by substituting one table formula into the next: right, but it
reads like a machine (``(𝟏 xᵀ Aᵀ)ᵀ + (xᵀ A)ᵀ 𝟏``).  :func:`readable` rewrites it (``(A + Aᵀ) x``)
through a normal form:

- a *sum* of terms, each a number times a Hadamard *monomial*: atoms with integer exponents
  (``2 r``, ``y ⊘ s``, ``1/N``), so that like terms add up and a factor over itself cancels;
- an *atom* is a symbol, a function of atoms, a structural operation, a sum in brackets, or a
  *chain* of matrix products whose transposes are pushed onto its factors (``(AB)ᵀ = BᵀAᵀ``),
  with identities and 1×1 ones dropped and scalars moved out in front.

From it two readings are built: the *derived* one, which keeps a product with a sum as a product,
and the *multiplied-out* one, where such products are expanded (and ``σ' = σ ⊙ (1 − σ)``) so that
``σ ⊙ (y ⊘ σ)`` can cancel.  Both are then factored again (a common factor, a common number, a
common left or right matrix factor: ``Aᵀx + Ax = (A + Aᵀ)x``, ``Xᵀa − Xᵀb = Xᵀ(a − b)``), and the
shorter wins.  A rewrite that holds only for the data says so: ``Σⱼ y = 1`` (a target on the
simplex) and ``Aᵀ = A`` (an input declared symmetric) are returned as assumptions.

Every reading is an equation between arrays: it is evaluated on the actual values and used only
if it equals the formula it replaces.  A rewrite can make a line less tidy, never wrong.

Why hand-written and not an e-graph: egglog (13.2) was tried on the same targets.  It reached 7 of
8, but on ``2√Σr²/(2√Σr²) ⊙ r`` and softmax + cross-entropy its rule set never saturates (666 k
e-nodes after 8 iterations) and needs a scheduler to stop; the order of a sum (``(A + Aᵀ)x``, not
``(Aᵀ + A)x``) and ``−X⁻ᵀAᵀX⁻ᵀ`` need a Python cost function on top; the side conditions (the
shape of 𝟏, Σⱼ y = 1) must come from the numbers anyway; and it is a 48 MB wheel with 34
dependencies and no Python 3.10 build.  This module reaches all 8 in about a millisecond each.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .algebra import evaluate, is_filled_number, simplify
from .expr import Apply, Binary, Expr, Neg, Num, Structural, Sym, Transpose, children
from .render import render

#: structural operations that are linear sums of their operand: Σ (a + b) = Σ a + Σ b
SUMS = frozenset({"sum", "row_sum", "row_dot", "sum_broadcast"})
#: facts about an input (the draw constraints) that make it equal to its transpose
_SYMMETRIC = frozenset({"symmetric", "spd"})
#: structural operations whose result is a symmetric matrix: diag(v)ᵀ = diag(v), Iᵀ = I
_SYMMETRIC_KINDS = frozenset({"identity", "diag_of"})
_MAX_TERMS = 32  # multiplying out beyond this many terms is not a simplification
_MAX_NODES = 3000  # a formula larger than this is shown as derived

Key = tuple
Factors = tuple[tuple[Key, Expr, int], ...]


@dataclass(frozen=True)
class Term:
    """``coefficient`` times the Hadamard product of ``atom^exponent`` over ``factors``."""

    coefficient: float
    factors: Factors = ()

    def scaled(self, by: float) -> Term:
        return Term(self.coefficient * by, self.factors)


@dataclass
class Reading:
    """A readable form of a formula, with the facts it used and the symbols it introduced."""

    expr: Expr
    assumptions: list[tuple[Expr, Expr]] = field(default_factory=list)  # (lhs, rhs): Σⱼ y = 1
    values: dict[str, Any] = field(default_factory=dict)  # new symbols (a count N) and their values
    names: dict[str, str] = field(default_factory=dict)  # how the new symbols are written


def readable(
    expr: Expr,
    env: dict[str, Any],
    facts: dict[str, str] | None = None,
    tolerance: float = 1e-9,
    names: dict[str, str] | None = None,
) -> Reading:
    """The shortest reading of ``expr`` that equals it on ``env`` (``expr`` itself if none does).

    ``facts`` maps a symbol to its draw constraint (``"symmetric"``, ``"spd"``, ``"simplex"`` …);
    ``names`` are the symbols' display names, by which the readings are measured.
    """
    names = names or {}
    if _size(expr) > _MAX_NODES:
        return Reading(expr)
    try:
        with np.errstate(all="ignore"):
            target = np.asarray(evaluate(expr, env))
    except (KeyError, ValueError, TypeError, IndexError):
        return Reading(expr)
    best, best_cost = Reading(expr), _cost(expr, names)
    for multiply_out in (False, True):
        reader = Reader(env, facts or {}, multiply_out)
        try:
            with np.errstate(all="ignore"):
                candidate = reader.expr(simplify(expr))
                if candidate == Num(0.0) and target.shape != ():  # everything cancelled: 0 in the line's shape
                    candidate = Structural("spread", Num(0.0), "{0}", "{0}", lambda _v, _c, s=target.shape: np.zeros(s))
                agrees = _agrees(np.asarray(evaluate(candidate, reader.env)), target, tolerance)
        except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError):
            continue
        cost = _cost(candidate, {**names, **reader.new_names}) if agrees else best_cost + 1
        if cost <= best_cost:  # on a tie, the normal form: its factors in a fixed order
            best_cost = cost
            best = Reading(candidate, reader.assumptions, reader.new_values, reader.new_names)
    return best


def _agrees(value: np.ndarray, target: np.ndarray, tolerance: float) -> bool:
    """Same shape (a reading may not lean on broadcasting its line), same values."""
    if value.shape != target.shape or not np.all(np.isfinite(value) == np.isfinite(target)):
        return False
    finite = np.isfinite(target)
    scale = max(float(np.max(np.abs(target[finite]), initial=0.0)), 1.0)
    return bool(np.all(np.abs(value[finite] - target[finite]) <= tolerance * scale))


def _cost(expr: Expr, names: dict[str, str]) -> int:
    """Length as printed, a leading minus sign counted extra: ``2 Xᵀ(Xw − y)`` over ``−2 Xᵀ(y − Xw)``."""
    text = render(expr, names)
    return len(text) + 2 * text.startswith("−")


def _size(expr: Expr) -> int:
    stack, count = [expr], 0
    while stack and count <= _MAX_NODES:
        node = stack.pop()
        count += 1
        stack.extend(children(node))
    return count


def _symbols(expr: Expr) -> bool:
    return isinstance(expr, Sym) or any(_symbols(child) for child in children(expr))


def key(expr: Expr) -> Key:
    """Structural identity: two atoms with one key are the same array (checked on the numbers)."""
    if isinstance(expr, Sym):
        return ("s", expr.name)
    if isinstance(expr, Num):
        return ("n", expr.value)
    if isinstance(expr, Apply):
        return ("a", expr.function, *(key(a) for a in expr.arguments))
    if isinstance(expr, Structural):
        return ("S", expr.kind, expr.text, key(expr.operand))
    if isinstance(expr, (Neg, Transpose)):
        return (type(expr).__name__, key(expr.operand))
    return ("b", expr.op, key(expr.left), key(expr.right))


def chain_of(expr: Expr) -> list[Expr]:
    """The factors of a matrix product A B C, in order."""
    if isinstance(expr, Binary) and expr.op == "@":
        return chain_of(expr.left) + chain_of(expr.right)
    return [expr]


def product_of(factors: list[Expr], op: str) -> Expr:
    result = factors[0]
    for factor in factors[1:]:
        result = Binary(op, result, factor)
    return result


class Reader:
    """One reading: the normal form of a formula (:meth:`terms`) and the formula built back from
    it with its common factors taken out (:meth:`build`)."""

    def __init__(self, env: dict[str, Any], facts: dict[str, str], multiply_out: bool) -> None:
        self.env = dict(env)
        self.facts = facts
        self.multiply_out = multiply_out
        self.assumptions: list[tuple[Expr, Expr]] = []
        self.new_values: dict[str, Any] = {}
        self.new_names: dict[str, str] = {}
        self._values: dict[int, tuple[Expr, np.ndarray]] = {}
        self._sums: dict[Key, list[Term]] = {}  # a sum in brackets: its own terms, to multiply out

    # ----- values ---------------------------------------------------------------------------------

    def value(self, expr: Expr) -> np.ndarray:
        hit = self._values.get(id(expr))
        if hit is None or hit[0] is not expr:
            hit = (expr, np.asarray(evaluate(expr, self.env)))
            self._values[id(expr)] = hit
        return hit[1]

    def shape(self, expr: Expr) -> tuple[int, ...]:
        return self.value(expr).shape

    def terms_in_brackets(self, atom: Expr) -> list[Term] | None:
        """The terms of a sum this reading put in brackets as one atom, or None."""
        return self._sums.get(key(atom))

    def _assume(self, lhs: Expr, rhs: Expr) -> None:
        if all(key(lhs) != key(seen) for seen, _ in self.assumptions):
            self.assumptions.append((lhs, rhs))

    # ----- the normal form ------------------------------------------------------------------------

    def expr(self, expr: Expr) -> Expr:
        return self.build(self.normal(expr))

    def normal(self, expr: Expr) -> list[Term]:
        terms = self.terms(expr)
        return self.collect(self.multiplied_out(terms) if self.multiply_out else terms)

    def terms(self, expr: Expr) -> list[Term]:
        if isinstance(expr, Num):
            return [Term(expr.value)] if expr.value != 0 else []
        if is_filled_number(expr):  # c copied over an array: c times the array of ones
            ones = dataclasses.replace(expr, operand=Num(1.0))
            return [Term(expr.operand.value, ((key(ones), ones, 1),))] if expr.operand.value != 0 else []
        if isinstance(expr, Neg):
            return [t.scaled(-1) for t in self.terms(expr.operand)]
        if isinstance(expr, Transpose):
            return self.transposed(self.terms(expr.operand))
        if isinstance(expr, Binary):
            return self._binary(expr)
        if isinstance(expr, Apply):
            return self._apply(expr)
        if isinstance(expr, Structural):
            return self._structural(expr)
        return [self.atom(expr)]

    def atom(self, expr: Expr, exponent: int = 1) -> Term:
        return Term(1.0, ((key(expr), expr, exponent),))

    def _binary(self, expr: Binary) -> list[Term]:
        if expr.op in "+−":
            sign = 1.0 if expr.op == "+" else -1.0
            return self.collect(self.terms(expr.left) + [t.scaled(sign) for t in self.terms(expr.right)])
        if expr.op == "*":
            return self.multiply(self.terms(expr.left), self.terms(expr.right))
        if expr.op == "/":
            denominator = self.terms(expr.right)
            if len(denominator) == 1 and denominator[0].coefficient != 0:
                return self.multiply(self.terms(expr.left), [self.reciprocal(denominator[0])])
            return self.multiply(self.terms(expr.left), [self.bracketed(denominator, -1)])
        if expr.op == "^" and isinstance(expr.right, Num) and expr.right.value == int(expr.right.value):
            n = int(expr.right.value)
            base = self.terms(expr.left)
            if len(base) == 1 and 0 < abs(n) <= 8 and (base[0].coefficient > 0 or n > 0):
                return [Term(base[0].coefficient**n, tuple((k, e, p * n) for k, e, p in base[0].factors))]
            if len(base) > 1:
                return [self.bracketed(base, n)]
        if expr.op == "@":
            return self._matrix_product(expr)
        return [self.atom(Binary(expr.op, self.expr(expr.left), self.expr(expr.right)))]

    def _apply(self, expr: Apply) -> list[Term]:
        arguments = tuple(self.expr(a) for a in expr.arguments)
        if expr.function == "dsigmoid" and self.multiply_out:  # σ' = σ ⊙ (1 − σ): lets σ cancel
            s = Apply("sigmoid", arguments)
            return [self.multiply([self.atom(s)], [self.bracketed([Term(1.0), self.atom(s).scaled(-1)], 1)])[0]]
        if expr.function == "exp" and isinstance(arguments[0], Structural) and arguments[0].kind == "log_softmax":
            return [self.atom(_softmax_from(arguments[0]))]
        return [self.atom(Apply(expr.function, arguments))]

    def _structural(self, expr: Structural) -> list[Term]:
        if expr.kind == "per_count":  # g / N: a division by the count of entries averaged
            count = 1.0 / float(np.asarray(expr.evaluate_with(np.ones(()), {})).reshape(-1)[0])
            return self.multiply(self.terms(expr.operand), [self.atom(self._count(count), -1)])
        if expr.kind in SUMS:
            return self._summed(expr)
        if self._is_transpose(expr):
            return self.transposed(self.terms(expr.operand))
        if expr.kind == "identity":
            return [self.atom(expr)]
        if expr.kind == "inverse":  # (A⁻¹)⁻¹ = A
            inner = self.expr(expr.operand)
            if isinstance(inner, Structural) and inner.kind == "inverse":
                return self.terms(inner.operand)
            return [self.atom(dataclasses.replace(expr, operand=inner))]
        if expr.text == "{0}" and self.shape(expr.operand) == () and self.value(expr).size == 1:
            return self.terms(expr.operand)  # one number shown as itself (a per-matrix copy of det)
        if expr.text == "{0}" and not _symbols(expr.operand) and self._filled(expr):  # c copied, however
            shape, number = self.shape(expr), float(self.value(expr).reshape(-1)[0])
            spread = ones(shape)
            return [Term(number, ((key(spread), spread, 1),))] if number != 0 else []
        if expr.kind == "spread" and self._copies(expr):  # a copied over an array: a ⊙ 𝟏
            spread = dataclasses.replace(expr, operand=Num(1.0))
            return self.multiply(self.terms(expr.operand), [self.atom(spread)])
        if expr.kind == "times_identity" and self._square(expr):  # g I: the number g times I
            return self.multiply(self.terms(expr.operand), [self.atom(identity(self.shape(expr)[0]))])
        if not _symbols(expr.operand) and self.value(expr).size == 1:  # a number written as an operation
            return [Term(float(self.value(expr).reshape(-1)[0]))] if self.value(expr).reshape(-1)[0] != 0 else []
        return [self.atom(dataclasses.replace(expr, operand=self.expr(expr.operand)))]

    def _filled(self, expr: Expr) -> bool:
        value = self.value(expr)
        return value.size > 0 and bool(np.all(value == value.reshape(-1)[0]))

    def _copies(self, expr: Structural) -> bool:
        """The spread is plain broadcasting of its operand (not a copy along re-inserted axes)."""
        try:
            copied = np.broadcast_to(self.value(expr.operand), self.shape(expr))
        except ValueError:
            return False
        return bool(np.array_equal(copied, self.value(expr), equal_nan=True))

    def _square(self, expr: Expr) -> bool:
        shape = self.shape(expr)
        return len(shape) == 2 and shape[0] == shape[1]

    def _is_transpose(self, expr: Structural) -> bool:
        """A table transpose (``x.T``, the transpose's VJP) of a matrix: the plain Aᵀ."""
        if expr.text != "{0}ᵀ" or len(self.shape(expr.operand)) != 2:
            return False
        return bool(np.array_equal(self.value(expr), self.value(expr.operand).T))

    def _count(self, count: float) -> Sym:
        name = f"count:{count:g}"
        if name not in self.new_values:
            self.new_values[name] = self.env[name] = count
            known = len(self.new_names)
            self.new_names[name] = "N" if known == 0 else f"N{'₀₁₂₃₄₅₆₇₈₉'[known + 1]}"
            if known == 1:  # a second count: number them both
                first = next(iter(self.new_names))
                self.new_names[first] = "N₁"
        return Sym(name)

    def _summed(self, expr: Structural) -> list[Term]:
        """Σ (a + b) = Σ a + Σ b and Σ (c a) = c Σ a, where every term has the operand's shape;
        Σⱼ y = 1 where y is data whose sums along the axis are 1 (a target on the simplex)."""
        inner = self.normal(expr.operand)
        whole = self.shape(expr.operand)
        bodies = [self.monomial(t) for t in inner]
        if not inner or any(b is None or self.shape(b) != whole for b in bodies):
            return [self.atom(dataclasses.replace(expr, operand=self.build(inner)))]
        out, ones = [], False
        for term, body in zip(inner, bodies):
            summed = dataclasses.replace(expr, operand=body)
            if self._sums_to_one(summed, body):
                ones = True
                self._assume(summed, Num(1.0))
                out.append(Term(term.coefficient))
            else:
                out.append(Term(term.coefficient, ((key(summed), summed, 1),)))
        if len(inner) > 1 and not ones:  # Σ (A − B) reads better than Σ A − Σ B, unless a term is 1
            return [self.atom(dataclasses.replace(expr, operand=self.build(inner)))]
        return out

    def _sums_to_one(self, summed: Structural, body: Expr) -> bool:
        data = isinstance(body, Sym) and not body.name.startswith(("g:", "d:"))
        return data and self.value(summed).size > 0 and bool(np.allclose(self.value(summed), 1.0, rtol=0, atol=1e-12))

    def _matrix_product(self, expr: Binary) -> list[Term]:
        """(Σ cᵢ Aᵢ)(Σ dⱼ Bⱼ) = Σ cᵢdⱼ AᵢBⱼ, each product a chain; scalars move in front."""
        left, right = self.normal(expr.left), self.normal(expr.right)
        if len(left) * len(right) > _MAX_TERMS:
            return [self.atom(Binary("@", self.build(left), self.build(right)))]
        out = []
        for a in left:
            for b in right:
                scalars_a, chain_a = self._split(a)
                scalars_b, chain_b = self._split(b)
                if not chain_a and not chain_b:
                    return [self.atom(Binary("@", self.build(left), self.build(right)))]
                chain = self._cleaned(chain_a + chain_b)  # a number on one side only scales the other
                term = Term(a.coefficient * b.coefficient, scalars_a + scalars_b)
                out.append(self._times(term, self.atom(product_of(chain, "@"))))
        return self.collect(out)

    def _split(self, term: Term) -> tuple[Factors, list[Expr]]:
        """A term as (its scalar factors, the factors of the matrix product its array part is)."""
        scalars = tuple(f for f in term.factors if self.shape(f[1]) == ())
        arrays = tuple(f for f in term.factors if self.shape(f[1]) != ())
        if not arrays:
            return scalars, []
        if len(arrays) == 1 and arrays[0][2] == 1:
            return scalars, chain_of(arrays[0][1])
        return scalars, [self.monomial(Term(1.0, arrays))]

    def _cleaned(self, chain: list[Expr]) -> list[Expr]:
        """Identities and 1×1 ones dropped from a matrix product: A I = A, (xᵀ A) 𝟏₁ₓ₁ = xᵀ A;
        a diagonal times ones is its vector: diag(v) 𝟏 = v, 𝟏ᵀ diag(v) = vᵀ."""
        kept = [f for f in chain if not self._neutral(f)] or chain[:1]
        out: list[Expr] = []
        for factor in kept:
            if out and (_inverse_pair(out[-1], factor) or _inverse_pair(out[-1], self._plain(factor))):
                out.pop()
            elif out and self._is_ones(factor, column=True) and _is_diag(out[-1]):
                out[-1] = self._oriented(out[-1].operand, column=True)  # diag(v) 𝟏 = v as a column
            elif out and _is_diag(factor) and self._is_ones(out[-1], column=False):
                out[-1] = self._oriented(factor.operand, column=False)  # 𝟏ᵀ diag(v) = v as a row
            else:
                out.append(factor)
        return out or [identity(self.shape(chain[0])[-2])]

    def _plain(self, factor: Expr) -> Expr:
        """A symmetric input written as its transpose, so that A⁻ᵀ A = I is seen too."""
        if isinstance(factor, Sym) and self.facts.get(factor.name) in _SYMMETRIC:
            return Transpose(factor)
        return factor

    def _oriented(self, vector: Expr, column: bool) -> Expr:
        is_column = len(self.shape(vector)) == 2 and self.shape(vector)[1] == 1
        return vector if is_column == column else self.transpose(vector)

    def _is_ones(self, factor: Expr, column: bool) -> bool:
        shape = self.shape(factor)
        if len(shape) != 2 or shape[1 if column else 0] != 1:
            return False
        return bool(np.all(self.value(factor) == 1)) and not _symbols(factor)

    def _neutral(self, factor: Expr) -> bool:
        if isinstance(factor, Structural) and factor.kind == "identity":
            return True
        return is_filled_number(factor) and factor.operand.value == 1 and self.shape(factor) in {(1, 1), (1,)}

    # ----- transposes -------------------------------------------------------------------------------

    def transposed(self, terms: list[Term]) -> list[Term]:
        out = []
        for term in terms:
            arrays = [f for f in term.factors if self.shape(f[1]) != ()]
            if len(arrays) > 1 and any(len(self.shape(f[1])) != 2 for f in arrays):
                whole = Transpose(self.monomial(Term(1.0, term.factors)))
                out.append(self._times(Term(term.coefficient), self.atom(whole)))
                continue
            factors = tuple(
                (k, e, p) if self.shape(e) == () else self._transposed_factor(e, p) for k, e, p in term.factors
            )
            out.append(Term(term.coefficient, factors))
        return out

    def _transposed_factor(self, factor: Expr, exponent: int) -> tuple[Key, Expr, int]:
        moved = self.transpose(factor)
        return key(moved), moved, exponent

    def transpose(self, factor: Expr) -> Expr:
        """Aᵀ with the transpose pushed in: (Aᵀ)ᵀ = A, (AB)ᵀ = BᵀAᵀ, a 1×1 or symmetric A is Aᵀ."""
        if isinstance(factor, Transpose):
            return factor.operand
        if isinstance(factor, Num):
            return factor
        if isinstance(factor, Binary) and factor.op == "@":
            return product_of([self.transpose(f) for f in reversed(chain_of(factor))], "@")
        bracketed = self._sums.get(key(factor))
        if bracketed is not None:  # (a + b)ᵀ = aᵀ + bᵀ
            return self.build(self.transposed(bracketed))
        if self.shape(factor) == (1, 1) or (isinstance(factor, Structural) and factor.kind in _SYMMETRIC_KINDS):
            return factor
        if isinstance(factor, Sym) and self.facts.get(factor.name) in _SYMMETRIC:
            self._assume(Transpose(factor), factor)
            return factor
        return Transpose(factor)

    # ----- products of terms ----------------------------------------------------------------------

    def multiply(self, left: list[Term], right: list[Term]) -> list[Term]:
        """Products of the terms; a sum times a sum stays a product of brackets in the derived
        reading (multiplied out by :meth:`multiplied_out`), and is multiplied out in the other."""
        if not left or not right:
            return []
        if len(left) > 1 and len(right) > 1 and not self.multiply_out:
            return [self._times(self.bracketed(left, 1), self.bracketed(right, 1))]
        if len(left) * len(right) > _MAX_TERMS:
            return [self._times(self.bracketed(left, 1), self.bracketed(right, 1))]
        if not self.multiply_out:  # a sum times one term: keep the sum bracketed unless the term is a number
            if len(left) > 1 and right[0].factors:
                return [self._times(self.bracketed(left, 1), right[0])]
            if len(right) > 1 and left[0].factors:
                return [self._times(left[0], self.bracketed(right, 1))]
        return self.collect([self._times(a, b) for a in left for b in right])

    def _times(self, a: Term, b: Term) -> Term:
        """The product of two terms: exponents of one atom add, and an atom over itself cancels."""
        merged: dict[Key, list] = {}
        for k, e, p in a.factors + b.factors:
            if k in merged:
                merged[k][1] += p
            else:
                merged[k] = [e, p]
        factors = tuple((k, e, p) for k, (e, p) in merged.items() if p != 0)
        return Term(a.coefficient * b.coefficient, self._absorb_ones(factors))

    def _absorb_ones(self, factors: Factors) -> Factors:
        """𝟏 ⊙ A = A where A has the shape of the ones (never where the ones would widen A)."""
        ones = [f for f in factors if is_filled_number(f[1])]
        if not ones:
            return factors
        others = [f for f in factors if not is_filled_number(f[1])]
        try:
            shape = np.broadcast_shapes(*(self.shape(e) for _, e, _ in others)) if others else None
        except ValueError:
            return factors
        try:
            kept = [f for f in ones if shape is None or np.broadcast_shapes(shape, self.shape(f[1])) != shape]
        except ValueError:
            return factors
        return tuple(others + kept[:1])

    def reciprocal(self, term: Term) -> Term:
        return Term(1.0 / term.coefficient, tuple((k, e, -p) for k, e, p in term.factors))

    def bracketed(self, terms: list[Term], exponent: int) -> Term:
        """A sum as one atom ``(a + b)^exponent``, remembered so that it can be multiplied out."""
        expr = self.build(terms)
        k = key(expr)
        self._sums[k] = terms
        return self.atom(expr, exponent)

    def multiplied_out(self, terms: list[Term]) -> list[Term]:
        """Every bracket with a positive exponent multiplied out, cancelling as it goes."""
        out: list[Term] = []
        for term in terms:
            expanded = [Term(term.coefficient)]
            for k, e, p in term.factors:
                inner = self._sums.get(k)
                if inner is not None and 0 < p <= 3 and len(expanded) * len(inner) ** p <= _MAX_TERMS:
                    for _ in range(p):
                        expanded = [self._times(a, b) for a in expanded for b in self.multiplied_out(inner)]
                else:
                    expanded = [self._times(a, Term(1.0, ((k, e, p),))) for a in expanded]
            out.extend(expanded)
        return self.collect(out)

    def collect(self, terms: list[Term]) -> list[Term]:
        """Like terms added: 2 a − a = a; terms that cancel dropped."""
        merged: dict[frozenset, list] = {}
        for term in terms:
            monomial = frozenset((k, p) for k, _, p in term.factors)
            if monomial in merged:
                merged[monomial][0] += term.coefficient
            else:
                merged[monomial] = [term.coefficient, term.factors]
        largest = max((abs(c) for c, _ in merged.values()), default=0.0)
        return [Term(c, f) for c, f in merged.values() if abs(c) > 1e-12 * largest]

    # ----- building the formula back --------------------------------------------------------------

    def monomial(self, term: Term) -> Expr | None:
        """The product of a term's atoms, without its number (None when it has no atoms)."""
        if not term.factors:
            return None
        return self.build_term(Term(1.0, term.factors))

    def build(self, terms: list[Term]) -> Expr:
        if not terms:
            return Num(0.0)
        terms = sorted(terms, key=self._order)
        if len(terms) == 1:
            return self.build_term(terms[0])
        if all(t.coefficient < 0 for t in terms):
            return Neg(self.build([t.scaled(-1) for t in terms]))
        powers = [{(k, p) for k, _, p in t.factors} for t in terms]
        common = [f for f in terms[0].factors if all((f[0], f[2]) in each for each in powers)]
        if common:  # a ⊙ c + b ⊙ c = (a + b) ⊙ c
            shared = {k for k, _, _ in common}
            rest = [Term(t.coefficient, tuple(f for f in t.factors if f[0] not in shared)) for t in terms]
            return self.build_term(Term(1.0, tuple(common)), self.build(rest))
        transposed = self._transposed_sum(terms)
        if transposed is not None:
            return transposed
        number = abs(terms[0].coefficient)
        if number != 1 and all(abs(t.coefficient) == number for t in terms):
            return Binary("*", Num(number), self.build([t.scaled(1 / number) for t in terms]))
        factored = self._factor_chains(terms)
        if factored is not None:
            return self.build(factored)
        result = self.build_term(terms[0])
        for term in terms[1:]:
            if term.coefficient < 0:
                result = Binary("−", result, self.build_term(term.scaled(-1)))
            else:
                result = Binary("+", result, self.build_term(term))
        return result

    def _transposed_sum(self, terms: list[Term]) -> Expr | None:
        """Aᵀ − Bᵀ = (A − B)ᵀ, where some Aᵢ is more than a symbol (Sᵀ − Yᵀ stays)."""
        single = [t.factors[0][1] for t in terms if len(t.factors) == 1 and t.factors[0][2] == 1]
        if len(single) != len(terms) or not all(isinstance(f, Transpose) for f in single):
            return None
        if all(isinstance(f.operand, Sym) for f in single):
            return None
        inner = [Term(t.coefficient, ((key(f.operand), f.operand, 1),)) for t, f in zip(terms, single)]
        return Transpose(self.build(inner))

    def _order(self, term: Term) -> tuple[bool, bool]:
        """Positive terms first, and a term weighted by a named number last: δ aᵀ + λ W."""
        weighted = any(isinstance(e, Sym) and self.shape(e) == () for _, e, _ in term.factors)
        return term.coefficient < 0, weighted

    def _factor_chains(self, terms: list[Term]) -> list[Term] | None:
        """The largest group of terms whose matrix products share a first (or last) factor,
        written once: L A + L B = L (A + B), A R + B R = (A + B) R."""
        chains = {}
        for i, term in enumerate(terms):
            if len(term.factors) == 1 and term.factors[0][2] == 1:
                factors = chain_of(term.factors[0][1])
                if len(factors) > 1:
                    chains[i] = factors
        best: tuple[int, str, list[int]] | None = None
        for side in ("left", "right"):
            groups: dict[Key, list[int]] = {}
            for i, factors in chains.items():
                groups.setdefault(key(factors[0] if side == "left" else factors[-1]), []).append(i)
            for members in groups.values():
                if len(members) > 1 and (best is None or len(members) > len(best[2])):
                    best = (len(members), side, members)
        if best is None:
            return None
        _, side, members = best
        shared = chains[members[0]][0] if side == "left" else chains[members[0]][-1]
        inner = []
        for i in members:
            rest = chains[i][1:] if side == "left" else chains[i][:-1]
            inner.append(Term(terms[i].coefficient, ((key(product_of(rest, "@")), product_of(rest, "@"), 1),)))
        bracket = self.build(inner)
        factored = Binary("@", shared, bracket) if side == "left" else Binary("@", bracket, shared)
        new = self.atom(factored)
        return [new if i == members[0] else t for i, t in enumerate(terms) if i == members[0] or i not in members]

    def build_term(self, term: Term, leading: Expr | None = None) -> Expr:
        """``c · leading ⊙ a ⊙ b^k / (d ⊙ e)``: numerators in order, then the denominators."""
        numerator = [leading] if leading is not None else []
        denominator = []
        for _, atom, exponent in term.factors:
            power = atom if abs(exponent) == 1 else Binary("^", atom, Num(float(abs(exponent))))
            (numerator if exponent > 0 else denominator).append(power)
        body = product_of(numerator, "*") if numerator else Num(1.0)
        if denominator:
            body = Binary("/", body, product_of(denominator, "*"))
        c = term.coefficient
        if c == 1:
            return body
        if c == -1:
            return Neg(body)
        if body == Num(1.0):
            return Num(c)
        scaled = Binary("*", Num(abs(c)), body)
        return Neg(scaled) if c < 0 else scaled


# ----- the matrices a reading writes ---------------------------------------------------------------------


def diag_of(v: Expr) -> Structural:
    """diag(v): the square matrix with the entries of the vector v on its diagonal."""
    return Structural(
        "diag_of", v, "diag({0})", r"\operatorname{diag}\left({0}\right)", lambda val, _c: np.diag(np.ravel(val))
    )


def ones(shape: tuple[int, ...]) -> Structural:
    """𝟏: a column (or row) of ones, as the gradient of a sum spreads a number."""
    return Structural("spread", Num(1.0), "{0}", "{0}", lambda _v, _c: np.ones(shape))


def identity(n: int) -> Structural:
    return Structural("identity", Num(1.0), "I", "I", lambda _v, _c: np.eye(n))


def _softmax_from(log_softmax: Structural) -> Structural:
    """exp(log softmax(z)) = softmax(z), over the same axis (the log softmax's own evaluation)."""
    logs = log_softmax.evaluate_with
    return Structural(
        "softmax", log_softmax.operand, "softmax({0})", r"\operatorname{softmax}\left({0}\right)",
        lambda v, c: np.exp(logs(v, c)),
    )


def _inverse_of(expr: Expr) -> tuple[Key, bool] | None:
    """(key of A, transposed) when ``expr`` is A⁻¹ or A⁻ᵀ."""
    transposed = isinstance(expr, Transpose)
    inner = expr.operand if transposed else expr
    if isinstance(inner, Structural) and inner.kind == "inverse":
        return key(inner.operand), transposed
    return None


def _inverse_pair(a: Expr, b: Expr) -> bool:
    """``a b`` is A⁻¹ A, A A⁻¹, A⁻ᵀ Aᵀ or Aᵀ A⁻ᵀ: the identity."""
    for inverse, other in ((a, b), (b, a)):
        found = _inverse_of(inverse)
        if found is not None:
            target, transposed = found
            plain = other.operand if transposed and isinstance(other, Transpose) else (None if transposed else other)
            if plain is not None and key(plain) == target:
                return True
    return False


def _is_diag(expr: Expr) -> bool:
    return isinstance(expr, Structural) and expr.kind == "diag_of"
