"""gunicorn settings for the web process (`make run-web`; gunicorn reads ./gunicorn.conf.py itself).

Environment: PORT (8000), WEB_CONCURRENCY (3 workers), GUNICORN_TIMEOUT (60 s), GUNICORN_CONTROL_SOCKET,
FORWARDED_ALLOW_IPS (the proxy's addresses; gunicorn's default is 127.0.0.1), VOXDASH_URL_PREFIX.
"""

import logging
import os
import re

from gunicorn.glogging import Logger

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# A page's requests to Vox share one VOX_INTERACTIVE_DEADLINE (4 s) in all, retries included; the
# rest is for the database (a long CSV export streams from the mirror). Longer is a stuck worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Workers load the app after forking: a failing import shows in each worker's log, and the
# database connections and Vox client are never shared between processes.
preload_app = False
# voxdash logs every request itself (method, path, status, duration, user, request id); gunicorn's
# access log would print each one twice, with the query string (search terms are customers' names).
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Served under a prefix (README "Serving under a URL prefix"): the proxy passes the full path,
# /voxdash/calls/, and gunicorn moves the prefix from PATH_INFO to SCRIPT_NAME. A proxy that strips
# the prefix itself needs SCRIPT_NAME set to empty instead.
_prefix = os.environ.get("VOXDASH_URL_PREFIX", "").strip().strip("/")
if _prefix:
    os.environ.setdefault("SCRIPT_NAME", f"/{_prefix}")


# --- No query string in any of gunicorn's own lines either. It names the request's URI, query
# included, in "Error handling request GET /calls/?search=..." (a worker aborted mid-request, e.g.
# on its timeout), in "Invalid request from ip=...: Invalid HTTP request line: '...'" and in the
# access log's request line, should one be turned on.

# From "?" to the end of the URI: before " HTTP/", a quote, or the end of the line (an invalid
# request line may hold raw spaces, so a space alone does not end it).
_QUERY = re.compile(r"\?.*?(?=\sHTTP/|['\"]|$)", re.MULTILINE)


def without_query_strings(text: str) -> str:
    """Drop query strings from log text, but not from a traceback's indented code lines (program
    text, never a request's): only unindented lines, the message and the exception's own, are
    read."""
    return "\n".join(
        line if line[:1].isspace() else _QUERY.sub("?[query removed]", line) for line in text.split("\n")
    )


class _DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = without_query_strings(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is written cleaned too.
            record.exc_text = without_query_strings(logging.Formatter().formatException(record.exc_info))
        return True


class QueryFreeLogger(Logger):
    """gunicorn's logger, with query strings dropped from every error and access log line."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):  # setup runs again on each reload (SIGHUP)
            if not any(isinstance(f, _DropQueryStrings) for f in log.filters):
                log.addFilter(_DropQueryStrings())


logger_class = QueryFreeLogger

# gunicorn 27's control socket defaults to one per-user path ($XDG_RUNTIME_DIR or ~/.gunicorn/
# gunicorn.ctl), shared by every gunicorn that user runs: a second deployment (or a test) on the
# same host would take over the first one's. voxdash does not use it; GUNICORN_CONTROL_SOCKET
# names a path of this deployment's own to turn it on.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
