"""The error pages (400, 403, 404, 429, 500 and a refused CSRF check) in the dashboard's own look.

Each says what happened in the user's words, what to do, and the request id (the RequestLogMiddleware's,
also sent as X-Request-ID) that finds the request in the logs. Nothing internal: no exception text, and
a 403's reason only when voxdash's own code wrote it (those are written for users: "Only Callers may
place calls and run campaigns."). A 403 also names whom to ask: the people who can change accounts.

The 400 and 500 pages render without the request: no context processor runs, so nothing touches the
database, the cache, the session or Vox (a 500 may be the database being down; a 400 may be a host
name Django refuses, which any use of the request would raise again). base.html shows its header
without a user then: the name, no menu.

An htmx request gets a fragment instead of a page: a banner that htmx swaps into the page's error
area (`#request-error` in base.html, by HX-Retarget; voxdash.js lets htmx swap it despite the
status), so a failed poll or filter says so where the person is looking, and the URL stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.middleware import csrf
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

from voxdash.accounts.roles import CallersOnly, role_comes_from_provider
from voxdash.accounts.signin import oidc_enabled

# The area of base.html that an htmx request's error banner replaces the content of.
ERROR_AREA = "#request-error"
# A few names are a helpful answer; a list of every administrator is not.
MAX_CONTACTS = 3
# The permission that lets someone give another person a role (their groups and permissions).
CHANGE_USER = ("auth", "change_user")


@dataclass(frozen=True)
class ErrorKind:
    status: int
    title: str  # the page's heading
    summary: str  # one sentence: what happened
    hint: str  # what to do, in an htmx banner (which says only these two and the request id)
    template: str


BAD_REQUEST = ErrorKind(
    400,
    "Bad request",
    "voxdash could not read this request.",
    "Reload the page and try again.",
    "errors/400.html",
)
PERMISSION_DENIED = ErrorKind(
    403,
    "Not allowed",
    "Your account may not do this.",
    "Ask your voxdash administrator if you need it.",
    "errors/403.html",
)
PAGE_NOT_FOUND = ErrorKind(
    404,
    "Page not found",
    "There is nothing at this address.",
    "Reload the page: what it showed may be gone.",
    "errors/404.html",
)
TOO_MANY_REQUESTS = ErrorKind(
    429,
    "Too many attempts",
    "voxdash has had too many of these from you in a short time.",
    "Wait a few minutes, then try again.",
    "errors/429.html",
)
SERVER_ERROR = ErrorKind(
    500,
    "Something went wrong",
    "voxdash failed to answer this request.",
    "Try again in a moment; if it keeps failing, give your administrator the request id.",
    "errors/500.html",
)
CSRF_FAILURE = ErrorKind(
    403,
    "The form was refused",
    "voxdash could not confirm that this came from one of its own pages, and did nothing.",
    "Reload the page (it gets a fresh security code) and try again.",
    "errors/csrf.html",
)


@dataclass(frozen=True)
class Contact:
    """Someone who can change accounts, as a page may name them."""

    name: str
    email: str


def account_managers(*, limit: int = MAX_CONTACTS, exclude_pk: int | None = None) -> list[Contact]:
    """Active people who can give others a role: superusers and holders of `auth.change_user`, on
    their own or through a group. Only those with a name or an e-mail address: a bare username is
    usually a service account's, and tells a person neither who that is nor how to reach them."""
    app_label, codename = CHANGE_USER
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True) | Q(user_permissions__in=permission) | Q(groups__permissions__in=permission)
        )
        .exclude(first_name="", last_name="", email="")
        .exclude(pk__in=[exclude_pk] if exclude_pk is not None else [])
        .distinct()
    )
    # Superusers first, then by the name shown (which may be the address): sorted here, since the
    # database cannot sort by get_full_name(). A company has a handful of these people, not hundreds.
    ranked = sorted(
        (not user.is_superuser, (user.get_full_name() or user.email).casefold(), user)
        for user in people[:100]
    )
    return [Contact(name=user.get_full_name() or user.email, email=user.email) for *_, user in ranked[:limit]]


def is_ours(exception: BaseException | None) -> bool:
    """Raised by voxdash's own code (a decorator or view), whose refusals are written for users;
    Django's, the admin's and libraries' messages are not, or say nothing."""
    tb = exception.__traceback__ if exception is not None else None
    module = ""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        tb = tb.tb_next
    return module.startswith("voxdash.")


def refusal_reason(exception: BaseException | None) -> str:
    """The 403's reason as the person may read it: voxdash's own message, or nothing."""
    if exception is None or not is_ours(exception) or not exception.args:
        return ""
    return str(exception.args[0])


# CSRF refusals by what the person can do about them: Django's reasons are for developers.
CSRF_COOKIE, CSRF_TOKEN, CSRF_ORIGIN = "cookie", "token", "origin"


def csrf_cause(reason: str) -> str:
    if reason == csrf.REASON_NO_CSRF_COOKIE:
        return CSRF_COOKIE
    if reason.startswith(("Origin checking failed", "Referer checking failed")):
        return CSRF_ORIGIN
    return CSRF_TOKEN  # missing, incorrect, of the wrong length: the page is older than the session


def wants_fragment(request: HttpRequest) -> bool:
    # A history restore (the back button) replaces the whole body: it gets the whole page.
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def error_response(
    request: HttpRequest, kind: ErrorKind, context: dict | None = None, *, bare: bool = False
) -> HttpResponse:
    """`kind`'s page (or, for htmx, its banner). `bare`: rendered without the request, so that no
    context processor runs (see the module's docstring)."""
    context = {"error": kind, "request_id": getattr(request, "request_id", ""), **(context or {})}
    if wants_fragment(request):
        response = HttpResponse(render_to_string("errors/fragment.html", context), status=kind.status)
        response["HX-Retarget"] = ERROR_AREA
        response["HX-Reswap"] = "innerHTML"
        response["HX-Push-Url"] = "false"  # the address stays the page's, not the failed request's
        return response
    body = render_to_string(kind.template, context, request=None if bare else request)
    return HttpResponse(body, status=kind.status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, BAD_REQUEST, bare=True)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    context = {
        "reason": refusal_reason(exception),
        "contacts": account_managers(exclude_pk=user.pk) if signed_in else [],
    }
    if signed_in and isinstance(exception, CallersOnly) and role_comes_from_provider(user):
        # The provider gives the role back at each sign-in: only a group there changes it.
        context["caller_groups"] = settings.VOXDASH_SSO_CALLER_GROUPS
        context["provider"] = settings.VOXDASH_OIDC_NAME if oidc_enabled() else "your sign-in"
    return error_response(request, PERMISSION_DENIED, context)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, PAGE_NOT_FOUND)


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """allauth's rate limits answer with the URLconf's `handler429` when it names one (voxdash.urls)."""
    return error_response(request, TOO_MANY_REQUESTS)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, SERVER_ERROR, bare=True)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(request, CSRF_FAILURE, {"cause": csrf_cause(reason)})
