"""/api/v1/feedback/{tracking_number}/transitions/{action}/ and …/decisions/ (staff only).

One endpoint per action of the workflow table (`feedback.workflow.ACTIONS`), each calling
`feedback.transitions.feedback_transition`, the same service the staff pages call; reviewers
record their positions through `decision_record`. Refusals come from the services with their
own status and code: 409 `transition_conflict` (illegal here, or the item moved on since
`expected_state`), 409 `approval_pending`, 403 `permission_denied`, 400 for what is missing.

Only staff reach these views (`IsStaffMember`; the two-factor middleware guards sessions), and
the operations are left out of the public schema (`staff_only`, read by
`modelspec_site.api.public_operations_only`)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from feedback import idempotency, workflow
from feedback.errors import TargetNotFound
from feedback.models import Position, State
from feedback.transitions import (
    NOTE_MAX,
    RATIONALE_MAX,
    approval_status,
    decision_record,
    feedback_transition,
)
from modelspec_site.api import IsStaffMember

from . import schema
from . import schema_examples as samples
from . import selectors as api_selectors
from .errors import ApiError
from .parsing import content_length_check, shown
from .serializers import (
    FeedbackItemSerializer,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from .views import TRACKING_NUMBER, FeedbackAPIView, _throttle

# --- Serializers -----------------------------------------------------------------------------


class TransitionRequestSerializer(StrictSerializer):
    """What an action may take. Which of these an action requires is in the workflow table."""

    expected_state = StrictChoiceField(
        choices=State.choices,
        required=False,
        help_text="The state you saw. If the item has moved on since, nothing changes and the "
        "answer is 409 `transition_conflict`.",
    )
    rationale = StrictCharField(
        max_length=RATIONALE_MAX,
        required=False,
        allow_blank=True,
        help_text="The public rationale; required by every closing action but `mark_spam`, "
        "and by `reopen`.",
    )
    duplicate_of = StrictCharField(
        max_length=32,
        required=False,
        help_text="`mark_duplicate` only: the tracking number of the original item.",
    )
    message = StrictCharField(
        max_length=NOTE_MAX,
        required=False,
        allow_blank=True,
        help_text="A public message to the submitter; required by `request_info`.",
    )


class DecisionRequestSerializer(StrictSerializer):
    position = StrictChoiceField(choices=Position.choices)
    rationale = StrictCharField(
        max_length=RATIONALE_MAX,
        required=False,
        allow_blank=True,
        help_text="Why; required for every position but `recuse`.",
    )


class ApprovalSerializer(serializers.Serializer):
    required = serializers.IntegerField(help_text="Distinct reviewers' accepts the rule needs.")
    accepting = serializers.ListField(
        child=serializers.CharField(), help_text="Reviewers accepting, this review round."
    )
    recused = serializers.ListField(child=serializers.CharField())
    met = serializers.BooleanField(help_text="True when the item may be accepted.")


class DecisionSerializer(serializers.Serializer):
    tracking_number = serializers.CharField()
    reviewer = serializers.CharField()
    position = serializers.ChoiceField(choices=Position.choices)
    rationale = serializers.CharField()
    review_round = serializers.IntegerField(
        help_text="Positions count in their round only; reopening an item starts a new one."
    )
    approval = ApprovalSerializer()


# --- Schema ----------------------------------------------------------------------------------

_TN = "MS-2025-00042"
ACTION_PARAMETER = OpenApiParameter(
    "action",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(workflow.ACTIONS),
    description="The workflow action. Which states it starts from, who may take it and what it "
    "requires: "
    + "; ".join(
        f"`{a.name}`: {', '.join(sorted(a.sources))} → {a.target}"
        for a in workflow.ACTIONS.values()
    )
    + ". Any other name answers 404 `unknown_action`.",
)
_ERRORS = {
    "conflict": samples.error(
        "transition_conflict",
        "This item is now 'Triaged': someone else acted on it first. Reload it and try again.",
        {"state": ["This item is now 'Triaged': someone else acted on it first."]},
    ),
    "approval": samples.error(
        "approval_pending",
        "Accepting this item needs 2 reviewers' accepts; 1 recorded.",
        {"action": ["Accepting this item needs 2 reviewers' accepts; 1 recorded."]},
    ),
    "forbidden": samples.error(
        "permission_denied",
        "You may not take this action on this item.",
        {"action": ["You may not take this action on this item."]},
    ),
    "not_staff": samples.error(
        "not_authenticated", "Authentication credentials were not provided."
    ),
    "rationale": samples.error(
        "invalid",
        "Give the public rationale for this decision.",
        {"rationale": ["Give the public rationale for this decision."]},
    ),
    "unknown_action": samples.error("unknown_action", "There is no workflow action 'approve'."),
}
_COMMON_ERRORS = {
    403: schema._error(
        "Not signed in as staff, or your roles do not allow this action.",
        ("Not staff", _ERRORS["not_staff"], "403"),
        ("Role may not", _ERRORS["forbidden"], "403"),
    ),
    413: schema._error("The body is too large.", ("Too large", samples.TOO_LARGE, "413")),
    415: schema._error("The body is not JSON.", ("Not JSON", samples.UNSUPPORTED, "415")),
    429: schema.THROTTLED,
}

TRANSITION_SCHEMA: dict[str, Any] = {
    "operation_id": "feedback_transition_create",
    "tags": schema.TAGS,
    "summary": "Move an item through the workflow (staff)",
    "description": (
        "Takes one action of the workflow table on the item, as the signed-in staff member. "
        "Send `expected_state` with the state you saw, so that two people acting at once "
        "cannot both succeed: the second gets 409 `transition_conflict` and nothing changes. "
        "The body is optional for actions that need nothing (`triage`, `mark_spam`, …). "
        "Unknown fields are refused. An `Idempotency-Key` makes a retry safe.\n\n"
        "Accepting follows the approval rule of the spec: clauses at root or system authority "
        "need two distinct reviewers' accepts in the current review round (see "
        "`…/decisions/`), others one; 409 `approval_pending` otherwise."
    ),
    "parameters": [schema.TRACKING_NUMBER, ACTION_PARAMETER, schema.IDEMPOTENCY_KEY],
    "request": TransitionRequestSerializer,
    "examples": [
        OpenApiExample("Triage", value={"expected_state": "received"}, request_only=True),
        OpenApiExample(
            "Decline",
            value={
                "expected_state": "in_review",
                "rationale": "The clause already covers this case in its second paragraph.",
            },
            request_only=True,
        ),
        OpenApiExample(
            "Mark as duplicate",
            value={
                "expected_state": "received",
                "duplicate_of": "MS-2025-00017",
                "rationale": "Same question as MS-2025-00017.",
            },
            request_only=True,
        ),
        OpenApiExample(
            "Ask for information",
            value={"message": "Which model and which prompt did you use?"},
            request_only=True,
        ),
    ],
    "responses": {
        200: OpenApiResponse(
            FeedbackItemSerializer,
            description="Done: the item in its new state.",
            examples=[
                OpenApiExample(
                    "Triaged",
                    value=samples.ITEM | {"visibility": "public"},
                    response_only=True,
                    status_codes=["200"],
                )
            ],
        ),
        400: schema._error(
            "Something the action requires is missing, or the body is invalid.",
            ("Rationale missing", _ERRORS["rationale"], "400"),
            ("Unknown field", samples.UNKNOWN_FIELD, "400"),
            ("Not valid JSON", samples.PARSE_ERROR, "400"),
        ),
        404: schema._error(
            "No such item (or not visible to you), or no such action.",
            ("Not found", samples.NOT_FOUND, "404"),
            ("Unknown action", _ERRORS["unknown_action"], "404"),
        ),
        409: schema._error(
            "The action is not possible in the item's state, the item moved on since "
            "`expected_state`, or the approval rule is not met yet.",
            ("Stale or illegal", _ERRORS["conflict"], "409"),
            ("Approval pending", _ERRORS["approval"], "409"),
        ),
        422: schema._error(
            "The Idempotency-Key was used for a different request.",
            ("Key reused", samples.KEY_REUSED, "422"),
        ),
        **_COMMON_ERRORS,
    },
}

DECISION_SCHEMA: dict[str, Any] = {
    "operation_id": "feedback_decision_create",
    "tags": schema.TAGS,
    "summary": "Record a reviewer's position (reviewers)",
    "description": (
        "Records your position on an item in review — accept, decline or defer, with a "
        "rationale — or your recusal, for the current review round. Recording again replaces "
        "your earlier position. Positions are internal; the public sees the outcome. The "
        "answer includes where the approval rule stands."
    ),
    "parameters": [schema.TRACKING_NUMBER],
    "request": DecisionRequestSerializer,
    "examples": [
        OpenApiExample(
            "Accept",
            value={"position": "accept", "rationale": "The proposed wording is clearer."},
            request_only=True,
        ),
        OpenApiExample("Recuse", value={"position": "recuse"}, request_only=True),
    ],
    "responses": {
        201: OpenApiResponse(
            DecisionSerializer,
            description="Recorded.",
            examples=[
                OpenApiExample(
                    "One of two accepts",
                    value={
                        "tracking_number": _TN,
                        "reviewer": "ana",
                        "position": "accept",
                        "rationale": "The proposed wording is clearer.",
                        "review_round": 1,
                        "approval": {
                            "required": 2,
                            "accepting": ["ana"],
                            "recused": [],
                            "met": False,
                        },
                    },
                    response_only=True,
                    status_codes=["201"],
                )
            ],
        ),
        400: schema._error(
            "Invalid position, or the rationale is missing.",
            ("Unknown field", samples.UNKNOWN_FIELD, "400"),
        ),
        404: schema.NOT_FOUND,
        409: schema._error(
            "Positions are recorded only while the item is in review.",
            (
                "Not in review",
                samples.error(
                    "transition_conflict", "Positions are recorded while the item is in review."
                ),
                "409",
            ),
        ),
        **_COMMON_ERRORS,
    },
}


# --- Views -----------------------------------------------------------------------------------


class StaffWriteView(FeedbackAPIView):
    """A staff-only POST with an optional JSON body, throttled, optionally idempotent."""

    permission_classes = [IsStaffMember]
    staff_only = True  # left out of the public schema
    success_status = status.HTTP_200_OK

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        content_length_check(request)
        super().initial(request, *args, **kwargs)

    def post(self, request: Request, **kwargs: Any) -> Response:
        item = self._item_or_404(request, kwargs["tracking_number"])
        try:
            key = idempotency.key_validate(request.headers.get(idempotency.HEADER))
        except idempotency.InvalidKey as exc:
            raise ApiError(str(exc), code="invalid_idempotency_key", status=400) from None
        _throttle(request)
        if key is None:
            return Response(self.act(request, item, **kwargs), status=self.success_status)
        fingerprint = idempotency.fingerprint(
            method=request.method,
            path=request.path,
            content_type=request._request.content_type,
            body=request.body,
        )
        try:
            with idempotency.idempotent(
                scope=f"user:{request.user.pk}", key=key, request_fingerprint=fingerprint
            ) as claim:
                if claim.replay is not None:
                    response = Response(claim.replay.body, status=claim.replay.status)
                    response["Idempotent-Replayed"] = "true"
                    return response
                body = self.act(request, item, **kwargs)
                claim.store(status=self.success_status, body=body)
        except idempotency.KeyReused as exc:
            raise ApiError(str(exc), code="idempotency_key_reused", status=422) from None
        return Response(body, status=self.success_status)

    def act(self, request: Request, item, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError


class FeedbackTransitionView(StaffWriteView):
    def _item_or_404(self, request: Request, tracking_number: str):
        item = super()._item_or_404(request, tracking_number)
        action = self.kwargs["action"]
        if workflow.action_get(action) is None:
            raise ApiError(
                f"There is no workflow action '{shown(action, 40)}'.",
                code="unknown_action",
                status=404,
            )
        return item

    @extend_schema(**TRANSITION_SCHEMA)
    def post(self, request: Request, tracking_number: str, action: str) -> Response:
        return super().post(request, tracking_number=tracking_number, action=action)

    def act(self, request: Request, item, *, tracking_number: str, action: str) -> dict:
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        original = None
        if data.get("duplicate_of"):
            original = _original_or_400(request, data["duplicate_of"])
        feedback_transition(
            acting_user=request.user,
            item=item,
            action=action,
            expected_state=data.get("expected_state"),
            rationale=data.get("rationale", ""),
            duplicate_of=original,
            message=data.get("message", ""),
        )
        moved = api_selectors.feedback_api_get(viewer=request.user, tracking_number=tracking_number)
        context = {"request": request, "staff": True}
        return dict(FeedbackItemSerializer(moved, context=context).data)


class FeedbackDecisionView(StaffWriteView):
    success_status = status.HTTP_201_CREATED

    @extend_schema(**DECISION_SCHEMA)
    def post(self, request: Request, tracking_number: str) -> Response:
        return super().post(request, tracking_number=tracking_number)

    def act(self, request: Request, item, *, tracking_number: str) -> dict:
        serializer = DecisionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decision = decision_record(
            acting_user=request.user,
            item=item,
            position=data["position"],
            rationale=data.get("rationale", ""),
        )
        item.refresh_from_db(fields=["review_round"])
        approval = approval_status(item)
        body = {
            "tracking_number": item.tracking_number,
            "reviewer": request.user.get_username(),
            "position": decision.position,
            "rationale": decision.rationale,
            "review_round": decision.review_round,
            "approval": {
                "required": approval.required,
                "accepting": list(approval.accepting),
                "recused": list(approval.recused),
                "met": approval.met,
            },
        }
        return dict(DecisionSerializer(body).data)


def _original_or_400(request: Request, tracking_number: str):
    """The item named by `duplicate_of`, among those the caller may see."""
    original = None
    if TRACKING_NUMBER.fullmatch(tracking_number):
        original = api_selectors.feedback_api_get(
            viewer=request.user, tracking_number=tracking_number
        )
    if original is None:
        raise TargetNotFound("There is no item with this tracking number.", field="duplicate_of")
    return original


urls = [
    path(
        "feedback/<str:tracking_number>/transitions/<str:action>/",
        FeedbackTransitionView.as_view(),
        name="feedback-transition",
    ),
    path(
        "feedback/<str:tracking_number>/decisions/",
        FeedbackDecisionView.as_view(),
        name="feedback-decisions",
    ),
]
