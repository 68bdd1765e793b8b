"""allauth adapter: the project's choices where allauth's defaults do not fit."""

import ipaddress
from typing import Any

from allauth import app_settings as allauth_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest


def _client_network(ip: str) -> str:
    """The address to count failures against; IPv6 clients are counted per network, because
    one host usually holds a whole /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        prefix = allauth_settings.RATE_LIMIT_IPV6_PREFIX
        return str(ipaddress.IPv6Network(f"{address}/{prefix}", strict=False).network_address)
    return str(address)


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """Failed sign-ins are counted per (client address, login), not per login alone.

        allauth's default key is the login only, so anyone who knows a staff member's username
        could lock them out from anywhere by failing five times. Keyed by address too, an
        attacker only locks themselves out; the per-address limit in ACCOUNT_RATE_LIMITS
        ("login_failed": "…/ip") still caps guessing across many usernames, and staff accounts
        need a second factor besides. The same key is cleared after a password reset.
        """
        site = get_current_site(request)
        login = str(credentials.get("email", credentials.get("username", ""))).lower()
        network = _client_network(self.get_client_ip(request))
        return f"{site.domain}:{network}:{login}"
