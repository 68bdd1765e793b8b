"""Reading pages: what they show, who sees drafts, and a query count that does not grow with
the size of the version."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from revisions import hooks
from revisions.models import ClauseText, Version
from revisions.services import spec_ensure, version_import

pytestmark = pytest.mark.django_db

LATEST = "/specs/model-spec/versions/2025-09-12/"


def test_home_is_the_latest_published_version_with_every_clause(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "2025-09-12" in html
    anchors = set(
        ClauseText.objects.filter(version__label="2025-09-12").values_list("anchor", flat=True)
    )
    assert len(anchors) == 77
    for anchor in anchors:
        assert f'id="{anchor}"' in html
        assert f'href="#{anchor}"' in html  # table of contents
        assert f"{LATEST}clauses/{anchor}/" in html  # permanent link
    assert html.count('class="badge badge-authority badge-authority-root"') >= 20
    assert html.count('<figure class="example"') == 173
    assert html.count('class="label label-good"') == 186
    assert html.count('class="label label-bad"') == 186
    assert '<aside class="commentary"' in html
    assert "<script>" not in html.split("<main", 1)[1].split("</main>", 1)[0]


def test_reader_query_count_is_constant_whatever_the_size(client):
    spec = spec_ensure(slug="small-spec")
    version_import(
        spec=spec,
        label="v1",
        data=b"# Only {#only}\n\nOne short clause.\n",
        publish=True,
    )

    def queries(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    # Apps built on revisions may add per-viewer content through revisions.hooks: one query
    # per registered hook for the whole page (feedback: its counts per clause).
    extra = len(hooks.registered())
    small_cold = queries("/specs/small-spec/versions/v1/")
    large_cold = queries(LATEST)
    assert small_cold == large_cold <= 3 + extra
    # Signed-out visitors then get the ready page: no query at all.
    assert queries(LATEST) == 0


def test_signed_in_readers_get_the_body_from_memory(client, make_user):
    client.force_login(make_user("reader"))
    client.get(LATEST)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LATEST).status_code == 200
    # session, user, their roles, the version, and one per hook that adds to the reader (hooks
    # for other pages — changes, history, proposals — cost the reader nothing)
    readers = [
        h for h in hooks.registered() if type(h).reader_extras is not hooks.ReaderHook.reader_extras
    ]
    assert len(ctx.captured_queries) == 4 + len(readers)


def test_cached_pages_carry_each_visitor_s_own_token_and_nonce(client):
    from django.test import Client

    first = client.get(LATEST)
    second = Client().get(LATEST)
    tokens = [re.search(rb'"X-CSRFToken": "([^"]+)"', r.content).group(1) for r in (first, second)]
    nonces = [re.search(rb'nonce="([^"]+)"', r.content).group(1) for r in (first, second)]
    assert tokens[0] != tokens[1] and nonces[0] != nonces[1]
    for response, nonce in zip((first, second), nonces, strict=True):
        assert f"'nonce-{nonce.decode()}'" in response["Content-Security-Policy"]
        assert "csrftoken" in response.cookies
    assert first.content.replace(tokens[0], b"T").replace(nonces[0], b"N") == (
        second.content.replace(tokens[1], b"T").replace(nonces[1], b"N")
    )


def test_new_public_feedback_shows_in_the_cached_reader_at_once(
    client, django_capture_on_commit_callbacks
):
    from feedback.services import Submission, feedback_submit

    before = client.get(LATEST).content.decode()
    assert (
        'href="/specs/model-spec/versions/2025-09-12/clauses/letter_and_spirit/#feedback"'
        not in before
    )
    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    with django_capture_on_commit_callbacks(execute=True):
        feedback_submit(
            acting_user=None,
            submission=Submission(
                version=version, clause_id="letter_and_spirit", kind="unclear", summary="Why?"
            ),
        )
    after = client.get(LATEST).content.decode()
    assert (
        'href="/specs/model-spec/versions/2025-09-12/clauses/letter_and_spirit/#feedback"' in after
    )


def test_clause_page_shows_text_examples_and_the_versions_it_appears_in(
    client, django_assert_max_num_queries
):
    url = f"{LATEST}clauses/follow_all_applicable_instructions/"
    with django_assert_max_num_queries(6):  # + the clause key for the follow button
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Follow all applicable instructions" in html
    assert "The Tale of the Four Clever Bunnies" in html
    for label in ("2025-02-12", "2025-04-11", "2025-09-12"):
        assert (
            f"/specs/model-spec/versions/{label}/clauses/follow_all_applicable_instructions/"
            in html
        )
    assert 'aria-current="page"' in html
    # Cross references point back into the version's reader.
    assert f'href="{LATEST}#ignore_untrusted_data"' in html


def test_versions_list(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get("/specs/model-spec/")
    html = response.content.decode()
    for label in ("2025-02-12", "2025-04-11", "2025-09-12"):
        assert f'href="/specs/model-spec/versions/{label}/"' in html
    assert html.count("state-superseded") == 2 and html.count("state-published") == 1


def test_version_independent_clause_link_goes_to_the_current_text(client):
    response = client.get("/specs/model-spec/clauses/letter_and_spirit/")
    assert response.status_code == 302
    assert response["Location"] == f"{LATEST}clauses/letter_and_spirit/"


def test_missing_things_are_404_pages(client):
    assert client.get("/specs/nope/").status_code == 404
    assert client.get("/specs/model-spec/versions/1999-01-01/").status_code == 404
    response = client.get(f"{LATEST}clauses/not_a_clause/")
    assert response.status_code == 404
    assert b"There is nothing at this address" in response.content


def test_source_is_served_as_imported(client, bundled_source):
    response = client.get(f"{LATEST}source.md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content == bundled_source("2025-09-12")


def test_drafts_are_hidden_from_the_public_and_shown_to_editors(client, staff_client):
    spec = spec_ensure(slug="model-spec")
    version_import(spec=spec, label="2099-01-01", data=b"# Draft {#draft_only}\n\nSecret plan.\n")
    assert Version.objects.get(label="2099-01-01").state == "draft"
    url = "/specs/model-spec/versions/2099-01-01/"
    assert client.get(url).status_code == 404
    assert client.get(f"{url}clauses/draft_only/").status_code == 404
    assert b"2099-01-01" not in client.get("/specs/model-spec/").content
    assert b"Secret plan" not in client.get("/").content
    editor = staff_client("editor")
    response = editor.get(url)
    assert response.status_code == 200
    assert b"Secret plan" in response.content
    assert response["Cache-Control"] == "private, no-store"


def test_spec_markup_is_sanitised_on_the_page(client):
    spec = spec_ensure(slug="hostile")
    source = (
        b"# Title {#t}\n\n<script>alert(1)</script>\n\n"
        b"[click](javascript:alert(2)) <img src=x onerror=alert(3)>\n\n"
        b"**Example**: <b onmouseover=alert(4)>t</b>\n\n~~~xml\n<user>\n<script>alert(5)</script>\n"
        b"[x](javascript:alert(6))\n</user>\n~~~\n"
    )
    version_import(spec=spec, label="v1", data=source, publish=True)
    html = client.get("/specs/hostile/versions/v1/").content.decode()
    main = html.split('<main id="main"', 1)[1]
    assert "<script>" not in main
    assert not re.search(r"href=[\"']?javascript:", main)
    assert not re.search(r"<[^>]+\son\w+=", main)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in main  # shown as text, not run


def test_pages_are_translated_into_french(client):
    response = client.get(
        f"{LATEST}clauses/follow_all_applicable_instructions/", HTTP_ACCEPT_LANGUAGE="fr"
    )
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Exemple" in html
    assert "Lien permanent" in html


def test_signed_out_readers_get_a_gzipped_page_when_they_accept_it(client):
    import gzip

    plain = client.get(LATEST)
    zipped = client.get(LATEST, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert len(zipped.content) < len(plain.content) / 3
    html = gzip.decompress(zipped.content)
    token = re.search(rb'"X-CSRFToken": "([^"]+)"', html).group(1)
    nonce = re.search(rb'nonce="([^"]+)"', html).group(1)
    plain_token = re.search(rb'"X-CSRFToken": "([^"]+)"', plain.content).group(1)
    plain_nonce = re.search(rb'nonce="([^"]+)"', plain.content).group(1)
    assert html.replace(token, b"T").replace(nonce, b"N") == plain.content.replace(
        plain_token, b"T"
    ).replace(plain_nonce, b"N")
