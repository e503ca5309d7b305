from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from voxdash.accounts.roles import CALLERS, VIEWERS

# Printed by `make demo`; for the demo database only. Never use these anywhere real.
DEMO_USERS = [
    # username, password, groups, superuser
    ("admin", "voxdash-admin", [], True),
    ("caller", "voxdash-caller", [CALLERS], False),
    ("staff", "voxdash-staff", [VIEWERS], False),
]


class Command(BaseCommand):
    help = "Create (or reset) the demo logins: admin (superuser), caller (Callers) and staff (Viewers)."

    def handle(self, *args, **options):
        for username, password, groups, superuser in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_superuser = user.is_staff = superuser
            user.save()
            user.groups.set(Group.objects.filter(name__in=groups))
            self.stdout.write(f"{username} / {password}")
