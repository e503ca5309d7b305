"""PostgreSQL stopped and restarted under a running gunicorn: 503 fast while it is down, no 500 after.

A private cluster on a free port (initdb/pg_ctl as the postgres user, in a folder it owns), never
the shared server on 5432. gunicorn runs one sync worker, so every request reuses the connection
it kept (CONN_MAX_AGE) from before the restart.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from vox_simulator.webhooks import signature_header

from .conftest import URL, body_of, call_data, event

pytestmark = pytest.mark.postgres

# The newest PostgreSQL server installed by Debian's packages (the one CI's server runs).
PG_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/nonexistent")
)
ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "whsec_tests_only"
FAST = 10.0  # seconds; generous for a shared machine. A hang would be gunicorn's 30 s timeout.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)


class Cluster:
    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.data = folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{port}/voxdash"

    def start(self) -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        # fast: the server ends every session, as a crash or a failover would for the clients.
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture(scope="module")
def cluster():
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's initdb (Debian's postgresql package) and runuser")
    folder = Path(tempfile.mkdtemp(prefix="voxdash-pg-"))
    shutil.chown(folder, "postgres")  # initdb refuses to run as root, so the postgres user owns it
    pg = Cluster(folder, _free_port())
    _as_postgres(
        str(PG_BIN / "initdb"), "-D", str(pg.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
    )
    pg.start()
    try:
        _as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "voxdash")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            check=True,
            timeout=120,
            env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": pg.url},
        )
        yield pg
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(pg.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def web(cluster, tmp_path_factory):
    """gunicorn with one sync worker on the private cluster; its base URL."""
    port = _free_port()
    var = tmp_path_factory.mktemp("var")
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": cluster.url,
        "VOXDASH_VAR_DIR": str(var),
        "VOX_API_BASE_URL": "http://127.0.0.1:9",  # never used by these requests; never off the machine
    }
    log = open(var / "gunicorn.log", "wb")  # noqa: SIM115 (closed below, after the process)
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "voxdash.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "30",
            "--config",
            os.devnull,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"gunicorn did not start:\n{(var / 'gunicorn.log').read_text()[-3000:]}")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def _deliver(base: str) -> tuple[httpx.Response, float]:
    payload = event("vox.call.started", call_data())
    body = body_of(payload)
    started = time.monotonic()
    response = httpx.post(
        f"{base}{URL}",
        content=body,
        timeout=60,
        headers={
            "Content-Type": "application/json",
            "Cloove-Webhook-Id": payload["id"],
            "Cloove-Signature": signature_header(SECRET, body, int(time.time())),
        },
    )
    return response, time.monotonic() - started


def _sign_in_attempt(base: str) -> httpx.Response:
    """A page that reads the database unguarded: a failed sign-in (the user table)."""
    with httpx.Client(base_url=base, timeout=60) as browser:
        form = browser.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        # The cookie is Secure (production settings), so httpx keeps it off plain HTTP: send it.
        return browser.post(
            "/accounts/login/",
            data={"username": "nobody", "password": "wrong", "csrfmiddlewaretoken": token},
            headers={"Cookie": f"csrftoken={form.cookies['csrftoken']}"},
        )


def test_database_restart_and_outage_never_give_a_500(cluster, web):
    response, _ = _deliver(web)
    assert response.status_code == 200
    assert _sign_in_attempt(web).status_code == 200

    # Restarted with no request in between: the worker still holds its connection from before.
    cluster.stop()
    cluster.start()
    assert _sign_in_attempt(web).status_code == 200
    assert _deliver(web)[0].status_code == 200

    cluster.stop()
    for _ in range(2):
        response, took = _deliver(web)
        assert response.status_code == 503, response.text[:300]
        assert response.headers["Retry-After"].isdigit() and took < FAST
        assert "retry later" in response.json()["error"]

    cluster.start()
    assert _deliver(web)[0].status_code == 200
    assert _sign_in_attempt(web).status_code == 200


def test_the_four_hostile_bodies_over_http_on_postgresql(cluster, web):
    # As the outside test sent them (curl --data-binary), to gunicorn on PostgreSQL.
    def post(body: bytes, signed: bool) -> int:
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["Cloove-Signature"] = signature_header(SECRET, body, int(time.time()))
        return httpx.post(f"{web}{URL}", content=body, headers=headers, timeout=60).status_code

    overflow = event("vox.call.started", call_data()) | {"created": "9999-12-31T23:59:59-14:00"}
    nul = event("vox.call.started", call_data(reason="a\u0000b"))
    assert post(b'{"id":"x\x00"}', signed=False) == 400
    assert post(body_of(overflow), signed=True) == 200
    assert post(body_of(nul), signed=True) == 200
    assert post(b"[" * 200_000, signed=True) == 400
