"""The clause tree of a version, built in Python from the flat list in reading order. Pure; no
database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


class _Linked(Protocol):
    @property
    def pk(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...


@dataclass(slots=True)
class TreeNode[T: _Linked]:
    text: T
    children: list[TreeNode[T]] = field(default_factory=list)


def build_tree[T: _Linked](texts: Iterable[T]) -> list[TreeNode[T]]:
    """Nest `texts` (already in reading order) under their parents, keeping that order among
    siblings. A text whose parent is not in the list is kept as a root rather than lost."""
    nodes = [TreeNode(text) for text in texts]
    by_pk = {node.text.pk: node for node in nodes}
    roots: list[TreeNode[T]] = []
    for node in nodes:
        parent_id = node.text.parent_id
        parent = by_pk.get(parent_id) if parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots
