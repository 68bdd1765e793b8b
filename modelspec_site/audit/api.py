"""The ledger API for auditors: every event, newest first, cursor-paginated.

The fields are exactly the hashed ones plus ``hash`` (``created_at`` in its canonical text), so
an auditor can re-verify an export with `chain.verify_chain` without trusting this server."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission

from modelspec_site.accounts.roles import AUDITOR, has_role
from modelspec_site.audit import chain, selectors
from modelspec_site.audit.models import Event, Visibility


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


class EventCursorPagination(CursorPagination):
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
        responses=EventSerializer(many=True),
    )
)
class EventListView(generics.ListAPIView):
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
