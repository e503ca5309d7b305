"""Structured logs: one line per request and per Celery task, with a request id.

Lines carry their data as `extra={"fields": {...}}`; LineFormatter writes them as key=value (readable)
or as one JSON object (LOG_FORMAT=json). Never logged: query strings, bodies, headers other than
the request id; the Vox client redacts its key in its own lines.
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from celery import signals
from django.http import HttpRequest, HttpResponse

request_logger = logging.getLogger("voxdash.requests")
task_logger = logging.getLogger("voxdash.tasks")

# The current request's id, added to every line logged while it is handled.
current_request_id: ContextVar[str] = ContextVar("voxdash_request_id", default="")

# An incoming X-Request-ID is kept only if it is a plain token: it goes into every log line, so
# it must not be able to forge lines or fields (no spaces, quotes or newlines) or grow without end.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Load balancers poll these every few seconds; a healthy answer is not worth a line at INFO.
PROBE_PATHS = re.compile(r"(^|/)(healthz|readyz)$")


def request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        token = current_request_id.set(request.request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            self.log(request, response, started)
            return response
        finally:
            current_request_id.reset(token)

    @staticmethod
    def log(request: HttpRequest, response: HttpResponse, started: float) -> None:
        fields = {
            "method": request.method,
            "path": request.path,  # never the query string: search terms are customers' names
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "user_id": _user_id(request),
            "request_id": request.request_id,
        }
        # Probes every few seconds, and a flood of refused webhooks past its logged sample
        # (response.log_quietly, set by the receiver), would drown the lines worth reading.
        quiet = (response.status_code == 200 and PROBE_PATHS.search(request.path)) or getattr(
            response, "log_quietly", False
        )
        request_logger.log(logging.DEBUG if quiet else logging.INFO, "request", extra={"fields": fields})


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)  # absent when WhiteNoise answered a static file
    try:
        return user.pk if user is not None and user.is_authenticated else None
    except Exception:
        # request.user is lazy: asking loads the session, which fails when the database is down.
        # The request has failed for that already (a 500); its line and X-Request-ID must not.
        return None


class LineFormatter(logging.Formatter):
    """`time LEVEL logger message key=value ...`, or with json=True one JSON object a line."""

    def __init__(self, json: bool = False):
        super().__init__()
        self.json = json

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", None) or {})
        request_id = current_request_id.get()
        if request_id:
            fields.setdefault("request_id", request_id)
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        message = record.getMessage()
        if self.json:
            line = {"time": when, "level": record.levelname, "logger": record.name, "message": message}
            line.update(fields)
            if record.exc_info:
                line["exception"] = self.formatException(record.exc_info)
            return json.dumps(line, default=str, ensure_ascii=False)
        text = f"{when} {record.levelname} {record.name} {message}"
        if fields:
            text += " " + " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _value(value) -> str:
    if value is None:
        return "-"
    text = str(value)
    # Quote anything that would break key=value parsing (spaces, quotes, '=' or nothing at all).
    return json.dumps(text, ensure_ascii=False) if not text or re.search(r'[\s"=]', text) else text


# --- Celery: one line per task run, from the worker's signals.
_task_started: dict[str, float] = {}


def task_started(task_id: str | None = None, **kwargs) -> None:
    if task_id:
        _task_started[task_id] = time.monotonic()


def task_finished(task_id: str | None = None, task=None, state: str | None = None, **kwargs) -> None:
    started = _task_started.pop(task_id, None) if task_id else None
    fields = {
        "task": getattr(task, "name", None),
        "task_id": task_id,
        "outcome": (state or "unknown").lower(),  # success, failure, retry
        "duration_ms": round((time.monotonic() - started) * 1000, 1) if started is not None else None,
    }
    level = logging.WARNING if state == "FAILURE" else logging.INFO
    task_logger.log(level, "task", extra={"fields": fields})


def keep_django_logging(**kwargs) -> None:
    """Connected to Celery's setup_logging: with a receiver, the worker keeps the LOGGING that
    django.setup() applied instead of installing its own format."""


def connect_celery_signals() -> None:
    signals.task_prerun.connect(task_started, weak=False, dispatch_uid="voxdash.health.task_started")
    signals.task_postrun.connect(task_finished, weak=False, dispatch_uid="voxdash.health.task_finished")
    signals.setup_logging.connect(keep_django_logging, weak=False, dispatch_uid="voxdash.health.logging")
