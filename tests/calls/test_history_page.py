"""What the history page shows, now that its rows and links are made in Python (issue 15): the
same times, phones, links and link targets as the template's own tags wrote, a capped count,
and a ceiling on its queries."""

import dataclasses
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from tests.stats.conftest import call_set  # noqa: F401  (the fixed call set, as a fixture)
from voxdash.calls import views
from voxdash.calls.history import call_history, call_rows
from voxdash.directory.models import Agent
from voxdash.lib.formatting import duration_text, phone_display
from voxdash.vox.types import Call, PageMeta

URL = reverse("calls:list")
ROW = re.compile(
    r'<tr class="call-row">\s*<td class="nowrap"><time datetime="([^"]+)">([^<]+)</time></td>\s*'
    r'<td><a href="([^"]+)">([^<]+)</a></td>\s*<td class="nowrap">([^<]+)</td>\s*<td>([^<]+)</td>\s*'
    r'<td><span class="badge badge-[a-z_]+">([^<]+)</span></td>\s*<td class="numeric">([^<]+)</td>'
)
FILTERS = [
    {},
    {"page": "2", "limit": "50"},
    {"status": "completed"},
    {"direction": "inbound", "page": "2"},
    {"search": "Adébáyọ̀"},
    {"limit": "100", "status": "failed"},
    {"status": "completed", "page": "3", "search": "a", "foo": "kept"},
]


def tag_href(query: dict, changes: dict) -> str:
    """The href {% querystring %} writes for `changes` over `query` (what the page had before)."""
    request = RequestFactory().get(URL, query)
    template = Template("{% autoescape off %}{% querystring request.GET changes %}{% endautoescape %}")
    return template.render(Context({"request": request, "changes": changes}))


def hrefs(body: str, pattern: str) -> list[str]:
    return [unescape(h) for h in re.findall(pattern, body)]


@pytest.mark.parametrize("query", FILTERS, ids=[str(f) for f in FILTERS])
def test_rows_show_each_call_as_before(viewer_client, settings, query):
    settings.TIME_ZONE = "Africa/Lagos"  # not UTC: the times shown are the viewer's
    response = viewer_client.get(URL, query)
    calls = response.context["history"].calls
    shown = ROW.findall(response.content.decode())
    assert calls and len(shown) == len(calls)
    zone = ZoneInfo("Africa/Lagos")
    for call, (iso, text, href, name, phone, direction, status, duration) in zip(calls, shown, strict=True):
        local = call.created_at.astimezone(zone)
        assert iso == local.isoformat(timespec="seconds")
        assert text == date_format(local, "j M Y, H:i")  # the |date filter's own text
        assert href == reverse("calls:detail", args=[call.id])
        assert unescape(name) == (call.customer_name or "—")
        assert phone == phone_display(call.customer_phone) and phone.startswith("+")
        assert direction == call.direction.capitalize()
        assert status and unescape(duration) == duration_text(call.duration_seconds)


@pytest.mark.parametrize("query", FILTERS, ids=[str(f) for f in FILTERS])
def test_links_lead_where_the_template_tags_led(viewer_client, query):
    response = viewer_client.get(URL, query)
    body = response.content.decode()
    panel = re.search(r'<nav id="changelist-filter".*?</nav>', body, re.DOTALL).group(0)
    filters = hrefs(panel, r'<li(?: class="selected")?><a href="([^"]*)"')
    expected = [tag_href(query, {"direction": v or None, "page": None}) for v in ("", "inbound", "outbound")]
    assert filters[:3] == expected
    assert tag_href(query, {"status": "busy", "page": None}) in filters
    nav = re.search(r'<nav class="paginator".*?</nav>', body, re.DOTALL).group(0)
    pages, sizes = nav.split('<span class="page-size">')
    page_links = re.findall(r'href="([^"]*)">(\d+)</a>', pages)
    assert bool(page_links) == (response.context["history"].meta.total_pages > 1)
    assert all(unescape(h) == tag_href(query, {"page": n}) for h, n in page_links)
    size_links = re.findall(r'href="([^"]*)">(\d+)</a>', sizes)
    assert len(size_links) == 2
    assert all(unescape(h) == tag_href(query, {"limit": n, "page": None}) for h, n in size_links)
    export = unescape(re.search(r'id="export-link" href="([^"]+)"', body).group(1))
    assert export == reverse("calls:export") + tag_href(query, {"page": None, "limit": None})


def test_an_id_that_needs_quoting_gets_django_s_own_url():
    created = timezone.now()
    call = Call(
        id="call ü+1",
        business_id=None,
        direction="inbound",
        status="voicemail",
        customer_phone="",
        customer_name=None,
        duration_seconds=None,
        started_at=None,
        ended_at=None,
        created_at=created,
        raw={},
    )
    (row,) = call_rows(calls=[call])
    assert row["url"] == reverse("calls:detail", args=["call ü+1"]) and "%C3%BC" in row["url"]
    assert (row["customer"], row["phone"], row["duration"]) == ("—", "—", "—")


def capped(monkeypatch, *, page: int, has_more: bool):
    """The history view given a capped count (as helper B's mirror query makes for a large match)."""

    def history(**kwargs):
        real = call_history(**{**kwargs, "page": 1})
        meta = PageMeta(
            total=10_000,
            page=page,
            per_page=20,
            total_pages=500,
            has_more=has_more,
            total_is_lower_bound=True,
        )
        return dataclasses.replace(real, meta=meta)

    monkeypatch.setattr(views, "call_history", history)


def test_a_capped_count_says_at_least_and_offers_next(viewer_client, monkeypatch):
    capped(monkeypatch, page=3, has_more=True)
    body = viewer_client.get(URL, {"status": "completed", "page": 3}).content.decode()
    count = " ".join(re.search(r'id="result-count">(.*?)<span', body, re.DOTALL).group(1).split())
    assert count == "10,000+ calls match these filters · page 3"
    nav = re.search(r'<nav class="paginator".*?</nav>', body, re.DOTALL).group(0)
    assert 'aria-current="page">3<' in nav
    assert ">500<" not in nav and ">499<" not in nav  # the cap is no last page
    assert re.findall(r">(\d+)</a>", nav)[:4] == ["1", "2", "4", "5"] and '<span class="ellipsis">' in nav
    following = unescape(re.search(r'<a href="([^"]+)" rel="next">Next</a>', nav).group(1))
    assert following == "?status=completed&page=4"


def test_a_capped_count_past_its_cap_still_pages_on(viewer_client, monkeypatch):
    capped(monkeypatch, page=501, has_more=True)
    nav = re.search(
        r'<nav class="paginator".*?</nav>', viewer_client.get(URL, {"page": 501}).content.decode(), re.S
    )
    assert 'aria-current="page">501<' in nav.group(0) and 'href="?page=502" rel="next"' in nav.group(0)


def test_the_last_page_of_a_capped_count_has_no_next(viewer_client, monkeypatch):
    capped(monkeypatch, page=500, has_more=False)
    body = viewer_client.get(URL, {"page": 500}).content.decode()
    assert "10,000+ calls" in body and 'rel="next"' not in body and 'aria-current="page">500<' in body


def test_an_exact_count_keeps_its_last_page_and_no_next(viewer_client):
    body = viewer_client.get(URL, {"page": 7}).content.decode()
    assert "300 calls" in body and "· page 7 of 15" in body and "300+" not in body
    assert '<a href="?page=15">15</a>' in body and 'rel="next"' not in body


PICKER_TABLES = ("directory_agent", "directory_voicenumber", "placements_placedcall", "calls_call")


def test_the_page_s_queries_have_a_ceiling(viewer_client, synced):
    viewer_client.get(URL)  # the session learns the time zone; the mirror's facts are cached
    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get(URL, {"status": "completed", "page": 2})
    assert response.status_code == 200 and response.context["history"].source == "api"
    sql = [q["sql"] for q in queries.captured_queries]
    # The pickers and "does the mirror hold calls" come from the cache, not four queries a page.
    assert not [s for s in sql if any(table in s for table in PICKER_TABLES)], sql
    assert len(sql) <= 3, sql  # the session, the user, the user's role


def test_a_link_to_a_new_agent_s_calls_is_not_refused_for_a_cached_list(viewer_client, call_set):  # noqa: F811
    assert "agent: " not in viewer_client.get(URL, {"agent": "agent-a"}).content.decode()
    Agent.objects.create(vox_id="agent-new", name="Newly synced", status="active")
    response = viewer_client.get(URL, {"agent": "agent-new"})  # the cached list predates it
    assert "Some filters were ignored" not in response.content.decode()
    assert response.context["filters"].agent == "agent-new"
    assert '<option value="agent-new" selected>Newly synced</option>' in response.content.decode()


def test_a_list_without_a_total_is_shown_as_a_lower_bound(viewer_client, simulator, monkeypatch):
    """The contract lets Vox leave `total` out (PageMeta.total None): the page says how many calls
    it knows of so far and offers "Next", where the pager used to fail on range(None) (a 500)."""
    real = call_history.__globals__["get_client"]()

    class NoTotals:
        def list_calls(self, **params):
            page = real.list_calls(**params)
            meta = dataclasses.replace(page.meta, total=None, total_pages=None, has_more=True)
            return dataclasses.replace(page, meta=meta)

    monkeypatch.setattr("voxdash.calls.history.get_client", NoTotals)
    response = viewer_client.get(URL, {"page": "2"})
    assert response.status_code == 200
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())
    assert "40+ calls" in text and "page 2" in text and "Next" in text
