"""Template helpers for spec text. The stored HTML was sanitised at import (revisions.rendering);
these tags only place already-clean fragments, so they are the one allowlisted place that marks
stored HTML safe."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from revisions.rendering import EXAMPLE_MARKER_RE

register = template.Library()


@register.filter
def stored_html(value: str) -> SafeString:
    """HTML produced by revisions.rendering at import time (already sanitised)."""
    return mark_safe(value)  # noqa: S308 - sanitised by nh3 when stored


def _turn_groups(turns: list[dict]) -> list[dict]:
    """Consecutive candidate answers form one comparison; other turns stand alone."""
    groups: list[dict] = []
    for turn in turns:
        if turn["candidate"]:
            if groups and groups[-1]["comparison"]:
                groups[-1]["turns"].append(turn)
                continue
            groups.append({"comparison": True, "turns": [turn]})
        else:
            groups.append({"comparison": False, "turns": [turn]})
    return groups


@register.simple_tag(takes_context=True)
def clause_body(context, clause_text, base_url: str = "") -> SafeString:
    """The clause's stored body with its examples drawn in place of their markers.
    `base_url` prefixes in-page cross references when the clause is shown on its own page."""
    examples = {e.position: e for e in getattr(clause_text, "example_list", [])}
    body = clause_text.body_html
    if base_url:
        body = body.replace('href="#', f'href="{base_url}#')

    def draw(match) -> str:
        example = examples.get(int(match.group(1)))
        if example is None:
            return ""
        return render_to_string(
            "revisions/_example.html",
            {"example": example, "groups": _turn_groups(example.turns), "base_url": base_url},
            request=context.get("request"),
        )

    return mark_safe(EXAMPLE_MARKER_RE.sub(draw, body))  # noqa: S308 - parts are sanitised
