"""The CSV export of the call history as deployed, against PostgreSQL's own COPY of the same rows.

Starts the production stack (benchmarks/deployed.py: production settings, gunicorn with
gunicorn.conf.py and one worker, so that its memory is the export's; PostgreSQL, Redis db 7, the
simulator), with a mirror of --calls generated calls (INSERT … SELECT generate_series, as
benchmarks/stats_export.py makes them: the last ~3 weeks, realistic mixes of direction and
status, microseconds in every time; and the text a CSV must quote or guard: names with commas,
quotes, a newline, a formula; one number in a hundred in national form, which the export writes
as E.164 in Python). Then, interleaved, --repeat times each, for every call and for
status=failed (~15 %):

  floor   COPY (SELECT <the export's columns> FROM calls_call WHERE <the same filter>
          ORDER BY created_at DESC, id DESC) TO STDOUT WITH (FORMAT csv), read to the end through
          psycopg in this process: the same rows, as fast as the database writes them.
  export  GET /calls/export.csv[?status=failed] as a signed-in Viewer, over HTTP, streamed to
          the end (what a browser downloads).

Prints rows/s of each (median), the export's share of the floor, the gunicorn worker's peak
memory (VmHWM) before the first export and after each, and the verdict against issue 15's target:
the export at >= 250,000 rows/s, at flat memory; and the CPU a row of the database, the gunicorn
worker and this client, which shares the cores (the database's is its backends' own: a parallel
plan's workers are not counted). --python-path also times the Python path (the way before
the COPY, what SQLite uses) once per case, in this process: a profile. --before PATH also runs the
export on a gunicorn from another checkout (`git worktree add PATH <commit>`), interleaved with
the others in the same rounds: before and after on one machine and one database.

    .venv/bin/python benchmarks/csv_export.py [--calls 1000000] [--repeat 3] [--python-path]
        [--before PATH]
        [--database-url postgres://…/voxdash_bench_…] [--redis-url redis://…/<db>]
    (by default database voxdash_bench_export_deployed, dropped and made again by each run, and
    Redis db 7; another URL lets two runs share the machine without sharing a database)
"""

import argparse
import os
import random
import statistics
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import fill_calls  # noqa: E402
from deployed import Deployment  # noqa: E402 (no Django at import)

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/voxdash_bench_export_deployed"
REDIS_URL = "redis://127.0.0.1:6379/7"
TARGET_ROWS_PER_SECOND = 250_000
CASES = {"every call": {}, "status=failed": {"status": "failed"}}

# benchmarks/stats_export.py's calls, with names and numbers that take the export's slow turns.
GENERATE_CALLS = """
INSERT INTO calls_call (vox_id, business_id, direction, status, customer_phone, customer_name,
    duration_seconds, started_at, ended_at, created_at, recording_url, failure_reason, status_at,
    first_seen_at, last_seen_at, raw)
SELECT
    md5(i::text)::uuid::text, 'ffb9fd40-c890-5990-8eed-555b1690cf0a',
    CASE WHEN i %% 10 < 7 THEN 'inbound' ELSE 'outbound' END,
    s.status,
    CASE WHEN i %% 100 = 0 THEN '0' ELSE '+234' END
        || (ARRAY['803','805','806','810','813','816','901','703'])[1 + i %% 8]
        || lpad(((i * 104729) %% 10000000)::text, 7, '0'),
    CASE WHEN i %% 8 = 0 THEN '' ELSE (ARRAY['Adaeze Okonkwo','Fúnmiláyọ̀ Adébáyọ̀','Zoë Müller',
        'José Álvarez','Okafor, Ngozi','=HYPERLINK("x")','Emeka "Mek" Eze',
        E'Aisha Bello\nFinance'])[1 + (i * 31) %% 8] END,
    CASE WHEN s.status = 'completed' THEN 20 + (i * 13) %% 580 END,
    CASE WHEN s.status = 'completed' THEN now() - make_interval(secs => i * 1.8) + interval '5 seconds' END,
    now() - make_interval(secs => i * 1.8) + interval '95 seconds',
    now() - make_interval(secs => i * 1.8),
    '', CASE WHEN s.status = 'failed' THEN 'carrier_rejected' ELSE '' END, NULL, now(), now(), '{}'::jsonb
FROM generate_series(1::bigint, %s::bigint) AS i,
LATERAL (SELECT (ARRAY['completed','completed','completed','completed','completed','completed',
    'completed','completed','completed','completed','completed','completed','failed','failed',
    'no_answer','no_answer','busy','canceled','completed','failed'])[1 + (i * 7919) %% 20] AS status) AS s
"""


def worker_memory_mib(master_pid: int) -> dict[int, tuple[float, float]]:
    """Each gunicorn worker's (peak, current) resident memory in MiB, from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    memory = {}
    for pid in map(int, children):
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        memory[pid] = (int(status["VmHWM"].split()[0]) / 1024, int(status["VmRSS"].split()[0]) / 1024)
    return memory


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (a signal that load elsewhere blurs less
    than the clock does)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a connection closed meanwhile: the figure is then too low
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def backends(*, ours: bool) -> list[int]:
    """The PostgreSQL backends of the benchmark's database: this process's own, or the others
    (gunicorn's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
            + ("pid = pg_backend_pid()" if ours else "pid <> pg_backend_pid()")
        )
        return [pid for (pid,) in cursor.fetchall()]


def exported_calls(params: dict):
    """The calls the export of these query parameters holds, as the view finds them."""
    # Django is imported in the functions: the harness sets it up (benchmarks/deployed.py).
    from voxdash.calls.forms import CallFiltersForm
    from voxdash.calls.mirror_query import mirror_calls

    form = CallFiltersForm(params)
    form.is_valid()
    return mirror_calls(form.call_filters())


def floor_rows_per_second(params: dict, rows: int) -> tuple[float, float]:
    """PostgreSQL's own COPY of the export's rows and columns (no cell rules), read to the end."""
    from django.db import connection

    from voxdash.calls.export import FIELDS

    sql, sql_params = exported_calls(params).values_list(*FIELDS).query.sql_with_params()
    copied = 0
    database = backends(ours=True)
    started, database_cpu = time.perf_counter(), cpu_seconds(database)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", sql_params) as copy:
            for _ in copy:
                copied += 1
    seconds = time.perf_counter() - started
    assert copied == rows, (copied, rows)
    return rows / seconds, (cpu_seconds(database) - database_cpu) / rows * 1e6


def export_rows_per_second(run: Deployment, server: str, params: dict, rows: int, workers: list[int]):
    """GET /calls/export.csv from that gunicorn, streamed to the end: rows/s, CPU µs a row of
    PostgreSQL and of the gunicorn worker, and a digest of the file (the rows are counted by the
    ORM; the file is checked to hold a line for each, plus the header and the generated names'
    newlines)."""
    browser = run.browsers[server, "viewer"]
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    # This client shares the machine's cores with gunicorn and PostgreSQL, so its checks are
    # the cheap ones (a browser spends nothing of the server's): CRC-32, not SHA-256 (~4x the
    # speed here), and line feeds, not "\r\n" (a one-byte search, ~2x): ~0.4 µs a row, not ~1.
    digest, lines = 0, 0
    # gunicorn's connections, kept between requests (CONN_MAX_AGE); an idle one adds nothing.
    database = backends(ours=False)
    database_cpu, worker_cpu = cpu_seconds(database), cpu_seconds(workers)
    started, client_cpu = time.perf_counter(), time.process_time()
    with browser.client.stream("GET", "/calls/export.csv", params=params, headers={"Cookie": cookie}) as r:
        if r.status_code != 200 or not r.headers["content-type"].startswith("text/csv"):
            raise SystemExit(f"/calls/export.csv {params}: {r.status_code} {r.headers['content-type']}")
        for chunk in r.iter_raw(1 << 20):
            digest = zlib.crc32(chunk, digest)
            lines += chunk.count(b"\n")
    seconds, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
    if lines < rows + 1:
        raise SystemExit(f"/calls/export.csv {params}: {lines:,} lines for {rows:,} rows")
    # A backend that was not there before (a new connection) counts from zero, as it should.
    per_row = (
        (cpu_seconds(backends(ours=False)) - database_cpu) / rows * 1e6,
        (cpu_seconds(workers) - worker_cpu) / rows * 1e6,
        client_cpu / rows * 1e6,
    )
    return rows / seconds, per_row, f"{digest:08x}"


def python_path_rows_per_second(params: dict, rows: int) -> float:
    # The Python path (csv.writer over the rows): the export before COPY, SQLite's way.
    from django.utils import timezone

    from voxdash.calls import export

    started = time.perf_counter()
    for _ in export._python_chunks(exported_calls(params), timezone.get_current_timezone()):
        pass
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python-path", action="store_true", help="also time the Python path (slow)")
    parser.add_argument(
        "--database-url", default=DATABASE_URL, help="dropped and made again (voxdash_bench…)"
    )
    parser.add_argument("--redis-url", default=REDIS_URL, help="flushed before and after")
    parser.add_argument("--before", help="also the export of a gunicorn from this checkout, interleaved")
    args = parser.parse_args()

    # One worker each: its memory is the export's.
    servers = {"web": {"WEB_CONCURRENCY": "1"}}
    if args.before:
        servers["before"] = {"WEB_CONCURRENCY": "1"}
    exports = {"export" if server == "web" else f"export@{server}": server for server in servers}

    deployment = Deployment(
        database_url=args.database_url,
        redis_url=args.redis_url,
        seed=lambda: fill_calls(args.calls, GENERATE_CALLS),
        users=("viewer",),
        servers=servers,
        checkouts={"before": Path(args.before)} if args.before else None,
        env={"TIME_ZONE": "Africa/Lagos"},
        name="csv-export",
    )
    with deployment as run:
        masters = {server: run.stack.processes[f"gunicorn-{server}"].pid for server in servers}
        memory_before = {server: worker_memory_mib(master) for server, master in masters.items()}
        workers = {server: list(memory) for server, memory in memory_before.items()}
        print(
            f"\n{args.calls:,} calls; TIME_ZONE Africa/Lagos; gunicorn worker (peak, now) before: "
            + "; ".join(
                f"{server} {peak:.0f}, {now:.0f} MiB"
                for server, memory in memory_before.items()
                for peak, now in memory.values()
            )
        )
        rows = {case: exported_calls(params).count() for case, params in CASES.items()}
        kinds = ["floor", *exports]
        runs: dict[tuple[str, str], list] = {(case, kind): [] for case in CASES for kind in kinds}
        memory_after: dict[tuple[str, str], float] = {}
        digests: dict[str, set[str]] = {case: set() for case in CASES}
        rng = random.Random(1)
        for _ in range(args.repeat):
            for case, params in CASES.items():
                # Interleaved: the floor and the export(s) in a random order, one after the other.
                for kind in rng.sample(kinds, len(kinds)):
                    if kind == "floor":
                        speed, database_cpu = floor_rows_per_second(params, rows[case])
                        runs[case, kind].append((speed, database_cpu, 0.0, 0.0))
                        continue
                    server = exports[kind]
                    speed, cpu, digest = export_rows_per_second(
                        run, server, params, rows[case], workers[server]
                    )
                    runs[case, kind].append((speed, *cpu))
                    digests[case].add(digest)  # before and after must write the same bytes
                    memory = worker_memory_mib(masters[server]).values()
                    memory_after[case, kind] = max(peak for peak, _ in memory)
        python = {}
        if args.python_path:
            python = {case: python_path_rows_per_second(p, rows[case]) for case, p in CASES.items()}

    def medians(case: str, kind: str) -> tuple[float, ...]:
        return tuple(statistics.median(values) for values in zip(*runs[case, kind], strict=True))

    print(f"\nmedians of {args.repeat}, interleaved; floor: PostgreSQL's COPY of the same rows")
    print(
        f"{'':23} {'rows':>9} {'floor rows/s':>13} {'export rows/s':>14} {'share':>6}"
        f"  {'CPU µs/row: database floor/export, worker, client':>50}  {'peak MiB':>8}  target"
    )
    met = True
    for case in CASES:
        floor, floor_db, _, _ = medians(case, "floor")
        for kind in exports:
            speed, export_db, worker, client = medians(case, kind)
            ok = speed >= TARGET_ROWS_PER_SECOND
            if kind == "export":  # this checkout's: the one judged
                met &= ok
            label = case if kind == "export" else f"{case} ({kind.removeprefix('export@')})"
            print(
                f"{label:23} {rows[case]:>9,} {floor:>13,.0f} {speed:>14,.0f} {speed / floor:>6.0%}"
                f"  {floor_db:>20.2f} / {export_db:.2f}, {worker:.2f}, {client:.2f}{'':12}"
                f"  {memory_after[case, kind]:>8.0f}"
                f"  >= {TARGET_ROWS_PER_SECOND:,}: {'met' if ok else 'NOT met'}"
            )
        if len(digests[case]) != 1:
            raise SystemExit(f"{case}: the export's bytes differed between runs ({digests[case]})")
    for case, speed in python.items():
        print(f"the Python path, in process (a profile), {case}: {speed:,.0f} rows/s")
    for server, memory in memory_before.items():
        kind = next(kind for kind, name in exports.items() if name == server)
        after = max(peak for (_, k), peak in memory_after.items() if k == kind)
        print(
            f"the {server} worker's peak memory: {max(peak for peak, _ in memory.values()):.0f} MiB "
            f"before the first export, {after:.0f} MiB after them all"
        )
    print("target: " + ("met" if met else "NOT met"))


if __name__ == "__main__":
    main()
