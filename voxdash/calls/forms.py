from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from functools import cached_property
from typing import ClassVar

from django import forms

from voxdash.directory.models import Agent, VoiceNumber
from voxdash.lib.widgets import fits
from voxdash.placements.models import PlacedCall
from voxdash.vox.statuses import STATUS_LABELS, status_label

from .filters import CallFilters

PAGE_SIZES = (20, 50, 100)

# Dates outside this range are typos; refusing them also keeps day arithmetic from overflowing.
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2100, 12, 31)
PLACED_ONLY_HELP = "Only calls placed through voxdash carry an agent and a from-number."


@dataclass(frozen=True)
class PanelChoices:
    """The side panel's pickers, as (value, label) pairs: agents, from-numbers, who placed calls."""

    agents: list[tuple[str, str]]
    numbers: list[tuple[str, str]]
    placed_by: list[tuple[str, str]]

    # The query parameter of each picker, and the list its value must be one of.
    PICKERS: ClassVar[dict[str, str]] = {
        "agent": "agents",
        "from_number": "numbers",
        "placed_by": "placed_by",
    }

    def lack_any(self, query: Mapping[str, str]) -> bool:
        """True when `query` picks a value these lists do not hold (they may be older than it)."""
        return any(
            query.get(name) and query.get(name) not in {value for value, _ in getattr(self, pairs)}
            for name, pairs in self.PICKERS.items()
        )


def panel_choices() -> PanelChoices:
    """The pickers' lists, read from the mirror now (three queries)."""
    return PanelChoices(agents=agent_choices(), numbers=number_choices(), placed_by=placed_by_choices())


class CallFiltersForm(forms.Form):
    """The history's query string, with the API's own parameter names and meanings.

    A bad value is reported and dropped; the rest of the filters still apply. `call_filters()`
    gives the valid ones as a `CallFilters`; the fields after `limit` are the mirror's own; dates
    are whole days in TIME_ZONE, both ends included.
    """

    direction = forms.ChoiceField(
        required=False, choices=[("", "All"), ("inbound", "Inbound"), ("outbound", "Outbound")]
    )
    # Not a ChoiceField: Vox may report statuses beyond the known ones, and each must be filterable
    # (the stats page links to them). The pattern keeps out anything that is not a status name.
    status = forms.RegexField(
        required=False,
        regex=r"^[a-z][a-z_]{0,31}$",
        error_messages={"invalid": "Not a call status (lower-case letters and underscores)."},
    )
    search = forms.CharField(required=False, max_length=100, strip=True)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    limit = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=PAGE_SIZES[0],
        choices=[(str(n), f"{n} per page") for n in PAGE_SIZES],
    )
    created_after = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Created on or after this day.",
    )
    created_before = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Created on or before this day.",
    )
    agent = forms.ChoiceField(required=False, label="Agent", help_text=PLACED_ONLY_HELP)
    from_number = forms.ChoiceField(required=False, label="From number", help_text=PLACED_ONLY_HELP)
    placed_by = forms.ChoiceField(
        required=False, label="Placed by", help_text="The voxdash user who placed the call."
    )
    duration_min = forms.IntegerField(
        required=False, min_value=0, max_value=86_400, label="Duration at least (s)"
    )
    duration_max = forms.IntegerField(
        required=False, min_value=0, max_value=86_400, label="Duration at most (s)"
    )
    # Not in the panel: the stats page's "busiest hours" bars link here.
    hour = forms.IntegerField(required=False, min_value=0, max_value=23, widget=forms.HiddenInput)

    def __init__(self, *args, choices: PanelChoices | None = None, **kwargs):
        """`choices`: the pickers' lists when the caller has them (the history page reads them
        from the cache); otherwise they are read from the mirror, and only if a picker's value
        is checked or the panel drawn (the CSV export of a search reads none)."""
        super().__init__(*args, **kwargs)
        if choices is not None:
            self.pickers = choices  # in the cached_property's place, so it never reads
        # Callables: Django evaluates them when the choices are used, not here.
        self.fields["agent"].choices = lambda: [("", "All"), *self.pickers.agents]
        self.fields["from_number"].choices = lambda: [("", "All"), *self.pickers.numbers]
        self.fields["placed_by"].choices = lambda: [("", "Anyone"), *self.pickers.placed_by]

    @cached_property
    def pickers(self) -> PanelChoices:
        return panel_choices()

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            raise forms.ValidationError(f"Enter a date between {FIRST_DATE.year} and {LAST_DATE.year}.")
        return day

    def clean_created_after(self) -> date | None:
        return self._clean_day("created_after")

    def clean_created_before(self) -> date | None:
        return self._clean_day("created_before")

    def clean(self):
        data = super().clean()
        # An inverted range would silently match nothing: say so and drop both ends.
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and after > before:
            self.add_error("created_before", "“To” is before “From”; the date range was ignored.")
            data.pop("created_after", None)
        low, high = data.get("duration_min"), data.get("duration_max")
        if low is not None and high is not None and low > high:
            self.add_error("duration_max", "The longest duration is below the shortest; ignored.")
            data.pop("duration_min", None)
        return data

    # The mirror-only filters offered in the side panel ("hour" is set by the stats page's links).
    MIRROR_PANEL_FIELDS = (
        "created_after",
        "created_before",
        "agent",
        "from_number",
        "placed_by",
        "duration_min",
        "duration_max",
    )

    def mirror_panel(self) -> list[dict]:
        """The side panel's inputs as plain data, values as typed (so a bad one can be corrected).

        The template writes them out itself: Django's widget templates were a quarter of the
        history page's rendering time, on every page, for a panel that is usually closed.
        """
        panel = []
        for name in self.MIRROR_PANEL_FIELDS:
            field = self.fields[name]
            if isinstance(field, forms.ChoiceField):
                kind = "select"
            elif isinstance(field, forms.DateField):
                kind = "date"
            else:
                kind = "number"
            value = self._typed(name, kind)
            panel.append(
                {
                    "name": name,
                    "label": field.label,
                    "help": field.help_text,
                    "kind": kind,
                    "value": value,
                    # (value, label, selected): which option is chosen is decided here, not by a
                    # comparison in the template for each of a few dozen agents and numbers.
                    "options": [(v, label, v == value) for v, label in field.choices]
                    if kind == "select"
                    else (),
                    "min": getattr(field, "min_value", None),
                    "max": getattr(field, "max_value", None),
                }
            )
        return panel

    def _typed(self, name: str, kind: str) -> str:
        """What was typed, unless a date or number input cannot hold it (invalid HTML, and browsers
        would show the field empty anyway): then the field's message says what was wrong."""
        value = self.data.get(name, "") if self.is_bound else ""
        return value if kind == "select" or not value or fits(kind, value) else ""

    def status_choices(self) -> list[tuple[str, str]]:
        """The filter panel's statuses: the known ones, and the current one if Vox invented it."""
        choices = [("", "All"), *STATUS_LABELS.items()]
        current = getattr(self, "cleaned_data", {}).get("status")
        if current and current not in STATUS_LABELS:
            choices.append((current, status_label(current)))
        return choices

    def call_filters(self) -> CallFilters:
        """The valid filters as one value (call after is_valid()); a bad one is left unset."""
        data = getattr(self, "cleaned_data", {})
        # "" is an unset text or choice; 0 is a real duration and a real hour.
        return CallFilters(
            **{
                name: None if data.get(name) in (None, "") else data[name]
                for name in (f.name for f in fields(CallFilters))
            }
        )

    def paging(self) -> tuple[int, int]:
        """(page, limit), the API's paging (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        return data.get("page") or 1, data.get("limit") or PAGE_SIZES[0]


def agent_choices() -> list[tuple[str, str]]:
    return [(vox_id, name) for vox_id, name in Agent.objects.order_by("name").values_list("vox_id", "name")]


def number_choices() -> list[tuple[str, str]]:
    return list(VoiceNumber.objects.order_by("phone_number").values_list("vox_id", "phone_number"))


def placed_by_choices() -> list[tuple[str, str]]:
    names = PlacedCall.objects.order_by("username").values_list("username", flat=True).distinct()
    return [(name, name) for name in names if name]
