"""Debian's nginx with deploy/nginx.conf (its "# SITE" lines set for this machine, every other byte
as shipped) in front of the production gunicorn of conftest.py's deploy_stack, over HTTPS with a
certificate made by the test: what a browser and Vox see through the proxy."""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser

import httpx
import pytest

from tests.deploy.conftest import DEPLOY, PASSWORDS, PREFIX, WEBHOOK_SECRET, free_port, nginx_start
from tests.webhooks.conftest import body_of, call_data, event
from vox_simulator.webhooks import signature_header
from voxdash.lib.sheets import MAX_FILE_BYTES, MB


class Forms(HTMLParser):
    """Each <form>'s action and fields: (name, type, value) of its inputs, the first option of
    each select."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": []})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"].append((a["name"], a.get("type", "text"), a.get("value") or ""))
        elif tag == "select" and self.forms:
            self._select = a.get("name")
        elif tag == "option" and self._select and a.get("value"):
            self.forms[-1]["fields"].append((self._select, "select", a["value"]))
            self._select = None  # the first choice is enough


def forms_in(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def sign_in(browser: httpx.Client, origin: str, username: str, password: str) -> httpx.Response:
    """The sign-in page's password form, filled and posted as a browser does: with its Origin
    and Referer, which Django's CSRF check compares with the host over HTTPS."""
    page = browser.get(f"{PREFIX}/accounts/login/")
    assert page.status_code == 200, page.text
    form = next(f for f in forms_in(page.text) if any(kind == "password" for _, kind, _ in f["fields"]))
    data = {name: value for name, kind, value in form["fields"] if kind == "hidden"}
    data[next(name for name, kind, _ in form["fields"] if kind in ("text", "email"))] = username
    data[next(name for name, kind, _ in form["fields"] if kind == "password")] = password
    headers = {"Origin": origin, "Referer": str(page.url)}
    return browser.post(form["action"] or page.url.path, data=data, headers=headers)


@pytest.fixture(scope="module")
def caller(proxy):
    """A Caller signed in with a password, through the proxy."""
    with proxy.client() as browser:
        response = sign_in(browser, proxy.origin, "cal", PASSWORDS["cal"])
        assert response.status_code == 302 and response.headers["location"] == f"{PREFIX}/", response.text
        yield browser


def test_sign_in_over_https_passes_the_csrf_origin_check(proxy, caller):
    page = caller.get(f"{PREFIX}/calls/")
    assert page.status_code == 200  # signed in: anonymous visitors are sent to the sign-in page
    session = next(c for c in caller.cookies.jar if c.name == "sessionid")
    assert session.secure and session.path == f"{PREFIX}/"  # Django saw HTTPS (X-Forwarded-Proto)
    # The check is real: the same form from another origin is refused.
    with proxy.client() as browser:
        refused = sign_in(browser, "https://evil.example", "cal", PASSWORDS["cal"])
    assert refused.status_code == 403


def test_the_call_history_under_the_prefix(deploy_stack, caller):
    page = caller.get(f"{PREFIX}/calls/")
    newest = deploy_stack.simulator.store.list_calls(None, None, None, 1, 1)[0][0]
    assert f'href="{PREFIX}/calls/{newest["id"]}/"' in page.text
    detail = caller.get(f"{PREFIX}/calls/{newest['id']}/")
    assert detail.status_code == 200 and newest["id"] in detail.text


def test_plain_http_is_redirected_to_https(deploy_stack, proxy):
    response = httpx.get(f"http://localhost:{proxy.http_port}{PREFIX}/calls/?page=2", timeout=10)
    assert response.status_code == 301
    assert response.headers["location"] == f"https://localhost{PREFIX}/calls/?page=2"
    with proxy.client() as browser:
        bare = browser.get(PREFIX)
    assert bare.status_code == 301 and bare.headers["location"] == f"{proxy.origin}{PREFIX}/"
    # Without the proxy's X-Forwarded-Proto, Django itself sends plain HTTP to HTTPS: through the
    # proxy it is that header that lets the pages answer.
    direct = httpx.get(f"{deploy_stack.web_url}{PREFIX}/calls/", headers={"Host": "localhost"}, timeout=10)
    assert direct.status_code == 301 and direct.headers["location"].startswith("https://")


def test_hsts_is_sent_once(caller):
    page = caller.get(f"{PREFIX}/calls/")
    assert page.headers.get_list("strict-transport-security") == ["max-age=31536000; includeSubDomains"]


def test_the_request_id_is_the_proxys(deploy_stack, caller):
    response = caller.get(f"{PREFIX}/numbers/", headers={"X-Request-ID": "chosen-by-the-client"})
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id
    deploy_stack.wait_for("the request's log line", lambda: request_id in deploy_stack.log("web"), timeout=10)


def test_a_clients_single_sign_on_header_is_dropped(deploy_stack, proxy):
    # What nginx stands between: gunicorn believes the header from 127.0.0.1, the proxy's address.
    direct = httpx.get(
        f"{deploy_stack.web_url}{PREFIX}/calls/",
        headers={"Host": "localhost", "X-Forwarded-Proto": "https", "X-Remote-User": "admin"},
        timeout=30,
    )
    assert direct.status_code == 200  # signed in as admin, by a header
    for header in ("X-Remote-User", "x-remote-user", "X-REMOTE-USER", "X-Remote_User"):
        with proxy.client() as stranger:
            response = stranger.get(
                f"{PREFIX}/calls/", headers={header: "admin", "X-Remote-Groups": "admins"}
            )
        assert response.status_code == 302, header
        assert response.headers["location"].startswith(f"{PREFIX}/accounts/login/"), header


def test_the_conf_clears_every_header_voxdash_may_sign_in_by():
    conf = (DEPLOY / "nginx.conf").read_text()
    # The settings' names in the test's stack and the README's example groups header.
    for header in ("X-Remote-User", "X-Remote-Groups"):
        assert re.search(rf'^\s*proxy_set_header {header} "";', conf, re.M), header


def test_a_signed_vox_webhook_is_accepted_and_applied(deploy_stack, proxy):
    payload = event("vox.call.completed", call_data(f"call_deploy_{secrets.token_hex(6)}", "completed"))
    body = body_of(payload)
    with proxy.client() as vox:
        forged = vox.post(
            f"{PREFIX}/webhooks/vox/",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Cloove-Signature": signature_header("whsec_x", body),
            },
        )
        accepted = vox.post(
            f"{PREFIX}/webhooks/vox/",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Cloove-Signature": signature_header(WEBHOOK_SECRET, body),
            },
        )
    assert forged.status_code == 400 and "signature" in forged.text  # voxdash's refusal, through nginx
    assert accepted.status_code == 200, accepted.text

    def applied() -> bool:
        rows = deploy_stack.query(
            "SELECT outcome FROM webhooks_webhookevent WHERE event_id = %s", payload["id"]
        )
        return rows == [("applied",)]

    deploy_stack.wait_for("the worker applying the event", applied, timeout=30)


# --- The list upload: up to 10 MB (voxdash.lib.sheets.MAX_FILE_BYTES)


def campaign_form(browser: httpx.Client) -> dict:
    page = browser.get(f"{PREFIX}/campaigns/new/")
    assert page.status_code == 200, page.text
    (form,) = [f for f in forms_in(page.text) if f["action"] == f"{PREFIX}/campaigns/new/"]
    fields = {name: value for name, kind, value in form["fields"] if kind in ("hidden", "select")}
    return fields | {
        "name": "Uploaded through nginx",
        "purpose": "payment_reminder",
        "context": "Remind {customer_name} about the invoice.",
        "max_attempts": "1",
        "retry_after_minutes": "60",
        "window_start": "09:00",
        "window_end": "17:00",
        "window_days": ["mon", "tue", "wed"],
        "time_zone": "UTC",
        "max_in_flight": "5",
    }


def csv_of(size: int, header: bytes) -> bytes:
    """A list of exactly `size` bytes."""
    row = b"+2348031234560,Ada Lovelace,ada@example.com\n"
    body = header + row * ((size - len(header)) // len(row))
    return body + b"x" * (size - len(body) - 1) + b"\n"


def upload(browser: httpx.Client, origin: str, content: bytes) -> httpx.Response:
    return browser.post(
        f"{PREFIX}/campaigns/new/",
        data=campaign_form(browser),
        files={"file": ("customers.csv", content, "text/csv")},
        headers={"Origin": origin, "Referer": f"{origin}{PREFIX}/campaigns/new/"},
    )


def test_a_10_mb_list_reaches_voxdash(proxy, caller):
    # At the limit, with columns voxdash cannot use: its form reads the file and says why.
    response = upload(caller, proxy.origin, csv_of(MAX_FILE_BYTES, b"email,notes,more\n"))
    assert response.status_code == 200
    assert "The file has no phone column" in response.text
    assert 'value="Uploaded through nginx"' in response.text  # everything else typed is kept


def test_a_list_just_over_10_mb_gets_voxdashs_answer(proxy, caller):
    response = upload(
        caller, proxy.origin, csv_of(MAX_FILE_BYTES + MB // 2, b"customer_phone,customer_name,email\n")
    )
    assert response.status_code == 200
    assert "The file is 10.5 MB; the limit is 10 MB." in response.text
    assert 'value="Uploaded through nginx"' in response.text


def test_a_much_larger_upload_is_refused_by_nginx_with_a_page_that_says_why(proxy, caller):
    response = upload(caller, proxy.origin, csv_of(12 * MB, b"customer_phone,customer_name\n"))
    assert response.status_code == 413
    assert "This upload is too large" in response.text
    assert (
        f"lists of up to {MAX_FILE_BYTES // MB} MB" in response.text and "Nothing was saved" in response.text
    )
    assert "x-request-id" not in response.headers  # voxdash never saw it
    assert "client intended to send too large body" in proxy.error_log()
    # The page's look: the stylesheets it names are served.
    for href in re.findall(r'href="([^"]+\.css)"', response.text):
        assert caller.get(href).status_code == 200, href


def test_static_files_are_served_by_nginx_hashed_ones_for_a_year(caller):
    page = caller.get(f"{PREFIX}/calls/")
    css = re.search(rf'href="({PREFIX}/static/voxdash/voxdash\.[0-9a-f]{{12}}\.css)"', page.text)[1]
    response = caller.get(css, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-type"] == "text/css"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers.get("content-encoding") == "gzip"  # the .gz collectstatic wrote beside it
    assert "x-request-id" not in response.headers  # from disk, not through gunicorn
    unhashed = caller.get(f"{PREFIX}/static/voxdash/voxdash.css")
    assert unhashed.status_code == 200 and unhashed.headers["cache-control"] == "public, max-age=3600"
    assert caller.get(f"{PREFIX}/static/voxdash/missing.css").status_code == 404


def test_gunicorn_down_is_a_page_in_voxdashs_words(tmp_path):
    nowhere = nginx_start(tmp_path, upstream=f"127.0.0.1:{free_port()}", static_root=tmp_path)
    try:
        with nowhere.client() as browser:
            response = browser.get(f"{PREFIX}/calls/")
    finally:
        nowhere.stop()
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert "voxdash is not answering" in response.text


def test_no_secret_in_any_log_of_the_stack(deploy_stack, proxy):
    """Last here: by now every process has served, queued, synced and refused something."""
    logs = deploy_stack.all_logs(tail=None) + proxy.error_log()
    logs += "".join(result.stdout + result.stderr for result in deploy_stack.outputs.values())
    for name in ("VOX_API_KEY", "VOX_WEBHOOK_SECRET", "DJANGO_SECRET_KEY"):
        assert deploy_stack.env[name] not in logs, name
    for password in PASSWORDS.values():
        assert password not in logs
