"""Server errors to operators: the e-mail ADMINS receive for a 500, with what helps and nothing else.

Django's own report (AdminEmailHandler with the default ExceptionReporter) is written for a
developer's screen: it lists the POSTed values unless a view was decorated, the GET parameters and
the full URL (search terms: customers' names and phone numbers), every request header but Cookie,
and every setting whose name does not look secret (VOXDASH_ALERT_URLS and CELERY_BROKER_URL hold
tokens and passwords without saying so in their names). With DEBUG off these classes keep the
method and path, the exception, its traceback (files, lines and code, never local variables), the
user, the names of the fields and cookies sent (values replaced) and a few plain headers.

Here, in health/, beside the request and task logs: it is about the running service, not about
what the dashboard shows. voxdash.health.sentry does the same for Sentry (SENTRY_DSN).
"""

from __future__ import annotations

import logging
import time

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# request.META keys a report may show: how the request came, not who sent what.
SAFE_META = (
    "REQUEST_METHOD",
    "PATH_INFO",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "HTTP_HOST",
    "HTTP_ACCEPT",
    "HTTP_HX_REQUEST",
    "HTTP_X_REQUEST_ID",
    "wsgi.url_scheme",
)


class OperatorReporterFilter(SafeExceptionReporterFilter):
    """DEFAULT_EXCEPTION_REPORTER_FILTER: with DEBUG off, no value the client sent, no setting."""

    def get_post_parameters(self, request):
        if request is None or not self.is_active(request):
            return super().get_post_parameters(request)
        return {name: self.cleansed_substitute for name in request.POST}

    def get_safe_cookies(self, request):
        if not self.is_active(request):
            return super().get_safe_cookies(request)
        return {name: self.cleansed_substitute for name in getattr(request, "COOKIES", {})}

    def get_safe_request_meta(self, request):
        if not self.is_active(request):
            return super().get_safe_request_meta(request)
        meta = getattr(request, "META", {})
        return {key: meta[key] for key in SAFE_META if key in meta}

    def get_safe_settings(self):
        # Operators have the settings; a mail lying in an inbox must not.
        if not self.is_active(None):
            return super().get_safe_settings()
        return {}

    def get_traceback_frame_variables(self, request, tb_frame):
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return []


class OperatorReporter(ExceptionReporter):
    """DEFAULT_EXCEPTION_REPORTER: the URL without its query string, no GET or file values."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        request = self.request
        if request is not None and self.filter.is_active(request):
            hidden = self.filter.cleansed_substitute
            data["request_GET_items"] = [(name, hidden) for name in request.GET]
            data["request_FILES_items"] = [(name, hidden) for name in request.FILES]
            data["request_insecure_uri"] = f"{request.scheme}://{request._get_raw_host()}{request.path}"
        return data


class ServerErrorsOnly(logging.Filter):
    """For the mail_admins handler: unhandled exceptions only, and not a flood of them.

    django.request logs every 5xx at ERROR, but a deliberate 503 (/readyz while Vox is down, the
    webhook receiver while the database is) is an answer, not a crash: only records carrying an
    exception pass. And one bug on a busy page must not send a mail per request: the same
    exception type on the same path is mailed at most once per THROTTLE_SECONDS per process.
    """

    THROTTLE_SECONDS = 300.0
    MAX_KEYS = 1000

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[0] is None:
            return False
        request = getattr(record, "request", None)
        key = (getattr(request, "path", ""), record.exc_info[0].__qualname__)
        now = time.monotonic()
        last = self.sent.get(key)
        if last is not None and now - last < self.THROTTLE_SECONDS:
            return False
        if len(self.sent) >= self.MAX_KEYS:
            self.sent.clear()
        self.sent[key] = now
        return True
