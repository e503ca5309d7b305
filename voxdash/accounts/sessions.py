"""Sessions read from the shared cache, kept in the database (Django's cached_db), cached for at
most SESSION_CACHED_SECONDS.

Every page loads the session; from PostgreSQL that is a query (and a decode) a page, from Redis
one GET. The database stays the truth: every save and delete writes it first, then the cache
(`SESSION_ENGINE = "voxdash.accounts.sessions"`).

Why at most a minute, not the session's whole life as cached_db keeps it: while Redis is
unreachable, FallbackRedisCache would keep each process's copy in its own memory, and a sign-out
in one process would not reach the copy Redis holds from before. So during an outage (known from
the backend's own memory, no round trip) sessions go straight to the database, as they did before
this engine, and the copy in Redis of a session changed meanwhile (a sign-out, a second factor
done) is gone within a minute of when it was cached. With Redis up, a sign-out is seen by every
process at once (the delete reaches the shared copy). The database is asked once a minute per
active session instead of once a page.
"""

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

from voxdash.lib.cache import OUTAGE_ERRORS

SESSION_CACHED_SECONDS = 60


class SessionStore(cached_db.SessionStore):
    def _cache_down(self) -> bool:
        outage = getattr(self._cache, "outage", None)  # FallbackRedisCache's; other caches never are
        return outage is not None and outage() is not None

    def _cached_for(self, expiry=None) -> int:
        return min(self.get_expiry_age(expiry=expiry), SESSION_CACHED_SECONDS)

    def load(self):
        if self._cache_down():
            return DatabaseStore.load(self)
        try:
            data = self._cache.get(self.cache_key)
        except OUTAGE_ERRORS:  # a cache without the fallback (a plain Redis): the database answers
            return DatabaseStore.load(self)
        if data is not None:
            return data
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        self._keep(data, self._cached_for(row.expire_date))
        return data

    def save(self, must_create=False):
        DatabaseStore.save(self, must_create)
        if not self._cache_down():
            self._keep(self._session, self._cached_for())

    def _keep(self, data: dict, seconds: int) -> None:
        try:
            self._cache.set(self.cache_key, data, seconds)
        except OUTAGE_ERRORS:
            pass  # the database has it; the next page reads it from there
