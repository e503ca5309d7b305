"""How fast does a full sync fill the mirror, and how much memory does it need?

Starts the Vox simulator in its own process (its call list does not count in our memory)
with N seeded calls and no rate limit, then in this process:
  - fetch: every page of GET /v1/vox/calls?limit=100 through the voxdash client, parsed into
    typed calls and thrown away (the floor: what the sync cannot go below), and
  - sync:  `calls_sync(full=True)` into an empty database (fetch + merge + bulk upsert per page),
  - again: a second full sync, where every call is unchanged (reads only).
Prints calls/s of each and the peak RSS of this process (the sync holds one page at a time, so
the peak should not grow with N). Targets: > 2,000 calls/s, peak < 200 MB, flat from 10k to 100k.
The request budget is off (VOX_REQUESTS_PER_MINUTE=0): at 120/min, 100k calls take ~14 minutes.

    .venv/bin/python benchmarks/sync_calls.py [--calls 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/voxdash_bench_sync .venv/bin/python benchmarks/sync_calls.py
(with PostgreSQL the database is created if missing; the calls and the stats rollup are emptied first).
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("VOXDASH_VAR_DIR", tempfile.mkdtemp(prefix="voxdash-bench-sync-"))
os.environ["VOX_REQUESTS_PER_MINUTE"] = "0"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used (Linux /proc); None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_postgres_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def start_simulator(calls: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vox_simulator",
            "--port",
            "0",
            "--calls",
            str(calls),
            "--no-rate-limit",
            "--manual-lifecycle",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline().strip()  # "Vox simulator listening on http://HOST:PORT"
    return process, first.rsplit(" ", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        ensure_postgres_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from vox_simulator import keys
    from voxdash.calls.models import Call
    from voxdash.calls.sync import calls_sync
    from voxdash.vox import get_client, reset_client

    call_command("migrate", verbosity=0)
    from voxdash.calls.models import CallDurationRollup, CallRollup, SyncState

    Call.objects.all().delete()
    # The rollup too: the simulator dates its calls from now, so the last run's counts would stay
    # beside this run's, and each run would upsert into larger tables than the one before.
    CallRollup.objects.all().delete()
    CallDurationRollup.objects.all().delete()
    SyncState.objects.all().delete()

    def backend_pid() -> int | None:
        # This process's PostgreSQL backend, when the database runs on this machine.
        if connection.vendor != "postgresql" or connection.settings_dict["HOST"] not in (
            "127.0.0.1",
            "localhost",
            "",
        ):
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    started = time.monotonic()
    simulator, base_url = start_simulator(args.calls)
    print(f"simulator with {args.calls:,} calls ready in {time.monotonic() - started:.1f} s at {base_url}")
    try:
        settings.VOX_API_BASE_URL, settings.VOX_API_KEY = base_url, keys.DEMO_KEY
        reset_client()
        client = get_client()
        baseline = rss_mb()

        started = time.monotonic()
        fetched = sum(len(page.calls) for page in client.iter_calls(limit=100))
        fetch_s = time.monotonic() - started

        # The CPU each process spends on the insert: on a busy machine calls/s measures the
        # neighbours too, CPU seconds far less (the database's backend only when it is local).
        pids = {"voxdash": os.getpid(), "simulator": simulator.pid, "PostgreSQL backend": backend_pid()}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid}
        started = time.monotonic()
        summary = calls_sync(full=True)
        sync_s = time.monotonic() - started
        cpu = {
            name: after - cpu_before[name]
            for name, pid in pids.items()
            if name in cpu_before and cpu_before[name] is not None and (after := cpu_seconds(pid)) is not None
        }
        peak = rss_mb()

        started = time.monotonic()
        again = calls_sync(full=True)
        again_s = time.monotonic() - started
    finally:
        simulator.terminate()
        simulator.wait()

    assert fetched == args.calls and summary.created == args.calls, (fetched, summary)
    assert again.unchanged == args.calls, again
    db = f"{connection.vendor} ({connection.settings_dict['NAME']})"
    print(f"database: {db}")
    print(
        f"fetch only (floor): {fetch_s:7.2f} s  {fetched / fetch_s:8,.0f} calls/s  "
        f"({summary.requests} requests)"
    )
    print(
        f"full sync (insert): {sync_s:7.2f} s  {summary.created / sync_s:8,.0f} calls/s  "
        f"({sync_s / fetch_s:.2f}x the floor)"
    )
    if backend_pid() != pids["PostgreSQL backend"]:
        cpu.pop("PostgreSQL backend", None)  # a new connection: the old backend's count is gone
    print(
        "full sync (insert), CPU per 1,000 calls: "
        + ", ".join(
            f"{name} {1000 * seconds / summary.created * 1000:.0f} ms" for name, seconds in cpu.items()
        )
    )
    print(f"full sync (again):  {again_s:7.2f} s  {again.unchanged / again_s:8,.0f} calls/s  (all unchanged)")
    print(f"peak RSS: {peak:.0f} MB (Django + client before the walk: {baseline:.0f} MB)")


if __name__ == "__main__":
    main()
