"""`{% publication_panel item %}`: the staff item page's "Publication of internal material"
block (feedback.views_scheduling draws the same block on its own page)."""

from django import template

register = template.Library()


@register.inclusion_tag("feedback/staff/_item_publication.html", takes_context=True)
def publication_panel(context, item):
    from feedback.views_scheduling import panel_context

    return {**panel_context(context["request"].user, item), "csrf_token": context.get("csrf_token")}
