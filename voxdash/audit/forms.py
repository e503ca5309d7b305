from datetime import date

from django import forms

from voxdash.lib.widgets import DateInput

from .models import AuditEntry
from .selectors import AuditFilters


class FixedChoicesSelect(forms.Select):
    """A <select> whose choices are fixed in the code (the actions), its HTML made by Django once
    per name, value and attributes, then kept for the process: Django writes each of the 36 options
    through two templates, 1.6 ms every page and every htmx swap, as much as the rest of the
    filters. Only a value among the choices is kept, so what is kept stays a few dozen pieces
    whatever the query strings ask."""

    # Shared by every form's copy of the widget (a form deep-copies its fields' widgets).
    _rendered: dict[tuple, str] = {}

    def render(self, name, value, attrs=None, renderer=None):
        values = tuple(self.format_value(value))
        key = (name, values, tuple(sorted(self.build_attrs(self.attrs, attrs).items())))
        html = self._rendered.get(key)
        if html is None:
            html = super().render(name, value, attrs, renderer)
            if set(values) <= {str(choice) for choice, _ in self.choices}:
                self._rendered[key] = html
        return html


# Dates outside this range are typos (as in the call history); refusing them also keeps the day
# arithmetic from overflowing.
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2100, 12, 31)


class AuditFiltersForm(forms.Form):
    """/audit/'s query string. A bad value is reported and dropped; the others still apply."""

    user = forms.CharField(
        required=False, max_length=150, strip=True, label="User", help_text="The user name, exactly."
    )
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEntry.Action.choices], widget=FixedChoicesSelect
    )
    date_from = forms.DateField(
        required=False,
        label="From",
        widget=DateInput,
        help_text="On or after this day.",
    )
    date_to = forms.DateField(
        required=False,
        label="To",
        widget=DateInput,
        help_text="On or before this day.",
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            raise forms.ValidationError(f"Enter a date between {FIRST_DATE.year} and {LAST_DATE.year}.")
        return day

    def clean_date_from(self) -> date | None:
        return self._clean_day("date_from")

    def clean_date_to(self) -> date | None:
        return self._clean_day("date_to")

    def clean(self):
        data = super().clean()
        # An inverted range would silently match nothing: say so and drop both ends.
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” is before “From”; the date range was ignored.")
            data.pop("date_from", None)
        return data

    def audit_filters(self) -> AuditFilters:
        """The valid filters (call after is_valid(); the bad ones are not in cleaned_data)."""
        data = getattr(self, "cleaned_data", {})
        return AuditFilters(
            user=data.get("user") or None,
            action=data.get("action") or None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
