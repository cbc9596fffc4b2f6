"""A layered drawing of a DAG, top to bottom, in pure Python (no Graphviz, no matplotlib).

The steps are Sugiyama's, kept small:

1. **layers** — every node below all of its arguments: the longest path from the inputs sets the
   number of layers and the main chain, then each node moves down to just above its first use
   (a source too: ``b²`` sits beside the ``W² a¹`` it is added to, not at the top; a side branch
   such as the ``Σ W²`` of a penalty sits beside the sum that adds it);
2. **rows** — a layer wider than ``max_width`` is wrapped onto consecutive rows (no edge joins two
   nodes of one layer, so every edge still goes down);
3. **dummy points** — an edge that crosses rows gets a point on each row it crosses, which the
   next step places like a narrow node, so long edges run between the boxes, not through them;
4. **order and place** — sweeps down and up: each row is sorted by the barycentre of its
   neighbours in the row above (below) — the crossing-reducing heuristic — and then placed as
   close to those barycentres as the gaps allow (a least-squares fit under the ordering, by
   pool-adjacent-violators).

Sizes are in any unit (the matplotlib drawing uses points); ``y`` grows downwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

Node = Hashable
Edge = tuple[Node, Node]


@dataclass
class Layout:
    """Where each node goes: ``x``/``y`` are box centres; ``routes[edge]`` the polyline of an edge,
    from the bottom of its source to the top of its target."""

    rows: list[list[Node]]  # real nodes only, left to right
    row: dict[Node, int]
    x: dict[Node, float]
    y: dict[Node, float]
    width: float
    height: float
    routes: dict[Edge, list[tuple[float, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Dummy:
    edge: Edge
    row: int


def layers(nodes: Sequence[Node], edges: Sequence[Edge]) -> dict[Node, int]:
    """Longest-path layers from the sources, then every node moved down to just above its first use."""
    predecessors: dict[Node, list[Node]] = {n: [] for n in nodes}
    successors: dict[Node, list[Node]] = {n: [] for n in nodes}
    for u, v in edges:
        successors[u].append(v)
        predecessors[v].append(u)
    order = _topological(nodes, predecessors, successors)
    layer: dict[Node, int] = {}
    for n in order:
        layer[n] = 1 + max((layer[p] for p in predecessors[n]), default=-1)
    for n in reversed(order):  # uses first: a node's uses are final when it moves
        if successors[n]:
            layer[n] = min(layer[s] for s in successors[n]) - 1  # never up: each use is at least one below
    return layer


def _topological(nodes: Sequence[Node], predecessors: dict, successors: dict) -> list[Node]:
    waiting = {n: len(predecessors[n]) for n in nodes}
    ready = [n for n in nodes if waiting[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for s in successors[n]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    if len(order) != len(nodes):
        raise ValueError("graph layout: the graph has a cycle")
    return order


def layout(
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    sizes: dict[Node, tuple[float, float]],
    *,
    max_width: float,
    gap: float = 14.0,
    row_gap: float = 26.0,
    dummy_width: float = 4.0,
    sweeps: int = 4,
) -> Layout:
    """Lay out ``nodes`` (in a preferred left-to-right order) top to bottom, at most ``max_width`` wide
    where a row can be (a single box wider than that stays as wide as it is)."""
    edges = list(dict.fromkeys((u, v) for u, v in edges if u != v))
    layer = layers(nodes, edges)
    rank = {n: i for i, n in enumerate(nodes)}
    rows: list[list[Node]] = []
    for level in range(max(layer.values(), default=-1) + 1):
        members = sorted((n for n in nodes if layer[n] == level), key=rank.__getitem__)
        for chunk in _wrapped(members, sizes, max_width, gap, dummy_width):
            rows.append(chunk)
    row = {n: r for r, members in enumerate(rows) for n in members}

    width_of = {n: sizes[n][0] for n in nodes}
    above: dict[Node, list[Node]] = {}  # neighbours in the adjacent rows, dummies included
    below: dict[Node, list[Node]] = {}
    chains: dict[Edge, list[Node]] = {}
    placed = [list(members) for members in rows]
    for u, v in edges:
        chain: list[Node] = [u]
        for r in range(row[u] + 1, row[v]):
            dummy = _Dummy((u, v), r)
            width_of[dummy] = dummy_width
            row[dummy] = r
            placed[r].append(dummy)
            chain.append(dummy)
        chain.append(v)
        chains[(u, v)] = chain
        for a, b in itertools.pairwise(chain):
            below.setdefault(a, []).append(b)
            above.setdefault(b, []).append(a)

    x: dict[Node, float] = {}
    for members in placed:
        _pack(members, width_of, gap, x)
    for sweep in range(2 * sweeps + 1):
        downwards = sweep % 2 == 0
        order = range(1, len(placed)) if downwards else range(len(placed) - 2, -1, -1)
        neighbours = above if downwards else below
        for r in order:
            desired = {
                n: sum(x[m] for m in neighbours[n]) / len(neighbours[n]) if neighbours.get(n) else x[n]
                for n in placed[r]
            }
            placed[r].sort(key=lambda n: (desired[n], x[n]))  # the barycentre order; ties keep their place
            _fit(placed[r], desired, width_of, gap, x)

    left = min((x[n] - width_of[n] / 2 for members in placed for n in members), default=0.0)
    right = max((x[n] + width_of[n] / 2 for members in placed for n in members), default=0.0)
    if right - left > max(max_width, max((_row_width(m, width_of, gap) for m in placed), default=0.0)):
        for members in placed:  # the fit spread the rows out: centre each packed row instead
            _pack(members, width_of, gap, x)
        left = min(x[n] - width_of[n] / 2 for members in placed for n in members)
        right = max(x[n] + width_of[n] / 2 for members in placed for n in members)
    for n in x:
        x[n] -= left

    y: dict[Node, float] = {}
    bands: list[tuple[float, float]] = []
    top = 0.0
    for members in placed:
        height = max((sizes[n][1] for n in members if not isinstance(n, _Dummy)), default=0.0)
        bands.append((top, top + height))
        for n in members:
            y[n] = top + height / 2
        top += height + row_gap
    routes = {}
    for (u, v), chain in chains.items():
        points = [(x[u], y[u] + sizes[u][1] / 2)]
        for dummy in chain[1:-1]:
            band_top, band_bottom = bands[row[dummy]]
            points += [(x[dummy], band_top), (x[dummy], band_bottom)]
        points.append((x[v], y[v] - sizes[v][1] / 2))
        routes[(u, v)] = points
    real_rows = [[n for n in members if not isinstance(n, _Dummy)] for members in placed]
    real = {n for members in real_rows for n in members}
    return Layout(
        rows=real_rows,
        row={n: r for n, r in row.items() if n in real},
        x={n: v for n, v in x.items() if n in real},
        y={n: v for n, v in y.items() if n in real},
        width=right - left,
        height=max(top - row_gap, 0.0),
        routes=routes,
    )


def _gap(a: Node, b: Node, gap: float) -> float:
    """The room between neighbours: ``gap`` between boxes, a third of it beside an edge's dummy point."""
    return gap / 3 if isinstance(a, _Dummy) or isinstance(b, _Dummy) else gap


def _row_width(members: Sequence[Node], width_of: dict, gap: float) -> float:
    return sum(width_of[n] for n in members) + sum(_gap(a, b, gap) for a, b in itertools.pairwise(members))


def _wrapped(members: list[Node], sizes: dict, max_width: float, gap: float, dummy_width: float) -> list[list[Node]]:
    """``members`` in consecutive chunks, each as wide as ``max_width`` allows (at least one node).

    The edges out of a chunk pass through the chunks after it, each as a dummy point: their room
    is kept free.
    """
    chunks: list[list[Node]] = [[]]
    used, passing = 0.0, 0.0
    for n in members:
        width = sizes[n][0]
        if chunks[-1] and passing + used + gap + width > max_width:
            passing += len(chunks[-1]) * (dummy_width + gap / 3)
            chunks.append([])
            used = 0.0
        used += (gap if chunks[-1] else 0.0) + width
        chunks[-1].append(n)
    return [chunk for chunk in chunks if chunk]


def _pack(members: list[Node], width_of: dict, gap: float, x: dict) -> None:
    """Side by side, centred on 0."""
    position = -_row_width(members, width_of, gap) / 2
    for i, n in enumerate(members):
        x[n] = position + width_of[n] / 2
        position += width_of[n] + (_gap(n, members[i + 1], gap) if i + 1 < len(members) else 0.0)


def _fit(members: list[Node], desired: dict, width_of: dict, gap: float, x: dict) -> None:
    """Centres as close to ``desired`` as possible (least squares) keeping the order and the gaps.

    With ``c_i`` the least offset of node i from the first (widths and gaps before it), ``x_i = y_i + c_i``
    and the constraints are ``y`` non-decreasing: isotonic regression of ``desired_i − c_i``.
    """
    offsets, offset = [], 0.0
    for i, n in enumerate(members):
        if i:
            offset += (width_of[members[i - 1]] + width_of[n]) / 2 + _gap(members[i - 1], n, gap)
        offsets.append(offset)
    blocks: list[list[float]] = []  # [sum, count] of pooled targets
    for n, c in zip(members, offsets):
        blocks.append([desired[n] - c, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    i = 0
    for total, count in blocks:
        for _ in range(int(count)):
            x[members[i]] = total / count + offsets[i]
            i += 1
