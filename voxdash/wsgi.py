import os

from django.core.wsgi import get_wsgi_application

from voxdash.runtime import runtime_folders_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxdash.settings")
application = get_wsgi_application()
runtime_folders_ensure()  # importing settings creates no folder; the embedded broker and SQLite need theirs
