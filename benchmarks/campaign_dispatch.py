"""Campaign dispatch: how fast one worker dials a list, and how it shares a rate-limited key.

Starts the deployment a user runs (production settings, DJANGO_DEBUG=0): gunicorn (3 workers,
the webhook receiver and the pages), ONE Celery worker (as README's unit runs it: the prefork
pool, `--concurrency 2`; dispatch and webhook processing share it) and beat, PostgreSQL (a database of its own, dropped, created
and migrated by the script) and Redis (a db number of its own, flushed before and after), and
the Vox simulator as its own process with its webhooks pointed at the dashboard. A campaign of
`--rows` rows (phones ending in every digit alike: about 70 % completed, 10 % each busy, failed,
no answer) is started and dispatched by the worker; outcomes arrive as webhooks and free
`max_in_flight` slots. The incremental and directory syncs are off (beat's other entries stay),
so every request Vox sees is a page's or a dial.

(a) `--mode fast`: the simulator's rate limit lifted, voxdash's budget off, calls advancing every
    `--step` seconds: rows dialled per second while the campaign runs (target: over 50/s).
(b) `--mode limited`: the simulator's limit on (`--rate-limit`, 120/min) and the real budget on
    Redis, while a signed-in viewer loads the history page with a new search (one Vox request
    each) `--pages-per-minute` times a minute, for `--minutes`: the achieved dial rate against
    the budget's background share (target within 5 %), and upstream 429s (target 0). The share
    is the floor the budget guarantees background work: (per_minute - VOX_SYNC_RESERVE_PER_MINUTE
    - the pages' requests) per budget window (61 s: Vox's minute plus the budget's 1 s margin),
    never below VOX_BACKGROUND_MIN_PER_MINUTE. The budget's first-use ramp is skipped (its
    "began at" marker is set one window back, as on a deployment that has been up a while).

Every figure comes from the simulator's own log of the requests it received (GET
/_simulator/requests) and the database's rows. Everything listens on 127.0.0.1; every process it
started is stopped at the end, on Ctrl-C and on SIGTERM.

    .venv/bin/python benchmarks/campaign_dispatch.py [--mode fast|limited|both] [--rows 2000]
        [--max-in-flight 200] [--step 0.1] [--minutes 5] [--pages-per-minute 30] [--rate-limit 120]
        [--pool prefork|threads] [--concurrency 2]
        [--database-url postgres://postgres@127.0.0.1:5432/voxdash_bench_dispatch]
        [--redis-url redis://127.0.0.1:6379/12] [--keep-logs]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import redis
from common import max_in_window, recreate_database
from load import BIN, HOST, PASSWORD, Browser, Results, Stack, free_port, sign_in, wait_until

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from vox_simulator import keys  # noqa: E402 (stdlib only, no Django; needs ROOT on the path)
from vox_simulator.seed import seed_agents, seed_numbers  # noqa: E402

WEBHOOK_SECRET = "whsec_dispatch_benchmark_only"
BUDGET_WINDOW = 61.0  # voxdash.vox.budget: Vox's 60 s window plus its 1 s margin
POSTS = "/v1/vox/calls"


def environment(args, *, mode: str, var_dir: Path, web_port: int, sim_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="dispatch-benchmark-only",
        VOX_API_BASE_URL=sim_url,
        VOX_API_KEY=keys.DEMO_KEY,
        VOX_WEBHOOK_SECRET=WEBHOOK_SECRET,
        VOX_REQUESTS_PER_MINUTE="0" if mode == "fast" else str(args.rate_limit),
        VOXDASH_VAR_DIR=str(var_dir),
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        PORT=str(web_port),
        WEB_CONCURRENCY="3",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        # Only pages and dials talk to Vox: the comparison with the budget's share stays exact.
        VOX_SYNC_CALLS_EVERY="86400",
        VOX_SYNC_DIRECTORY_EVERY="86400",
        VOX_SYNC_FULL_AT="",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_stack(args, stack: Stack, *, mode: str, web_port: int, sim_port: int) -> None:
    web_url = f"http://{HOST}:{web_port}"
    limit = ["--no-rate-limit"] if mode == "fast" else ["--rate-limit", str(args.rate_limit)]
    step = args.step if mode == "fast" else 1.0
    sim = stack.start_simulator(
        sim_port,
        "--calls",
        "50",
        *limit,
        *["--lifecycle-step-seconds", str(step)],
        *["--webhook-url", f"{web_url}/webhooks/vox/", "--webhook-secret", WEBHOOK_SECRET],
    )
    web = stack.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "voxdash.wsgi", "--bind", f"{HOST}:{web_port}"],
    )
    worker = stack.start(
        "worker",
        [str(BIN / "celery"), "-A", "voxdash", "worker", "--pool", args.pool, "-c", str(args.concurrency)]
        + ["-n", "dispatch@%h", "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
    )
    stack.start(
        "beat",
        [str(BIN / "celery"), "-A", "voxdash", "beat", "--loglevel", "INFO"]
        + ["-s", str(Path(stack.logs) / "celerybeat-schedule")],
    )
    stack.wait_for_simulator(sim)
    wait_until("gunicorn", lambda: httpx.get(f"{web_url}/healthz").status_code == 200, web, stack, "gunicorn")
    wait_until("the worker", lambda: " ready." in stack.log("worker"), worker, stack, "worker")


def make_campaign(rows: int, max_in_flight: int):
    """A running campaign of `rows` rows, started as a Caller would start it."""
    from datetime import time as clock

    from django.contrib.auth.models import Group, User

    from voxdash.accounts.roles import CALLERS
    from voxdash.campaigns.models import Campaign, CampaignRow
    from voxdash.campaigns.running import START, campaign_act

    caller = User.objects.create_user(f"bench-caller-{uuid.uuid4().hex[:6]}", password=PASSWORD)
    caller.groups.add(Group.objects.get(name=CALLERS))
    number = next(n for n in seed_numbers() if n["status"] == "active" and n["voiceCapable"])
    agent = next(a for a in seed_agents() if a["isDefault"])
    campaign = Campaign.objects.create(
        name=f"Benchmark {rows} rows",
        created_by=caller,
        created_by_name=caller.username,
        business_voice_number_id=number["id"],
        ai_agent_id=agent["id"],
        purpose="payment_reminder",
        context_template="Remind {customer_name} about invoice {invoice}",
        window_start=clock(0, 0),
        window_end=clock(0, 0),
        window_days="mon,tue,wed,thu,fri,sat,sun",
        time_zone="Africa/Lagos",
        max_in_flight=max_in_flight,
        columns=["customer_phone", "customer_name", "invoice"],
        rows_read=rows,
    )
    CampaignRow.objects.bulk_create(
        (
            CampaignRow(
                campaign=campaign,
                number=i + 2,
                customer_phone=f"+23480{i:08d}",
                customer_name=f"Customer {i}",
                cells={"invoice": f"INV-{i}"},
                context=f"Remind Customer {i} about invoice INV-{i}",
            )
            for i in range(rows)
        ),
        batch_size=1000,
    )
    campaign_act(campaign_id=campaign.pk, action=START, user=caller)
    return campaign


def row_counts(campaign) -> collections.Counter:
    from voxdash.campaigns.models import CampaignRow

    return collections.Counter(CampaignRow.objects.filter(campaign=campaign).values_list("state", flat=True))


def requests_log(sim_url: str) -> list[tuple[float, str, str, int]]:
    return [tuple(entry) for entry in httpx.get(f"{sim_url}/_simulator/requests", timeout=30).json()]


def run_fast(args, sim_url: str) -> bool:
    from voxdash.campaigns.models import OPEN_ROW_STATES
    from voxdash.campaigns.tasks import campaigns_dispatch

    campaign = make_campaign(args.rows, args.max_in_flight)
    started = time.time()
    campaigns_dispatch.delay()
    deadline = started + args.timeout
    while time.time() < deadline:
        counts = row_counts(campaign)
        if not any(counts[s] for s in OPEN_ROW_STATES):
            break
        print(f"  t={time.time() - started:5.1f} s  {dict(counts)}", flush=True)
        time.sleep(2)
    settled = time.time() - started
    counts = row_counts(campaign)
    log = requests_log(sim_url)
    dials = sorted(
        t for t, method, path, status in log if method == "POST" and path == POSTS and status == 201
    )
    refused = collections.Counter(s for _, m, p, s in log if m == "POST" and p == POSTS and s != 201)
    span = dials[-1] - dials[0] if len(dials) > 1 else 0.0
    best10, _ = max_in_window(dials, 10.0)
    rate = (len(dials) - 1) / span if span else 0.0
    fill = min(args.max_in_flight, len(dials))
    fill_rate = (fill - 1) / (dials[fill - 1] - dials[0]) if fill > 1 and dials[fill - 1] > dials[0] else 0.0
    events, per_second, lag = webhook_figures()
    print()
    print(
        f"(a) {args.rows:,} rows, max_in_flight {args.max_in_flight}, one worker ({args.pool}, "
        f"-c {args.concurrency}), limit and budget off"
    )
    print(f"    rows settled: {dict(counts)} in {settled:.1f} s (outcomes by webhook)")
    print(f"    dials (POST 201): {len(dials):,} over {span:.1f} s from the first to the last")
    print(
        f"    rows dialled per second: {rate:.1f} over the campaign (best 10 s: {best10 / 10:.1f}/s)  target > 50/s"
    )
    print(f"    the first {fill} (slots free, the dispatcher alone): {fill_rate:.1f}/s")
    print(
        f"    outcomes: {events:,} webhook events applied, {per_second:.1f}/s, median {lag:.1f} s from "
        "receipt to applied (a slot frees only once its call's end is applied)"
    )
    print(f"    other POST answers: {dict(refused) or 'none'}")
    ok = rate > 50 and not any(counts[s] for s in OPEN_ROW_STATES) and len(dials) == args.rows
    print(f"    {'OK' if ok else 'BELOW TARGET'}")
    return ok


def webhook_figures() -> tuple[int, float, float]:
    """(events applied, per second from the first receipt to the last applied, median seconds
    from receipt to applied)."""
    import statistics

    from voxdash.webhooks.models import WebhookEvent

    rows = list(WebhookEvent.objects.exclude(processed_at=None).values_list("received_at", "processed_at"))
    if not rows:
        return 0, 0.0, 0.0
    span = (max(p for _, p in rows) - min(r for r, _ in rows)).total_seconds()
    lag = statistics.median((p - r).total_seconds() for r, p in rows)
    return len(rows), len(rows) / span if span else 0.0, lag


def pages(web_url: str, per_minute: float, until: float, stop: threading.Event, seen: list) -> None:
    """A viewer loading the history page with a new search each time (the list cache cannot answer)."""
    browser = Browser(web_url)
    results = Results()
    if not sign_in(browser, results, "bench-viewer"):
        seen.append(("sign-in failed", 0.0))
        return
    n = 0
    while time.time() < until and not stop.is_set():
        n += 1
        began = time.time()
        try:
            response = browser.request("GET", f"/calls/?search=bench{n}x")
            seen.append((response.status_code, time.time() - began))
        except httpx.HTTPError as exc:
            seen.append((type(exc).__name__, time.time() - began))
        stop.wait(max(0.0, began + 60.0 / per_minute - time.time()))
    browser.close()


def run_limited(args, sim_url: str, web_url: str) -> bool:
    from django.conf import settings
    from django.contrib.auth.models import Group, User

    from voxdash.accounts.roles import VIEWERS
    from voxdash.campaigns.tasks import campaigns_dispatch

    User.objects.create_user("bench-viewer", password=PASSWORD).groups.add(Group.objects.get(name=VIEWERS))
    # A deployment that has been up a while: the budget's start-up ramp is behind it.
    budget = redis.Redis.from_url(args.redis_url)
    seconds, micros = budget.time()
    budget.set("voxdash:vox:budget:since", str(seconds + micros / 1e6 - BUDGET_WINDOW - 1))
    campaign = make_campaign(args.rows, args.max_in_flight)
    started = time.time()
    # The first window is a warm-up: the dispatcher takes what the pages have not used yet,
    # more than its steady share. The measurement is the whole budget windows (61 s) after it
    # nearest `minutes`: the dispatcher takes its share as tokens free, which is in bursts
    # once a window (the last window's dials leaving it), so a part window would count a
    # burst or not by chance.
    windows = max(1, round(args.minutes * 60 / BUDGET_WINDOW))
    measured_from = started + BUDGET_WINDOW
    until = measured_from + windows * BUDGET_WINDOW
    stop = threading.Event()
    seen: list = []
    viewer = threading.Thread(
        target=pages, args=(web_url, args.pages_per_minute, until, stop, seen), daemon=True
    )
    viewer.start()
    campaigns_dispatch.delay()
    while time.time() < until:
        time.sleep(min(30.0, max(0.0, until - time.time())))
        counts = row_counts(campaign)
        print(f"  t={time.time() - started:5.0f} s  {dict(counts)}", flush=True)
    stop.set()
    viewer.join(30)
    everything = requests_log(sim_url)
    # Kept with the logs: [unix time, method, path, status] of every request Vox received.
    (Path(os.environ["VOXDASH_VAR_DIR"]) / "vox-requests.json").write_text(json.dumps(everything))
    warm_up = sum(1 for t, m, p, s in everything if t < measured_from and m == "POST" and s == 201)
    log = [e for e in everything if measured_from <= e[0] < until]
    duration = until - measured_from
    dials = [t for t, m, p, s in log if m == "POST" and p == POSTS and s == 201]
    page_requests = [t for t, m, p, s in log if m == "GET"]
    too_many = sum(1 for *_, s in log if s == 429)
    busiest, _ = max_in_window([t for t, *_ in log], 60.0)
    # What the budget itself counts: the busiest of its windows, all requests and dials alone.
    busiest_budget, _ = max_in_window([t for t, *_ in log], BUDGET_WINDOW)
    busiest_dials, _ = max_in_window(dials, BUDGET_WINDOW)
    per_window = args.rate_limit  # the budget is the key's limit (VOX_REQUESTS_PER_MINUTE)
    reserve, background_min = settings.VOX_SYNC_RESERVE_PER_MINUTE, settings.VOX_BACKGROUND_MIN_PER_MINUTE
    pages_per_window = len(page_requests) / duration * BUDGET_WINDOW
    share = max(background_min, per_window - reserve - pages_per_window)  # per budget window
    achieved = len(dials) / duration * BUDGET_WINDOW
    statuses = collections.Counter(s for s, _ in seen)
    slowest = max((t for _, t in seen), default=0.0)
    print()
    print(
        f"(b) limit {args.rate_limit}/min, budget {per_window}/min on Redis (reserve {reserve}, "
        f"background at least {background_min}), {duration / 60:.1f} min, pages {args.pages_per_minute:g}/min"
    )
    print(f"    warm-up (the first {BUDGET_WINDOW:.0f} s, not counted): {warm_up} dials")
    print(f"    pages: {dict(statuses)}, slowest {slowest:.2f} s; their Vox requests: {len(page_requests)}")
    print(
        f"    floor (background share): max({background_min}, {per_window} - {reserve} - "
        f"{pages_per_window:.1f} pages) = {share:.1f} per {BUDGET_WINDOW:.0f} s = {share / BUDGET_WINDOW * 60:.1f}/min"
    )
    print(
        f"    achieved: {len(dials)} dials = {achieved:.1f} per {BUDGET_WINDOW:.0f} s "
        f"({achieved / share:.1%} of the share; target within 5 %)"
    )
    print(
        f"    upstream 429s: {too_many} (target 0); busiest true 60 s at Vox: {busiest} of {args.rate_limit}"
    )
    print(
        f"    busiest {BUDGET_WINDOW:.0f} s (the budget's window): {busiest_budget} requests, "
        f"{busiest_dials} dials"
    )
    ok = too_many == 0 and abs(achieved / share - 1) <= 0.05 and busiest <= args.rate_limit
    print(f"    {'OK' if ok else 'OFF TARGET'}")
    return ok


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("fast", "limited", "both"), default="both")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--max-in-flight", type=int, default=200)
    parser.add_argument(
        "--step", type=float, default=0.1, help="(a) seconds between a call's lifecycle steps"
    )
    parser.add_argument("--timeout", type=float, default=600, help="(a) give up after this many seconds")
    parser.add_argument("--minutes", type=float, default=5.0, help="(b) how long to measure")
    parser.add_argument("--pages-per-minute", type=float, default=30.0, help="(b) history pages a minute")
    parser.add_argument("--rate-limit", type=int, default=120, help="(b) Vox's requests per minute per key")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_bench_dispatch")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="a db of its own: it is flushed"
    )
    parser.add_argument(
        "--pool",
        choices=("prefork", "threads"),
        default="prefork",
        help="the worker's pool (README: prefork)",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's (README's unit: 2)")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    for url in (args.database_url, args.redis_url):
        if httpx.URL(url).host not in ("127.0.0.1", "localhost"):
            parser.error(f"{url}: this benchmark only talks to 127.0.0.1")
    signal.signal(signal.SIGTERM, _interrupt)

    modes = ("fast", "limited") if args.mode == "both" else (args.mode,)
    results = {}
    django_ready = False
    for mode in modes:
        var_dir = Path(tempfile.mkdtemp(prefix=f"voxdash-dispatch-{mode}-"))
        web_port, sim_port = free_port(), free_port()
        web_url, sim_url = f"http://{HOST}:{web_port}", f"http://{HOST}:{sim_port}"
        env = environment(args, mode=mode, var_dir=var_dir, web_port=web_port, sim_url=sim_url)
        os.environ.update(env)
        stack = Stack(env, var_dir)
        ok = False
        try:
            print(
                f"\n[{mode}] database {args.database_url}, Redis {args.redis_url}, logs in {var_dir}",
                flush=True,
            )
            recreate_database(args.database_url)
            redis.Redis.from_url(args.redis_url).flushdb()
            import django

            if not django_ready:
                django.setup()
                django_ready = True
            from django.core.management import call_command
            from django.db import connections

            connections.close_all()
            call_command("migrate", verbosity=0)
            call_command("collectstatic", "--noinput", verbosity=0)
            start_stack(args, stack, mode=mode, web_port=web_port, sim_port=sim_port)
            ok = run_fast(args, sim_url) if mode == "fast" else run_limited(args, sim_url, web_url)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping everything", flush=True)
        finally:
            killed = stack.stop()
            if killed:
                print(f"  had to SIGKILL: {killed}")
            from django.db import connections

            connections.close_all()
            redis.Redis.from_url(args.redis_url).flushdb()
            results[mode] = ok
            if ok and not args.keep_logs:
                shutil.rmtree(var_dir, ignore_errors=True)
            else:
                print(f"  logs kept in {var_dir}")
    sys.exit(0 if all(results.values()) and len(results) == len(modes) else 1)


if __name__ == "__main__":
    main()
