"""/accounts/: signing in and out, your password, two-factor authentication, OpenID Connect.

Only the allauth views voxdash uses are routed (not `include("allauth.urls")`): no sign-up, no
e-mail management, no password reset by e-mail, no sign-in codes. A page nobody should reach does
not exist. The names are allauth's, which its views and redirects reverse.
"""

from allauth.account import views as account_views
from allauth.mfa.base import views as mfa_views
from allauth.socialaccount import views as social_views
from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .preferences import preferences
from .signin import OIDC_PROVIDER_ID

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/", views.login, name="account_login"),  # the same page, by allauth's name
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inactive/", account_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", account_views.reauthenticate, name="account_reauthenticate"),
    path("password/", views.password_change, name="account_change_password"),
    path("preferences/", preferences, name="preferences"),
    # Two-factor authentication (allauth.mfa): TOTP and recovery codes.
    path("two-factor/", views.mfa_index, name="mfa_index"),
    path("two-factor/authenticate/", mfa_views.authenticate, name="mfa_authenticate"),
    path("two-factor/reauthenticate/", mfa_views.reauthenticate, name="mfa_reauthenticate"),
    path("two-factor/totp/activate/", views.mfa_activate_totp, name="mfa_activate_totp"),
    path("two-factor/totp/deactivate/", views.mfa_deactivate_totp, name="mfa_deactivate_totp"),
    path("two-factor/recovery-codes/", views.mfa_recovery_codes, name="mfa_view_recovery_codes"),
    path(
        "two-factor/recovery-codes/generate/",
        views.mfa_recovery_codes_generate,
        name="mfa_generate_recovery_codes",
    ),
    path(
        "two-factor/recovery-codes/download/",
        views.mfa_recovery_codes_download,
        name="mfa_download_recovery_codes",
    ),
    # OpenID Connect: the one provider's sign-in and callback (the redirect URI registered with it is
    # <voxdash>/accounts/oidc/oidc/login/callback/), and where allauth sends a cancelled one. allauth
    # reverses them with provider_id="oidc", which matches these fixed arguments; no other id routes.
    path(
        f"oidc/{OIDC_PROVIDER_ID}/login/",
        views.oidc_login,
        {"provider_id": OIDC_PROVIDER_ID},
        name="openid_connect_login",
    ),
    path(
        f"oidc/{OIDC_PROVIDER_ID}/login/callback/",
        views.oidc_callback,
        {"provider_id": OIDC_PROVIDER_ID},
        name="openid_connect_callback",
    ),
    path("oidc/cancelled/", social_views.login_cancelled, name="socialaccount_login_cancelled"),
]
