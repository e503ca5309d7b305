"""The stats page at /stats/: pictures that link to the calls they count, under the strict CSP."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from voxdash.stats.charts import nice_max

URL = reverse("stats:overview")
PERIOD = {"period": "custom", "start": "2026-11-20", "end": "2026-11-22"}


def links(body: str, chart_id: str) -> dict[str, dict]:
    """The chart's bar links: their <title> → their query string."""
    figure = body[body.index(f'id="chart-{chart_id}"') :]
    svg = figure[figure.index('class="chart-svg"') :]
    svg = svg[: svg.index("</svg>")]
    return {
        unescape(title): {k: v[0] for k, v in parse_qs(urlsplit(unescape(href)).query).items()}
        for href, title in re.findall(r'<a href="([^"]+)"><rect [^>]*><title>([^<]+)</title>', svg)
    }


def test_anonymous_is_sent_to_login(client, db):
    assert client.get(URL).status_code == 302


def test_charts_show_the_hand_computed_figures(viewer_client, call_set):
    response = viewer_client.get(URL, PERIOD)
    assert response.status_code == 200
    body = response.content.decode()
    assert [c.id for c in response.context["charts"]] == [
        "per-day",
        "rates",
        "durations",
        "hours",
        "failures",
        "directions",
    ]
    per_day = links(body, "per-day")
    assert per_day["21 Nov: 2 completed"] == {
        "created_after": "2026-11-21",
        "created_before": "2026-11-21",
        "status": "completed",
    }
    assert per_day["22 Nov: 1 in progress"]["status"] == "in_progress"
    assert len(per_day) == 8  # one segment per (day, status) with calls
    assert links(body, "hours")["14:00–14:59: 3 calls"] == {
        "created_after": "2026-11-20",
        "created_before": "2026-11-22",
        "hour": "14",
    }
    assert links(body, "durations")["0:30–1:00: 2 calls"] == {
        "created_after": "2026-11-20",
        "created_before": "2026-11-22",
        "duration_min": "30",
        "duration_max": "59",
    }
    assert links(body, "failures")["Failed: 2 calls"]["status"] == "failed"
    assert links(body, "directions")["Inbound: 6 calls"]["direction"] == "inbound"
    assert "67%" in body and "56%" in body  # answered 6/9, completed 5/9
    assert '3:00</span> <span class="stat-label">average duration' in body  # 179.5 s, rounded
    assert '10:00</span> <span class="stat-label">p90 duration' in body


def test_segment_links_open_exactly_the_counted_calls(viewer_client, call_set):
    body = viewer_client.get(URL, PERIOD).content.decode()
    cases = [
        (links(body, "per-day")["21 Nov: 2 completed"], 2),
        (links(body, "hours")["14:00–14:59: 3 calls"], 3),
        (links(body, "durations")["0:30–1:00: 2 calls"], 2),
        (links(body, "failures")["Busy: 1 calls"], 1),
        (links(body, "directions")["Outbound: 4 calls"], 4),
    ]
    for query, count in cases:
        history = viewer_client.get(reverse("calls:list"), query).context["history"]
        assert history.source == "mirror" and history.meta.total == count, query


def test_accessible_and_csp_clean(viewer_client, call_set):
    body = viewer_client.get(URL, PERIOD).content.decode()
    # role="group", not "img": the bars are links, and an img may not contain links (axe: nested-interactive).
    assert body.count('role="group"') == 6 and body.count("<desc id=") == 6
    assert body.count('<details class="chart-data">') == 6
    assert "style=" not in body and "<style" not in body
    assert re.search(r"<script(?![^>]*nonce=)[^>]*>", body) is None


def test_agent_scope_links_carry_it(viewer_client, call_set):
    response = viewer_client.get(URL, {**PERIOD, "agent": "agent-a"})
    assert response.context["stats"].total == 2
    for query in links(response.content.decode(), "per-day").values():
        assert query["agent"] == "agent-a"


def test_empty_period_says_so(viewer_client, call_set):
    response = viewer_client.get(URL, {"period": "custom", "start": "2025-01-01", "end": "2025-01-02"})
    assert response.context["charts"] == [] and "No calls in this period" in response.content.decode()


@pytest.mark.parametrize("period", ["today", "7d", "30d"])
def test_named_periods_end_today(viewer_client, call_set, period):
    from django.utils import timezone

    response = viewer_client.get(URL, {"period": period})
    chosen = response.context["period"]
    assert chosen.last_day == timezone.localdate()
    assert len(chosen.days) == {"today": 1, "7d": 7, "30d": 30}[period]


@pytest.mark.parametrize(
    "params",
    [
        {"period": "custom", "start": "2026-11-22", "end": "2026-11-20"},
        {"period": "custom", "start": "2026-11-20"},
        {"period": "custom", "start": "x", "end": "2026-13-45"},
        {"period": "custom", "start": "0001-01-01", "end": "0001-01-02"},
        {"period": "custom", "start": "2020-01-01", "end": "2026-01-01"},
        {"period": "forever"},
        {"agent": "<script>"},
    ],
)
def test_bad_parameters_get_a_message_not_a_500(viewer_client, call_set, params):
    response = viewer_client.get(URL, params)
    assert response.status_code == 200
    assert "Some choices were ignored" in response.content.decode()
    assert len(response.context["period"].days) == 7


def test_nice_axis_maximum():
    assert [nice_max(v) for v in (0.5, 1, 3, 7, 10, 11, 49, 51, 999)] == [1, 1, 5, 10, 10, 20, 50, 100, 1000]


def test_nav_and_overview_link_to_stats(viewer_client, call_set):
    body = viewer_client.get(URL, PERIOD).content.decode()
    assert f'href="{URL}" aria-current="page">Stats<' in body
