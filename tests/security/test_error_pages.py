"""Error pages and error reports never show a secret.

In production (DEBUG off) the 500 page is plain, and the error report Django builds for logs and
mail lists each frame's variables except those marked @sensitive_variables (the webhook secret).
With DEBUG on, Django deliberately shows every variable; the API key still never appears there,
because the Vox client keeps it only on the client object, whose repr masks it.
The secret grep (tests/fixtures/secret_grep.py) also watches every response below.
"""

import time

import httpx
import pytest
from django.test import Client
from django.views.debug import ExceptionReporter

from tests.fixtures import secret_grep
from vox_simulator import keys
from voxdash.webhooks import signature


@pytest.fixture
def debug_client(settings):
    settings.DEBUG = True  # the technical 500 page, with the local variables of every frame
    return Client(raise_request_exception=False)


def test_webhook_error_report_hides_the_secret(client, settings, monkeypatch, db):
    settings.DEBUG = False
    settings.VOX_WEBHOOK_SECRET = keys.DEMO_WEBHOOK_SECRET

    def broken(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(signature.hmac, "compare_digest", broken)  # fails inside verify(secret, …)
    with pytest.raises(RuntimeError) as caught:
        client.post(
            "/webhooks/vox/",
            b"{}",
            content_type="application/json",
            headers={"Cloove-Signature": f"t={int(time.time())},v1=00"},
        )
    # What AdminEmailHandler (and any handler given the exception) would render.
    report = ExceptionReporter(None, caught.type, caught.value, caught.tb, is_email=True)
    html, text = report.get_traceback_html(), report.get_traceback_text()
    assert "verify" in text and "secret" in html  # the frame is there, its value is not
    assert secret_grep.find_secrets(html) == [] and secret_grep.find_secrets(text) == []


def test_vox_client_crash_page_hides_the_key(debug_client, viewer, vox_settings, monkeypatch):
    def broken(self, request, **kwargs):
        raise RuntimeError(f"unexpected while sending {request.method}")

    monkeypatch.setattr(httpx.Client, "send", broken)
    debug_client.force_login(viewer)
    response = debug_client.get("/numbers/")
    assert response.status_code == 500 and b"RuntimeError" in response.content
    assert secret_grep.find_secrets(response.content) == []


def test_production_error_pages_are_plain(client, settings, monkeypatch, db):
    settings.DEBUG = False
    settings.VOX_WEBHOOK_SECRET = keys.DEMO_WEBHOOK_SECRET
    monkeypatch.setattr(signature.hmac, "new", lambda *a, **k: 1 / 0)
    client.raise_request_exception = False
    response = client.post(
        "/webhooks/vox/",
        b"{}",
        content_type="application/json",
        headers={"Cloove-Signature": f"t={int(time.time())},v1=00"},
    )
    assert response.status_code == 500 and b"ZeroDivisionError" not in response.content


def test_a_refusal_is_a_page_of_the_site_that_says_why(viewer_client):
    response = viewer_client.get("/webhooks/log/")
    body = response.content.decode()
    assert response.status_code == 403
    assert (
        "Only administrators (Django staff) may open this page." in body
        and 'class="voxdash-nav"' in body
        and "Back to the overview" in body
    )
