"""CampaignRowCount, kept by triggers on campaigns_campaignrow, and filled from the rows there are.

Each insert, update and delete of rows adds its difference to the counts in the same statement,
whichever code writes (raw SQL included), so the counts always equal a direct count. PostgreSQL:
one statement-level trigger per operation over its transition tables (a 100,000-row insert or a
cancel's bulk update is one upsert per state, not one per row), in (campaign, state) order so two
statements lock the count rows in the same order. SQLite (the tests' default database) has only
row-level triggers: one per row.

Decrements are plain UPDATEs, never inserts: when a campaign is deleted, Django may delete its
counts before its rows, and nothing must bring a count back for a campaign that is going away.
"""

import django.db.models.deletion
from django.db import migrations, models

ROWS, COUNTS = "campaigns_campaignrow", "campaigns_campaignrowcount"

POSTGRESQL = f"""
CREATE FUNCTION campaigns_row_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE {COUNTS} AS c SET n = c.n - d.n
        FROM (SELECT campaign_id, state, COUNT(*) AS n FROM old_rows GROUP BY campaign_id, state) AS d
        WHERE c.campaign_id = d.campaign_id AND c.state = d.state;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {COUNTS} (campaign_id, state, n)
        SELECT campaign_id, state, COUNT(*) FROM new_rows
        GROUP BY campaign_id, state ORDER BY campaign_id, state
        ON CONFLICT (campaign_id, state) DO UPDATE SET n = {COUNTS}.n + excluded.n;
        RETURN NULL;
    END IF;
    -- An update: only the states that changed (a lease's new time changes no count, and takes no lock).
    INSERT INTO {COUNTS} (campaign_id, state, n)
    SELECT campaign_id, state, SUM(d) FROM (
        SELECT campaign_id, state, 1 AS d FROM new_rows
        UNION ALL
        SELECT campaign_id, state, -1 AS d FROM old_rows
    ) AS changes
    GROUP BY campaign_id, state HAVING SUM(d) <> 0 ORDER BY campaign_id, state
    ON CONFLICT (campaign_id, state) DO UPDATE SET n = {COUNTS}.n + excluded.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER campaigns_row_counts_insert AFTER INSERT ON {ROWS}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION campaigns_row_counts_keep();
CREATE TRIGGER campaigns_row_counts_update AFTER UPDATE ON {ROWS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION campaigns_row_counts_keep();
CREATE TRIGGER campaigns_row_counts_delete AFTER DELETE ON {ROWS}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION campaigns_row_counts_keep();
"""
POSTGRESQL_DROP = f"""
DROP TRIGGER campaigns_row_counts_insert ON {ROWS};
DROP TRIGGER campaigns_row_counts_update ON {ROWS};
DROP TRIGGER campaigns_row_counts_delete ON {ROWS};
DROP FUNCTION campaigns_row_counts_keep();
"""

_ADD = f"""INSERT INTO {COUNTS} (campaign_id, state, n) VALUES (NEW.campaign_id, NEW.state, 1)
        ON CONFLICT (campaign_id, state) DO UPDATE SET n = n + 1;"""
_SUBTRACT = f"UPDATE {COUNTS} SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND state = OLD.state;"
SQLITE = [
    f"CREATE TRIGGER campaigns_row_counts_insert AFTER INSERT ON {ROWS} BEGIN {_ADD} END",
    f"""CREATE TRIGGER campaigns_row_counts_update AFTER UPDATE OF campaign_id, state ON {ROWS}
    WHEN OLD.state IS NOT NEW.state OR OLD.campaign_id IS NOT NEW.campaign_id
    BEGIN {_SUBTRACT} {_ADD} END""",
    f"CREATE TRIGGER campaigns_row_counts_delete AFTER DELETE ON {ROWS} BEGIN {_SUBTRACT} END",
]
SQLITE_DROP = [f"DROP TRIGGER campaigns_row_counts_{op}" for op in ("insert", "update", "delete")]

# The rows there already are (under the trigger's lock: PostgreSQL's CREATE TRIGGER holds off
# writes to the table until this migration commits).
FILL = f"INSERT INTO {COUNTS} (campaign_id, state, n) SELECT campaign_id, state, COUNT(*) FROM {ROWS} GROUP BY campaign_id, state"


def triggers_create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL)
        elif schema_editor.connection.vendor == "sqlite":
            for statement in SQLITE:
                cursor.execute(statement)
        else:
            raise NotImplementedError(f"row counts have no triggers for {schema_editor.connection.vendor}")
        cursor.execute(FILL)


def triggers_drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_DROP)
        else:
            for statement in SQLITE_DROP:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_row_outcome_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="CampaignRowCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("dialing", "Dialling"),
                            ("in_flight", "In flight"),
                            ("completed", "Completed"),
                            ("no_answer", "No answer"),
                            ("busy", "Busy"),
                            ("failed", "Failed"),
                            ("unknown", "Unknown"),
                            ("invalid", "Skipped: invalid"),
                            ("duplicate", "Skipped: duplicate"),
                            ("do_not_call", "Skipped: do-not-call"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=16,
                    ),
                ),
                ("n", models.BigIntegerField(default=0)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="row_counts",
                        to="campaigns.campaign",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("campaign", "state"), name="campaign_row_count_state")
                ],
            },
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
