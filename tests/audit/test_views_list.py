"""/audit/: staff only, newest first, paged, filtered by user, action and days in the viewer's zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from voxdash.accounts.models import Profile
from voxdash.audit import selectors
from voxdash.audit.forms import AuditFiltersForm, FixedChoicesSelect
from voxdash.audit.log import Action, Target, audit_record
from voxdash.audit.models import AuditEntry

from .conftest import AUDIT, audit_rows

LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1 all year
HTMX = {"HX-Request": "true"}


def record(
    action=Action.DNC_ADDED, *, at: datetime | None = None, username: str = "cal", **fields
) -> AuditEntry:
    """An entry as a site records it, at a given moment (time_machine moves the clock it reads)."""
    with time_machine.travel(at or timezone.now(), tick=False):
        return audit_record(action=action, username=username, **fields)


def test_viewers_and_callers_get_403_and_no_entry_is_shown(client, viewer, caller, vox_settings):
    record(target=Target(type="do-not-call entry", label="+234 803 123 4560"))
    for person in (viewer, caller):
        client.force_login(person)
        response = client.get(AUDIT)
        assert response.status_code == 403
        assert "+234 803 123 4560" not in response.content.decode()
        assert client.get(AUDIT + "export.csv").status_code == 403


def test_each_row_says_when_who_from_where_what_on_which_object_with_a_link(auditor, staff):
    at = datetime(2026, 11, 20, 9, 30, 5, tzinfo=ZoneInfo("UTC"))
    record(
        Action.CALL_SCHEDULED,
        at=at,
        username="cal",
        target=Target(
            type="placed call", id="k1", label="+234 803 123 4560 (Adaeze Okonkwo)", url="/calls/placed/k1/"
        ),
        detail={"place_at": "2026-11-21T14:00:00+00:00", "window_confirmed": True},
    )
    AuditEntry.objects.filter(action=Action.CALL_SCHEDULED).update(remote_addr="198.51.100.4")

    [row] = [r for r in audit_rows(auditor) if r[3] == "Scheduled a call"]
    # The site's zone (UTC in the tests) for a viewer who chose none.
    assert row == [
        "20 Nov 2026, 09:30:05",
        "cal",
        "198.51.100.4",
        "Scheduled a call",
        "+234 803 123 4560 (Adaeze Okonkwo) placed call",
        "for 21 Nov 2026, 14:00; outside the business hours, confirmed",
    ]
    body = auditor.get(AUDIT).content.decode()
    assert '<a href="/calls/placed/k1/">+234 803 123 4560 (Adaeze Okonkwo)</a>' in body
    assert '<a href="?user=cal">cal</a>' in body  # who: a link to their entries


def test_worker_entries_say_voxdash_and_how_people_signed_in_is_shown(auditor):
    record(Action.CAMPAIGN_PAUSED, username="", detail={"reason": "Vox refused the key"})
    record(Action.SIGNED_IN, username="ada@corp", via=AuditEntry.Via.SSO)
    rows = audit_rows(auditor)
    assert ["voxdash", "—", "Paused a campaign", "—", "reason: Vox refused the key"] in [r[1:] for r in rows]
    assert any(r[1] == "ada@corp (Single sign-on)" and r[3] == "Signed in" for r in rows)


def test_newest_first_and_paged_by_the_shared_pager(auditor):
    start = timezone.now() - timedelta(days=2)
    for n in range(55):
        record(username=f"user{n:02}", at=start + timedelta(minutes=n))
    first = [row[1] for row in audit_rows(auditor, action=Action.DNC_ADDED)]
    assert first[0] == "user54" and first[49] == "user05" and len(first) == 50
    body = auditor.get(AUDIT, {"action": Action.DNC_ADDED}).content.decode()
    assert 'class="paginator"' in body and "page 1 of 2" in body
    assert 'href="?action=dnc_added&amp;page=2"' in body  # the pager keeps the filters
    second = [row[1] for row in audit_rows(auditor, action=Action.DNC_ADDED, page=2)]
    assert second == [f"user{n:02}" for n in range(4, -1, -1)]


def test_filter_by_user_and_by_action(auditor):
    record(Action.DNC_ADDED, username="cal")
    record(Action.DNC_REMOVED, username="cal")
    record(Action.DNC_ADDED, username="vera")
    assert {(r[1], r[3]) for r in audit_rows(auditor, user="cal")} == {
        ("cal", "Added to the do-not-call list"),
        ("cal", "Removed from the do-not-call list"),
    }
    assert [r[1] for r in audit_rows(auditor, action=Action.DNC_ADDED, user="vera")] == ["vera"]
    body = auditor.get(AUDIT, {"user": "nobody"}).content.decode()
    assert "No entries match these filters." in body and "0 entries match these filters" in body


def test_dates_are_whole_days_in_the_viewers_time_zone(auditor, staff):
    Profile.objects.create(user=staff, time_zone="Africa/Lagos")
    # 23:30 UTC on the 19th is 00:30 on the 20th in Lagos: the 20th's, for this viewer.
    record(username="late", at=datetime(2026, 11, 19, 23, 30, tzinfo=ZoneInfo("UTC")))
    record(username="day", at=datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("UTC")))
    # 23:30 UTC on the 20th is the 21st in Lagos.
    record(username="next", at=datetime(2026, 11, 20, 23, 30, tzinfo=ZoneInfo("UTC")))
    rows = audit_rows(auditor, date_from="2026-11-20", date_to="2026-11-20", action=Action.DNC_ADDED)
    assert [r[1] for r in rows] == ["day", "late"]
    assert rows[1][0] == "20 Nov 2026, 00:30:00"  # shown in Lagos time too
    assert [r[1] for r in audit_rows(auditor, date_from="2026-11-21", action=Action.DNC_ADDED)] == ["next"]
    assert [r[1] for r in audit_rows(auditor, date_to="2026-11-19", action=Action.DNC_ADDED)] == []


@pytest.mark.parametrize(
    "params, message",
    [
        ({"action": "dropped_tables"}, "Select a valid choice"),
        ({"date_from": "2026-13-45"}, "Enter a valid date"),
        ({"date_from": "2026-11-21", "date_to": "2026-11-20"}, "“To” is before “From”"),
        ({"date_to": "1066-10-14"}, "Enter a date between 2000 and 2100"),
        ({"page": "-3"}, "greater than or equal to 1"),
    ],
)
def test_a_bad_filter_is_reported_and_dropped_the_others_still_apply(auditor, params, message):
    record(Action.DNC_ADDED, username="cal")
    record(Action.DNC_ADDED, username="vera")
    response = auditor.get(AUDIT, {**params, "user": "cal"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Some filters were ignored" in body and message in body
    assert [r[1] for r in audit_rows(auditor, **params, user="cal")] == ["cal"]


def test_htmx_gets_the_results_and_the_filters_out_of_band(auditor):
    record(Action.DNC_ADDED, username="cal")
    response = auditor.get(AUDIT, {"user": "cal"}, headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'class="audit-row' in body
    assert 'id="changelist-filter"' in body and 'hx-swap-oob="true"' in body
    assert 'value="cal"' in body  # the filter form shows what it filters by
    full = auditor.get(AUDIT, {"user": "cal"}).content.decode()
    assert "<html" in full and 'hx-target="#results"' in full and 'hx-push-url="true"' in full


def test_there_is_no_way_to_change_or_delete_an_entry_from_the_pages(auditor):
    entry = record(Action.DNC_ADDED, username="cal")
    for method in ("post", "put", "delete"):
        assert getattr(auditor, method)(AUDIT).status_code == 405
    assert getattr(auditor, "post")(AUDIT + "export.csv").status_code == 405
    assert AuditEntry.objects.filter(pk=entry.pk, username="cal").exists()
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_the_page_costs_one_count_and_one_select_of_the_log_whatever_the_filters(auditor):
    for n in range(120):
        record(Action.DNC_ADDED if n % 2 else Action.SIGNED_IN, username=f"u{n % 3}")
    auditor.get(AUDIT)  # the first page of a session also stores the session's time zone
    for params in ({}, {"action": Action.DNC_ADDED}, {"user": "u1", "date_from": "2026-01-01"}, {"page": 2}):
        with CaptureQueriesContext(connection) as queries:
            assert auditor.get(AUDIT, params).status_code == 200
        of_the_log = [q["sql"] for q in queries if "audit_auditentry" in q["sql"]]
        assert len(of_the_log) == 2, of_the_log
        count, rows = of_the_log
        assert "COUNT(" in count.upper() and "JOIN" not in rows.upper()
        assert " LIMIT " in rows.upper()  # one page, never the table


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 5, a count capped at 20, pages past the 20th entry read as deep ones (ids from the
    index first): the cap's and the deep pages' behaviour without 10,000 entries."""
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    monkeypatch.setattr(selectors, "COUNT_CAP", 20)
    monkeypatch.setattr(selectors, "DEEP_AFTER", 20)


def result_count(client, **params) -> str:
    body = client.get(AUDIT, params).content.decode()
    [line] = re.findall(r'<p class="result-count"[^>]*>(.*?)\.\s', body, flags=re.S)
    return line


def page_links(client, **params) -> list[str]:
    """The page numbers the pager links to."""
    body = client.get(AUDIT, params).content.decode()
    [pager] = re.findall(r'<nav class="paginator".*?</nav>', body, flags=re.S)
    return re.findall(r'page=(\d+)"', pager)


def test_more_entries_than_the_cap_read_as_a_lower_bound_and_every_page_still_shows(auditor, small_pages):
    start = timezone.now() - timedelta(days=2)
    for n in range(60):  # user59 is the newest
        record(username=f"user{n:02}", at=start + timedelta(minutes=n))
    assert result_count(auditor, action=Action.DNC_ADDED) == "20+ entries match these filters · page 1"
    # The next page is offered, the last one (12) is not: the capped count does not know it.
    first_links = page_links(auditor, action=Action.DNC_ADDED)
    assert "2" in first_links and "12" not in first_links
    first = auditor.get(AUDIT, {"action": Action.DNC_ADDED}).content.decode()
    assert 'href="?action=dnc_added&amp;page=2" rel="next"' in first

    # A page past the cap: its own rows, in order, and a link to the next one.
    deep = audit_rows(auditor, action=Action.DNC_ADDED, page=10)
    assert [row[1] for row in deep] == ["user14", "user13", "user12", "user11", "user10"]
    assert result_count(auditor, action=Action.DNC_ADDED, page=10) == (
        "20+ entries match these filters · page 10"
    )
    assert "11" in page_links(auditor, action=Action.DNC_ADDED, page=10)

    # The last page knows the count exactly; a number past it shows the last page, as before.
    for number in (12, 13, 500):
        assert [row[1] for row in audit_rows(auditor, action=Action.DNC_ADDED, page=number)] == [
            f"user{n:02}" for n in range(4, -1, -1)
        ]
        assert result_count(auditor, action=Action.DNC_ADDED, page=number) == (
            "60 entries match these filters · page 12 of 12"
        )
    assert 'rel="next"' not in auditor.get(AUDIT, {"action": Action.DNC_ADDED, "page": 12}).content.decode()

    # Below the cap, the count is exact, as are the filters.
    assert result_count(auditor, user="user07") == "1 entry matches these filters"
    record(Action.DNC_REMOVED, username="user07")
    assert result_count(auditor, user="user07") == "2 entries match these filters"
    assert [r[3] for r in audit_rows(auditor, user="user07")] == [
        "Removed from the do-not-call list",
        "Added to the do-not-call list",
    ]


def test_a_capped_page_costs_one_capped_count_and_one_select_deep_or_not(auditor, small_pages):
    for n in range(60):
        record(username=f"u{n % 3}")
    auditor.get(AUDIT)
    for params in ({}, {"page": 9}, {"action": Action.DNC_ADDED, "page": 3}):
        with CaptureQueriesContext(connection) as queries:
            assert auditor.get(AUDIT, params).status_code == 200
        count, rows = [q["sql"] for q in queries if "audit_auditentry" in q["sql"]]
        assert "COUNT(" in count.upper() and "LIMIT 21" in count.upper()  # stops at the cap
        assert "JOIN" not in rows.upper() and " LIMIT " in rows.upper()
        # Past DEEP_AFTER, the page's ids come from a subquery of the index.
        assert ("IN (SELECT" in rows.upper()) == (params.get("page", 1) > 4)


def test_the_whole_page_stays_within_a_query_ceiling(auditor, django_assert_max_num_queries):
    for n in range(60):
        record(username=f"u{n % 3}")
    auditor.get(AUDIT)
    # The log's two, and what any staff page pays (session, user, permissions, the open alerts).
    with django_assert_max_num_queries(6):
        assert auditor.get(AUDIT, {"page": 2}).status_code == 200


def test_an_index_serves_the_order_and_each_filter(db):
    # Each ends in the whole order (at, id): a page's ids come from the index alone.
    indexes = {tuple(index.fields) for index in AuditEntry._meta.indexes}
    assert {("-at", "-id"), ("action", "-at", "-id"), ("username", "-at", "-id")} <= indexes
    with connection.cursor() as cursor:
        names = {
            name
            for name, info in connection.introspection.get_constraints(
                cursor, AuditEntry._meta.db_table
            ).items()
            if info["index"]
        }
    assert {"audit_newest", "audit_action_newest", "audit_username_newest"} <= names


@pytest.mark.parametrize(
    "detail, words",
    [
        ({}, ""),
        ({"rows": 1, "file": "a.csv"}, "1 row; file a.csv"),
        ({"rows": 12_000}, "12,000 rows"),
        ({"filters": {}}, "no filters (everything)"),
        ({"message": "Changed Groups.", "groups": "Callers"}, "Changed Groups.; groups: Callers"),
        ({"window_confirmed": False, "outcome": "Applied"}, "outcome: Applied"),
        ({"place_at": "not a time"}, "for not a time"),
        (
            {"changed": {"threshold": [30, 40], "name": [None, "Calls failing"], "url": ["•••", None]}},
            "name Calls failing, threshold 30 → 40, URL was •••",
        ),
        (
            {
                "changed": {
                    "enabled": [True, False],
                    "channels": [[], ["Ops hook"]],
                    "cooldown_minutes": [60, 15],
                }
            },
            "also notify none → Ops hook, cooldown (minutes) 60 → 15, on yes → no",
        ),
    ],
)
def test_detail_reads_as_words_and_an_unknown_key_still_shows(detail, words):
    from voxdash.audit.describe import detail_words

    assert detail_words(detail) == words


def test_an_object_that_was_deleted_is_named_not_linked(auditor):
    audit_record(
        action=Action.ALERT_RULE_DELETED,
        target=Target(type="alert rule", id="14", label="Failed calls (2)", url="/alerts/rules/14/"),
    )
    body = auditor.get(reverse("audit:index")).content.decode()
    assert "Failed calls (2)" in body and 'href="/alerts/rules/14/"' not in body


def test_the_action_filter_shows_the_chosen_action_as_djangos_own_select_writes_it(auditor):
    def select_html(body: str) -> str:
        [select] = re.findall(r'<select name="action".*?</select>', body, flags=re.S)
        return select

    for query in ("action=dnc_added", "action=dropped_tables", "", "action=call_placed&user=cal"):
        form = AuditFiltersForm(QueryDict(query))
        form.is_valid()
        plain = AuditFiltersForm(QueryDict(query))
        plain.is_valid()
        plain.fields["action"].widget = forms.Select(choices=plain.fields["action"].choices)
        body = auditor.get(AUDIT + "?" + query).content.decode()
        assert select_html(body) == str(form["action"]) == str(plain["action"])  # kept or not, the same
    assert '<option value="dnc_added" selected>' in select_html(
        auditor.get(AUDIT + "?action=dnc_added").content.decode()
    )
    # What is kept is bounded by the choices: a value that is none of them is not kept.
    assert not any("dropped_tables" in key[1] for key in FixedChoicesSelect._rendered)
