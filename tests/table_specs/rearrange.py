"""Specs of the shape-and-construction rows (pad, pad_transpose, take_along_axis) and of the
public functions built on the shape rows (flip, roll, tile, repeat, split, stacking, diff, …)."""

from __future__ import annotations

import numpy as np

import matgrad as mg

from . import Spec, normal

S = Spec


def indices(r: np.random.Generator, n: int, *shape: int) -> np.ndarray:
    """Integer indices in [-n, n): negative and repeated entries likely."""
    return r.integers(-n, n, shape)


def joined(pieces: list) -> object:
    """A list of pieces as one array to check: each piece scaled differently, so a piece's
    gradient going to the wrong place shows."""
    return mg.concatenate([mg.reshape(p, shape=(-1,)) * (i + 1.0) for i, p in enumerate(pieces)])


EDGE = {"pad_width": ((2, 1), (0, 3)), "mode": "edge"}
SPECS: list[Spec] = [
    # pad: every mode, margins wider than the array, per-axis constants, an empty axis
    S("pad-constant", "pad", lambda r: (normal(r, 2, 3),), {"pad_width": ((1, 2), (0, 1)), "mode": "constant"}),
    S(
        "pad-constant-values",
        "pad",
        lambda r: (normal(r, 2, 2),),
        {"pad_width": ((1, 1), (2, 0)), "mode": "constant", "constant_values": ((1.5, -2.0), (3.0, 0.5))},
    ),
    S("pad-constant-empty", "pad", lambda r: (normal(r, 0, 2),), {"pad_width": ((1, 0), (1, 1)), "mode": "constant"}),
    S("pad-edge", "pad", lambda r: (normal(r, 2, 3),), EDGE),
    S("pad-reflect", "pad", lambda r: (normal(r, 3, 2),), {"pad_width": ((2, 1), (1, 1)), "mode": "reflect"}),
    S("pad-reflect-wide", "pad", lambda r: (normal(r, 3),), {"pad_width": ((5, 7),), "mode": "reflect"}),
    S("pad-symmetric-wide", "pad", lambda r: (normal(r, 2, 2),), {"pad_width": ((3, 1), (0, 4)), "mode": "symmetric"}),
    S("pad-wrap", "pad", lambda r: (normal(r, 2, 3),), {"pad_width": ((1, 4), (2, 2)), "mode": "wrap"}),
    S("pad-wrap-3d", "pad", lambda r: (normal(r, 2, 1, 2),), {"pad_width": ((0, 0), (1, 1), (1, 0)), "mode": "wrap"}),
    S(
        "pad-public",
        "pad",
        lambda r: (normal(r, 2, 3),),
        {"pad_width": ((1, 1), (1, 1)), "mode": "symmetric"},
        via=lambda x, pad_width, mode: mg.pad(x, 1, mode=mode),
    ),
    S(
        "pad-public-constant",
        "pad",
        lambda r: (normal(r, 3),),
        {"pad_width": ((2, 1),), "mode": "constant", "constant_values": ((4.0, -1.0),)},
        via=lambda x, pad_width, mode, constant_values: mg.pad(x, (2, 1), constant_values=(4.0, -1.0)),
    ),
    # pad_transpose: the fold of copies, the VJP of pad (its own VJP pads)
    S(
        "pad_transpose-constant",
        "pad_transpose",
        lambda r: (normal(r, 4, 3),),
        {"pad_width": ((1, 2), (0, 1)), "mode": "constant"},
    ),
    S("pad_transpose-edge", "pad_transpose", lambda r: (normal(r, 5, 6),), EDGE),
    S(
        "pad_transpose-reflect-wide",
        "pad_transpose",
        lambda r: (normal(r, 15),),
        {"pad_width": ((5, 7),), "mode": "reflect"},
    ),
    S(
        "pad_transpose-symmetric",
        "pad_transpose",
        lambda r: (normal(r, 4, 3),),
        {"pad_width": ((1, 1), (0, 1)), "mode": "symmetric"},
    ),
    S(
        "pad_transpose-wrap",
        "pad_transpose",
        lambda r: (normal(r, 7, 3),),
        {"pad_width": ((1, 4), (1, 0)), "mode": "wrap"},
    ),
    # take_along_axis: repeated and negative indices, a broadcast axis, a negative axis
    S("take_along_axis", "take_along_axis", lambda r: (normal(r, 3, 4), indices(r, 4, 3, 5)), {"axis": 1}, const=(1,)),
    S(
        "take_along_axis-repeated",
        "take_along_axis",
        lambda r: (normal(r, 4), np.array([0, 0, -1, 3, 0])),
        {"axis": 0},
        const=(1,),
    ),
    S(
        "take_along_axis-broadcast",
        "take_along_axis",
        lambda r: (normal(r, 1, 3, 2), indices(r, 3, 2, 2, 1)),
        {"axis": -2},
        const=(1,),
    ),
    S(
        "take_along_axis-public-none",
        "take_along_axis",
        lambda r: (normal(r, 6), np.array([5, 0, 5, -6])),
        {"axis": 0},
        const=(1,),
        via=lambda x, i, axis: mg.take_along_axis(mg.reshape(x, shape=(2, 3)), i, axis=None),
    ),
    # public functions on the shape rows
    S("ravel-F", "transpose", lambda r: (normal(r, 2, 3),), {}, via=lambda x: mg.ravel(x, order="F")),
    S(
        "repeat-int",
        "broadcast_to",
        lambda r: (normal(r, 2, 3),),
        {"shape": (2, 2, 3)},
        via=lambda x, shape: mg.repeat(x, 2, axis=-1),
    ),
    S(
        "repeat-counts",
        "getitem",
        lambda r: (normal(r, 3, 2),),
        {"index": np.array([0, 0, 2])},
        via=lambda x, index: mg.repeat(x, [2, 0, 3], axis=0),
    ),
    S(
        "tile",
        "broadcast_to",
        lambda r: (normal(r, 2, 1, 3),),
        {"shape": (2, 2, 3)},
        via=lambda x, shape: mg.tile(x, (2, 1, 2, 1)),
    ),
    S(
        "roll",
        "concatenate",
        lambda r: (normal(r, 3, 4),),
        {"axis": 0},
        via=lambda x, axis: mg.roll(x, (1, -5, 1), (0, 1, 0)),
    ),
    S("roll-flat", "concatenate", lambda r: (normal(r, 2, 3),), {"axis": 0}, via=lambda x, axis: mg.roll(x, 4)),
    S(
        "flip",
        "getitem",
        lambda r: (normal(r, 2, 3, 2),),
        {"index": (slice(None, None, -1),)},
        via=lambda x, index: mg.flip(x, (0, -1)),
    ),
    S("rot90", "transpose", lambda r: (normal(r, 2, 3, 2),), {}, via=lambda x: mg.rot90(x, -1, axes=(2, 0))),
    S("moveaxis", "transpose", lambda r: (normal(r, 2, 3, 1),), {}, via=lambda x: mg.moveaxis(x, [0, -1], [-1, 1])),
    S(
        "array_split",
        "getitem",
        lambda r: (normal(r, 2, 5),),
        {"index": (slice(None), slice(0, 2))},
        via=lambda x, index: joined(mg.array_split(x, 3, axis=1)),
    ),
    S(
        "split-points",
        "getitem",
        lambda r: (normal(r, 5, 2),),
        {"index": slice(1, 4)},
        via=lambda x, index: joined(mg.split(x, [1, 4, 4, -7])),
    ),
    S(
        "stacking",
        "concatenate",
        lambda r: (normal(r, 2, 3), normal(r, 2, 3)),
        {"axis": 0},
        via=lambda a, c, axis: joined(
            [
                mg.hstack([a[0], c[1]]),
                mg.hstack([a, c]),
                mg.vstack([a[0], c]),
                mg.dstack([a, c]),
                mg.column_stack([a[:, 0], c]),
                mg.append(a, c[0]),
                mg.append(a, c, axis=-1),
                *mg.atleast_3d(a[0, 0], c[0]),
            ]
        ),
    ),
    S(
        "take",
        "getitem",
        lambda r: (normal(r, 2, 3),),
        {"index": np.array([0, 1, 1])},
        via=lambda x, index: mg.take(x, [[5, -1], [0, 5]]),
    ),
    S(
        "diff",
        "concatenate",
        lambda r: (normal(r, 2, 4), normal(r, 2, 1), normal(r, 2, 2)),
        {"axis": -1},
        via=lambda x, p, q, axis: mg.diff(x, 3, axis=axis, prepend=p, append=q),
    ),
    S(
        "diff-scalar-prepend",
        "sub",
        lambda r: (normal(r, 3, 2), normal(r)),
        via=lambda x, p: mg.diff(x, axis=0, prepend=p),
    ),
]
