"""CallFilters: one value for "which calls", in each of its shapes, made by the history's form."""

import re
from datetime import date
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse

from tests.stats.conftest import call_set  # noqa: F401  (the fixed call set, as a fixture)
from voxdash.calls.filters import CallFilters
from voxdash.calls.forms import CallFiltersForm
from voxdash.calls.mirror_query import mirror_calls

EVERY_FILTER = CallFilters(
    direction="outbound",
    status="completed",
    search="Ada",
    created_after=date(2026, 11, 20),
    created_before=date(2026, 11, 22),
    agent="agent-a",
    from_number="num-1",
    duration_min=0,
    duration_max=300,
    placed_by="ada",
    hour=0,
)


def test_empty_filters_are_false_and_the_api_can_answer_them():
    assert not CallFilters() and CallFilters().api_can_answer
    assert CallFilters(hour=0) and CallFilters(duration_min=0)  # 0 is set


@pytest.mark.parametrize(
    "filters, api",
    [
        (CallFilters(direction="inbound", status="failed", search="x"), True),
        (CallFilters(status="failed", created_after=date(2026, 11, 1)), False),
        (CallFilters(hour=0), False),
        (CallFilters(placed_by="ada"), False),
    ],
)
def test_whether_the_api_can_answer(filters, api):
    assert filters.api_can_answer is api
    assert filters.api_params() == {
        "direction": filters.direction,
        "status": filters.status,
        "search": filters.search,
    }


def test_query_string_and_hidden_inputs_are_what_the_form_reads_back(call_set):  # noqa: F811
    inputs = EVERY_FILTER.hidden_inputs()
    assert inputs[:4] == [
        ("direction", "outbound"),
        ("status", "completed"),
        ("search", "Ada"),
        ("created_after", "2026-11-20"),
    ]
    assert ("hour", "0") in inputs and ("duration_min", "0") in inputs
    assert [name for name, _ in EVERY_FILTER.hidden_inputs(without=("search",))] == [
        name for name, _ in inputs if name != "search"
    ]
    form = CallFiltersForm(dict(parse_qsl(EVERY_FILTER.query_string())))
    assert form.is_valid(), form.errors
    assert form.call_filters() == EVERY_FILTER
    url = urlsplit(EVERY_FILTER.history_url())
    assert url.path == reverse("calls:list") and dict(parse_qsl(url.query)) == dict(inputs)
    assert CallFilters().history_url() == reverse("calls:list")


def test_the_form_leaves_bad_values_unset(call_set):  # noqa: F811
    form = CallFiltersForm(
        {"status": "<x>", "direction": "inbound", "hour": "24", "page": "2", "limit": "50"}
    )
    form.is_valid()
    assert form.call_filters() == CallFilters(direction="inbound")
    assert form.paging() == (2, 50)
    assert CallFiltersForm({}).paging() == (1, 20)


def test_its_orm_filter_is_the_history_s(viewer_client, call_set):  # noqa: F811
    filters = CallFilters(
        created_after=date(2026, 11, 20),
        created_before=date(2026, 11, 22),
        status="completed",
        direction="outbound",
    )
    history = viewer_client.get(filters.history_url() + "&limit=100").context["history"]
    assert history.source == "mirror"
    assert (
        {c.id for c in history.calls}
        == set(mirror_calls(filters).values_list("vox_id", flat=True))
        == {"c02", "c07"}
    )
    export = viewer_client.get(reverse("calls:export") + "?" + filters.query_string())
    rows = b"".join(export.streaming_content).decode().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == ["c02", "c07"]


def test_the_history_links_keep_the_filters_without_repeating_htmx_attributes(viewer_client, call_set):  # noqa: F811
    body = viewer_client.get(
        reverse("calls:list"), {"created_after": "2026-11-20", "status": "completed"}
    ).content
    body = body.decode()
    # Where htmx swaps and that it pushes the address: said once, on the list container.
    assert body.count('hx-target="#results"') == 1 and body.count('hx-push-url="true"') == 1
    assert re.search(r'id="changelist" data-hx-target="#results" data-hx-push-url="true"', body)
    assert 'hx-get="?' not in body  # links are boosted plain links, not an hx-get each
    hidden = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', body)
    assert ("created_after", "2026-11-20") in hidden and ("status", "completed") in hidden
    failed = unescape(re.search(r'href="(\?[^"]*status=failed[^"]*)"', body).group(1))
    assert "created_after=2026-11-20" in failed
