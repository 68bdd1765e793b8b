"""The admin for staff: roles decide who may change what, and every change is a ledger event."""

import pytest

from modelspec_site.audit.models import Event
from revisions.models import AuthorityLevel, ClauseText, Spec, Version
from revisions.services import spec_ensure, version_import

pytestmark = pytest.mark.django_db


def spec_form(spec: Spec, *, extra_level: dict | None = None, changes: dict | None = None) -> dict:
    levels = list(spec.authority_levels.order_by("rank", "name"))
    data = {
        "title": spec.title,
        "description": spec.description,
        "authority_levels-TOTAL_FORMS": str(len(levels) + 1),
        "authority_levels-INITIAL_FORMS": str(len(levels)),
        "authority_levels-MIN_NUM_FORMS": "0",
        "authority_levels-MAX_NUM_FORMS": "1000",
    }
    for i, level in enumerate(levels):
        row = {"id": level.pk, "spec": spec.pk, "name": level.name, "rank": level.rank}
        row["description"] = level.description
        row |= (changes or {}).get(level.name, {})
        data |= {f"authority_levels-{i}-{k}": v for k, v in row.items()}
    new = {"spec": spec.pk, "name": "", "rank": "", "description": ""} | (extra_level or {})
    data |= {f"authority_levels-{len(levels)}-{k}": v for k, v in new.items()}
    return data


def test_an_editor_adds_and_changes_authority_words(staff_client):
    spec = Spec.objects.get(slug="model-spec")
    editor = staff_client("editor")
    url = f"/admin/revisions/spec/{spec.pk}/change/"
    assert editor.get(url).status_code == 200
    response = editor.post(
        url,
        spec_form(
            spec,
            extra_level={"name": "emperor", "rank": 0, "description": "new"},
            changes={"guideline": {"rank": 9}},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuthorityLevel.objects.get(spec=spec, name="emperor").rank == 0
    assert AuthorityLevel.objects.get(spec=spec, name="guideline").rank == 9
    # Existing texts follow the vocabulary's new reading of the word.
    assert set(
        ClauseText.objects.filter(version__spec=spec, authority="guideline").values_list(
            "authority_rank", flat=True
        )
    ) == {9}
    actions = list(
        Event.objects.filter(actor__username="staffer").values_list("action", "data__name")
    )
    assert ("spec.authority_level_set", "emperor") in actions
    assert ("spec.authority_level_set", "guideline") in actions


def test_a_word_in_use_cannot_be_deleted(staff_client):
    spec = Spec.objects.get(slug="model-spec")
    editor = staff_client("editor")
    data = spec_form(spec)
    index = next(k for k, v in data.items() if v == "root" and k.endswith("-name")).split("-")[1]
    data[f"authority_levels-{index}-DELETE"] = "on"
    editor.post(f"/admin/revisions/spec/{spec.pk}/change/", data, follow=True)
    assert AuthorityLevel.objects.filter(spec=spec, name="root").exists()


def test_a_triager_may_look_but_not_change(staff_client):
    spec = Spec.objects.get(slug="model-spec")
    triager = staff_client("triager")
    url = f"/admin/revisions/spec/{spec.pk}/change/"
    assert triager.get(url).status_code == 200
    response = triager.post(url, spec_form(spec, extra_level={"name": "x", "rank": 1}))
    assert response.status_code == 403
    assert not AuthorityLevel.objects.filter(spec=spec, name="x").exists()


def test_version_details_are_editable_but_the_text_is_not(staff_client):
    version = Version.objects.get(spec__slug="model-spec", label="2025-09-12")
    editor = staff_client("editor")
    url = f"/admin/revisions/version/{version.pk}/change/"
    page = editor.get(url).content.decode()
    assert 'name="changelog"' in page and 'name="label"' not in page
    bad = editor.post(
        url,
        {
            "changelog": "x",
            "comment_opens_at_0": "2026-02-01",
            "comment_opens_at_1": "00:00:00",
            "comment_closes_at_0": "2026-01-01",
            "comment_closes_at_1": "00:00:00",
        },
    )
    assert bad.status_code == 200
    assert "must close after it opens" in bad.content.decode()
    good = editor.post(url, {"changelog": "Red-line principles added."})
    assert good.status_code == 302
    version.refresh_from_db()
    assert version.changelog == "Red-line principles added."
    event = Event.objects.filter(action="version.details_updated").latest("seq")
    assert event.data["after"]["changelog"] == "Red-line principles added."


def test_an_editor_publishes_a_draft_from_the_admin(staff_client):
    spec = spec_ensure(slug="admin-pub")
    draft = version_import(spec=spec, label="v1", data=b"# A {#a}\n\nText.\n").version
    editor = staff_client("editor")
    response = editor.post(
        "/admin/revisions/version/",
        {"action": "publish", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.state == "published"
    assert Event.objects.filter(action="version.published", actor__username="staffer").exists()


def test_only_auditors_see_the_ledger_in_the_admin(staff_client, client):
    assert staff_client("editor").get("/admin/audit/event/").status_code == 403
    client.logout()
    auditor = staff_client("auditor", username="aud")
    assert auditor.get("/admin/audit/event/").status_code == 200
