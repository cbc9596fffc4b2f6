"""Products beyond matmul: einsum, kron and cross (rows of the table), and dot, vdot, inner, outer,
tensordot (algebra over matmul, transpose, reshape and mul, which carry their gradients).

einsum is linear in each operand, so its VJP for operand i is another einsum: of ``g`` with the
other operands, written to operand i's labels.  Three cases need a constant operand there (so
that the whole VJP stays one einsum, itself differentiable for second order):

- a label repeated on operand i (``'ii->i'``, the trace ``'ii'``): the gradient lives on the
  diagonal, written back into zeros by a Kronecker delta ``δ_{ii'}``;
- a label summed on operand i alone (``'ij->i'``): the gradient is copied along it (a ones vector);
- an axis of size 1 that broadcast against a longer one (``'...i,...i'`` with shapes (1, 3) and
  (4, 3)): it gets a label of its own, so the copies' gradients are summed back.
"""

from __future__ import annotations

import functools
import math
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..symbolic import fn
from .composites import as_array
from .core import Primitive, constant_ones, refuse_out, register, shape_of, unbroadcast, value
from .elementwise import astype, mul
from .linalg import matmul, transpose
from .notation import custom, g, structural, t
from .notation import x as inputs
from .shape import reshape

__all__ = ["cross", "dot", "einsum", "inner", "kron", "outer", "tensordot", "vdot"]

x0, x1 = inputs[:2]
LETTERS = string.ascii_letters
_LARGE = 1 << 14  # iterations of a contraction above which einsum's optimized (BLAS) path pays off


# ----- einsum: parsing ------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def parse(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[str, ...], str]:
    """One letter per axis of each operand and of the output: ``...`` spelled out with letters
    the subscripts do not use (right-aligned, as NumPy broadcasts), the implicit output written
    (the ellipsis axes, then the labels seen once, in ASCII order, as NumPy does)."""
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    if "->" in rhs:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), but {len(shapes)} were given"
        )
    fresh = iter(c for c in LETTERS if c not in spec)
    pieces, width = [], 0
    for term, shape in zip(terms, shapes):
        before, dots, after = term.partition("...")
        if any(c not in LETTERS for c in before + after):
            raise ValueError(f"einsum: term {term!r} of {subscripts!r} has a character that is not a letter")
        k = len(shape) - len(before) - len(after)
        if (k != 0 and not dots) or k < 0:
            raise ValueError(
                f"einsum: term {term!r} of {subscripts!r} has {len(before) + len(after)} label(s) "
                f"for an operand of {len(shape)} dimension(s) {shape}"
            )
        pieces.append((before, k, after))
        width = max(width, k)
    ellipsis = "".join(next(fresh) for _ in range(width))
    labels = tuple(before + ellipsis[width - k :] + after for before, k, after in pieces)
    if arrow:
        before, dots, after = rhs.partition("...")
        if width and not dots:
            raise ValueError(f"einsum: output {rhs!r} of {subscripts!r} needs '...' for the broadcast axes")
        output = before + (ellipsis if dots else "") + after
    else:
        counts = Counter("".join(before + after for before, _, after in pieces))
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1))
    return labels, output


def label_sizes(labels: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> dict[str, int]:
    """Each label's length after broadcasting (a size-1 axis stretches to the others' length)."""
    sizes: dict[str, int] = {}
    for term, shape in zip(labels, shapes):
        for label, n in zip(term, shape):
            if n != 1 or label not in sizes:
                sizes[label] = n
    return sizes


@functools.lru_cache(maxsize=512)
def _optimized(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> bool:
    """einsum's optimized path (pairwise contractions, BLAS) where it pays: three operands or
    more, or a contraction of many iterations; below that its path search costs more than it saves."""
    if len(shapes) >= 3:
        return True
    labels, _ = parse(subscripts, shapes)
    return math.prod(label_sizes(labels, shapes).values()) >= _LARGE


@functools.lru_cache(maxsize=512)
def _searched_path(subscripts: str, shapes: tuple[tuple[int, ...], ...], optimize: Any) -> tuple[Any, ...]:
    """``np.einsum_path``'s path for these shapes, searched once.  ``np.einsum(optimize=True)``
    searches again on every call (40-150 µs for three operands: longer than the contraction of
    64 × 64 matrices); given the path it skips the search and contracts in the same order, so the
    result is the same, bit for bit.  The search reads only the shapes: stand-ins of stride 0."""
    stand_ins = [np.broadcast_to(np.empty((), dtype=np.float64), shape) for shape in shapes]
    return tuple(np.einsum_path(subscripts, *stand_ins, optimize=optimize)[0])


def _path(optimize: Any, subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> Any:
    if isinstance(optimize, tuple):  # an explicit path from np.einsum_path, kept hashable
        return list(optimize)
    if optimize is False:
        if not _optimized(subscripts, shapes):
            return False
        optimize = True
    if optimize is True or optimize in ("greedy", "optimal"):
        return list(_searched_path(subscripts, shapes, optimize))
    return optimize


def _einsum_forward(*operands: Any, subscripts: str, optimize: Any = False) -> np.ndarray:
    shapes = tuple(np.shape(x) for x in operands)
    return np.einsum(subscripts, *operands, optimize=_path(optimize, subscripts, shapes))


# ----- einsum: the VJP ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def gradient_plan(
    subscripts: str, shapes: tuple[tuple[int, ...], ...], argnum: int
) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """The einsum of the VJP for operand ``argnum``: subscripts over ``g``, the other operands and
    constants, and the constants as ``("delta", order, n)`` or ``("ones", 1, n)``."""
    labels, output = parse(subscripts, shapes)
    sizes = label_sizes(labels, shapes)
    used = set("".join(labels) + output)
    spare = iter(c for c in LETTERS if c not in used)

    def fresh() -> str:
        try:
            return next(spare)
        except StopIteration:
            raise ValueError(f"einsum: too many axes in {subscripts!r} to differentiate (52 letters)") from None

    def own(term: str, shape: tuple[int, ...]) -> list[str]:
        """A size-1 axis that broadcast gets a label of its own (its copies are summed back)."""
        return [fresh() if n == 1 and sizes[label] != 1 else label for label, n in zip(term, shape)]

    terms = [output] + ["".join(own(labels[j], shapes[j])) for j in range(len(shapes)) if j != argnum]
    target = own(labels[argnum], shapes[argnum])
    constants: list[tuple[str, int, int]] = []
    groups: dict[str, list[str]] = {}
    for position, label in enumerate(target):
        if label in groups:  # a repeated label: a diagonal, written back by a Kronecker delta
            target[position] = fresh()
            groups[label].append(target[position])
        else:
            groups[label] = [label]
    for label, group in groups.items():
        if len(group) > 1:
            terms.append("".join(group))
            constants.append(("delta", len(group), shapes[argnum][target.index(label)]))
    available = set("".join(terms))
    for position, label in enumerate(target):
        if label not in available:  # summed on this operand alone: the gradient is copied along it
            terms.append(label)
            constants.append(("ones", 1, shapes[argnum][position]))
            available.add(label)
    return ",".join(terms) + "->" + "".join(target), tuple(constants)


@functools.lru_cache(maxsize=128)
def _delta(order: int, n: int, dtype: np.dtype) -> np.ndarray:
    """δ_{i₁…i_order}: 1 where all indices agree (read-only, made once)."""
    delta = np.zeros((n,) * order, dtype=dtype)
    delta[(np.arange(n),) * order] = 1
    delta.flags.writeable = False
    return delta


def _constant(kind: str, order: int, n: int, dtype: np.dtype) -> np.ndarray:
    return _delta(order, n, dtype) if kind == "delta" else constant_ones(n, dtype)


def _einsum_vjp(i: int, g: Any, out: Any, *xs: Any, subscripts: str, optimize: Any = False) -> Any:
    shapes = tuple(shape_of(x) for x in xs)
    plan, constants = gradient_plan(subscripts, shapes, i)
    dtype = value(g).dtype
    operands = (g, *xs[:i], *xs[i + 1 :], *(_constant(*c, dtype) for c in constants))
    grad = _einsum(*operands, subscripts=plan)
    target = value(xs[i]).dtype
    return grad if value(grad).dtype == target else astype(grad, dtype=target)


def _einsum_jvp(i: int, t: Any, out: Any, *xs: Any, subscripts: str, optimize: Any = False) -> Any:
    """Linear in each operand: the einsum with operand i replaced by its tangent."""
    return _einsum(*xs[:i], t, *xs[i + 1 :], subscripts=subscripts, optimize=optimize)


def _einsum_vjp_value(gv: Any, context: dict) -> np.ndarray:
    """The notation's VJP, computed another way than the rule: the einsum over the labels the
    other factors share with operand i, copied along its lone labels, scattered onto its
    diagonals, and summed over its broadcast axes."""
    xs, i, params = context["inputs"], context["argnum"], context["params"]
    shapes = tuple(np.shape(x) for x in xs)
    labels, output = parse(params["subscripts"], shapes)
    sizes = label_sizes(labels, shapes)
    mine = labels[i]
    unique = "".join(dict.fromkeys(mine))
    others = [labels[j] for j in range(len(xs)) if j != i]
    shared = "".join(c for c in unique if c in output + "".join(others))
    core = np.einsum(",".join([output, *others]) + "->" + shared, gv, *[x for j, x in enumerate(xs) if j != i])
    full = {**sizes, **{c: shapes[i][mine.index(c)] for c in unique if c not in shared}}
    core = np.expand_dims(core, tuple(k for k, c in enumerate(unique) if c not in shared))
    core = np.broadcast_to(core, tuple(full[c] for c in unique))
    grid = np.ix_(*(np.arange(full[c]) for c in unique)) if unique else ()
    result = np.zeros(tuple(full[c] for c in mine), dtype=np.result_type(gv, np.float32))
    result[tuple(grid[unique.index(c)] for c in mine)] = core
    broadcast = tuple(k for k, (c, n) in enumerate(zip(mine, shapes[i])) if n == 1 and full[c] != 1)
    return result.sum(axis=broadcast, keepdims=True) if broadcast else result


def einsum_hint(values: Sequence[Any], params: dict) -> str:
    """Name the label whose lengths disagree, with the operands that disagree."""
    subscripts = params.get("subscripts", "")
    shapes = tuple(np.shape(v) for v in values)
    try:
        labels, output = parse(subscripts, shapes)
    except ValueError as error:
        return str(error).removeprefix("einsum: ")
    seen: dict[str, tuple[int, int]] = {}
    for j, (term, shape) in enumerate(zip(labels, shapes)):
        for label, n in zip(term, shape):
            if label in seen and n != seen[label][1] and 1 not in (n, seen[label][1]):
                return (
                    f"in {subscripts!r}, label {label!r} has length {seen[label][1]} in operand "
                    f"{seen[label][0]} but {n} in operand {j}; each label must name axes of one length "
                    f"(or 1, which broadcasts). Hint: check the order of the labels against the shapes"
                )
            seen.setdefault(label, (j, n))
    if len(set(output)) != len(output):
        return f"in {subscripts!r}, the output repeats a label; each output label may appear once"
    missing = set(output) - set("".join(labels))
    if missing:
        return f"in {subscripts!r}, output label(s) {''.join(sorted(missing))} appear in no operand"
    return f"NumPy refused einsum {subscripts!r} on these shapes"


def _einsum_value(v: Any, context: dict) -> np.ndarray:
    return np.einsum(context["params"]["subscripts"], *context["inputs"])


def _einsum_tangent_value(v: Any, context: dict) -> np.ndarray:
    operands = [v if j == context["argnum"] else x for j, x in enumerate(context["inputs"])]
    return np.einsum(context["params"]["subscripts"], *operands)


_einsum = Primitive(
    "einsum",
    _einsum_forward,
    vjp=_einsum_vjp,
    jvp=_einsum_jvp,
    notation=custom(
        structural(
            "einsum", x0, "einsum(s, {0}, …)", r"\operatorname{einsum}\left(s, {0}, \ldots\right)", _einsum_value
        ),
        vjp=(
            structural(
                "einsum_vjp",
                g,
                "einsum(s: out → xᵢ, {0}, x_j≠i)",
                r"\operatorname{einsum}\left(s_{\mathrm{out} \to i}, {0}, x_{j \neq i}\right)",
                _einsum_vjp_value,
            ),
        ),
        jvp=(
            structural(
                "einsum_tangent",
                t,
                "einsum(s, …, {0}, …)",
                r"\operatorname{einsum}\left(s, \ldots, {0}, \ldots\right)",
                _einsum_tangent_value,
            ),
        ),
        index=(
            "Σ over the labels xᵢ lacks of [{g}]_out ∏_{j≠i} [x_j], the labels of [xᵢ]_k held fixed "
            "(δ between repeated labels of xᵢ)",
        ),
        product=("contraction",),
        why=(
            "an einsum is linear in each operand, so its gradient is the einsum of g with the other "
            "operands, written to that operand's labels: a repeated label writes a diagonal into zeros, "
            "a label summed on that operand alone copies the gradient along it"
        ),
    ),
    error_hint=einsum_hint,
)


def _sublist_subscripts(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """NumPy's second form, ``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])``, as a string."""

    def term(sublist: Sequence[Any]) -> str:
        parts = []
        for s in sublist:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(LETTERS):
                parts.append(LETTERS[s])
            else:
                raise ValueError(f"einsum: a sublist holds integers in [0, 52) or Ellipsis, got {s!r}")
        return "".join(parts)

    pairs = len(args) // 2
    operands = list(args[0 : 2 * pairs : 2])
    subscripts = ",".join(term(s) for s in args[1 : 2 * pairs : 2])
    if len(args) % 2:
        subscripts += "->" + term(args[-1])
    return subscripts, operands


def einsum(
    *operands: Any,
    out: Any = None,
    dtype: Any = None,
    order: str = "K",
    casting: str = "safe",
    optimize: Any = False,
) -> Any:
    """NumPy's einsum (``einsum(subscripts, *operands, ...)`` or the sublist form), differentiable
    in every operand: explicit or implicit output, ``...``, repeated labels (diagonals, traces),
    broadcasting.  ``optimize`` is passed to NumPy (the default takes NumPy's optimized path where
    it pays: three operands or more, or a large contraction); ``order`` and ``casting`` concern
    memory layout and NumPy's casting checks only, and are not used."""
    refuse_out("einsum", out)
    if not operands:
        raise TypeError("einsum: missing the subscripts and the operands")
    if isinstance(operands[0], str):
        subscripts, arrays = operands[0], list(operands[1:])
    else:
        subscripts, arrays = _sublist_subscripts(operands)
    if isinstance(optimize, list):
        optimize = tuple(optimize)
    result = _einsum(*arrays, subscripts=subscripts.replace(" ", ""), optimize=optimize)
    return result if dtype is None else astype(result, dtype=np.dtype(dtype))


# ----- tensordot, dot, vdot, inner, outer: algebra over matmul -----------------------------------
def _axes_pair(axes: Any, a_ndim: int, b_ndim: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(a_ndim, b_ndim):
            raise ValueError(
                f"tensordot: axes={n} needs 0 ≤ axes ≤ the dimensions of each operand ({a_ndim}, {b_ndim})"
            )
        return list(range(a_ndim - n, a_ndim)), list(range(n))
    try:
        a_axes, b_axes = axes
    except (TypeError, ValueError):
        raise ValueError(f"tensordot: axes must be an int or a pair of sequences of axes, got {axes!r}") from None
    a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: {len(a_axes)} axes of a {a_axes} but {len(b_axes)} of b {b_axes}")
    for axis, ndim, name in [(x, a_ndim, "a") for x in a_axes] + [(x, b_ndim, "b") for x in b_axes]:
        if not -ndim <= axis < ndim:
            raise ValueError(f"tensordot: axis {axis} is out of bounds for {name} with {ndim} dimension(s)")
    return [int(x) % a_ndim for x in a_axes], [int(x) % b_ndim for x in b_axes]


def _permuted(x: Any, axes: list[int]) -> Any:
    return x if axes == sorted(axes) else transpose(x, axes=tuple(axes))


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Sum products over ``axes`` (the last ``axes`` of a with the first of b, or a pair of axis
    lists): NumPy's own route, transpose → reshape → one matrix product → reshape."""
    a, b = as_array(a), as_array(b)
    a_shape, b_shape = shape_of(a), shape_of(b)
    a_axes, b_axes = _axes_pair(axes, len(a_shape), len(b_shape))
    for i, j in zip(a_axes, b_axes):
        if a_shape[i] != b_shape[j]:
            raise ValueError(
                f"tensordot: shape-mismatch for sum: axis {i} of a {a_shape} has length {a_shape[i]} "
                f"but axis {j} of b {b_shape} has {b_shape[j]}"
            )
    free_a = [i for i in range(len(a_shape)) if i not in a_axes]
    free_b = [j for j in range(len(b_shape)) if j not in b_axes]
    inner_size = math.prod(a_shape[i] for i in a_axes)
    left = reshape(_permuted(a, free_a + a_axes), shape=(math.prod(a_shape[i] for i in free_a), inner_size))
    right = reshape(_permuted(b, b_axes + free_b), shape=(inner_size, math.prod(b_shape[j] for j in free_b)))
    return reshape(matmul(left, right), shape=tuple(a_shape[i] for i in free_a) + tuple(b_shape[j] for j in free_b))


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """np.dot: a product with a scalar, an inner product of vectors, a matrix product, or a sum
    over the last axis of a and the second-to-last of b."""
    refuse_out("dot", out)
    a, b = as_array(a), as_array(b)
    a_ndim, b_ndim = len(shape_of(a)), len(shape_of(b))
    if a_ndim == 0 or b_ndim == 0:
        return mul(a, b)
    if b_ndim == 1 or a_ndim == 1 or (a_ndim == 2 and b_ndim == 2):
        return matmul(a, b)  # matmul's rules agree with dot's for these shapes
    return tensordot(a, b, axes=([a_ndim - 1], [b_ndim - 2]))


def vdot(a: Any, b: Any, /) -> Any:
    """The dot product of the two inputs flattened (real arrays: no conjugation)."""
    a_flat, b_flat = reshape(a, shape=(-1,)), reshape(b, shape=(-1,))
    if shape_of(a_flat) != shape_of(b_flat):
        raise ValueError(
            f"vdot: the inputs have {shape_of(a_flat)[0]} and {shape_of(b_flat)[0]} entries; they must agree"
        )
    return matmul(a_flat, b_flat)


def inner(a: Any, b: Any, /) -> Any:
    """Sum products over the last axes of a and b (a product with a scalar)."""
    a, b = as_array(a), as_array(b)
    a_ndim, b_ndim = len(shape_of(a)), len(shape_of(b))
    if a_ndim == 0 or b_ndim == 0:
        return mul(a, b)
    return tensordot(a, b, axes=([a_ndim - 1], [b_ndim - 1]))


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """The outer product of the two inputs flattened: ``out[i, j] = a[i] b[j]``."""
    refuse_out("outer", out)
    return mul(reshape(a, shape=(-1, 1)), reshape(b, shape=(1, -1)))


# ----- kron ----------------------------------------------------------------------------------
def _kron_shapes(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Both shapes padded with leading 1s to one number of dimensions, as np.kron does."""
    n = max(len(a_shape), len(b_shape))
    return (1,) * (n - len(a_shape)) + a_shape, (1,) * (n - len(b_shape)) + b_shape


def _kron_vjp(argnum: int) -> Any:
    """g cut into blocks (g.reshape(m, p, n, q) for matrices), each block contracted with b
    (for a), or the blocks weighted by a's entries and added (for b)."""

    def rule(g: Any, out: Any, a: Any, b: Any) -> Any:
        sa, sb = _kron_shapes(shape_of(a), shape_of(b))
        n = len(sa)
        blocks = g.reshape(tuple(s for pair in zip(sa, sb) for s in pair))
        upper, lower = LETTERS[26 : 26 + n], LETTERS[:n]
        paired = "".join(u + v for u, v in zip(upper, lower))
        if argnum == 0:
            grad = _einsum(blocks, b.reshape(sb), subscripts=f"{paired},{lower}->{upper}")
        else:
            grad = _einsum(blocks, a.reshape(sa), subscripts=f"{paired},{upper}->{lower}")
        return grad.reshape(shape_of((a, b)[argnum]))

    return rule


def _pads(context: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return _kron_shapes(*(np.shape(v) for v in context["inputs"]))


def _blocks(v: Any, context: dict) -> np.ndarray:
    """g cut into blocks: axes (a's axes, b's axes), block (i, j) of g at [i, j, :, :]."""
    sa, sb = _pads(context)
    n = len(sa)
    interleaved = np.reshape(v, tuple(s for pair in zip(sa, sb) for s in pair))
    return np.transpose(interleaved, tuple(range(0, 2 * n, 2)) + tuple(range(1, 2 * n, 2)))


def _left_factor(v: Any, context: dict) -> np.ndarray:
    """a's entries on its own (padded) axes, with b's axes of length 1 after them."""
    sa, sb = _pads(context)
    return np.reshape(v, sa + (1,) * len(sb))


def _summed_over_right(v: Any, context: dict) -> np.ndarray:
    sa, _ = _pads(context)
    return np.sum(v, axis=tuple(range(len(sa), 2 * len(sa)))).reshape(context["shape"])


def _summed_over_left(v: Any, context: dict) -> np.ndarray:
    sa, _ = _pads(context)
    return np.sum(v, axis=tuple(range(len(sa)))).reshape(context["shape"])


def _blocks_of(operand: Any) -> Any:
    return structural("blocks", operand, "blocks({0})", r"\operatorname{blocks}\left({0}\right)", _blocks)


def _left(operand: Any) -> Any:
    return structural("left_factor", operand, "{0}", "{0}", _left_factor)


kron = Primitive(
    "kron",
    np.kron,
    vjp=[_kron_vjp(0), _kron_vjp(1)],
    jvp="linear",  # bilinear: da ⊗ b and a ⊗ db
    notation=custom(
        fn("kron", x0, x1),  # a ⊗ b: the outer product a_ij b_pq laid out block by block
        vjp=(
            structural("sum_pq", _blocks_of(g) * x1, "Σ_pq {0}", r"\sum_{pq} {0}", _summed_over_right),
            structural("sum_ij", _left(x0) * _blocks_of(g), "Σ_ij {0}", r"\sum_{ij} {0}", _summed_over_left),
        ),
        jvp=(fn("kron", t, x1), fn("kron", x0, t)),
        index=(
            "Σ_pq [{g}]_(kp, lq) [{1}]_pq: block (k, l) of {g} against {1}",
            "Σ_ij [{0}]_ij [{g}]_(ik, jl): the blocks of {g} weighted by {0}",
        ),
        product=("block contraction", "block contraction"),
        why=(
            "a Kronecker product places a_ij b in block (i, j): each a_ij meets one block of g, "
            "against all of b; each b_pq meets entry (p, q) of every block, weighted by a"
        ),
    ),
)


# ----- cross ---------------------------------------------------------------------------------
def _cross_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.shape(a)[-1:] != (3,) or np.shape(b)[-1:] != (3,):
        raise ValueError("needs 3-vectors along the last axis")
    return np.cross(a, b)


def cross_hint(values: Sequence[Any], params: dict) -> str:
    sizes = [np.shape(v)[-1] if np.ndim(v) else None for v in values]
    return (
        f"the vectors along the cross axis have lengths {sizes[0]} and {sizes[1]}; matgrad's cross takes "
        f"3-vectors (NumPy deprecates 2-vectors). Hint: append a zero component, or name the axis of "
        f"length 3 with axisa/axisb/axis"
    )


_cross = Primitive(
    "cross",
    _cross_forward,
    vjp=[
        lambda g, out, a, b: unbroadcast(_cross(b, g), a.shape),  # g·(da × b) = da·(b × g)
        lambda g, out, a, b: unbroadcast(_cross(g, a), b.shape),  # g·(a × db) = db·(g × a)
    ],
    jvp="linear",
    notation=custom(
        fn("cross", x0, x1),
        vjp=(fn("cross", x1, g), fn("cross", g, x0)),  # b × g and g × a
        jvp=(fn("cross", t, x1), fn("cross", x0, t)),
        index=(
            "Σ_j [{g}]_j ε_jkl [{1}]_l = Σ_lj ε_klj [{1}]_l [{g}]_j = [{1} × {g}]_k",
            "Σ_j [{g}]_j ε_jlk [{0}]_l = Σ_jl ε_kjl [{g}]_j [{0}]_l = [{g} × {0}]_k",
        ),
        product=("cross", "cross"),
        why=(
            "a × b = ε_ijk a_j b_k is bilinear; moving a vector across the triple product "
            "g·(da × b) = da·(b × g) gives the gradient as another cross product"
        ),
    ),
    error_hint=cross_hint,
)


def _move(x: Any, source: int, destination: int) -> Any:
    ndim = len(shape_of(x))
    order = [i for i in range(ndim) if i != source % ndim]
    order.insert(destination % ndim, source % ndim)
    return _permuted(x, order)


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None) -> Any:
    """The cross product of 3-vectors along ``axisa`` of a and ``axisb`` of b (``axis`` sets all
    three), broadcast over the other axes, the vectors of the result along ``axisc``."""
    a, b = as_array(a), as_array(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    for x, ax, name in ((a, axisa, "axisa"), (b, axisb, "axisb")):
        ndim = len(shape_of(x))
        if not -ndim <= ax < ndim:
            raise ValueError(f"cross: {name}={ax} is out of bounds for an array of shape {shape_of(x)}")
    c = _cross(_move(a, axisa, -1), _move(b, axisb, -1))
    ndim = len(shape_of(c))
    if not -ndim <= axisc < ndim:
        raise ValueError(f"cross: axisc={axisc} is out of bounds for the result of shape {shape_of(c)}")
    return _move(c, -1, axisc)


register(_einsum, kron, _cross)
