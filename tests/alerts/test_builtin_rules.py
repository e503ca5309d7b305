"""voxdash's own rules exist after migrate and after flush (which empties what the migration made)."""

from django.core.management import call_command

from voxdash.alerts.builtin import BUILTIN_RULES
from voxdash.alerts.models import AlertRule
from voxdash.alerts.services import alert_rules_ensure_builtin


def builtin_kinds() -> list[str]:
    return sorted(AlertRule.objects.filter(builtin=True).values_list("kind", flat=True))


def test_the_migration_makes_every_builtin_rule_on(db):
    assert builtin_kinds() == sorted(kind for kind, *_ in BUILTIN_RULES)
    assert AlertRule.objects.filter(builtin=True, enabled=False).count() == 0


def test_flush_leaves_them_there(transactional_db):
    call_command("flush", interactive=False, verbosity=0)
    assert builtin_kinds() == sorted(kind for kind, *_ in BUILTIN_RULES)


def test_ensuring_again_changes_nothing_someone_changed(db):
    AlertRule.objects.filter(kind="failure_rate").update(enabled=False, threshold=50)
    AlertRule.objects.filter(kind="no_calls").delete()
    alert_rules_ensure_builtin()
    rule = AlertRule.objects.get(kind="failure_rate")
    assert (rule.enabled, rule.threshold) == (False, 50)
    assert AlertRule.objects.filter(kind="no_calls", builtin=True).count() == 1
    assert len(builtin_kinds()) == len(BUILTIN_RULES)
