"""Typed inputs write back only values their type can hold (voxdash.lib.widgets)."""

from datetime import date, datetime, time

import pytest
from django import forms

from voxdash.lib.widgets import DateInput, DateTimeLocalInput, NumberInput, TimeInput, fits


@pytest.mark.parametrize(
    "input_type, value, ok",
    [
        ("date", "2026-11-20", True),
        ("date", "2026-13-45", False),
        ("date", "x", False),
        ("date", "20/11/2026", False),
        ("time", "09:05", True),
        ("time", "24:00", False),
        ("datetime-local", "2026-11-20T09:05", True),
        ("datetime-local", "2026-11-20 09:05:07.123", True),
        ("datetime-local", "tomorrow", False),
        ("number", "30", True),
        ("number", "-1", True),
        ("number", "2.5", True),
        ("number", "1e3", True),
        ("number", "thirty", False),
        ("number", "1,000", False),
    ],
)
def test_fits_follows_html(input_type, value, ok):
    assert fits(input_type, value) is ok


class Form(forms.Form):
    day = forms.DateField(widget=DateInput)
    at = forms.TimeField(widget=TimeInput)
    when = forms.DateTimeField(widget=DateTimeLocalInput)
    count = forms.IntegerField(widget=NumberInput, min_value=1)


def test_a_bad_value_is_not_written_back_and_a_good_one_is():
    bad = Form({"day": "2026-13-45", "at": "25:00", "when": "soon", "count": "thirty"})
    assert not bad.is_valid() and set(bad.errors) == {"day", "at", "when", "count"}
    html = str(bad)
    for typed in ("2026-13-45", "25:00", "soon", "thirty"):
        assert f'value="{typed}"' not in html
    assert '<input type="number" name="count" min="1"' in html  # the field's own attributes stay

    good = Form({"day": "2026-11-20", "at": "09:05", "when": "2026-11-20T09:05", "count": "0"})
    html = str(good)
    for typed in ("2026-11-20", "09:05", "2026-11-20T09:05", "0"):
        assert f'value="{typed}"' in html  # kept even where it is out of range (the message says so)


def test_initial_values_are_written_in_the_forms_the_types_read_whatever_the_language():
    form = Form(
        initial={
            "day": date(2026, 11, 20),
            "at": time(9, 5),
            "when": datetime(2026, 11, 20, 9, 5),
            "count": 3,
        }
    )
    html = str(form)
    assert 'type="date" name="day" value="2026-11-20"' in html
    assert 'type="time" name="at" value="09:05"' in html
    assert 'type="datetime-local" name="when" value="2026-11-20T09:05"' in html
