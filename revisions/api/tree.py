"""The clause tree of a version, built in Python from the flat list in reading order. Pure; no
database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class _Node(Protocol):
    @property
    def pk(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...


T = TypeVar("T", bound=_Node)


@dataclass(slots=True)
class TreeNode(Generic[T]):
    text: T
    children: list[TreeNode[T]] = field(default_factory=list)


def build_tree(texts: Iterable[T]) -> list[TreeNode[T]]:
    """Nest `texts` (already in reading order) under their parents, keeping that order among
    siblings. A text whose parent is not in the list is treated as a root rather than lost."""
    nodes = [TreeNode(text) for text in texts]
    by_pk = {node.text.pk: node for node in nodes}
    roots: list[TreeNode[T]] = []
    for node in nodes:
        parent = by_pk.get(node.text.parent_id) if node.text.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots


def count_nodes(nodes: Iterable[TreeNode]) -> int:
    return sum(1 + count_nodes(node.children) for node in nodes)
