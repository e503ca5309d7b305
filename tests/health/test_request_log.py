"""One log line per request and per Celery task, with a request id, and no query strings."""

import json
import logging

import pytest
from django.urls import reverse

from voxdash.health import logs


def request_lines(caplog) -> list[dict]:
    return [r.fields for r in caplog.records if r.name == "voxdash.requests"]


@pytest.mark.django_db
def test_one_line_per_request_with_its_fields_and_no_query_string(client, viewer, caplog, vox_settings):
    client.force_login(viewer)
    with caplog.at_level(logging.INFO, logger="voxdash.requests"):
        response = client.get(reverse("placements:list") + "?search=Adaeze+Okonkwo&token=abc")
    [line] = request_lines(caplog)
    assert line["method"] == "GET"
    assert line["path"] == reverse("placements:list")
    assert line["status"] == response.status_code == 200
    assert line["user_id"] == viewer.pk
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"] == response["X-Request-ID"]
    assert "Adaeze" not in caplog.text and "abc" not in caplog.text


@pytest.mark.django_db
def test_anonymous_redirect_is_logged_too(client, caplog):
    with caplog.at_level(logging.INFO, logger="voxdash.requests"):
        client.get(reverse("overview"))
    [line] = request_lines(caplog)
    assert line["status"] == 302 and line["user_id"] is None


@pytest.mark.parametrize(
    "incoming, kept",
    [
        ("req-3f2a.9_Z:1", True),
        ("two words", False),
        ('x" status=500', False),
        ("line\nbreak", False),
        ("x" * 129, False),
        ("", False),
    ],
)
def test_incoming_request_id_is_kept_only_when_it_is_a_plain_token(client, incoming, kept):
    response = client.get(reverse("healthz"), headers={"X-Request-ID": incoming} if incoming else {})
    returned = response["X-Request-ID"]
    if kept:
        assert returned == incoming
    else:
        assert returned != incoming and len(returned) == 32  # a fresh uuid4 hex


def test_healthy_probes_log_at_debug_only(client, caplog):
    with caplog.at_level(logging.INFO, logger="voxdash.requests"):
        client.get(reverse("healthz"))
    assert request_lines(caplog) == []


def record(fields: dict | None = None, msg: str = "request") -> logging.LogRecord:
    rec = logging.LogRecord("voxdash.requests", logging.INFO, __file__, 1, msg, None, None)
    if fields is not None:
        rec.fields = fields
    return rec


def test_text_format_is_key_value_and_quotes_what_would_break_it():
    line = logs.LineFormatter().format(record({"path": "/calls/", "user_id": None, "note": 'a "b" c'}))
    assert line.endswith(' INFO voxdash.requests request path=/calls/ user_id=- note="a \\"b\\" c"')


def test_json_format_is_one_object_a_line_with_the_request_id_of_the_current_request():
    token = logs.current_request_id.set("rid-1")
    try:
        line = logs.LineFormatter(json=True).format(record(msg="vox GET /v1/vox/calls -> 200"))
    finally:
        logs.current_request_id.reset(token)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "INFO" and data["logger"] == "voxdash.requests"
    assert data["message"] == "vox GET /v1/vox/calls -> 200"
    assert data["request_id"] == "rid-1"


def test_one_line_per_celery_task_with_name_id_outcome_and_duration(caplog):
    class Task:
        name = "voxdash.calls.tasks.sync_calls"

    with caplog.at_level(logging.INFO, logger="voxdash.tasks"):
        logs.task_started(task_id="t-1", task=Task())
        logs.task_finished(task_id="t-1", task=Task(), state="SUCCESS")
        logs.task_started(task_id="t-2", task=Task())
        logs.task_finished(task_id="t-2", task=Task(), state="FAILURE")
    ok, failed = [r for r in caplog.records if r.name == "voxdash.tasks"]
    assert ok.fields["task"] == "voxdash.calls.tasks.sync_calls"
    assert ok.fields["task_id"] == "t-1" and ok.fields["outcome"] == "success"
    assert ok.fields["duration_ms"] >= 0
    assert failed.fields["outcome"] == "failure" and failed.levelno == logging.WARNING


def test_a_task_run_by_celery_logs_its_line(caplog):
    from voxdash.celery import app

    @app.task(name="tests.health.add")
    def add(x, y):
        return x + y

    with caplog.at_level(logging.INFO, logger="voxdash.tasks"):
        add.apply(args=(1, 2))  # through Celery's tracer, as a worker runs it, and its signals
    [line] = [r.fields for r in caplog.records if r.name == "voxdash.tasks"]
    assert line["task"] == "tests.health.add" and line["outcome"] == "success"
