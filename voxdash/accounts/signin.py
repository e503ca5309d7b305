"""Who may sign in how: the rules of the sign-in page, without a request.

Local accounts sign in with a password; with VOXDASH_OIDC_ISSUER set, people may also (or, with
VOXDASH_LOCAL_LOGIN=admins, everyone but staff and superusers must) sign in through the OpenID
Connect provider, whose allauth provider id is `oidc`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from voxdash.lib.staff import is_staff_member

OIDC_PROVIDER_ID = "oidc"


@dataclass(frozen=True)
class SignInOptions:
    oidc_name: str  # the button's "Sign in with <name>"; "" when OpenID Connect is off
    password_form: bool  # the username and password form is shown
    admins_only: bool  # passwords are for staff and superusers only (VOXDASH_LOCAL_LOGIN=admins)

    @property
    def offer_password_link(self) -> bool:
        """The small "Administrator? Sign in with a password" link, in place of the hidden form."""
        return self.admins_only and not self.password_form


def oidc_enabled() -> bool:
    return bool(settings.VOXDASH_OIDC_ISSUER)


def sign_in_options(*, password_requested: bool) -> SignInOptions:
    """What the sign-in page offers. `password_requested`: the page was opened with ?local=1 (or a
    password was just posted), which shows the form in the `admins` mode too."""
    oidc_name = settings.VOXDASH_OIDC_NAME if oidc_enabled() else ""
    admins_only = settings.VOXDASH_LOCAL_LOGIN == "admins"
    # Without a provider there is nothing but the form to offer (the trusted-header SSO, if any,
    # signs people in before they ever see this page).
    password_form = not admins_only or password_requested or not oidc_name
    return SignInOptions(oidc_name=oidc_name, password_form=password_form, admins_only=admins_only)


def may_sign_in_with_password(user) -> bool:
    """False for an account that must use the identity provider (VOXDASH_LOCAL_LOGIN=admins)."""
    return settings.VOXDASH_LOCAL_LOGIN != "admins" or is_staff_member(user)
