"""The API's one error shape, whatever went wrong: `{"error": code, "message": ..., "details": [...]}`.

`code` is a stable machine word a client may branch on; `message` is for people; `details` lists
what was wrong with which field (a 422) and is otherwise empty. Never HTML: the handlers below turn
every exception an endpoint raises into this shape, and `ApiErrorShapeMiddleware` does the same for
answers made outside the endpoints (an unknown path, a wrong method, Django's own 500).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from voxdash.vox.budget import on_behalf_of_the_api

logger = logging.getLogger(__name__)

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
    502: "upstream_error",
    503: "unavailable",
    504: "upstream_timeout",
}


class ApiError(Exception):
    """Raise from an endpoint (or a service the API calls) to answer with the error shape."""

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.status = status
        self.code = code or CODE_BY_STATUS.get(status, "error")
        self.message = message or self.code.replace("_", " ").capitalize() + "."
        self.details = details or []
        self.headers = headers or {}
        super().__init__(self.message)


def error_response(
    status: int,
    code: str = "",
    message: str = "",
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = {
        "error": code or CODE_BY_STATUS.get(status, "error"),
        "message": message,
        "details": details or [],
    }
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_api_error(exc: ApiError) -> JsonResponse:
    return error_response(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)


def field_details(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as `{"field": "customer_phone", "message": ...}`: named as the client
    sent them, whether in the body, the query or the path (an endpoint's names do not clash), as
    the page forms' errors (`form_error`) name them."""
    details = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[1:]
            # ninja names the body parameter itself as the next part (`payload`): not a field
            if len(loc) > 1:
                loc = loc[1:]
        elif loc and loc[0] in ("query", "path", "header", "form", "file"):
            loc = loc[1:]
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "extra_forbidden":
            message = "Not a field this endpoint takes (a misspelt name?): nothing was done."
        details.append({"field": ".".join(loc), "message": message})
    return details


def form_error(form) -> ApiError:
    """A page's form that refused what was sent, as a 422 with the form's own words per field (so
    the API and the page judge a value by one rule)."""
    details = [
        {"field": "" if name == "__all__" else name, "message": str(message)}
        for name, messages in form.errors.items()
        for message in messages
    ]
    return ApiError(422, "validation_error", "Some fields are missing or wrong.", details=details)


def is_api_path(request: HttpRequest) -> bool:
    # /api/v1/ alone: /api/tokens/ is a staff page, whose refused form (a 422) and 403 are HTML.
    return request.path_info.startswith("/api/v1/")


class ApiErrorShapeMiddleware:
    """Under /api/: any answer of 400 or more that is not already JSON becomes the error shape
    (Django's 404 for an unknown path, ninja's empty 405, a 500 page), and every answer carries the
    token's rate-limit state and is never stored by a cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request):
            return self.get_response(request)
        # What this answer asks Vox is another system's request: behind the pages (vox.budget).
        with on_behalf_of_the_api():
            response = self.get_response(request)
        if request.path_info.startswith("/api/v1/docs"):  # the staff's docs page is HTML
            return response
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            replaced = error_response(response.status_code, message=_words(response.status_code))
            if allow := response.get("Allow"):
                replaced["Allow"] = allow
            response = replaced
        rate = getattr(request, "api_rate", None)
        if rate is not None:
            response["X-RateLimit-Limit"] = str(rate.limit)
            response["X-RateLimit-Remaining"] = str(max(0, rate.remaining))
        response.setdefault("Cache-Control", "no-store")
        return response


def _words(status: int) -> str:
    return {
        400: "The request could not be read.",
        403: "This request is not allowed.",
        404: "There is no such endpoint or object. The endpoints are listed at /api/v1/openapi.json.",
        405: "This endpoint does not take that method (see the Allow header).",
        500: "voxdash failed to answer. The error is logged; try again, and tell an administrator if it stays.",
    }.get(status, "")


def json_body(request: HttpRequest) -> Any:
    """The request body as JSON, or ApiError 400 (used where an endpoint reads the raw body)."""
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_request", f"The body is not JSON: {exc}") from None
