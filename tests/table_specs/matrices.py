"""Specs of matrix structure: trace, diagonal, diag, tril, triu (and diagflat)."""

from __future__ import annotations

import matgrad as mg

from . import Spec, normal

S = Spec
SPECS: list[Spec] = [
    S("trace", "trace", lambda r: (normal(r, 3, 3),)),
    S("trace-rectangular-offset", "trace", lambda r: (normal(r, 3, 4),), {"offset": 1}),
    S("trace-negative-offset", "trace", lambda r: (normal(r, 3, 2),), {"offset": -1}),
    S("trace-batched-axes", "trace", lambda r: (normal(r, 3, 2, 3),), {"axis1": 2, "axis2": 0}),
    S("trace-empty", "trace", lambda r: (normal(r, 0, 2),)),
    S("diagonal", "diagonal", lambda r: (normal(r, 3, 3),)),
    S("diagonal-offset", "diagonal", lambda r: (normal(r, 3, 4),), {"offset": 1}),
    S("diagonal-negative-offset", "diagonal", lambda r: (normal(r, 4, 3),), {"offset": -2}),
    S("diagonal-batched-axes", "diagonal", lambda r: (normal(r, 2, 3, 3),), {"axis1": -1, "axis2": 1}),
    S("diagonal-middle-batch", "diagonal", lambda r: (normal(r, 3, 2, 3),), {"axis1": 0, "axis2": 2}),
    S("diagonal-past-the-edge", "diagonal", lambda r: (normal(r, 2, 2),), {"offset": 3}),
    S("diag", "diag", lambda r: (normal(r, 3),)),
    S("diag-offset", "diag", lambda r: (normal(r, 2),), {"k": 1}),
    S("diag-negative-offset", "diag", lambda r: (normal(r, 2),), {"k": -2}),
    S("diag-of-matrix", "diagonal", lambda r: (normal(r, 3, 4),), via=lambda v: mg.diag(v, k=-1)),
    S(
        "diagflat",
        "diag",
        lambda r: (normal(r, 4),),
        {"k": 1},
        via=lambda v, k: mg.diagflat(mg.reshape(v, shape=(2, 2)), k),
    ),
    S("tril", "tril", lambda r: (normal(r, 3, 3),)),
    S("tril-offset-batched", "tril", lambda r: (normal(r, 2, 3, 4),), {"k": 1}),
    S("tril-vector", "tril", lambda r: (normal(r, 3),), {"k": -1}),
    S("triu", "triu", lambda r: (normal(r, 3, 3),)),
    S("triu-offset-batched", "triu", lambda r: (normal(r, 2, 4, 3),), {"k": -1}),
    S("triu-vector", "triu", lambda r: (normal(r, 3),)),
]
