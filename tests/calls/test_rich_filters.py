"""Filters the API cannot apply (dates, agent, number, duration, placed by): served from the mirror."""

import re
from html import unescape

import pytest
from django.urls import reverse

from tests.stats.conftest import call_set  # noqa: F401  (the fixed call set, as a fixture)
from voxdash.calls.forms import CallFiltersForm

URL = reverse("calls:list")


def ids(history) -> set[str]:
    return {c.id for c in history.calls}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"created_after": "2026-11-21"}, {"c04", "c05", "c06", "c07", "c08", "c09", "c10", "x02"}),
        ({"created_before": "2026-11-20"}, {"x01", "c01", "c02", "c03"}),
        # Whole local days: c04 (00:30 in Lagos, 23:30 UTC the day before) is on the 21st.
        ({"created_after": "2026-11-21", "created_before": "2026-11-21"}, {"c04", "c05", "c06", "c07"}),
        ({"duration_min": "45", "duration_max": "300"}, {"c02", "c05", "c07", "x01"}),
        ({"duration_min": "0", "duration_max": "12"}, {"c08"}),
        ({"agent": "agent-a"}, {"c02", "c07"}),
        ({"from_number": "num-1"}, {"c02", "c03"}),
        ({"placed_by": "ada"}, {"c07"}),
        ({"agent": "agent-a", "from_number": "num-1"}, {"c02"}),
        ({"hour": "14"}, {"c05", "c06", "c07"}),
        ({"hour": "0"}, {"c04", "x02"}),
        # Combined with the API's own filters.
        (
            {
                "created_after": "2026-11-20",
                "created_before": "2026-11-22",
                "status": "completed",
                "direction": "outbound",
            },
            {"c02", "c07"},
        ),
        ({"created_before": "2026-11-21", "search": "c0"}, {"c01", "c02", "c03", "c04", "c05", "c06", "c07"}),
    ],
)
def test_mirror_only_filters(viewer_client, call_set, simulator, params, expected):  # noqa: F811
    before = simulator.stats()["requests"].get("/v1/vox/calls", 0)
    response = viewer_client.get(URL, {**params, "limit": 100})
    history = response.context["history"]
    assert history.source == "mirror" and history.filtered_locally and history.error is None
    assert ids(history) == expected and history.meta.total == len(expected)
    body = response.content.decode()
    assert "These filters are applied to the local copy as of" in body and 'data-reason="filters"' in body
    # The API was not asked: it would have ignored these filters and answered with other calls.
    assert simulator.stats()["requests"].get("/v1/vox/calls", 0) == before


def test_api_filters_alone_still_ask_the_api(viewer_client, call_set):  # noqa: F811
    history = viewer_client.get(URL, {"status": "completed"}).context["history"]
    assert history.source == "api" and not history.filtered_locally


def test_mirror_filters_survive_paging_search_and_the_panel(viewer_client, call_set):  # noqa: F811
    response = viewer_client.get(URL, {"created_after": "2026-11-20", "duration_min": "1", "limit": 20})
    body = response.content.decode()
    # The search box keeps them as hidden inputs; status links and the export link carry them.
    assert '<input type="hidden" name="created_after" value="2026-11-20">' in body
    assert '<input type="hidden" name="duration_min" value="1">' in body
    status_link = unescape(re.search(r'href="(\?[^"]*status=failed[^"]*)"', body).group(1))
    assert "created_after=2026-11-20" in status_link and "duration_min=1" in status_link
    export = unescape(re.search(r'id="export-link" href="([^"]+)"', body).group(1))
    assert export.startswith(reverse("calls:export")) and "created_after=2026-11-20" in export
    assert "Only calls placed through voxdash carry an agent" in body
    assert 'value="2026-11-20"' in body and 'type="date"' in body


def test_paging_on_the_mirror(viewer_client, call_set):  # noqa: F811
    from datetime import timedelta

    from tests.stats.dataset import local
    from voxdash.calls.models import Call

    Call.objects.bulk_create(
        Call(
            vox_id=f"p{n:02}",
            direction="inbound",
            status="completed",
            customer_phone="+2348031111111",
            created_at=local("11-25 08:00") + timedelta(minutes=n),
        )
        for n in range(45)
    )
    seen = []
    for page in (1, 2, 3):
        history = viewer_client.get(URL, {"created_after": "2026-11-25", "page": page}).context["history"]
        assert history.meta.total == 45 and history.meta.total_pages == 3
        seen += [c.id for c in history.calls]
    assert seen == [f"p{n:02}" for n in reversed(range(45))]  # newest first, each call once


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"created_after": "2026-11-22", "created_before": "2026-11-20"}, "created_before", "is before"),
        ({"duration_min": "60", "duration_max": "10"}, "duration_max", "below the shortest"),
        ({"created_after": "2026-13-01"}, "created_after", "valid date"),
        ({"created_before": "0001-01-01"}, "created_before", "between 2000 and 2100"),
        ({"created_after": "9999-12-31"}, "created_after", "between 2000 and 2100"),
        ({"duration_min": "-5"}, "duration_min", "greater than or equal to 0"),
        ({"duration_max": "abc"}, "duration_max", "whole number"),
        ({"hour": "24"}, "hour", "less than or equal to 23"),
        ({"agent": "not-an-agent"}, "agent", "valid choice"),
        ({"placed_by": "nobody"}, "placed_by", "valid choice"),
    ],
)
def test_bad_values_get_a_message_not_a_500(viewer_client, call_set, params, field, message):  # noqa: F811
    response = viewer_client.get(URL, params)
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors and message in " ".join(form.errors[field])
    assert "Some filters were ignored" in response.content.decode()
    # Both ends of an inverted range are dropped: the list is not silently empty.
    assert form.call_filters().api_can_answer  # no filter only the mirror applies is left set


def test_form_keeps_zero_and_drops_inverted_ranges(call_set):  # noqa: F811
    form = CallFiltersForm({"duration_min": "0", "hour": "0"})
    assert form.is_valid()
    assert form.call_filters().duration_min == 0 and form.call_filters().hour == 0
