"""Django's PostgreSQL backend, with a health check that sends nothing to the server.

With CONN_HEALTH_CHECKS (settings), Django checks a kept connection before a request reuses it,
and its PostgreSQL backend does so by sending `SELECT 1`: a round trip on every page and API call,
~0.1 ms of a page's budget (issue 15). This check asks the connection's socket instead. A
connection the server has ended (a restart, a failover, `pg_terminate_backend`, an idle-session
timeout) has the server's last message or the end of the stream waiting to be read; an idle one
that is fine has nothing, since voxdash never LISTENs, so the server sends nothing unasked. A
connection whose host vanished without a word passes either check, and its first query then
fails as `SELECT 1` would have.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone already
            return False
        # Anything to read between requests is the server saying goodbye: not usable.
        return not readable
