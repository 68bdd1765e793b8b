"""/api/v1/feedback/: file feedback, list and read it, endorse it (DESIGN §5).

Each write is throttled (`feedback.throttling`), reads its body strictly (`parsing`), and calls
one service. Reads go through `selectors`, which start from `feedback_visible_to`: an item the
viewer may not see answers 404 exactly like a missing one."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback import idempotency, throttling
from feedback.errors import FeedbackError
from feedback.selectors import viewer_is_staff
from feedback.services import feedback_endorse, feedback_submit

from . import lean, schema
from . import selectors as api_selectors
from .errors import ApiError, UnknownParameter, exception_handler
from .pagination import paginate
from .parsing import (
    StrictJSONParser,
    content_length_check,
    json_content_type_check,
    json_object_parse,
    shown,
)
from .serializers import (
    FeedbackCreatedSerializer,
    FeedbackEndorsementSerializer,
    FeedbackItemSerializer,
    FeedbackListQuerySerializer,
    FeedbackSubmitSerializer,
    item_api_path,
    item_html_path,
)

TRACKING_NUMBER = re.compile(r"[A-Z]{2,8}-[0-9]{4}-[0-9]{5,9}")
BROWSER_COOKIE = "msf_browser"
BROWSER_KEY = re.compile(r"[A-Za-z0-9_-]{32,100}")  # as the HTML views (feedback.views)
BROWSER_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600


def _throttle(request: Request) -> None:
    try:
        throttling.throttle_write(request)
    except throttling.RateLimited as exc:
        raise exceptions.Throttled(wait=exc.retry_after) from None


def _check_origin(request: Request) -> None:
    """Anonymous writes carry no CSRF token (DRF checks one only for signed-in sessions), so a
    browser POST from another site is refused by its Origin header. Scripts send none."""
    if request.user.is_authenticated:
        return
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return
    allowed = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    if origin not in allowed:
        raise ApiError("Cross-site requests may not write.", code="cross_origin", status=403)


class FeedbackAPIView(APIView):
    parser_classes = [StrictJSONParser]

    def get_exception_handler(self):
        return exception_handler

    def _item_or_404(self, request: Request, tracking_number: str):
        # An invisible item, a missing one and a malformed number all answer the same 404.
        if not TRACKING_NUMBER.fullmatch(tracking_number):
            raise exceptions.NotFound()
        item = api_selectors.feedback_api_get(viewer=request.user, tracking_number=tracking_number)
        if item is None:
            raise exceptions.NotFound()
        return item


class FeedbackCollectionView(FeedbackAPIView):
    @classmethod
    def as_view(cls, **initkwargs: Any):
        # Plain anonymous submissions are answered before DRF wraps the request (feedback.api.lean).
        return lean.with_lean_post(super().as_view(**initkwargs))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":
            # Before authentication reads anything: refuse oversize and non-JSON bodies first.
            content_length_check(request)
            json_content_type_check(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(**schema.FEEDBACK_LIST)
    def get(self, request: Request) -> Response:
        params = self._list_params(request)
        staff = viewer_is_staff(request.user)
        items = api_selectors.feedback_api_list(viewer=request.user, filters=params)
        page = paginate(
            items,
            ordering_name=params["ordering"],
            fields=api_selectors.ORDERINGS[params["ordering"]],
            cursor=params.get("cursor"),
            page_size=params["page_size"],
            request=request,
        )
        context = {"request": request, "staff": staff}
        results = FeedbackItemSerializer(page.results, many=True, context=context).data
        return Response({"next": page.next, "previous": page.previous, "results": results})

    def _list_params(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        serializer = FeedbackListQuerySerializer()
        unknown = [shown(name) for name in query if name not in serializer.fields]
        if unknown:
            raise UnknownParameter(unknown)
        repeated = [shown(name) for name in query if len(query.getlist(name)) > 1]
        if repeated:
            raise ApiError(
                "Give each parameter once.",
                code="invalid",
                status=400,
                errors={name: ["Give this parameter once."] for name in repeated},
            )
        serializer = FeedbackListQuerySerializer(data={name: query[name] for name in query})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(**schema.FEEDBACK_CREATE)
    def post(self, request: Request) -> Response:
        _check_origin(request)
        raw = request.body
        try:
            key = idempotency.key_validate(request.headers.get(idempotency.HEADER))
        except idempotency.InvalidKey as exc:
            raise ApiError(str(exc), code="invalid_idempotency_key", status=400) from None
        fingerprint = idempotency.fingerprint(
            method=request.method,
            path=request.path,
            content_type=request._request.content_type,
            body=raw,
        )
        counted, fast = self._fast(request, raw, key, fingerprint)
        if fast is not None:
            return fast
        if key is None:
            if not counted:
                _throttle(request)
            return self._create(request, raw)
        try:
            with idempotency.idempotent(
                scope=self._scope(request), key=key, request_fingerprint=fingerprint
            ) as claim:
                if claim.replay is not None:
                    return self._replayed(claim.replay)
                if not counted:
                    _throttle(request)
                response = self._create(request, raw)
                claim.store(
                    status=response.status_code, body=response.data, secrets=("follow_token",)
                )
        except idempotency.KeyReused as exc:
            raise ApiError(str(exc), code="idempotency_key_reused", status=422) from None
        return response

    def _scope(self, request: Request) -> str:
        return lean.scope_of(request)

    def _replayed(self, replay: idempotency.Replay) -> Response:
        response = Response(replay.body, status=replay.status)
        response["Idempotent-Replayed"] = "true"
        self._receipt_headers(response)
        return response

    @staticmethod
    def _receipt_headers(response: Response) -> None:
        # The receipt holds the private follow token: no cache may keep it.
        response["Cache-Control"] = "no-store"
        if isinstance(response.data, dict) and response.data.get("url"):
            response["Location"] = response.data["url"]

    def _fast(
        self, request: Request, raw: bytes, key: str | None, fingerprint: str
    ) -> tuple[bool, Response | None]:
        """The one-call path (feedback.fast_submit) for anonymous public submissions.

        Returns (whether this write was already counted by the rate limiter, the response);
        the response is None whenever the full path must answer (it also explains every
        refusal). A write is counted once, whichever path answers it."""
        counted = getattr(request._request, lean.COUNTED, False)  # by the lean path
        if request.user.is_authenticated:
            return counted, None
        if not counted:
            try:
                throttling.throttle_write(request)
            except throttling.RateLimited:
                return False, None  # the full path answers a replay first, then the 429
        try:
            payload = json_object_parse(raw)
        except exceptions.APIException:
            return True, None
        serializer = FeedbackSubmitSerializer(data=payload)
        if not serializer.is_valid():
            return True, None
        try:
            filed = lean.file_validated(
                request, serializer.validated_data, key=key, fingerprint=fingerprint
            )
        except idempotency.KeyReused as exc:
            raise ApiError(str(exc), code="idempotency_key_reused", status=422) from None
        if filed is None:
            return True, None
        if filed.replayed:
            return True, self._replayed(idempotency.Replay(filed.status, filed.body))
        response = Response(filed.body, status=filed.status)
        self._receipt_headers(response)
        return True, response

    def _create(self, request: Request, raw: bytes) -> Response:
        serializer = FeedbackSubmitSerializer(data=json_object_parse(raw))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = api_selectors.submission_version(
            viewer=request.user, spec=data["spec"], label=data["version"]
        )
        result = feedback_submit(
            acting_user=request.user, submission=lean.submission_from(data, version)
        )
        item = result.item
        body = FeedbackCreatedSerializer(
            {
                "tracking_number": item.tracking_number,
                "url": request.build_absolute_uri(item_api_path(item.tracking_number)),
                "html_url": request.build_absolute_uri(item_html_path(item.tracking_number)),
                "follow_token": result.follow_token,
                "state": item.state,
                "created_at": item.created_at,
            }
        ).data
        response = Response(dict(body), status=status.HTTP_201_CREATED)
        self._receipt_headers(response)
        return response


class FeedbackDetailView(FeedbackAPIView):
    @extend_schema(**schema.FEEDBACK_DETAIL)
    def get(self, request: Request, tracking_number: str) -> Response:
        item = self._item_or_404(request, tracking_number)
        context = {"request": request, "staff": viewer_is_staff(request.user)}
        return Response(FeedbackItemSerializer(item, context=context).data)


class FeedbackEndorseView(FeedbackAPIView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        content_length_check(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(**schema.FEEDBACK_ENDORSE)
    def post(self, request: Request, tracking_number: str) -> Response:
        _check_origin(request)
        _throttle(request)
        item = self._item_or_404(request, tracking_number)
        new_key = None
        anonymous_key = ""
        if not request.user.is_authenticated:
            anonymous_key = request.COOKIES.get(BROWSER_COOKIE, "")
            if not BROWSER_KEY.fullmatch(anonymous_key):
                anonymous_key = new_key = secrets.token_urlsafe(32)
        try:
            item = feedback_endorse(
                acting_user=request.user, item=item, anonymous_key=anonymous_key
            )
            response = Response(
                FeedbackEndorsementSerializer(item).data, status=status.HTTP_201_CREATED
            )
        except FeedbackError as exc:
            response = self.handle_exception(exc)
        if new_key is not None:
            # Set even on refusal, so the browser keeps one identity.
            response.set_cookie(
                BROWSER_COOKIE,
                new_key,
                max_age=BROWSER_COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
