"""The Jacobian of a formula with respect to one vector, as a matrix expression.

The gradient that ``explain`` derives is a formula in x (``Aᵀ (A x − b)``, ``Xᵀ (σ(X w) − y)``);
its Jacobian with respect to x is the Hessian.  Forward mode written out: every subformula e gets
the matrix ``J(e) = ∂ vec(e)/∂x`` (entries in C order, as ``np.ravel``), starting from
``J(x) = I`` and combined with the chain rule of the notation's own vocabulary:

- an elementwise map: ``J(a ⊙ b) = diag(b) J(a) + diag(a) J(b)``, ``J(f(a)) = diag(f'(a)) J(a)``;
- a matrix times a vector: ``J(A v) = A J(v)``, ``J(u A) = Aᵀ J(u)``, ``J(uᵀ v) = vᵀ J(u) + uᵀ J(v)``;
- moving or adding up entries: ``J(Σ a) = 𝟏ᵀ J(a)``, a number spread over a vector ``𝟏 J(a)``.

So ``J(Xᵀ (σ(X w) − y))`` is ``Xᵀ diag(σ'(X w)) X``: one matrix expression, evaluated once per
point (:mod:`matgrad.explain.hessian`) instead of n Hessian-vector products.  Anything else
(a quantity that is a matrix and depends on x, an operation without a rule here) raises
:class:`NotCoveredError`, naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from .algebra import evaluate, simplify
from .expr import Apply, Binary, Expr, Neg, Num, Structural, Sym, Transpose, fn

Jac = Expr | None  # None: the formula does not depend on x (a zero Jacobian)


class NotCoveredError(ValueError):
    """The formula uses an operation whose second derivative the symbolic notation does not state."""


# f'(a) for the unary functions of the notation, written in the notation
_DERIVATIVES: dict[str, Callable[[Expr], Expr]] = {
    "exp": lambda a: fn("exp", a),
    "log": lambda a: 1 / a,
    "logpos": lambda a: 1 / a,
    "sqrt": lambda a: 0.5 / fn("sqrt", a),
    "abs": lambda a: fn("sign", a),
    "sigmoid": lambda a: fn("dsigmoid", a),
    "dsigmoid": lambda a: fn("dsigmoid", a) * (1 - 2 * fn("sigmoid", a)),  # σ' = σ(1 − σ): σ'' = σ'(1 − 2σ)
    "tanh": lambda a: fn("dtanh", a),
    "dtanh": lambda a: -2 * fn("tanh", a) * fn("dtanh", a),  # tanh' = 1 − tanh²: tanh'' = −2 tanh tanh'
    "softplus": lambda a: fn("sigmoid", a),
    "relu": lambda a: fn("step", a),
    "sin": lambda a: fn("cos", a),
    "cos": lambda a: -fn("sin", a),
    "sinh": lambda a: fn("cosh", a),
    "cosh": lambda a: fn("sinh", a),
    "log1p": lambda a: 1 / (1 + a),
    "expm1": lambda a: fn("exp", a),
    "arctan": lambda a: 1 / (1 + a**2),
}
# piecewise constant: a zero derivative almost everywhere, as the engine's own rules say
_FLAT = frozenset({"sign", "step", "share", "mask", "notmask", "floor", "ceil", "rint", "trunc", "fix"})
# structural operations that keep every entry in its C-order place (a copy, a reshape, a vector's transpose)
_IN_PLACE = frozenset({"transpose", "transpose_back", "reshape", "reshape_vjp", "vec"})
_ALONG_AXES = frozenset({"spread", "per_count", "sum", "sum_broadcast", "row_sum", "broadcast", "broadcast_vjp",
                         "mean", "per_example"})
_SOFTMAX = frozenset({"softmax", "softmax_over", "log_softmax"})


def diag(v: Expr) -> Structural:
    """diag(v), never formed when evaluated by :func:`matgrad.explain.hessian.evaluate_matrix`."""
    return Structural("diag_of", v, "diag({0})", r"\operatorname{diag}\left({0}\right)",
                      lambda val, _c: np.diag(np.ravel(val)))


def identity(n: int) -> Structural:
    return Structural("identity", Num(float(n)), "I", "I", lambda _v, _c: np.eye(n))


def _reshaped(kind: str, v: Expr, shape: tuple[int, ...], wanted: tuple[int, int]) -> Structural:
    """``v`` as a row or a column matrix; written ``vᵀ`` where that turns it (a column shown as a row)."""
    turned = (kind == "row") != (len(shape) == 2 and shape[0] == 1 and shape[1] != 1)
    text, latex = ("{0}ᵀ", r"{0}^{\top}") if turned and int(np.prod(shape)) > 1 else ("{0}", "{0}")
    return Structural(kind, v, text, latex, lambda val, _c: np.reshape(val, wanted))


def ones_column(k: int) -> Structural:
    return Structural("spread", Num(1.0), "{0}", "{0}", lambda _v, _c: np.ones((k, 1)))


@dataclasses.dataclass
class VecJacobian:
    """``J(e)`` for the subformulas of one formula, at the values of ``env`` (which fix the shapes)."""

    variable: str  # the symbol of x
    size: int  # n, the entries of x
    env: dict[str, Any]
    expand: Callable[[str], Expr | None]  # the formula of an intermediate symbol, None for an input

    def __post_init__(self) -> None:
        self._shapes: dict[int, tuple[Expr, tuple[int, ...]]] = {}
        self._memo: dict[int, tuple[Expr, Jac]] = {}

    def of(self, expr: Expr) -> Jac:
        known = self._memo.get(id(expr))
        if known is not None and known[0] is expr:
            return known[1]
        result = self._of(expr)
        self._memo[id(expr)] = (expr, result)
        return result

    def shape(self, expr: Expr) -> tuple[int, ...]:
        known = self._shapes.get(id(expr))
        if known is None or known[0] is not expr:  # kept with the formula: an id is reused once it is freed
            known = self._shapes[id(expr)] = (expr, np.shape(evaluate(expr, self.env)))
        return known[1]

    def entries(self, expr: Expr) -> int:
        return int(np.prod(self.shape(expr)))

    def _of(self, expr: Expr) -> Jac:
        if isinstance(expr, Sym):
            if expr.name == self.variable:
                return identity(self.size)
            definition = self.expand(expr.name)
            return None if definition is None else self.of(definition)
        if isinstance(expr, Num):
            return None
        if isinstance(expr, Neg):
            return self.negate(self.of(expr.operand))
        if isinstance(expr, Transpose):
            return self._moved(expr, expr.operand, "a transpose")
        if isinstance(expr, Apply):
            return self._apply(expr)
        if isinstance(expr, Structural):
            return self._structural(expr)
        return self._binary(expr)

    # ----- elementwise ------------------------------------------------------------------------

    def scaled(self, partial: Expr, jacobian: Jac, operand: Expr, result: Expr) -> Jac:
        """``∂result/∂operand · J(operand)`` for an elementwise map with that partial derivative:
        diag(partial) J, a number times J, or, for a number spread over a vector, partial Jᵀ-outer."""
        if jacobian is None:
            return None
        k, rows = self.entries(result), self.entries(operand)
        partial = self._full(partial, result)
        if rows == k:
            return jacobian if partial == Num(1.0) else self.times(partial, jacobian)
        if rows == 1:  # a number used in every entry: J(result) = partial 𝟏 J(number)
            column = ones_column(k) if self.entries(partial) == 1 else _reshaped("column", partial,
                                                                                 self.shape(partial), (k, 1))
            spread = _matmul(column, jacobian)
            return spread if self.entries(partial) > 1 or partial == Num(1.0) else Binary("*", partial, spread)
        shape = self.shape(result)
        spread = self.linear(lambda value: np.broadcast_to(value, shape), operand, result, "broadcasting")
        return self.times(partial, spread)

    def _full(self, partial: Expr, result: Expr) -> Expr:
        """The partial derivative with one entry per entry of the result (a column of a matrix
        copied along its rows, as NumPy broadcasts it), or one number."""
        if self.entries(partial) in (1, self.entries(result)):
            return partial
        shape = self.shape(result)
        return Structural("broadcast", partial, "{0}", "{0}", lambda v, _c: np.broadcast_to(v, shape))

    # ----- coefficients: J written as c R, with c a number or diag(c) -----------------------

    def split(self, jacobian: Expr) -> tuple[Expr | None, Expr]:
        """(c, R) with J = diag(c) R (or c R for a number c); c None when J is R itself."""
        if isinstance(jacobian, Neg):
            c, rest = self.split(jacobian.operand)
            return (Num(-1.0) if c is None else Neg(c)), rest
        if isinstance(jacobian, Binary) and jacobian.op == "*" and self.entries(jacobian.left) == 1:
            c, rest = self.split(jacobian.right)
            return (jacobian.left if c is None else Binary("*", jacobian.left, c)), rest
        if isinstance(jacobian, Binary) and jacobian.op == "@" and _is_diag(jacobian.left):
            return jacobian.left.operand, jacobian.right
        if _is_diag(jacobian):
            return jacobian.operand, identity(self.size)
        return None, jacobian

    def join(self, c: Expr | None, rest: Expr) -> Expr:
        if c is not None:
            c = simplify(c)
            c = self._number(c) or c
        if c is None or c == Num(1.0):
            return rest
        if self.entries(c) == 1:
            return Neg(rest) if c == Num(-1.0) else Binary("*", c, rest)
        return _matmul(diag(c), rest)

    def _number(self, c: Expr) -> Expr | None:
        """``c`` as one number when it is one number copied to every entry (2 𝟏, λ spread), else None."""
        if self.entries(c) == 1:
            return c
        if isinstance(c, Structural) and c.kind == "spread" and self.entries(c.operand) == 1:
            return c.operand
        if isinstance(c, Neg):
            inner = self._number(c.operand)
            return None if inner is None else Neg(inner)
        if isinstance(c, Binary) and c.op in ("*", "/"):
            left, right = self._number(c.left), self._number(c.right)
            return None if left is None or right is None else simplify(Binary(c.op, left, right))
        return None

    def times(self, factor: Expr, jacobian: Expr) -> Expr:
        """diag(factor) J (factor J for a number): diag(a) diag(b) R is diag(a ⊙ b) R."""
        c, rest = self.split(jacobian)
        return self.join(factor if c is None else Binary("*", factor, c), rest)

    def negate(self, jacobian: Jac) -> Jac:
        return None if jacobian is None else self.times(Num(-1.0), jacobian)

    def plus(self, left: Jac, right: Jac) -> Jac:
        """J₁ + J₂; diag(a) R + diag(b) R is diag(a + b) R (one product with R, not two)."""
        if left is None:
            return right
        if right is None:
            return left
        if all(isinstance(j, Binary) and j.op == "@" for j in (left, right)) and _same(left.left, right.left):
            return _matmul(left.left, self.plus(left.right, right.right))  # L R₁ + L R₂ = L (R₁ + R₂)
        (a, r1), (b, r2) = self.split(left), self.split(right)
        if _same(r1, r2):
            return self.join(Binary("+", Num(1.0) if a is None else a, Num(1.0) if b is None else b), r1)
        return Binary("+", left, right)

    def _apply(self, expr: Apply) -> Jac:
        if expr.function in _FLAT:
            return None
        if len(expr.arguments) != 1 or expr.function not in _DERIVATIVES:
            raise NotCoveredError(f"the function {expr.function!r}")
        (argument,) = expr.arguments
        inner = self.of(argument)
        return None if inner is None else self.scaled(_DERIVATIVES[expr.function](argument), inner, argument, expr)

    def _binary(self, expr: Binary) -> Jac:
        a, b = expr.left, expr.right
        if expr.op == "@":
            return self._matrix_product(expr)
        ja, jb = self.of(a), self.of(b)
        if expr.op == "+":
            return self.plus(self.scaled(Num(1.0), ja, a, expr), self.scaled(Num(1.0), jb, b, expr))
        if expr.op == "−":
            return self.plus(self.scaled(Num(1.0), ja, a, expr), self.negate(self.scaled(Num(1.0), jb, b, expr)))
        if expr.op == "*":
            return self.plus(self.scaled(b, ja, a, expr), self.scaled(a, jb, b, expr))
        if expr.op == "/":  # ∂(a/b) = da / b − a db / b²
            return self.plus(self.scaled(1 / b, ja, a, expr), self.scaled(Neg(a / b**2), jb, b, expr))
        if expr.op == "^":
            if jb is not None or not isinstance(b, Num):
                raise NotCoveredError("a power with an exponent that depends on the variable")
            return self.scaled(Num(b.value) * Binary("^", a, Num(b.value - 1)), ja, a, expr)
        raise NotCoveredError(f"the operator {expr.op!r}")

    # ----- matrix products --------------------------------------------------------------------

    def _matrix_product(self, expr: Binary) -> Jac:
        a, b = expr.left, expr.right
        ja, jb = self.of(a), self.of(b)
        sa, sb = self.shape(a), self.shape(b)
        if _is_vector(sa) and _is_vector(sb) and self.entries(expr) == self.entries(a) * self.entries(b) > max(
                self.entries(a), self.entries(b)):
            return self._outer(a, b, ja, jb)
        total: Jac = None
        if jb is not None:  # J(A v) = A J(v); a number b: J(a b) = a J(b) spread
            if self.entries(b) == 1 or self.entries(a) == 1:
                total = self.scaled(a, jb, b, expr)
            elif _is_column(sb):
                total = _matmul(a if len(sa) == 2 else _reshaped("row", a, sa, (1, -1)), jb)  # uᵀ v: a row
            elif len(sa) == 2 and len(sb) == 2:  # vec(A M) = (A ⊗ I) vec(M)
                total = _matmul(fn("kron", a, identity(sb[1])), jb)
            elif len(sa) == 1 and len(sb) == 2:  # vec(uᵀ M) = (uᵀ ⊗ I) vec(M), u a 1-D vector
                total = _matmul(fn("kron", _reshaped("row", a, sa, (1, -1)), identity(sb[1])), jb)
            else:
                raise NotCoveredError(f"a matrix product whose right factor, of shape {sb}, depends on the variable")
        if ja is not None:  # J(u B) = Bᵀ J(u); J(uᵀ v) = vᵀ J(u)
            if self.entries(a) == 1 or self.entries(b) == 1:
                part = self.scaled(b, ja, a, expr)
            elif _is_row(sa):
                other = Transpose(b) if len(sb) == 2 and not _is_column(sb) else _reshaped("row", b, sb, (1, -1))
                part = _matmul(other, ja)
            elif len(sa) == 2 and len(sb) == 2:  # vec(M B) = (I ⊗ Bᵀ) vec(M)
                part = _matmul(fn("kron", identity(sa[0]), Transpose(b)), ja)
            elif len(sa) == 2 and len(sb) == 1:  # vec(M b) = (I ⊗ bᵀ) vec(M)
                part = _matmul(fn("kron", identity(sa[0]), _reshaped("row", b, sb, (1, -1))), ja)
            else:
                raise NotCoveredError(f"a matrix product whose left factor, of shape {sa}, depends on the variable")
            total = self.plus(total, part)
        return total

    def _outer(self, a: Expr, b: Expr, ja: Jac, jb: Jac) -> Jac:
        """J(a bᵀ) for vectors a (m) and b (k), the notation's 𝟏 vᵀ among them (two 1-D arrays
        multiplied into m×k): vec(a bᵀ) = (a ⊗ I) b = (I ⊗ b) a."""
        m, k = self.entries(a), self.entries(b)
        total: Jac = None
        if jb is not None:
            total = _matmul(fn("kron", _reshaped("column", a, self.shape(a), (m, 1)), identity(k)), jb)
        if ja is not None:
            column = _reshaped("column", b, self.shape(b), (k, 1))
            total = self.plus(total, _matmul(fn("kron", identity(m), column), ja))
        return total

    # ----- structural -------------------------------------------------------------------------

    def _structural(self, expr: Structural) -> Jac:
        if expr.kind not in ("identity", "diag_of") and self.of(expr.operand) is None:
            return None  # any operation of a constant is a constant
        if expr.kind in _ALONG_AXES:  # copies along axes, sums over them, means: a map read off numerically
            return self.linear(lambda value: expr.evaluate_with(value, {}), expr.operand, expr, f"the {expr.kind}")
        if expr.kind in _IN_PLACE:
            return self._moved(expr, expr.operand, f"the operation {expr.kind!r}")
        if expr.kind in _SOFTMAX:
            return self._softmax(expr)
        raise NotCoveredError(f"the operation {expr.kind!r}")

    def linear(self, apply: Callable[[np.ndarray], Any], operand: Expr, result: Expr, what: str) -> Jac:
        """J(L(a)) = L J(a) for a map L that copies entries along an axis, adds them up over one, or
        scales them (a mean): L, one of a few Kronecker forms such as 𝟏ᵀ ⊗ I, is found by applying
        the map to distinct numbers."""
        inner = self.of(operand)
        if inner is None:
            return None
        scale, matrix = _axis_map(apply, self.shape(operand), self.shape(result), what)
        moved = inner if matrix is None else _matmul(matrix, inner)
        return moved if scale == 1.0 else self.times(Num(scale), moved)

    def _softmax(self, expr: Structural) -> Jac:
        """J(softmax(a)) = (diag(p) − p pᵀ) J(a), J(log softmax(a)) = (I − 𝟏 pᵀ) J(a): over a whole
        vector, or row by row of a matrix (then block by block: blockdiag(pᵢ pᵢᵀ))."""
        inner = self.of(expr.operand)
        if inner is None:
            return None
        logarithm = expr.kind == "log_softmax"
        p = Apply("exp", (expr,)) if logarithm else expr
        value, shape = np.exp(evaluate(expr, self.env)) if logarithm else evaluate(expr, self.env), self.shape(expr)
        if self.entries(expr) != self.entries(expr.operand):
            raise NotCoveredError(f"the operation {expr.kind!r} of shape {self.shape(expr.operand)} to {shape}")
        if np.allclose(np.sum(value), 1.0):  # over the whole vector
            k = self.entries(expr)
            column, row = _reshaped("column", p, shape, (k, 1)), _reshaped("row", p, shape, (1, k))
            weighted = _matmul(ones_column(k) if logarithm else column, _matmul(row, inner))
            return Binary("−", inner if logarithm else self.times(p, inner), weighted)
        if len(shape) == 2 and np.allclose(np.sum(value, axis=1), 1.0):  # row by row
            blocks = row_blocks(p, shape, ones=logarithm)
            return Binary("−", inner if logarithm else self.times(p, inner), _matmul(blocks, inner))
        raise NotCoveredError(f"the operation {expr.kind!r} over an axis other than the rows of a matrix")

    def _moved(self, expr: Expr, operand: Expr, what: str) -> Jac:
        """An operation that keeps each entry where it is in C order, or spreads one number."""
        inner = self.of(operand)
        if inner is None:
            return None
        k_in, k_out = self.entries(operand), self.entries(expr)
        if k_in == 1 and k_out > 1:
            return _matmul(ones_column(k_out), inner)
        transposing = isinstance(expr, Transpose) or getattr(expr, "kind", "") in ("transpose", "transpose_back")
        if k_in == k_out and (_is_vector(self.shape(operand)) or not transposing):
            return inner  # a vector's transpose or a reshape leaves vec(·) as it is
        if k_in == k_out and len(self.shape(operand)) == 2:  # vec(Mᵀ) = K vec(M), K the commutation matrix
            return commuted(inner, self.shape(operand))
        raise NotCoveredError(f"{what} of shape {self.shape(operand)} to {self.shape(expr)}")


def _axis_map(apply: Callable[[np.ndarray], Any], shape: tuple[int, ...], result: tuple[int, ...],
              what: str) -> tuple[float, Expr | None]:
    """(c, L) with vec(apply(a)) = c L vec(a), L None for the identity, tried on a = 1, 2, 3, …"""
    size, out_size = int(np.prod(shape)), int(np.prod(result))
    test = np.arange(1.0, size + 1).reshape(shape)
    out = np.ravel(np.asarray(apply(test), dtype=np.float64))
    flat = test.ravel()
    candidates: list[tuple[Expr | None, np.ndarray]] = [(None, flat), (Transpose(ones_column(size)), flat.sum())]
    if size == 1:
        candidates.append((ones_column(out_size), np.full(out_size, flat[0])))
    if len(shape) == 2:  # Σ over the rows (𝟏ᵀ ⊗ I) or over the columns (I ⊗ 𝟏ᵀ)
        m, k = shape
        candidates.append((_kron(Transpose(ones_column(m)), identity(k), m, k), test.sum(axis=0)))
        candidates.append((_kron(identity(m), Transpose(ones_column(k)), m, k), test.sum(axis=1)))
    if len(result) == 2:  # a vector copied along the rows (𝟏 ⊗ I) or along the columns (I ⊗ 𝟏)
        p, q = result
        if q == size:
            candidates.append((_kron(ones_column(p), identity(q), p, q), np.tile(flat, p)))
        if p == size:
            candidates.append((_kron(identity(p), ones_column(q), p, q), np.repeat(flat, q)))
    for matrix, values in candidates:
        values = np.ravel(values)
        if values.size == out.size and out.size:
            ratio = out / values
            if np.allclose(ratio, ratio[0], rtol=1e-12, atol=0.0):
                return float(ratio[0]), matrix
    raise NotCoveredError(f"{what} from shape {shape} to {result}")


def _kron(left: Expr, right: Expr, m: int, k: int) -> Expr:
    """left ⊗ right, where a factor of size 1 drops out."""
    if m == 1:
        return right
    return left if k == 1 else fn("kron", left, right)


def commuted(jacobian: Expr, shape: tuple[int, ...]) -> Structural:
    """K J: the rows of J (entries of a p×q matrix M in C order) reordered as the entries of Mᵀ."""
    p, q = shape

    def permute(value: Any, _context: dict) -> np.ndarray:
        value = np.asarray(value)
        return value.reshape(p, q, -1).transpose(1, 0, 2).reshape(p * q, -1)

    return Structural("commute", jacobian, "K {0}", r"K {0}", permute)


def row_blocks(p: Expr, shape: tuple[int, ...], ones: bool) -> Structural:
    """blockdiag(pᵢ pᵢᵀ) (or blockdiag(𝟏 pᵢᵀ)) over the rows pᵢ of a matrix: dense, for small models."""
    m, k = shape

    def blocks(value: Any, _context: dict) -> np.ndarray:
        rows = np.asarray(value).reshape(m, k)
        left = np.ones_like(rows) if ones else rows
        dense = np.zeros((m, k, m, k), rows.dtype)
        dense[np.arange(m), :, np.arange(m), :] = left[:, :, None] * rows[:, None, :]
        return dense.reshape(m * k, m * k)

    text, latex = ("blockdiag(𝟏 {0}ᵢᵀ)", r"\operatorname{blockdiag}(\mathbf{1} {0}_i^{\top})") if ones else (
        "blockdiag({0}ᵢ {0}ᵢᵀ)", r"\operatorname{blockdiag}({0}_i {0}_i^{\top})")
    return Structural("row_blocks", p, text, latex, blocks)


def _is_vector(shape: tuple[int, ...]) -> bool:
    return len(shape) <= 1 or (len(shape) == 2 and 1 in shape)


def _is_column(shape: tuple[int, ...]) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def _is_row(shape: tuple[int, ...]) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)


def _is_diag(expr: Expr) -> bool:
    return isinstance(expr, Structural) and expr.kind == "diag_of"


def _same(a: Expr, b: Expr) -> bool:
    if isinstance(a, Structural) and isinstance(b, Structural) and a.kind == b.kind == "identity":
        return True
    return a is b or a == b


def _matmul(left: Expr, right: Expr) -> Expr:
    """``left right``, where the identity drops out."""
    if isinstance(right, Structural) and right.kind == "identity":
        return left
    if isinstance(left, Structural) and left.kind == "identity":
        return right
    return Binary("@", left, right)
