"""`GET /api/v1/specs/{spec}/versions/{label}/disposition/`: a version's disposition report, the
same JSON as the page's `disposition.json` (streamed, whatever the number of items)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from feedback.disposition import json_chunks, version_disposition
from feedback.models import AnchorOutcome, Kind, State
from revisions.selectors import version_get

from .schema import NOT_FOUND


class DispositionRowSerializer(serializers.Serializer):
    """Documentation of one row (the view streams plain dicts)."""

    tracking_number = serializers.CharField()
    url = serializers.CharField(help_text="The item's page (a path on this site).")
    clause_id = serializers.CharField(help_text="The clause it was filed on, in this version.")
    kind = serializers.ChoiceField(choices=Kind.choices)
    summary = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    decision = serializers.CharField(
        help_text="The state, when it is a decision (accepted, declined, incorporated, …); "
        "empty while the item is open."
    )
    rationale = serializers.CharField(help_text="The decision's public rationale.")
    decided_at = serializers.CharField(help_text="ISO 8601, or empty.")
    change_version = serializers.CharField(
        help_text="The version in which a change proposal answering it was published."
    )
    change_clause_id = serializers.CharField(
        help_text="The clause that change produced (empty for a removal)."
    )
    change_url = serializers.CharField(help_text="Where to read that change.")
    carried_to_version = serializers.CharField(
        help_text="The later version the open item was carried to, or empty."
    )
    carried_to_clause_id = serializers.CharField()
    carried_outcome = serializers.ChoiceField(
        choices=[("", ""), *AnchorOutcome.choices],
        help_text="What re-anchoring found when it was carried.",
    )
    carried_confidence = serializers.IntegerField(allow_null=True)
    received_at = serializers.CharField(help_text="ISO 8601.")
    visibility = serializers.CharField(required=False, help_text="Staff only.")
    hidden = serializers.BooleanField(required=False, help_text="Staff only.")


class DispositionSerializer(serializers.Serializer):
    spec = serializers.CharField()
    version = serializers.CharField()
    version_state = serializers.CharField()
    received = serializers.IntegerField(help_text="Items received on this version.")
    listed = serializers.IntegerField(help_text="Items listed (the ones you may see).")
    withheld = serializers.IntegerField(
        help_text="Items received but not listed: internal ones and those a moderator hid, "
        "in one total."
    )
    items = DispositionRowSerializer(many=True)


EXAMPLE = {
    "spec": "model-spec",
    "version": "2025-09-12",
    "version_state": "superseded",
    "received": 3,
    "listed": 2,
    "withheld": 1,
    "items": [
        {
            "tracking_number": "MS-2025-00042",
            "url": "/feedback/MS-2025-00042/",
            "clause_id": "follow_all_applicable_instructions",
            "kind": "unclear",
            "summary": "What makes an instruction 'later'?",
            "state": "incorporated",
            "decision": "incorporated",
            "rationale": "Clarified in 2026-01-15.",
            "decided_at": "2026-01-15T10:00:00+00:00",
            "change_version": "2026-01-15",
            "change_clause_id": "follow_all_applicable_instructions",
            "change_url": "/specs/model-spec/versions/2026-01-15/clauses/follow_all_applicable_instructions/",
            "carried_to_version": "",
            "carried_to_clause_id": "",
            "carried_outcome": "",
            "carried_confidence": None,
            "received_at": "2025-10-01T09:30:00+00:00",
        },
        {
            "tracking_number": "MS-2025-00043",
            "url": "/feedback/MS-2025-00043/",
            "clause_id": "letter_and_spirit",
            "kind": "disagree",
            "summary": "The example contradicts the rule",
            "state": "triaged",
            "decision": "",
            "rationale": "",
            "decided_at": "",
            "change_version": "",
            "change_clause_id": "",
            "change_url": "",
            "carried_to_version": "2026-01-15",
            "carried_to_clause_id": "letter_and_spirit",
            "carried_outcome": "anchored",
            "carried_confidence": 100,
            "received_at": "2025-10-02T11:00:00+00:00",
        },
    ],
}


class DispositionView(APIView):
    @extend_schema(
        operation_id="version_disposition",
        tags=["feedback"],
        summary="A version's disposition report",
        description=(
            "Every feedback item received on this version that you may see, oldest first, with "
            "its state, the decision and its public rationale, the change it led to and where a "
            "later version carried it. Items you may not see (internal ones, and those a "
            "moderator hid) are not listed, only counted in `withheld`. The same document as "
            "the page's `disposition.json`; streamed. Drafts' reports are staff-only (404)."
        ),
        responses={200: DispositionSerializer, 404: NOT_FOUND},
        examples=[OpenApiExample("A report", value=EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, spec: str, label: str) -> StreamingHttpResponse:
        version = version_get(viewer=request.user, spec_slug=spec, label=label)
        report = version_disposition(viewer=request.user, version=version)
        return StreamingHttpResponse(json_chunks(report), content_type="application/json")
