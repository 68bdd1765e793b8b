"""The ledger's doors: the auditor's pages (/staff/audit/: sign-in for the public), the public
checkpoints, their feed and key, the public export (internal events and staff's events
redacted) and the offline verifier; the ledger API's export (auditors) and checkpoints (public).

Planted: an internal ledger event whose data, subject label and id carry markers, and a public
event by a staff member (its actor's name is a secret of the crawl's world), then a checkpoint
so the checkpoint routes have a real day."""

from django.db import transaction

from modelspec_site.audit.checkpoints import checkpoint_record
from modelspec_site.audit.services import audit_record

from ..leaks_support import Way


def _ledger_queries(w) -> list[str]:
    marker = w.markers.get("audit: internal event data", "LEAK")
    return ["", "?action=audit", "?visibility=internal", f"?q={marker}", "?before=3",
            "?start=bad-date", "?subject_type=audit.planted"]  # fmt: skip


ROUTES = {
    "staff/audit/": Way(queries=_ledger_queries),
    "staff/audit/events/<int:seq>/": Way(),
    "staff/audit/subjects/<str:subject_type>/<str:subject_id>/": Way(),
    "staff/audit/export.<str:fmt>": Way(),
    "audit/checkpoints/": Way(queries=("", "?page=2", "?page=x")),
    "audit/checkpoints/feed/": Way(),
    "audit/checkpoints/key/": Way(),
    "audit/checkpoints/<str:day>.json": Way(),
    "audit/export/public.<str:fmt>": Way(),
    "audit/verify_ledger_export.py": Way(),
    "api/v1/audit/events/export/": Way(kind="api"),
    "api/v1/audit/checkpoints/": Way(kind="api", queries=("", "?page_size=1", "?cursor=bad")),
}


def plant(w, *, make_user) -> None:
    insider = w.staff[0]
    with transaction.atomic():
        event = audit_record(
            actor=insider,
            action="audit.planted",
            subjects=[
                {
                    "type": "audit.planted",
                    "id": w.mark("audit: internal subject id"),
                    "label": w.mark("audit: internal subject label"),
                }
            ],
            data={"x": w.mark("audit: internal event data")},
            visibility="internal",
        )
        # A public event by a staff member: the actor label is the staff username (a secret).
        audit_record(actor=insider, action="audit.planted_public", data={"n": 1})
    w.audit_internal_seq = event.seq
    w.audit_subject = event.subjects[0]
    w.audit_day = checkpoint_record()[0].day.isoformat()


def values(w) -> dict[str, list[str]]:
    return {
        "seq": [str(w.audit_internal_seq), "1"],
        "subject_type": [w.audit_subject["type"]],
        "subject_id": [w.audit_subject["id"]],
        "fmt": ["jsonl", "csv"],
        "day": [w.audit_day],
    }


def missing(w) -> dict[str, list[str]]:
    return {"seq": ["999999999"], "fmt": ["xml"], "day": ["1999-01-01", "not-a-day"]}
