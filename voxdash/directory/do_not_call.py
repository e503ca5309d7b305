"""The do-not-call list: what is on it (read by the guard on every dial) and changes to it.

Numbers are stored and compared in E.164 (`voxdash.lib.formatting.phone_e164`), so "0801 234
5678" and "+234 801 234 5678" are one entry.
"""

from collections.abc import Iterable

from .models import DoNotCallEntry


def dnc_contains(phone: str) -> bool:
    """Whether the E.164 `phone` is on the list."""
    return DoNotCallEntry.objects.filter(phone=phone).exists()


def dnc_among(phones: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers are on the list (one query per thousand)."""
    phones = list(phones)
    found: set[str] = set()
    for start in range(0, len(phones), 1000):
        chunk = phones[start : start + 1000]
        found.update(DoNotCallEntry.objects.filter(phone__in=chunk).values_list("phone", flat=True))
    return found
