"""A notice leaves within seconds: alert_notify asks for a sending run once its transaction commits
(voxdash.alerts.queue), and a real worker sends it."""

from django.db import transaction

from tests.alerts.delivering import make_alert, make_channel, notify, only_channels
from voxdash.alerts.models import AlertDelivery


def sending_runs(callbacks) -> list[str]:
    """The on-commit callbacks but the menu's open count being forgotten (alerts.selectors)."""
    return [c.__qualname__ for c in callbacks if not c.__qualname__.startswith("open_alert_count")]


def test_a_sending_run_is_queued_on_commit_and_not_before(db, tmp_path, django_capture_on_commit_callbacks):
    only_channels(make_channel("File", f"file://{tmp_path}/a.log"))
    with django_capture_on_commit_callbacks() as callbacks:
        notify(make_alert())
    assert sending_runs(callbacks) == ["_queue"]


def test_nothing_is_queued_when_no_channel_is_told(db, django_capture_on_commit_callbacks):
    only_channels()
    with django_capture_on_commit_callbacks() as callbacks:
        assert notify(make_alert()) == []
    assert sending_runs(callbacks) == []


def test_the_worker_sends_the_notice_after_commit(celery_worker, tmp_path):
    log = tmp_path / "alerts.log"
    only_channels(make_channel("File", f"file://{log}"))
    with transaction.atomic():
        [delivery] = notify(make_alert())
    celery_worker.wait_for(lambda: log.exists() and "FIRED" in log.read_text(), timeout=15, what="the notice")
    celery_worker.wait_for(
        lambda: AlertDelivery.objects.get(pk=delivery.pk).state == AlertDelivery.State.DELIVERED,
        what="the delivery's state",
    )
