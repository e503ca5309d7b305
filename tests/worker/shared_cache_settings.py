"""tests.settings, but with the cache shared by every process, as production has it (Redis).

For worker tests whose processes must see one another's sync lock and marks: tests.settings gives
each process its own memory cache. `VOXDASH_TEST_CACHE_URL` names the test's own Redis.
"""

import os

from tests.settings import *  # noqa: F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["VOXDASH_TEST_CACHE_URL"],
    }
}
