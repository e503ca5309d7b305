"""A Redis of the test's own, on a free port, that the test may kill and start again.

Never the system's 127.0.0.1:6379: killing that would break every other test run on the machine.
No persistence (`--save ""`), so a restart comes back empty, as a crashed Redis without a dump would.
"""

import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

REDIS_SERVER = Path("/usr/bin/redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:  # still binding its port
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL, the out-of-memory or crashed case: no goodbye to clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def client(self):
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)


@pytest.fixture
def redis_server():
    if not REDIS_SERVER.exists():
        pytest.skip(f"{REDIS_SERVER} is not installed")
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
