"""Receivers for allauth's MFA signals."""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator


def totp_activated_counts_as_mfa(sender, request, user, authenticator, **kwargs) -> None:
    """Activating TOTP proves the person holds the authenticator: they just typed a valid
    code from it. Record that on the session as a second-factor sign-in, as allauth does after
    a code at sign-in, so a staff member who enrols at first sign-in reaches the staff pages
    straight away instead of being asked for another code (and waiting for the next one,
    since a code is accepted only once)."""
    if request is None or authenticator.type != Authenticator.Type.TOTP:
        return
    if getattr(request, "user", None) is None or request.user.pk != user.pk:
        return
    # allauth has no public function for this; record_authentication is what its own MFA
    # sign-in and reauthentication flows call (allauth.mfa.base.internal.flows).
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
