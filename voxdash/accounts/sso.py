"""Single sign-on by a trusted header, for deployments behind an authenticating proxy.

The proxy signs people in and passes the user name in a header (VOXDASH_SSO_HEADER, e.g.
X-Remote-User) and optionally their groups (VOXDASH_SSO_GROUPS_HEADER, comma-separated). A
header is only text: anyone who can reach voxdash directly could send it. So it is believed only
on requests whose REMOTE_ADDR is one of VOXDASH_SSO_TRUSTED_PROXIES, and the proxy must remove
any copy a client sent. Password login keeps working alongside (and alone when SSO is off).
"""

import logging

from django.conf import settings
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.middleware import RemoteUserMiddleware
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.http import HttpRequest

from voxdash.lib.addresses import is_trusted_proxy, trusted_networks

from .roles import role_for, set_role
from .service_accounts import is_service_account_name

log = logging.getLogger(__name__)


def meta_key(header: str) -> str:
    """`X-Remote-User` -> `HTTP_X_REMOTE_USER`, the request.META key a WSGI server uses."""
    return "HTTP_" + header.strip().upper().replace("-", "_")


class TrustedHeaderMiddleware(RemoteUserMiddleware):
    """RemoteUserMiddleware on a configurable header, honoured only from trusted proxies.

    Not persistent: when a request from the proxy arrives without the header, a user the header
    signed in is signed out (the proxy's session ended); password sessions are left alone.
    """

    def __init__(self, get_response):
        if not settings.VOXDASH_SSO_HEADER:
            raise MiddlewareNotUsed  # SSO off: not even in the chain
        if not settings.VOXDASH_SSO_TRUSTED_PROXIES:
            # Without it the header would be believed from nobody; say so at start-up, not by
            # silently ignoring every SSO user.
            raise ImproperlyConfigured("VOXDASH_SSO_HEADER needs VOXDASH_SSO_TRUSTED_PROXIES (the proxy).")
        super().__init__(get_response)
        self.header = meta_key(settings.VOXDASH_SSO_HEADER)
        self.networks = trusted_networks()

    def get_username(self, request: HttpRequest) -> str:
        # KeyError is the parent's "no header" signal.
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR", ""), self.networks):
            if self.header in request.META:
                log.warning("sso header ignored from untrusted address %s", request.META.get("REMOTE_ADDR"))
            raise KeyError(self.header)
        username = request.META[self.header].strip()
        if not username:
            raise KeyError(self.header)
        return username


class TrustedHeaderBackend(RemoteUserBackend):
    """Creates users on first sight and gives them their role from the proxy's groups."""

    create_unknown_user = True

    def authenticate(self, request, remote_user):
        if remote_user and is_service_account_name(remote_user):
            log.warning("sso user refused: %r is an API token's service account", remote_user)
            return None
        if remote_user and role_for(proxy_groups(request)) is None:
            log.info("sso user refused: in no group voxdash maps to a role")
            return None
        return super().authenticate(request, remote_user)

    def configure_user(self, request, user, created=True):
        if created:
            user.set_unusable_password()  # signs in through the proxy only
            user.save(update_fields=["password"])
        groups = proxy_groups(request)
        set_role(user, role_for(groups), authoritative=groups is not None, new=created)
        return user


def proxy_groups(request: HttpRequest | None) -> set[str] | None:
    """The proxy's group names, or None when no groups header is configured."""
    if not settings.VOXDASH_SSO_GROUPS_HEADER:
        return None
    raw = request.META.get(meta_key(settings.VOXDASH_SSO_GROUPS_HEADER), "") if request else ""
    return {name.strip() for name in raw.split(",") if name.strip()}
