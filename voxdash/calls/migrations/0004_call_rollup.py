"""The stats rollup (issue 15): calls counted by UTC hour and quarter-hour, status and direction,
and by duration over quarter-hours, hours and days (see voxdash.mirror.rollup), filled from the mirror's calls."""

from django.db import migrations, models

from voxdash.mirror.rollup import rollup_rebuild


def count_the_mirror(apps, schema_editor):
    # An existing mirror's calls counted in, so /stats/ is right from the first request after the
    # upgrade (a minute or two per million calls; an empty mirror costs two queries). The same
    # function as `manage.py stats_rollup_rebuild`, given the historical models.
    rollup_rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("calls", "0003_trigram_search")]

    operations = [
        migrations.CreateModel(
            name="CallRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "span",
                    models.PositiveSmallIntegerField(help_text="The span's length in minutes: 15 or 60"),
                ),
                ("start", models.DateTimeField(help_text="Start of the UTC span, a multiple of its length")),
                ("status", models.CharField(max_length=32)),
                ("direction", models.CharField(max_length=16)),
                ("calls", models.IntegerField(default=0)),
                ("answered", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("span", "start", "status", "direction"), name="call_rollup_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CallDurationRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "span",
                    models.PositiveSmallIntegerField(
                        help_text="The span's length in minutes: 15, 60 or 1440"
                    ),
                ),
                ("start", models.DateTimeField(help_text="Start of the UTC span, a multiple of its length")),
                ("duration_seconds", models.PositiveIntegerField()),
                ("calls", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("span", "start", "duration_seconds"), name="call_duration_rollup_key"
                    )
                ],
            },
        ),
        migrations.RunPython(count_the_mirror, migrations.RunPython.noop, elidable=True),
    ]
