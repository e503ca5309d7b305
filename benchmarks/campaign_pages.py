"""The campaign pages at 100,000 rows, as deployed (issue 15).

Production settings, gunicorn (2 workers), PostgreSQL and Redis, over HTTP, signed in as a Viewer
(benchmarks/deployed.py: its own database voxdash_bench_campaigns, recreated; Redis db 6).
The database holds ~50 campaigns (benchmarks/campaign_seed.py): the newest a running campaign of
100,000 rows three quarters through its file (most done, retries waiting, a few dialling and in
flight, skipped rows), the others 200-2,000 rows in every state; each attempt has its PlacedCall.
Every round measures each kind once, in a shuffled order, so all of them meet the same machine:

  bare       httpx GET /v1/vox/calls from the simulator (the floor of the history page's budget)
  history    GET /calls/ (asks the simulator; no target here: a reference for the machine's load)
  list       GET /campaigns/ (the first 25, the 100,000-row campaign among them)
  campaign   GET /campaigns/<id>/ (live section, settings, the first page of rows)
  poll       the live section alone (htmx, every 2 s per open page while it runs)
  rows       the rows table alone (htmx), filtered: ?state=no_answer
  rows-deep  the rows table alone, ?page=1000 (rows 49,952-50,001 of the file)
  rows-last  the rows table alone, the last page of ?state=completed

Targets (issue 15): the list adds < 6 ms to the floor (it asks Vox nothing: its whole time is
what voxdash adds, so its median is compared with 6 ms over the floor); the campaign page, its
poll and its rows table < 30 ms (median).

    .venv/bin/python benchmarks/campaign_pages.py [--rounds 200] [--rows 100000] [--before PATH]

--before PATH runs the same pages on a second gunicorn from another checkout (`git worktree add
PATH <commit>`), interleaved in the same rounds on the same database: before and after at once.

Seeding 100,000 rows and their attempts takes about two minutes here.
--profile measures in this process instead (Django's test client, the same database, no
gunicorn): queries per kind and times, a profile to find the cost, not the result; with
--reuse it keeps the database of an earlier run when it holds the same seed.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from campaign_seed import attempts_bring_forward, seed, seeded_campaign
from common import ensure_database, percentile, recreate_database
from deployed import Budget, Deployment, Kind, bare, page
from deployed import report as deployed_report
from load import PASSWORD

from vox_simulator import keys

ROOT = Path(__file__).resolve().parent.parent
LIST_BUDGET_MS = 6.0  # over the floor, as the history page's (issue 15)
PAGE_TARGET_MS = 30.0  # "Campaign page and rows table at 100,000 rows: < 30 ms"
ROWS_TARGET = {"HX-Request": "true", "HX-Target": "campaign-rows"}
POLL = {"HX-Request": "true"}


def kinds(campaign_id: int, last_completed_page: int) -> dict[str, tuple[str, dict[str, str]]]:
    """kind -> (path, extra headers)."""
    page = f"/campaigns/{campaign_id}/"
    return {
        "list": ("/campaigns/", {}),
        "campaign": (page, {}),
        "poll": (page, POLL),
        "rows": (f"{page}?state=no_answer", ROWS_TARGET),
        "rows-deep": (f"{page}?page=1000", ROWS_TARGET),
        "rows-last": (f"{page}?state=completed&page={last_completed_page}", ROWS_TARGET),
    }


def prepare(database_url: str, rows: int, reuse: bool):
    """The seeded database (anew unless --reuse finds the same seed); returns the big campaign and
    the last page of its completed rows."""
    import django

    if reuse:
        ensure_database(database_url)
    else:
        recreate_database(database_url)
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections

    from voxdash.campaigns.models import CampaignRow
    from voxdash.campaigns.progress import ROWS_PER_PAGE

    call_command("migrate", verbosity=0)
    big = seeded_campaign(big_rows=rows) if reuse else None
    if big is None:
        if reuse:  # another seed, or a half-made one: start again
            connections.close_all()
            recreate_database(database_url)
            call_command("migrate", verbosity=0)
        started = time.monotonic()
        big = seed(big_rows=rows)
        print(
            f"seeded {rows:,} rows and 49 smaller campaigns in {time.monotonic() - started:.0f} s", flush=True
        )
    else:
        print("reusing the seeded database", flush=True)
    attempts_bring_forward(campaign=big)
    User.objects.filter(username="viewer").delete()
    User.objects.create_user("viewer", password=PASSWORD)
    completed = CampaignRow.objects.filter(campaign=big, state=CampaignRow.State.COMPLETED).count()
    call_command("collectstatic", "--noinput", verbosity=0)  # the manifest production settings read
    connections.close_all()
    return big, -(-completed // ROWS_PER_PAGE)


def report(times: dict[str, list[float]], rounds: int, where: str) -> None:
    print(f"\n{rounds} rounds ({where}), each kind once a round in a shuffled order; milliseconds")
    print(f"{'':12} {'median':>8} {'p95':>8}")
    for kind, values in times.items():
        print(f"{kind:12} {statistics.median(values):8.2f} {percentile(values, 0.95):8.2f}")
    floor = statistics.median(times["bare"]) if "bare" in times else 0.0
    print(f"\nfloor (bare simulator request): {floor:.2f} ms" if "bare" in times else "")
    added = statistics.median(times["list"]) - floor
    verdict = "met" if added < LIST_BUDGET_MS else "NOT met"
    print(f"list        adds {added:6.2f} ms to the floor; target < {LIST_BUDGET_MS:g} ms: {verdict}")
    for kind in ("campaign", "poll", "rows", "rows-deep", "rows-last"):
        median = statistics.median(times[kind])
        verdict = "met" if median < PAGE_TARGET_MS else "NOT met"
        print(f"{kind:11} {median:6.2f} ms; target < {PAGE_TARGET_MS:g} ms: {verdict}")


def measure_rounds(measure, names: list[str], rounds: int, warm: int = 5) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in names}
    for kind in names:  # warm every path (connections, the header's connection check, caches)
        for _ in range(warm):
            measure(kind)
    for kind in names:
        times[kind].clear()
    rng = random.Random(2)
    for _ in range(rounds):
        order = list(names)
        rng.shuffle(order)
        for kind in order:
            times[kind].append(measure(kind))
    return times


def environment(args, var_dir: Path, sim_url: str) -> dict[str, str]:
    """The profile's settings: production ones, against the benchmark's database and Redis db."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="campaign-pages-benchmark-only",
        VOX_API_BASE_URL=sim_url,
        VOX_API_KEY=keys.DEMO_KEY,
        VOX_REQUESTS_PER_MINUTE="0",
        VOXDASH_VAR_DIR=str(var_dir),
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        CACHE_URL=args.redis_url,
        DJANGO_BEHIND_PROXY="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass(frozen=True)
class HtmxKind(Kind):
    """A request htmx makes (the poll, the rows table): the page's URL with htmx's headers."""

    headers: tuple[tuple[str, str], ...] = ()


class CampaignDeployment(Deployment):
    def request(self, kind: Kind, path: str) -> httpx.Response:
        if not isinstance(kind, HtmxKind):
            return super().request(kind, path)
        # Browser.request takes no headers of its own: the same cookies, by hand. A GET of a
        # partial sets no cookie the next request needs.
        browser = self.browsers[kind.server, kind.user]
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        return browser.client.get(path, headers={"Cookie": cookies, **dict(kind.headers)})


def run_server(args) -> None:
    found: dict = {}

    def seed_campaigns() -> None:
        from voxdash.campaigns.models import CampaignRow
        from voxdash.campaigns.progress import ROWS_PER_PAGE

        big = seed(big_rows=args.rows)
        completed = CampaignRow.objects.filter(campaign=big, state=CampaignRow.State.COMPLETED).count()
        found.update(campaign=big.pk, last_page=-(-completed // ROWS_PER_PAGE))
        print(f"  {args.rows:,} rows in campaign {big.pk} and 49 smaller campaigns", flush=True)

    # --before: the same kinds on a second gunicorn from another tree, in the same rounds.
    servers, checkouts = {"web": {}}, {}
    if args.before:
        servers, checkouts = {"after": {}, "before": {}}, {"before": Path(args.before)}
    suffixes = {server: "" if len(servers) == 1 else f"@{server}" for server in servers}
    with CampaignDeployment(
        database_url=args.database_url,
        redis_url=args.redis_url,
        seed=seed_campaigns,
        servers=servers,
        checkouts=checkouts,
        name="campaign-pages",
    ) as run:
        # The history page beside them, no target here: what the machine does to a page whose
        # figures are known (docs/benchmarks.md), so a loaded machine shows as such.
        measured = {"bare": bare("/v1/vox/calls"), "history": page("/calls/", server=next(iter(servers)))}
        for server, suffix in suffixes.items():
            for kind, (path, headers) in kinds(found["campaign"], found["last_page"]).items():
                measured[kind + suffix] = (
                    HtmxKind(paths=(path,), headers=tuple(headers.items()), server=server)
                    if headers
                    else page(path, server=server)
                )
        times = run.measure(measured, rounds=args.rounds)
    print(
        "\nproduction settings, gunicorn (2 workers, gunicorn.conf.py), PostgreSQL, Redis; signed in as a Viewer"
    )
    met = deployed_report(
        times,
        floor="bare",
        budgets={"list" + suffix: Budget(LIST_BUDGET_MS, 2 * LIST_BUDGET_MS) for suffix in suffixes.values()},
        labels={"bare": "bare (GET /v1/vox/calls from the simulator)"},
    )
    print(
        f"\nthe campaign page, its poll and its rows table: median < {PAGE_TARGET_MS:g} ms (the whole request)"
    )
    for suffix in suffixes.values():
        for kind in ("campaign", "poll", "rows", "rows-deep", "rows-last"):
            median = statistics.median(times[kind + suffix])
            verdict = "met" if median < PAGE_TARGET_MS else "NOT met"
            met &= median < PAGE_TARGET_MS
            print(f"  {kind + suffix:17} {median:6.2f} ms: {verdict}")
    if args.before:  # after − before, in the same rounds
        for kind in ("list", "campaign", "poll", "rows", "rows-deep", "rows-last"):
            change = statistics.median(times[kind + "@after"]) - statistics.median(times[kind + "@before"])
            print(f"  {kind:10} after − before: {change:+6.2f} ms at the median")
    print("all targets: " + ("met" if met else "NOT met"))


def run_profile(args) -> None:
    """In this process: the test client against the same database; counts the queries per kind."""
    var_dir = Path(tempfile.mkdtemp(prefix="voxdash-campaign-profile-"))
    sys.path.insert(0, str(ROOT))
    from vox_simulator import Simulator

    with Simulator(port=0, seed=1, calls=50, rate_limit=None, lifecycle_step_seconds=None) as sim:
        os.environ.update(environment(args, var_dir, sim.base_url))
        redis.Redis.from_url(args.redis_url).flushdb()
        big, last_page = prepare(args.database_url, args.rows, args.reuse)
        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        # Not setup_test_environment(): its instrumented rendering would be measured too.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client(headers={"X-Forwarded-Proto": "https"}, secure=True)
        from django.contrib.auth.models import User

        client.force_login(User.objects.get(username="viewer"))
        paths = kinds(big.pk, last_page)
        for kind, (path, headers) in paths.items():
            client.get(path, headers=headers)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, headers=headers)
            assert response.status_code == 200, (kind, response.status_code)
            slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
            print(
                f"{kind:10} {len(queries):3} queries, {len(response.content):7,} bytes; slowest "
                f"{float(slowest['time']) * 1000:.1f} ms: {slowest['sql'][:150]}"
            )

        def measure(kind: str) -> float:
            path, headers = paths[kind]
            clock = time.perf_counter()
            client.get(path, headers=headers)
            return (time.perf_counter() - clock) * 1000

        times = measure_rounds(measure, list(paths), args.rounds)
        report(times, args.rounds, "in process: a profile, not the result")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="requests of each kind")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the big campaign")
    parser.add_argument("--reuse", action="store_true", help="keep an earlier run's seeded database")
    parser.add_argument("--profile", action="store_true", help="in process: queries and times per kind")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_bench_campaigns"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6", help="a db of its own: flushed")
    parser.add_argument(
        "--before",
        metavar="PATH",
        help="also run the pages from another tree (`git worktree add PATH <commit>`)",
    )
    args = parser.parse_args()
    (run_profile if args.profile else run_server)(args)


if __name__ == "__main__":
    main()
