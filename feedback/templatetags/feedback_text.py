"""Template helpers for text people write in feedback."""

from django import template
from django.utils.safestring import SafeString

from revisions.rendering import render_markdown
from revisions.templatetags.spec_text import stored_html

register = template.Library()


@register.filter
def user_markdown(value: str) -> SafeString:
    """Markdown from a submitter -> HTML through the site's one sanitiser
    (`revisions.rendering`, user mode: no raw HTML, no classes, http(s)/mailto links only,
    rel="nofollow noopener noreferrer ugc"). The sanitiser's output is marked safe by the one
    reviewed helper that does so; nothing here marks user text safe on its own."""
    return stored_html(render_markdown(value or "", spec=False))
