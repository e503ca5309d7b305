"""Fill the status copy (0008) for every placed call already linked to a mirrored call, as 0007
filled the key and created_at.

In batches of placed calls by key, each its own short transaction (hence atomic = False), so that
a large placements table stays writable while it runs; run again after a failure, it writes the
same values. Each placed call costs a look-up of its mirrored call by the mirror's primary key; the
mirror is only read. A call whose status an older worker moves while this runs is mended by the
next full sync (mirror.placements.placements_mend) or when its placed call is read.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

BATCH = 5_000


def fill(apps, schema_editor):
    PlacedCall = apps.get_model("placements", "PlacedCall")
    Call = apps.get_model("calls", "Call")
    mirrored = Call.objects.filter(pk=OuterRef("mirrored_call_id")).order_by()
    # Empty where the mirror no longer has the row (emptied and filled again): the mend after the
    # next full sync links those again.
    status = Coalesce(Subquery(mirrored.values("status")[:1]), Value(""))
    linked = PlacedCall.objects.filter(mirrored_call__isnull=False)
    last = 0
    while keys := list(linked.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]):
        PlacedCall.objects.filter(pk__in=keys).update(mirrored_call_status=status)
        last = keys[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("calls", "0006_local_hour_newest"),
        ("placements", "0008_mirrored_call_status"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
