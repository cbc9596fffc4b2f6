"""Shape and construction: NumPy's functions that copy, move, cut and join the entries of arrays.

Nearly all of them are algebra over the shape rows (reshape, transpose, broadcast_to, getitem,
concatenate), so their gradients come from those rows: a flip is a reversed slice, a roll two
slices joined, a tile or a uniform repeat a broadcast between two reshapes, a split a list of
slices.  Three rows of their own, where a composite would be slow or could not say it:

- ``pad`` (modes constant, edge, reflect, symmetric, wrap), whose VJP keeps the interior of the
  gradient (constant) or folds the gradient of every copy back onto the entry it copies;
- ``pad_transpose``, that fold, a row of its own so that second derivatives work (its VJP pads);
- ``take_along_axis``, a gather whose VJP is a scatter-add (``np.add.at``: repeated indices add up).

Conventions: every function here is linear in its array inputs (pad is affine: its constants do
not depend on the input), so there is no kink; integer indices and counts have no derivative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..symbolic import Num
from ..tensor import Tensor
from .composites import as_array
from .core import Primitive, refuse_out, register, shape_of, value
from .elementwise import astype, sub
from .linalg import transpose
from .notation import custom, g, structural, t
from .notation import x as inputs
from .shape import broadcast_to, concatenate, getitem, reshape, scatter_add

__all__ = [
    "append", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "column_stack", "diff", "dsplit",
    "dstack", "flip", "fliplr", "flipud", "hsplit", "hstack", "moveaxis", "pad", "ravel", "repeat", "roll",
    "rot90", "split", "take", "take_along_axis", "tile", "vsplit", "vstack",
]

x0 = inputs[0]
PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


# ----- helpers --------------------------------------------------------------------------------------
def _array(a: Any) -> Any:
    """A Tensor as it is, a list holding Tensors stacked (traced), anything else a NumPy array."""
    return as_array(a)


def _axis(axis: Any, ndim: int) -> int:
    """One axis in [0, ndim), negative axes counted from the end; NumPy's AxisError otherwise."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _axes(axis: Any, ndim: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of distinct axes, normalized."""
    axes = tuple(_axis(a, ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axis in {axis!r}")
    return axes


def _along(axis: int, index: Any) -> tuple:
    """The index that applies ``index`` to axis ``axis`` and takes every entry of the axes before."""
    return (slice(None),) * axis + (index,)


def _fresh(a: Any) -> Any:
    """A new array with a's values (NumPy's functions return copies); a Tensor is never written to."""
    return a if type(a) is Tensor else np.array(a, copy=True)


# ----- pad: a row, and its transpose (the fold of copies) --------------------------------------------
def _interior(pad_width: tuple, shape: tuple[int, ...]) -> tuple:
    """The slices of a padded array that hold the original entries."""
    return tuple(slice(before, before + n) for (before, _), n in zip(pad_width, shape))


def _pad_forward(x: np.ndarray, pad_width: tuple, mode: str, constant_values: Any = 0) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 0:
        return x.copy()  # nothing to pad (np.pad refuses an empty pad_width)
    widths = np.asarray(pad_width, dtype=np.intp).reshape(x.ndim, 2)
    if mode != "constant":
        return np.pad(x, widths, mode=mode)
    values = np.asarray(constant_values)
    if values.ndim == 0 or np.all(values == values.flat[0]):  # one constant: fill, then copy in (np.pad's own
        shape = tuple(int(n + a + b) for n, (a, b) in zip(x.shape, widths))  # way is a pass per axis)
        out = np.full(shape, values.flat[0], dtype=x.dtype)
        out[_interior(pad_width, x.shape)] = x
        return out
    return np.pad(x, widths, mode="constant", constant_values=values)


def _sources(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Along one axis of length n, the entry each padded position copies (−1: a constant)."""
    if mode == "constant":
        return np.pad(np.arange(n), (before, after), mode="constant", constant_values=-1)
    return np.pad(np.arange(n), (before, after), mode=mode)


def _fold(g: np.ndarray, pad_width: tuple, mode: str) -> np.ndarray:
    """The transpose of padding: the interior plus the gradient of every copy, added onto its source.

    One axis at a time, as np.pad pads one axis at a time: the interior slab is copied, and the
    slabs of the two margins are added onto the entries they copied (an edge copied k times
    receives all k), by slices and sums (:func:`_add_into`), never a Python loop over entries.
    """
    g = np.asarray(g)
    if g.ndim == 0:
        return g.copy()
    if mode == "constant":
        inner = tuple(m - before - after for m, (before, after) in zip(g.shape, pad_width))
        return g[_interior(pad_width, inner)].copy()
    result = g
    for axis, (before, after) in enumerate(pad_width):
        if before == 0 and after == 0:
            continue
        m = result.shape[axis]
        n = m - before - after
        source = _sources(n, before, after, mode)
        folded = result[_along(axis, slice(before, before + n))].copy()
        if before:
            _add_into(folded, axis, source[:before], result[_along(axis, slice(0, before))])
        if after:
            _add_into(folded, axis, source[before + n :], result[_along(axis, slice(before + n, m))])
        result = folded
    return result if result is not g else g.copy()


def _add_into(folded: np.ndarray, axis: int, source: np.ndarray, margin: np.ndarray) -> None:
    """folded[source] += margin along ``axis``, each copy added onto its source.

    The sources of a margin are runs: counting up or down one by one (a reflection, a wrap: a
    slice) or staying on one entry (an edge: a sum); a margin wider than the array is a few runs.
    """
    start = 0
    while start < len(source):
        stop = start + 1
        step = int(source[stop] - source[start]) if stop < len(source) else 1
        if step not in (-1, 0, 1):
            step = 1  # a jump: this run is one entry
        else:
            while stop < len(source) and source[stop] - source[stop - 1] == step:
                stop += 1
        first, last = int(source[start]), int(source[stop - 1])
        piece = margin[_along(axis, slice(start, stop))]
        if step == 0:
            folded[_along(axis, slice(first, first + 1))] += piece.sum(axis=axis, keepdims=True)
        else:
            end = last + step
            folded[_along(axis, slice(first, None if end < 0 else end, step))] += piece
        start = stop


def _pad_vjp(g: Any, out: Any, x: Any, pad_width: tuple, mode: str, constant_values: Any = 0) -> Any:
    if mode == "constant":
        return g[_interior(pad_width, x.shape)]  # the constants do not depend on x: only the interior
    return pad_transpose(g, pad_width=pad_width, mode=mode)


def _pad_jvp(t: Any, out: Any, x: Any, pad_width: tuple, mode: str, constant_values: Any = 0) -> Any:
    return _pad(t, pad_width=pad_width, mode=mode)  # constants pad with 0: d(constant) = 0


def _pad_hint(values: Sequence[Any], params: dict) -> str:
    shape = np.shape(values[0])
    widths, mode = params.get("pad_width"), params.get("mode")
    for axis, n in enumerate(shape):
        if n == 0 and mode != "constant" and any(widths[axis]):
            return (
                f"axis {axis} of shape {shape} is empty, and mode {mode!r} copies entries of the array: "
                f"there is none to copy. Hint: use mode='constant' or do not pad that axis"
            )
    return f"cannot pad an array of shape {shape} by {widths} in mode {mode!r}"


def _pad_value(v: Any, context: dict) -> np.ndarray:
    params = context["params"]
    return _pad_forward(np.asarray(v), params["pad_width"], params["mode"], params.get("constant_values", 0))


def _zero_pad_value(v: Any, context: dict) -> np.ndarray:
    params = context["params"]
    return _pad_forward(np.asarray(v), params["pad_width"], params["mode"])


def _fold_value(v: Any, context: dict) -> np.ndarray:
    """The fold computed at once, not axis by axis: every padded position that copies an entry adds
    its gradient to that entry (np.add.at over the outer product of the per-axis sources)."""
    params, shape = context["params"], context["shape"]
    v = np.asarray(v)
    result = np.zeros(shape, dtype=v.dtype)
    if not shape:
        return result + v
    sources = [_sources(n, b, a, params["mode"]) for n, (b, a) in zip(shape, params["pad_width"])]
    copies = [np.flatnonzero(s >= 0) for s in sources]
    np.add.at(result, np.ix_(*[s[c] for s, c in zip(sources, copies)]), v[np.ix_(*copies)])
    return result


_PAD_INDEX = "Σ_j [{g}]_j δ_(src(j)),k: the gradient of every padded position j that copies entry k of {0}"

_pad = Primitive(
    "pad",
    _pad_forward,
    vjp=[_pad_vjp],
    jvp=[_pad_jvp],
    notation=custom(
        structural("pad", x0, "pad({0})", r"\operatorname{pad}\left({0}\right)", _pad_value),
        vjp=(structural("fold", g, "fold({0})", r"\operatorname{fold}\left({0}\right)", _fold_value),),
        jvp=(structural("pad_zero", t, "pad₀({0})", r"\operatorname{pad}_0\left({0}\right)", _zero_pad_value),),
        index=(_PAD_INDEX,),
        product=("scatter",),
        why=(
            "padding copies entries (once for the interior, again for edge, reflect, symmetric and wrap "
            "margins) and adds constants that do not move: the gradient of each entry sums over its copies"
        ),
    ),
    error_hint=_pad_hint,
)
pad_transpose = Primitive(
    "pad_transpose",
    _fold,
    vjp=[lambda g, out, x, pad_width, mode: _pad(g, pad_width=pad_width, mode=mode)],
    jvp="linear",
    notation=custom(
        structural("fold", x0, "fold({0})", r"\operatorname{fold}\left({0}\right)", _fold_value),
        vjp=(structural("pad_zero", g, "pad₀({0})", r"\operatorname{pad}_0\left({0}\right)", _zero_pad_value),),
        jvp=(structural("fold", t, "fold({0})", r"\operatorname{fold}\left({0}\right)", _fold_value),),
        index=("[{g}]_(src⁻¹(k)): entry k of the gradient, read at every position that copies it",),
        product=("gather",),
        why="folding the copies of a padding back is Pᵀ, P the 0/1 copy matrix of pad; its VJP is P: pad again",
    ),
)


# ----- take_along_axis: a gather along one axis, its VJP a scatter-add --------------------------------
def _along_index(indices: Any, axis: int, shape: tuple[int, ...]) -> tuple:
    """The advanced index that np.take_along_axis applies: ``indices`` on ``axis``, aranges elsewhere."""
    ndim = len(shape)
    axis %= ndim
    return tuple(
        np.asarray(indices) if k == axis else np.arange(n).reshape((1,) * k + (n,) + (1,) * (ndim - k - 1))
        for k, n in enumerate(shape)
    )


def _take_along_vjp(g: Any, out: Any, arr: Any, indices: Any, axis: int) -> Any:
    """Scatter-add g back to arr's shape: an entry taken m times receives m gradients (np.add.at)."""
    return scatter_add(g, index=_along_index(indices, axis, shape_of(arr)), shape=shape_of(arr))


def _take_along_hint(values: Sequence[Any], params: dict) -> str:
    arr, indices = np.shape(values[0]), np.asarray(values[1])
    axis = params.get("axis", -1)
    if len(arr) != indices.ndim:
        return f"indices of shape {indices.shape} and arr of shape {arr} must have the same number of dimensions"
    n = arr[axis]
    if indices.size and (indices.min() < -n or indices.max() >= n):
        return (
            f"indices must lie in [{-n}, {n}) along axis {axis} of length {n}; "
            f"got values from {indices.min()} to {indices.max()}"
        )
    return (
        f"indices of shape {indices.shape} do not broadcast against arr of shape {arr} outside axis {axis}. "
        f"Hint: the other axes must match or be 1"
    )


def _scatter_along_value(v: Any, context: dict) -> np.ndarray:
    """Σ_j g_j [idx_j = k] along the axis, with a one-hot comparison (not np.add.at)."""
    shape = context["shape"]
    axis = context["params"]["axis"] % len(shape)
    n = shape[axis]
    indices = np.asarray(context["inputs"][1])
    hits = np.moveaxis(np.where(indices < 0, indices + n, indices), axis, -1)[..., None] == np.arange(n)
    total = (np.moveaxis(np.asarray(v), axis, -1)[..., None] * hits).sum(axis=-2)
    return np.moveaxis(total, -1, axis)


def _gathered_value(v: Any, context: dict) -> np.ndarray:
    return np.take_along_axis(np.asarray(v), np.asarray(context["inputs"][1]), axis=context["params"]["axis"])


_take_along_axis = Primitive(
    "take_along_axis",
    lambda arr, indices, axis: np.take_along_axis(arr, indices, axis=axis),
    vjp=[_take_along_vjp, None],
    jvp=[lambda t, out, arr, indices, axis: _take_along_axis(t, indices, axis=axis), None],
    notation=custom(
        structural("take_along_axis", x0, "{0}[idx]", r"{0}\left[\mathrm{idx}\right]", _gathered_value),
        vjp=(
            structural(
                "scatter_along", g, "scatter({0})", r"\operatorname{scatter}\left({0}\right)", _scatter_along_value
            ),
            Num(0.0),
        ),
        jvp=(structural("take_along_axis", t, "{0}[idx]", r"{0}\left[\mathrm{idx}\right]", _gathered_value), Num(0.0)),
        index=(
            "Σ_j [{g}]_j δ_(idx_j),k: the gradients of every position whose index points at k, added",
            "0: integer indices have no derivative",
        ),
        product=("scatter", "none"),
        why="a gather is a 0/1 matrix S with one 1 per row; its transpose adds each gradient onto the entry taken",
    ),
    error_hint=_take_along_hint,
)

register(_pad, pad_transpose, _take_along_axis)


# ----- public functions: NumPy's signatures -----------------------------------------------------------
def ravel(a: Any, order: str = "C") -> Any:
    """The entries as a 1-D array, read in ``order``: 'C' (last axis fastest), 'F' (first axis
    fastest), 'A' (F for a Fortran-ordered array, else C), 'K' (the order of memory)."""
    a = _array(a)
    data = value(a)
    if order == "K" and not data.flags.c_contiguous:
        memory = tuple(int(k) for k in np.argsort([-abs(s) for s in data.strides], kind="stable"))
        a = transpose(a, axes=memory)
    elif order == "F" or (order in ("A", "K") and data.flags.f_contiguous and not data.flags.c_contiguous):
        a = transpose(a)
    elif order not in ("C", "A", "K"):
        raise ValueError(f"ravel: order must be one of 'C', 'F', 'A' or 'K', got {order!r}")
    return reshape(a, shape=(-1,))


def _pairs(name: str, spec: Any, ndim: int) -> tuple:
    """``(before, after)`` for every axis from NumPy's shorthands (one number, one pair, a pair per axis)."""
    pairs = np.asarray(spec)
    try:
        return tuple(tuple(row) for row in np.broadcast_to(pairs, (ndim, 2)).tolist())
    except ValueError:
        raise ValueError(
            f"pad: {name} of shape {pairs.shape} does not give a (before, after) pair for each of the {ndim} axes; "
            f"give one number, one pair, or {ndim} pairs"
        ) from None


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """``array`` with margins of ``pad_width`` entries: constants (``constant_values``, default 0),
    or copies of its entries (modes 'edge', 'reflect', 'symmetric', 'wrap', NumPy's definitions).

    Differentiable in ``array``: the gradient of each entry sums the gradients of all its copies.
    NumPy's other modes (statistics, ramps) and ``reflect_type='odd'`` are not supported.
    """
    array = _array(array)
    if not isinstance(mode, str) or mode not in PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; matgrad pads in mode {', '.join(PAD_MODES)}")
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"}, "symmetric": {"reflect_type"}}
    unknown = sorted(set(kwargs) - allowed.get(mode, set()))
    if unknown:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: {unknown}")
    if kwargs.get("reflect_type", "even") != "even":
        raise ValueError(f"pad: reflect_type={kwargs['reflect_type']!r} is not supported; only 'even' is")
    ndim = len(shape_of(array))
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be of integral type, got {widths.dtype}")
    if widths.size and widths.min() < 0:
        raise ValueError(f"pad: pad_width can't contain negative values, got {widths.tolist()}")
    params = {"pad_width": _pairs("pad_width", widths, ndim), "mode": mode}
    if mode == "constant" and "constant_values" in kwargs:
        params["constant_values"] = _pairs("constant_values", value(kwargs["constant_values"]), ndim)
    return _pad(array, **params)


def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """Each entry repeated, along ``axis`` (of the flattened array if None): a single count is a
    broadcast between reshapes (the gradient of the copies is a sum); one count per entry is an
    integer index (the gradient is a scatter-add)."""
    a = _array(a)
    if axis is None or (not shape_of(a) and axis in (0, -1)):  # NumPy reads a 0-d array as (1,) here
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = _axis(axis, len(shape))
    n = shape[axis]
    counts = np.asarray(value(repeats))
    if counts.size == 0 and counts.dtype.kind not in "iub":
        counts = counts.astype(np.intp)  # an empty list is float64 to NumPy
    if counts.dtype.kind not in "iub":
        raise TypeError(f"repeat: repeats must be integers, got dtype {counts.dtype}")
    if np.any(counts < 0):
        raise ValueError(f"repeat: repeats may not be negative, got {counts.tolist()}")
    if counts.size == 1 and counts.ndim <= 1:
        r = int(counts.reshape(()))
        spread = broadcast_to(
            reshape(a, shape=shape[: axis + 1] + (1,) + shape[axis + 1 :]),
            shape=shape[: axis + 1] + (r,) + shape[axis + 1 :],
        )
        return reshape(spread, shape=shape[:axis] + (n * r,) + shape[axis + 1 :])
    if counts.ndim != 1 or counts.size != n:
        raise ValueError(
            f"repeat: {counts.size} counts (shape {counts.shape}) for axis {axis} of length {n}; "
            f"give one count, or one count per entry of that axis"
        )
    return getitem(a, index=_along(axis, np.repeat(np.arange(n), counts)))


def tile(A: Any, reps: Any) -> Any:
    """``A`` repeated ``reps[k]`` times along axis k (leading axes of size 1 added where reps is
    longer): a broadcast between two reshapes, so the gradient sums over the copies."""
    A = _array(A)
    try:
        reps = tuple(int(r) for r in reps)
    except TypeError:
        reps = (int(reps),)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps may not be negative, got {reps}")
    shape = shape_of(A)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    spaced = reshape(A, shape=tuple(s for n in shape for s in (1, n)))
    copies = broadcast_to(spaced, shape=tuple(s for r, n in zip(reps, shape) for s in (r, n)))
    return reshape(copies, shape=tuple(r * n for r, n in zip(reps, shape)))


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Entries shifted cyclically by ``shift`` along ``axis`` (of the flattened array if None);
    shifts and axes may be sequences (broadcast against each other; shifts on one axis add up).
    Each rolled axis is two slices joined, so the gradient is rolled back the same way."""
    a = _array(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape=shape_of(a))
    shape = shape_of(a)
    pairs = np.broadcast(np.asarray(shift), np.asarray(axis))
    if pairs.nd > 1:
        raise ValueError("roll: 'shift' and 'axis' should be scalars or 1D sequences")
    shifts = dict.fromkeys(range(len(shape)), 0)
    for s, ax in pairs:
        shifts[_axis(ax, len(shape))] += int(s)
    out = a
    for ax, s in shifts.items():
        n = shape[ax]
        if n == 0 or s % n == 0:
            continue
        cut = n - s % n
        out = concatenate(
            getitem(out, index=_along(ax, slice(cut, None))), getitem(out, index=_along(ax, slice(0, cut))), axis=ax
        )
    return _fresh(a) if out is a else out


def flip(m: Any, axis: Any = None) -> Any:
    """Entries in reverse order along ``axis`` (every axis if None): a reversed slice."""
    m = _array(m)
    ndim = len(shape_of(m))
    flipped = range(ndim) if axis is None else _axes(axis, ndim, "flip")
    return getitem(m, index=tuple(slice(None, None, -1) if k in flipped else slice(None) for k in range(ndim)))


def flipud(m: Any) -> Any:
    """Rows in reverse order (axis 0)."""
    m = _array(m)
    if len(shape_of(m)) < 1:
        raise ValueError("flipud: input must be >= 1-d.")
    return flip(m, 0)


def fliplr(m: Any) -> Any:
    """Columns in reverse order (axis 1)."""
    m = _array(m)
    if len(shape_of(m)) < 2:
        raise ValueError(f"fliplr: input must be >= 2-d, got shape {shape_of(m)}.")
    return flip(m, 1)


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """Rotation by 90° ``k`` times in the plane of ``axes``, from the first axis towards the
    second (NumPy's construction: a flip and a transpose)."""
    m = _array(m)
    ndim = len(shape_of(m))
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == ndim:
        raise ValueError("rot90: axes must be different.")
    if not all(-ndim <= ax < ndim for ax in axes):
        raise ValueError(f"rot90: axes={axes} out of range for array of ndim={ndim}.")
    k %= 4
    if k == 0:
        return getitem(m, index=(slice(None),))
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    order = list(range(ndim))
    order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    if k == 1:
        return transpose(flip(m, axes[1]), axes=tuple(order))
    return flip(transpose(m, axes=tuple(order)), axes[1])


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Axes moved to new positions, the others keeping their order: a transpose."""
    a = _array(a)
    ndim = len(shape_of(a))
    source = _axes(source, ndim, "moveaxis")
    destination = _axes(destination, ndim, "moveaxis")
    if len(source) != len(destination):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same number of elements")
    order = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, axes=tuple(order))


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Pieces along ``axis``: ``indices_or_sections`` sections (the first ``N % sections`` one
    longer) or the split points; each piece is a slice, its gradient written back in place."""
    ary = _array(ary)
    shape = shape_of(ary)
    axis = _axis(axis, len(shape))
    total = shape[axis]
    try:
        points = [0, *(int(p) for p in indices_or_sections), total]
    except TypeError:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: number of sections must be larger than 0, got {sections}") from None
        each, extras = divmod(total, sections)
        points = np.cumsum([0] + extras * [each + 1] + (sections - extras) * [each]).tolist()
    return [getitem(ary, index=_along(axis, slice(points[i], points[i + 1]))) for i in range(len(points) - 1)]


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Like :func:`array_split`, but a number of sections must divide the axis evenly."""
    if not hasattr(indices_or_sections, "__len__"):
        shape = shape_of(_array(ary))
        n, sections = shape[_axis(axis, len(shape))], int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise ValueError(
                f"split: array split does not result in an equal division: {sections} sections of axis {axis} "
                f"of length {n}. Hint: array_split allows unequal sections"
            )
    return array_split(ary, indices_or_sections, axis)


def _split_along(name: str, axis: int, least: int, ary: Any, indices_or_sections: Any) -> list:
    ary = _array(ary)
    if len(shape_of(ary)) < least:
        raise ValueError(f"{name} only works on arrays of {least} or more dimensions, got shape {shape_of(ary)}")
    return split(ary, indices_or_sections, axis)


def hsplit(ary: Any, indices_or_sections: Any) -> list:
    """Split along the columns (axis 1; axis 0 of a 1-D array)."""
    axis = 1 if len(shape_of(_array(ary))) > 1 else 0
    return _split_along("hsplit", axis, 1, ary, indices_or_sections)


def vsplit(ary: Any, indices_or_sections: Any) -> list:
    """Split along the rows (axis 0) of an array of at least 2 dimensions."""
    return _split_along("vsplit", 0, 2, ary, indices_or_sections)


def dsplit(ary: Any, indices_or_sections: Any) -> list:
    """Split along the depth (axis 2) of an array of at least 3 dimensions."""
    return _split_along("dsplit", 2, 3, ary, indices_or_sections)


def _with_ndim(arys: tuple, shaper: Any) -> Any:
    result = tuple(shaper(_array(a)) for a in arys)
    return result[0] if len(result) == 1 else result


def _at_least(a: Any, shapes: dict) -> Any:
    shape = shape_of(a)
    return reshape(a, shape=shapes[len(shape)](shape)) if len(shape) in shapes else a


_TO_1D = {0: lambda s: (1,)}
_TO_2D = {0: lambda s: (1, 1), 1: lambda s: (1, *s)}
_TO_3D = {0: lambda s: (1, 1, 1), 1: lambda s: (1, *s, 1), 2: lambda s: (*s, 1)}


def atleast_1d(*arys: Any) -> Any:
    """Each input with at least one axis (a scalar becomes shape (1,)); a tuple for several inputs."""
    return _with_ndim(arys, lambda a: _at_least(a, _TO_1D))


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least two axes: (N,) becomes (1, N)."""
    return _with_ndim(arys, lambda a: _at_least(a, _TO_2D))


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least three axes: (N,) becomes (1, N, 1), (M, N) becomes (M, N, 1)."""
    return _with_ndim(arys, lambda a: _at_least(a, _TO_3D))


def _joined(name: str, arrays: Sequence[Any], axis: int, dtype: Any = None, casting: str = "same_kind") -> Any:
    if not arrays:
        raise ValueError(f"{name}: need at least one array to concatenate")
    out = concatenate(*arrays, axis=axis)
    if dtype is None:
        return out
    dtype = np.dtype(dtype)
    have = value(out).dtype
    if not np.can_cast(have, dtype, casting=casting):
        raise TypeError(f"{name}: cannot cast from {have} to {dtype} with casting rule {casting!r}")
    if dtype.kind == "f":
        return astype(out, dtype=dtype)
    if type(out) is Tensor:
        raise TypeError(f"{name}: dtype={dtype} is not a floating dtype; a gradient needs one")
    return out.astype(dtype)


def _listed(name: str, tup: Any) -> tuple:
    """The arrays to join: a list or tuple as it is; an array (or Tensor) of at least one dimension is
    the sequence of its slices along axis 0, as NumPy iterates it."""
    if (type(tup) is Tensor or isinstance(tup, np.ndarray)) and len(shape_of(tup)) > 0:
        return tuple(getitem(tup, index=i) for i in range(shape_of(tup)[0]))
    if not isinstance(tup, (list, tuple)):
        raise TypeError(f"{name}: arrays to stack must be passed as a sequence such as a list or tuple")
    return tuple(tup)


def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Join along the columns: axis 1, or axis 0 for 1-D arrays."""
    arrays = [atleast_1d(a) for a in _listed("hstack", tup)]
    axis = 0 if arrays and len(shape_of(arrays[0])) == 1 else 1
    return _joined("hstack", arrays, axis, dtype, casting)


def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Join along the rows (axis 0), 1-D arrays taken as rows."""
    return _joined("vstack", [atleast_2d(a) for a in _listed("vstack", tup)], 0, dtype, casting)


def dstack(tup: Any) -> Any:
    """Join along the depth (axis 2), after :func:`atleast_3d`."""
    return _joined("dstack", [atleast_3d(a) for a in _listed("dstack", tup)], 2)


def column_stack(tup: Any) -> Any:
    """Join 1-D arrays as columns (2-D arrays as they are) along axis 1."""
    columns = []
    for a in _listed("column_stack", tup):
        a = _array(a)
        columns.append(reshape(a, shape=(-1, 1)) if len(shape_of(a)) < 2 else a)
    return _joined("column_stack", columns, 1)


def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """``values`` joined after ``arr`` along ``axis`` (both flattened if None)."""
    arr, values = _array(arr), _array(values)
    if axis is None:
        if len(shape_of(arr)) != 1:
            arr = ravel(arr)
        values, axis = ravel(values), 0
    return concatenate(arr, values, axis=axis)


def _integer_indices(name: str, indices: Any) -> np.ndarray:
    index = np.asarray(value(indices))
    if index.size == 0 and index.dtype.kind not in "iu":
        index = index.astype(np.intp)  # an empty list is float64 to NumPy
    if index.dtype.kind not in "iu":
        raise IndexError(f"{name}: indices must be integers, got dtype {index.dtype}")
    return index


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """Entries at ``indices`` along ``axis`` (of the flattened array if None): an integer index,
    whose gradient is a scatter-add (an entry taken twice receives both gradients).  ``mode``
    'wrap' takes indices modulo the length, 'clip' clips them to the axis; 'raise' (the default)
    refuses out-of-range indices and accepts negative ones."""
    refuse_out("take", out)
    a = _array(a)
    if axis is None or (not shape_of(a) and axis in (0, -1)):  # NumPy reads a 0-d array as (1,) here
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = _axis(axis, len(shape))
    index = _integer_indices("take", indices)
    n = shape[axis]
    if mode in ("wrap", "clip") and n == 0 and index.size:
        raise IndexError(f"take: cannot take {index.size} entries from axis {axis}, which is empty")
    if mode == "wrap":
        index = np.mod(index, n)
    elif mode == "clip":
        index = np.clip(index, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return getitem(a, index=_along(axis, int(index) if index.ndim == 0 else index))


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """``arr`` gathered along ``axis`` at ``indices`` (of the same number of dimensions, broadcast
    against arr outside axis), as after an argsort; with axis None, of the flattened array."""
    arr = _array(arr)
    index = _integer_indices("take_along_axis", indices)
    if axis is None:
        if index.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None, indices must have one dimension, got {index.shape}")
        arr, axis = ravel(arr), 0
    ndim = len(shape_of(arr))
    if index.ndim != ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {index.shape} and arr of shape {shape_of(arr)} must have the "
            f"same number of dimensions"
        )
    return _take_along_axis(arr, index, axis=_axis(axis, ndim))


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue) -> Any:
    """The ``n``-th forward difference along ``axis``, out[i] = a[i+1] − a[i] applied n times,
    after joining ``prepend`` before and ``append`` after a (scalars broadcast to one slice)."""
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n!r}")
    a = _array(a)
    shape = shape_of(a)
    if not shape:
        raise ValueError("diff: requires input that is at least one dimensional")
    axis = _axis(axis, len(shape))
    pieces = []
    for extra in (prepend, a, append):
        if extra is np._NoValue:
            continue
        extra = _array(extra)
        if extra is not a and not shape_of(extra):
            extra = broadcast_to(extra, shape=shape[:axis] + (1,) + shape[axis + 1 :])
        pieces.append(extra)
    if len(pieces) > 1:
        a = concatenate(*pieces, axis=axis)
    later, earlier = _along(axis, slice(1, None)), _along(axis, slice(None, -1))
    for _ in range(n):
        a = sub(getitem(a, index=later), getitem(a, index=earlier))
    return a
