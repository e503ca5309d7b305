"""Every URL pattern, requested as each role, answers what the table below says.

The table is explicit on purpose: a new view that is not in it fails `test_every_pattern_is_in_the_table`
("add <name> to the table"), so nobody can ship a view without deciding who may see it. The
Django admin's patterns follow one rule (non-staff are sent to the admin's login) and need no entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client

from .conftest import ROLES, make_user
from .urlwalk import Pattern, sample_url, url_patterns


@dataclass(frozen=True)
class Redirect:
    """302 to `to`; with `next_param`, the login page must offer to come back (?next=<the URL>)."""

    to: str
    next_param: bool = False

    def problem(self, response, url: str) -> str | None:
        location = response.headers.get("Location", "")
        wanted = f"{self.to}?next={quote(url)}" if self.next_param else self.to
        if response.status_code != 302 or not location.startswith(wanted):
            return f"wanted a redirect to {wanted}, got {response.status_code} {location}".strip()
        return None


@dataclass(frozen=True)
class OneOf:
    choices: tuple

    def problem(self, response, url: str) -> str | None:
        problems = [choice.problem(response, url) for choice in self.choices]
        return None if None in problems else " or ".join(problems)


@dataclass(frozen=True)
class AnyStaffAnswer:
    """What the admin answers staff depends on their model permissions; never a login or a 5xx."""

    def problem(self, response, url: str) -> str | None:
        location = response.headers.get("Location", "")
        if response.status_code >= 500 or "/login/" in location:
            return f"wanted the admin's own answer, got {response.status_code} {location}".strip()
        return None


@dataclass(frozen=True)
class ApiError:
    """voxdash's API answers in its one JSON error shape, never a page or a login redirect."""

    status: int
    error: str

    def problem(self, response, url: str) -> str | None:
        body = response.json() if response.headers.get("Content-Type") == "application/json" else {}
        if response.status_code != self.status or body.get("error") != self.error:
            return f"wanted {self.status} {self.error!r} as JSON, got {response.status_code} {body or response.content[:80]}"
        return None


LOGIN = Redirect("/accounts/login/", next_param=True)
ADMIN_LOGIN = Redirect("/admin/login/", next_param=True)
TO_OVERVIEW = Redirect("/")
# Anonymous visitors of the admin meet LoginRequiredMiddleware (the site's login) or the admin's own.
SOME_LOGIN = OneOf((LOGIN, ADMIN_LOGIN))


@dataclass(frozen=True)
class Rule:
    anonymous: object
    viewer: object
    caller: object
    staff: object
    superuser: object
    method: str = "GET"
    headers: dict = field(default_factory=dict)

    def expected(self, role: str):
        return getattr(self, role)


def everyone(answer, method="GET") -> Rule:
    return Rule(answer, answer, answer, answer, answer, method=method)


PAGE = Rule(LOGIN, 200, 200, 200, 200)
CALLERS_ONLY = Rule(LOGIN, 403, 200, 403, 200)
STAFF_ONLY = Rule(LOGIN, 403, 403, 200, 200)
# voxdash's API signs in with a bearer token, never the session: everyone here, superusers too, has
# only a cookie, so every endpoint answers 401 (before it reads a body or looks anything up).
API_ENDPOINT = everyone(ApiError(401, "unauthorized"))
API_POST_ENDPOINT = everyone(ApiError(401, "unauthorized"), method="POST")

# name -> what each role gets. Unnamed patterns are listed as "route:<route>".
TABLE: dict[str, Rule] = {
    # Public: signing in and out, the load balancer's probes, Vox's signed webhook.
    "login": Rule(200, TO_OVERVIEW, TO_OVERVIEW, TO_OVERVIEW, TO_OVERVIEW),
    "account_login": Rule(200, TO_OVERVIEW, TO_OVERVIEW, TO_OVERVIEW, TO_OVERVIEW),  # the same page
    "logout": everyone(Redirect("/accounts/login/"), method="POST"),
    "account_inactive": everyone(200),  # where allauth sends a deactivated account's right password
    # The second step of a sign-in with two-factor authentication: nothing to do without a first.
    "mfa_authenticate": Rule(
        Redirect("/accounts/login/"), TO_OVERVIEW, TO_OVERVIEW, TO_OVERVIEW, TO_OVERVIEW
    ),
    # OpenID Connect: 404 while it is not configured (its own tests configure it); the provider id
    # is voxdash's one, `oidc`, and no other.
    "openid_connect_login": everyone(404),
    "openid_connect_callback": everyone(404),
    "socialaccount_login_cancelled": everyone(200),
    "healthz": everyone(200),
    "readyz": everyone(200),
    "favicon": everyone(301),  # to the static icon, for browsers on pages that name none
    "webhooks:vox": everyone(405),  # POST only; its signature is the authentication
    # Pages every signed-in user sees.
    "overview": PAGE,
    "preferences": PAGE,
    # Your own password and two-factor authentication (each person's own; the samples have none set up).
    "account_change_password": PAGE,
    "account_reauthenticate": PAGE,
    "mfa_index": PAGE,
    "mfa_reauthenticate": Rule(LOGIN, *[Redirect("/accounts/reauthenticate/")] * 4),  # no code to ask for
    # Turning it on, or making codes, first asks for the password again (a session from force_login
    # has no recent sign-in on record).
    "mfa_activate_totp": Rule(LOGIN, *[Redirect("/accounts/reauthenticate/?next=")] * 4),
    "mfa_generate_recovery_codes": Rule(LOGIN, *[Redirect("/accounts/reauthenticate/?next=")] * 4),
    "mfa_deactivate_totp": Rule(LOGIN, 404, 404, 404, 404),  # nothing to turn off
    "mfa_view_recovery_codes": Rule(LOGIN, 404, 404, 404, 404),
    "mfa_download_recovery_codes": Rule(LOGIN, 404, 404, 404, 404),
    "calls:list": PAGE,
    "calls:detail": PAGE,
    "calls:export": PAGE,
    # htmx's (the history's exact count); opened as a page, the history of the same filters.
    "calls:count": Rule(LOGIN, *[Redirect("/calls/")] * 4),
    "placements:list": PAGE,
    "placements:detail": PAGE,
    "directory:numbers": PAGE,
    "directory:agents": PAGE,
    "stats:overview": PAGE,
    "dnc:list": PAGE,
    "campaigns:list": PAGE,
    "campaigns:detail": PAGE,
    "campaigns:rows_csv": PAGE,
    # Placing calls: Callers (and superusers).
    "placements:new": CALLERS_ONLY,
    "campaigns:new": CALLERS_ONLY,
    # Cancelling a scheduled call (the sample was placed at once: the answer says it cannot be).
    "placements:cancel": Rule(
        LOGIN, 403, Redirect("/calls/placed/"), 403, Redirect("/calls/placed/"), method="POST"
    ),
    # The do-not-call list is changed by those who place calls (an empty POST: the form's errors).
    "dnc:add": Rule(LOGIN, 403, 200, 403, 200, method="POST"),
    "dnc:import": Rule(LOGIN, 403, 200, 403, 200, method="POST"),
    "dnc:remove": Rule(LOGIN, 403, Redirect("/dnc/"), 403, Redirect("/dnc/"), method="POST"),
    # Staff: syncing spends everyone's request budget; the webhook log shows raw payloads.
    "calls:sync": Rule(LOGIN, 403, 403, Redirect("/calls/"), Redirect("/calls/"), method="POST"),
    "calls:sync_status": STAFF_ONLY,
    "webhooks:log": STAFF_ONLY,
    "webhooks:log_detail": STAFF_ONLY,
    "webhooks:log_rerun": Rule(LOGIN, 403, 403, 302, 302, method="POST"),
    # Staff: who did what, and the alerts (rules, channels with their deliveries, history).
    "audit:index": STAFF_ONLY,
    "audit:export": STAFF_ONLY,
    "alerts:index": STAFF_ONLY,
    # pk 1: the first of voxdash's own rules (made by the migration); built-in, so not deletable.
    "alerts:rule": STAFF_ONLY,
    "alerts:rule_new": STAFF_ONLY,
    "alerts:rule_delete": Rule(LOGIN, 403, 403, Redirect("/alerts/rules/1/"), Redirect("/alerts/rules/1/")),
    # No channel in the samples: staff get the 404 of a missing one (the page's own tests send).
    "alerts:channel_test": Rule(LOGIN, 403, 403, 404, 404, method="POST"),
    # Staff: the API's service tokens and the event subscriptions (secrets, other systems' URLs).
    "api_tokens:list": STAFF_ONLY,
    "api_tokens:revoke": Rule(
        LOGIN, 403, 403, Redirect("/api/tokens/"), Redirect("/api/tokens/"), method="POST"
    ),
    "subscriptions:list": STAFF_ONLY,
    "subscriptions:detail": STAFF_ONLY,
    "subscriptions:rotate": Rule(LOGIN, 403, 403, 302, 302, method="POST"),
    "subscriptions:resend": Rule(LOGIN, 403, 403, 302, 302, method="POST"),
    "subscriptions:delete": Rule(
        LOGIN, 403, 403, Redirect("/subscriptions/"), Redirect("/subscriptions/"), method="POST"
    ),
    # voxdash's API: the schema is public (it holds no data), its browsable docs are for staff.
    "api:openapi-json": everyone(200),
    "api:openapi-view": STAFF_ONLY,
    "api:api-root": everyone(ApiError(404, "not_found")),
    "route:api/v1/<path:rest>": everyone(ApiError(404, "not_found")),
    "api:token_itself": API_ENDPOINT,
    "api:calls_list": API_ENDPOINT,
    "api:calls_detail": API_ENDPOINT,
    "api:numbers_list": API_ENDPOINT,
    "api:agents_list": API_ENDPOINT,
    "api:stats_summary": API_ENDPOINT,
    "api:place_call": API_POST_ENDPOINT,
    "api:placed_call_list": API_ENDPOINT,
    "api:placed_call_status": API_ENDPOINT,
    "api:schedule_call": API_POST_ENDPOINT,
    "api:scheduled_call_list": API_ENDPOINT,
    "api:scheduled_call_cancel": API_POST_ENDPOINT,
    "api:campaign_list": API_ENDPOINT,
    "api:campaign_create": API_POST_ENDPOINT,
    "api:campaign_detail": API_ENDPOINT,
    "api:campaign_rows": API_ENDPOINT,
    "api:campaign_upload": API_POST_ENDPOINT,
    "api:campaign_start": API_POST_ENDPOINT,
    "api:campaign_pause": API_POST_ENDPOINT,
    "api:campaign_resume": API_POST_ENDPOINT,
    "api:campaign_cancel": API_POST_ENDPOINT,
    "api:dnc_list": API_ENDPOINT,
    "api:dnc_add": API_POST_ENDPOINT,
    "api:dnc_remove": everyone(ApiError(401, "unauthorized"), method="DELETE"),
}

# The admin's own rules, for the patterns it shows people who are not (yet) staff.
ADMIN_EXCEPTIONS: dict[str, Rule] = {
    # Not a sign-in of its own (it would skip the second factor): ours, or 403 for signed-in non-staff.
    "admin:login": Rule(
        Redirect("/accounts/login/?next=%2Fadmin%2Flogin%2F"),
        403,
        403,
        Redirect("/admin/"),
        Redirect("/admin/"),
    ),
    "admin:logout": Rule(
        Redirect("/admin/login/"),
        Redirect("/admin/"),
        Redirect("/admin/"),
        Redirect("/accounts/login/"),
        Redirect("/accounts/login/"),
        method="POST",
    ),
}
ADMIN_RULE = Rule(SOME_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, AnyStaffAnswer(), AnyStaffAnswer())


def rule_for(pattern: Pattern) -> Rule | None:
    if pattern.name in TABLE:
        return TABLE[pattern.name]
    if pattern.is_admin:
        return ADMIN_EXCEPTIONS.get(pattern.name, ADMIN_RULE)
    return None


def test_every_pattern_is_in_the_table():
    patterns = url_patterns()
    assert len(patterns) > 20  # the walk found the project's URLs, not an empty resolver
    missing = [p.name for p in patterns if rule_for(p) is None]
    assert not missing, "\n".join(
        f"add {name} to the table in tests/security/test_url_walk.py (who may see it?)" for name in missing
    )
    stale = sorted(set(TABLE) - {p.name for p in patterns})
    assert not stale, f"these views are gone; remove them from the table: {stale}"


def _problem(expected, response, url: str) -> str | None:
    if isinstance(expected, int):
        if response.status_code != expected:
            location = response.headers.get("Location", "")
            return f"wanted {expected}, got {response.status_code} {location}".strip()
        return None
    return expected.problem(response, url)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(role, samples, vox_settings):
    client = Client()
    user = make_user(role)
    problems = []
    for pattern in url_patterns():
        rule = rule_for(pattern)
        if rule is None:
            continue  # test_every_pattern_is_in_the_table reports it
        if user is not None:
            client.force_login(user)  # logout (and the admin's) end the session
        url = sample_url(pattern, samples)
        response = client.generic(rule.method, url, headers=rule.headers)
        problem = _problem(rule.expected(role), response, url)
        if problem:
            problems.append(f"{pattern.name}: {rule.method} {url} as {role}: {problem}")
    assert not problems, "\n".join(problems)


def test_every_post_needs_the_csrf_token_except_the_signed_webhook(samples, vox_settings):
    """CSRF everywhere: a POST without the token is refused before any view (or its method check)
    runs. Only Vox's webhook is exempt; its signature authenticates it (and it refuses this one).
    voxdash's API is exempt too: a bearer token, not the cookie, signs it in (a browser never adds
    one on its own), so what matters there is that the superuser's session alone gets nothing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("superuser"))
    problems = []
    for pattern in url_patterns():
        if pattern.name in ("admin:logout", "logout"):
            continue  # would end the session; checked below
        url = sample_url(pattern, samples)
        response = client.post(url, {"anything": "1"})
        if pattern.name == "webhooks:vox":
            if response.status_code != 400:
                problems.append(f"{pattern.name}: an unsigned POST got {response.status_code}, not 400")
        elif pattern.route.startswith("api/v1/") and pattern.name != "api:openapi-view":
            is_json_error = (
                response.headers.get("Content-Type") == "application/json" and "error" in response.json()
            )
            if response.status_code not in (401, 403, 404, 405) or not is_json_error:
                problems.append(f"{pattern.name}: POST {url} with a session only got {response.status_code}")
        elif response.status_code != 403 or b"CSRF" not in response.content:
            problems.append(f"{pattern.name}: POST {url} without a CSRF token got {response.status_code}")
    for url in ("/accounts/logout/", "/admin/logout/"):
        response = client.post(url)
        if response.status_code != 403:
            problems.append(f"POST {url} without a CSRF token got {response.status_code}")
    assert not problems, "\n".join(problems)


def test_static_files_and_unknown_urls_are_not_a_way_around_sign_in(client, db):
    # Unknown URLs: 404 for everyone (after the login redirect would leak nothing either).
    response = client.get("/no-such-page/")
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path == "/accounts/login/"
