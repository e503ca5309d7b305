"""voxdash settings: the one settings file.

Every knob an operator turns comes from an environment variable with a documented default (see
the README's configuration table). A secret may also come from a file: `VOX_API_KEY_FILE=/run/secrets/vox`
is read when `VOX_API_KEY` is unset, which is how Docker and Kubernetes secrets are mounted.
"""

import math
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files of the embedded defaults (SQLite database, embedded broker, cache); gitignored.
# Importing settings creates nothing: what needs a folder makes it (voxdash.runtime).
VAR_DIR = Path(os.environ.get("VOXDASH_VAR_DIR", BASE_DIR / "var"))

# The helpers are strict, as Healthchecks' are: a typo must stop the start with the variable's
# name, not quietly become False, a zero or an empty secret.
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env(name: str, default: str = "") -> str:
    """A setting from the environment, or from the file named by NAME_FILE."""
    if os.environ.get(name):
        return os.environ[name]
    # An empty NAME beside NAME_FILE is the .env.example line left in, not a choice: the file wins.
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path}: cannot read it ({exc.strerror}).") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name, "").strip().lower()
    if not value:
        return default
    if value not in TRUE_WORDS + FALSE_WORDS:
        raise ImproperlyConfigured(
            f"{name}={env(name)!r} is not a yes or no: use one of {', '.join(TRUE_WORDS + FALSE_WORDS)}."
        )
    return value in TRUE_WORDS


def _env_number(name: str, default: float, parse: type[int] | type[float], what: str) -> float:
    value = env(name, "").strip()
    if not value:
        return default
    try:
        number = parse(value)
    except ValueError:
        number = None
    # float() also reads "nan" and "inf": no timeout or budget means either.
    if number is None or not math.isfinite(number):
        raise ImproperlyConfigured(f"{name}={value!r} is not {what}.")
    return number


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
VOX_API_KEY = env("VOX_API_KEY")
if not DEBUG:
    # Production must be configured on purpose: a default secret key would sign sessions
    # with a value printed in our README, and without an API key every page would fail.
    missing = [n for n, v in (("DJANGO_SECRET_KEY", SECRET_KEY), ("VOX_API_KEY", VOX_API_KEY)) if not v]
    if missing:
        raise ImproperlyConfigured(
            f"Set {' and '.join(missing)} (or run with DJANGO_DEBUG=1 for development)."
        )
elif not SECRET_KEY:
    SECRET_KEY = "django-insecure-voxdash-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# --- Vox
VOX_API_BASE_URL = env("VOX_API_BASE_URL", "https://api.clooveai.com").rstrip("/")
VOX_WEBHOOK_SECRET = env("VOX_WEBHOOK_SECRET")
# connect is short (a dead host should fail fast); read allows a slow list page.
VOX_CONNECT_TIMEOUT = env_float("VOX_CONNECT_TIMEOUT", 3.0)
VOX_READ_TIMEOUT = env_float("VOX_READ_TIMEOUT", 10.0)
VOX_MAX_RETRIES = env_int("VOX_MAX_RETRIES", 3)
# A web request never sleeps longer than this for a Retry-After; it shows a banner instead.
VOX_MAX_RETRY_WAIT = env_float("VOX_MAX_RETRY_WAIT", 5.0)
# All of one web request's Vox requests share this many seconds (retries, the header's check and
# all), then the page answers from the mirror with a banner; well under GUNICORN_TIMEOUT. Celery
# tasks and commands are not bound by it. 0 turns it off.
VOX_INTERACTIVE_DEADLINE = env_float("VOX_INTERACTIVE_DEADLINE", 4.0)
# Identical call-list requests within this many seconds share one answer (0 turns it off).
VOX_LIST_CACHE_SECONDS = env_int("VOX_LIST_CACHE_SECONDS", 5)
# The stats of one agent or one number (counted from the calls: the rollup knows neither) reuse each
# past day's figures this long; today is always counted afresh (0: off). The rest reads the rollup.
VOX_STATS_CACHE_SECONDS = env_int("VOX_STATS_CACHE_SECONDS", 300)
# How many calls one user may place per minute: a brake for a runaway script or a stuck key.
VOX_PLACE_CALLS_PER_MINUTE = env_int("VOX_PLACE_CALLS_PER_MINUTE", 10)
# National phone numbers typed without a country code are read in this region.
VOX_DEFAULT_REGION = env("VOX_DEFAULT_REGION", "NG")
# One-off calls outside these hours ask "call anyway?" ("mon-fri 08:00-20:00"; "always": never ask),
# in this time zone (default TIME_ZONE).
VOXDASH_BUSINESS_HOURS = env("VOXDASH_BUSINESS_HOURS", "mon-sat 08:00-20:00")
VOXDASH_BUSINESS_TIME_ZONE = env("VOXDASH_BUSINESS_TIME_ZONE", env("TIME_ZONE", "UTC"))
# Campaigns: how often beat runs the dispatcher (it also runs on start, resume and each outcome),
# and how long a queued attempt may go without an outcome before its row counts as unknown.
VOXDASH_CAMPAIGN_DISPATCH_EVERY = env_float("VOXDASH_CAMPAIGN_DISPATCH_EVERY", 10.0)
VOXDASH_CAMPAIGN_OUTCOME_TIMEOUT_MINUTES = env_int("VOXDASH_CAMPAIGN_OUTCOME_TIMEOUT_MINUTES", 60)
# How often beat looks for scheduled one-off calls that are due (seconds).
VOXDASH_SCHEDULED_CALLS_EVERY = env_float("VOXDASH_SCHEDULED_CALLS_EVERY", 15.0)
# /readyz answers 503 when Vox is unreachable only if this is set (the mirror keeps pages useful).
VOXDASH_READYZ_REQUIRES_VOX = env_bool("VOXDASH_READYZ_REQUIRES_VOX", False)

# --- Alerts (voxdash.alerts) and the audit log (voxdash.audit)
# Where every alert goes, besides the channels made in the admin: URLs separated by spaces or new
# lines (not commas: an apprise mailto:// URL lists its recipients with commas). An apprise URL
# (mailto://, slack://, msteams://, json://, ...), a plain http(s):// URL (voxdash's signed JSON),
# or file:///path (one line per notice). Secret-bearing: VOXDASH_ALERT_URLS_FILE works too.
VOXDASH_ALERT_URLS = env("VOXDASH_ALERT_URLS").split()
# Signs the JSON webhooks of the channels above, as Vox signs its own (empty: one is generated and
# kept in the channel's row, shown in the admin).
VOXDASH_ALERT_WEBHOOK_SECRET = env("VOXDASH_ALERT_WEBHOOK_SECRET")
# voxdash's own address as people reach it (https://intranet.example/voxdash/), so the links in
# notices are whole URLs; empty: they are paths.
VOXDASH_BASE_URL = env("VOXDASH_BASE_URL").strip()
if VOXDASH_BASE_URL and not VOXDASH_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"VOXDASH_BASE_URL={VOXDASH_BASE_URL!r} is not an http:// or https:// URL.")
# How often beat evaluates the rules, and sends (and retries) notices; seconds.
VOXDASH_ALERTS_EVERY = env_float("VOXDASH_ALERTS_EVERY", 60.0)
VOXDASH_ALERT_DELIVERIES_EVERY = env_float("VOXDASH_ALERT_DELIVERIES_EVERY", 15.0)
# Audit entries older than this many days are pruned nightly by beat (0: kept for ever).
VOXDASH_AUDIT_RETENTION_DAYS = env_int("VOXDASH_AUDIT_RETENTION_DAYS", 365)

# --- Application
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Sign-in (voxdash.accounts): passwords, OpenID Connect and TOTP two-factor authentication.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "voxdash.vox",
    "voxdash.accounts",
    "voxdash.overview",
    "voxdash.calls",
    "voxdash.directory",
    "voxdash.webhooks",
    "voxdash.placements",
    "voxdash.campaigns",
    "voxdash.stats",
    "voxdash.health",
    "voxdash.audit",
    "voxdash.alerts",
    "voxdash.subscriptions",
    "voxdash.api",
    # The API's browsable docs page: its templates and the Swagger UI files it serves itself.
    "ninja",
]

MIDDLEWARE = [
    # First: it times and logs everything below it, redirects and refusals included.
    "voxdash.health.logs.RequestLogMiddleware",
    # Under /api/ every error is the API's JSON shape, whichever layer below made it.
    "voxdash.api.errors.ApiErrorShapeMiddleware",
    # Every Vox request made below shares this request's one deadline (VOX_INTERACTIVE_DEADLINE).
    "voxdash.health.deadline.VoxDeadlineMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After AuthenticationMiddleware (it needs request.user), before LoginRequiredMiddleware (a
    # user signed in by the proxy's header must not be sent to the login page). Off unless
    # VOXDASH_SSO_HEADER is set.
    "voxdash.accounts.sso.TrustedHeaderMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "voxdash.accounts.timezones.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # allauth's sign-in flow (its login stages, re-authentication before sensitive changes).
    "allauth.account.middleware.AccountMiddleware",
    # After LoginRequiredMiddleware and allauth's: with VOXDASH_REQUIRE_MFA_FOR_ADMINS a superuser
    # without an authenticator reaches only the two-factor set-up pages.
    "voxdash.accounts.mfa.RequireAdminMFAMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After XFrameOptionsMiddleware, so that its response passes here first: it exempts responses
    # from X-Frame-Options when portals may frame voxdash.
    "voxdash.accounts.embed.EmbedMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "voxdash.urls"
WSGI_APPLICATION = "voxdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "voxdash.overview.context_processors.menu_urls",
                "voxdash.overview.context_processors.vox_connection",
                "voxdash.alerts.context_processors.open_alerts",
                "voxdash.accounts.embed.embedded",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'voxdash.sqlite3'}"),
        conn_max_age=60,
        # A kept connection is checked before a request reuses it: after a database restart the
        # first request reconnects instead of failing on the dead connection (a 500).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails the request within seconds (the webhook receiver then
    # answers 503, and Vox retries) instead of holding a worker. `?connect_timeout=` in the URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write while pages read; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
# A broker that is down or hung must not hold a web request (the webhook receiver pushes after its
# commit; on failure it logs and the pending sweep applies the event): connect and answer within
# 2 s, and retry a publish once (a restarted broker), not 3 times.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-publish-retry-policy
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0  # AMQP; kombu's Redis transport reads the socket options below
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Redis: socket_timeout defaults to None, which waits forever on a Redis that accepts connections
# but never answers (hung, swapping, stopped). Other transports ignore these keys.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2.0, "socket_timeout": 2.0}
if CELERY_BROKER_URL == "filesystem://":
    # The embedded broker: a folder both the web process and the worker can see. No server needed.
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # else kombu writes ./control
        "store_processed": False,
    }
    # The filesystem transport expects its folders to exist; each process that may use it (manage.py,
    # the WSGI app, the worker, beat) makes them as it starts (voxdash.runtime), not this import.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the task for the next one
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Killed workers (README "Running workers under a supervisor"). With acks_late a message is
# acknowledged only when its task is done; what a kill leaves behind, by case:
# - The whole worker SIGKILLed: its reserved messages stay unacknowledged in Redis and are
#   delivered again after the visibility timeout (kombu's default: an hour).
#   https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
# - A pool child killed (the out-of-memory case): Celery acknowledges the message anyway unless
#   task_reject_on_worker_lost. We leave that off on purpose: on, the message is requeued at once,
#   and a message that itself makes the child run out of memory kills child after child in a
#   tight loop (a poison message). Off, the task is marked lost, and the sweep below re-queues
#   the durable work (pending webhook events, a stopped full sync) after VOXDASH_SWEEP_AFTER_SECONDS
#   at most once per that age: recovery in minutes, a poison message retried at a walking pace.
#   https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
CELERY_TASK_REJECT_ON_WORKER_LOST = False
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # 15 minutes rather than an hour: with the sweep the durable work no longer waits for it, so it
    # is only the fallback for the rest (incremental syncs, stats), which beat repeats anyway. It
    # must stay longer than any countdown (Redis redelivers an ETA task whose wait outlasts it:
    # our longest retry waits are 300 s). A task running longer than it is delivered a second
    # time while the first still runs: a long full sync is, and that is safe, because the copy
    # finds the sync lock held and a full walk under way and drops itself (calls.tasks); webhook
    # processing takes a row lock and skips an event already applied.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = 900
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's redis transport with a fix for a worker that died when Redis restarted while it held
    # unacknowledged messages (voxdash/celery.py says how). Not for rediss://: naming a transport
    # class bypasses kombu's TLS defaults for that scheme.
    CELERY_BROKER_TRANSPORT = "voxdash.celery:RedisTransport"
# A broker down at start or later: keep trying, forever (None), instead of exiting after 100
# attempts; the supervisor restarts a worker that exits anyway, but one that waits is ready the
# moment Redis is back. https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-max-retries
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The sweep (voxdash.sweep): every VOXDASH_SWEEP_EVERY seconds, webhook events left pending longer
# than VOXDASH_SWEEP_AFTER_SECONDS (at most VOXDASH_SWEEP_BATCH a run) and a full sync stopped
# mid-walk are queued again. The age should exceed a normal queue wait, or busy queues get
# harmless but useless second messages.
VOXDASH_SWEEP_AFTER_SECONDS = env_int("VOXDASH_SWEEP_AFTER_SECONDS", 120)
VOXDASH_SWEEP_EVERY = env_int("VOXDASH_SWEEP_EVERY", 60)
VOXDASH_SWEEP_BATCH = env_int("VOXDASH_SWEEP_BATCH", 500)
if min(VOXDASH_SWEEP_AFTER_SECONDS, VOXDASH_SWEEP_EVERY, VOXDASH_SWEEP_BATCH) < 1:
    # 0 would sweep events the moment they arrive, or never: neither is a setting anyone means.
    raise ImproperlyConfigured(
        "VOXDASH_SWEEP_AFTER_SECONDS, VOXDASH_SWEEP_EVERY and VOXDASH_SWEEP_BATCH must be at least 1."
    )
CELERY_TIMEZONE = env("TIME_ZONE", "UTC")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- The mirror's sync (voxdash.calls.sync, voxdash.mirror), the shared request budget (voxdash.vox.budget)
# The key's limit, shared by every web process and worker; 0 turns voxdash's own budget off.
VOX_REQUESTS_PER_MINUTE = env_int("VOX_REQUESTS_PER_MINUTE", 120)
# Background sync leaves this many requests a minute to the pages, and waits (up to
# VOX_SYNC_BUDGET_WAIT seconds, then the task retries later) rather than draining the budget.
VOX_SYNC_RESERVE_PER_MINUTE = env_int("VOX_SYNC_RESERVE_PER_MINUTE", 30)
# ... but this many a minute are always background's, however busy the pages: the sync must progress.
VOX_BACKGROUND_MIN_PER_MINUTE = env_int("VOX_BACKGROUND_MIN_PER_MINUTE", 20)
# Placing a call may use the pages' allowance plus this many a minute, which pages never touch:
# page load cannot refuse a placement, and pages have the mirror to fall back to, placing has not.
VOX_PLACEMENT_RESERVE_PER_MINUTE = env_int("VOX_PLACEMENT_RESERVE_PER_MINUTE", 10)
# voxdash's own API (other systems) draws on the pages' allowance but leaves its last this many a
# minute to the pages: a busy integration never turns a person's page into a banner.
VOX_API_PAGE_RESERVE_PER_MINUTE = env_int("VOX_API_PAGE_RESERVE_PER_MINUTE", 20)
VOX_SYNC_BUDGET_WAIT = env_float("VOX_SYNC_BUDGET_WAIT", 120.0)
# While Redis is down each process spends at most this many a minute on its own (0: an eighth of the budget).
VOX_BUDGET_LOCAL_PER_MINUTE = env_int("VOX_BUDGET_LOCAL_PER_MINUTE", 0)
VOX_SYNC_CALLS_EVERY = env_int("VOX_SYNC_CALLS_EVERY", 60)  # seconds, incremental call sync
VOX_SYNC_DIRECTORY_EVERY = env_int("VOX_SYNC_DIRECTORY_EVERY", 600)  # seconds, numbers and agents
# Nightly full sync at this UTC-or-TIME_ZONE "HH:MM"; empty turns it off.
VOX_SYNC_FULL_AT = env("VOX_SYNC_FULL_AT", "03:30")
# The "one sync at a time" lock expires this long after the last page, so a killed worker's
# lock does not block the next run for long.
VOX_SYNC_LOCK_SECONDS = env_int("VOX_SYNC_LOCK_SECONDS", 300)
# Incremental sync keeps paging until it has re-read every call the mirror still holds as
# non-terminal, but only those younger than this: a call stuck "ringing" for days is not worth
# re-reading the whole history every minute (the nightly full sync catches it).
VOX_SYNC_PENDING_MAX_AGE = env_int("VOX_SYNC_PENDING_MAX_AGE", 86_400)


# Event subscriptions (voxdash.subscriptions): how often beat sends the deliveries that are due
# (retries, and what a lost queue message left); new events are queued at once.
VOXDASH_EVENT_DELIVERIES_EVERY = env_int("VOXDASH_EVENT_DELIVERIES_EVERY", 10)
# The API's idempotency keys and the subscriptions' events (with their delivery log) are kept this
# many days, then pruned nightly by beat (0: kept for ever).
VOXDASH_API_RETENTION_DAYS = env_int("VOXDASH_API_RETENTION_DAYS", 30)


def _beat_schedule() -> dict:
    # `expires`: if the worker was down, stale runs are dropped instead of queueing up.
    schedule: dict = {
        "sync-calls": {
            "task": "voxdash.calls.tasks.sync_calls",
            "schedule": float(VOX_SYNC_CALLS_EVERY),
            "options": {"expires": VOX_SYNC_CALLS_EVERY},
        },
        "sync-directory": {
            "task": "voxdash.directory.tasks.sync_directory",
            "schedule": float(VOX_SYNC_DIRECTORY_EVERY),
            "options": {"expires": VOX_SYNC_DIRECTORY_EVERY},
        },
    }
    # Campaign dispatch (it also runs on start, resume and each outcome) and due scheduled calls.
    schedule["dispatch-campaigns"] = {
        "task": "voxdash.campaigns.tasks.campaigns_dispatch",
        "schedule": float(VOXDASH_CAMPAIGN_DISPATCH_EVERY),
        "options": {"expires": VOXDASH_CAMPAIGN_DISPATCH_EVERY},
    }
    schedule["send-due-calls"] = {
        "task": "voxdash.placements.tasks.placements_due_send",
        "schedule": float(VOXDASH_SCHEDULED_CALLS_EVERY),
        "options": {"expires": VOXDASH_SCHEDULED_CALLS_EVERY},
    }
    for name, task in (
        ("sweep-webhook-events", "voxdash.webhooks.tasks.sweep_webhook_events"),
        ("sweep-full-sync", "voxdash.calls.tasks.sweep_full_sync"),
    ):
        schedule[name] = {
            "task": task,
            "schedule": float(VOXDASH_SWEEP_EVERY),
            "options": {"expires": VOXDASH_SWEEP_EVERY},
        }
    schedule["evaluate-alerts"] = {
        "task": "voxdash.alerts.tasks.alerts_evaluate",
        "schedule": float(VOXDASH_ALERTS_EVERY),
        "options": {"expires": VOXDASH_ALERTS_EVERY},
    }
    schedule["send-alert-deliveries"] = {
        "task": "voxdash.alerts.tasks.alert_deliveries_send",
        "schedule": float(VOXDASH_ALERT_DELIVERIES_EVERY),
        "options": {"expires": VOXDASH_ALERT_DELIVERIES_EVERY},
    }
    schedule["send-event-deliveries"] = {
        "task": "voxdash.subscriptions.tasks.event_deliveries_send",
        "schedule": float(VOXDASH_EVENT_DELIVERIES_EVERY),
        "options": {"expires": VOXDASH_EVENT_DELIVERIES_EVERY},
    }
    # Call changes a process died before announcing (subscriptions.receivers): at least once.
    schedule["sweep-call-events"] = {
        "task": "voxdash.subscriptions.tasks.call_changes_sweep",
        "schedule": 60.0,
        "options": {"expires": 60},
    }
    if VOXDASH_AUDIT_RETENTION_DAYS:
        schedule["prune-audit-log"] = {
            "task": "voxdash.audit.tasks.audit_prune",
            "schedule": crontab(hour=4, minute=15),
            "options": {"expires": 3600},
        }
    if VOXDASH_API_RETENTION_DAYS:
        schedule["prune-api-keys"] = {
            "task": "voxdash.api.tasks.idempotent_requests_prune",
            "schedule": crontab(hour=4, minute=20),
            "options": {"expires": 3600},
        }
        schedule["prune-events"] = {
            "task": "voxdash.subscriptions.tasks.events_prune",
            "schedule": crontab(hour=4, minute=25),
            "options": {"expires": 3600},
        }
    if VOX_SYNC_FULL_AT:
        hour, minute = VOX_SYNC_FULL_AT.split(":")
        schedule["sync-calls-full-nightly"] = {
            "task": "voxdash.calls.tasks.sync_calls",
            "schedule": crontab(hour=int(hour), minute=int(minute)),
            "kwargs": {"full": True},
            "options": {"expires": 3600},
        }
    return schedule


CELERY_BEAT_SCHEDULE = _beat_schedule()

# --- Cache: shared by every process (rate budget, short-lived list cache).
_cache_url = env("CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if _cache_url:
    # Redis down must not take the pages down: this RedisCache falls back to each process's memory
    # for a while, with short socket timeouts (voxdash.lib.cache says what degrades and how).
    CACHES = {"default": {"BACKEND": "voxdash.lib.cache.FallbackRedisCache", "LOCATION": _cache_url}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt for a username+address that failed too often.
    "voxdash.accounts.throttle.LoginThrottleBackend",
    # ModelBackend, with a person's permissions in one query (the header asks on every page). Before
    # allauth's, which is a ModelBackend too: asked first, it would load them again in two queries.
    "voxdash.accounts.permissions.PermissionBackend",
    # Used only by voxdash.accounts.sso.TrustedHeaderMiddleware (it passes remote_user=...).
    "voxdash.accounts.sso.TrustedHeaderBackend",
    # allauth's: it also finds a user name typed in another case ("Vera" for vera) when only one
    # account matches, and tells an inactive account so instead of "wrong password".
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth (https://docs.allauth.org/en/latest/account/configuration.html): every sign-in,
# by password or OpenID Connect, goes through its flow, which is what enforces the second factor.
# Accounts are made by administrators (the Django admin) or by the identity provider: no sign-up,
# no e-mail addresses to verify, and no password reset by e-mail (an administrator sets a new one in
# the admin; voxdash may run with no working mail server, and a reset link would then be a dead end).
ACCOUNT_ADAPTER = "voxdash.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"
# User names identify people, as Django's User does: two accounts may share an address (a local admin
# and their OpenID Connect account), and allauth must not send the second to a sign-up form.
ACCOUNT_UNIQUE_EMAIL = False
# As before allauth: a session lasts SESSION_COOKIE_AGE, and the form has no "Remember me" box.
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_GET = False  # signing out is a POST (the menu's button), never a link a page can fire
# Turning two-factor authentication on or off and making new recovery codes ask for the password (or
# a code) again, as allauth does by default: a borrowed session cannot remove the second factor. One
# confirmation is good for this many seconds.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_REAUTHENTICATION_METHODS = ["password", "mfa"]  # not "code": voxdash sends no sign-in codes by mail
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "voxdash"
# Staff and superusers signing in with a password must have a second factor before any other page
# (README "Single sign-on with OpenID Connect", local accounts): "admins" as in VOXDASH_LOCAL_LOGIN.
VOXDASH_REQUIRE_MFA_FOR_ADMINS = env_bool("VOXDASH_REQUIRE_MFA_FOR_ADMINS", False)
# Password sign-in for everyone ("all"), or only for staff and superusers ("admins": everyone else
# signs in through the OpenID Connect provider below).
VOXDASH_LOCAL_LOGIN = env("VOXDASH_LOCAL_LOGIN", "all").strip().lower() or "all"
if VOXDASH_LOCAL_LOGIN not in ("all", "admins"):
    raise ImproperlyConfigured(
        f"VOXDASH_LOCAL_LOGIN={env('VOXDASH_LOCAL_LOGIN')!r} is neither 'all' (password sign-in for everyone)"
        " nor 'admins' (only staff and superusers; everyone else through OpenID Connect)."
    )

# --- OpenID Connect (README "Single sign-on with OpenID Connect"): one provider, found by discovery
# from its issuer URL, with PKCE. Off while VOXDASH_OIDC_ISSUER is empty.
VOXDASH_OIDC_ISSUER = env("VOXDASH_OIDC_ISSUER").strip()
VOXDASH_OIDC_CLIENT_ID = env("VOXDASH_OIDC_CLIENT_ID").strip()
VOXDASH_OIDC_CLIENT_SECRET = env("VOXDASH_OIDC_CLIENT_SECRET").strip()
VOXDASH_OIDC_NAME = env("VOXDASH_OIDC_NAME", "single sign-on").strip() or "single sign-on"
VOXDASH_OIDC_GROUPS_CLAIM = env("VOXDASH_OIDC_GROUPS_CLAIM", "groups").strip() or "groups"
VOXDASH_OIDC_SCOPES = env("VOXDASH_OIDC_SCOPES", "openid profile email").split()
if VOXDASH_OIDC_ISSUER:
    _missing = [
        name
        for name, value in (
            ("VOXDASH_OIDC_CLIENT_ID", VOXDASH_OIDC_CLIENT_ID),
            ("VOXDASH_OIDC_CLIENT_SECRET", VOXDASH_OIDC_CLIENT_SECRET),
        )
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"VOXDASH_OIDC_ISSUER is set but {' and '.join(_missing)} {'is' if len(_missing) == 1 else 'are'}"
            " not: the provider gives both when voxdash is registered with it."
        )
    if not VOXDASH_OIDC_ISSUER.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"VOXDASH_OIDC_ISSUER={VOXDASH_OIDC_ISSUER!r} is not an http:// or https:// URL."
        )
if VOXDASH_LOCAL_LOGIN == "admins" and not VOXDASH_OIDC_ISSUER:
    # Started anyway, everyone but the administrators would meet a sign-in page with no way in.
    raise ImproperlyConfigured(
        "VOXDASH_LOCAL_LOGIN=admins needs VOXDASH_OIDC_ISSUER: everyone but staff and superusers signs in"
        " through the OpenID Connect provider, and none is set."
    )
SOCIALACCOUNT_ADAPTER = "voxdash.accounts.oidc.OIDCAccountAdapter"


def oidc_socialaccount_providers(
    *, issuer: str, client_id: str, secret: str, name: str, scopes: list[str]
) -> dict:
    """SOCIALACCOUNT_PROVIDERS for the one OpenID Connect provider (allauth provider id "oidc"), or
    none without an issuer. The tests point voxdash at their own provider through it too."""
    app = {
        "provider_id": "oidc",
        "name": name,
        "client_id": client_id,
        "secret": secret,
        # Discovery ({issuer}/.well-known/openid-configuration) gives the endpoints; voxdash.accounts.oidc
        # refuses a document that names another issuer.
        "settings": {"server_url": issuer},
    }
    # PKCE (S256) on every sign-in, required by the provider or not: a code caught on its way back
    # is of no use without the verifier this session holds.
    return {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "SCOPE": scopes, "APPS": [app] if issuer else []}}


def oidc_form_action(issuer: str) -> list[str]:
    """The provider's origin for the CSP's form-action (see SECURE_CSP): the sign-in button's form is
    answered with a redirect to the provider, and browsers hold a form's redirects to form-action."""
    parts = urlsplit(issuer)
    return [f"{parts.scheme}://{parts.netloc}"] if issuer else []


SOCIALACCOUNT_PROVIDERS = oidc_socialaccount_providers(
    issuer=VOXDASH_OIDC_ISSUER,
    client_id=VOXDASH_OIDC_CLIENT_ID,
    secret=VOXDASH_OIDC_CLIENT_SECRET,
    name=VOXDASH_OIDC_NAME,
    scopes=VOXDASH_OIDC_SCOPES,
)
# Each request voxdash makes to the provider (discovery, the code exchange, its keys, userinfo) waits
# at most this many seconds: a provider that is down costs the sign-in that long, never a hung page.
SOCIALACCOUNT_REQUESTS_TIMEOUT = 5
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in button POSTs: a link elsewhere cannot start a sign-in
# Failed password logins allowed per username and client address within the window (seconds).
VOXDASH_LOGIN_ATTEMPTS = env_int("VOXDASH_LOGIN_ATTEMPTS", 5)
VOXDASH_LOGIN_WINDOW = env_int("VOXDASH_LOGIN_WINDOW", 900)

# Single sign-on behind an authenticating proxy (README "Single sign-on"). The header is believed
# only from VOXDASH_SSO_TRUSTED_PROXIES: anyone else could simply send it.
VOXDASH_SSO_HEADER = env("VOXDASH_SSO_HEADER")  # e.g. X-Remote-User; empty: off
VOXDASH_SSO_TRUSTED_PROXIES = env_list("VOXDASH_SSO_TRUSTED_PROXIES")  # IPs or CIDRs
VOXDASH_SSO_GROUPS_HEADER = env("VOXDASH_SSO_GROUPS_HEADER")  # e.g. X-Remote-Groups
VOXDASH_SSO_CALLER_GROUPS = env_list("VOXDASH_SSO_CALLER_GROUPS", "voxdash-callers")
VOXDASH_SSO_VIEWER_GROUPS = env_list("VOXDASH_SSO_VIEWER_GROUPS", "voxdash-viewers")
VOXDASH_SSO_DEFAULT_ROLE = env("VOXDASH_SSO_DEFAULT_ROLE", "viewer")  # viewer, caller or none

# --- Internationalisation
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files
STATIC_URL = "static/"

# --- Serving under a URL prefix (https://intranet.example/voxdash/; README "Serving under a URL
# prefix"). Every URL Django builds starts with it. STATIC_URL is set outright because Django
# reads a relative one once, before any request has told it the script name.
VOXDASH_URL_PREFIX = env("VOXDASH_URL_PREFIX").strip().strip("/")
VOXDASH_URL_PREFIX = f"/{VOXDASH_URL_PREFIX}" if VOXDASH_URL_PREFIX else ""
if VOXDASH_URL_PREFIX:
    FORCE_SCRIPT_NAME = VOXDASH_URL_PREFIX
    STATIC_URL = f"{VOXDASH_URL_PREFIX}/static/"
    # Other applications on the same host never see voxdash's cookies.
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = f"{VOXDASH_URL_PREFIX}/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            # whitenoise's CompressedManifestStaticFilesStorage, each URL worked out once a process
            else "voxdash.lib.static.StaticStorage"
        )
    },
}

# --- Security
# Strict CSP: scripts only from our origin or with this response's nonce; no inline styles.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "media-src": [CSP.SELF, "https:", "http:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# The OpenID Connect button's form is answered with a redirect to the provider, and browsers hold a
# form's redirects to form-action too (oidc_form_action: the issuer's origin; nothing without one).
SECURE_CSP["form-action"] += oidc_form_action(VOXDASH_OIDC_ISSUER)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# The session from the shared cache (one GET a page, not a query), the database its truth; cached
# for at most a minute, and not at all while Redis is down (voxdash.accounts.sessions says why).
SESSION_ENGINE = "voxdash.accounts.sessions"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

# HTTPS. Defaults pass `manage.py check --deploy`; an intranet that terminates TLS at a proxy sets
# DJANGO_BEHIND_PROXY=1 (the proxy must set X-Forwarded-Proto and drop the client's own), and may
# leave the http->https redirect to the proxy with DJANGO_SECURE_SSL_REDIRECT=0.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain HTTP; a redirect would read as "down". (Matched against the
# path without its leading slash, URL prefix included.)
SECURE_REDIRECT_EXEMPT = [r"(^|/)(healthz|readyz)$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a promise to browser vendors' lists, not a default: opt in with the variable.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env_bool("DJANGO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# A refused CSRF check is an error page of our own look too (an expired form, a blocked cookie).
CSRF_FAILURE_VIEW = "voxdash.health.error_pages.csrf_failure"

# Embedding in a portal (README "Embedding in a portal"): origins allowed to frame voxdash. Empty:
# nobody may. X-Frame-Options cannot name origins, so voxdash.accounts.embed drops it and CSP
# frame-ancestors alone decides; a portal on another site needs cross-site cookies, which
# browsers accept only when Secure.
VOXDASH_FRAME_ANCESTORS = env_list("VOXDASH_FRAME_ANCESTORS")
if VOXDASH_FRAME_ANCESTORS:
    SECURE_CSP["frame-ancestors"] = VOXDASH_FRAME_ANCESTORS
    SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "None"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

# --- Logging: one line per event, never a secret (the client redacts the API key).
# LOG_FORMAT=json: one JSON object a line (for a log collector); otherwise readable key=value.
# Each request and each Celery task is one line (voxdash.health.logs).
LOG_FORMAT = env("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"()": "voxdash.health.logs.LineFormatter", "json": LOG_FORMAT == "json"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # runserver's request lines (development only): Django's default logs them at INFO
        # whatever LOG_LEVEL says.
        "django.server": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO"), "propagate": False},
    },
}
if CELERY_BROKER_URL.startswith("filesystem:"):
    # The embedded broker's URL has no host, which kombu warns about on every connection.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# --- Server errors to operators (voxdash.health.errors, voxdash.health.sentry)
# An unhandled exception (a 500) is mailed to VOXDASH_ADMINS ("Ops <ops@example.com>, b@example.com";
# empty: no mail) through the SMTP server below. The mail holds the path, the error and its
# traceback, never a request body, a cookie's value, the query string or a setting.
ADMINS = env_list("VOXDASH_ADMINS")
# Django 6.1's MAILERS, from the usual EMAIL_* variables (EMAIL_HOST_PASSWORD_FILE works too).
# A short timeout: the report is sent while the failed request waits for its 500.
# (Lower case: Django 6.1 refuses its deprecated EMAIL_USE_* settings beside MAILERS.)
_use_tls, _use_ssl = env_bool("EMAIL_USE_TLS"), env_bool("EMAIL_USE_SSL")
if _use_tls and _use_ssl:
    raise ImproperlyConfigured("EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (port 465): set one.")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env("EMAIL_HOST", "localhost"),
            "port": env_int("EMAIL_PORT", 465 if _use_ssl else 587 if _use_tls else 25),
            "username": env("EMAIL_HOST_USER"),
            "password": env("EMAIL_HOST_PASSWORD"),
            "use_tls": _use_tls,
            "use_ssl": _use_ssl,
            "timeout": env_float("EMAIL_TIMEOUT", 10.0),
        },
    }
}
SERVER_EMAIL = env("SERVER_EMAIL", "voxdash@localhost")  # the From of error mails
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", SERVER_EMAIL)
EMAIL_SUBJECT_PREFIX = "[voxdash] "
DEFAULT_EXCEPTION_REPORTER = "voxdash.health.errors.OperatorReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "voxdash.health.errors.OperatorReporterFilter"
LOGGING["filters"] = {
    "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    "server_errors": {"()": "voxdash.health.errors.ServerErrorsOnly"},
}
LOGGING["handlers"]["mail_admins"] = {
    "class": "django.utils.log.AdminEmailHandler",
    "level": "ERROR",
    "filters": ["require_debug_false", "server_errors"],
}
# Replaces Django's default for "django", which mails every ERROR of django.* (a DisallowedHost
# from any scanner included) and prints a second copy in DEBUG: its records reach our console
# through the root logger, and only django.request's exceptions are mailed.
LOGGING["loggers"]["django"] = {"handlers": [], "level": "INFO"}
# ERROR: a refused page (403, 404) is a line in the request log already (voxdash.health.logs), not
# a warning with its whole traceback.
LOGGING["loggers"]["django.request"] = {"handlers": ["mail_admins"], "level": "ERROR"}
# Optional error reports to Sentry, with no personal data or secrets (voxdash.health.sentry says
# what is removed). SENTRY_ENVIRONMENT and SENTRY_RELEASE are read by sentry-sdk itself.
SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    from voxdash.health.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN)
