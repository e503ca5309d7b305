"""The folders the embedded defaults write to (VOXDASH_VAR_DIR, ./var by default).

Importing settings creates nothing (a read-only image, a typo in VOXDASH_VAR_DIR, a test that only
reads settings must not litter the disk). Each process that may write there makes the folders as
it starts: `manage.py` (migrate, runserver, the demo's commands), the WSGI application, the worker
and beat (voxdash.celery). The file cache and the budget's file log make theirs when they write.
"""

from pathlib import Path

from django.conf import settings


def runtime_folders() -> list[Path]:
    """The folders this configuration writes to, apart from the cache's."""
    folders = [Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent]
    if settings.CELERY_BROKER_URL == "filesystem://":
        # Any of these processes may be the first to publish or consume; kombu makes only the
        # control folder itself, and not its parents.
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(options[name]) for name in ("data_folder_in", "data_folder_out", "control_folder")]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]) != ":memory:":
        folders.append(Path(database["NAME"]).parent)
    return folders


def runtime_folders_ensure() -> None:
    for folder in runtime_folders():
        folder.mkdir(parents=True, exist_ok=True)
