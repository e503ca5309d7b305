"""Load: signed-in users, a caller and a full sync sharing one Vox key's rate limit.

Starts the deployment a user runs (production settings, DJANGO_DEBUG=0): gunicorn with 3 workers
from gunicorn.conf.py, 2 Celery workers (`-c 2` each) and beat, PostgreSQL (a database of its own,
dropped, created and migrated by the script), Redis (a db number of its own, flushed before and
after; no other db is touched), and the Vox simulator as its own process with its rate limit on
and its webhooks pointed at the dashboard. Then, for `--duration` seconds:

- `--users` signed-in viewers load a mix of pages (history with distinct searches and pages,
  overview, numbers, agents, call detail, stats), each waiting about `--think` seconds between pages;
- a caller places a call every `--place-every` seconds through the place-a-call form;
- with `--full-sync`, `manage.py vox_sync --full` runs from the start (or `--full-sync task`
  queues the same full sync for the workers), next to beat's incremental syncs;
- faults, at seconds into the load: `--kill-worker-at T` SIGKILLs Celery worker 1 and all its pool
  processes (the out-of-memory killer's way) and starts it again 5 s later, as a supervisor would;
  `--kill-redis-at T` runs the whole deployment on a redis-server of the script's own on a spare
  port, SIGKILLs it at T and starts it again, empty, `--redis-down` seconds later. With a fault,
  the sweep runs with a short age (30 s, every 10 s), and the report waits for every webhook event
  the dashboard stored to be applied.

At the end it prints what Vox saw (the simulator logs every API request: GET /_simulator/requests):
requests received, the most in any true rolling 60 s against the limit, 429s, requests per rolling
minute over time; what the users saw: the dashboard's status counts (5xx!), banners, page latency;
and whether the full sync finished and how many of its requests were served (its share of Vox's
answers while it ran). Every process it started is stopped at the end, on Ctrl-C, on SIGTERM, and
after a hard time limit; everything listens on 127.0.0.1 only.

    .venv/bin/python benchmarks/load.py [--duration 180] [--users 6] [--think 1.0] [--place-every 15]
        [--full-sync [command|task]] [--calls 10000] [--sim-latency-ms 0] [--rate-limit 120] [--budget N]
        [--mix history=4,overview=2,numbers=1,agents=1,detail=2,stats=1]
        [--database-url postgres://postgres@127.0.0.1:5432/voxdash_bench_load]
        [--redis-url redis://127.0.0.1:6379/13] [--seed 1] [--keep-logs]
        [--kill-worker-at T] [--kill-redis-at T [--redis-down 30]]
"""

from __future__ import annotations

import argparse
import collections
import html
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import redis
from common import max_in_window, percentile, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from vox_simulator import keys  # noqa: E402 (stdlib only, no Django; needs ROOT on the path)

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PASSWORD = "load-benchmark-only-password"
WEBHOOK_SECRET = "whsec_load_benchmark_only"
WINDOW = 60.0
# Longer than gunicorn's own timeout (60 s), so a worker it kills shows as what it is, not as ours.
PAGE_TIMEOUT = 90.0
# Searches people type: names (accented too), surnames, national and international digit runs.
SEARCHES = (
    "adaeze",
    "okonkwo",
    "Fúnmiláyọ̀",
    "adébáyọ̀",
    "zoë",
    "müller",
    "josé",
    "álvarez",
    "ngozi",
    "ọkafọ̀r",
    "chinedu",
    "emeka",
    "amina",
    "bola",
    "kwame",
    "wanjiru",
    "smith",
    "olu",
    "ife",
    "ade",
    "0801",
    "0803",
    "+234",
    "+233",
    "+254",
    "+44",
    "80312",
    "234 80",
    "0802 3",
    "0705",
    "0909",
    "55",
    "12",
    "9",
)
STATUSES = ("completed", "failed", "busy", "no_answer", "in_progress", "queued")
SYNC_MODES = {"command": "manage.py vox_sync --full", "task": "the sync_calls task, queued with full=True"}
DEFAULT_MIX = "history=4,overview=2,numbers=1,agents=1,detail=2,stats=1"
# Trouble banners (not the "served from the mirror because of your filters" notes); data-error
# names the error class when the page knows it.
BANNER = re.compile(r'<[^>]*class="banner banner-(?:error|warning)"[^>]*>')
BANNER_KIND = re.compile(r'data-error="([^"]*)"')
CALL_LINK = re.compile(r'href="/calls/([A-Za-z0-9_-]{8,})/"')


# --- processes -----------------------------------------------------------------------------------
class Stack:
    """The processes this run started, each in its own session so its whole group can be stopped."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed_on_purpose: set[str] = set()  # faults: not "stopped unexpectedly"

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:  # "ab": a restarted process keeps its log
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        self.killed_on_purpose.discard(name)
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def start_simulator(self, port: int, *options: str) -> subprocess.Popen:
        """The Vox simulator on HOST:port, with these command-line options (wait_for_simulator)."""
        command = [sys.executable, "-m", "vox_simulator", "--host", HOST, "--port", str(port), *options]
        return self.start("simulator", command)

    def wait_for_simulator(self, process: subprocess.Popen) -> None:
        wait_until(
            "the simulator", lambda: "listening on" in self.log("simulator"), process, self, "simulator"
        )

    def stop(self) -> list[str]:
        """SIGTERM every main process (gunicorn and Celery stop their own children), then SIGKILL
        any group still alive after 20 s. Returns the names that had to be killed, and the names
        still alive after 10 s more (a process stuck in the kernel; never seen so far)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 20
        killed = []
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed.append(name)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # The group outlives its leader when a child (a gunicorn or pool worker) is stuck.
            while _group_alive(process.pid):
                if time.monotonic() > deadline + 10:
                    killed.append(f"{name} (STILL RUNNING: process group {process.pid})")
                    break
                if time.monotonic() > deadline:
                    if name not in killed:
                        killed.append(name)
                    os.killpg(process.pid, signal.SIGKILL)
                time.sleep(0.1)
        return killed

    def kill(self, name: str) -> None:
        """SIGKILL a process and its whole group (pool children too), as the OOM killer or a crash."""
        self.killed_on_purpose.add(name)
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- faults --------------------------------------------------------------------------------------
class Faults(threading.Thread):
    """At the times asked for (seconds into the load), kill a worker or Redis and bring it back."""

    def __init__(self, stack: Stack, plan: list[tuple[float, str, Callable[[], None]]]):
        super().__init__(daemon=True)
        self.stack, self.plan = stack, sorted(plan, key=lambda step: step[0])
        self.started = 0.0
        self.done: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        for at, what, action in self.plan:
            if self.stop_event.wait(max(0.0, self.started + at - time.time())):
                return
            action()
            line = f"t={time.time() - self.started:5.1f} s  {what}"
            self.done.append(line)
            print(f"  fault: {line}", flush=True)


def start_redis(stack: Stack, port: int, url: str) -> None:
    """The run's own redis-server, without persistence: killed, it comes back empty."""
    stack.start(
        "redis",
        ["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(
    what: str, ready, process: subprocess.Popen | None, stack: Stack, name: str, seconds: float = 90
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}:\n{stack.log(name)[-3000:]}")
        try:
            if ready():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}:\n{stack.log(name)[-3000:]}")


# --- the users -----------------------------------------------------------------------------------
@dataclass
class Page:
    kind: str
    started: float
    seconds: float
    status: int | None  # None: no answer (connection dropped or timed out)
    banners: tuple[str, ...] = ()
    error: str = ""


@dataclass
class Results:
    pages: list[Page] = field(default_factory=list)
    placed: collections.Counter = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    call_ids: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)  # the load ends early

    def add(self, page: Page) -> None:
        with self.lock:
            self.pages.append(page)


class Browser:
    """One signed-in person: their own connection and cookies, behind a TLS-terminating proxy.

    The session cookie is Secure in production; httpx would keep it from a plain-HTTP server, so
    the cookies are carried by hand, as the browser behind the proxy would.
    """

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.client = httpx.Client(
            base_url=base_url,
            timeout=PAGE_TIMEOUT,
            headers={
                "User-Agent": "Mozilla/5.0 (voxdash load benchmark)",
                "X-Forwarded-Proto": "https",
                # CSRF on HTTPS checks the origin of every form post.
                "Origin": "https://" + base_url.split("://", 1)[1],
                "Referer": base_url + "/",
            },
        )

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        response = self.client.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def close(self) -> None:
        self.client.close()


def form_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)" name="{name}"', page
    )
    if not match:
        raise RuntimeError(f"no {name} in the page")
    return html.unescape(match.group(1))


def first_option(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.DOTALL)
    values = re.findall(r'<option value="([^"]+)"', select.group(1)) if select else []
    if not values:
        raise RuntimeError(f"no choice for {name}")
    return html.unescape(values[0])


def timed(
    browser: Browser, results: Results, kind: str, method: str, path: str, **kwargs
) -> httpx.Response | None:
    started = time.time()
    clock = time.perf_counter()
    try:
        response = browser.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        results.add(Page(kind, started, time.perf_counter() - clock, None, error=type(exc).__name__))
        return None
    banners = (
        tuple(
            (found.group(1) if (found := BANNER_KIND.search(tag)) else "banner")
            for tag in BANNER.findall(response.text)
        )
        if response.status_code == 200
        else ()
    )
    results.add(Page(kind, started, time.perf_counter() - clock, response.status_code, banners))
    return response


def sign_in(browser: Browser, results: Results, username: str) -> bool:
    """The login form, then its post; both are pages like any other (they count, and can fail)."""
    form = timed(browser, results, "login", "GET", "/accounts/login/")
    if form is None or form.status_code != 200 or "csrfmiddlewaretoken" not in form.text:
        return False
    data = {
        "csrfmiddlewaretoken": form_value(form.text, "csrfmiddlewaretoken"),
        "username": username,
        "password": PASSWORD,
    }
    response = timed(browser, results, "login", "POST", "/accounts/login/", data=data)
    return response is not None and response.status_code == 302


def page_path(kind: str, rng: random.Random, results: Results) -> str:
    if kind == "history":
        params = {"search": rng.choice(SEARCHES)} if rng.random() < 0.7 else {}
        if rng.random() < 0.3:
            params["status"] = rng.choice(STATUSES)
        if rng.random() < 0.2:
            params["direction"] = rng.choice(("inbound", "outbound"))
        params["page"] = str(rng.choice((1, 1, 1, 2, 2, 3, 5, 8, 13, 21)))
        return "/calls/?" + httpx.QueryParams(params).__str__()
    if kind == "detail":
        with results.lock:
            ids = list(results.call_ids[-500:])
        return f"/calls/{rng.choice(ids)}/" if ids else "/calls/"
    if kind == "stats":
        return "/stats/?period=" + rng.choice(("today", "7d", "30d"))
    return {"overview": "/", "numbers": "/numbers/", "agents": "/agents/"}[kind]


def viewer(
    n: int, base_url: str, mix: dict[str, int], think: float, seed: int, until: float, results: Results
) -> None:
    rng = random.Random(seed * 1000 + n)
    browser = Browser(base_url)
    kinds, weights = list(mix), list(mix.values())
    signed_in = False
    try:
        while time.time() < until and not results.stop.is_set():
            if not signed_in:
                # At the start, and whenever the session went away, as a person would.
                signed_in = sign_in(browser, results, f"load-viewer-{n}")
                results.stop.wait(think)
                continue
            kind = rng.choices(kinds, weights)[0]
            response = timed(browser, results, kind, "GET", page_path(kind, rng, results))
            if response is not None and response.status_code == 302:
                signed_in = False
            elif response is not None and kind == "history" and response.status_code == 200:
                found = CALL_LINK.findall(response.text)
                with results.lock:
                    results.call_ids.extend(found)
            results.stop.wait(min(max(0.0, until - time.time()), think * rng.uniform(0.5, 1.5)))
    finally:
        browser.close()


def caller(base_url: str, every: float, seed: int, until: float, results: Results) -> None:
    """Place a call every `every` seconds: load the form, then post it with action=place."""
    rng = random.Random(seed)
    browser = Browser(base_url)
    signed_in = False
    try:
        next_at = time.time() + rng.uniform(1, every)
        while next_at < until and not results.stop.wait(max(0.0, next_at - time.time())):
            next_at += every
            signed_in = signed_in or sign_in(browser, results, "load-caller")
            if not signed_in:
                results.placed["could not sign in"] += 1
                continue
            form = timed(browser, results, "place form", "GET", "/calls/new/")
            if form is None or form.status_code != 200:
                results.placed["form not shown"] += 1
                signed_in = form is None or form.status_code != 302
                continue
            try:
                data = {
                    "csrfmiddlewaretoken": form_value(form.text, "csrfmiddlewaretoken"),
                    "idempotency_key": form_value(form.text, "idempotency_key"),
                    "business_voice_number_id": first_option(form.text, "business_voice_number_id"),
                    "ai_agent_id": first_option(form.text, "ai_agent_id"),
                    # The last digit picks the simulated outcome: completed mostly, some busy/failed.
                    "customer_phone": f"+23480{rng.randrange(10_000_000, 99_999_999)}",
                    "customer_name": "Load Test",
                    "purpose": "payment_reminder",
                    "context": "A reminder placed by the load benchmark.",
                    "action": "place",
                }
            except RuntimeError as exc:  # no numbers or agents offered (Vox and the mirror both empty)
                results.placed[f"form unusable ({exc})"] += 1
                continue
            response = timed(browser, results, "place", "POST", "/calls/new/", data=data)
            if response is None:
                results.placed["no answer"] += 1
            elif response.status_code == 302 and "/calls/placed/" in response.headers.get("location", ""):
                results.placed["placed"] += 1
            else:
                results.placed[f"not placed ({response.status_code})"] += 1
    finally:
        browser.close()


# --- the full sync -------------------------------------------------------------------------------
class SyncWatch(threading.Thread):
    """Follows the full sync through the progress record every web page's "Sync now" panel reads."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.last: dict | None = None
        self.first_seen: float | None = None
        self.finished_at: float | None = None

    def run(self) -> None:
        # Here, not at the top: the module needs Django set up, which main() does first.
        from voxdash.mirror.sync import sync_progress

        while not self.stop_event.wait(1.0):
            try:
                record = sync_progress("calls")
            except redis.RedisError:  # Redis trouble is the dashboard's to survive, not the observer's
                continue
            if record and record.get("full"):
                self.last = record
                self.first_seen = self.first_seen or time.time()
                if record.get("state") == "done" and self.finished_at is None:
                    self.finished_at = time.time()


# --- the report ----------------------------------------------------------------------------------
def report_faults(faults: Faults) -> bool:
    """What the faults left behind: every webhook event the dashboard stored applied (the sweep's
    job, within its 30 s age), both workers alive and never "Unrecoverable"."""
    from voxdash.webhooks.models import WebhookEvent  # Django is set up by now (main)

    print("\n== faults")
    for line in faults.done:
        print(f"  {line}")
    deadline = time.monotonic() + 120
    while True:
        outcomes = collections.Counter(WebhookEvent.objects.values_list("outcome", flat=True))
        if not outcomes.get(WebhookEvent.Outcome.PENDING) or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(
        f"webhook events the dashboard stored, by outcome (after up to 120 s for the sweep): {dict(outcomes)}"
    )
    alive = {name: faults.stack.processes[name].poll() is None for name in ("worker1", "worker2")}
    unrecoverable = [n for n in alive if "Unrecoverable error" in faults.stack.log(n)]
    print(f"workers alive at the end: {alive}; 'Unrecoverable error' in: {unrecoverable or 'none'}")
    return not outcomes.get(WebhookEvent.Outcome.PENDING) and all(alive.values()) and not unrecoverable


def latency_line(pages: list[Page]) -> str:
    seconds = [p.seconds * 1000 for p in pages if p.status is not None]
    if not seconds:
        return "no answers"
    median, p95 = statistics.median(seconds), percentile(seconds, 0.95)
    return f"median {median:7.1f} ms, p95 {p95:7.1f} ms, max {max(seconds):7.0f} ms"


def report(
    args,
    log: list,
    results: Results,
    watch: SyncWatch,
    sync_process,
    sync_log: str,
    started: float,
    ended: float,
    stack: Stack,
    deliveries: list,
) -> bool:
    """Print the figures; True when the run kept every promise (no 5xx, no dropped page, no 429)."""
    api = [entry for entry in log if entry[2].startswith("/v1/")]
    times = [entry[0] for entry in api]
    admitted = [entry[0] for entry in api if entry[3] != 429]
    statuses = collections.Counter(entry[3] for entry in api)
    most, at = max_in_window(times, WINDOW)
    most_admitted, _ = max_in_window(admitted, WINDOW)
    minutes = (ended - started) / 60
    budget = "off" if args.budget == 0 else f"{args.rate_limit if args.budget is None else args.budget}/min"
    print(
        f"\n== Vox (the simulator's own log; rate limit {args.rate_limit}/min per key, "
        f"voxdash's budget {budget})"
    )
    print(
        f"requests received: {len(api)} in {minutes:.1f} min ({len(api) / minutes:.0f}/min on average); "
        f"by status {dict(sorted(statuses.items()))}"
    )
    print(
        f"most in any rolling {WINDOW:.0f} s: {most}"
        + (f" (from t={at - started:+.1f} s)" if api else "")
        + ", "
        f"{most_admitted} of them answered; limit {args.rate_limit}"
        + ("  ** over the limit **" if most > args.rate_limit else "")
    )
    print(f"429 from Vox: {statuses.get(429, 0)}")
    routes = collections.Counter(f"{e[1]} {e[2]}" for e in api)
    print("by route: " + ", ".join(f"{route} {n}" for route, n in routes.most_common()))
    print("requests in the rolling minute ending at t (and 429s in it):")
    line = []
    for t in range(int(WINDOW), int(ended - started) + 1, 30):
        end = started + t
        inside = [e for e in api if end - WINDOW <= e[0] < end]
        line.append(f"t={t}s {len(inside)} ({sum(1 for e in inside if e[3] == 429)})")
    for i in range(0, len(line), 6):
        print("  " + " | ".join(line[i : i + 6]))

    pages = results.pages
    by_status = collections.Counter("no answer" if p.status is None else p.status for p in pages)
    server_errors = sum(1 for p in pages if p.status is not None and p.status >= 500)
    dropped = by_status.get("no answer", 0)
    print(
        f"\n== the dashboard ({args.users} viewers, think {args.think} s"
        f"{f', a caller every {args.place_every:g} s' if args.place_every else ''})"
    )
    print(
        f"pages: {len(pages)}; statuses {dict(sorted(by_status.items(), key=str))}; "
        f"5xx: {server_errors}; no answer: {dropped}"
    )
    # Sign-ins hash a password on purpose (~0.5 s): a different thing from a page's latency.
    print(f"all pages but sign-ins: {latency_line([p for p in pages if p.kind != 'login'])}")
    for kind in sorted({p.kind for p in pages}):
        of_kind = [p for p in pages if p.kind == kind]
        banners = collections.Counter(b for p in of_kind for b in p.banners)
        shown = f"; banners {dict(banners)}" if banners else ""
        print(f"  {kind:<11} {len(of_kind):>5}  {latency_line(of_kind)}{shown}")
    if args.place_every:
        print(f"placements: {dict(results.placed)}")
    states = collections.Counter(d.get("state") for d in deliveries)
    print(f"webhooks (simulator -> dashboard): {dict(states)}")

    if args.full_sync:
        print(f"\n== the full sync ({SYNC_MODES[args.full_sync]}, {args.calls} calls)")
        record = watch.last or {}
        pages_read, total = record.get("pages", 0), record.get("total_pages")
        if watch.finished_at:
            done = _timestamp(record.get("finished_at")) or watch.finished_at
            print(f"finished: yes, at t={done - started:.0f} s")
        else:
            print(
                f"finished: NO (state {record.get('state', 'never started')!r}, pages {pages_read}/{total})"
                + (f"; error: {record['error'][:200]}" if record.get("error") else "")
            )
        if sync_process is not None and sync_process.returncode == -signal.SIGTERM:
            print("vox_sync was still running when the load ended, and was stopped")
        elif sync_process is not None and sync_process.returncode not in (None, 0):
            print(f"vox_sync exited with {sync_process.returncode}: {sync_log.strip().splitlines()[-1:]}")
        # The sync's own clock (started_at/finished_at in its record), not the 1-second polling.
        since = _timestamp(record.get("started_at")) or watch.first_seen or started
        until = _timestamp(record.get("finished_at")) or ended
        served_meanwhile = sum(1 for e in api if since <= e[0] <= until and e[3] != 429)
        # A page is committed only once Vox answered it: pages read are the sync's served requests.
        share = f"{pages_read / served_meanwhile:.0%} of {served_meanwhile}" if served_meanwhile else "none"
        print(
            f"its requests served: {pages_read} pages of {total} ({record.get('requests', 0)} asked for) "
            f"in {until - since:.0f} s = {pages_read / max(1.0, until - since) * 60:.1f}/min; "
            f"its share of Vox's answers meanwhile: {share}"
        )

    tracebacks = {name: stack.log(name).count("Traceback") for name in stack.processes}
    print(f"\ntracebacks in the logs: {tracebacks}")
    return not (server_errors or dropped or statuses.get(429, 0) or most > args.rate_limit)


def _timestamp(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


# --- the run -------------------------------------------------------------------------------------
def parse_mix(text: str) -> dict[str, int]:
    known = {"history", "overview", "numbers", "agents", "detail", "stats"}
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in known or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"--mix takes name=weight pairs of {sorted(known)}, not {part!r}"
            )
        mix[name.strip()] = int(weight)
    if not any(mix.values()):
        raise argparse.ArgumentTypeError("--mix needs one weight above 0")
    return mix


def _interrupt(signum, frame):
    # Only the first signal counts: a second Ctrl-C during the shutdown must not abandon children.
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGALRM"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=180, help="seconds of load (the documented run: 600)"
    )
    parser.add_argument("--users", type=int, default=6, help="concurrent signed-in viewers")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a viewer waits between pages")
    parser.add_argument(
        "--mix", type=parse_mix, default=parse_mix(DEFAULT_MIX), help=f"default {DEFAULT_MIX}"
    )
    parser.add_argument(
        "--place-every", type=float, default=15, help="a caller places a call every N s (0: none)"
    )
    parser.add_argument(
        "--full-sync",
        nargs="?",
        const="command",
        choices=("command", "task"),
        help="run `vox_sync --full` from the start (or queue the task)",
    )
    parser.add_argument("--calls", type=int, default=10_000, help="the simulator's call history")
    parser.add_argument("--sim-latency-ms", type=int, default=0, help="every Vox answer waits this long")
    parser.add_argument("--rate-limit", type=int, default=120, help="Vox's requests per minute per key")
    parser.add_argument(
        "--budget",
        type=int,
        help="voxdash's VOX_REQUESTS_PER_MINUTE (default: the rate limit; 0 turns voxdash's budget off, "
        "which shows what the budget prevents)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-worker-at", type=float, help="seconds into the load: SIGKILL worker 1")
    parser.add_argument(
        "--kill-redis-at", type=float, help="seconds into the load: SIGKILL Redis (a server of the run's own)"
    )
    parser.add_argument("--redis-down", type=float, default=30.0, help="seconds before Redis starts again")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_bench_load")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/13", help="a db of its own: it is flushed"
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the processes' logs (always kept on trouble)"
    )
    args = parser.parse_args()
    if args.budget is not None and args.budget < 0:
        parser.error("--budget must be 0 (off) or more")
    if args.duration <= 0 or args.users < 0 or args.think < 0 or args.place_every < 0:
        parser.error("--duration must be above 0; --users, --think and --place-every 0 or more")
    faults = args.kill_worker_at is not None or args.kill_redis_at is not None
    redis_port = free_port() if args.kill_redis_at is not None else None
    if redis_port:  # a Redis the run may kill: its own, never the machine's
        args.redis_url = f"redis://{HOST}:{redis_port}/0"
    for url in (args.database_url, args.redis_url):
        if httpx.URL(url).host not in ("127.0.0.1", "localhost"):
            parser.error(f"{url}: this benchmark only talks to 127.0.0.1")

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    signal.signal(signal.SIGALRM, _interrupt)
    # A hard limit on the whole run: setup, the load, and the wait for the last pages.
    signal.alarm(int(args.duration) + 600)

    var_dir = Path(tempfile.mkdtemp(prefix="voxdash-load-"))
    web_port, sim_port = free_port(), free_port()
    web_url, sim_url = f"http://{HOST}:{web_port}", f"http://{HOST}:{sim_port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="load-benchmark-only",
        VOX_API_BASE_URL=sim_url,
        VOX_API_KEY=keys.DEMO_KEY,
        VOX_WEBHOOK_SECRET=WEBHOOK_SECRET,
        VOX_REQUESTS_PER_MINUTE=str(args.rate_limit if args.budget is None else args.budget),
        VOXDASH_VAR_DIR=str(var_dir),
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        PORT=str(web_port),
        WEB_CONCURRENCY="3",
        # TLS ends at the proxy (here: the benchmark's browsers say so with X-Forwarded-Proto), and
        # the proxy redirects plain HTTP itself, so the simulator's webhooks can post over HTTP.
        DJANGO_BEHIND_PROXY="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        PYTHONUNBUFFERED="1",
        # The caller places a call every few seconds at whatever hour the run happens: the
        # outside-business-hours confirmation would turn every placement into a review page.
        VOXDASH_BUSINESS_HOURS="always",
    )
    if faults:
        # Work a killed worker or Redis left pending is swept again after 30 s (default 120 s),
        # so recovery shows within a short run.
        env.update(VOXDASH_SWEEP_AFTER_SECONDS="30", VOXDASH_SWEEP_EVERY="10")
    os.environ.update(env)
    stack = Stack(env, var_dir)
    results = Results()
    watch = SyncWatch()
    sync_process = None
    ok = complete = False
    trouble = True
    try:
        print(
            f"setting up: database {args.database_url}, Redis {args.redis_url}, logs in {var_dir}", flush=True
        )
        recreate_database(args.database_url)
        if redis_port:
            start_redis(stack, redis_port, args.redis_url)
        redis.Redis.from_url(args.redis_url).flushdb()
        # Django is set up only now, with the run's environment; its modules are imported after.
        import django

        django.setup()
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command
        from django.db import connections

        from voxdash.accounts.roles import CALLERS, VIEWERS

        call_command("migrate", verbosity=0)
        # Production serves hashed static files from the manifest collectstatic writes (a release step).
        call_command("collectstatic", "--noinput", verbosity=0)
        for n in range(args.users):
            User.objects.create_user(f"load-viewer-{n}", password=PASSWORD).groups.add(
                Group.objects.get(name=VIEWERS)
            )
        User.objects.create_user("load-caller", password=PASSWORD).groups.add(Group.objects.get(name=CALLERS))
        connections.close_all()

        sim = stack.start_simulator(
            sim_port,
            "--rate-limit",
            str(args.rate_limit),
            "--calls",
            str(args.calls),
            "--seed",
            str(args.seed),
            "--webhook-url",
            f"{web_url}/webhooks/vox/",
            "--webhook-secret",
            WEBHOOK_SECRET,
        )
        web = stack.start(
            "gunicorn",
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "voxdash.wsgi", "--bind", f"{HOST}:{web_port}"],
        )

        def worker_command(i: int) -> list[str]:
            return [str(BIN / "celery"), "-A", "voxdash", "worker", "-c", "2", "-n", f"load{i}@%h"] + [
                "--loglevel",
                "INFO",
            ]

        workers = [stack.start(f"worker{i}", worker_command(i)) for i in (1, 2)]
        stack.wait_for_simulator(sim)
        if args.sim_latency_ms:
            httpx.post(
                f"{sim_url}/_simulator/faults", json={"latency_ms": args.sim_latency_ms}
            ).raise_for_status()
        wait_until(
            "gunicorn", lambda: httpx.get(f"{web_url}/healthz").status_code == 200, web, stack, "gunicorn"
        )
        for i, worker in enumerate(workers, 1):
            wait_until(
                f"worker {i}", lambda i=i: " ready." in stack.log(f"worker{i}"), worker, stack, f"worker{i}"
            )

        plan: list[tuple[float, str, Callable[[], None]]] = []
        if args.kill_worker_at is not None:
            plan += [
                (args.kill_worker_at, "worker 1 and its pool SIGKILLed", lambda: stack.kill("worker1")),
                (
                    args.kill_worker_at + 5,
                    "worker 1 started again",
                    lambda: stack.start("worker1", worker_command(1)),
                ),
            ]
        if args.kill_redis_at is not None:
            plan += [
                (args.kill_redis_at, "Redis SIGKILLed", lambda: stack.kill("redis")),
                (
                    args.kill_redis_at + args.redis_down,
                    "Redis started again, empty",
                    lambda: start_redis(stack, redis_port, args.redis_url),
                ),
            ]
        fault_thread = Faults(stack, plan)
        watch.start()
        started = time.time()
        fault_thread.started = started
        fault_thread.start()
        if args.full_sync == "command":
            sync_process = stack.start(
                "vox_sync", [sys.executable, "manage.py", "vox_sync", "--full", "--skip-directory"]
            )
        elif args.full_sync == "task":
            from voxdash.calls.tasks import sync_calls  # after django.setup(), like the rest above

            sync_calls.delay(full=True)
        if args.full_sync:
            # Beat starts once the full sync holds the sync lock; otherwise beat's first incremental
            # sync may take it, and the full one would begin with a refusal instead of a measurement.
            deadline = time.monotonic() + 30
            while watch.first_seen is None and time.monotonic() < deadline:
                time.sleep(0.2)
        stack.start(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "voxdash",
                "beat",
                "--loglevel",
                "INFO",
                "-s",
                str(var_dir / "celerybeat-schedule"),
            ],
        )
        until = started + args.duration
        print(
            f"load: {args.users} viewers, caller every {args.place_every:g} s, "
            f"full sync {args.full_sync or 'off'}, "
            f"{args.duration:.0f} s from {time.strftime('%H:%M:%S')}",
            flush=True,
        )
        threads = [
            threading.Thread(
                target=viewer, args=(n, web_url, args.mix, args.think, args.seed, until, results), daemon=True
            )
            for n in range(args.users)
        ]
        if args.place_every:
            threads.append(
                threading.Thread(
                    target=caller, args=(web_url, args.place_every, args.seed, until, results), daemon=True
                )
            )
        for thread in threads:
            thread.start()
        try:
            while time.time() < until:
                time.sleep(min(10.0, max(0.0, until - time.time())))
                gone = [
                    name
                    for name, p in stack.processes.items()
                    if p.poll() is not None and name != "vox_sync" and name not in stack.killed_on_purpose
                ]
                if gone:
                    print(f"stopped unexpectedly: {gone}; reporting what was measured", flush=True)
                    break
                print(f"  t={time.time() - started:4.0f} s  pages {len(results.pages)}", flush=True)
            else:
                complete = True
        except KeyboardInterrupt:
            # The first Ctrl-C ends the load, not the run: the figures so far are still worth printing.
            print("\ninterrupted: reporting what was measured, then stopping everything", flush=True)
        results.stop.set()
        fault_thread.stop_event.set()
        joined_by = time.monotonic() + PAGE_TIMEOUT + 5  # the last pages answer or time out
        for thread in threads:
            thread.join(max(0.1, joined_by - time.monotonic()))
        ended = time.time()
        watch.stop_event.set()
        watch.join(5)
        log = httpx.get(f"{sim_url}/_simulator/requests", timeout=60).json()
        deliveries = httpx.get(f"{sim_url}/_simulator/deliveries", timeout=60).json()
        if sync_process is not None and sync_process.poll() is None:
            sync_process.terminate()  # out of time: its own report says how far it got
            sync_process.wait(20)
        latency = f", latency {args.sim_latency_ms} ms" if args.sim_latency_ms else ""
        print(f"\ncommand: {' '.join([Path(sys.executable).name, *sys.argv])}")
        print(
            f"setup: production settings, gunicorn 3 workers, 2 Celery workers (-c 2) and beat, "
            f"PostgreSQL, "
            f"Redis, simulator with {args.calls} calls{latency}; "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
        )
        ok = report(
            args,
            log,
            results,
            watch,
            sync_process,
            stack.log("vox_sync") if sync_process else "",
            started,
            ended,
            stack,
            deliveries,
        )
        if faults:
            ok = report_faults(fault_thread) and ok
        ok = ok and complete
        trouble = not ok or any(stack.log(name).count("Traceback") for name in stack.processes)
    except KeyboardInterrupt:
        print("\ninterrupted (or over the time limit): stopping everything", flush=True)
    finally:
        signal.alarm(0)
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        killed = stack.stop()
        try:
            if not redis_port:  # the run's own Redis went with the stack
                redis.Redis.from_url(args.redis_url).flushdb()  # the tasks nobody will run, our cache keys
        except redis.RedisError as exc:  # still report and clean up the rest
            print(f"could not flush {args.redis_url}: {exc}")
        print(
            f"stopped {len(stack.processes)} processes" + (f" (killed: {killed})" if killed else ""),
            flush=True,
        )
        if trouble or args.keep_logs:
            print(f"logs kept in {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
