"""Specs of the products: einsum (every form of subscripts), kron, cross, and the public functions
built on matmul (dot, vdot, inner, outer, tensordot)."""

from __future__ import annotations

import matgrad as mg

from . import Spec, normal

S = Spec


def einsum(subscripts: str, *shapes: tuple[int, ...], optimize: bool = False, name: str = "") -> Spec:
    return S(
        f"einsum-{name or subscripts}",
        "einsum",
        lambda r: tuple(normal(r, *s) for s in shapes),
        {"subscripts": subscripts, "optimize": optimize},
    )


SPECS: list[Spec] = [
    # einsum: contractions, implicit output, ellipsis, repeated labels, broadcasting, empty axes
    einsum("ij,jk->ik", (2, 3), (3, 4), name="matmul"),
    einsum("ij,jk", (2, 3), (3, 2), name="implicit"),
    einsum("ji", (2, 3), name="implicit-transpose"),
    einsum("ij,jk,kl->il", (2, 3), (3, 2), (2, 2), name="chain-of-three"),
    einsum("ij,jk,kl->il", (2, 3), (3, 2), (2, 2), optimize=True, name="chain-optimized"),
    einsum("ii->i", (3, 3), name="diagonal"),
    einsum("ii", (3, 3), name="trace"),
    einsum("iij->ij", (2, 2, 3), name="diagonal-with-free-axis"),
    einsum("ij->", (2, 3), name="sum-all"),
    einsum("ij->j", (2, 3), name="sum-rows"),
    einsum("i,j->ij", (2,), (3,), name="outer"),
    einsum("i,i->", (4,), (4,), name="inner"),
    einsum("bij,bjk->bik", (2, 2, 3), (2, 3, 2), name="batched"),
    einsum("...ij,...jk->...ik", (2, 1, 2, 3), (3, 3, 2), name="ellipsis-broadcast"),
    einsum("...i,...i->...", (1, 3), (2, 3), name="ellipsis-size-one"),
    einsum("i...i->...", (3, 2, 3), name="ellipsis-trace"),
    einsum("ij,ij->ij", (1, 3), (2, 3), name="label-size-one"),
    einsum("ii,i->i", (3, 3), (3,), name="diagonal-times-vector"),
    einsum(",ij->ij", (), (2, 3), name="scalar"),
    einsum("ij,jk->ik", (2, 0), (0, 3), name="empty-contraction"),
    einsum("ij,jk->ik", (0, 2), (2, 3), name="empty-rows"),
    S(
        "einsum-sublists",
        "einsum",
        lambda r: (normal(r, 2, 3), normal(r, 3)),
        {"subscripts": "ab,b->a", "optimize": False},
        via=lambda a, b, subscripts, optimize: mg.einsum(a, [0, 1], b, [1], [0]),
    ),
    # kron: vectors, matrices, different numbers of dimensions
    S("kron-vectors", "kron", lambda r: (normal(r, 2), normal(r, 3))),
    S("kron-matrices", "kron", lambda r: (normal(r, 2, 3), normal(r, 2, 2))),
    S("kron-vector-matrix", "kron", lambda r: (normal(r, 2), normal(r, 2, 3))),
    S("kron-three-dims", "kron", lambda r: (normal(r, 1, 2, 2), normal(r, 2, 1, 2))),
    S("kron-scalar", "kron", lambda r: (normal(r), normal(r, 2, 2))),
    # cross: 3-vectors, broadcast batches, other axes
    S("cross", "cross", lambda r: (normal(r, 3), normal(r, 3))),
    S("cross-broadcast", "cross", lambda r: (normal(r, 2, 3), normal(r, 3))),
    S("cross-batches", "cross", lambda r: (normal(r, 2, 1, 3), normal(r, 4, 3))),
    # (the inputs of a spec with via= are valid for the bare primitive too: the rule tests call it)
    S(
        "cross-axes",
        "cross",
        lambda r: (normal(r, 3, 3), normal(r, 3)),
        via=lambda a, b: mg.cross(a, b, axisa=0, axisb=-1, axisc=0),
    ),
    S("cross-axis", "cross", lambda r: (normal(r, 2, 3, 3), normal(r, 3, 3)), via=lambda a, b: mg.cross(a, b, axis=-2)),
    # algebra over matmul
    S("dot-vectors", "matmul", lambda r: (normal(r, 3), normal(r, 3)), via=mg.dot),
    S("dot-matrices", "matmul", lambda r: (normal(r, 2, 3), normal(r, 3, 2)), via=mg.dot),
    S("dot-scalar", "mul", lambda r: (normal(r), normal(r, 2, 3)), via=mg.dot),
    S("dot-nd-md", "matmul", lambda r: (normal(r, 2, 2, 3), normal(r, 2, 3, 2)), via=mg.dot),
    S("dot-matrix-vector", "matmul", lambda r: (normal(r, 2, 3), normal(r, 3)), via=mg.dot),
    S("vdot", "matmul", lambda r: (normal(r, 2, 3), normal(r, 3, 2)), via=mg.vdot),
    S("inner", "matmul", lambda r: (normal(r, 2, 3), normal(r, 3)), via=mg.inner),
    S("inner-matrices", "matmul", lambda r: (normal(r, 2, 2), normal(r, 2, 2)), via=mg.inner),
    S("inner-scalar", "mul", lambda r: (normal(r, 3), normal(r)), via=mg.inner),
    S("outer", "mul", lambda r: (normal(r, 3, 1), normal(r, 1, 2)), via=mg.outer),
    S("tensordot", "matmul", lambda r: (normal(r, 2, 2, 2), normal(r, 2, 2, 2)), via=mg.tensordot),
    S(
        "tensordot-axes-lists",
        "matmul",
        lambda r: (normal(r, 2, 2, 2), normal(r, 2, 2, 2)),
        via=lambda a, b: mg.tensordot(a, b, axes=([0, -1], [2, 0])),
    ),
    S("tensordot-outer", "matmul", lambda r: (normal(r, 2), normal(r, 2, 3)), via=lambda a, b: mg.tensordot(a, b, 0)),
]
