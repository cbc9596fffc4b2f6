"""Pytrees: nested dicts, lists and tuples whose leaves are arrays, Tensors or scalars.

``tree_flatten`` gives the leaves in a fixed order and a definition to rebuild the same
structure with ``tree_unflatten``; dicts keep their insertion order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TreeDef = Any  # None for a leaf, else (kind, keys, children)


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if isinstance(tree, dict):
        return (type(tree), tuple(tree), tuple(_flatten(v, leaves) for v in tree.values()))
    if isinstance(tree, (list, tuple)):
        return (type(tree), None, tuple(_flatten(v, leaves) for v in tree))
    leaves.append(tree)
    return None


def tree_unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    remaining = iter(leaves)
    return _unflatten(treedef, remaining)


def _unflatten(treedef: TreeDef, leaves: Any) -> Any:
    if treedef is None:
        return next(leaves)
    kind, keys, children = treedef
    values = [_unflatten(child, leaves) for child in children]
    if keys is not None:
        return kind(zip(keys, values))
    if kind is tuple or kind is list:
        return kind(values)
    return kind(*values)  # a namedtuple


def tree_map(f: Callable[..., Any], tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [f(leaf) for leaf in leaves])


def tree_structure(tree: Any) -> TreeDef:
    return tree_flatten(tree)[1]
