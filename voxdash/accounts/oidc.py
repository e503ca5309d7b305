"""Sign-in through an OpenID Connect provider (Entra ID, Okta, Keycloak, Google, ...), by allauth.

allauth runs the protocol (discovery, the authorization code flow with PKCE, the token exchange,
the ID token's checks); this module holds voxdash's rules around it, in allauth's social account
adapter (SOCIALACCOUNT_ADAPTER):

- Whoever the provider vouches for gets an account at their first sign-in, without a sign-up form:
  user name from `preferred_username`, else the e-mail, else `sub`; made unique; no usable
  password. Local sign-up stays closed (voxdash.accounts.adapter). Staff and superuser flags are
  never granted from the provider, and an OIDC sign-in never lands in an existing local account
  (a provider's `preferred_username` may be anything its users can set).
- At every sign-in the groups claim (VOXDASH_OIDC_GROUPS_CLAIM, from userinfo or the ID token)
  gives the role by the trusted header's rule (voxdash.accounts.roles.role_for). The provider is
  the source of truth: a changed group changes the role at the next sign-in, and someone in no
  mapped group, with no default role, is refused with a page that says whom to ask.
- Every failure of the flow is one page in voxdash's look (templates/socialaccount/
  authentication_error.html) saying what happened and what to do, never a 500 or a hang.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import jwt
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.base import AuthError, AuthProcess, ProviderException
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from requests import RequestException

from .roles import role_for, set_role
from .signin import OIDC_PROVIDER_ID

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/openid-configuration"
# What voxdash reads from the discovery document; a provider without one is no provider.
DISCOVERY_KEYS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
USERNAME_LENGTH = 150  # django.contrib.auth's User.username
NOT_IN_A_USERNAME = re.compile(r"[^\w.@+-]")  # what Django's username validator refuses


# --- Rules, without a request


def groups_from_claim(value) -> set[str]:
    """A groups claim as names: a JSON list, or one string separated by commas or spaces (some
    providers, or a mapper configured so, send `"a,b"` or `"a b"`)."""
    if isinstance(value, str):
        items = re.split(r"[,\s]+", value)
    elif isinstance(value, list | tuple):
        items = [str(item) for item in value if isinstance(item, str | int)]
    else:
        return set()
    return {item.strip() for item in items if item.strip()}


def claimed_groups(extra_data: dict, *, claim: str) -> set[str]:
    """The person's groups from what allauth kept of the sign-in ({"userinfo": ..., "id_token": ...}):
    userinfo's claim when it has one (it is fetched fresh), else the ID token's; none: empty. An
    absent claim is an empty list, not "unknown": providers leave it out for people in no group,
    and that person must lose the role they had."""
    for source in ("userinfo", "id_token"):
        claims = extra_data.get(source)
        if isinstance(claims, dict) and claims.get(claim) is not None:
            return groups_from_claim(claims[claim])
    return set()


def claimed_name(extra_data: dict, *, uid: str) -> str:
    """The name a person should get: preferred_username, else the e-mail, else the subject."""
    claims = {**(extra_data.get("id_token") or {}), **(extra_data.get("userinfo") or {})}
    for key in ("preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return uid


def username_unique(wanted: str) -> str:
    """`wanted` as a valid user name no account has yet, in any case ("Alice" is alice's): characters
    Django refuses become "_", and a taken name gets "-2", "-3", ..."""
    base = NOT_IN_A_USERNAME.sub("_", wanted)[:USERNAME_LENGTH] or "user"
    users = get_user_model().objects
    name, number = base, 1
    while users.filter(username__iexact=name).exists():
        number += 1
        suffix = f"-{number}"
        name = base[: USERNAME_LENGTH - len(suffix)] + suffix
    return name


def mapped_group_names() -> list[str]:
    """The provider's group names that give a role, as the refusal page lists them."""
    return [*settings.VOXDASH_SSO_VIEWER_GROUPS, *settings.VOXDASH_SSO_CALLER_GROUPS]


@dataclass(frozen=True)
class SignInProblem:
    """What the error page says: what happened, and what to do about it."""

    status: int
    title: str
    happened: str
    to_do: str
    error_code: str = ""  # the provider's own code (error=...), public: it came in the URL
    again: bool = True  # offer "Sign in again"


class DiscoveryError(ProviderException):
    """The issuer answered, but not with a discovery document for itself."""


def sign_in_problem(
    *, provider: str, error: str, exception: Exception | None, state_found: bool, provider_error: str
) -> SignInProblem:
    """Which failure of the flow this was, in words for the person at the browser (and their
    administrator); decided by allauth's error and the exception's class, never by its text."""
    admin = "Tell your voxdash administrator, with the request id below"
    if isinstance(exception, RequestException | DiscoveryError):
        return SignInProblem(
            status=502,
            title=f"{provider} cannot be reached",
            happened=f"voxdash could not get an answer from {provider}, or not the answer of an OpenID "
            "Connect provider.",
            to_do=f"Try again in a few minutes. If it keeps happening: {admin.lower()}; the provider may be "
            "down, or its address in voxdash (VOXDASH_OIDC_ISSUER) wrong.",
        )
    if exception is not None:
        if isinstance(exception.__cause__, jwt.PyJWTError):
            happened = (
                f"{provider} answered, but its ID token failed voxdash's checks (issuer, audience, expiry)."
            )
        else:
            happened = (
                f"{provider} did not accept voxdash's credentials when voxdash asked to complete the sign-in."
            )
        return SignInProblem(
            status=401,
            title=f"Signing in with {provider} failed",
            happened=happened,
            to_do=f"{admin}: voxdash's registration at {provider} (VOXDASH_OIDC_CLIENT_ID and "
            "VOXDASH_OIDC_CLIENT_SECRET) is probably wrong or expired.",
        )
    if error == AuthError.CANCELLED:
        return SignInProblem(
            status=401,
            title="Sign-in cancelled",
            happened=f"{provider} says you did not sign in: it was cancelled there, or {provider} declined.",
            to_do=f"Sign in again. If {provider} keeps refusing you, ask whoever manages your account there "
            "(often the IT service desk).",
        )
    if not state_found:
        return SignInProblem(
            status=400,
            title="This sign-in has expired",
            happened=f"The answer from {provider} reached voxdash more than ten minutes after you started, "
            "was used already (a reloaded or bookmarked page), or belongs to another browser.",
            to_do="Start again from the sign-in page.",
        )
    return SignInProblem(
        status=401,
        title=f"{provider} refused the sign-in request",
        happened=f"{provider} answered voxdash's request with an error"
        + (" (its code is below)." if provider_error else "."),
        to_do=f"{admin} and the code: voxdash's registration at {provider} may be incomplete "
        "(its redirect URI, the scopes it may ask for).",
        error_code=provider_error,
    )


def refusal_not_in_group(*, provider: str, username: str) -> SignInProblem:
    groups = mapped_group_names()
    listed = " or ".join(groups) if groups else "a group voxdash maps to a role"
    return SignInProblem(
        status=403,
        title="Your account may not use voxdash",
        happened=f"{provider} signed you in as {username}, but your account is not in a group that may use "
        "voxdash.",
        to_do=f"Ask whoever manages your groups at {provider} (often the IT service desk) to add you to "
        f"{listed}. Then sign in again.",
        again=False,
    )


def refusal_inactive(*, username: str) -> SignInProblem:
    return SignInProblem(
        status=403,
        title="Your voxdash account is switched off",
        happened=f"Your account {username} exists, but an administrator has made it inactive.",
        to_do="Ask a voxdash administrator to make it active again.",
        again=False,
    )


def problem_page(request: HttpRequest, problem: SignInProblem) -> HttpResponse:
    return render(
        request,
        "socialaccount/authentication_error.html",
        {"problem": problem, "provider_name": settings.VOXDASH_OIDC_NAME},
        status=problem.status,
    )


# --- allauth's classes, with voxdash's checks


class CheckedDiscoveryAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect client, refusing a discovery document that is not the issuer's:
    a wrong VOXDASH_OIDC_ISSUER then fails on the sign-in button, as a clear page."""

    @property
    def openid_config(self) -> dict:
        config = super().openid_config  # RequestException: unreachable, an HTTP error, not JSON
        if not isinstance(config, dict) or any(not config.get(key) for key in DISCOVERY_KEYS):
            raise DiscoveryError("the discovery document lacks " + ", ".join(DISCOVERY_KEYS))
        wanted = self.get_provider().app.settings["server_url"].removesuffix(WELL_KNOWN).rstrip("/")
        if str(config["issuer"]).rstrip("/") != wanted:
            # OpenID Connect Discovery 1.0, section 4.3: the issuer must be the one asked for.
            raise DiscoveryError(f"the discovery document is for issuer {config['issuer']!r}, not {wanted!r}")
        return config


class CheckedOpenIDConnectProvider(OpenIDConnectProvider):
    """allauth's provider, whose sign-in redirect answers with the error page when discovery fails
    (allauth's own lets a connection error through: a 500 on the button)."""

    oauth2_adapter_class = CheckedDiscoveryAdapter

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        try:
            return super().redirect(request, process, next_url, data, **kwargs)
        except (RequestException, ProviderException) as exc:
            return render_authentication_error(request, self, exception=exc)


class OIDCAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(self, request, provider, client_id=None):
        found = super().get_provider(request, provider, client_id=client_id)
        if type(found) is OpenIDConnectProvider:
            return CheckedOpenIDConnectProvider(request, app=found.app)
        return found

    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        # The provider vouches for the person; local sign-up stays closed (voxdash.accounts.adapter).
        return sociallogin.account.provider == OIDC_PROVIDER_ID

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin) -> bool:
        # Never allauth's sign-up form: there is nothing for the person to choose.
        return True

    def pre_social_login(self, request: HttpRequest, sociallogin) -> None:
        """Before allauth signs anyone in: refuse people in no mapped group (and switched-off
        accounts), and give an existing person the role their groups say today."""
        account = sociallogin.account
        name = claimed_name(account.extra_data, uid=account.uid)
        role = role_for(claimed_groups(account.extra_data, claim=settings.VOXDASH_OIDC_GROUPS_CLAIM))
        if sociallogin.is_existing and not sociallogin.user.is_active:
            username = sociallogin.user.get_username()
            self._refuse(request, username, refusal_inactive(username=username))
        if sociallogin.is_existing:
            # Refused or not: a session they still have elsewhere keeps only what the groups give now.
            set_role(sociallogin.user, role, authoritative=True, new=False)
        if role is None:
            log.info("oidc sign-in refused: %s is in no group voxdash maps to a role", name)
            self._refuse(
                request, name, refusal_not_in_group(provider=settings.VOXDASH_OIDC_NAME, username=name)
            )
        # Always a sign-in: allauth's "connect" and "redirect" processes (a posted `process=`) lead to
        # pages voxdash does not have.
        sociallogin.state["process"] = AuthProcess.LOGIN

    def _refuse(self, request: HttpRequest, username: str, problem: SignInProblem) -> None:
        # The audit log records it as a failed sign-in (voxdash.audit.signals: via OpenID Connect).
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        raise ImmediateHttpResponse(problem_page(request, problem))

    def save_user(self, request: HttpRequest, sociallogin, form=None):
        """A person's first sign-in: their account, named from the claims, with their role."""
        account = sociallogin.account
        user = sociallogin.user
        user.username = username_unique(claimed_name(account.extra_data, uid=account.uid))
        user.is_staff = user.is_superuser = False  # an administrator grants those, in the admin
        user = super().save_user(request, sociallogin, form)  # with an unusable password
        groups = claimed_groups(account.extra_data, claim=settings.VOXDASH_OIDC_GROUPS_CLAIM)
        set_role(user, role_for(groups), authoritative=True, new=True)
        return user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        """Every failure of the flow: our page, not allauth's (and not its "cancelled" redirect)."""
        extra_context = extra_context or {}
        provider_error = re.sub(r"[^\w.-]", "", request.GET.get("error", ""))[:64]
        problem = sign_in_problem(
            provider=settings.VOXDASH_OIDC_NAME,
            error=error or AuthError.UNKNOWN,
            exception=exception,
            state_found="state" in extra_context,
            provider_error=provider_error,
        )
        # For the operator: the exception's own words (the provider's answer, no secret of ours).
        log.warning(
            "oidc sign-in failed: %s%s%s",
            problem.title,
            f" (provider error {provider_error})" if provider_error else "",
            f": {type(exception).__name__}: {exception}" if exception else "",
        )
        raise ImmediateHttpResponse(problem_page(request, problem))
