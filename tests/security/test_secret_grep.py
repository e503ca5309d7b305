"""The secret grep (tests/fixtures/secret_grep.py) can fail: a planted leak is caught at each seam."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from tests.fixtures import secret_grep
from vox_simulator import keys

ROOT = Path(__file__).resolve().parents[2]


def leaky_body(request):
    return HttpResponse(f"debug: key={keys.DEMO_KEY}")


def leaky_header(request):
    response = HttpResponse("fine")
    response["X-Debug"] = keys.DEMO_WEBHOOK_SECRET
    return response


def leaky_stream(request):
    # The key split across two chunks: the grep keeps the end of the previous chunk.
    half = len(keys.LIVE_KEY) // 2
    return StreamingHttpResponse(
        iter([b"a,b\n", keys.LIVE_KEY[:half].encode(), keys.LIVE_KEY[half:].encode()])
    )


def clean(request):
    return HttpResponse("nothing to see")


urlpatterns = [
    path("body/", leaky_body),
    path("header/", leaky_header),
    path("stream/", leaky_stream),
    path("clean/", clean),
]


def test_checker_finds_each_secret_and_names_it_without_printing_it(settings):
    settings.VOX_API_KEY = "clv_live_sk_" + "x" * 32
    for name in ("DEMO_KEY", "LIVE_KEY", "PUBLISHABLE_KEY", "DEMO_WEBHOOK_SECRET"):
        with pytest.raises(secret_grep.SecretLeak, match=f"keys.{name}") as caught:
            secret_grep.check_text(f"<p>{getattr(keys, name)}</p>", "a page")
        assert getattr(keys, name) not in str(caught.value)
    with pytest.raises(secret_grep.SecretLeak, match="settings.VOX_API_KEY"):
        secret_grep.check_response(HttpResponse(settings.VOX_API_KEY.encode()))
    secret_grep.check_text("clv_test_sk_oz3H… (a masked key is fine)", "a page")


def test_short_settings_values_are_not_secrets(settings):
    settings.VOX_WEBHOOK_SECRET = "s"
    assert "settings.VOX_WEBHOOK_SECRET" not in secret_grep.known_secrets()


@pytest.mark.urls("tests.security.test_secret_grep")
def test_a_leaking_view_is_caught_through_the_test_client(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/clean/").status_code == 200
    assert secret_grep.take_leaks() == []

    client.get("/body/")
    assert secret_grep.take_leaks() == ["keys.DEMO_KEY found in the body of the response to GET /body/ (200)"]
    client.get("/header/")
    assert secret_grep.take_leaks() == [
        "keys.DEMO_WEBHOOK_SECRET found in a header of the response to GET /header/ (200)"
    ]
    response = client.get("/stream/")
    assert b"".join(response.streaming_content).endswith(keys.LIVE_KEY.encode())  # content unchanged
    assert secret_grep.take_leaks() == [
        "keys.LIVE_KEY found in the streamed body of the response to GET /stream/ (200)"
    ]


def test_a_leaking_log_line_is_caught():
    logging.getLogger("voxdash.anything").error("calling with %s", keys.READ_ONLY_KEY)
    assert secret_grep.take_leaks() == [
        "keys.READ_ONLY_KEY found in a log record of 'voxdash.anything' (ERROR)"
    ]
    try:
        raise RuntimeError(f"Bearer {keys.EXPIRED_KEY}")
    except RuntimeError:
        logging.getLogger("django.request").exception("Internal Server Error")  # the traceback too
    assert secret_grep.take_leaks() == ["keys.EXPIRED_KEY found in a log record of 'django.request' (ERROR)"]


def test_a_leak_fails_the_test(tmp_path):
    # The whole chain, in a pytest run of its own: the test that leaks fails and says what leaked.
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.fixtures.secret_grep"]\n')
    (tmp_path / "test_planted.py").write_text(
        "import logging\n"
        "from vox_simulator import keys\n\n"
        "def test_leaks():\n"
        "    logging.getLogger('x').warning('key %s', keys.DEMO_KEY)\n\n"
        "def test_clean():\n"
        "    logging.getLogger('x').warning('key %s', 'clv_test_sk_oz3H…')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "a secret leaked during the test" in result.stdout
    assert "keys.DEMO_KEY found in a log record of 'x' (WARNING)" in result.stdout
    assert "test_leaks" in result.stdout and "FAILED" in result.stdout
    # The report names the secret; only pytest's own capture of the log line shows its value.
    failure = result.stdout.split("a secret leaked during the test")[1].split("Captured")[0]
    assert keys.DEMO_KEY not in failure
