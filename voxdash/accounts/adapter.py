"""voxdash's allauth account adapter: accounts are made by administrators, never by sign-up."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from voxdash.lib.addresses import client_address


class AccountAdapter(DefaultAccountAdapter):
    error_messages = DefaultAccountAdapter.error_messages | {
        # allauth also finds a name typed in another case; the password must match exactly.
        "username_password_mismatch": "Please enter the correct username and password. The password is case-sensitive.",
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Local accounts come from the Django admin. (The OpenID Connect adapter, voxdash.accounts.oidc,
        # opens sign-up for people the identity provider vouches for.)
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials) -> None:
        # allauth would count failed passwords per user name from any address, which lets anyone lock
        # anyone out; voxdash's own limit (voxdash.accounts.throttle, the first authentication backend)
        # counts per user name *and* address, and says how long to wait. One rule, so not both. allauth's
        # limit on wrong two-factor codes is separate and stays.
        return None

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's own rate limits (sign-ins per address a minute) must see the person's address, not
        # the reverse proxy's, or everyone behind nginx shares one allowance.
        return client_address(request) or super().get_client_ip(request)
