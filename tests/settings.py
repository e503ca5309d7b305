"""Test settings: the project's settings with the values a test run needs and nothing else."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("VOX_API_KEY", "clv_test_sk_set_by_the_simulator_fixture_")
os.environ.setdefault("VOX_WEBHOOK_SECRET", "whsec_tests_only")
# Production defaults redirect plain HTTP to HTTPS; the test client and live server speak HTTP.
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
# Each test run gets its own runtime folder (cache, embedded broker), never the demo's.
os.environ.setdefault("VOXDASH_VAR_DIR", tempfile.mkdtemp(prefix="voxdash-tests-"))
worker = os.environ.get("PYTEST_XDIST_WORKER")
if worker and os.environ.get("VOXDASH_TESTS_WORKER") != worker:
    # pytest-xdist's workers inherit the folder of the run that started them: each gets its own
    # within it (its test database, the campaigns' dispatch lock, beat's schedule), as two runs have.
    # Marked, so that the processes a test starts keep the folder they are given.
    os.environ["VOXDASH_VAR_DIR"] = os.path.join(os.environ["VOXDASH_VAR_DIR"], worker)
    os.environ["VOXDASH_TESTS_WORKER"] = worker
    os.makedirs(os.environ["VOXDASH_VAR_DIR"], exist_ok=True)

from voxdash.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STATIC_ROOT = os.path.join(os.environ["VOXDASH_VAR_DIR"], "staticfiles")  # exists: no WhiteNoise warning
os.makedirs(STATIC_ROOT, exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not pytest-django's default in-memory database, so that a real Celery worker
    # process (tests/fixtures/celery_worker.py) sees what the tests commit.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["VOXDASH_VAR_DIR"], "test.sqlite3")}  # noqa: F405
# One-off calls outside the business hours ask for a confirmation; a test run must not depend on
# the hour it runs at. Tests of the calling hours set their own (tests/placements/test_guard.py).
VOXDASH_BUSINESS_HOURS = "always"
