"""voxdash's production settings for the tests that run gunicorn, with one change: static files are
served from the source tree (no `collectstatic` into the checkout), which the pages under test
need and nothing in them is about."""

import os

from voxdash.settings import *  # noqa: F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = VAR_DIR / "staticfiles"  # noqa: F405  (exists: no WhiteNoise warning)
os.makedirs(STATIC_ROOT, exist_ok=True)
