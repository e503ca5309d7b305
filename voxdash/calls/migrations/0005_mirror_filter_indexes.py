"""Indexes for the mirror-only filters the history's count could not stop early on, PostgreSQL only.

The page counts at most 10,001 matches (mirror_query.MIRROR_COUNT_CAP). Direction, status, dates
and the newest-first order already have B-trees (Call.Meta.indexes), and a common value reaches
the cap within a few thousand rows of any scan. Two filters did not: a duration range and the hour
of day match few rows spread over the whole table, so counting them scanned most of a million rows
(~100–250 ms at 1,000,000 calls; with these indexes, 3–15 ms; benchmarks/mirror_history.py):
  - call_duration: duration_seconds, for "between 60 and 120 s" and the rare long calls.
  - call_local_hour: the hour of created_at in TIME_ZONE as it is when this migration runs,
    exactly the expression Django writes for `created_at__hour` in that zone. A viewer whose own
    zone differs (a preference) gets other SQL, which this index cannot serve: the same answer,
    as slowly as before. Should TIME_ZONE change, re-create it (it is only a saving).
Each costs the sync's and the webhooks' writes one more small B-tree entry per call (measured
with benchmarks/sync_calls.py). SQLite (the demo) scans, which is fine at its size.
CONCURRENTLY (hence atomic = False) keeps a live table writable while they build.
"""

from django.conf import settings
from django.db import migrations


def _indexes() -> dict[str, str]:
    # The zone is a literal in the index, as in Django's query; a name with a quote is no zone.
    zone = settings.TIME_ZONE.replace("'", "")
    return {
        "call_duration": '("duration_seconds")',
        "call_local_hour": f"((EXTRACT(HOUR FROM \"created_at\" AT TIME ZONE '{zone}')))",
    }


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in _indexes().items():
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "calls_call" {expression}'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in _indexes():
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("calls", "0004_call_rollup")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
