"""Each placed call's row in the mirror (its integer key) and that call's created_at, filled from
listed_call_id for every placed call already linked to a mirrored call.

Two nullable columns: adding them rewrites nothing. The fill runs in batches of placed calls by
key, each its own short transaction (hence atomic = False), so that a large placements table stays
writable while it runs: placing a call waits for one batch at most. Each placed call costs a
look-up of its listed call by the mirror's unique vox_id index; the mirror is only read.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

BATCH = 5_000


def fill(apps, schema_editor):
    PlacedCall = apps.get_model("placements", "PlacedCall")
    Call = apps.get_model("calls", "Call")
    mirrored = Call.objects.filter(vox_id=OuterRef("listed_call_id"))
    linked = PlacedCall.objects.exclude(listed_call_id="").filter(mirrored_call__isnull=True)
    last = 0
    while True:
        keys = list(linked.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not keys:
            return
        PlacedCall.objects.filter(pk__in=keys).update(
            mirrored_call=Subquery(mirrored.values("pk")[:1]),
            mirrored_call_created_at=Subquery(mirrored.values("created_at")[:1]),
        )
        last = keys[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("calls", "0006_local_hour_newest"),
        ("placements", "0006_list_order_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="placedcall",
            name="mirrored_call",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=models.DO_NOTHING,
                related_name="+",
                to="calls.call",
            ),
        ),
        migrations.AddField(
            model_name="placedcall",
            name="mirrored_call_created_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
