"""Atom feed of a spec's versions: each published version (and each later superseded one) as an
entry, newest first. Public only: drafts never appear, whoever reads the feed."""

from __future__ import annotations

import re

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import linebreaks
from django.utils.translation import gettext as _

from . import selectors
from .models import Spec, Version

FEED_LENGTH = 50
# XML 1.0 cannot carry these; Django refuses to write them (a 500), so they are dropped.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str | None) -> str:
    """Text for a feed element: characters XML cannot hold removed. The feed writer escapes
    the rest (`<` becomes `&lt;`), so markup in it is shown as text, never interpreted."""
    return _NOT_XML.sub("", value or "")


def html_summary(value: str | None) -> str:
    """An Atom `<summary type="html">`: readers render it as HTML, so the text is HTML-escaped
    first (then paragraphs), and whatever it says shows as text."""
    return linebreaks(xml_text(value), autoescape=True)


class SpecVersionsFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, spec: str) -> Spec:
        return selectors.spec_get(slug=spec)

    def title(self, spec: Spec) -> str:
        return xml_text(_("%(title)s: new versions") % {"title": spec.title})

    def subtitle(self, spec: Spec) -> str:
        return xml_text(_("Every published version of %(title)s.") % {"title": spec.title})

    def link(self, spec: Spec) -> str:
        return reverse("revisions:spec", kwargs={"spec": spec.slug})

    def feed_url(self, spec: Spec) -> str:
        return reverse("revisions:versions-feed", kwargs={"spec": spec.slug})

    def items(self, spec: Spec):
        return (
            selectors.versions_visible_to(AnonymousUser())
            .filter(spec=spec, state__in=(Version.State.PUBLISHED, Version.State.SUPERSEDED))
            .defer("source_markdown")
            .order_by("-published_at", "-label")[:FEED_LENGTH]
        )

    def item_title(self, version: Version) -> str:
        return xml_text(f"{version.spec.title} {version.label}")

    def item_description(self, version: Version) -> str:
        return html_summary(version.changelog or _("Version %(label)s.") % {"label": version.label})

    def item_link(self, version: Version) -> str:
        return reverse(
            "revisions:version", kwargs={"spec": version.spec.slug, "label": version.label}
        )

    def item_pubdate(self, version: Version):
        return version.published_at or version.created_at

    def item_updateddate(self, version: Version):
        return version.published_at or version.created_at
