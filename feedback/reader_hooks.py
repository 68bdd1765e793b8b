"""What feedback adds to the reading pages (registered in `apps.FeedbackConfig.ready`):

- in the whole-version reader, next to each clause heading, the number of items the viewer
  may see (a link to the clause page's feedback section) and a "Comment" link to the form;
  one query for all clauses, and plain string formatting rather than a template per clause;
- on a clause page, the same links and a section listing the clause's feedback (one query);
- on both, the passage-selection script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import urlencode

from django.http import HttpRequest
from django.middleware.csp import get_nonce
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, ngettext

from revisions.hooks import ClausePageExtras, ClauseRef, ReaderHook
from revisions.models import Clause, ClauseText, Version

from .listing import feedback_counts_by_standing, feedback_for_clause_page
from .selectors import viewer_is_staff
from .views_notify import follow_button_context

_PLACEHOLDER = "clause-id-placeholder"


def form_url(*, version: Version, anchor: str) -> str:
    query = urlencode({"spec": version.spec.slug, "version": version.label, "clause": anchor})
    return f"{reverse('feedback:new')}?{query}"


def _count_link(*, count: int, clause_url: str) -> str:
    if not count:
        return ""
    return format_html(
        '<a class="fb-count" href="{}#feedback">{}</a>',
        clause_url,
        ngettext("%(n)s feedback item", "%(n)s feedback items", count) % {"n": count},
    )


def _links(*, count: int, clause_url: str, comment_url: str, anchor: str) -> str:
    return format_html(
        '<span class="fb-clause-links" id="fb-links-{}">{}<a class="fb-comment-link" href="{}" '
        'aria-describedby="h-{}">{}</a></span>',
        anchor,
        _count_link(count=count, clause_url=clause_url),
        comment_url,
        anchor,
        gettext("Comment"),
    )


@lru_cache(maxsize=64)
def _static_parts(
    version_pk: int, spec_slug: str, label: str, anchors: tuple[tuple[int, str], ...], language: str
) -> dict[int, tuple[SafeString, str, SafeString]]:
    """Per clause: (HTML before the count, the clause page's URL, HTML after the count). The
    same for every viewer of a version in a language, so it is built once per process; a
    request then only adds the counts."""
    clause_url = reverse(
        "revisions:clause", kwargs={"spec": spec_slug, "label": label, "clause_id": _PLACEHOLDER}
    )
    query = urlencode({"spec": spec_slug, "version": label, "clause": _PLACEHOLDER})
    comment_url = f"{reverse('feedback:new')}?{query}"
    parts = {}
    for pk, anchor in anchors:
        tail = format_html(
            '<a class="fb-comment-link" href="{}" aria-describedby="h-{}">{}</a></span>',
            comment_url.replace(_PLACEHOLDER, anchor),
            anchor,
            gettext("Comment"),
        )
        parts[pk] = (
            format_html('<span class="fb-clause-links" id="fb-links-{}">', anchor),
            clause_url.replace(_PLACEHOLDER, anchor),
            tail,
        )
    return parts


def _clause_of(clause_text: ClauseText, version: Version) -> Clause:
    """The clause's identity (its key), with the version's already loaded spec: one query."""
    clause = Clause.objects.only("pk", "key").get(pk=clause_text.clause_id)
    clause.spec = version.spec
    return clause


class FeedbackReaderHook(ReaderHook):
    def reader_extras(
        self, *, request: HttpRequest, version: Version, clauses: Sequence[ClauseRef]
    ) -> Mapping[int, str]:
        counts = feedback_counts_by_standing(
            viewer=request.user, clause_text_ids=[ref.pk for ref in clauses]
        )
        parts = _static_parts(
            version.pk,
            version.spec.slug,
            version.label,
            tuple((ref.pk, ref.anchor) for ref in clauses),
            get_language() or "",
        )
        extras = {}
        for pk, (head, clause_url, tail) in parts.items():
            count = counts.get(pk)
            extras[pk] = (
                head + _count_link(count=count, clause_url=clause_url) + tail
                if count
                else head + tail
            )
        return extras

    def clause_page_extras(
        self, *, request: HttpRequest, version: Version, clause_text: ClauseText
    ) -> ClausePageExtras:
        items, total = feedback_for_clause_page(viewer=request.user, clause_text=clause_text)
        comment_url = form_url(version=version, anchor=clause_text.anchor)
        heading = _links(count=total, clause_url="", comment_url=comment_url,
                         anchor=clause_text.anchor)  # fmt: skip
        section = render_to_string(
            "feedback/_clause_feedback.html",
            {"items": items, "total": total, "comment_url": comment_url,
             "version": version, "clause_text": clause_text,
             "staff": viewer_is_staff(request.user),
             "follow_clause": follow_button_context(request, clause=_clause_of(clause_text, version)),
             "follow_spec": follow_button_context(request, spec=version.spec)},
            request=request,
        )  # fmt: skip
        return ClausePageExtras(heading=heading, section=section)

    def page_end(self, *, request: HttpRequest) -> str:
        nonce = get_nonce(request)
        # The script's words come from the page, so they are translated like the rest.
        return format_html(
            '<div id="fb-strings" hidden data-passage="{}" data-paragraph="{}" data-example="{}">'
            '</div><script src="{}" nonce="{}" defer></script>',
            gettext("Comment on this passage"),
            gettext("Comment on this paragraph"),
            gettext("Comment on this example"),
            static("feedback.js"),
            "" if nonce is None else str(nonce),
        )
