"""How Vox values look to people: phone numbers, durations, statuses."""

import functools

import phonenumbers
from django import template
from django.utils.html import format_html

from voxdash.vox.statuses import STATUS_LABELS, status_label

register = template.Library()


@register.filter
def phone(value: str | None) -> str:
    """+2348012345678 → "+234 801 234 5678"; anything unparseable is shown as it came."""
    if not value:
        return "—"
    return _format_phone(value)


# Parsing with phonenumbers costs ~50 µs; a 100-row page shows the same few hundred numbers.
@functools.lru_cache(maxsize=8192)
def _format_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter
def duration(seconds: int | None) -> str:
    """122 → "2:02"; 3723 → "1:02:03"; None (not started) → "—"."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


register.filter("status_label", status_label)  # the vocabulary's own rule, as a filter


# Statuses of numbers and agents share the badge colours of call outcomes.
OTHER_STATUS_CSS = {"active": "ok", "inactive": "canceled", "disabled": "canceled", "suspended": "failed"}


@register.filter
def status_badge(status: str):
    css = status if status in STATUS_LABELS else OTHER_STATUS_CSS.get(status, "unknown")
    return format_html('<span class="badge badge-{}">{}</span>', css, status_label(status))


@register.filter
def kind(error) -> str:
    """An error's class name, e.g. "VoxRateLimited": a stable hook for tests and styling."""
    return type(error).__name__


@register.filter
def pretty_json(value) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
