"""An entry's `detail` in words, for /audit/ and its CSV: "12 added, 3 already listed (file dnc.csv)".

Sites record plain values under a few shared keys (below); this module is the one place that
says how each reads, so a new site writes `{"rows": 40}` and never formats anything itself. A key
not listed here still shows, as "key: value".

Keys of a dict are read in name order: PostgreSQL's jsonb keeps them in its own order (shortest
first), so the order they were written in is not there to follow.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format


def _when(value) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)  # the viewer's zone (UserTimeZoneMiddleware)
    return date_format(moment, "j M Y, H:i")


def _filters(value) -> str:
    if not value:
        return "no filters (everything)"
    return "filters: " + ", ".join(f"{name}={shown}" for name, shown in sorted(dict(value).items()))


# The fields of alert rules and channels as their forms name them.
FIELD_LABELS = {
    "enabled": "on",
    "window_minutes": "window (minutes)",
    "cooldown_minutes": "cooldown (minutes)",
    "channels": "also notify",
    "every_rule": "every rule",
    "url": "URL",
}


def _value(value) -> str:
    if value is True or value is False:
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def _changes(value) -> str:
    """{field: [before, after]} (None for "not there"): "threshold 30 → 40, on no → yes"."""
    parts = []
    for name, pair in sorted(dict(value).items()):
        label = FIELD_LABELS.get(name, name.replace("_", " "))
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            parts.append(f"{label} {_value(pair)}")
        elif pair[0] is None:
            parts.append(f"{label} {_value(pair[1])}")
        elif pair[1] is None:
            parts.append(f"{label} was {_value(pair[0])}")
        else:
            parts.append(f"{label} {_value(pair[0])} → {_value(pair[1])}")
    return ", ".join(parts)


def _count(one: str, many: str | None = None):
    """ "1 row", "1,200 rows"; `many` when the plural is not the singular with an s."""
    many = many or one

    def words(value) -> str:
        if not isinstance(value, int):
            return f"{value} {many}"
        return f"{value:,} {one if value == 1 else many}"

    return words


# key -> how its value reads, in the order the phrases are joined.
PHRASES = {
    "message": str,  # the admin's change message, already words
    "filters": _filters,
    "changed": _changes,  # the alert pages' changes to a rule or a channel
    "place_at": lambda value: f"for {_when(value)}",
    "window_confirmed": lambda value: "outside the business hours, confirmed" if value else "",
    "rows": _count("row", "rows"),
    "added": _count("added"),
    "already": _count("already listed"),
    "invalid": _count("invalid"),
    "not_dialled": _count("row not dialled", "rows not dialled"),
    "file": lambda value: f"file {value}",
    "groups": lambda value: f"groups: {value}",  # a user's, after an admin's change
    "access": lambda value: f"access: {value}",
    "outcome": lambda value: f"outcome: {value}",
    "reason": lambda value: f"reason: {value}",
    "listed_for": lambda value: f"listed for: {value}",  # a do-not-call entry removed
    "paused_for": lambda value: f"paused for: {value}",  # a campaign resumed
}


def detail_words(detail: dict | None) -> str:
    """The detail as one line of words ("" when there is none)."""
    if not detail:
        return ""
    phrases = [PHRASES[key](detail[key]) for key in PHRASES if key in detail]
    phrases += [f"{key}: {value}" for key, value in sorted(detail.items()) if key not in PHRASES]
    return "; ".join(phrase for phrase in phrases if phrase)
