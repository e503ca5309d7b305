"""How Vox values look to people, and where a local day starts: one home for what the templates,
the CSV export, the stats and the history's date filters share (as Healthchecks keeps such
helpers in `hc/lib/`, not in an app)."""

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

import phonenumbers
from django.utils import timezone


# Parsing with phonenumbers costs ~50 µs; a 100-row page shows the same few hundred numbers.
@functools.lru_cache(maxsize=8192)
def phone_international(value: str) -> str:
    """+2348012345678 → "+234 801 234 5678"; anything unparseable is returned as it came."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_display(value: str | None) -> str:
    """As shown on a page: international format, or a dash when there is no number."""
    return phone_international(value) if value else "—"


def phone_e164(value: str, region: str) -> str | None:
    """The number in E.164 ("+2348012345678"), reading national forms as `region`'s; None when
    it is not a valid number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def duration_text(seconds: int | str | None) -> str:
    """122 → "2:02"; 3723 → "1:02:03"; None (not started) → "—"."""
    if seconds is None or seconds == "":
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def local_day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the active time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def start_of_today() -> datetime:
    return local_day_start(timezone.localdate())


def html_datetime(value: datetime | None, tz: tzinfo | None = None) -> str:
    """`value` in `tz` (default: the active zone) as <time datetime="…"> takes it: to the second.
    HTML allows at most three digits of a fraction; isoformat() and the `date:'c'` filter write six."""
    if value is None:
        return ""
    return value.astimezone(tz or timezone.get_current_timezone()).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Moment:
    """A time as a page shows it: `iso` for <time datetime="…">, `text` for people ("2 Dec 2026,
    09:05"), both in the viewer's zone. Made in Python once per value: the template filter `date`
    costs ~40 µs a call, and a page of history shows hundreds."""

    iso: str
    text: str


def moment(value: datetime | None, tz: tzinfo | None = None, *, seconds: bool = False) -> Moment | None:
    """`value` in `tz` (default: the active zone; pass it when formatting many)."""
    if value is None:
        return None
    local = value.astimezone(tz or timezone.get_current_timezone())
    # One strftime, and `local` is already in the zone (html_datetime would look it up again):
    # half the cost, for the hundreds a page makes.
    text = local.strftime("%b %Y, %H:%M:%S" if seconds else "%b %Y, %H:%M")
    return Moment(iso=local.isoformat(timespec="seconds"), text=f"{local.day} {text}")
