"""Reading and validating an uploaded list: `campaign_create` on CSV files of 10,000 and 100,000 rows.

Builds each file once (an Excel-style export: BOM, semicolons, CRLF; realistic columns; national
numbers with spaces, ~2% invalid, ~1% repeated, ~0.5% on the do-not-call list, a blank row now
and then), then, for each size in a fresh process (so that one size's memory does not hide the
next's), times `campaign_create` on it as the view calls it (a Django UploadedFile, kept in a
temporary file past 2.5 MB) and measures memory: the growth of the process's peak RSS over its
size before the call, and, in a second run under tracemalloc, Python's peak allocation.
Targets: 100,000 rows under 10 s; memory flat from 10,000 to 100,000 rows.

    .venv/bin/python benchmarks/campaign_file.py [--sizes 10000,100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/voxdash_bench_files .venv/bin/python benchmarks/campaign_file.py

Without DATABASE_URL it runs on a SQLite file in a temporary folder; with it, on that PostgreSQL
database (created if missing; each run deletes the campaigns it made).
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("VOXDASH_VAR_DIR", tempfile.mkdtemp(prefix="voxdash-bench-files-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

NAMES = ["Adaeze Okonkwo", "Fúnmiláyọ̀ Adébáyọ̀", "Zoë Müller", "José Álvarez", "Ngozi Ọkafọ̀r", "Emeka Eze"]
TEMPLATE = "Remind {customer_name} that invoice {invoice} for NGN {amount} is due on {due_date}."


def dnc_phone(i: int) -> str:
    return f"+2348039{i:06d}"  # never one of the list's own numbers (0803 0…)


def build(path: Path, rows: int) -> None:
    """An Excel "CSV UTF-8" export of `rows` customers."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(["customer_phone", "customer_name", "invoice", "amount", "due_date", "note"])
        for i in range(rows):
            if i % 50 == 7:
                phone = "0803 12"  # too short: invalid
            elif i % 100 == 11:
                phone = f"0803 {i - 1:07d}"  # the row before's number: a duplicate
            elif i % 200 == 13:
                phone = "0" + dnc_phone(i)[4:]  # national form of a number on the do-not-call list
            else:
                phone = f"0803 {i:07d}"
            note = "Prefers a call after 5 pm; said “please, no weekends”" if i % 10 == 0 else ""
            writer.writerow(
                [
                    phone,
                    NAMES[i % len(NAMES)],
                    f"INV-2026-{i:06d}",
                    f"{1000 + i % 90000:,}",
                    "2026-12-15",
                    note,
                ]
            )
            if i % 500 == 499:
                writer.writerow([])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def measure(path: Path) -> dict:
    """In this (fresh) process: one timed run, then one under tracemalloc."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import TemporaryUploadedFile
    from django.db import connection

    from voxdash.campaigns.drafts import campaign_create, campaign_preview
    from voxdash.campaigns.models import Campaign

    user = User.objects.get(username="bench")
    fields = {
        "name": path.name,
        "business_voice_number_id": "num_1",
        "ai_agent_id": "agt_1",
        "purpose": "payment_reminder",
        "context_template": TEMPLATE,
        "max_attempts": 2,
        "retry_after_minutes": 60,
        "window_start": clock(9),
        "window_end": clock(17),
        "window_days": "mon,tue,wed,thu,fri",
        "time_zone": "Africa/Lagos",
        "max_in_flight": 5,
    }

    def run():
        upload = TemporaryUploadedFile(path.name, "text/csv", path.stat().st_size, None)
        with path.open("rb") as source:
            while chunk := source.read(64 * 1024):
                upload.write(chunk)
        upload.seek(0)
        try:
            return campaign_create(user=user, fields=fields, upload=upload, filename=path.name)
        finally:
            upload.close()

    connection.ensure_connection()
    User.objects.count()  # warm: the connection, the first query's imports
    before = current_rss_mib()
    started, cpu_started = time.perf_counter(), time.process_time()
    campaign = run()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    rss_growth = peak_rss_mib() - before
    preview = campaign_preview(campaign=campaign)

    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    Campaign.objects.filter(name=path.name).delete()
    return {
        "rows": preview.rows_read,
        "valid": preview.valid,
        "invalid": preview.invalid,
        "duplicates": preview.duplicates,
        "do_not_call": preview.do_not_call,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_growth_mib": rss_growth,
        "traced_peak_mib": traced_peak / (1024 * 1024),
    }


def prepare(sizes: list[int], folder: Path) -> list[Path]:
    import django

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        from common import ensure_database

        ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from voxdash.directory.models import DoNotCallEntry

    call_command("migrate", verbosity=0)
    User.objects.filter(username="bench").exists() or User.objects.create_user(
        "bench", password="bench-pw-123"
    )
    # The whole list's do-not-call numbers, and as many others again: the subquery has work to do.
    wanted = [dnc_phone(i) for i in range(max(sizes)) if i % 200 == 13] + [
        f"+2348059{i:06d}" for i in range(1000)
    ]
    DoNotCallEntry.objects.bulk_create([DoNotCallEntry(phone=p) for p in wanted], ignore_conflicts=True)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})", flush=True)
    paths = []
    for size in sizes:
        path = folder / f"customers-{size}.csv"
        build(path, size)
        print(f"  {path.name}: {path.stat().st_size / 1024 / 1024:.1f} MB", flush=True)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child: measure this file, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="voxdash-bench-files-") as folder:
        paths = prepare(sizes, Path(folder))
        print(
            "\n   rows    valid invalid  dup.  dnc  seconds  (CPU)  rows/s   peak RSS growth  tracemalloc peak"
        )
        for path in paths:
            child = subprocess.run(
                [sys.executable, __file__, "--one", str(path)], capture_output=True, text=True, check=False
            )
            if child.returncode:
                sys.exit(child.stderr)
            r = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"{r['rows']:>7,} {r['valid']:>8,} {r['invalid']:>7,} {r['duplicates']:>5,} {r['do_not_call']:>4,}"
                f" {r['seconds']:>8.2f} {r['cpu_seconds']:>6.2f} {r['rows'] / r['seconds']:>7,.0f}"
                f" {r['rss_growth_mib']:>13.1f} MiB"
                f" {r['traced_peak_mib']:>12.1f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
