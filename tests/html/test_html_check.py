"""The HTML check (tests/fixtures/html_check.py) can fail: a known-invalid page fails the session with
its URL, the test that rendered it, the line and vnu's message, in a real pytest run of its own."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures import html_check

ROOT = Path(__file__).resolve().parents[2]

PAGES = """
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

HEAD = '<!DOCTYPE html>\\n<html lang="en"><head><title>A page</title></head>\\n'


@login_not_required
def invalid(request):
    return HttpResponse(HEAD + "<body><p><div>a block in a paragraph</div></p></body></html>")


@login_not_required
def valid(request):
    return HttpResponse(HEAD + "<body><p>Fine.</p></body></html>")


@login_not_required
def fragment(request):
    return HttpResponse('<tr><td data-hx-get="/x">a row</td></tr><tr><td hx-get="/y">b</td></tr>')


urlpatterns = [path("invalid/", invalid), path("valid/", valid), path("fragment/", fragment)]
"""

TESTS = """
import pytest

pytestmark = pytest.mark.urls("pages_for_the_check")


def test_renders_an_invalid_page(client):
    assert client.get("/invalid/").status_code == 200


def test_renders_a_valid_page_twice(client):
    client.get("/valid/")
    client.get("/valid/")


def test_renders_an_htmx_fragment(client):
    client.get("/fragment/", headers={"HX-Request": "true"})
"""


def run_pytest(folder: Path, *arguments: str, **env) -> subprocess.CompletedProcess:
    (folder / "pages_for_the_check.py").write_text(PAGES)
    (folder / "test_pages.py").write_text(TESTS)
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{folder}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        **env,
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.fixtures.html_check"]
    command += ["--rootdir", str(folder), "-o", "addopts=", *arguments, str(folder / "test_pages.py")]
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=300)


def test_an_invalid_page_fails_the_session_and_says_where(tmp_path):
    done = run_pytest(tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "3 passed" in out and "1 failed" in out and "FAILED html check (vnu)" in out
    assert "vnu found 2 error(s) in 2 page(s)" in out
    assert (
        "GET /invalid/ (200)  — page 00001.html, first rendered by test_pages.py::test_renders_an_invalid_page"
        in out
    )
    assert "  line 3: No “p” element in scope but a “p” end tag seen." in out
    # The fragment is checked inside a table (its rows alone would be stray); data-hx-* is valid,
    # hx-* is not, and the report says which spelling to use.
    assert "GET /fragment/ (200)  — htmx fragment 00003.html" in out
    assert (
        "Attribute “hx-get” not allowed on element “td” at this point.  [write htmx attributes as data-hx-*"
        in out
    )
    assert "data-hx-get" not in out and "/valid/" not in out  # the valid page, saved once, passed
    assert "3 distinct of 4 rendered" in out


def test_under_xdist_the_run_checks_every_workers_pages_once_they_are_done(tmp_path):
    # make test's SQLite pass runs in two workers: the pages of both, one check, the same report.
    done = run_pytest(tmp_path, "-n", "2")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "3 passed" in out and "1 failed" in out and "FAILED html check (vnu)" in out
    assert "vnu found 2 error(s) in 2 page(s)" in out
    assert re.search(
        r"GET /invalid/ \(200\)  — page gw\d-\d{5}\.html, first rendered by test_pages\.py::", out
    )
    assert "  line 3: No “p” element in scope but a “p” end tag seen." in out
    assert re.search(r"GET /fragment/ \(200\)  — htmx fragment gw\d-\d{5}\.html", out)


def test_turned_off_with_voxdash_html_check_0(tmp_path):
    done = run_pytest(tmp_path, VOXDASH_HTML_CHECK="0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout and "html check" not in done.stdout


def test_a_bad_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("VOXDASH_HTML_CHECK", "yes")
    with pytest.raises(pytest.UsageError, match="VOXDASH_HTML_CHECK must be 0 or 1, not 'yes'"):
        html_check.enabled()


def test_what_changes_between_renderings_does_not_make_a_page_new():
    page = textwrap.dedent("""\
        <meta name="csrf-token" content="%s"><script nonce="%s"></script>
        <input name="idempotency_key" value="%s"><p>request %s</p>""")
    one = page % ("a" * 64, "n0nce-1", "198cbcca-625d-42ab-bf6a-4632434818af", "0" * 32)
    two = page % ("b" * 64, "n0nce_2", "ea4b7020-7159-4b35-9513-dc4bfba19261", "f" * 32)
    assert html_check.fingerprint(one.encode()) == html_check.fingerprint(two.encode())
    assert html_check.fingerprint(one.encode()) != html_check.fingerprint(
        one.replace("<p>", "<div>").encode()
    )


def test_a_fragment_is_wrapped_on_its_own_first_line():
    wrapped = html_check.as_document(b"\n<li>one</li>\n<li>two</li>").decode()
    assert wrapped.startswith("<!DOCTYPE html><html") and "<body><ul><li>one</li>\n" in wrapped
    assert wrapped.endswith("</ul></body></html>") and wrapped.count("\n") == 1
    assert html_check.as_document(b"<div>x</div>").decode().endswith("<body><div>x</div></body></html>")
