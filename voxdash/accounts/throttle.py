"""Failed password logins, limited per username and client address.

VOXDASH_LOGIN_ATTEMPTS failures within VOXDASH_LOGIN_WINDOW seconds lock that username from that
address until the oldest failure leaves the window. The count lives in the shared cache, so every
web process sees it. Enforced by an authentication backend, which covers the Django admin's login
too; our login page also says why (ThrottledAuthenticationForm).
"""

import hashlib
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def _key(request: HttpRequest | None, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    # Hashed: user names typed by strangers do not belong in cache keys (length, characters).
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"voxdash:login-failures:{digest}"


def _recent_failures(key: str, now: float) -> list[float]:
    return [t for t in cache.get(key, []) if t > now - settings.VOXDASH_LOGIN_WINDOW]


def retry_after(request: HttpRequest | None, username: str) -> int:
    """Seconds until this username may try again from this address; 0 when it may now."""
    if settings.VOXDASH_LOGIN_ATTEMPTS <= 0:  # no limit
        return 0
    now = time.time()
    failures = _recent_failures(_key(request, username), now)
    if len(failures) < settings.VOXDASH_LOGIN_ATTEMPTS:
        return 0
    oldest_that_counts = sorted(failures)[-settings.VOXDASH_LOGIN_ATTEMPTS]
    return max(1, int(oldest_that_counts + settings.VOXDASH_LOGIN_WINDOW - now) + 1)


def record_failure(sender=None, credentials=None, request=None, **kwargs) -> None:
    username = (credentials or {}).get("username")
    if not username or settings.VOXDASH_LOGIN_ATTEMPTS <= 0:
        return
    key, now = _key(request, username), time.time()
    # A list of timestamps, not a counter: a sliding window that any cache backend keeps exactly
    # (the file cache's incr() would restart the expiry on every failure).
    cache.set(key, [*_recent_failures(key, now), now], settings.VOXDASH_LOGIN_WINDOW)


def forget_failures(sender=None, request=None, user=None, **kwargs) -> None:
    if user is not None and request is not None:
        cache.delete(_key(request, user.get_username()))


def connect_signals() -> None:
    user_login_failed.connect(record_failure, dispatch_uid="voxdash.accounts.record_failure")
    user_logged_in.connect(forget_failures, dispatch_uid="voxdash.accounts.forget_failures")


class LoginThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: PermissionDenied stops Django trying the others.

    No get_user(): it never signs anyone in (and the test client's force_login picks the first
    backend that has one).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and password is not None and retry_after(request, username):
            raise PermissionDenied("too many failed logins")
        return None
