"""Optional error reports to Sentry (SENTRY_DSN): no personal data, no secrets.

Imported by settings only when SENTRY_DSN is set, so sentry-sdk is never loaded otherwise.
sentry-sdk's own switches do most of it: send_default_pii off (no user, no cookies, no client
address; left unset, which is off: sentry-sdk 2.75 deprecates setting it in favour of its
data_collection option, whose defaults are the same), include_local_variables=False (a frame's variables hold phone numbers and keys),
max_request_body_size="never" (no bodies). What they leave, scrub_event removes: the query string
(search terms are customers' names and phone numbers), every request header but a few plain ones,
and, anywhere in the event (messages, breadcrumbs, exception values), the values of voxdash's
secrets: the Vox key, the webhook secrets, SECRET_KEY, the alert URLs, passwords in URLs.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import sentry_sdk
from django.conf import settings
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

FILTERED = "[Filtered]"
# Request headers a report keeps (lower case); Cookie, Authorization, X-Forwarded-For, a proxy's
# SSO user header, Cloove-Signature and the rest are dropped.
SAFE_HEADERS = {"host", "accept", "content-type", "content-length", "hx-request", "x-request-id"}
# Keys whose values sentry's scrubber replaces wherever they appear (it already knows password,
# secret, api_key, authorization, cookie, csrftoken, sessionid, ...).
DENYLIST = [*DEFAULT_DENYLIST, "signature", "cloove_signature", "webhook_secret", "dsn", "phone", "customer"]
# Shorter values would be replaced inside ordinary words.
MIN_SECRET_LENGTH = 8


def sentry_init(*, dsn: str, **options) -> None:
    """Start sentry-sdk for the web processes and the workers (`options`: tests' extras)."""
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=DENYLIST, pii_denylist=DEFAULT_PII_DENYLIST, recursive=True),
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        **options,
    )


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        event["request"] = {
            "method": request.get("method"),
            "url": _without_query(request.get("url") or ""),
            "headers": {name: value for name, value in headers.items() if name.lower() in SAFE_HEADERS},
        }
    event.pop("user", None)
    return _replace(event, _secrets())


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    # Outgoing HTTP (to Vox, to alert channels): the URL without its query (Vox searches by name).
    data = crumb.get("data")
    if isinstance(data, dict):
        if "url" in data:
            data["url"] = _without_query(str(data["url"]))
        data.pop("http.query", None)
        data.pop("http.fragment", None)
    return _replace(crumb, _secrets())


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _secrets() -> list[str]:
    """The values of voxdash's secrets, as configured now (longest first)."""
    values = [
        getattr(settings, "VOX_API_KEY", ""),
        getattr(settings, "VOX_WEBHOOK_SECRET", ""),
        getattr(settings, "VOXDASH_ALERT_WEBHOOK_SECRET", ""),
        getattr(settings, "SECRET_KEY", ""),
        *getattr(settings, "VOXDASH_ALERT_URLS", []),
    ]
    for database in getattr(settings, "DATABASES", {}).values():
        values.append(database.get("PASSWORD") or "")
    for mailer in getattr(settings, "MAILERS", {}).values():
        values.append((mailer.get("OPTIONS") or {}).get("password") or "")
    urls = [getattr(settings, "CELERY_BROKER_URL", "")]
    urls += [str(cache.get("LOCATION", "")) for cache in getattr(settings, "CACHES", {}).values()]
    for url in urls:
        if "://" in url:
            values.append(urlsplit(url).password or "")
    return sorted(
        {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )


def _replace(value, secrets: list[str]):
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        return {key: _replace(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(item, secrets) for item in value]
    return value
