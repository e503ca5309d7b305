"""Server errors reach the operators: a mail to ADMINS through a real SMTP server, and Sentry
through sentry-sdk's real transport to a local stand-in for sentry.io. Neither carries a request
body, a cookie, the query string or a secret."""

import gzip
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

import voxdash.urls
from tests.fixtures.receivers import http_receiver, smtp_server
from voxdash.health.errors import ServerErrorsOnly

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+2348012345678"
COOKIE = "a-session-cookie-nobody-may-read"


@csrf_exempt
@login_not_required
def broken(request):
    key = settings.VOX_API_KEY  # a local variable no report may show
    raise RuntimeError(f"the dashboard broke on purpose ({len(key)})")


@login_not_required
def crash(request):
    raise RuntimeError("a plain crash")


@login_not_required
def unavailable(request):
    return HttpResponse("Vox is down", status=503)


urlpatterns = [
    path("broken/", broken),
    path("broken-too/", broken),
    path("crash/", crash),
    path("unavailable/", unavailable),
    *voxdash.urls.urlpatterns,
]
pytestmark = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    for handler in logging.getLogger("django.request").handlers:
        for found in handler.filters:
            if isinstance(found, ServerErrorsOnly):
                found.sent.clear()


@pytest.fixture
def smtp(settings):
    with smtp_server() as server:
        settings.ADMINS = ["Ops <ops@example.com>"]
        settings.SERVER_EMAIL = "voxdash@example.com"
        # The test runner swaps MAILERS for its in-memory outbox; these tests want the real thing.
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
            }
        }
        yield server


def send_a_failing_request(client: Client, path: str = "/broken/"):
    client.cookies["sessionid"] = COOKIE
    client.cookies["vox"] = settings.VOX_API_KEY
    return client.post(
        f"{path}?search=Adaeze+Okonkwo",
        {"phone": PHONE, "api_key": settings.VOX_API_KEY},
        HTTP_AUTHORIZATION=f"Bearer {settings.VOX_API_KEY}",
        HTTP_X_REQUEST_ID="req-123",
    )


def assert_nothing_private(text: str) -> None:
    for private in (PHONE, "Adaeze", COOKIE, settings.VOX_API_KEY, settings.SECRET_KEY, "Bearer"):
        assert private not in text, f"{private[:6]}… is in the report"


def test_a_500_is_mailed_to_the_admins_with_the_path_and_the_error_only(db, smtp):
    response = send_a_failing_request(Client(raise_request_exception=False))
    assert response.status_code == 500

    [message] = smtp.wait_for(1)
    assert message["To"] == "Ops <ops@example.com>"
    assert message["From"] == "voxdash@example.com"
    assert message["Subject"] == "[voxdash] ERROR (EXTERNAL IP): Internal Server Error: /broken/"
    text = smtp.text(message).replace("\r\n", "\n")
    assert "RuntimeError at /broken/" in text
    assert "the dashboard broke on purpose" in text
    assert 'in broken\n    raise RuntimeError(f"the dashboard broke on purpose ({len(key)})")' in text
    assert "Request URL: http://testserver/broken/\n" in text  # no query string
    assert "HTTP_X_REQUEST_ID = 'req-123'" in text
    # Which fields and cookies were sent, never their values; no settings at all.
    assert "phone = '********************'" in text and "search = '********************'" in text
    assert "sessionid = '********************'" in text
    assert "SECRET_KEY" not in text and "VOX_API_KEY" not in text and "DATABASES" not in text
    assert_nothing_private(text)


def test_a_deliberate_503_is_an_answer_not_a_crash_and_is_not_mailed(db, smtp):
    assert Client().get("/unavailable/").status_code == 503
    send_a_failing_request(Client(raise_request_exception=False))
    messages = smtp.wait_for(1)
    assert [m["Subject"] for m in messages] == [
        "[voxdash] ERROR (EXTERNAL IP): Internal Server Error: /broken/"
    ]


def test_one_bug_on_a_busy_page_is_one_mail_not_one_per_request(db, smtp):
    client = Client(raise_request_exception=False)
    for _ in range(3):
        send_a_failing_request(client)
    send_a_failing_request(client, "/broken-too/")
    smtp.wait_for(2)
    assert sorted(m["Subject"].rsplit(" ", 1)[1] for m in smtp.messages) == ["/broken-too/", "/broken/"]


def test_no_mail_while_debugging(db, smtp, settings):
    settings.DEBUG = True
    assert Client(raise_request_exception=False).get("/crash/").status_code == 500
    settings.DEBUG = False
    send_a_failing_request(Client(raise_request_exception=False), "/broken-too/")
    [message] = smtp.wait_for(1)
    assert message["Subject"].endswith("/broken-too/")


# --- Sentry ---------------------------------------------------------------------------------------


@pytest.fixture
def sentry_ingest():
    """A stand-in for sentry.io on a free port: sentry-sdk's own HTTP transport posts to it."""
    import sentry_sdk

    from voxdash.health.sentry import sentry_init

    with http_receiver() as ingest:
        port = ingest.server.server_address[1]
        sentry_init(dsn=f"http://publickey@127.0.0.1:{port}/1")
        try:
            yield ingest
        finally:
            sentry_sdk.get_client().close(timeout=2)
            sentry_sdk.get_global_scope().set_client(None)


def envelopes(ingest) -> str:
    texts = []
    for request in ingest.requests:
        body = request.body
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        texts.append(body.decode("utf-8", "replace"))
    return "\n".join(texts)


def test_sentry_gets_the_error_without_personal_data_or_secrets(live_server, sentry_ingest):
    import sentry_sdk

    # Through a real WSGI server: sentry-sdk reads the request where gunicorn hands it over.
    response = httpx.post(
        f"{live_server.url}/broken/?search=Adaeze+Okonkwo",
        data={"phone": PHONE, "api_key": settings.VOX_API_KEY},
        cookies={"sessionid": COOKIE, "vox": settings.VOX_API_KEY},
        headers={"Authorization": f"Bearer {settings.VOX_API_KEY}", "X-Request-ID": "req-123"},
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)
    sentry_ingest.wait_for(1)
    text = envelopes(sentry_ingest)
    events = [
        json.loads(line) for line in text.splitlines() if line.startswith("{") and '"exception"' in line
    ]
    assert events, text[:2000]
    for event in events:
        assert event["exception"]["values"][-1]["value"].startswith("the dashboard broke on purpose")
        assert event["request"]["url"] == f"{live_server.url}/broken/"
        assert event["request"]["method"] == "POST"
        assert set(event["request"]) == {"method", "url", "headers"}  # no data, cookies, query, env
        headers = {name.lower(): value for name, value in event["request"]["headers"].items()}
        assert headers["x-request-id"] == "req-123"
        assert set(headers) <= {"host", "accept", "content-type", "content-length", "x-request-id"}
        assert "user" not in event
        frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
        assert frames and not any("vars" in frame for frame in frames)
    assert_nothing_private(text)


def test_secret_values_are_scrubbed_wherever_they_appear_in_an_event(settings):
    from voxdash.health.sentry import scrub_breadcrumb, scrub_event

    settings.VOXDASH_ALERT_WEBHOOK_SECRET = "whsec_alerts_sign_with_this"
    event = {
        "exception": {
            "values": [{"value": f"refused {settings.VOX_API_KEY} and {settings.VOX_WEBHOOK_SECRET}"}]
        },
        "breadcrumbs": {"values": [{"message": "signed with whsec_alerts_sign_with_this"}]},
        "request": {
            "url": "https://x/calls/?search=Adaeze",
            "query_string": "search=Adaeze",
            "cookies": {"a": "b"},
        },
        "user": {"id": 1, "email": "vera@example.com"},
    }
    text = json.dumps(scrub_event(event))
    assert settings.VOX_API_KEY not in text and settings.VOX_WEBHOOK_SECRET not in text
    assert "whsec_alerts_sign_with_this" not in text and "Adaeze" not in text and "vera@" not in text
    assert text.count("[Filtered]") == 3
    crumb = scrub_breadcrumb(
        {
            "type": "http",
            "data": {"url": "https://api/v1/vox/calls?search=Ngozi", "http.query": "search=Ngozi"},
        }
    )
    assert crumb["data"] == {"url": "https://api/v1/vox/calls"}


# --- The settings ---------------------------------------------------------------------------------


def settings_in_a_new_process(tmp_path, code: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "EMAIL_", "VOXDASH_ADMINS"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "voxdash.settings",
            "DJANGO_DEBUG": "1",
            "VOXDASH_VAR_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sentry_sdk_is_not_even_imported_without_a_dsn(tmp_path):
    done = settings_in_a_new_process(tmp_path, "import sys; print('sentry_sdk' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_dsn_starts_sentry_with_no_personal_data(tmp_path):
    code = (
        "import sentry_sdk; from sentry_sdk.scope import should_send_default_pii\n"
        "o = sentry_sdk.get_client().options\n"
        "print(sentry_sdk.get_client().is_active(), should_send_default_pii(), o['include_local_variables'],"
        " o['max_request_body_size'])"
    )
    done = settings_in_a_new_process(tmp_path, code, SENTRY_DSN="https://publickey@sentry.invalid/42")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "False", "never"]


def test_admins_and_the_smtp_server_come_from_the_environment(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-from-a-file\n")
    code = (
        "import json; from django.conf import settings as s\n"
        "print(json.dumps([s.ADMINS, s.MAILERS['default']['OPTIONS'], s.SERVER_EMAIL, s.DEFAULT_FROM_EMAIL]))"
    )
    done = settings_in_a_new_process(
        tmp_path,
        code,
        VOXDASH_ADMINS="Ops <ops@example.com>, oncall@example.com",
        EMAIL_HOST="smtp.example.com",
        EMAIL_HOST_USER="voxdash",
        EMAIL_HOST_PASSWORD_FILE=str(secret),
        EMAIL_USE_TLS="yes",
        SERVER_EMAIL="voxdash@example.com",
    )
    assert done.returncode == 0, done.stderr
    admins, options, server_email, from_email = json.loads(done.stdout)
    assert admins == ["Ops <ops@example.com>", "oncall@example.com"]
    assert options == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "voxdash",
        "password": "s3cret-from-a-file",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 10.0,
    }
    assert server_email == from_email == "voxdash@example.com"


def test_tls_and_ssl_at_once_is_refused_by_name(tmp_path):
    done = settings_in_a_new_process(tmp_path, "", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert done.returncode != 0
    assert "EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (port 465): set one." in done.stderr
