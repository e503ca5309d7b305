"""What the PostgreSQL benchmarks share: their throwaway database, the timing, the row generator."""

import statistics
import time
from urllib.parse import urlparse


def ensure_database(url: str) -> None:
    """Create the benchmark's own database if it is missing (never a real one: the name is ours)."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def median_ms(fn, repeat: int) -> float:
    fn()  # warm: plans, caches, template loading
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def fill_calls(count: int, generate_sql: str) -> None:
    """Make calls_call hold exactly `count` generated rows (kept between runs when it already does)."""
    from django.db import connection

    from voxdash.calls.models import Call

    if Call.objects.count() == count:
        return
    print(f"generating {count:,} calls…", flush=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE calls_call")
        cursor.execute(generate_sql, [count])
        cursor.execute("VACUUM ANALYZE calls_call")
    print(f"  done in {time.monotonic() - started:.0f} s", flush=True)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark's own database, so every run starts from an empty mirror."""
    import psycopg  # as in ensure_database: only the PostgreSQL benchmarks need the driver

    name = urlparse(url).path.lstrip("/")
    if not name.startswith("voxdash_bench"):
        raise SystemExit(f"refusing to drop {name!r}: a benchmark's database is named voxdash_bench…")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 is p95) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def max_in_window(times: list[float], seconds: float) -> tuple[int, float]:
    """The most events inside any true window of `seconds` ([t, t + seconds)), and where it starts.

    A window holding the most events can always be slid right until it starts at one of them, so
    looking only at windows that start at an event is exact (not a slotted approximation).
    """
    ordered = sorted(times)
    best, start, end = 0, ordered[0] if ordered else 0.0, 0
    for i, first in enumerate(ordered):
        while end < len(ordered) and ordered[end] < first + seconds:
            end += 1
        if end - i > best:
            best, start = end - i, first
    return best, start
