"""/api/v1/: one NinjaAPI, its error handlers, and the routers of each part (one module each).

The routers live beside this file, named after what they serve (calls, placing, campaigns,
do_not_call); each endpoint names its scope with `auth=TokenAuth(scope)` on its router.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from voxdash.lib.staff import staff_only

from . import calls, campaigns, do_not_call, placing
from .auth import TokenAuth
from .errors import ApiError, error_response, field_details, from_api_error
from .models import ServiceToken
from .schemas import COMMON_ERRORS, ErrorOut

logger = logging.getLogger(__name__)

DESCRIPTION = """voxdash's own API: the calls voxdash mirrors, placing calls exactly once through the
same guard as the pages (do-not-call list, calling hours), campaigns and the do-not-call list.
Send `Authorization: Bearer vxd_…` (a service token made by staff on /api/tokens/). Errors are
always `{"error": code, "message": ..., "details": [...]}`. See docs/api.md."""


class UnicodeJsonParser(Parser):
    """JSON as ninja reads it, refusing text that is not Unicode: a lone surrogate ("\\ud800") is
    valid JSON but no database can store it (it would fail at the insert, a 500). ninja answers
    the ValueError as a 400, "Cannot parse request body"."""

    def parse_body(self, request):
        data = super().parse_body(request)
        json.dumps(data, ensure_ascii=False).encode()  # UnicodeEncodeError on a lone surrogate
        return data


api = NinjaAPI(
    title="voxdash API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=TokenAuth(),
    parser=UnicodeJsonParser(),
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return from_api_error(exc)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(
        422, "validation_error", "Some fields are missing or wrong.", details=field_details(exc.errors)
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(
        401,
        "unauthorized",
        "Send a voxdash API token: Authorization: Bearer vxd_…",
        headers={"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(exc.status_code, message=str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(404, "not_found", "There is no such object.")


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    return error_response(403, "forbidden", str(exc) or "This token may not do that.")


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return error_response(
        413,
        "too_large",
        f"The request body is over the {limit:g} MB voxdash reads. "
        "A long list of customers goes as a file: POST /api/v1/campaigns/upload.",
    )


# Django's other limits on what it reads (more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields or
# DATA_UPLOAD_MAX_NUMBER_FILES files): the client's request, never voxdash's failure.
@api.exception_handler(SuspiciousOperation)
def _refused_request(request, exc):
    return error_response(400, "bad_request", f"voxdash does not read this request: {exc}.")


@api.exception_handler(MultiPartParserError)
def _unreadable_multipart(request, exc):
    return error_response(400, "bad_request", f"The multipart body could not be read: {exc}.")


@api.exception_handler(Exception)
def _server_error(request, exc):
    # Logged as Django logs a failed request, so it reaches the operators' mail (health.errors).
    logger.error("API request failed: %s", request.path, exc_info=exc, extra={"request": request})
    return error_response(
        500, "server_error", "voxdash failed to answer. The error is logged; try again later."
    )


class TokenOut(Schema):
    name: str
    prefix: str
    scopes: list[str]
    rate_per_minute: int
    expires_at: str | None


me = Router(tags=["token"])


@me.get("/token", response={200: TokenOut, **COMMON_ERRORS}, summary="The token making this request")
def token_itself(request):
    token: ServiceToken = request.auth
    return {
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes,
        "rate_per_minute": token.rate_per_minute,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


api.add_router("", me)
api.add_router("", calls.router)
api.add_router("", placing.router)
api.add_router("", campaigns.router)
api.add_router("", do_not_call.router)


# Exempt as the endpoints are (a token is not a cookie): a POST to a path no route matches, such
# as /campaigns/abc/start, is a 404, not the CSRF middleware's 403.
@csrf_exempt
def _no_such_endpoint(request, rest: str = ""):
    return error_response(404, "not_found", "There is no such endpoint. See /api/v1/openapi.json.")


def urlpatterns():
    """The API's URLs: the endpoints and the schema are exempt from the pages' sign-in (a token is
    the endpoints' sign-in; the schema holds no data); the browsable docs are for signed-in staff.
    /api/v1/ itself and every other path under it is a JSON 404, for everyone."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if pattern.name == "openapi-view":  # the docs page
            pattern.callback = staff_only(pattern.callback)
        else:
            pattern.callback.login_required = False
    catch_all = path("<path:rest>", _no_such_endpoint)
    catch_all.callback.login_required = False
    return [*patterns, catch_all], app_name, namespace


__all__ = ["api", "urlpatterns", "ErrorOut"]
