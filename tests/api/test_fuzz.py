"""Schema-driven fuzzing of the whole API (issue 6, "API hardening").

Schemathesis reads the OpenAPI schema the site serves and, for every operation in it, generates
requests (valid ones, and invalid ones that the schema says must be refused), sends them
in-process through the WSGI application against the real PostgreSQL test database (the bundled
versions loaded), and checks every answer:

- never a server error (5xx);
- its status code is one the operation documents;
- its content type and its body match what the schema declares for that status.

Three times: the public schema (`/api/schema/`) as an anonymous client; the staff schema
(`/api/schema/staff/`, every operation) as a staff member holding every role, authenticated by
an API token; and the staff schema again without credentials, where every operation the public
schema does not document must answer 401, 403 or 404. The schemas are generated in-process at collection (drf-spectacular, the same
generator and settings as those two views; a test checks they equal what the views serve),
because schemathesis' fixture-based loader does not work with pytest 9. Whatever operations other parts of the site add appear in the schema, so they are
fuzzed without changes here. The number of examples per operation is bounded (`FUZZ_EXAMPLES`,
default 12) so the run stays within a few minutes on two cores; raise it for a deeper run:
`FUZZ_EXAMPLES=200 make test ARGS="-m fuzz"`."""

from __future__ import annotations

import json
import os

import hypothesis
import pytest
import schemathesis
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import patched_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ALL_ROLES = ("triager", "reviewer", "editor", "moderator", "auditor")
STAFF_TOKEN = "fuzz0staff0token00000000000000000000000"  # 40 characters: a Token key
PUBLIC_ONLY = {"PREPROCESSING_HOOKS": ["modelspec_site.api.public_operations_only"]}


def _generated(custom_settings: dict | None) -> dict:
    """The schema `SpectacularAPIView(custom_settings=...)` serves, built without a request."""
    with patched_settings(custom_settings):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def _loaded(raw: dict, headers: dict[str, str] | None = None):
    data: dict = {"seed": 20250912, "generation": {"max-examples": EXAMPLES, "database": "none"}}
    if headers:
        data["headers"] = headers
    schema = schemathesis.openapi.from_dict(raw, config=schemathesis.Config.from_dict(data))
    schema.app = get_wsgi_application()
    return schema


PUBLIC_RAW = _generated(PUBLIC_ONLY)
STAFF_RAW = _generated(None)
public = _loaded(PUBLIC_RAW)
staff = _loaded(STAFF_RAW, {"Authorization": f"Token {STAFF_TOKEN}"})
staff_without_credentials = _loaded(STAFF_RAW)
PUBLIC_OPERATIONS = {
    (method.upper(), path) for path, ops in PUBLIC_RAW["paths"].items() for method in ops
}
relaxed = hypothesis.settings(
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ]
)


@pytest.fixture
def in_process(settings):
    """Requests go straight to the WSGI handler (not through Django's test client), which
    closes the database connection when a request finishes: that would end the test's
    transaction. Do what the test client does: keep the connection for the test's duration.
    Writes are rate limited (429, documented); the fuzz run needs its examples to reach the
    code behind the limit."""
    settings.FEEDBACK_RATE_LIMITS = {"anonymous": "", "user": "", "staff": ""}
    caches["default"].clear()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def staff_token(db, make_user):
    user = make_user("fuzzer", roles=ALL_ROLES, is_staff=True)
    return Token.objects.create(user=user, key=STAFF_TOKEN)


@public.parametrize()
@relaxed
def test_public_operations_as_anonymous(case, in_process):
    case.call_and_validate(checks=CHECKS)


@staff.parametrize()
@relaxed
def test_every_operation_as_staff(case, in_process, staff_token):
    case.call_and_validate(checks=CHECKS)


def staff_only_operations_refuse(ctx, response, case) -> None:
    """An operation the public schema does not document answers an anonymous caller with
    401, 403 or 404, whatever the request (no data, no 2xx, no 5xx)."""
    operation = (case.operation.method.upper(), case.operation.path)
    if operation not in PUBLIC_OPERATIONS:
        assert response.status_code in (401, 403, 404), (
            f"{operation[0]} {operation[1]} answered {response.status_code} without credentials"
        )


@staff_without_credentials.parametrize()
@relaxed
def test_every_staff_operation_without_credentials(case, in_process):
    case.call_and_validate(checks=[not_a_server_error, staff_only_operations_refuse])


def test_the_fuzzed_schemas_are_the_served_ones(client, staff_client):
    """What is fuzzed is what /api/schema/ and /api/schema/staff/ serve, and the staff schema
    documents more than the public one."""
    assert client.get("/api/schema/?format=json").json() == PUBLIC_RAW
    staff_view = staff_client("auditor").get("/api/schema/staff/?format=json")
    assert staff_view.json() == STAFF_RAW
    public_ops = {(m, p) for p, ops in PUBLIC_RAW["paths"].items() for m in ops}
    staff_ops = {(m, p) for p, ops in STAFF_RAW["paths"].items() for m in ops}
    assert ("post", "/api/v1/feedback/") in public_ops
    assert ("get", "/api/v1/specs/{spec}/versions/{label}/") in public_ops
    assert public_ops < staff_ops
    assert ("get", "/api/v1/audit/events/") in staff_ops
