"""Two-factor sign-in is required of staff.

django-allauth offers TOTP but no switch to require it, so this middleware does: a signed-in
staff member whose session was not confirmed with a second factor may reach only the account
pages (to enrol or confirm a code) and static files. Everything else, the admin included,
redirects there. Public visitors and commenters are not affected."""

from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from .roles import is_staff_member

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/", "/favicon.ico")


def session_used_mfa(request: HttpRequest) -> bool:
    # The records are kept per user: without the user, allauth returns none at all.
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


class StaffTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and is_staff_member(user)
            and not session_used_mfa(request)
        ):
            return self._redirect(request, user)
        return self.get_response(request)

    def _redirect(self, request: HttpRequest, user) -> HttpResponse:
        has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        target = reverse("mfa_reauthenticate" if has_totp else "mfa_activate_totp")
        next_url = request.get_full_path()
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            target = f"{target}?{urlencode({'next': next_url})}"
        response = HttpResponseRedirect(target)
        if request.htmx:
            # htmx follows redirects inside the fragment; make it a full navigation instead.
            response["HX-Redirect"] = target
        return response
