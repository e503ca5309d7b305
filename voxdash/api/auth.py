"""Who is calling: `Authorization: Bearer vxd_…`, the token's scope, and its rate limit.

On success the request acts as the token's service account (`request.user`), so the services the
pages use (the guard, the brake, the audit log) see the token as they see a person; the audit log
records the entry `via` "API token".
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from voxdash.audit.log import Via

from .errors import ApiError
from .models import ServiceToken
from .rate import rate_take
from .tokens import TokenRefused, token_authenticate


class TokenAuth(HttpBearer):
    """`auth=TokenAuth(scope)` on a router or endpoint: a valid token holding `scope`."""

    openapi_description = "A voxdash service token (`vxd_…`), made by staff on /api/tokens/."

    def __init__(self, scope: str | None = None):
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ServiceToken:
        try:
            found = token_authenticate(raw=token)
        except TokenRefused as refused:
            raise ApiError(
                401, refused.code, refused.message, headers={"WWW-Authenticate": "Bearer"}
            ) from None
        # Counted before the scope check, as Vox counts a request refused for its scope.
        rate = rate_take(token=found)
        request.api_rate = rate
        if not rate.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"This token may make {rate.limit} requests a minute. Wait {rate.retry_after} s.",
                headers={"Retry-After": str(rate.retry_after)},
            )
        if self.scope is not None and not found.has_scope(self.scope):
            raise ApiError(403, "missing_scope", f"This token does not have the {self.scope} scope.")
        request.user = found.user
        request.api_token = found
        request.audit_via = Via.API
        return found
