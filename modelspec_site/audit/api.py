"""The ledger API for auditors: every event, newest first, cursor-paginated.

The fields are exactly the hashed ones plus ``hash`` (``created_at`` in its canonical text), so
an auditor can re-verify an export with `chain.verify_chain` without trusting this server."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.views import APIView

from modelspec_site.accounts.roles import AUDITOR, has_role
from modelspec_site.audit import chain, selectors
from modelspec_site.audit.models import Checkpoint, Event, Visibility
from modelspec_site.audit.views import ledger_export_full


class IsAuditor(BasePermission):
    message = "Only auditors may read the ledger."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, AUDITOR)


class SubjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField()


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    created_at = serializers.SerializerMethodField(
        help_text="UTC, always six fractional digits and a Z: the text that is hashed."
    )
    actor_kind = serializers.CharField()
    actor_label = serializers.CharField()
    actor_id = serializers.SerializerMethodField()
    action = serializers.CharField()
    subjects = SubjectSerializer(many=True)
    visibility = serializers.CharField()
    data = serializers.JSONField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()

    def get_created_at(self, event: Event) -> str:
        return chain.format_timestamp(event.created_at)

    def get_actor_id(self, event: Event) -> str | None:
        return None if event.actor_id is None else str(event.actor_id)


class AuditErrorSerializer(serializers.Serializer):
    """The site's error body (modelspec_site.api): a stable code, a message, field errors."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.JSONField(), required=False)


BAD_REQUEST = OpenApiResponse(
    AuditErrorSerializer, description="A filter or the cursor is not valid (`errors` says which)."
)


class StrictCursorPagination(CursorPagination):
    """A cursor that does not decode is a bad request (400, field `cursor`), not a 404."""

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None


class EventCursorPagination(StrictCursorPagination):
    ordering = "-seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


_FILTERS = [
    OpenApiParameter(
        "action", OpenApiTypes.STR, description="Exact action, e.g. version.published"
    ),
    OpenApiParameter("visibility", OpenApiTypes.STR, enum=Visibility.values),
    OpenApiParameter("subject_type", OpenApiTypes.STR, description="e.g. revisions.version"),
    OpenApiParameter("subject_id", OpenApiTypes.STR, description="Needs subject_type."),
]


@extend_schema_view(
    get=extend_schema(
        tags=["audit"],
        operation_id="audit_events_list",
        summary="Ledger events (auditors only), newest first",
        parameters=_FILTERS,
        responses={200: EventSerializer(many=True), 400: BAD_REQUEST},
    )
)
class EventListView(generics.ListAPIView):
    staff_only = True
    serializer_class = EventSerializer
    permission_classes = [IsAuditor]
    pagination_class = EventCursorPagination

    def get_queryset(self) -> QuerySet[Event]:
        # An explicit allowlist of filters; anything else in the query string is ignored.
        params = self.request.query_params
        events = selectors.event_list(viewer=self.request.user)
        if action := params.get("action"):
            events = events.filter(action=action)
        if visibility := params.get("visibility"):
            if visibility not in Visibility.values:
                raise ValidationError({"visibility": f"One of {', '.join(Visibility.values)}."})
            events = events.filter(visibility=visibility)
        subject_type, subject_id = params.get("subject_type"), params.get("subject_id")
        if subject_id and not subject_type:
            raise ValidationError({"subject_id": "Give subject_type too."})
        if subject_type:
            ref = {"type": subject_type} | ({"id": subject_id} if subject_id else {})
            events = events.filter(subjects__contains=[ref])
        return events


@extend_schema_view(
    get=extend_schema(
        tags=["audit"],
        operation_id="audit_events_export",
        summary="The whole ledger as JSON Lines (auditors only), streamed",
        description=(
            "Every event in seq order, one JSON object per line with the ten hashed fields "
            "and hash, for offline verification (scripts/verify_ledger_export.py). Recorded "
            "in the ledger as audit.exported."
        ),
        responses={
            (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.STR, description="JSON Lines")
        },
    )
)
class EventExportView(APIView):
    staff_only = True
    permission_classes = [IsAuditor]

    def get(self, request, *args, **kwargs):
        return ledger_export_full(request, "jsonl")


class CheckpointSerializer(serializers.Serializer):
    day = serializers.DateField()
    count = serializers.IntegerField(help_text="Events in the ledger at that time.")
    head_hash = serializers.CharField(help_text="The hash of event number `count`.")
    created_at = serializers.CharField(
        source="created_at_text", help_text="UTC, as signed: YYYY-MM-DDTHH:MM:SS.ffffffZ"
    )
    signature = serializers.CharField(
        help_text="Base64 Ed25519 signature of 'modelspec-ledger-checkpoint:1\\ncount:N\\n"
        "head:HASH\\ntime:CREATED_AT\\n' (UTF-8); public key at /audit/checkpoints/key/."
    )
    key_id = serializers.CharField(help_text="First 16 hex digits of SHA-256 of the raw key.")
    algorithm = serializers.CharField(default="Ed25519", read_only=True)


class CheckpointPagination(StrictCursorPagination):
    ordering = "-day"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


_CHECKPOINT_EXAMPLE = {
    "next": None,
    "previous": None,
    "results": [
        {
            "day": "2025-09-13",
            "count": 18234,
            "head_hash": "9c1d0b7f3e5a0a4c2b6d8e1f3a5c7e9b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c",
            "created_at": "2025-09-13T00:05:00.120391Z",
            "signature": "0s0V3yV0bq7...base64...Aw==",
            "key_id": "4f1c2a9b7d3e5f60",
            "algorithm": "Ed25519",
        }
    ],
}


@extend_schema_view(
    get=extend_schema(
        tags=["audit"],
        operation_id="audit_checkpoints_list",
        summary="Signed daily checkpoints of the ledger (public), newest first",
        description=(
            "Keep a checkpoint to prove later that the ledger only grew: event `count` must "
            "still have hash `head_hash` (verify_audit --checkpoint HASH --count N, or "
            "verify_ledger_export.py on an export)."
        ),
        responses={200: CheckpointSerializer(many=True), 400: BAD_REQUEST},
        examples=[
            OpenApiExample(
                "A page of checkpoints",
                value=_CHECKPOINT_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
)
class CheckpointListView(generics.ListAPIView):
    serializer_class = CheckpointSerializer
    permission_classes = [AllowAny]
    pagination_class = CheckpointPagination

    def get_queryset(self) -> QuerySet[Checkpoint]:
        return Checkpoint.objects.all()
