from django.db import migrations

# Frozen here rather than imported from voxdash.accounts.roles: a migration must keep doing what it
# did when it was written.
GROUP = "Callers"
APP_LABEL, MODEL, CODENAME = "placements", "placedcall", "place_call"
NAME = "Can place a call through voxdash"


def grant_place_call(apps, schema_editor):
    """Callers may place calls because the group holds `placements.place_call`, not because of its
    name. Django creates permissions only after every migration has run, so on a fresh database the
    permission (and its content type) is made here."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label=APP_LABEL, model=MODEL)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    Group.objects.get_or_create(name=GROUP)[0].permissions.add(permission)


def revoke_place_call(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permission = Permission.objects.filter(content_type__app_label=APP_LABEL, codename=CODENAME).first()
    group = Group.objects.filter(name=GROUP).first()
    if permission and group:
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_profile"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("placements", "0003_place_call_permission"),
    ]
    operations = [migrations.RunPython(grant_place_call, revoke_place_call)]
