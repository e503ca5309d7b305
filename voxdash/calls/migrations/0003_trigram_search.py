"""Trigram indexes for the mirror's search, on PostgreSQL only.

Django's `icontains` on PostgreSQL is `UPPER(col::text) LIKE UPPER('%term%')`, which no B-tree can
serve; a GIN trigram index on exactly that expression can, so a search of a million calls stays an
index lookup. SQLite has no such index and scans (fine at the demo's size), so the operation does
nothing there. CONCURRENTLY (hence atomic = False) keeps a live table writable while it builds.
Creating the extension needs a role allowed to (the owner of the database on PostgreSQL 13+, as
pg_trgm is a trusted extension).
"""

from django.db import migrations

INDEXES = {
    "call_name_trgm": 'UPPER("customer_name"::text) gin_trgm_ops',
    "call_phone_trgm": 'UPPER("customer_phone"::text) gin_trgm_ops',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "calls_call" USING gin ({expression})'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("calls", "0002_syncstate")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
