"""Staff roles are Django groups with these names. One helper answers "may this person do X?"
so views, API permissions and templates agree."""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

TRIAGER = "triager"
REVIEWER = "reviewer"
EDITOR = "editor"
MODERATOR = "moderator"
AUDITOR = "auditor"

ROLE_DESCRIPTIONS = {
    TRIAGER: _("Sorts incoming feedback: triage, labels, duplicates, assignment."),
    REVIEWER: _("Records decisions on feedback and change proposals."),
    EDITOR: _("Drafts and publishes versions; edits the authority vocabulary."),
    MODERATOR: _("Hides abusive content with a public reason."),
    AUDITOR: _("Reads everything, including the internal ledger; changes nothing."),
}


def staff_roles(user) -> frozenset[str]:
    """The staff role names a user holds (superusers hold them all)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(settings.STAFF_ROLES)
    cached = getattr(user, "_staff_roles_cache", None)
    if cached is None:
        cached = frozenset(
            user.groups.filter(name__in=settings.STAFF_ROLES).values_list("name", flat=True)
        )
        user._staff_roles_cache = cached
    return cached


def has_role(user, *roles: str) -> bool:
    """True when the user holds at least one of `roles`."""
    return bool(staff_roles(user) & set(roles))


def is_staff_member(user) -> bool:
    """Anyone with a staff role, or Django's is_staff flag: they must use two-factor sign-in."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or staff_roles(user))


def roles_ensure(names: Iterable[str] | None = None) -> list[Group]:
    """Create the role groups that do not exist yet; idempotent."""
    return [Group.objects.get_or_create(name=name)[0] for name in (names or settings.STAFF_ROLES)]
