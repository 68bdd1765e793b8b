from django.conf import settings
from django.http import HttpRequest

from modelspec_site.accounts.roles import staff_roles


def site(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "default_spec_slug": settings.MODELSPEC_DEFAULT_SPEC,
        "viewer_roles": staff_roles(user) if user is not None else frozenset(),
    }
