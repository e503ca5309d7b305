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
