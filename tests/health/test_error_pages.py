"""The error pages (voxdash.health.error_pages): 400, 403, 404, 500 and a refused CSRF check, each in
the dashboard's look with the request id and what to do; htmx gets a banner for the error area.
Every page here also passes the HTML check (tests/fixtures/html_check.py)."""

import re
import socket

import pytest
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

import voxdash.urls
from voxdash.accounts.roles import role_group
from voxdash.directory.models import DoNotCallEntry
from voxdash.health.error_pages import account_managers
from voxdash.vox import reset_client


@csrf_exempt
@login_not_required
def crash(request):
    raise RuntimeError("the secret internals of a crash: db password hunter2")


def refuse_in_someone_elses_words(request):
    # Stands in for Django's or a library's PermissionDenied: its text is not written for users.
    raise PermissionDenied("internal: missing perm app.thing for uid 7")


urlpatterns = [
    path("crash/", crash),
    path("refused/", refuse_in_someone_elses_words),
    *voxdash.urls.urlpatterns,
]
pytestmark = pytest.mark.urls(__name__)
# Django looks for the error handlers in the URLconf in use: this one's are the project's. allauth
# looks for handler429 there too (voxdash.urls is to name it; until then this module does).
handler400, handler403, handler404, handler500 = (
    voxdash.urls.handler400,
    voxdash.urls.handler403,
    voxdash.urls.handler404,
    voxdash.urls.handler500,
)
handler429 = getattr(voxdash.urls, "handler429", "voxdash.health.error_pages.too_many_requests")

HTMX = {"HX-Request": "true"}


def text_of(response) -> str:
    """The page's words, without markup and runs of white space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def assert_our_page_with_the_request_id(response, status: int, title: str) -> None:
    body = response.content.decode()
    assert response.status_code == status
    assert body.lstrip().lower().startswith("<!doctype html>")
    assert f"<h1>{title}</h1>" in body and f"<title>{title} | voxdash</title>" in body
    assert '<div id="site-name"><a href="/">voxdash</a></div>' in body  # the dashboard's header
    request_id = response["X-Request-ID"]
    assert f"give this request id: <code>{request_id}</code>" in body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- 404


def test_404_for_someone_signed_out_is_our_page_without_the_menu(client, db):
    response = client.get("/no/such/page/", headers={"X-Request-ID": "req-404-abc"})
    assert_our_page_with_the_request_id(response, 404, "Page not found")
    assert response["X-Request-ID"] == "req-404-abc"
    assert "There is no page at this address." in text_of(response)
    assert 'class="voxdash-nav"' not in response.content.decode()


def test_404_for_someone_signed_in_keeps_the_menu(viewer_client):
    response = viewer_client.get("/campaigns/999999/")
    assert_our_page_with_the_request_id(response, 404, "Page not found")
    body = response.content.decode()
    assert 'class="voxdash-nav"' in body and "Signed in as" in body
    assert "Campaign matching query" not in body  # Django's message for the missing object


# --- 403 and whom to ask


@pytest.fixture
def account_people(db):
    """Who may and may not be named as someone who can change accounts."""
    make = User.objects.create_user
    admin = make("ada", email="ada@example.com", first_name="Ada", last_name="Admin", is_superuser=True)
    changer = make("bola", email="bola@example.com", first_name="Bola", last_name="Bello")
    managers = Group.objects.create(name="Account managers")
    managers.permissions.add(Permission.objects.get(content_type__app_label="auth", codename="change_user"))
    changer.groups.add(managers)
    direct = make("chi", email="chi@example.com")  # an address, no name: named by the address
    direct.user_permissions.add(
        Permission.objects.get(content_type__app_label="auth", codename="change_user")
    )
    make("svc-deploy", is_superuser=True)  # a service account: no name, no address
    make("gone", email="gone@example.com", first_name="Gone", is_superuser=True, is_active=False)
    make(
        "staffer", email="staffer@example.com", first_name="Stan", is_staff=True
    )  # staff may not grant roles
    return admin, changer, direct


def test_a_viewer_opening_place_a_call_sees_why_and_whom_to_ask(viewer_client, account_people):
    response = viewer_client.get("/calls/new/")
    assert_our_page_with_the_request_id(response, 403, "Not allowed")
    body = response.content.decode()
    assert "<strong>Only Callers may place calls and run campaigns.</strong>" in body
    assert "ask one of the people who manage voxdash's accounts to change your role" in body
    contacts = re.findall(r'<a href="mailto:([^"]+)">([^<]+)</a>', body)
    assert contacts == [
        ("ada@example.com", "Ada Admin"),
        ("bola@example.com", "Bola Bello"),
        ("chi@example.com", "chi@example.com"),
    ]
    assert "(chi@example.com)" not in body  # not said twice when the address is the name
    for hidden in ("svc-deploy", "gone@example.com", "Gone", "staffer@example.com", "Stan"):
        assert hidden not in body, hidden
    assert 'class="voxdash-nav"' in body and "Back to the overview" in body


def test_a_viewer_whose_role_comes_from_the_provider_is_told_which_group_to_ask_for(
    client, settings, vox_settings, account_people
):
    settings.VOXDASH_OIDC_ISSUER, settings.VOXDASH_OIDC_NAME = "https://login.example.com", "Corp login"
    victor = User.objects.create_user("victor", password=None)  # signed in through the provider
    victor.groups.add(role_group("viewer"))
    client.force_login(victor)
    response = client.get("/calls/new/")
    assert_our_page_with_the_request_id(response, 403, "Not allowed")
    words = text_of(response)
    # The admin cannot help: the provider's groups claim gives the role back at each sign-in.
    assert "Your role comes from your groups at Corp login" in words
    assert "add you to voxdash-callers" in words and "next time you sign in" in words
    assert "manage voxdash's accounts" not in words
    # A local account with the same role is sent to the people who manage accounts, as before.
    vera = User.objects.create_user("vera-local", password="pw-vera-123")
    vera.groups.add(role_group("viewer"))
    client.force_login(vera)
    assert "manage voxdash's accounts" in text_of(client.get("/calls/new/"))


def test_a_viewer_on_a_campaign_page_is_told_the_same(viewer_client, account_people):
    response = viewer_client.get("/campaigns/new/")
    assert response.status_code == 403
    assert "Only Callers may place calls and run campaigns." in text_of(response)
    assert 'href="mailto:ada@example.com"' in response.content.decode()


def test_with_nobody_to_name_the_page_says_to_ask_the_administrator(viewer_client):
    User.objects.create_user("root", is_superuser=True)  # no name, no address
    response = viewer_client.get("/calls/new/")
    assert "If you need it, ask your voxdash administrator to change your role." in text_of(response)
    assert "mailto:" not in response.content.decode() and "root" not in text_of(response)


def test_a_refusal_worded_by_someone_else_is_not_shown(viewer_client):
    response = viewer_client.get("/refused/")
    assert_our_page_with_the_request_id(response, 403, "Not allowed")
    assert "Your account may not open this page or do this." in text_of(response)
    assert "internal" not in response.content.decode()


def test_account_managers_a_few_at_most_superusers_first_never_the_asker(account_people):
    admin, changer, direct = account_people
    assert [c.name for c in account_managers()] == ["Ada Admin", "Bola Bello", "chi@example.com"]
    assert [c.name for c in account_managers(limit=2)] == ["Ada Admin", "Bola Bello"]
    assert [c.email for c in account_managers(exclude_pk=admin.pk)] == ["bola@example.com", "chi@example.com"]


# --- 500: renders with the database, the cache, the session store and Vox all down


@pytest.fixture
def everything_down(settings):
    """No database (no `db` fixture: pytest-django refuses every query, so the session cannot be
    read either), a cache that raises (Redis on a closed port), Vox unreachable."""
    dead_redis = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead_redis}
    }
    settings.VOX_API_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    settings.DEBUG = False
    reset_client()
    yield settings
    reset_client()


@pytest.fixture
def signed_in_looking_client():
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a-session-the-dead-store-holds"
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Overrides the suite's: with the cache down, clearing it would fail the test before it starts.
    yield


def test_500_renders_with_the_database_cache_session_and_vox_down(everything_down, signed_in_looking_client):
    # The session cannot be read, so the page fails before its view (in the middleware that asks
    # who this is), and the error page must do without all of them.
    response = signed_in_looking_client.get("/calls/", headers={"X-Request-ID": "req-500-abc"})
    assert_our_page_with_the_request_id(response, 500, "Something went wrong")
    assert response["X-Request-ID"] == "req-500-abc"
    assert "The error has been recorded for its administrators." in text_of(response)
    body = response.content.decode()
    assert "Redis" not in body and "ConnectionError" not in body and "Traceback" not in body


def test_500_shows_no_exception_text(everything_down, signed_in_looking_client):
    response = signed_in_looking_client.get("/crash/")
    assert_our_page_with_the_request_id(response, 500, "Something went wrong")
    assert "hunter2" not in response.content.decode() and "RuntimeError" not in response.content.decode()


def test_500_to_htmx_is_a_banner_for_the_error_area(everything_down, signed_in_looking_client):
    response = signed_in_looking_client.get("/calls/", headers={**HTMX, "X-Request-ID": "req-htmx-500"})
    assert_fragment(response, 500, "Something went wrong")
    assert "Try again in a moment" in text_of(response) and "Redis" not in response.content.decode()


# --- htmx fragments


def assert_fragment(response, status: int, title: str) -> None:
    body = response.content.decode()
    assert response.status_code == status
    assert "<html" not in body and body.lstrip().startswith('<div class="banner banner-error" role="alert"')
    assert f"<strong>{title}.</strong>" in body
    assert f"Request id: <code>{response['X-Request-ID']}</code>" in body
    # Where htmx puts it, and that the address stays the page's.
    assert response["HX-Retarget"] == "#request-error" and response["HX-Reswap"] == "innerHTML"
    assert response["HX-Push-Url"] == "false"


def test_htmx_403_is_a_banner_with_the_reason(viewer_client):
    response = viewer_client.get("/calls/new/", headers=HTMX)
    assert_fragment(response, 403, "Not allowed")
    assert "Only Callers may place calls and run campaigns." in text_of(response)


def test_htmx_404_is_a_banner(viewer_client):
    response = viewer_client.get("/campaigns/999999/", headers=HTMX)
    assert_fragment(response, 404, "Page not found")
    assert "Reload the page: what it showed may be gone." in text_of(response)


def test_htmx_history_restore_gets_the_whole_page(viewer_client):
    response = viewer_client.get("/campaigns/999999/", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert_our_page_with_the_request_id(response, 404, "Page not found")
    assert "HX-Retarget" not in response


def test_every_page_has_the_error_area_htmx_swaps_into(viewer_client):
    body = viewer_client.get("/").content.decode()
    assert body.count('<div id="request-error" aria-live="polite"></div>') == 1


# --- 429


def test_allauths_rate_limit_answers_with_our_page(rf, viewer, settings):
    from allauth.core.internal.ratelimit import respond_429

    settings.ROOT_URLCONF = __name__
    request = rf.post("/accounts/login/")
    request.request_id = "req-429"
    request.user = viewer
    response = respond_429(request)
    assert response.status_code == 429
    body = response.content.decode()
    assert "<h1>Too many attempts</h1>" in body and "<code>req-429</code>" in body
    assert "Wait a few minutes, then try again." in text_of(response)


# --- 400


def test_400_for_a_host_name_not_served_is_our_bare_page(client, viewer, settings):
    settings.ALLOWED_HOSTS = ["voxdash.example"]
    client.force_login(viewer)
    response = client.get("/", headers={"Host": "elsewhere.example"})
    assert_our_page_with_the_request_id(response, 400, "Bad request")
    assert "a host name this server does not answer to" in text_of(response)
    # Rendered without the request (its host would be refused again): no menu, no user.
    assert 'class="voxdash-nav"' not in response.content.decode() and "vera" not in text_of(response)


# --- CSRF


@pytest.fixture
def csrf_client(caller, vox_settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(caller)
    return client


def add_to_dnc(client, **extra):
    return client.post("/dnc/add/", {"phone": "+2348099999999", "reason": "asked"}, **extra)


def test_a_form_from_an_old_tab_is_refused_with_what_to_do_and_nothing_done(csrf_client):
    csrf_client.get("/dnc/")  # the CSRF cookie is set; the form's token is then missing or stale
    response = add_to_dnc(csrf_client, headers={"X-Request-ID": "req-csrf-1"})
    assert_our_page_with_the_request_id(response, 403, "The form was refused")
    words = text_of(response)
    assert "nothing was saved, sent or dialled" in words
    assert "Most likely the page was old: you signed out, or signed in again" in words
    for cause in ("an old tab", "cookies blocked for voxdash", "drops the Referer or Origin header"):
        assert cause in words
    assert "Most browsers keep what you typed there." in words
    assert '<button type="button" class="button" data-history-back hidden>' in response.content.decode()
    assert "CSRF token" not in response.content.decode()  # Django's reason is for the log
    assert not DoNotCallEntry.objects.exists()


def test_a_form_without_the_cookie_says_cookies(csrf_client):
    response = add_to_dnc(csrf_client)  # no page was loaded: no CSRF cookie
    assert response.status_code == 403
    assert "Most likely your browser did not send voxdash's cookies" in text_of(response)


def test_a_form_whose_origin_is_not_ours_says_proxy_or_address(csrf_client, settings):
    csrf_client.get("/dnc/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/dnc/add/",
        {"phone": "+2348099999999", "csrfmiddlewaretoken": token},
        headers={"Origin": "https://portal.example"},
    )
    assert response.status_code == 403
    assert "or voxdash was reached under an address it is not set up for" in text_of(response)
    assert "portal.example" not in response.content.decode()
    assert not DoNotCallEntry.objects.exists()


def test_htmx_csrf_refusal_is_a_banner(csrf_client):
    response = add_to_dnc(csrf_client, headers=HTMX)
    assert_fragment(response, 403, "The form was refused")
    assert "Reload the page (it gets a fresh security code) and try again." in text_of(response)
