"""Channels from VOXDASH_ALERT_URLS: one AlertChannel row per URL, its URL kept in the environment.

The rows exist so that deliveries, the channel list and the history have something to point at;
the URL itself (tokens, passwords) is read from the settings when sending and never written to the
database. `alert_channels_sync_environment` runs at the start of every sending run and before each
notice is queued: cheap (one query when nothing changed) and idempotent. A URL that leaves the
setting disables its row rather than deleting it, so its history stays.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from . import channels
from .models import AlertChannel

logger = logging.getLogger("voxdash.alerts")

# Entries already reported as unusable, so that a bad URL is one log line per process, not one
# every 15 seconds. (index, scheme): the URL itself is secret and never logged.
_reported: set[tuple[int, str]] = set()


def environment_url(channel: AlertChannel) -> str:
    """The URL a channel sends to: its own, or its entry of VOXDASH_ALERT_URLS.
    UnusableURL when an environment channel's entry is gone."""
    if not channel.from_environment:
        return channel.url.strip()
    urls = settings.VOXDASH_ALERT_URLS
    index = channel.environment_index
    if index is None or index >= len(urls):
        raise channels.UnusableURL("its URL is no longer in VOXDASH_ALERT_URLS")
    return urls[index]


def signing_secret(channel: AlertChannel) -> str:
    """What signs a webhook channel's deliveries: VOXDASH_ALERT_WEBHOOK_SECRET for the environment's
    channels when it is set (so receivers can be configured before voxdash first runs), else the
    secret generated into the channel's row."""
    if channel.from_environment and settings.VOXDASH_ALERT_WEBHOOK_SECRET:
        return settings.VOXDASH_ALERT_WEBHOOK_SECRET
    return channel.signing_secret


def alert_channels_sync_environment() -> list[AlertChannel]:
    """Make or update the rows of VOXDASH_ALERT_URLS; disable those whose URL left it.
    Returns the environment's enabled channels."""
    rows = {row.environment_index: row for row in AlertChannel.objects.filter(from_environment=True)}
    current: list[AlertChannel] = []
    for index, url in enumerate(settings.VOXDASH_ALERT_URLS):
        try:
            kind, service = channels.kind_of(url)
        except channels.UnusableURL as exc:
            key = (index, channels.scheme_of(url))
            if key not in _reported:
                _reported.add(key)
                logger.error(
                    "VOXDASH_ALERT_URLS entry %s refused: %s",
                    index + 1,
                    exc,
                    extra={"fields": {"entry": index + 1, "scheme": key[1] or "-"}},
                )
            continue
        wanted = {
            "name": f"Environment {index + 1} ({service})",
            "kind": kind,
            "url": "",
            "every_rule": True,
            "enabled": True,
        }
        row = rows.pop(index, None)
        if row is None:
            row = _create(index, wanted)
            if row is None:
                continue
        else:
            changed = [field for field, value in wanted.items() if getattr(row, field) != value]
            if changed:
                for field in changed:
                    setattr(row, field, wanted[field])
                row.save(update_fields=changed)
        current.append(row)
    # Left the setting (or no longer usable): off, with their deliveries kept.
    gone = [row.pk for row in rows.values() if row.enabled]
    if gone:
        AlertChannel.objects.filter(pk__in=gone).update(enabled=False)
    return current


def _create(index: int, wanted: dict) -> AlertChannel | None:
    name = wanted["name"]
    if AlertChannel.objects.filter(name=name).exists():
        # A channel made in the admin took the name: ours says where it comes from.
        wanted = {**wanted, "name": f"{name} from VOXDASH_ALERT_URLS"}
    try:
        # A savepoint: two workers starting at once both try to create the row; the loser's
        # IntegrityError must not spoil the evaluation's transaction it may run in.
        with transaction.atomic():
            return AlertChannel.objects.create(from_environment=True, environment_index=index, **wanted)
    except IntegrityError:
        return AlertChannel.objects.filter(from_environment=True, environment_index=index).first()
