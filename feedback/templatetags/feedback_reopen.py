"""`{% reopen_request item as reopen %}`: what the staff item page's "Request to reopen"
section draws (templates/feedback/staff/_item_reopen_request.html): the latest "no" answer and
its dismissal (`request`, a `reopen_requests.ReopenRequest`, or None when there is none),
whether the viewer may dismiss it (`may_dismiss`), and the form (bound, with its errors, when a
dismissal was just refused)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def reopen_request(context, item) -> dict:
    from feedback.reopen_requests import may_dismiss, reopen_request_get
    from feedback.views_reopen import FORM_CONTEXT, DismissForm

    found = reopen_request_get(item)
    user = context["request"].user
    allowed = found is not None and found.standing and may_dismiss(user)
    return {
        "request": found,
        "may_dismiss": allowed,
        "form": (context.get(FORM_CONTEXT) or DismissForm()) if allowed else None,
    }
