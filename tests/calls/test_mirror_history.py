"""/calls/ answers from the mirror when the API cannot, with the same filters and paging."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from vox_simulator import keys
from voxdash.calls.filters import CallFilters
from voxdash.calls.history import call_history, mirror_call_history
from voxdash.calls.models import Call
from voxdash.lib.formatting import html_datetime
from voxdash.vox import reset_client

URL = reverse("calls:list")


def ids(history) -> list[str]:
    return [c.id for c in history.calls]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"direction": "inbound"},
        {"status": "completed", "limit": 50, "page": 2},
        {"direction": "outbound", "status": "failed"},
        {"search": "Adaeze"},
        {"search": "zoë"},
        {"search": "+234801"},
        {"search": "0801 234"},
        {"search": "zzzz-nobody"},
        {"page": 15},
        {"page": 99},
        {"limit": 100, "page": 3},
    ],
)
def test_the_mirror_answers_like_the_api(synced, params):
    params = {"page": 1, "limit": 20, **params}
    paging = {"page": params.pop("page"), "limit": params.pop("limit")}
    api = call_history(filters=CallFilters(**params), **paging)
    mirror = mirror_call_history(filters=CallFilters(**params), **paging)
    assert api.source == "api" and mirror.source == "mirror"
    assert ids(mirror) == ids(api)
    assert mirror.meta == api.meta
    assert mirror.calls == api.calls  # the same typed rows, so one template renders both


FAULTS = [
    ("VoxUnavailable", lambda sim: sim.faults.queue(503, count=10)),
    ("VoxUnavailable", lambda sim: sim.faults.queue(502, count=10, body="<html>Bad gateway</html>")),
    ("VoxRateLimited", lambda sim: sim.faults.queue(429, count=10, retry_after=60)),
    ("VoxTimeout", lambda sim: setattr(sim.faults, "latency_ms", 1500)),
    ("VoxConnectionError", lambda sim: sim.faults.reset_next(count=10)),
]


@pytest.mark.parametrize("kind, fault", FAULTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(FAULTS)])
def test_upstream_failure_falls_back_to_the_mirror(viewer_client, synced, simulator, settings, kind, fault):
    settings.VOX_READ_TIMEOUT = 0.5
    settings.VOX_MAX_RETRIES = 1
    reset_client()
    fault(simulator)
    response = viewer_client.get(URL, {"status": "completed", "direction": "inbound", "page": 2})
    assert response.status_code == 200
    history = response.context["history"]
    assert history.source == "mirror" and type(history.error).__name__ == kind
    assert history.meta.page == 2 and history.calls
    assert {(c.direction, c.status) for c in history.calls} == {("inbound", "completed")}
    body = response.content.decode()
    assert "Showing the local copy as of" in body and f'data-error="{kind}"' in body
    assert "because " + escape(history.fallback_reason) in body
    assert body.count('<tr class="call-row"') == len(history.calls)
    # Rows link to the call's page, as they do when the API answers.
    assert f'href="{reverse("calls:detail", args=[history.calls[0].id])}"' in body


def test_spent_budget_falls_back_without_asking_vox(viewer_client, synced, simulator, settings):
    settings.VOX_REQUESTS_PER_MINUTE = 3  # the sync already used them
    reset_client()
    before = simulator.stats()["requests"].get("/v1/vox/calls", 0)
    response = viewer_client.get(URL, {"search": "Adaeze"})
    history = response.context["history"]
    assert history.source == "mirror" and type(history.error).__name__ == "VoxBudgetExhausted"
    assert history.calls and all("Adaeze" in (c.customer_name or "") for c in history.calls)
    assert "request budget" in response.content.decode()
    assert simulator.stats()["requests"].get("/v1/vox/calls", 0) == before


def test_a_key_problem_also_falls_back_when_the_mirror_has_data(viewer_client, synced, settings):
    settings.VOX_API_KEY = keys.EXPIRED_KEY
    reset_client()
    response = viewer_client.get(URL)
    assert response.context["history"].source == "mirror"
    body = response.content.decode()
    assert 'data-error="ExpiredApiKey"' in body and "expired" in body and keys.EXPIRED_KEY not in body


def test_banner_names_the_last_sync_time(viewer_client, synced, simulator, no_sleep):
    from voxdash.calls.models import SyncState

    simulator.faults.queue(503, count=10)
    state = SyncState.objects.get(name="calls")
    response = viewer_client.get(URL)
    assert response.context["history"].mirror_as_of == state.last_finished_at
    assert f'datetime="{html_datetime(state.last_finished_at)}"' in response.content.decode()


def test_webhook_only_mirror_still_answers(viewer_client, simulator, db, no_sleep):
    # Never synced: a call a webhook created is still better than an error page.
    from django.utils import timezone

    Call.objects.create(
        vox_id="call_webhook_only",
        direction="outbound",
        status="completed",
        customer_phone="+2348000000001",
        created_at=timezone.now(),
    )
    simulator.faults.queue(503, count=10)
    history = viewer_client.get(URL).context["history"]
    assert history.source == "mirror" and ids(history) == ["call_webhook_only"]
    assert history.mirror_as_of is not None


def test_htmx_partial_from_the_mirror(viewer_client, synced, simulator, no_sleep):
    simulator.faults.queue(503, count=10)
    response = viewer_client.get(URL, {"status": "failed"}, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b'data-source="mirror"' in response.content
    assert b'id="result_list"' in response.content


def test_empty_mirror_keeps_the_error_banner(viewer_client, simulator, db, no_sleep):
    simulator.faults.queue(503, count=10)
    history = viewer_client.get(URL).context["history"]
    assert history.source == "none" and history.calls == []


@pytest.mark.postgres
def test_search_uses_the_trigram_indexes_on_postgresql(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://…")
    from voxdash.calls.mirror_query import mirror_calls

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'calls_call'")
        names = {row[0] for row in cursor.fetchall()}
        assert {"call_name_trgm", "call_phone_trgm"} <= names
        cursor.execute("SET enable_seqscan = off")  # an empty table would otherwise always scan
        # Unordered: this proves the indexes match the SQL Django writes for icontains; which plan
        # wins at scale (newest-first index scan or trigram bitmap) is the benchmark's business.
        sql, params = (
            mirror_calls(CallFilters(search="okonkwo")).order_by().values("vox_id").query.sql_with_params()
        )
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "call_name_trgm" in plan and "call_phone_trgm" in plan
