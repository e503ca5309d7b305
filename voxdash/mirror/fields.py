"""The one truncation rule for everything written to the mirror: text is cut to its column's size.

One odd value from Vox (a 300-character name, a three-letter country) must not make PostgreSQL
refuse a whole page, and with it every later sync; SQLite would store it whole, so the rule is the
same on every database. Sizes are read from the models, so a migration that widens a column widens
the rule with it.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models


@functools.cache
def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    return {f.name: f.max_length for f in model._meta.concrete_fields if getattr(f, "max_length", None)}


def fitted(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """`values`, changed in place and returned, with every string cut to its column's max_length."""
    for name, size in _max_lengths(model).items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > size:
            values[name] = value[:size]
    return values
