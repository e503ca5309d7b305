"""Sign-in, sign-out and failed sign-ins, from Django's auth signals (and allauth's: your own password
and two-factor authentication, at the end).

Every way in sends them: our login page, the admin's, and the trusted-header SSO middleware (its
backend authenticates, `login()` signs in; a proxy request without the header signs out). So no
login view has to remember to record anything, and a new one cannot forget to.

`via` says how: SSO when the session's backend is a remote-user backend (voxdash's trusted-header
one is), OIDC when allauth signed the session in with a social account (the OpenID Connect
provider, the only one voxdash has) or someone was refused on its callback, ADMIN on the admin's
own login and logout pages, PASSWORD otherwise. audit knows no other app (docs/architecture.md),
so it asks Django's and allauth's classes and URL names, not voxdash's.
"""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import password_changed
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
)
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .log import Action, Via, audit_record


def _is_remote_user_backend(path: str) -> bool:
    try:
        return issubclass(import_string(path), RemoteUserBackend)
    except ImportError:
        return False


def _on_admin_page(request) -> bool:
    match = getattr(request, "resolver_match", None)  # None in middleware (SSO), before resolving
    return match is not None and match.app_name == "admin"


def _on_oidc_callback(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "openid_connect_callback"


def _through_oidc(request, user) -> bool:
    # allauth keeps in the session how it signed this user in; a social account is the provider's.
    if user is None or getattr(request, "session", None) is None:
        return False
    return any(
        record.get("method") == "socialaccount" for record in get_authentication_records(request, user)
    )


def _via(request, backend: str, user=None) -> str:
    if backend and _is_remote_user_backend(backend):
        return Via.SSO
    if _through_oidc(request, user):
        return Via.OIDC
    if _on_admin_page(request):
        return Via.ADMIN
    return Via.PASSWORD


def _session_backend(request, user) -> str:
    session = getattr(request, "session", None)
    backend = session.get(BACKEND_SESSION_KEY, "") if session is not None else ""
    return backend or getattr(user, "backend", "")


@receiver(user_logged_in, dispatch_uid="voxdash.audit.signed_in")
def signed_in(sender, request, user, **kwargs) -> None:
    audit_record(
        action=Action.SIGNED_IN,
        request=request,
        user=user,
        via=_via(request, _session_backend(request, user), user),
    )


@receiver(user_logged_out, dispatch_uid="voxdash.audit.signed_out")
def signed_out(sender, request, user, **kwargs) -> None:
    if user is None or not user.is_authenticated:
        return  # signing out nobody (an expired session pressing "Sign out") is no action
    # Sent before the session is flushed: it still names the backend that signed them in.
    audit_record(
        action=Action.SIGNED_OUT,
        request=request,
        user=user,
        via=_via(request, _session_backend(request, user), user),
    )


@receiver(user_login_failed, dispatch_uid="voxdash.audit.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    # `credentials` come cleansed (the password masked), and only the name is kept anyway. A
    # remote user is the SSO backend's: the proxy vouched for a name voxdash let in as no role.
    if "remote_user" in credentials:
        username, via = str(credentials.get("remote_user") or ""), Via.SSO
    else:
        username = str(credentials.get("username") or "")
        via = (
            Via.OIDC if _on_oidc_callback(request) else Via.ADMIN if _on_admin_page(request) else Via.PASSWORD
        )
    audit_record(action=Action.SIGN_IN_FAILED, request=request, username=username, via=via)


# Your own password and second factor (allauth's pages at /accounts/password/ and /accounts/two-factor/).
@receiver(password_changed, dispatch_uid="voxdash.audit.password_changed")
def password_changed_recorded(sender, request, user, **kwargs) -> None:
    audit_record(action=Action.PASSWORD_CHANGED, request=request, user=user)


@receiver(authenticator_added, dispatch_uid="voxdash.audit.mfa_enabled")
def mfa_enabled(sender, request, user, authenticator, **kwargs) -> None:
    # Recovery codes made with the first authenticator are part of turning it on, not an action of their own.
    if authenticator.type == Authenticator.Type.TOTP:
        audit_record(action=Action.MFA_ENABLED, request=request, user=user)


@receiver(authenticator_removed, dispatch_uid="voxdash.audit.mfa_disabled")
def mfa_disabled(sender, request, user, authenticator, **kwargs) -> None:
    if authenticator.type == Authenticator.Type.TOTP:  # its recovery codes go with it
        audit_record(action=Action.MFA_DISABLED, request=request, user=user)


@receiver(authenticator_reset, dispatch_uid="voxdash.audit.recovery_codes_generated")
def recovery_codes_generated(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(action=Action.RECOVERY_CODES_GENERATED, request=request, user=user)


@receiver(authentication_failed, dispatch_uid="voxdash.audit.mfa_code_refused")
def mfa_code_refused(sender, request, user, authenticator, reauthentication=False, **kwargs) -> None:
    # The password was right, the code was not: the sign-in failed (a wrong code when re-authenticating
    # someone already signed in is no sign-in).
    if not reauthentication:
        audit_record(
            action=Action.SIGN_IN_FAILED,
            request=request,
            username=user.get_username(),
            via=Via.PASSWORD,
            detail={"reason": "wrong two-factor code"},
        )
