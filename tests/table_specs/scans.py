"""Specs of the reductions and scans beyond sum/mean/max: prod, cumsum, cumprod, linear_scan, sort,
and the composites built on them (var, std, average, ptp, median, amax, amin)."""

from __future__ import annotations

import numpy as np

import matgrad as mg

from . import Spec, distinct, normal, positive

S = Spec


def factors(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Entries of either sign, between 0.5 and 1.5 in size: products stay moderate."""
    return r.choice([-1.0, 1.0], shape) * r.uniform(0.5, 1.5, shape)


def with_zeros(count: int) -> object:
    """Factors with ``count`` entries set to 0 (a polynomial: finite differences stay exact)."""

    def make(r: np.random.Generator, *shape: int) -> np.ndarray:
        x = factors(r, *shape)
        x.reshape(-1)[r.choice(x.size, count, replace=False)] = 0.0
        return x

    return make


def spread_out(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Entries at least 0.3 apart and not all equal in any slice: std is away from its kink."""
    return distinct(r, *shape)


def _var(ddof: int = 0, **kwargs: object) -> object:
    return lambda x, axis=None, keepdims=False: mg.var(x, axis=axis, ddof=ddof, keepdims=keepdims, **kwargs)


def _std(ddof: int = 0) -> object:
    return lambda x, axis=None, keepdims=False: mg.std(x, axis=axis, ddof=ddof, keepdims=keepdims)


one_zero, two_zeros = with_zeros(1), with_zeros(2)

SPECS: list[Spec] = [
    # prod: exact with zeros (one zero: only that entry moves the product; two: nothing does)
    S("prod", "prod", lambda r: (factors(r, 2, 3),)),
    S("prod-axis", "prod", lambda r: (factors(r, 2, 3, 2),), {"axis": 1}),
    S("prod-negative-axis-keepdims", "prod", lambda r: (factors(r, 2, 3),), {"axis": -1, "keepdims": True}),
    S("prod-tuple-axis", "prod", lambda r: (factors(r, 2, 3, 2),), {"axis": (0, -1)}),
    S("prod-scalar", "prod", lambda r: (factors(r),)),
    S("prod-empty-axis", "prod", lambda r: (factors(r, 0, 3),), {"axis": 0}),
    S("prod-one-zero", "prod", lambda r: (one_zero(r, 5),)),
    S("prod-two-zeros", "prod", lambda r: (two_zeros(r, 5),)),
    S("prod-zeros-per-row", "prod", lambda r: (np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [1.0, -2.0, 0.5]]),),
      {"axis": 1}),
    S("prod-public-dtype", "prod", lambda r: (factors(r, 2, 3),), {"axis": 0},
      via=lambda x, axis: mg.prod(x, axis=axis, dtype=x.dtype)),
    # cumsum: its VJP is a reversed cumsum
    S("cumsum", "cumsum", lambda r: (normal(r, 2, 3),), {"axis": 1}),
    S("cumsum-flattened", "cumsum", lambda r: (normal(r, 2, 3),)),
    S("cumsum-negative-axis", "cumsum", lambda r: (normal(r, 2, 3, 2),), {"axis": -2}),
    S("cumsum-reverse", "cumsum", lambda r: (normal(r, 3, 2),), {"axis": 0, "reverse": True}),
    S("cumsum-empty", "cumsum", lambda r: (normal(r, 0, 3),), {"axis": 1}),
    S("cumsum-public", "cumsum", lambda r: (normal(r, 2, 3),), {"axis": -1}, via=lambda x, axis: mg.cumsum(x, axis)),
    # cumprod: the fast path (no zero) and the exact recurrence (zeros)
    S("cumprod", "cumprod", lambda r: (factors(r, 2, 4),), {"axis": 1}),
    S("cumprod-flattened", "cumprod", lambda r: (factors(r, 2, 3),)),
    S("cumprod-axis0-reverse", "cumprod", lambda r: (factors(r, 3, 2),), {"axis": 0, "reverse": True}),
    S("cumprod-one-zero", "cumprod", lambda r: (np.array([1.5, -0.5, 0.0, 2.0, 0.8]),), {"axis": 0}),
    S("cumprod-two-zeros", "cumprod", lambda r: (two_zeros(r, 2, 4),), {"axis": -1}),
    S("cumprod-zero-reverse", "cumprod", lambda r: (np.array([0.5, 2.0, 0.0, -1.5]),), {"axis": 0, "reverse": True}),
    S("cumprod-zero-flattened", "cumprod", lambda r: (np.array([[1.2, 0.0], [-0.7, 1.1]]),)),
    S("cumprod-empty", "cumprod", lambda r: (factors(r, 2, 0),), {"axis": 1}),
    S("cumprod-public", "cumprod", lambda r: (factors(r, 3, 2),), {"axis": 0}, via=lambda x, axis: mg.cumprod(x, axis)),
    # linear_scan: y_k = b_k + a_k y_{k−1}
    S("linear_scan", "linear_scan", lambda r: (normal(r, 5), factors(r, 5))),
    S("linear_scan-reverse-axis", "linear_scan", lambda r: (normal(r, 3, 2), factors(r, 3, 2)),
      {"axis": -2, "reverse": True}),
    S("linear_scan-zero-coefficients", "linear_scan", lambda r: (normal(r, 2, 4), one_zero(r, 2, 4)), {"axis": 1}),
    # sort: a permutation
    S("sort", "sort", lambda r: (distinct(r, 2, 4),)),
    S("sort-axis0", "sort", lambda r: (distinct(r, 3, 2),), {"axis": 0}),
    S("sort-flattened", "sort", lambda r: (distinct(r, 2, 3),), {"axis": None}),
    S("sort-public-kind", "sort", lambda r: (distinct(r, 4),), {"axis": -1},
      via=lambda x, axis: mg.sort(x, axis=axis, kind="heapsort")),
    S("median-odd", "sort", lambda r: (distinct(r, 3, 5),), {"axis": -1}, via=lambda x, axis: mg.median(x, axis=axis)),
    S("median-even-keepdims", "sort", lambda r: (distinct(r, 4, 2),), {"axis": -1},
      via=lambda x, axis: mg.median(x, axis=0, keepdims=True)),
    S("median-tuple-axis", "sort", lambda r: (distinct(r, 2, 3, 2),), {"axis": -1},
      via=lambda x, axis: mg.median(x, axis=(0, 2))),
    # composites over mean, sum, max
    S("var", "mean", lambda r: (normal(r, 2, 3),), via=_var()),
    S("var-axis-ddof", "mean", lambda r: (normal(r, 3, 4),), {"axis": 1}, via=_var(ddof=1)),
    S("var-tuple-axis-keepdims", "mean", lambda r: (normal(r, 2, 3, 2),), {"axis": (0, 2), "keepdims": True},
      via=_var(correction=1)),
    S("std", "mean", lambda r: (spread_out(r, 2, 3),), via=_std()),
    S("std-axis-ddof", "mean", lambda r: (spread_out(r, 3, 4),), {"axis": 0}, via=_std(ddof=1)),
    S("average", "mean", lambda r: (normal(r, 2, 3),), {"axis": 1}, via=lambda x, axis: mg.average(x, axis=axis)),
    # (a two-input composite names mul, the product a ⊙ w it is built on, called without axis)
    S("average-weights", "mul", lambda r: (normal(r, 2, 3), positive(r, 2, 3)),
      via=lambda x, w: mg.average(x, axis=1, weights=w)),
    S("average-weights-along-axis", "mul", lambda r: (normal(r, 3, 3), positive(r, 3)),
      via=lambda x, w: mg.average(x, axis=0, weights=w)),
    S("average-returned", "mul", lambda r: (normal(r, 2, 3), positive(r, 3)),
      via=lambda x, w: mg.prod(mg.stack(mg.average(x, axis=-1, weights=w, returned=True)), axis=0)),
    S("ptp", "max", lambda r: (distinct(r, 2, 3),), {"axis": 1}, via=lambda x, axis: mg.ptp(x, axis=axis)),
    S("amax", "max", lambda r: (distinct(r, 2, 3),), {"axis": 0, "keepdims": True},
      via=lambda x, axis, keepdims: mg.amax(x, axis, keepdims=keepdims)),
    S("amin", "max", lambda r: (distinct(r, 2, 3),), via=lambda x: mg.amin(x)),
]
