"""Probes for the load balancer: /healthz (the process answers) and /readyz (it can do its job).

Both are public (a load balancer has no session) and say nothing a stranger could use: check
names, "ok"/"error" and an error's class, never a URL, host name or message that might carry one.
"""

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from voxdash.overview.connection import connection_status

BROKER_TIMEOUT = 2.0  # seconds; a probe that hangs is as bad as a failed one


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving. Touches nothing else, so a database outage does not make
    the orchestrator restart healthy web processes."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, broker and Vox, each checked and reported; 503 when a required one fails."""
    checks = {"database": _check(_database), "broker": _check(_broker), "vox": _check(_vox)}
    required = ["database", "broker"]
    # voxdash keeps working from its mirror when Vox is down, so by default an unreachable Vox
    # is reported but does not take every web process out of the load balancer.
    if settings.VOXDASH_READYZ_REQUIRES_VOX:
        required.append("vox")
    ready = all(checks[name]["status"] == "ok" for name in required)
    body = {"status": "ok" if ready else "error", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


def _check(probe) -> dict:
    started = time.monotonic()
    try:
        problem = probe()
    except Exception as exc:  # any failure is "not ready"; the class name says which kind
        problem = type(exc).__name__
    result = {"status": "error" if problem else "ok", "ms": round((time.monotonic() - started) * 1000, 1)}
    if problem:
        result["error"] = problem
    return result


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return ""


def _broker() -> str:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    broker = Connection(settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=BROKER_TIMEOUT)
    with broker as conn:
        conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)  # no retry: the probe comes again
    return ""


def _vox() -> str:
    # The header's cached answer (a minute when healthy): probes every few seconds must not spend
    # the key's 120 requests a minute.
    status = connection_status()
    return status.problem_kind or ("VoxError" if not status.ok else "")
