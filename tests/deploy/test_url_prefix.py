"""Served under https://intranet.example/voxdash/: every link, asset, htmx URL, form and redirect
keeps the prefix. The settings are the ones settings.py derives from VOXDASH_URL_PREFIX."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from tests.deploy.test_settings import production_settings

PREFIX = "/voxdash"
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "hx-get",
    "hx-post",
    "hx-put",
    "hx-delete",
    "hx-patch",
    "hx-push-url",
    "hx-replace-url",
    "data-url",
    "poster",
}
MAX_PAGES = 40


class Urls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            # htmx's attributes are written data-hx-* (valid HTML); htmx reads both spellings.
            is_url = name in URL_ATTRIBUTES or name.removeprefix("data-") in URL_ATTRIBUTES
            if is_url and value and value not in ("true", "false"):
                self.found.append((tag, name, value))


def urls_in(html: str) -> list[tuple[str, str, str]]:
    parser = Urls()
    parser.feed(html)
    return parser.found


@pytest.fixture
def prefixed(settings, monkeypatch, vox_settings, db):
    derived = production_settings(monkeypatch, VOXDASH_URL_PREFIX=PREFIX)
    for name in ("FORCE_SCRIPT_NAME", "STATIC_URL", "SESSION_COOKIE_PATH", "CSRF_COOKIE_PATH"):
        setattr(settings, name, derived[name])
    settings.WHITENOISE_USE_FINDERS = True  # serve static files from the source tree, as under DEBUG
    # Django's WSGIHandler sets this on every request from FORCE_SCRIPT_NAME; the test client's
    # handler does not.
    set_script_prefix(derived["FORCE_SCRIPT_NAME"])
    yield settings
    clear_script_prefix()  # the handler set it for this thread; later tests must not inherit it


def path_info(url: str) -> str:
    """What the proxy hands the app for a URL in a page: the path without the prefix."""
    path = urlsplit(url).path
    assert path.startswith(PREFIX + "/"), url
    return path[len(PREFIX) :]


def test_every_url_in_every_page_keeps_the_prefix(client, prefixed, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin)
    to_visit, seen, bad = ["/"], set(), []
    while to_visit and len(seen) < MAX_PAGES:
        path = to_visit.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, SCRIPT_NAME=PREFIX)
        assert response.status_code in (200, 302, 404), (path, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith(PREFIX + "/"), (path, response["Location"])
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        for tag, attribute, value in urls_in(response.text):
            if value.startswith(("#", "?", "http://", "https://", "mailto:", "data:", "javascript:")):
                continue  # fragments, same-page queries, other sites (recordings)
            if not value.startswith(PREFIX + "/") or value.startswith("//"):
                bad.append(f"{path}: <{tag} {attribute}={value!r}>")
                continue
            target = urlsplit(value).path[len(PREFIX) :]
            # Walk our own pages, one of each kind (a single call, not three hundred).
            if tag == "a" and attribute == "href" and not target.startswith(("/admin/", "/static/")):
                kind = re.sub(r"/[^/]*\d[^/]*/", "/<id>/", target)
                if kind not in {re.sub(r"/[^/]*\d[^/]*/", "/<id>/", p) for p in seen | set(to_visit)}:
                    to_visit.append(target)
    assert not bad, "URLs without the prefix:\n" + "\n".join(bad)
    assert {"/", "/calls/", "/calls/placed/", "/numbers/", "/agents/"} <= seen, seen
    assert any(re.fullmatch(r"/calls/[^/]+/", p) and p != "/calls/placed/" for p in seen), seen  # a call


def test_static_files_are_served_under_the_prefix(client, prefixed):
    page = client.get(path_info(reverse("login")), SCRIPT_NAME=PREFIX).text
    css = next(v for _, a, v in urls_in(page) if v.endswith("voxdash.css"))
    response = client.get(path_info(css), SCRIPT_NAME=PREFIX)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


def test_login_redirects_keep_the_prefix(client, prefixed, viewer):
    response = client.get("/calls/", SCRIPT_NAME=PREFIX)
    assert response.status_code == 302
    assert response["Location"] == f"{PREFIX}/accounts/login/?next={PREFIX}/calls/"

    login = client.get(path_info(response["Location"]), SCRIPT_NAME=PREFIX)
    assert f'action="{PREFIX}/accounts/login/' in login.text or 'action=""' not in login.text
    response = client.post(
        "/accounts/login/",
        {"username": "vera", "password": "pw-vera-123", "next": f"{PREFIX}/calls/"},
        SCRIPT_NAME=PREFIX,
    )
    assert response.status_code == 302 and response["Location"] == f"{PREFIX}/calls/"
    assert response.cookies["sessionid"]["path"] == f"{PREFIX}/"

    response = client.post("/accounts/logout/", SCRIPT_NAME=PREFIX)
    assert response.status_code == 302 and response["Location"] == f"{PREFIX}/accounts/login/"


def test_post_redirect_get_keeps_the_prefix(client, prefixed, django_user_model):
    staff = django_user_model.objects.create_user("sid", password="pw-sid-123", is_staff=True)
    client.force_login(staff)
    # Without htmx the sync button posts a form and is sent back to the list.
    response = client.post("/calls/sync/", SCRIPT_NAME=PREFIX)
    assert response.status_code == 302 and response["Location"] == f"{PREFIX}/calls/"
