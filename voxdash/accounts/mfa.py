"""Two-factor authentication (allauth.mfa: TOTP and recovery codes) for local accounts.

People whose account has no usable password sign in through an identity provider (OpenID Connect or
the trusted header), which does its own second factor: voxdash neither offers nor asks one of them.
With VOXDASH_REQUIRE_MFA_FOR_ADMINS=1 a superuser signed in by password without an authenticator
reaches only the set-up pages (and signing out) until they have one.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import RemoteUserBackend
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.module_loading import import_string
from django_htmx.http import HttpResponseClientRedirect

from voxdash.lib.staff import is_staff_member

# What a superuser who must set up two-factor authentication may still open (URL names).
SET_UP_PAGES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "logout",
        "healthz",
        "readyz",
    }
)


def is_local_account(user) -> bool:
    """Signs in with a password here (identity-provider accounts have none that works)."""
    return user.has_usable_password()


def signed_in_through_provider(request: HttpRequest) -> bool:
    """This session was opened by OpenID Connect or by the proxy's trusted header."""
    records = get_authentication_records(request, request.user)
    if any(record.get("method") == "socialaccount" for record in records):
        return True
    backend = request.session.get(BACKEND_SESSION_KEY, "")
    try:
        return bool(backend) and issubclass(import_string(backend), RemoteUserBackend)
    except ImportError:
        return False


def mfa_set_up_required(request: HttpRequest) -> bool:
    user = request.user
    return (
        settings.VOXDASH_REQUIRE_MFA_FOR_ADMINS
        and is_staff_member(user)  # "admins", as in VOXDASH_LOCAL_LOGIN
        and is_local_account(user)
        and not signed_in_through_provider(request)
        and not is_mfa_enabled(user)
    )


class RequireAdminMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if mfa_set_up_required(request) and not self.allowed(request):
            messages.warning(
                request,
                "Administrators must use two-factor authentication here: set up an authenticator app first.",
            )
            if request.headers.get("HX-Request") == "true":
                # An htmx request (a poll, a filter) would swap the set-up page into a fragment: the
                # browser goes there instead. (request.htmx is set by a middleware further down.)
                return HttpResponseClientRedirect(reverse("mfa_activate_totp"))
            return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def allowed(request: HttpRequest) -> bool:
        # WhiteNoise answers for static files before this middleware; runserver's static view does not.
        if request.path_info.startswith("/static/"):
            return True
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return True  # a 404 shows nothing
        return match.view_name in SET_UP_PAGES
