"""Links of one URL pattern for many rows, reversed once a page instead of once a row."""

import re

from django.urls import reverse

# A value that URL quoting leaves as it is (ids, keys, numbers): its link is the pattern's, filled in.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+")


class RowLinks:
    """`RowLinks("calls:detail", sample="x").url(vox_id)` is `reverse("calls:detail", args=[vox_id])`.

    reverse() costs ~25 µs, and a list of 50 rows with two links each made 100 of them. Every
    link of a pattern differs only by its one argument, so the pattern is reversed once with a
    `sample` its converter accepts (a UUID for <uuid:…>, a number for <int:…>) and each value is
    put in the sample's place. A value that quoting would change still goes through reverse()
    itself, so its link (or NoReverseMatch) is reverse()'s. Values must be of the converter's
    kind (keys and ids from the database are).
    """

    def __init__(self, name: str, *, sample):
        self.name = name
        path = reverse(name, args=[sample])
        # The argument is the path's last variable part, so its sample is the last occurrence: the
        # prefix before it (VOXDASH_URL_PREFIX, "/voxdash/") may hold the same letters.
        self._head, found, self._tail = path.rpartition(str(sample))
        if not found or str(sample) in self._tail:
            raise ValueError(f"{name}: the sample {sample!r} must appear once after the prefix in {path!r}")

    def url(self, value) -> str:
        text = str(value)
        if _PLAIN.fullmatch(text):
            return f"{self._head}{text}{self._tail}"
        return reverse(self.name, args=[value])
