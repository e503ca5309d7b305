"""gunicorn settings for the web process (`make run-web`; gunicorn reads ./gunicorn.conf.py itself).

Environment: PORT (8000), WEB_CONCURRENCY (3 workers), GUNICORN_TIMEOUT (60 s),
FORWARDED_ALLOW_IPS (the proxy's addresses; gunicorn's default is 127.0.0.1), VOXDASH_URL_PREFIX.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# A page waits for Vox at most VOX_READ_TIMEOUT (10 s) times a few retries; longer is a stuck worker.
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
