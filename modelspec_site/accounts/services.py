"""Writing services for accounts. Management commands and (later) staff views call these."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from modelspec_site.audit.models import Visibility
from modelspec_site.audit.services import audit_record

from .roles import roles_ensure


@dataclass
class StaffMemberResult:
    user: object
    created: bool
    changes: list[str] = field(default_factory=list)


def staff_member_ensure(
    *,
    acting_user,
    username: str,
    email: str,
    roles: Iterable[str],
    superuser: bool = False,
    password: str | None = None,
) -> StaffMemberResult:
    """Create or update a staff account so that it matches the arguments exactly.

    The account ends active, with ``is_staff`` set (the admin is reachable), ``email`` as its
    verified primary address, and exactly ``roles`` among the staff role groups (other groups
    are left alone). ``password`` is set when given; an existing account keeps its password
    otherwise, and a new account without one cannot sign in with a password. Running it again
    with the same arguments changes nothing. ``acting_user`` is None for the command line.

    Any change is recorded in the audit ledger as one internal event
    (``account.staff_created`` or ``account.staff_updated``) naming the roles added and removed,
    the flags changed, and whether the address or the password changed (never their values).

    Raises ValidationError for an unknown role, a bad e-mail address, an address that belongs
    to someone else, or a password the validators refuse.
    """
    role_names = sorted(set(roles))
    unknown = [name for name in role_names if name not in settings.STAFF_ROLES]
    if unknown:
        raise ValidationError(
            _("Unknown role(s): %(unknown)s. Known roles: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(settings.STAFF_ROLES)}
        )
    if not role_names and not superuser:
        raise ValidationError(_("Give at least one role, or make the account a superuser."))
    email = email.strip()
    validate_email(email)

    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username)
        taken = (
            EmailAddress.objects.filter(email__iexact=email).exclude(user_id=user.pk).exists()
            or User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()
        )
        if taken:
            raise ValidationError(
                _("The address %(email)s belongs to another account.") % {"email": email}
            )

        changes: list[str] = []
        flags_changed: dict[str, list[bool]] = {}
        wanted = {
            "email": email,
            "is_staff": True,
            "is_active": True,
            "is_superuser": superuser,
        }
        for attribute, value in wanted.items():
            if getattr(user, attribute) != value:
                if attribute != "email":
                    flags_changed[attribute] = [bool(getattr(user, attribute)), value]
                if not created:
                    changes.append(
                        _("%(field)s: %(old)s → %(new)s")
                        % {"field": attribute, "old": getattr(user, attribute), "new": value}
                    )
                setattr(user, attribute, value)
        if password is not None:
            validate_password(password, user)
            user.set_password(password)
            if not created:
                changes.append(_("Password replaced."))
        elif created:
            user.set_unusable_password()
        user.save()

        email_changes = _email_ensure(user, email)
        added, removed = _roles_set(user, role_names)
        changes += email_changes
        changes += [_("Role added: %(role)s") % {"role": name} for name in added]
        changes += [_("Role removed: %(role)s") % {"role": name} for name in removed]
        if created or changes:
            audit_record(
                actor=acting_user,
                action="account.staff_created" if created else "account.staff_updated",
                subjects=[user],
                visibility=Visibility.INTERNAL,
                data={
                    "roles": role_names,
                    "roles_added": added,
                    "roles_removed": removed,
                    "flags_changed": flags_changed,
                    "email_changed": bool(email_changes) and not created,
                    "password_set": password is not None,
                },
            )
    return StaffMemberResult(user=user, created=created, changes=changes)


def _email_ensure(user, email: str) -> list[str]:
    changes = []
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        address = EmailAddress(user=user, email=email)
        changes.append(_("E-mail address added: %(email)s") % {"email": email})
    # One primary address per user (a database constraint): demote the others first.
    others = EmailAddress.objects.filter(user=user, primary=True)
    if address.pk is not None:
        others = others.exclude(pk=address.pk)
    if others.update(primary=False):
        changes.append(_("Other e-mail addresses are no longer primary."))
    if not (address.verified and address.primary):
        address.verified = True
        address.primary = True
        address.save()
        changes.append(_("E-mail address verified and made primary: %(email)s") % {"email": email})
    return changes


def _roles_set(user, role_names: list[str]) -> tuple[list[str], list[str]]:
    """Make the user's staff roles exactly `role_names`; (added, removed)."""
    groups = {group.name: group for group in roles_ensure(settings.STAFF_ROLES)}
    current = set(user.groups.filter(name__in=settings.STAFF_ROLES).values_list("name", flat=True))
    added = sorted(set(role_names) - current)
    removed = sorted(current - set(role_names))
    if added:
        user.groups.add(*(groups[name] for name in added))
    if removed:
        user.groups.remove(*(groups[name] for name in removed))
    user._staff_roles_cache = None
    return added, removed
