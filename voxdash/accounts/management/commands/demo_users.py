from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from voxdash.accounts.roles import role_group

# Printed by `make demo`; for the demo database only. Never use these anywhere real.
DEMO_USERS = [
    # username, password, role (None: no group), superuser
    ("admin", "voxdash-admin", None, True),
    ("caller", "voxdash-caller", "caller", False),
    ("staff", "voxdash-staff", "viewer", False),
]


class Command(BaseCommand):
    help = "Create (or reset) the demo logins: admin (superuser), caller (Callers) and staff (Viewers)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (the passwords are in the README: never on a real database).",
        )

    def handle(self, *args, force: bool = False, **options):
        # The passwords are public: on a production database this would hand anyone a superuser.
        if not (settings.DEBUG or force):
            raise CommandError(
                "demo_users creates a superuser 'admin' with the password printed in the README; it runs "
                "only with DJANGO_DEBUG=1 (the demo) or --force."
            )
        for username, password, role, superuser in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_superuser = user.is_staff = superuser
            user.save()
            user.groups.set([role_group(role)] if role else [])
            self.stdout.write(f"{username} / {password}")
