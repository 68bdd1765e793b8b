"""A clause's history as plain data: what each version did to it, relative to the version
before it in which the clause appears. Pure; no database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Change(StrEnum):
    ADDED = "added"
    UNCHANGED = "unchanged"
    EDITED = "edited"
    RENAMED = "renamed"


class _Text(Protocol):
    anchor: str
    heading: str
    number: str
    authority: str
    authority_rank: int | None
    content_hash: str

    @property
    def version(self) -> _Version: ...


class _Version(Protocol):
    label: str
    state: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    label: str
    state: str
    anchor: str
    heading: str
    number: str
    authority: str
    authority_rank: int | None
    content_hash: str
    change: Change
    same_text: bool


def change_between(previous: _Text | None, current: _Text) -> Change:
    """A new id wins over a new text: a renamed clause is reported as renamed (`same_text` on
    the entry says whether its text changed too); the content hash covers heading, authority,
    attributes and body, but not the id."""
    if previous is None:
        return Change.ADDED
    if previous.anchor != current.anchor:
        return Change.RENAMED
    if previous.content_hash != current.content_hash:
        return Change.EDITED
    return Change.UNCHANGED


def history_entries(texts: Iterable[_Text]) -> list[HistoryEntry]:
    """`texts` are one clause's texts, oldest version first."""
    entries: list[HistoryEntry] = []
    previous: _Text | None = None
    for text in texts:
        entries.append(
            HistoryEntry(
                label=text.version.label,
                state=text.version.state,
                anchor=text.anchor,
                heading=text.heading,
                number=text.number,
                authority=text.authority,
                authority_rank=text.authority_rank,
                content_hash=text.content_hash,
                change=change_between(previous, text),
                same_text=previous is not None and previous.content_hash == text.content_hash,
            )
        )
        previous = text
    return entries
