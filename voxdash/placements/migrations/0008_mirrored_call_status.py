"""Each placed call's copy of its mirrored call's status, filled for every placed call already
linked to a mirrored call, as 0007 filled the key and created_at.

One column with a constant default, in the database too (a worker of the version before it, in a
rolling deploy, inserts placed calls without it): PostgreSQL adds it without rewriting the table. The fill runs
in batches of placed calls by key, each its own short transaction (hence atomic = False), so that
a large placements table stays writable while it runs. Each placed call costs a look-up of its
mirrored call by the mirror's primary key; the mirror is only read.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

BATCH = 5_000


def fill(apps, schema_editor):
    PlacedCall = apps.get_model("placements", "PlacedCall")
    Call = apps.get_model("calls", "Call")
    mirrored = Call.objects.filter(pk=OuterRef("mirrored_call_id"))
    linked = PlacedCall.objects.filter(mirrored_call__isnull=False)
    last = 0
    while True:
        keys = list(linked.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not keys:
            return
        # Empty where the mirror no longer has the row (emptied and filled again): the mend after
        # the next full sync links those again.
        status = Coalesce(Subquery(mirrored.values("status")[:1]), Value(""))
        PlacedCall.objects.filter(pk__in=keys).update(mirrored_call_status=status)
        last = keys[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("placements", "0007_mirrored_call"),
    ]

    operations = [
        migrations.AddField(
            model_name="placedcall",
            name="mirrored_call_status",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
