"""Placeholder for the stats rollup (issue 15): filled in by the rollup's work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("calls", "0003_trigram_search")]

    operations = []
