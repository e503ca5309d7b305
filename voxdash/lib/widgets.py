"""Typed inputs (date, time, datetime-local, number) that never write a value their type cannot hold.

A form shown again with its errors writes back what was sent. For `<input type="date"
value="2026-13-45">` or `type="number" value="abc"` that is invalid HTML, and a browser shows the
field empty anyway (it drops a value that does not fit the type): so it is dropped here too, and the
field's error message says what was wrong. Dates and times are written in the ISO forms these types
read, whatever the language's display formats.
"""

import re

from django import forms

# HTML's own syntaxes for these types (WHATWG "valid date string", "valid time string", "valid
# normalized local date and time string", "valid floating-point number").
_DATE = r"\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?"
SYNTAX = {
    "date": re.compile(_DATE),
    "time": re.compile(_TIME),
    "datetime-local": re.compile(f"{_DATE}[T ]{_TIME}"),
    "number": re.compile(r"-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?"),
}


def fits(input_type: str, value: str) -> bool:
    """Whether `value` is one `<input type=input_type>` may hold (a day past the month's end, such
    as 2026-02-30, passes: browsers drop it, but it is not worth a calendar here)."""
    return SYNTAX[input_type].fullmatch(value) is not None


class _FittingValue:
    input_type: str

    def format_value(self, value):
        value = super().format_value(value)
        return value if value is None or fits(self.input_type, str(value)) else None


class DateInput(_FittingValue, forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(_FittingValue, forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class DateTimeLocalInput(_FittingValue, forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class NumberInput(_FittingValue, forms.NumberInput):
    pass
