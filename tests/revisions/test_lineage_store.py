"""Stored lineage on the bundled versions, editors' corrections, and clause identity carried
along the lineage at publish."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from modelspec_site.accounts.roles import EDITOR, REVIEWER
from modelspec_site.audit.models import Event
from revisions.api.history import Change
from revisions.api.selectors import clause_history
from revisions.lineage_store import (
    lineage_apply_identity,
    lineage_links,
    lineage_override_clear,
    lineage_override_set,
    lineage_refresh,
    snapshots,
)
from revisions.models import Clause, ClauseText, LineageLink, LineageOverride, Version
from revisions.services import VersionStateError, version_import, version_publish

pytestmark = pytest.mark.django_db


def version(label):
    return Version.objects.get(spec__slug="model-spec", label=label)


def stored(label):
    return {
        (
            link.old_text.anchor if link.old_text_id else None,
            link.new_text.anchor if link.new_text_id else None,
        ): link
        for link in lineage_links(version(label))
    }


def test_snapshots_take_one_query_and_carry_footnotes_and_example_titles(
    django_assert_num_queries,
):
    old = version("2025-04-11")
    with django_assert_num_queries(1):
        texts = snapshots(old)
    assert len(texts) == 71
    be_kind = next(t for t in texts if t.anchor == "be_kind")
    assert be_kind.parent_anchor == "approachable"
    assert be_kind.authority == "user" and be_kind.authority_rank == 3
    assert "j45l" in be_kind.markers
    assert "example:encouraging kindness" in be_kind.markers
    assert [t.position for t in texts] == sorted(t.position for t in texts)


def test_2025_04_11_to_2025_09_12_tells_renames_splits_and_merges_from_additions():
    """The named cases: `platform` renamed `root`, five ids dropped, the `approachable` chapter
    dissolved into `style`, sections split (kinds found by reading the two texts; footnote ids
    and example titles show where sentences and examples went)."""
    links = lineage_refresh(version("2025-09-12"))
    assert len(links) == LineageLink.objects.filter(version=version("2025-09-12")).count()
    by = stored("2025-09-12")
    kind = {pair: link.kind for pair, link in by.items()}

    # Five ids were dropped; none of them is a real removal.
    dropped = [
        "approachable",
        "be_empathetic",
        "be_kind",
        "be_engaging",
        "protect_privileged_messages",
    ]
    assert not [pair for pair, k in kind.items() if k == "removed"]
    for anchor in dropped:
        assert any(old == anchor for old, _new in kind), anchor

    assert kind["protect_privileged_messages", "protect_privileged_information"] == "renamed"
    assert kind["be_kind", "love_humanity"] == "renamed"
    assert by["be_kind", "love_humanity"].moved  # under `style` now
    # The chapter `approachable` dissolved: its intro merged into `style`'s, its sections moved.
    assert kind["approachable", "style"] == "merged"
    assert kind["style", "style"] == "merged"
    for anchor in [
        "be_rationally_optimistic",
        "do_not_make_unprompted_personal_comments",
        "avoid_being_condescending",
    ]:
        assert kind[anchor, anchor] == "moved" and by[anchor, anchor].moved
    # Split sections.
    assert kind["be_engaging", "have_conversational_sense"] == "split"
    assert kind["be_engaging", "love_humanity"] == "split"
    assert kind["be_engaging", "be_curious"] == "split"
    assert kind["be_empathetic", "be_responsible"] == "split"
    assert kind["be_empathetic", "be_warm"] == "split"
    # Real additions.
    added = {new for (old, new), k in kind.items() if k == "added"}
    assert added == {
        "red_line_principles",
        "no_other_objectives",
        "scope_of_autonomy",
        "control_side_effects",
        "be_interesting_and_interested",
    }
    # `structure` now comes first in the overview; inserting `red_line_principles` moved no one.
    assert kind["structure", "structure"] == "moved"
    assert kind["general_principles", "general_principles"] == "edited"
    assert not by["assume_best_intentions", "assume_best_intentions"].moved

    # platform -> root at the same rank is no change; platform -> system is.
    self_harm = by["do_not_encourage_self_harm", "do_not_encourage_self_harm"]
    assert self_harm.kind == "unchanged"
    assert not self_harm.text_changed and not self_harm.authority_changed
    assert self_harm.old_text.authority == "platform" and self_harm.new_text.authority == "root"
    voice = by["use_preset_voice_in_voice_mode", "use_preset_voice_in_voice_mode"]
    assert voice.kind == "edited" and voice.authority_changed and not voice.text_changed
    assert by["no_erotica_or_gore", "no_erotica_or_gore"].authority_changed
    assert kind["be_clear", "be_clear"] == "unchanged"


def test_2025_02_12_to_2025_04_11_is_a_few_edits():
    lineage_refresh(version("2025-04-11"))
    kind = {pair: link.kind for pair, link in stored("2025-04-11").items()}
    assert len(kind) == 71
    edited = {new for (old, new), k in kind.items() if k == "edited"}
    assert edited == {
        "risk_taxonomy",
        "definitions",
        "do_not_facilitate_illicit_behavior",
        "do_not_lie",
        "avoid_overstepping",
    }
    assert set(kind.values()) == {"edited", "unchanged"}


def test_refresh_replaces_the_stored_links_and_a_version_without_parent_has_none():
    first = lineage_refresh(version("2025-04-11"))
    second = lineage_refresh(version("2025-04-11"))
    assert LineageLink.objects.filter(version=version("2025-04-11")).count() == len(second)
    assert {link.pk for link in first}.isdisjoint({link.pk for link in second})
    assert lineage_refresh(version("2025-02-12")) == []
    assert not LineageLink.objects.filter(version=version("2025-02-12")).exists()


# Drafts and corrections ---------------------------------------------------------------------


def make_draft(bundled_source, replacements=(), label="2025-12-01"):
    data = bundled_source("2025-09-12").decode()
    for old, new in replacements:
        assert old in data
        data = data.replace(old, new)
    draft = version_import(spec=version("2025-09-12").spec, label=label, data=data.encode()).version
    assert draft.state == Version.State.DRAFT and draft.parent == version("2025-09-12")
    return draft


def test_an_editor_corrects_a_draft_and_the_correction_survives_a_reimport(
    make_user, bundled_source
):
    editor = make_user("ed", roles=[EDITOR])
    draft = make_draft(bundled_source, [("{#be_warm ", "{#be_warmhearted ")])
    lineage_refresh(draft)
    auto = stored(draft.label)
    assert auto["be_warm", "be_warmhearted"].kind == "renamed"

    # The editor says it is really new: be_warm removed, be_warmhearted added.
    before = Event.objects.count()
    override = lineage_override_set(
        version=draft, old_anchor="", new_anchor="be_warmhearted", acting_user=editor
    )
    links = stored(draft.label)
    assert links[None, "be_warmhearted"].kind == "added" and links[None, "be_warmhearted"].by_editor
    assert links["be_warm", None].kind == "removed"
    event = Event.objects.order_by("-seq").first()
    assert Event.objects.count() == before + 1
    assert event.action == "version.lineage_corrected" and event.visibility == "internal"
    assert event.data["set"] == {"old_anchor": "", "new_anchor": "be_warmhearted"}

    # Then changes their mind: be_curious is its predecessor (replacing "added").
    lineage_override_set(
        version=draft, old_anchor="be_curious", new_anchor="be_warmhearted", acting_user=editor
    )
    assert not LineageOverride.objects.filter(pk=override.pk).exists()
    links = stored(draft.label)
    assert links["be_curious", "be_warmhearted"].by_editor
    assert links["be_curious", "be_warmhearted"].kind == "renamed"

    # New bytes for the draft: its texts (and links) go, the override stays and applies again.
    reimported = make_draft(
        bundled_source, [("{#be_warm ", "{#be_warmhearted "), ("Be warm", "Be very warm")]
    )
    assert reimported.pk == draft.pk
    assert not LineageLink.objects.filter(version=draft, new_text__isnull=False).exists()
    assert LineageOverride.objects.filter(version=draft).count() == 1
    lineage_refresh(draft)
    assert stored(draft.label)["be_curious", "be_warmhearted"].by_editor

    # Clearing it restores the computed lineage.
    lineage_override_clear(override=LineageOverride.objects.get(version=draft), acting_user=editor)
    assert stored(draft.label)["be_warm", "be_warmhearted"].kind == "renamed"
    assert Event.objects.order_by("-seq").first().data["cleared"]["new_anchor"] == "be_warmhearted"


def test_several_predecessors_without_replace_make_a_merge(make_user, bundled_source):
    editor = make_user("ed", roles=[EDITOR])
    draft = make_draft(bundled_source)
    lineage_override_set(
        version=draft, old_anchor="be_warm", new_anchor="be_warm", acting_user=editor
    )
    lineage_override_set(
        version=draft, old_anchor="be_curious", new_anchor="be_warm", acting_user=editor
    )
    links = stored(draft.label)
    assert links["be_warm", "be_warm"].kind == "merged"
    assert links["be_curious", "be_warm"].kind == "merged"
    assert links[None, "be_curious"].kind == "added"


def test_corrections_are_refused_to_non_editors_published_versions_and_unknown_ids(
    make_user, bundled_source
):
    editor = make_user("ed", roles=[EDITOR])
    reviewer = make_user("rev", roles=[REVIEWER])
    draft = make_draft(bundled_source)
    before = Event.objects.count()
    with pytest.raises(PermissionDenied):
        lineage_override_set(
            version=draft, old_anchor="", new_anchor="be_warm", acting_user=reviewer
        )
    with pytest.raises(VersionStateError):
        lineage_override_set(
            version=version("2025-09-12"), old_anchor="", new_anchor="be_warm", acting_user=editor
        )
    with pytest.raises(ValidationError) as error:
        lineage_override_set(
            version=draft, old_anchor="no_such_id", new_anchor="nor_this", acting_user=editor
        )
    assert set(error.value.message_dict) == {"old_anchor", "new_anchor"}
    with pytest.raises(ValidationError):
        lineage_override_set(version=draft, old_anchor="", new_anchor="", acting_user=editor)
    assert Event.objects.count() == before
    assert not LineageOverride.objects.exists()


# Identity at publish ------------------------------------------------------------------------


def test_identity_follows_the_bundled_lineage():
    """Whatever publishing already did, applying the lineage gives 2025-09-12's texts their
    predecessors' clauses (idempotently)."""
    lineage_refresh(version("2025-09-12"))
    lineage_apply_identity(version("2025-09-12"))
    assert lineage_apply_identity(version("2025-09-12")) == 0

    def clause(label, anchor):
        return ClauseText.objects.get(version__label=label, anchor=anchor).clause_id

    assert clause("2025-09-12", "love_humanity") == clause("2025-04-11", "be_kind")
    assert clause("2025-09-12", "protect_privileged_information") == clause(
        "2025-04-11", "protect_privileged_messages"
    )
    assert clause("2025-09-12", "have_conversational_sense") == clause("2025-04-11", "be_engaging")
    assert clause("2025-09-12", "be_responsible") == clause("2025-04-11", "be_empathetic")
    assert clause("2025-09-12", "style") == clause("2025-04-11", "style")
    assert clause("2025-09-12", "be_clear") == clause("2025-02-12", "be_clear")
    assert not ClauseText.objects.filter(
        version__label="2025-04-11", clause=clause("2025-09-12", "red_line_principles")
    ).exists()
    history = clause_history(viewer=AnonymousUser(), spec_slug="model-spec", anchor="love_humanity")
    assert [(e.label, e.anchor, e.change) for e in history] == [
        ("2025-02-12", "be_kind", Change.ADDED),
        ("2025-04-11", "be_kind", Change.UNCHANGED),
        ("2025-09-12", "love_humanity", Change.RENAMED),
    ]


def test_publishing_a_draft_with_a_renamed_and_swapped_ids_carries_identity(
    make_user, bundled_source
):
    # be_warm is renamed; be_clear and be_professional swap their ids.
    draft = make_draft(
        bundled_source,
        [
            ("{#be_warm ", "{#be_warmhearted "),
            ("{#be_clear ", "{#tmp_swap "),
            ("{#be_professional ", "{#be_clear "),
            ("{#tmp_swap ", "{#be_professional "),
        ],
    )
    parent_clause = {
        t.anchor: t.clause_id for t in ClauseText.objects.filter(version=version("2025-09-12"))
    }
    draft_clause_of_new_id = ClauseText.objects.get(
        version=draft, anchor="be_warmhearted"
    ).clause_id
    version_publish(version=draft, acting_user=make_user("ed", roles=[EDITOR]))
    lineage_refresh(draft)
    lineage_apply_identity(draft)  # idempotent if publishing did it already
    now = {t.anchor: t.clause_id for t in ClauseText.objects.filter(version=draft)}
    kind = {pair: link.kind for pair, link in stored(draft.label).items()}
    assert kind["be_warm", "be_warmhearted"] == "renamed"
    assert kind["be_clear", "be_professional"] == "renamed"
    assert now["be_warmhearted"] == parent_clause["be_warm"]
    assert now["be_professional"] == parent_clause["be_clear"]
    assert now["be_clear"] == parent_clause["be_professional"]
    assert now["style"] == parent_clause["style"]
    # The clause the import made for the new id had nothing left and nothing pointing at it.
    assert not Clause.objects.filter(pk=draft_clause_of_new_id).exists()
    history = clause_history(
        viewer=AnonymousUser(), spec_slug="model-spec", anchor="be_warmhearted"
    )
    assert [(e.label, e.anchor, e.change) for e in history][-2:] == [
        ("2025-09-12", "be_warm", Change.ADDED),
        (draft.label, "be_warmhearted", Change.RENAMED),
    ]


def test_a_reused_id_gets_a_clause_of_its_own(make_user, bundled_source):
    """An editor says the draft's `be_warm` is new (the old one removed): it must not continue
    the old clause's history, although the import gave it the clause keyed `be_warm`."""
    editor = make_user("ed", roles=[EDITOR])
    draft = make_draft(bundled_source)
    lineage_override_set(version=draft, old_anchor="be_warm", new_anchor="", acting_user=editor)
    lineage_override_set(version=draft, old_anchor="", new_anchor="be_warm", acting_user=editor)
    old_clause = ClauseText.objects.get(version=version("2025-09-12"), anchor="be_warm").clause
    assert ClauseText.objects.get(version=draft, anchor="be_warm").clause == old_clause
    lineage_refresh(draft)
    assert lineage_apply_identity(draft) >= 1
    fresh = ClauseText.objects.get(version=draft, anchor="be_warm").clause
    assert fresh != old_clause and fresh.key == f"be_warm@{draft.label}"
