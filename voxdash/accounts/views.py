from functools import wraps

from allauth.account import views as account_views
from allauth.mfa.base import views as mfa_views
from allauth.mfa.recovery_codes import views as recovery_code_views
from allauth.mfa.totp import views as totp_views
from allauth.socialaccount.providers.openid_connect import views as oidc_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from .forms import SignInForm
from .mfa import is_local_account
from .signin import OIDC_PROVIDER_ID, oidc_enabled, sign_in_options


class LoginView(account_views.LoginView):
    """allauth's sign-in (its flow asks for the second factor) in voxdash's page, with the provider's
    button when OpenID Connect is on. Signed-in people are sent on (allauth's
    ACCOUNT_AUTHENTICATED_LOGIN_REDIRECTS)."""

    form_class = SignInForm
    template_name = "registration/login.html"

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429  # the page explains; scripts get a status they understand
        return response

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        # The form is asked for (?local=1), being used, or wanted by whoever comes from the admin.
        going_to = self.request.GET.get("next", "")
        requested = (
            self.request.method == "POST"
            or self.request.GET.get("local") == "1"
            or going_to.startswith(reverse("admin:index"))
        )
        options = sign_in_options(password_requested=requested)
        context["sign_in"] = options
        if options.oidc_name:
            context["oidc_login_url"] = reverse(
                "openid_connect_login", kwargs={"provider_id": OIDC_PROVIDER_ID}
            )
        return context


login = LoginView.as_view()


def _managed_by_provider(request: HttpRequest, what: str) -> HttpResponse:
    """For an account without a usable password: its identity provider holds both secrets."""
    return render(request, "account/managed_by_provider.html", {"what": what})


def password_change(request: HttpRequest) -> HttpResponse:
    """Change your own password (allauth's form, "password changed" in the audit log)."""
    if not is_local_account(request.user):
        return _managed_by_provider(request, "password")
    return account_views.password_change(request)


def local_accounts_only(view):
    """The two-factor pages: accounts signed in by a provider are told where theirs is set."""

    @wraps(view)  # keeps allauth's markers (login_not_required) for LoginRequiredMiddleware
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and not is_local_account(request.user):
            return _managed_by_provider(request, "two-factor authentication")
        return view(request, *args, **kwargs)

    return wrapper


mfa_index = local_accounts_only(mfa_views.index)
mfa_activate_totp = local_accounts_only(totp_views.activate_totp)
mfa_deactivate_totp = local_accounts_only(totp_views.deactivate_totp)
mfa_recovery_codes = local_accounts_only(recovery_code_views.view_recovery_codes)
mfa_recovery_codes_generate = local_accounts_only(recovery_code_views.generate_recovery_codes)
mfa_recovery_codes_download = local_accounts_only(recovery_code_views.download_recovery_codes)


def oidc_only_when_configured(view):
    """The provider's URLs answer 404 while VOXDASH_OIDC_ISSUER is empty (allauth would fail on the
    missing app with a 500)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("OpenID Connect is not configured.")
        return view(request, *args, **kwargs)

    return wrapper


oidc_login = oidc_only_when_configured(oidc_views.login)
oidc_callback = oidc_only_when_configured(oidc_views.callback)
