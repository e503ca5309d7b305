"""The senders: one notice to one channel, over apprise, as voxdash's signed JSON, or into a file.

Nothing here touches the database: voxdash.alerts.notify claims a delivery, turns it into an
`Outgoing` (everything a sender needs, URL and secret included) and runs `send()` in a thread of
its own, so that a channel that hangs holds only its own thread. A failure raises `SendFailed`
whose message is safe to store and show: the URL's secrets are masked out of it (`scrub`).

URLs carry secrets (Slack's tokens, an SMTP password, a webhook's path), so they are shown only
through `mask()`: passwords, token-like path parts and secret query values become "•••".
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import apprise
import httpx

from voxdash.webhooks.signature import sign

from .models import AlertChannel

Kind = AlertChannel.Kind

# Per channel and attempt: connect and each read (httpx, and apprise's sockets). The sending run
# also stops waiting for a sender a few seconds after this (notify.SEND_GRACE_SECONDS).
SEND_TIMEOUT_SECONDS = 10.0
MASK = "•••"
USER_AGENT = "voxdash-alerts/1.0"
# What is kept of a receiver's answer in an error: enough to read the reason, not a whole page.
ERROR_BODY_CHARS = 200


class SendFailed(Exception):
    """The notice did not arrive; the message says why, with the URL's secrets masked."""


class UnusableURL(ValueError):
    """A channel URL voxdash cannot send to; the message is safe to show (no secrets)."""


@dataclass(frozen=True)
class Outgoing:
    """One attempt of one delivery, as the sender needs it."""

    delivery_id: int
    channel_id: int
    kind: str
    url: str
    title: str
    body: str
    notice: str
    # The webhook's body (voxdash's JSON, built once per delivery) and what signs it.
    payload: bytes = b""
    event_id: str = ""
    event_type: str = ""
    signing_secret: str = ""


def send(out: Outgoing) -> None:
    """Send one notice; SendFailed (masked) when it did not arrive."""
    try:
        if out.kind == Kind.WEBHOOK:
            _send_webhook(out)
        elif out.kind == Kind.FILE:
            _send_file(out)
        elif out.kind == Kind.APPRISE:
            _send_apprise(out)
        else:
            raise SendFailed(f"unknown channel kind {out.kind!r}")
    except (SendFailed, UnusableURL) as exc:
        raise SendFailed(scrub(str(exc), out.url)) from None


# --- What a URL is -----------------------------------------------------------------------------


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else ""


def kind_of(url: str) -> tuple[str, str]:
    """The channel kind for a URL and the service's name ("Slack", "E-Mail", "webhook", "file");
    UnusableURL when voxdash cannot send to it (apprise does not know the scheme, say)."""
    scheme = scheme_of(url)
    if not scheme:
        raise UnusableURL("not a URL (it has no scheme://)")
    if scheme in ("http", "https"):
        if not urlsplit(url).hostname:
            raise UnusableURL(f"{scheme}:// URL without a host")
        return Kind.WEBHOOK, "webhook"
    if scheme == "file":
        file_path(url)
        return Kind.FILE, "file"
    return Kind.APPRISE, _apprise_service(url)


def url_problem(kind: str, url: str) -> str:
    """Why `url` cannot be a channel of this kind, or "" when it can (for forms and the admin)."""
    try:
        found, _ = kind_of(url.strip())
    except UnusableURL as exc:
        return str(exc)
    if found != kind:
        return f"it is a URL for “{Kind(found).label}”, not “{Kind(kind).label}”"
    return ""


def file_path(url: str) -> Path:
    """The path of a file:///absolute/path URL."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise UnusableURL("a file URL names a local path: file:///path/to/alerts.log (three slashes)")
    path = Path(unquote(parts.path))
    if not path.is_absolute() or path.name in ("", ".", ".."):
        raise UnusableURL("a file URL needs an absolute path to a file: file:///path/to/alerts.log")
    return path


@lru_cache(maxsize=128)
def _apprise_service(url: str) -> str:
    # Cached: the environment's channels are checked on every sending run, and apprise parses a
    # URL into a plugin each time (cheap, but not free, and the answer never changes).
    with apprise_log() as lines:
        plugin = apprise.Apprise.instantiate(url, asset=_asset())
    if plugin is None:
        why = "; ".join(lines) or "unknown scheme"
        raise UnusableURL(scrub(f"apprise does not accept this {scheme_of(url)}:// URL ({why})", url))
    return plugin.service_name


# --- Masking ------------------------------------------------------------------------------------

SECRET_QUERY_KEYS = re.compile(r"pass|pwd|token|secret|key|auth|sig|hash|code|session|cred|bearer", re.I)
HOSTNAME = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# Schemes whose host is a server's address (and whose path may be a plain route), as opposed to
# the services' schemes, whose URLs are nothing but tokens.
ADDRESS_SCHEMES = frozenset(
    {"http", "https", "mailto", "mailtos", "json", "jsons", "xml", "xmls", "form", "forms", "file"}
)


def _token_like(part: str) -> bool:
    """A URL part that is probably a credential: long, or letters mixed with digits (Slack's
    T1JJ3T3L2, a webhook path's uuid), and not a host name, an address or a plain word."""
    text = unquote(part)
    if len(text) < 8 or HOSTNAME.fullmatch(text) or EMAIL.fullmatch(text):
        return False
    has_digit = any(c.isdigit() for c in text)
    has_letter = any(c.isalpha() for c in text)
    return len(text) >= 20 or (has_digit and has_letter)


def url_secrets(url: str) -> list[str]:
    """The parts of a channel URL that are secrets, as they appear in it (longest first)."""
    if scheme_of(url) in ("", "file"):
        return []
    rest = url.split("://", 1)[1]
    authority, path, query = rest, "", ""
    for i, char in enumerate(rest):
        if char in "/?#":
            authority, remainder = rest[:i], rest[i:]
            path, _, query = remainder.partition("?")
            query = query.partition("#")[0]
            path = path.partition("#")[0]
            break
    found: list[str] = []
    hostport = authority
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        user, sep, password = userinfo.partition(":")
        if sep and password:
            found.append(password)
        if _token_like(user):
            found.append(user)
    scheme = scheme_of(url)
    if scheme not in ADDRESS_SCHEMES:
        # A service's URL (slack://T1/B2/C3, tgram://BOT:TOKEN/CHAT, msteams://...) is made of its
        # tokens: every part is one, short or not, but a channel or chat name (#alerts, @ops, -100…).
        pieces = [*hostport.split(":"), *path.split("/")]
        found += [piece for piece in pieces if len(piece) >= 3 and not piece.startswith(("#", "@", "-", "+"))]
    else:
        if scheme not in ("http", "https"):
            found += [piece for piece in hostport.split(":") if _token_like(piece)]
        found += [segment for segment in path.split("/") if segment and _token_like(segment)]
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        if sep and value and (SECRET_QUERY_KEYS.search(unquote(key)) or _token_like(value)):
            found.append(value)
    return sorted(set(found), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` with every secret of `url` (raw, decoded or encoded) replaced by •••."""
    for secret in url_secrets(url):
        for form in {secret, unquote(secret), quote(unquote(secret), safe="")}:
            if len(form) >= 3:
                text = text.replace(form, MASK)
    return text


def mask(url: str) -> str:
    """The URL for pages and lists: its secrets shown as •••."""
    if "://" not in url:
        return scrub(url, url)
    # The scheme stays as it is: a short token may be part of its name (msteams://team/...).
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{scrub(rest, url)}"


# --- Senders ------------------------------------------------------------------------------------


def _send_webhook(out: Outgoing) -> None:
    # Signed exactly as Vox signs its own deliveries (a fresh t per attempt, as Vox does), so a
    # receiver verifies both with one function; the id header lets it drop a repeated attempt.
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Cloove-Signature": f"t={timestamp},v1={sign(out.signing_secret, out.payload, timestamp)}",
        "Cloove-Webhook-Id": out.event_id,
        "Cloove-Webhook-Event": out.event_type,
    }
    timeout = httpx.Timeout(SEND_TIMEOUT_SECONDS)
    try:
        # No redirects: a receiver that moved is a configuration to fix, and a redirect would
        # carry the signed body somewhere nobody chose.
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(out.url, content=out.payload, headers=headers)
    except httpx.TimeoutException as exc:
        raise SendFailed(f"no answer within {SEND_TIMEOUT_SECONDS:g} s ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise SendFailed(f"could not reach the receiver ({type(exc).__name__}: {exc})") from None
    if not 200 <= response.status_code < 300:
        text = " ".join(response.text.split())[:ERROR_BODY_CHARS]
        raise SendFailed(f"the receiver answered HTTP {response.status_code}" + (f": {text}" if text else ""))


def _send_file(out: Outgoing) -> None:
    path = file_path(out.url)
    line = " | ".join(part.strip() for part in f"{out.title}\n{out.body}".splitlines() if part.strip())
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    data = f"{when} {out.notice.upper()} {line}\n".encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write on an O_APPEND descriptor: lines from two workers never interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SendFailed(f"cannot write {path}: {exc.strerror or exc}") from None


NOTIFY_TYPES = {
    "fired": apprise.NotifyType.FAILURE,
    "reminder": apprise.NotifyType.WARNING,
    "resolved": apprise.NotifyType.SUCCESS,
}


def _asset() -> apprise.AppriseAsset:
    # service_timeout=0: apprise runs the plugin in the calling thread (ours, which has its own
    # deadline) instead of its shared pool, so the log lines it writes are ours to capture.
    # Memory storage: nothing written under the worker's home directory.
    return apprise.AppriseAsset(
        app_id="voxdash",
        app_desc="voxdash alerts",
        secure_logging=True,
        storage_mode=apprise.PersistentStoreMode.MEMORY,
        service_timeout=0,
    )


def _send_apprise(out: Outgoing) -> None:
    with apprise_log() as lines:
        plugin = apprise.Apprise.instantiate(out.url, asset=_asset())
        if plugin is None:
            raise SendFailed(
                "apprise does not accept this URL (" + ("; ".join(lines) or "unknown scheme") + ")"
            )
        for name in ("socket_connect_timeout", "socket_read_timeout"):
            current = getattr(plugin, name, None)
            if current is None or current > SEND_TIMEOUT_SECONDS:
                setattr(plugin, name, SEND_TIMEOUT_SECONDS)
        notifier = apprise.Apprise(asset=_asset())
        notifier.add(plugin)
        try:
            ok = notifier.notify(
                title=out.title,
                body=out.body,
                body_format=apprise.NotifyFormat.TEXT,
                notify_type=NOTIFY_TYPES.get(out.notice, apprise.NotifyType.INFO),
            )
        except Exception as exc:  # a plugin's bug: the notice is still not sent, and we say why
            raise SendFailed(f"{plugin.service_name}: {type(exc).__name__}: {exc}") from None
    if not ok:
        # apprise reports failure as False and says why only in its log.
        raise SendFailed(f"{plugin.service_name}: " + ("; ".join(lines) or "apprise reported a failure"))


# --- apprise's log, per sending thread ----------------------------------------------------------


APPRISE_SHORTENED = re.compile(r"(?<!\w)\w\.\.\.\w(?!\w)")
# apprise's DEBUG lines that give a failure's cause ("Socket Exception: [Errno 111] ...").
APPRISE_CAUSE = re.compile(r"exception|error|refused|timed out|denied", re.I)


class _ThreadCapture(logging.Filter):
    """Takes apprise's log records made by a thread that is capturing, into that thread's list.

    apprise's own LogCapture attaches a handler to its one logger: with several channels sending
    at once in their threads, each capture would also collect the others' lines (and their URLs'
    secrets). This filter keys the lines by thread instead. The records it takes do not go on to
    voxdash's log: the sender logs one masked line of its own. apprise says that it failed at
    WARNING and why (the socket's error) only at DEBUG: both are kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, list[str]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        lines = self.lines.get(record.thread)
        if lines is None:
            return record.levelno >= logging.WARNING
        text = " ".join(record.getMessage().split())
        if record.levelno >= logging.WARNING or (
            record.levelno >= logging.DEBUG and APPRISE_CAUSE.search(text)
        ):
            # apprise shortens the secrets it logs to their first and last characters ("T...2"):
            # not even those.
            lines.append(APPRISE_SHORTENED.sub(MASK, text))
        return False


_capture = _ThreadCapture()
_apprise_logger = logging.getLogger("apprise")
_apprise_logger.addFilter(_capture)
# Records below the logger's level are never made: DEBUG, for the causes above (the filter drops
# what no capture asked for below WARNING).
_apprise_logger.setLevel(logging.DEBUG)


@contextlib.contextmanager
def apprise_log() -> Iterator[list[str]]:
    """The warnings and errors apprise logs in this thread while the block runs."""
    ident = threading.get_ident()
    lines: list[str] = []
    _capture.lines[ident] = lines
    try:
        yield lines
    finally:
        _capture.lines.pop(ident, None)
