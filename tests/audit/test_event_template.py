"""`EventTemplate` (the hot submission path's way of preparing ledger events) gives exactly what
`audit_prepare` gives for the same texts, with fresh tokens every time, and the database appends
its events like any other."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelspec_site.audit.models import Event
from modelspec_site.audit.services import (
    EventTemplate,
    audit_prepare,
    audit_slots,
    audit_template_marks,
)
from modelspec_site.audit.verify import audit_verify


def _event(summary: str, slots: dict[str, str]):
    return audit_prepare(
        actor="anonymous",
        action="feedback.submitted",
        subjects=[
            {
                "type": "feedback.feedbackitem",
                "id": slots["item_id"],
                "label": f"{slots['n']}: {summary}",
            },
            {"type": "revisions.version", "id": "7", "label": "model-spec 2025-09-12"},
        ],
        data={"tracking_number": slots["n"], "kind": "unclear", "quoted": summary},
        slots=slots,
    )


def _template() -> EventTemplate:
    marks = audit_template_marks("summary")
    return EventTemplate.of(_event(marks["summary"], audit_slots("n", "item_id")), marks)


def _untokened(event) -> tuple[str, str, str]:
    """The event's texts with each token replaced by its role, so two events compare."""
    names = {**dict(zip(event.chain_tokens, ("SEQ", "AT", "PREV"), strict=True))}
    names |= {token: f"SLOT{index}" for index, token in enumerate(event.slot_tokens)}
    pattern = re.compile("|".join(map(re.escape, names)))
    return tuple(
        pattern.sub(lambda m: names[m.group()], text)
        for text in (event.canonical, event.subjects, event.data)
    )


TEMPLATE = _template()


@settings(max_examples=400, deadline=None)
@given(summary=st.text().filter(lambda text: "\x00" not in text))
def test_a_filled_template_is_what_audit_prepare_makes(summary):
    try:
        summary.encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(ValueError, match="lone surrogate"):
            TEMPLATE.prepare(summary=summary)
        return
    filled = TEMPLATE.prepare(summary=summary)
    direct = _event(summary, audit_slots("n", "item_id"))
    assert _untokened(filled) == _untokened(direct)
    assert (filled.actor_kind, filled.action, filled.visibility) == (
        "anonymous",
        "feedback.submitted",
        "public",
    )


def test_texts_that_look_like_tokens_or_marks_stay_as_written():
    """An inserted text is never scanned again: not even a copy of the template's own mark or
    tokens is replaced."""
    tricky = " ".join(
        [*TEMPLATE.marks.values(), *TEMPLATE.event.chain_tokens, *TEMPLATE.event.slot_tokens]
    )
    filled = TEMPLATE.prepare(summary=tricky)
    assert tricky in filled.canonical


def test_every_event_gets_fresh_tokens():
    first, second = TEMPLATE.prepare(summary="a"), TEMPLATE.prepare(summary="a")
    assert set(first.chain_tokens).isdisjoint(second.chain_tokens)
    assert set(first.slot_tokens).isdisjoint(second.slot_tokens)
    assert set(first.chain_tokens).isdisjoint(TEMPLATE.event.chain_tokens)


def test_refusals():
    with pytest.raises(ValueError, match=r"U\+0000"):
        TEMPLATE.prepare(summary="a\x00b")
    with pytest.raises(ValueError, match="give exactly"):
        TEMPLATE.prepare()
    with pytest.raises(ValueError, match="not in the event"):
        EventTemplate.of(_event("plain", audit_slots("n", "item_id")), {"summary": "absent"})


@pytest.mark.django_db
def test_the_database_appends_a_filled_template_and_the_chain_verifies():
    from django.db import connection

    event = TEMPLATE.prepare(summary='quotes " and \\ and ☕')
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o_seq FROM {event.SQL_CALL}", event.sql_args(["MS-2026-00001", "41"])
        )
        seq = cursor.fetchone()[0]
    stored = Event.objects.get(seq=seq)
    assert stored.subjects[0]["label"] == 'MS-2026-00001: quotes " and \\ and ☕'
    assert stored.data["quoted"] == 'quotes " and \\ and ☕'
    assert audit_verify().ok
