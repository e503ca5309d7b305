"""How much time does voxdash add to a call history page?

Two modes.

In process (the default) is a **profile**, not the result: Django's test client against the
simulator in one process, on in-memory SQLite and the local-memory cache (tests.settings), for
cProfile and quick comparisons of the page's own code:
  - bare:      a plain httpx GET of /v1/vox/calls from the simulator (the floor), and
  - dashboard: GET /calls/ through Django (session auth, middleware, form, client, template),
with the short-lived list cache bypassed so every dashboard page really asks the simulator.

--server measures as users meet it (benchmarks/deployed.py): production settings, gunicorn with
gunicorn.conf.py, PostgreSQL and Redis, the simulator as its own process, over HTTP, signed in as
a Viewer (staff for the webhook log), interleaved with the floor in one run. The mirror holds a
few thousand calls, placed calls, campaigns and webhook events. Kinds:
  bare      GET /v1/vox/calls from the simulator with the same six queries (the floor)
  history   GET /calls/ with those queries (list cache off, budget and rate limit lifted)
  placed    GET /calls/placed/           (the mirror only: asks Vox nothing)
  campaigns GET /campaigns/              (the mirror only)
  webhooks  GET /webhooks/log/ as staff  (the mirror only)
  shell     GET /accounts/password/      (no content of its own: what every page pays; no target)
Target (issue 15): each adds < 6 ms to the floor at the median, < 12 ms at p95.
--compare-worker-classes runs the pages on a gthread and a sync gunicorn side by side.
--before PATH runs them also on a gunicorn from another checkout (`git worktree add PATH <commit>`),
interleaved in the same rounds: before and after on one machine, one database, one simulator.

    .venv/bin/python benchmarks/history_page.py [--requests 300]
    .venv/bin/python benchmarks/history_page.py --server [--rounds 300] [--compare-worker-classes]
        [--before PATH]
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from deployed import Budget, Deployment, bare, page, report  # noqa: E402 (no Django at import)

QUERIES = [
    {"page": "1"},
    {"page": "2", "limit": "50"},
    {"status": "completed"},
    {"direction": "inbound", "page": "2"},
    {"search": "ade"},
    {"limit": "100"},
]
# What each list page may add to its floor (issue 15), milliseconds: median, p95.
TARGET_MEDIAN_MS, TARGET_P95_MS = 6.0, 12.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def history_rows_from_vox(response: httpx.Response) -> str:
    """What is wrong with a history page, or "": its rows came from the API, with no error banner."""
    body = response.content
    if b'class="call-row' not in body:
        return "no call rows"
    if b"data-error=" in body or b'data-source="mirror"' in body:
        return "served from the mirror or with an error banner, not from Vox"
    return ""


# --- in process: a profile ---------------------------------------------------------------------
def in_process(requests: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # one line per request would drown the figures
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Imported here, not at the top: --server must not set Django up (its harness does, against
    # its own database and production settings).
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from vox_simulator import Simulator, keys
    from voxdash.vox import reset_client

    # Not setup_test_environment(): its instrumented template rendering (for response.context)
    # would be measured as if it were the dashboard's own cost.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DATABASES["default"]["NAME"] = ":memory:"
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="bench-pw-123")

    with Simulator(port=0, seed=1, calls=300, rate_limit=None, lifecycle_step_seconds=None) as sim:
        settings.VOX_API_BASE_URL = sim.base_url
        settings.VOX_API_KEY = keys.DEMO_KEY
        settings.VOX_LIST_CACHE_SECONDS = 0  # every dashboard page really asks the simulator
        settings.VOX_REQUESTS_PER_MINUTE = 0  # the simulator's rate limit is lifted too
        reset_client()
        client = Client()
        client.force_login(user)
        bare = httpx.Client(
            base_url=sim.base_url,
            headers={"Authorization": f"Bearer {keys.DEMO_KEY}", "User-Agent": "voxdash-benchmark/1"},
        )
        client.get("/calls/")  # warm up: templates compiled, connection status cached
        bare.get("/v1/vox/calls")

        bare_ms, dash_ms = [], []
        for i in range(requests):
            query = QUERIES[i % len(QUERIES)]
            started = time.perf_counter()
            response = bare.get("/v1/vox/calls", params=query)
            bare_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200

            started = time.perf_counter()
            response = client.get("/calls/", query)
            dash_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
            wrong = history_rows_from_vox(response)
            assert not wrong, (wrong, response.content[:300])

    bare_median, dash_median = statistics.median(bare_ms), statistics.median(dash_ms)
    print(f"call history page IN PROCESS (a profile: SQLite, local memory), {requests} requests each")
    print(
        f"  bare httpx GET /v1/vox/calls   median {bare_median:6.2f} ms   p95 {percentile(bare_ms, 0.95):6.2f} ms"
    )
    print(
        f"  dashboard GET /calls/          median {dash_median:6.2f} ms   p95 {percentile(dash_ms, 0.95):6.2f} ms"
    )
    print(
        f"  added by the dashboard         median {dash_median - bare_median:6.2f} ms"
        f"   (as deployed, the target is < {TARGET_MEDIAN_MS:g} ms: --server)"
    )


# --- as deployed --------------------------------------------------------------------------------
def seed_mirror(calls: int = 3000, placed: int = 1500, campaigns: int = 12, events: int = 2000) -> None:
    """A mirror that has lived a few weeks: calls, placed calls, campaigns, webhook events."""
    # Imported here: Django is set up by the harness just before it calls this.
    from django.contrib.auth.models import User

    from voxdash.calls.models import Call
    from voxdash.campaigns.models import Campaign
    from voxdash.placements.models import PlacedCall
    from voxdash.webhooks.models import WebhookEvent

    now = datetime.now(UTC)
    statuses = ("completed", "failed", "busy", "no_answer", "completed", "completed")
    names = (
        "Adaeze Okonkwo",
        "Fúnmiláyọ̀ Adébáyọ̀",
        "Zoë Müller",
        "José Álvarez",
        "Ngozi Okafor",
        "Kwame Mensah",
    )
    Call.objects.bulk_create(
        Call(
            vox_id=f"call_seed_{n:06d}",
            direction="outbound" if n % 3 else "inbound",
            status=statuses[n % len(statuses)],
            customer_phone=f"+23480{n:08d}",
            customer_name=names[n % len(names)],
            duration_seconds=30 + n % 300 if n % 6 in (0, 4, 5) else None,
            created_at=now - timedelta(minutes=10 * n),
            status_at=now - timedelta(minutes=10 * n),
        )
        for n in range(calls)
    )
    viewer = User.objects.get(username="viewer")
    outcomes = ("queued", "queued", "queued", "rejected", "replayed", "blocked")
    PlacedCall.objects.bulk_create(
        PlacedCall(
            user=viewer,
            username=viewer.username,
            idempotency_key=uuid.UUID(int=n + 1),
            payload={"customerPhone": f"+23480{n:08d}", "context": "Payment reminder"},
            payload_fingerprint=f"{n:064d}",
            customer_phone=f"+23480{n:08d}",
            outcome=outcomes[n % len(outcomes)],
            vox_placement_id=f"plc_seed_{n:06d}" if n % 6 < 3 else "",
            listed_call_id=f"call_seed_{n:06d}" if n % 6 < 3 else "",
        )
        for n in range(placed)
    )
    states = [state for state, _ in Campaign.State.choices]
    for n in range(campaigns):
        Campaign.objects.create(
            name=f"Campaign {n}",
            state=states[n % len(states)],
            created_by=viewer,
            created_by_name=viewer.username,
            business_voice_number_id="num_seed",
            ai_agent_id="agt_seed",
            purpose="payment_reminder",
            context_template="Remind {customer_name} about invoice {invoice}",
            window_start="08:00",
            window_end="20:00",
            window_days="mon,tue,wed,thu,fri",
            time_zone="Africa/Lagos",
            columns=["customer_phone", "customer_name", "invoice"],
        )
    types = ("call.completed", "call.started", "call.failed", "call.queued")
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            event_id=f"evt_seed_{n:06d}",
            event_type=types[n % len(types)],
            environment="test",
            created=now - timedelta(minutes=5 * n),
            raw_body='{"id": "evt_seed_%06d"}' % n,
            payload={"id": f"evt_seed_{n:06d}", "data": {"id": f"call_seed_{n % calls:06d}"}},
            call_vox_id=f"call_seed_{n % calls:06d}",
            outcome="applied" if n % 10 else "ignored",
            processed_at=now - timedelta(minutes=5 * n),
        )
        for n in range(events)
    )


def as_deployed(args: argparse.Namespace) -> bool:
    history_paths = [f"/calls/?{httpx.QueryParams(q)}" for q in QUERIES]
    bare_paths = [f"/v1/vox/calls?{httpx.QueryParams(q)}" for q in QUERIES]
    budget = Budget(TARGET_MEDIAN_MS, TARGET_P95_MS)
    servers = {"web": {}}
    checkouts = {}
    if args.compare_worker_classes:
        # Both take the same requests in the same rounds; sync runs one request a worker.
        servers = {"gthread": {"GUNICORN_WORKER_CLASS": "gthread"}, "sync": {"GUNICORN_WORKER_CLASS": "sync"}}
    elif args.before:
        servers = {"after": {}, "before": {}}
        checkouts = {"before": Path(args.before)}
    kinds = {"bare": bare(*bare_paths)}
    labels = {"bare": "bare GET /v1/vox/calls"}
    for server in servers:
        suffix = "" if len(servers) == 1 else f"@{server}"
        kinds |= {
            f"history{suffix}": page(*history_paths, server=server, check=history_rows_from_vox),
            f"placed{suffix}": page("/calls/placed/", server=server),
            f"campaigns{suffix}": page("/campaigns/", server=server),
            f"webhooks{suffix}": page("/webhooks/log/", user="staff", server=server),
            f"shell{suffix}": page("/accounts/password/", server=server),
        }
        labels |= {
            f"history{suffix}": f"/calls/ (six queries){suffix}",
            f"placed{suffix}": f"/calls/placed/{suffix}",
            f"campaigns{suffix}": f"/campaigns/{suffix}",
            f"webhooks{suffix}": f"/webhooks/log/ (staff){suffix}",
            f"shell{suffix}": f"/accounts/password/ (shell){suffix}",
        }
    with Deployment(
        database_url=args.database_url,
        redis_url=args.redis_url,
        seed=seed_mirror,
        users=("viewer", "staff"),
        servers=servers,
        checkouts=checkouts,
        name="history-page",
    ) as run:
        times = run.measure(kinds, args.rounds)
    print("\ncall history and list pages AS DEPLOYED (gunicorn, PostgreSQL, Redis, over HTTP)")
    for server, extra in servers.items():
        tree = checkouts.get(server, ROOT)
        print(f"  gunicorn {server}: {extra or 'gunicorn.conf.py'}, WEB_CONCURRENCY=2, from {tree}")
    # The shell is what the others stand on, not a page of the list: printed, not judged.
    budgets = {kind: budget for kind in kinds if kind != "bare" and not kind.startswith("shell")}
    met = report(times, floor="bare", budgets=budgets, labels=labels)
    if len(servers) == 2:  # gthread − sync, or after − before
        first, second = servers
        for kind in ("history", "placed", "campaigns", "webhooks", "shell"):
            a, b = statistics.median(times[f"{kind}@{first}"]), statistics.median(times[f"{kind}@{second}"])
            print(f"{kind:10} {first} − {second}: {a - b:+6.2f} ms at the median")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="in process: requests of each kind")
    parser.add_argument("--server", action="store_true", help="as deployed: gunicorn, PostgreSQL, Redis")
    parser.add_argument("--rounds", type=int, default=300, help="--server: rounds (each kind once a round)")
    parser.add_argument(
        "--compare-worker-classes",
        action="store_true",
        help="--server: a gthread and a sync gunicorn, interleaved",
    )
    parser.add_argument("--before", help="--server: also a gunicorn from this checkout, interleaved")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_bench_pages")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="a db of its own: flushed")
    args = parser.parse_args()
    if args.server or args.compare_worker_classes or args.before:
        as_deployed(args)
    else:
        in_process(args.requests)


if __name__ == "__main__":
    main()
