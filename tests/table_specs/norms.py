"""Specs of the norms (``primitives/norms.py``): the Euclidean row, and ``norm``'s other orders
through the rows they are built on, with inputs away from 0 and from ties."""

from __future__ import annotations

import math

import numpy as np

import matgrad as mg

from . import Spec, distinct, nonzero, normal
from .decompositions import separated_singular

S = Spec

SPECS = [
    S("euclidean_norm", "euclidean_norm", lambda r: (normal(r, 2, 3),)),
    S("euclidean_norm-axis", "euclidean_norm", lambda r: (normal(r, 2, 3),), {"axis": -1, "keepdims": False}),
    S("euclidean_norm-keepdims", "euclidean_norm", lambda r: (normal(r, 3, 2),), {"axis": 0, "keepdims": True}),
    S("euclidean_norm-pair", "euclidean_norm", lambda r: (normal(r, 2, 2, 3),), {"axis": (0, 2), "keepdims": False}),
    S("euclidean_norm-empty", "euclidean_norm", lambda r: (normal(r, 0, 3),), {"axis": 1, "keepdims": False}),
    S("norm-fro", "euclidean_norm", lambda r: (normal(r, 2, 3),), via=lambda x: mg.linalg.norm(x, "fro")),
    S("norm-1", "absolute", lambda r: (nonzero(r, 2, 3),), via=lambda x: mg.linalg.norm(x, 1, axis=-1)),
    S("norm-p", "absolute", lambda r: (nonzero(r, 4),), via=lambda x: mg.linalg.norm(x, 3.5)),
    S("norm-inf", "max", lambda r: (distinct(r, 2, 3),), via=lambda x: mg.linalg.norm(x, -math.inf, axis=0)),
    S("norm-matrix-1", "max", lambda r: (distinct(r, 3, 3),), via=lambda x: mg.linalg.norm(x, 1, keepdims=True)),
    S(
        "norm-matrix-inf",
        "max",
        lambda r: (distinct(r, 2, 3, 2),),
        via=lambda x: mg.linalg.norm(x, math.inf, axis=(2, 0)),
    ),
    S("norm-spectral", "svd", lambda r: (separated_singular(r, 3, 2),), via=lambda x: mg.linalg.norm(x, 2)),
    S(
        "norm-nuclear-axes",
        "svd",
        lambda r: (np.swapaxes(separated_singular(r, 2, 3, 2), 0, 1),),
        via=lambda x: mg.linalg.norm(x, "nuc", axis=(0, 2)),
    ),
    S(
        "vector_norm-tuple-axis",
        "euclidean_norm",
        lambda r: (normal(r, 2, 3, 2),),
        via=lambda x: mg.linalg.vector_norm(x, axis=(2, 0), keepdims=True),
    ),
]
