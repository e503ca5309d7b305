"""Pages as users meet them: one reusable through-gunicorn harness for the benchmarks.

What it starts (everything on 127.0.0.1, every process stopped at the end, on Ctrl-C too):
production settings (DJANGO_DEBUG=0, behind a TLS-terminating proxy, no SSL redirect), its own
PostgreSQL database (dropped, created, migrated, collectstatic; the name must start with
voxdash_bench), its own Redis db (flushed before and after), the Vox simulator as its own process
(rate limit off by default), and one gunicorn or more with gunicorn.conf.py (each may set its
own GUNICORN_WORKER_CLASS / WEB_CONCURRENCY / GUNICORN_THREADS). Before gunicorn starts, the users
are created (`viewer` in Viewers, `caller` in Callers, `staff` with is_staff) and `seed()` runs
with Django set up against that database, so it may use the ORM. Then each server is signed in to
as each user, through the login form.

`measure()` is interleaved: each round asks every kind once, in a shuffled order, so all kinds
meet the same machine; warm-up rounds first (connections, templates, the header's caches), not
counted. `report()` prints median and p95 of each kind, what each adds to the floor (kind − floor,
at the median and at p95), and met / NOT met against the budget given per kind.

    from deployed import Budget, Deployment, bare, page, report

    def seed() -> None:            # Django is set up: the ORM writes into the benchmark's database
        ...

    with Deployment(database_url=..., redis_url=..., seed=seed, users=("viewer", "staff")) as run:
        times = run.measure(
            {"bare": bare("/v1/vox/calls"), "history": page("/calls/"),
             "webhooks": page("/webhooks/log/", user="staff")},
            rounds=200,
        )
    met = report(times, floor="bare", budgets={"history": Budget(6, 12), "webhooks": Budget(6, 12)})

One Deployment a process: Django is set up once, against the first one's database. The
environment it builds is also put into os.environ (so the seed's Django sees it). See
benchmarks/history_page.py --server for a complete use.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from common import percentile, recreate_database
from load import BIN, HOST, PASSWORD, ROOT, Browser, Results, Stack, free_port, sign_in, wait_until

from vox_simulator import keys

# Who may be signed in: the role each name is given (a group, or Django's staff flag).
USERS = {"viewer": "Viewers", "caller": "Callers", "staff": "is_staff"}
# What the harness sends to the simulator as itself (the dashboard's client sends its own).
BARE_USER_AGENT = "voxdash-deployed-benchmark/1"


@dataclass(frozen=True)
class Kind:
    """One kind of request measured: its paths are taken in turn, one a round (so six queries
    over 300 rounds are each asked 50 times)."""

    paths: tuple[str, ...]
    on_simulator: bool = False  # the floor: straight to Vox (the simulator) with the API key
    user: str | None = "viewer"  # signed in as (a name in USERS); None: signed out
    server: str = "web"  # which gunicorn (Deployment's servers)
    status: int = 200
    # Returns what is wrong with a response (the run stops with it), or "" when it is right.
    check: Callable[[httpx.Response], str] | None = None
    bearer: str | None = None  # voxdash's own API: sent with this token, not a session


def page(
    *paths: str, user: str | None = "viewer", server: str = "web", status: int = 200, check=None
) -> Kind:
    """A dashboard page, through gunicorn, as `user` (None: signed out)."""
    return Kind(paths=paths, user=user, server=server, status=status, check=check)


def api(*paths: str, token: str, server: str = "web", status: int = 200, check=None) -> Kind:
    """voxdash's own API (/api/v1/), through gunicorn, with a service token."""
    return Kind(paths=paths, user=None, server=server, status=status, check=check, bearer=token)


def bare(*paths: str) -> Kind:
    """A plain GET from the simulator with the API key: the floor a page that asks Vox stands on."""
    return Kind(paths=paths, on_simulator=True, user=None)


@dataclass(frozen=True)
class Budget:
    """What a kind may add to the floor, in milliseconds: at the median and at p95."""

    median_ms: float
    p95_ms: float


class Deployment:
    """The production stack of one benchmark run: `start()`, `measure()` as often as needed,
    `stop()` (or use it as a context manager)."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        seed: Callable[[], None] | None = None,
        users: Iterable[str] = ("viewer",),
        servers: Mapping[str, Mapping[str, str]] | None = None,
        env: Mapping[str, str] | None = None,
        simulator_options: Iterable[str] = ("--no-rate-limit",),
        checkouts: Mapping[str, Path] | None = None,
        name: str = "deployed",
    ):
        """servers: name -> environment of that gunicorn (e.g. {"GUNICORN_WORKER_CLASS": "sync"});
        by default one, "web", with 2 workers of gunicorn.conf.py's worker class (gthread) and
        threads. env: more environment for every process (it wins over the defaults here).
        checkouts: server name -> another source tree to run that gunicorn from (a `git worktree`
        of an older commit: before and after in one interleaved run, on one database, which this
        tree migrates)."""
        self.database_url, self.redis_url, self.seed = database_url, redis_url, seed
        self.users = tuple(users)
        unknown = set(self.users) - set(USERS)
        if unknown:
            raise ValueError(f"unknown users {sorted(unknown)}: one of {sorted(USERS)}")
        self.servers = {name: dict(extra) for name, extra in (servers or {"web": {}}).items()}
        self.simulator_options = tuple(simulator_options)
        self.checkouts = {server: Path(tree).resolve() for server, tree in (checkouts or {}).items()}
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"voxdash-{name}-"))
        self.sim_url = f"http://{HOST}:{free_port()}"
        self.web_urls = {server: f"http://{HOST}:{free_port()}" for server in self.servers}
        self.env = dict(os.environ)
        self.env.update(
            DJANGO_SETTINGS_MODULE="voxdash.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="deployed-benchmark-only",
            VOX_API_BASE_URL=self.sim_url,
            VOX_API_KEY=keys.DEMO_KEY,
            # The floor and the pages ask the simulator hundreds of times: no request budget (its
            # limit lifted; the simulator's too, by default) and no list cache, so every page that
            # lists from Vox really asks it.
            VOX_REQUESTS_PER_MINUTE="0",
            VOX_LIST_CACHE_SECONDS="0",
            VOXDASH_VAR_DIR=str(self.var_dir),
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=redis_url,
            CACHE_URL=redis_url,
            WEB_CONCURRENCY="2",
            DJANGO_BEHIND_PROXY="1",
            DJANGO_SECURE_SSL_REDIRECT="0",
            LOG_LEVEL="WARNING",  # one line a request would be measured too
        )
        self.env.update(env or {})
        self.stack = Stack(self.env, self.var_dir)
        self.browsers: dict[tuple[str, str | None], Browser] = {}
        self.simulator: httpx.Client | None = None

    # --- the processes ---------------------------------------------------------------------------
    def start(self) -> Deployment:
        print(f"setting up: {self.database_url}, {self.redis_url}, logs in {self.var_dir}", flush=True)
        os.environ.update(self.env)
        recreate_database(self.database_url)
        redis.Redis.from_url(self.redis_url).flushdb()
        self._prepare_database()

        for tree in set(self.checkouts.values()):  # its own static files (STATIC_ROOT is in the tree)
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                cwd=tree,
                env=self.env,
                check=True,
            )
        sim_port = self.sim_url.rsplit(":", 1)[1]
        sim = self.stack.start_simulator(int(sim_port), *self.simulator_options)
        for server, extra in self.servers.items():
            tree = self.checkouts.get(server)
            command = [
                str(BIN / "gunicorn"),
                *("-c", str((tree or ROOT) / "gunicorn.conf.py"), "voxdash.wsgi"),
                *("--bind", self.web_urls[server].split("://", 1)[1]),
            ]
            if tree is not None:
                command += ["--chdir", str(tree)]  # its voxdash package, templates and static files
            self.stack.env = {**self.env, **extra}  # Stack.start passes its env to the process
            self.stack.start(f"gunicorn-{server}", command)
        self.stack.env = self.env
        self.stack.wait_for_simulator(sim)
        for server, url in self.web_urls.items():
            name = f"gunicorn-{server}"
            process = self.stack.processes[name]
            wait_until(
                name,
                lambda url=url: httpx.get(f"{url}/healthz").status_code == 200,
                process,
                self.stack,
                name,
            )
        self.simulator = httpx.Client(
            base_url=self.sim_url,
            headers={"Authorization": f"Bearer {keys.DEMO_KEY}", "User-Agent": BARE_USER_AGENT},
        )
        for server, url in self.web_urls.items():
            self.browsers[server, None] = Browser(url)
            for user in self.users:
                browser = Browser(url)
                if not sign_in(browser, Results(), user):
                    raise SystemExit(
                        f"could not sign in to {server} as {user}:\n{self.stack.log(f'gunicorn-{server}')[-3000:]}"
                    )
                self.browsers[server, user] = browser
        return self

    def _prepare_database(self) -> None:
        # Django is imported here, not at the top: the environment above must be in place first,
        # and a script that only imports this module (for Budget, report) needs no Django.
        import django

        django.setup()
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        for user in self.users:
            role = USERS[user]
            account = User.objects.create_user(user, password=PASSWORD, is_staff=role == "is_staff")
            if role != "is_staff":
                account.groups.add(Group.objects.get(name=role))
        if self.seed is not None:
            started = time.monotonic()
            self.seed()
            print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # plans as on a database that has lived a while
        connections.close_all()  # gunicorn's workers and the benchmark share nothing

    def stop(self) -> None:
        for browser in self.browsers.values():
            browser.close()
        if self.simulator is not None:
            self.simulator.close()
        killed = self.stack.stop()
        if killed:
            print(f"had to kill: {', '.join(killed)}")
        try:
            redis.Redis.from_url(self.redis_url).flushdb()
        except redis.RedisError:
            pass

    def __enter__(self) -> Deployment:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- measuring -------------------------------------------------------------------------------
    def request(self, kind: Kind, path: str) -> httpx.Response:
        if kind.on_simulator:
            return self.simulator.get(path)
        if kind.bearer is not None:
            return self.browsers[kind.server, None].client.get(
                path, headers={"Authorization": f"Bearer {kind.bearer}"}
            )
        return self.browsers[kind.server, kind.user].request("GET", path)

    def measure(
        self, kinds: Mapping[str, Kind], rounds: int, *, warmup: int = 5, seed: int = 2
    ) -> dict[str, list[float]]:
        """Milliseconds of each kind, one a round in a shuffled order, after `warmup` rounds."""
        missing = {k.user for k in kinds.values() if k.user is not None and k.user not in self.users}
        if missing:
            raise ValueError(f"not signed in as {sorted(missing)}: add them to Deployment(users=...)")
        times: dict[str, list[float]] = {name: [] for name in kinds}
        rng = random.Random(seed)
        for n in range(warmup + rounds):
            order = list(kinds)
            rng.shuffle(order)
            for name in order:
                kind = kinds[name]
                path = kind.paths[n % len(kind.paths)]
                clock = time.perf_counter()
                response = self.request(kind, path)
                elapsed = (time.perf_counter() - clock) * 1000
                wrong = (
                    f"status {response.status_code}, not {kind.status}"
                    if response.status_code != kind.status
                    else (kind.check(response) if kind.check else "")
                )
                if wrong:
                    raise SystemExit(f"{name} {path}: {wrong}\n{response.text[:2000]}")
                if n >= warmup:
                    times[name].append(elapsed)
        return times


def report(
    times: Mapping[str, list[float]],
    *,
    floor: str,
    budgets: Mapping[str, Budget],
    labels: Mapping[str, str] | None = None,
) -> bool:
    """Print each kind's median and p95, what it adds to the floor, and its verdict. True when
    every kind with a budget met it (both the median and p95)."""
    labels = labels or {}
    rounds = len(times[floor])
    width = max(len(labels.get(kind, kind)) for kind in times) + 2
    floor_median, floor_p95 = statistics.median(times[floor]), percentile(times[floor], 0.95)
    print(f"\n{rounds} rounds, each kind once a round in a shuffled order; milliseconds")
    print(f"the floor: {labels.get(floor, floor)}")
    print(f"{'':{width}} {'median':>8} {'p95':>8} {'added':>8} {'added95':>8}  target (added, median / p95)")
    all_met = True
    for kind, values in times.items():
        median, p95 = statistics.median(values), percentile(values, 0.95)
        line = f"{labels.get(kind, kind):{width}} {median:8.2f} {p95:8.2f}"
        if kind == floor:
            print(f"{line} {'(floor)':>8}")
            continue
        line += f" {median - floor_median:8.2f} {p95 - floor_p95:8.2f}"
        budget = budgets.get(kind)
        if budget is not None:
            met = median - floor_median < budget.median_ms and p95 - floor_p95 < budget.p95_ms
            all_met &= met
            line += f"  < {budget.median_ms:g} / < {budget.p95_ms:g}: {'met' if met else 'NOT met'}"
        print(line)
    print("added = kind − floor (medians; added95: p95s)")
    print("target: " + ("met" if all_met else "NOT met"))
    return all_met
