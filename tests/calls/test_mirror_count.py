"""The mirror's capped count: exact up to MIRROR_COUNT_CAP matches, "at least the cap" beyond it,
with the same rows in the same order on every page either way (a small cap stands in for 10,000)."""

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.stats.dataset import place
from voxdash.calls import mirror_query
from voxdash.calls.filters import CallFilters
from voxdash.calls.mirror_query import mirror_calls, mirror_exact_count, mirror_page
from voxdash.calls.models import Call

URL = reverse("calls:list")


def ids(calls) -> list[str]:
    return [call.id for call in calls]


def expected_page(filters: CallFilters, page: int, limit: int) -> list[str]:
    """What a page held before the cap: the newest-first order, sliced (no count involved)."""
    offset = (page - 1) * limit
    return list(mirror_calls(filters).values_list("vox_id", flat=True)[offset : offset + limit])


@pytest.fixture
def cap(monkeypatch):
    def set_cap(value: int) -> int:
        monkeypatch.setattr(mirror_query, "MIRROR_COUNT_CAP", value)
        return value

    return set_cap


def test_a_count_up_to_the_cap_is_exact(synced, cap):
    total = Call.objects.count()
    for limit_of_count in (total, total + 1, 10_000):
        cap(limit_of_count)
        calls, meta = mirror_page(filters=CallFilters(), page=1, limit=20)
        assert meta.total == total and not meta.total_is_lower_bound
        assert meta.total_pages == math.ceil(total / 20) and meta.has_more
        assert ids(calls) == expected_page(CallFilters(), 1, 20)


def test_past_the_cap_the_total_is_the_cap_said_to_be_a_lower_bound(synced, cap):
    total = Call.objects.count()
    cap(total - 1)
    calls, meta = mirror_page(filters=CallFilters(), page=1, limit=20)
    assert meta.total == total - 1 and meta.total_is_lower_bound
    assert meta.total_pages == math.ceil((total - 1) / 20) and meta.has_more
    assert ids(calls) == expected_page(CallFilters(), 1, 20)
    # The exact figure is there when asked for.
    assert mirror_exact_count(filters=CallFilters()) == total


def test_paging_past_the_cap_goes_on_to_the_last_call(synced, cap):
    total = Call.objects.count()
    cap(50)
    limit = 20
    last = math.ceil(total / limit)
    seen = []
    for page in range(1, last + 2):
        calls, meta = mirror_page(filters=CallFilters(), page=page, limit=limit)
        assert ids(calls) == expected_page(CallFilters(), page, limit)
        assert meta.total == 50 and meta.total_is_lower_bound and meta.page == page
        # "Next" is offered exactly while calls follow, past the cap too.
        assert meta.has_more is (page < last)
        seen += ids(calls)
    assert seen == list(mirror_calls(CallFilters()).values_list("vox_id", flat=True))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"direction": "inbound"},
        {"status": "completed"},
        {"direction": "outbound", "status": "failed"},
        {"search": "Adaeze"},
        {"search": "0801 234"},
        {"search": "zzzz-nobody"},
        {"duration_min": 60, "duration_max": 300},
        {"hour": 10},
        {"agent": "agent-a"},
        {"from_number": "num-1"},
        {"placed_by": "ada"},
        {"agent": "agent-a", "status": "completed"},
        {"created_after": "days_ago_7", "created_before": "days_ago_1"},
    ],
)
@pytest.mark.parametrize("capped", [False, True])
def test_every_filter_lists_the_same_rows_in_the_same_order(synced, cap, params, capped):
    today = timezone.localdate()
    params = {
        name: today - timedelta(days=int(value.rsplit("_", 1)[1]))
        if isinstance(value, str) and value.startswith("days_ago")
        else value
        for name, value in params.items()
    }
    for i, vox_id in enumerate(Call.objects.values_list("vox_id", flat=True)[:40]):
        place(
            vox_id,
            agent="agent-a" if i % 2 else "agent-b",
            number="num-1",
            username="ada" if i % 3 else "cal",
        )
    filters = CallFilters(**params)
    matching = mirror_calls(filters).count()
    cap(max(matching // 3, 1) if capped else 10_000)
    for page, limit in ((1, 20), (2, 20), (1, 100), (math.ceil(matching / 20) or 1, 20)):
        calls, meta = mirror_page(filters=filters, page=page, limit=limit)
        assert ids(calls) == expected_page(filters, page, limit)
        assert meta.total_is_lower_bound is (capped and matching > mirror_query.MIRROR_COUNT_CAP)
        assert meta.total == min(matching, mirror_query.MIRROR_COUNT_CAP)
        assert meta.has_more is (page * limit < matching)


def test_the_page_offers_next_but_no_last_page_past_the_cap(viewer_client, synced, simulator, cap, no_sleep):
    cap(50)
    simulator.faults.queue(503, count=10)  # the API is down: the mirror answers
    response = viewer_client.get(URL, {"page": 4})
    history = response.context["history"]
    assert history.source == "mirror" and history.meta.total_is_lower_bound
    assert ids(history.calls) == expected_page(CallFilters(), 4, 20)
    pager = response.context["pager"]
    assert pager.open_ended and pager.next is not None  # a "Next", no last page


def test_the_capped_count_is_kept_for_the_next_page_view(synced, cap, django_assert_num_queries):
    cap(50)
    mirror_page(filters=CallFilters(status="completed"), page=1, limit=20)
    with django_assert_num_queries(1):  # the rows only: the count is shared for MIRROR_COUNT_SECONDS
        mirror_page(filters=CallFilters(status="completed"), page=2, limit=20)


def test_the_capped_count_reads_no_further_than_the_cap(synced, cap):
    cap(50)
    with CaptureQueriesContext(connection) as queries:
        mirror_page(filters=CallFilters(), page=1, limit=20)
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 51" in counts[0]


def test_few_matches_sharing_a_time_are_paged_newest_first_then_by_id(db, cap):
    # Up to the cap a search's page comes from the matches' ids, listed newest first, then those
    # rows: the same order as the newest-first list, ties (one created_at) broken by the id.
    same_time = timezone.now() - timedelta(hours=1)
    Call.objects.bulk_create(
        Call(
            vox_id=f"tie{n:02}",
            direction="inbound",
            status="busy",
            customer_phone="+2348031111111",
            customer_name=f"Tie {n}",
            created_at=same_time if n % 3 else same_time - timedelta(minutes=n),
        )
        for n in range(30)
    )
    Call.objects.create(
        vox_id="other", direction="inbound", status="completed", customer_phone="+1", created_at=same_time
    )
    cap(1_000)
    filters = CallFilters(search="tie")
    seen = []
    for page in (1, 2, 3, 4):
        calls, meta = mirror_page(filters=filters, page=page, limit=8)
        assert ids(calls) == expected_page(filters, page, 8)
        assert meta.total == 30 and not meta.total_is_lower_bound
        seen += ids(calls)
    ties = [f"tie{n:02}" for n in range(30) if n % 3]
    assert seen[: len(ties)] == sorted(
        ties, key=lambda vox_id: Call.objects.get(vox_id=vox_id).pk, reverse=True
    )


def test_a_page_of_a_search_with_few_matches_reads_at_most_the_cap_of_their_ids(synced, cap, monkeypatch):
    cap(1_000)  # more than the simulator's calls: every count is exact
    monkeypatch.setattr(mirror_query, "MIRROR_SEARCH_COUNT_CAP", 1_000)
    search = CallFilters(search="+234")
    with CaptureQueriesContext(connection) as queries:
        calls, _ = mirror_page(filters=search, page=2, limit=20)
    # One read of at most cap + 1 matches (in no order, so that it may stop there) is the count
    # and the list of ids at once.
    listed, rows = (q["sql"] for q in queries.captured_queries)
    assert "LIMIT 1001" in listed and "ORDER BY" not in listed and "COUNT(" not in listed.upper()
    # The page's rows by id: only those, whatever the offset.
    assert "OFFSET" not in rows.upper() and '"calls_call"."id" IN (' in rows
    assert len(calls) == 20 and ids(calls) == expected_page(search, 2, 20)


def test_filters_an_index_in_the_page_order_applies_read_the_page_itself(synced, cap):
    cap(1_000)
    with CaptureQueriesContext(connection) as queries:
        calls, _ = mirror_page(filters=CallFilters(status="failed"), page=2, limit=20)
    count, rows = (q["sql"] for q in queries.captured_queries)  # no list of ids
    assert "COUNT(" in count.upper() and "OFFSET 20" in rows.upper()
    assert ids(calls) == expected_page(CallFilters(status="failed"), 2, 20)


def test_a_placed_call_filter_lists_and_counts_its_matches_from_the_placed_calls(synced, cap):
    for i, vox_id in enumerate(Call.objects.values_list("vox_id", flat=True)[:30]):
        place(vox_id, agent="agent-a", number="num-1", username="ada" if i % 2 else "cal")
    filters = CallFilters(placed_by="ada")  # 15 placed calls
    for limit_of_count, capped in ((15, False), (14, True)):
        cap(limit_of_count)
        for page in (1, 2):
            with CaptureQueriesContext(connection) as queries:
                calls, meta = mirror_page(filters=filters, page=page, limit=10)
            assert ids(calls) == expected_page(filters, page, 10) and meta.total == min(15, limit_of_count)
            assert meta.total_is_lower_bound is capped
            assert meta.has_more is (page == 1)
            of_calls = [q["sql"] for q in queries.captured_queries if '"calls_call"' in q["sql"]]
            # The count and the order are the placed calls' own (their mirrored call's key and
            # created_at): the mirror is read for the page's rows alone, by key.
            assert len(of_calls) == 1 and '"calls_call"."id" IN (' in of_calls[0], of_calls
            assert "COUNT(" not in of_calls[0].upper() and "placements_placedcall" not in of_calls[0]


@pytest.mark.postgres
def test_the_hour_filter_pages_and_counts_from_one_index_on_postgresql(synced):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://…")
    hour = mirror_calls(CallFilters(hour=10))
    with connection.cursor() as cursor:
        # 300 rows would otherwise be scanned, or sorted: what is proved here is that the index can
        # give both in order; which plan wins at a million calls is the benchmark's business.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET {setting} = off")
        for query in (hour.values("vox_id")[:21], hour.order_by().values("pk")[:10_001]):
            sql, params = query.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            # The page's order is the index's own: no sort, and no walk of the newest-first index.
            assert "call_local_hour_newest" in plan and "Sort" not in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize(
    "filters, index",
    [
        (CallFilters(duration_min=600), "call_duration"),
        (CallFilters(duration_min=60, duration_max=120), "call_duration"),
        (CallFilters(hour=10), "call_local_hour_newest"),
    ],
)
def test_the_mirror_only_filters_can_count_from_an_index_on_postgresql(synced, filters, index):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://…")
    sql, params = mirror_calls(filters).order_by().values("pk")[:10_001].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # 300 rows would otherwise always be scanned
        # The index matches the SQL Django writes for the filter (the hour's in the active zone);
        # which plan wins at a million calls is the benchmark's business.
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) AS capped", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
