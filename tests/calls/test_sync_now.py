"""The "Sync now" control and its progress panel (staff only)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.mirror.sync import SyncSummary, report_progress

SYNC = reverse("calls:sync")
STATUS = reverse("calls:sync_status")


def test_viewers_cannot_sync_or_see_the_control(viewer_client):
    assert viewer_client.post(SYNC).status_code == 403
    assert viewer_client.get(STATUS).status_code == 403
    assert "Sync now" not in viewer_client.get(reverse("calls:list")).content.decode()


def test_staff_see_the_control_on_the_history(staff_client):
    body = staff_client.get(reverse("calls:list")).content.decode()
    assert "Sync now" in body and f'hx-post="{SYNC}"' in body and "Not synced yet" in body


def test_sync_now_queues_the_task_after_commit(staff_client, django_capture_on_commit_callbacks, monkeypatch):
    from voxdash.calls import tasks

    sent = []
    monkeypatch.setattr(tasks.sync_calls, "delay", lambda *a, **kw: sent.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(SYNC, headers={"HX-Request": "true"})
    assert response.status_code == 200 and len(callbacks) == 1 and sent == [((), {})]
    body = response.content.decode()
    assert "Sync queued" in body and f'data-hx-get="{STATUS}" data-hx-trigger="every 1s"' in body

    # A second click while it waits for a worker does not queue another.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        staff_client.post(SYNC, headers={"HX-Request": "true"})
    assert callbacks == []


def test_sync_now_without_javascript_redirects_back(
    staff_client, django_capture_on_commit_callbacks, monkeypatch
):
    from voxdash.calls import tasks

    monkeypatch.setattr(tasks.sync_calls, "delay", lambda *a, **kw: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(SYNC, {"next": "/calls/?status=failed"})
    assert response.status_code == 302 and response["Location"] == "/calls/?status=failed"
    # Never off the site, whatever the form says.
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(SYNC, {"next": "https://evil.example/phish"})
    assert response["Location"] == "/calls/"


def test_progress_panel_follows_the_sync(staff_client):
    report_progress("calls", "running", SyncSummary(created=150, updated=2, pages=2, total_pages=3))
    body = staff_client.get(STATUS, headers={"HX-Request": "true"}).content.decode()
    assert "page 2 of 3" in body and "150 new" in body and 'hx-trigger="every 1s"' in body
    assert "<html" not in body

    report_progress("calls", "done", SyncSummary(created=300, unchanged=0, requests=3, pages=3))
    body = staff_client.get(STATUS).content.decode()
    assert "Synced: 300 new" in body and "3 requests" in body and "hx-trigger" not in body


def test_a_real_sync_reports_to_the_panel(staff_client, synced):
    body = staff_client.get(STATUS).content.decode()
    assert 'data-sync-state="done"' in body and "Synced: 300 new" in body and "Local copy as of" in body


def _dead_port() -> int:
    import socket

    with socket.socket() as s:  # free a moment ago, nothing listens on it now: a stopped Redis
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_now_with_the_broker_down_says_so_instead_of_a_500(
    staff_client, django_capture_on_commit_callbacks
):
    from tests.fixtures.celery_worker import _point_app_at

    old = _point_app_at(f"redis://127.0.0.1:{_dead_port()}/0", "voxdash-tests-no-broker")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            staff_client.post(SYNC, headers={"HX-Request": "true"})
    finally:
        _point_app_at(*old)
    response = staff_client.get(STATUS)  # the panel as the next poll shows it
    assert response.status_code == 200
    body = response.content.decode()
    assert "task queue is unreachable" in body and "every 1s" not in body


def test_a_mirror_page_asks_when_the_mirror_was_synced_once_for_the_page_and_the_panel(staff_client, synced):
    list_url = reverse("calls:list")
    staff_client.get(list_url, {"duration_min": 0})  # the mirror's facts are cached
    with CaptureQueriesContext(connection) as queries:
        body = staff_client.get(list_url, {"duration_min": 0, "page": 2}).content.decode()
    # The banner's "as of" and the panel's "Local copy as of" are one reading of the sync state.
    assert "Sync now" in body and "Local copy as of" in body
    assert sum("calls_syncstate" in q["sql"] for q in queries.captured_queries) == 1
