"""Failed password logins, limited per username and client address.

VOXDASH_LOGIN_ATTEMPTS attempts within VOXDASH_LOGIN_WINDOW seconds lock that username from that
address until the oldest leaves the window; signing in successfully clears the count. The count
lives in the shared cache, so every web process sees it (while Redis is down, each process counts
on its own: voxdash.lib.cache). Enforced by an authentication backend, which covers every password
check (the sign-in, allauth's "confirm it is you"); the sign-in page also says why (SignInForm).
allauth's own count of failed passwords is switched off (voxdash.accounts.adapter): one rule.
"""

import hashlib
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from voxdash.lib.addresses import client_address


def _key(request: HttpRequest | None, username: str) -> str:
    # The person's address: behind the reverse proxy REMOTE_ADDR is the proxy's, for everyone.
    address = client_address(request)
    # Hashed: user names typed by strangers do not belong in cache keys (length, characters).
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"voxdash:login-failures:{digest}"


# The window is counted in slots, each a cache key holding a count: incr() is atomic on Redis
# (production) and in the local-memory cache, so parallel guesses cannot share one free attempt.
SLOTS = 60


def _slot_seconds() -> float:
    return max(1.0, settings.VOXDASH_LOGIN_WINDOW / SLOTS)


def _counts(key: str, now: float) -> list[tuple[int, int]]:
    """(slot, attempts) for every slot still inside the window, oldest first."""
    length = _slot_seconds()
    current = int(now // length)
    slots = range(current - SLOTS + 1, current + 1)  # slot s counts until s * length + window
    found = cache.get_many([f"{key}:{slot}" for slot in slots])
    return [(slot, found.get(f"{key}:{slot}", 0)) for slot in slots if found.get(f"{key}:{slot}")]


def _wait(counts: list[tuple[int, int]], now: float) -> int:
    """Seconds until fewer than the allowed attempts remain in the window; 0 when that is now."""
    remaining = sum(n for _, n in counts)
    if remaining < settings.VOXDASH_LOGIN_ATTEMPTS:
        return 0
    length = _slot_seconds()
    for slot, n in counts:  # oldest first: as a slot leaves the window, its attempts stop counting
        remaining -= n
        if remaining < settings.VOXDASH_LOGIN_ATTEMPTS:
            return max(1, int(slot * length + settings.VOXDASH_LOGIN_WINDOW - now) + 1)
    return 1


def retry_after(request: HttpRequest | None, username: str) -> int:
    """Seconds until this username may try again from this address; 0 when it may now."""
    if settings.VOXDASH_LOGIN_ATTEMPTS <= 0:  # no limit
        return 0
    now = time.time()
    return _wait(_counts(_key(request, username), now), now)


def take_attempt(request: HttpRequest | None, username: str) -> bool:
    """Count one sign-in attempt before the password is checked; False when over the limit.

    Counting before checking (not after failing) is what makes the limit hold under parallel
    requests: the n-th concurrent guess sees the n-1 before it.
    """
    if settings.VOXDASH_LOGIN_ATTEMPTS <= 0:
        return True
    key, now = _key(request, username), time.time()
    slot_key = f"{key}:{int(now // _slot_seconds())}"
    timeout = settings.VOXDASH_LOGIN_WINDOW + 2 * _slot_seconds()
    cache.add(slot_key, 0, timeout)
    try:
        cache.incr(slot_key)
    except ValueError:  # expired between add() and incr()
        cache.set(slot_key, 1, timeout)
    return sum(n for _, n in _counts(key, now)) <= settings.VOXDASH_LOGIN_ATTEMPTS


def forget_failures(sender=None, request=None, user=None, **kwargs) -> None:
    if user is None or request is None:
        return
    key, now = _key(request, user.get_username()), time.time()
    cache.delete_many([f"{key}:{slot}" for slot, _ in _counts(key, now)])


def connect_signals() -> None:
    user_logged_in.connect(forget_failures, dispatch_uid="voxdash.accounts.forget_failures")


class LoginThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: PermissionDenied stops Django trying the others.

    No get_user(): it never signs anyone in (and the test client's force_login picks the first
    backend that has one).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and password is not None and not take_attempt(request, username):
            raise PermissionDenied("too many failed logins")
        return None
