"""The side panel's filter links (templates/includes/filter_choices.html), as the Django admin's
changelist filters: one link per choice, keeping the other query parameters and going back to
the first page."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FilterChoice:
    label: str
    params: dict  # what the link changes in the current query string ({% querystring request.GET params %})
    selected: bool


def filter_choices(name: str, choices: Iterable[tuple[str, str]], current: str | None) -> list[FilterChoice]:
    """The links of one filter; the choice "" (All) removes the parameter."""
    return [
        FilterChoice(
            label=label, params={name: value or None, "page": None}, selected=(current or "") == value
        )
        for value, label in choices
    ]
