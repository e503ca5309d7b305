from datetime import date, timedelta

from django import forms

from voxdash.calls.filters import CallFilters
from voxdash.calls.forms import FIRST_DATE, LAST_DATE, PLACED_ONLY_HELP, agent_choices, number_choices
from voxdash.lib.widgets import DateInput

from .selectors import Period

PERIODS = {"today": 1, "7d": 7, "30d": 30}
DEFAULT_PERIOD = "7d"
MAX_DAYS = 366  # a bar per day: beyond a year the bars are thinner than a pixel


class StatsFiltersForm(forms.Form):
    """The stats page's query string. Bad values are reported and the default period applies."""

    period = forms.ChoiceField(
        required=False,
        choices=[("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("custom", "Custom")],
    )
    start = forms.DateField(required=False, label="From", widget=DateInput)
    end = forms.DateField(required=False, label="To", widget=DateInput)
    agent = forms.ChoiceField(required=False, help_text=PLACED_ONLY_HELP)
    from_number = forms.ChoiceField(required=False, label="From number", help_text=PLACED_ONLY_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", "All agents"), *agent_choices()]
        self.fields["from_number"].choices = [("", "All numbers"), *number_choices()]

    def clean(self):
        data = super().clean()
        if data.get("period") != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        if not start or not end:
            self.add_error("end", "A custom period needs both dates.")
        elif not (FIRST_DATE <= start <= LAST_DATE and FIRST_DATE <= end <= LAST_DATE):
            self.add_error("end", f"Enter dates between {FIRST_DATE.year} and {LAST_DATE.year}.")
        elif start > end:
            self.add_error("end", "“To” is before “From”.")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("end", f"Choose at most {MAX_DAYS} days.")
        return data

    def period_for(self, today: date) -> Period:
        """The chosen period (call after is_valid()); the last 7 days when the choice is unusable."""
        data = getattr(self, "cleaned_data", {})
        name = data.get("period") or DEFAULT_PERIOD
        if name == "custom":
            if "end" not in self.errors and data.get("start") and data.get("end"):
                return Period(data["start"], data["end"])
            name = DEFAULT_PERIOD
        return Period(today - timedelta(days=PERIODS[name] - 1), today)

    def scope(self) -> CallFilters:
        """The calls the figures are about, whatever the period (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        return CallFilters(agent=data.get("agent") or None, from_number=data.get("from_number") or None)
