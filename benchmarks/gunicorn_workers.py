"""gunicorn's worker class for pages that wait on Vox: sync workers against gthread threads.

Production settings, PostgreSQL and Redis, gunicorn over HTTP (every configuration started at once,
each on its own port, all against one database, one Redis and one simulator), a signed-in Viewer,
and the simulator as Vox answering every API request after --latencies milliseconds.

In each cell N clients (--clients) run for --seconds: half of them load the history page (it asks
Vox: list cache and request budget off, so every page waits the latency), the other half a call's
page, which reads only the mirror. The question is what happens to the fast page while slow ones
hold the server: a sync worker holds a whole process for each page waiting on Vox, a gthread
worker a thread.

Every round runs each (latency, clients, configuration) cell once, in a shuffled order, so all the
configurations meet the same machine; the figures are the cells' medians over --rounds rounds.
Prints, per cell: pages a second of each kind, the fast page's p50/p95 and the slow page's p50,
answers that were not 200 or fell back to the mirror, and the configuration's memory (RSS and PSS
of gunicorn's master and workers, the most seen).

    .venv/bin/python benchmarks/gunicorn_workers.py [--configs sync:3,sync:4,gthread:2x8,gthread:4x8]
        [--latencies 300,2000] [--clients 8,24] [--seconds 8] [--rounds 3]
"""

import argparse
import itertools
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import redis
from common import percentile
from load import BIN, HOST, Stack, free_port, wait_until

from vox_simulator import keys

ROOT = Path(__file__).resolve().parent.parent
WARM_SECONDS = 1.0  # each cell's first second is not measured (connections, the header's health check)
PAGE_TIMEOUT = 60.0
MIRROR_ANSWER = 'data-source="mirror"'


@dataclass(frozen=True)
class Config:
    worker_class: str
    workers: int
    threads: int

    @classmethod
    def parse(cls, text: str) -> "Config":
        kind, _, shape = text.partition(":")
        workers, _, threads = shape.partition("x")
        config = cls(kind, int(workers), int(threads or 1))
        if kind not in ("sync", "gthread") or (kind == "sync" and config.threads != 1):
            raise SystemExit(f"{text!r}: say sync:WORKERS or gthread:WORKERSxTHREADS")
        return config

    @property
    def name(self) -> str:
        return (
            f"sync x{self.workers}"
            if self.worker_class == "sync"
            else f"gthread {self.workers}x{self.threads}"
        )

    def environment(self) -> dict[str, str]:
        return {
            "GUNICORN_WORKER_CLASS": self.worker_class,
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
        }


@dataclass
class Cell:
    """One run's answers: (kind, started, finished, status, from the mirror)."""

    answers: list[tuple[str, float, float, int, bool]] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)

    def of(self, kind: str) -> list[tuple[str, float, float, int, bool]]:
        start, end = self.window
        return [a for a in self.answers if a[0] == kind and start <= a[1] < end]

    def per_second(self, kind: str) -> float:
        start, end = self.window
        done = [a for a in self.answers if a[0] == kind and start <= a[2] < end]
        return len(done) / (end - start)

    def ms(self, kind: str, share: float) -> float:
        times = [(a[2] - a[1]) * 1000 for a in self.of(kind)]
        return percentile(times, share) if times else float("nan")

    def trouble(self) -> int:
        """Answers that were not a 200 or came from the mirror (the deadline spent waiting)."""
        return sum(1 for a in self.answers if a[3] != 200 or a[4])


def memory_kib(master_pid: int) -> tuple[int, int]:
    """RSS and PSS (KiB) of gunicorn's master and its workers, from /proc. PSS shares each page
    among the processes that map it: the fair sum; RSS counts shared libraries once a process."""
    pids = [master_pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master_pid:
                pids.append(int(entry.name))
    rss = pss = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1))
        pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
    return rss, pss


def run_cell(base_url: str, session: str, call_path: str, clients: int, seconds: float) -> Cell:
    """`clients` threads, half on the history page and half on the call's page, for `seconds`."""
    cell = Cell()
    started = time.monotonic()
    cell.window = (started + WARM_SECONDS, started + WARM_SECONDS + seconds)
    lock = threading.Lock()

    def client(kind: str, path: str) -> None:
        # The session by hand: production cookies are Secure, and this is plain HTTP.
        with httpx.Client(
            base_url=base_url, timeout=PAGE_TIMEOUT, headers={"Cookie": f"sessionid={session}"}
        ) as http:
            while (now := time.monotonic()) < cell.window[1]:
                try:
                    response = http.get(path)
                    status, mirror = response.status_code, MIRROR_ANSWER in response.text
                except httpx.HTTPError:
                    status, mirror = 0, False
                with lock:
                    cell.answers.append((kind, now, time.monotonic(), status, mirror))

    threads = [
        threading.Thread(target=client, args=("history", "/calls/") if n % 2 == 0 else ("fast", call_path))
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return cell


def prepare(args: argparse.Namespace, env: dict[str, str], sim_url: str) -> tuple[str, str]:
    """A fresh database with the simulator's calls in the mirror and a Viewer's session."""
    import psycopg

    name = urlparse(args.database_url).path.lstrip("/")
    if not name.startswith("voxdash_gunicorn"):
        raise SystemExit(f"refusing to drop {name!r}: this benchmark's database is named voxdash_gunicorn…")
    with psycopg.connect(args.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(args.redis_url).flushdb()
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from voxdash.calls.models import Call

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    call_command("vox_sync", verbosity=0)  # the mirror, from the simulator (no latency yet)
    viewer = User.objects.create_user("viewer", password="gunicorn-benchmark-only")
    viewer.groups.add(Group.objects.get(name="Viewers"))
    client = Client()
    client.force_login(viewer)
    call_path = f"/calls/{Call.objects.order_by('-created_at').first().vox_id}/"
    connections.close_all()
    return client.cookies["sessionid"].value, call_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="sync:3,sync:4,gthread:2x8,gthread:4x8")
    parser.add_argument(
        "--latencies", default="300,2000", help="the simulator's latency, ms (comma-separated)"
    )
    parser.add_argument("--clients", default="8,24", help="concurrent clients (comma-separated)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds of each cell")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_gunicorn")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="a db of its own: flushed")
    args = parser.parse_args()
    configs = [Config.parse(text) for text in args.configs.split(",")]
    latencies = [int(v) for v in args.latencies.split(",")]
    client_counts = [int(v) for v in args.clients.split(",")]

    var_dir = Path(tempfile.mkdtemp(prefix="voxdash-gunicorn-workers-"))
    sim_port = free_port()
    sim_url = f"http://{HOST}:{sim_port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="gunicorn-workers-benchmark-only-" + "k" * 20,
        DJANGO_SECURE_SSL_REDIRECT="0",
        VOX_API_BASE_URL=sim_url,
        VOX_API_KEY=keys.DEMO_KEY,
        # Every history page really waits on Vox: no request budget, no list cache.
        VOX_REQUESTS_PER_MINUTE="0",
        VOX_LIST_CACHE_SECONDS="0",
        VOXDASH_VAR_DIR=str(var_dir),
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    stack = Stack(env, var_dir)
    try:
        sim = stack.start_simulator(sim_port, "--no-rate-limit")
        stack.wait_for_simulator(sim)
        print(f"setting up: {args.database_url}, {args.redis_url}, logs in {var_dir}", flush=True)
        session, call_path = prepare(args, env, sim_url)

        urls: dict[Config, str] = {}
        masters: dict[Config, int] = {}
        for config in configs:
            port = free_port()
            name = f"gunicorn-{config.worker_class}-{config.workers}x{config.threads}"
            stack.env = {**env, **config.environment(), "PORT": str(port)}
            process = stack.start(name, [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "voxdash.wsgi"])
            urls[config], masters[config] = f"http://{HOST}:{port}", process.pid
            wait_until(
                name,
                lambda url=urls[config]: httpx.get(f"{url}/healthz").status_code == 200,
                process,
                stack,
                name,
            )
        stack.env = env
        control = httpx.Client(base_url=sim_url)

        cells = list(itertools.product(latencies, client_counts, configs))
        results: dict[tuple[int, int, Config], list[Cell]] = {cell: [] for cell in cells}
        memory: dict[Config, tuple[int, int]] = {config: (0, 0) for config in configs}
        rng = random.Random(1)
        for round_number in range(1, args.rounds + 1):
            order = list(cells)
            rng.shuffle(order)
            for latency, clients, config in order:
                control.post("/_simulator/faults", json={"latency_ms": latency}).raise_for_status()
                cell = run_cell(urls[config], session, call_path, clients, args.seconds)
                results[(latency, clients, config)].append(cell)
                rss, pss = memory_kib(masters[config])
                memory[config] = (max(memory[config][0], rss), max(memory[config][1], pss))
            print(f"round {round_number}/{args.rounds} done", flush=True)
        control.post("/_simulator/faults", json={"latency_ms": 0})

        print(
            f"\n{len(cells)} cells x {args.rounds} rounds of {args.seconds:g} s, shuffled; each figure the median "
            "of the rounds. fast: a call's page (mirror only); slow: the history page (waits on Vox)."
        )
        header = (
            f"{'Vox latency':>11} {'clients':>7}  {'configuration':<14} {'slow/s':>7} {'fast/s':>7} "
            f"{'fast p50':>9} {'fast p95':>9} {'slow p50':>9} {'not 200/mirror':>14}"
        )
        print(header)
        for latency, clients, config in cells:
            runs = results[(latency, clients, config)]

            def median(figure) -> float:
                return statistics.median(figure(run) for run in runs)

            print(
                f"{latency:>8} ms {clients:>7}  {config.name:<14} "
                f"{median(lambda r: r.per_second('history')):7.1f} {median(lambda r: r.per_second('fast')):7.1f} "
                f"{median(lambda r: r.ms('fast', 0.5)):6.0f} ms {median(lambda r: r.ms('fast', 0.95)):6.0f} ms "
                f"{median(lambda r: r.ms('history', 0.5)):6.0f} ms {sum(r.trouble() for r in runs):>14}"
            )
        print("\nmemory of gunicorn (master and workers; the most seen after a cell), MiB")
        for config in configs:
            rss, pss = memory[config]
            print(f"  {config.name:<14} RSS {rss / 1024:6.0f}   PSS {pss / 1024:6.0f}")
        print(
            f"\n{subprocess.run(['uname', '-srm'], capture_output=True, text=True).stdout.strip()}, "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
        )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
