from django.db import migrations

# A copy of voxdash.alerts.builtin.BUILTIN_RULES as of this migration (kind, name, threshold,
# window, cooldown): migrations must not change when the code does.
RULES = [
    ("failure_rate", "Failed calls", 30, 60, 60),
    ("no_answer_rate", "Calls not answered", 60, 60, 60),
    ("no_calls", "No calls in business hours", 0, 240, 240),
    ("vox_unreachable", "Vox unreachable", 0, 5, 60),
    ("key_refused", "API key refused", 0, 1, 60),
    ("sync_stale", "Mirror sync stale or failing", 0, 15, 60),
    ("webhooks_refused", "Webhooks refused", 10, 60, 60),
    ("webhooks_silent", "No webhooks while calls are placed", 0, 60, 120),
    ("outcomes_missing", "Placed calls without an outcome", 1, 30, 60),
    ("campaign_breaker", "Campaign paused itself", 0, 0, 60),
    ("campaign_finished", "Campaign finished", 0, 60, 0),
    ("budget_exhausted", "Request budget exhausted", 0, 5, 60),
]


def create(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for kind, name, threshold, window, cooldown in RULES:
        AlertRule.objects.get_or_create(
            kind=kind,
            builtin=True,
            defaults={
                "name": name,
                "threshold": threshold,
                "window_minutes": window,
                "cooldown_minutes": cooldown,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
