"""Each placed call's copy of its mirrored call's status (filled by 0009).

One column with a constant default, in the database too (a worker of the version before it, in a
rolling deploy, inserts placed calls without it): PostgreSQL adds it without rewriting the table.
Its own migration, in one transaction: a fill that fails part-way (0009) can be run again.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("placements", "0007_mirrored_call"),
    ]

    operations = [
        migrations.AddField(
            model_name="placedcall",
            name="mirrored_call_status",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
    ]
