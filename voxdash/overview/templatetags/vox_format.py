"""How Vox values look to people: phone numbers, durations, statuses."""

import json
from functools import lru_cache

from django import template
from django.utils.html import format_html

from voxdash.lib.formatting import duration_text, html_datetime, phone_display
from voxdash.vox.statuses import STATUS_LABELS, status_label

register = template.Library()


register.filter("phone", phone_display)


register.filter("duration", duration_text)


register.filter(
    "html_datetime", html_datetime
)  # for <time datetime="…">: not date:'c', whose µs HTML refuses


register.filter("status_label", status_label)  # the vocabulary's own rule, as a filter


# Statuses of numbers and agents share the badge colours of call outcomes.
OTHER_STATUS_CSS = {"active": "ok", "inactive": "canceled", "disabled": "canceled", "suspended": "failed"}


@register.filter
# A list shows a handful of statuses on up to 100 rows: each one's badge is made once a process.
# Bounded, since Vox may send statuses this version does not know.
@lru_cache(maxsize=64)
def status_badge(status: str):
    css = status if status in STATUS_LABELS else OTHER_STATUS_CSS.get(status, "unknown")
    return format_html('<span class="badge badge-{}">{}</span>', css, status_label(status))


@register.filter
def kind(error) -> str:
    """An error's class name, e.g. "VoxRateLimited": a stable hook for tests and styling."""
    return type(error).__name__


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
