"""The lineage page under /staff/: who may see it, what it shows, and correcting a draft."""

import pytest
from django.urls import reverse

from modelspec_site.accounts.roles import EDITOR, REVIEWER
from revisions.lineage_store import lineage_refresh
from revisions.models import LineageOverride, Version
from revisions.services import version_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(bundled_source):
    published = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    data = bundled_source("2025-09-12").replace(b"{#be_warm ", b"{#be_warmhearted ")
    return version_import(spec=published.spec, label="2025-12-01", data=data).version


def page(version):
    return reverse("revisions_editor:lineage", kwargs={"pk": version.pk})


def override_url(version):
    return reverse("revisions_editor:lineage-override", kwargs={"pk": version.pk})


def test_the_public_is_sent_to_sign_in_and_non_staff_get_a_404(client, make_user, draft):
    response = client.get(page(draft))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(override_url(draft), {"new_anchor": "be_warm"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(make_user("reader"))
    assert client.get(page(draft)).status_code == 404
    assert client.post(override_url(draft), {"new_anchor": "be_warm"}).status_code == 404
    assert not LineageOverride.objects.exists()


def test_staff_read_the_draft_lineage_grouped_by_kind(staff_client, draft):
    client = staff_client(REVIEWER)
    response = client.get(page(draft))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="kind-renamed-title">Renamed' in html
    renamed = html.split('id="kind-renamed"')[1].split("</section>")[0]
    assert "<code>be_warm</code>" in renamed and "<code>be_warmhearted</code>" in renamed
    assert "Editors correct it" in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>")[0]  # read-only


def test_an_editor_sets_a_predecessor_and_withdraws_it(staff_client, draft):
    client = staff_client(EDITOR)
    html = client.get(page(draft) + "?new=be_warmhearted").content.decode()
    assert '<option value="be_warmhearted" selected>' in html
    response = client.post(
        override_url(draft),
        {"form": "predecessor", "new_anchor": "be_warmhearted", "old_anchor": ""},
    )
    assert response.status_code == 303 and response["Location"] == page(draft)
    override = LineageOverride.objects.get(version=draft)
    assert (override.old_anchor, override.new_anchor) == ("", "be_warmhearted")
    html = client.get(page(draft)).content.decode()
    added = html.split('id="kind-added"')[1].split("</section>")[0]
    assert "<code>be_warmhearted</code>" in added and "set by an editor" in added
    assert "be_warmhearted is new" in html

    response = client.post(
        reverse(
            "revisions_editor:lineage-override-clear",
            kwargs={"pk": draft.pk, "override_id": override.pk},
        )
    )
    assert response.status_code == 303
    assert not LineageOverride.objects.filter(version=draft).exists()


def test_an_editor_marks_a_clause_removed(staff_client, draft):
    client = staff_client(EDITOR)
    response = client.post(override_url(draft), {"form": "removal", "old_anchor": "be_curious"})
    assert response.status_code == 303
    assert LineageOverride.objects.filter(
        version=draft, old_anchor="be_curious", new_anchor=""
    ).exists()


def test_bad_input_is_a_400_with_the_field_named(staff_client, draft):
    client = staff_client(EDITOR)
    response = client.post(
        override_url(draft),
        {"form": "predecessor", "new_anchor": "no_such_clause", "old_anchor": "be_warm"},
    )
    assert response.status_code == 400
    assert "no_such_clause is not one of the available choices" in response.content.decode()
    assert not LineageOverride.objects.exists()


def test_non_editors_may_not_correct(staff_client, draft):
    client = staff_client(REVIEWER)
    response = client.post(
        override_url(draft),
        {"form": "predecessor", "new_anchor": "be_warmhearted", "old_anchor": ""},
    )
    assert response.status_code == 403
    assert not LineageOverride.objects.exists()


def test_a_published_version_shows_its_stored_lineage_and_refuses_corrections(staff_client):
    published = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    lineage_refresh(published)
    client = staff_client(EDITOR)
    html = client.get(page(published)).content.decode()
    assert "As stored when the version was published." in html
    split = html.split('id="kind-split"')[1].split("</section>")[0]
    assert "<code>be_engaging</code>" in split and "<code>have_conversational_sense</code>" in split
    response = client.post(
        override_url(published),
        {"form": "predecessor", "new_anchor": "be_warm", "old_anchor": ""},
    )
    assert response.status_code == 409
    assert not LineageOverride.objects.exists()


def test_unknown_version_or_correction_is_a_404(staff_client, draft):
    client = staff_client(EDITOR)
    assert client.get(reverse("revisions_editor:lineage", kwargs={"pk": 999999})).status_code == 404
    clear = reverse(
        "revisions_editor:lineage-override-clear", kwargs={"pk": draft.pk, "override_id": 999999}
    )
    assert client.post(clear).status_code == 404
