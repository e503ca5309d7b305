"""How Vox values look to people: phone numbers, durations, statuses."""

import json

from django import template

from voxdash.lib.formatting import duration_text, html_datetime, phone_display
from voxdash.vox.statuses import status_badge, status_label

register = template.Library()


register.filter("phone", phone_display)


register.filter("duration", duration_text)


register.filter(
    "html_datetime", html_datetime
)  # for <time datetime="…">: not date:'c', whose µs HTML refuses


register.filter("status_label", status_label)  # the vocabulary's own rules, as filters
register.filter("status_badge", status_badge)


@register.filter
def kind(error) -> str:
    """An error's class name, e.g. "VoxRateLimited": a stable hook for tests and styling."""
    return type(error).__name__


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
