"""The hour-of-day filter's index, newest first, PostgreSQL only: replaces 0005's call_local_hour.

0005's index held only the local hour, so it served the count but not the page: an hour matches
1 call in 24, and the page's rows (newest first) came from walking the newest-first index through
every other hour back to the last one that matched, up to a day of calls (10–25 ms at 1,000,000
calls, depending on the time of day). With the page's order after the hour, one range of this
index is both the page (the first rows of it) and the capped count (an index-only scan): 0.1 and
2–3 ms (benchmarks/mirror_history.py --profile). It costs no more to write than the one it
replaces.

The hour is, as in 0005, exactly the expression Django writes for `created_at__hour` in TIME_ZONE
as it is when this migration runs (a viewer in another zone gets other SQL, which no index serves:
the same answer, slower; should TIME_ZONE change, re-create the index). The order is the history's
own (Call.Meta.ordering: created_at, then id, both descending). SQLite (the demo) scans, which is
fine at its size. CONCURRENTLY (hence atomic = False) keeps a live table writable while it builds.
"""

from django.conf import settings
from django.db import migrations


def _local_hour() -> str:
    # The zone is a literal in the index, as in Django's query; a name with a quote is no zone.
    zone = settings.TIME_ZONE.replace("'", "")
    return f"(EXTRACT(HOUR FROM \"created_at\" AT TIME ZONE '{zone}'))"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "call_local_hour_newest" ON "calls_call" '
        f'({_local_hour()}, "created_at" DESC, "id" DESC)'
    )
    schema_editor.execute('DROP INDEX CONCURRENTLY IF EXISTS "call_local_hour"')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "call_local_hour" ON "calls_call" ({_local_hour()})'
    )
    schema_editor.execute('DROP INDEX CONCURRENTLY IF EXISTS "call_local_hour_newest"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("calls", "0005_mirror_filter_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
