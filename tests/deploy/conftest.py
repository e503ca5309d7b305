"""The production install, run as an operator runs it, once for the tests/deploy package.

`deploy_stack`: deploy/voxdash on a copy of the app holding exactly the files the image gets
(deploy/Dockerfile.dockerignore), `install` into a fresh virtualenv (the runtime lock only),
`migrate` against a PostgreSQL database of its own, then `web`, `worker` and `beat` through the
script with production settings, on a Redis server of its own, with the simulator as Vox.
`proxy`: Debian's nginx with deploy/nginx.conf in front of that gunicorn, over TLS with a
certificate made here. test_install_script.py and test_nginx.py share both (package scope: started
once, stopped when the last test of tests/deploy is done).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.redis_server import REDIS_SERVER, RedisServer, free_port
from vox_simulator import Simulator, keys

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
NGINX = Path("/usr/sbin/nginx")
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/voxdash").rsplit("/", 1)[0]
PREFIX = "/voxdash"
WEBHOOK_SECRET = "whsec_deploy_test_" + "s" * 24
PASSWORDS = {"cal": "pw-cal-deploy-123", "admin": "pw-admin-deploy-123"}
# What the processes get from this machine's environment; everything else is set here, as an
# operator's env file would (nothing of the test run's own DJANGO_SETTINGS_MODULE or PYTHONPATH).
PASSED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "http_proxy", "https_proxy", "no_proxy")

USERS = f"""
from django.contrib.auth.models import Group, User
caller = User.objects.create_user("cal", password={PASSWORDS["cal"]!r})
caller.groups.add(Group.objects.get(name="Callers"))
User.objects.create_superuser("admin", password={PASSWORDS["admin"]!r})
"""


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    """(re-included?, pattern) for each line of deploy/Dockerfile.dockerignore, in order, read
    as Docker reads them: paths from the build context's root, `*` within a folder, `**` across
    folders, `!` re-including."""
    rules = []
    for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated, line = line.startswith("!"), line.lstrip("!")
        parts = re.split(r"(\*\*/|\*|\?)", line.strip("/"))
        regex = "".join(
            {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part)) for part in parts
        )
        rules.append((negated, re.compile(regex)))
    return rules


def image_ignores(relative: str, rules) -> bool:
    """Whether the image leaves this path out: the last rule matching it or a folder above it wins."""
    ignored = False
    parts = relative.split("/")
    for negated, pattern in rules:
        if any(pattern.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def copy_app(target: Path) -> None:
    """The working tree as `COPY . .` puts it into the image."""
    rules = dockerignore_rules()

    def ignore(folder: str, names: list[str]) -> list[str]:
        relative = Path(folder).relative_to(ROOT)
        return [n for n in names if image_ignores((relative / n).as_posix().removeprefix("./"), rules)]

    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)


@dataclass
class Stack:
    app: Path
    env: dict[str, str]
    database_url: str
    simulator: Simulator
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # What `install` and `migrate` printed.
    outputs: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        """gunicorn itself, over plain HTTP (what only the proxy should reach)."""
        return f"http://127.0.0.1:{self.env['PORT']}"

    @property
    def venv(self) -> Path:
        return Path(self.env["VOXDASH_VENV"])

    def script(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """deploy/voxdash ARGS, run to its end; fails the test with its output if it fails."""
        result = subprocess.run(
            [str(self.app / "deploy" / "voxdash"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"deploy/voxdash {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            [str(self.app / "deploy" / "voxdash"), name, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def all_logs(self, tail: int | None = 3000) -> str:
        """Every process's log, each cut to its last `tail` characters (None: all of it)."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-tail if tail else 0 :]}"
            for p in self.logs.glob("*.log")
        )

    def query(self, sql: str, *params) -> list[tuple]:
        """The production database, read directly (what the processes wrote)."""
        with psycopg.connect(self.database_url, connect_timeout=5) as connection:
            return connection.execute(sql, params).fetchall()

    def wait_for(self, what: str, check, timeout: float = 60) -> None:
        until = time.monotonic() + timeout
        while not check():
            for name, process in self.processes.items():
                assert process.poll() is None, f"{name} exited ({process.returncode}):\n{self.all_logs()}"
            assert time.monotonic() < until, f"{what}: not within {timeout} s\n{self.all_logs()}"
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def production_environment(**values: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED if name in os.environ}
    # pip's own settings of this machine (its index, its wheel folder).
    env |= {name: value for name, value in os.environ.items() if name.startswith("PIP_")}
    env.update(
        # The interpreter this test runs on (sys.base_prefix: not its virtualenv); without PYTHON
        # the script asks scripts/find-python, as `make` does.
        PYTHON=str(Path(sys.base_prefix) / "bin" / "python3"),
        # No bytecode: it only speeds up the processes' start, and compiling every installed file
        # is most of pip's time. (pip reads its --no-* flags' variables the other way round: 0.)
        PIP_NO_COMPILE="0",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_SECURE_SSL_REDIRECT="1",
        VOXDASH_URL_PREFIX=PREFIX,
        VOXDASH_SSO_HEADER="X-Remote-User",
        VOXDASH_SSO_TRUSTED_PROXIES="127.0.0.1",
        VOX_API_KEY=keys.DEMO_KEY,
        VOX_WEBHOOK_SECRET=WEBHOOK_SECRET,
        # Placing or uploading outside business hours asks first: not what these tests are about.
        VOXDASH_BUSINESS_HOURS="always",
        # beat's incremental sync every 2 s instead of every minute: the mirror fills while we look.
        VOX_SYNC_CALLS_EVERY="2",
        # One gunicorn worker: the tests ask one thing at a time, and the machine has two cores.
        WEB_CONCURRENCY="1",
        **values,
    )
    return env


def _require(condition: bool, reason: str) -> None:
    if not condition:
        pytest.skip(reason)  # CI (VOXDASH_NO_SKIP=1) makes this a failure


def _postgres_reachable() -> bool:
    try:
        psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="package")
def deploy_stack(tmp_path_factory) -> Iterator[Stack]:
    _require(REDIS_SERVER.exists(), f"{REDIS_SERVER} is missing (apt-get install redis-server)")
    _require(_postgres_reachable(), f"PostgreSQL is not reachable at {POSTGRES}")
    base = tmp_path_factory.mktemp("deploy")
    app, logs = base / "app", base / "logs"
    logs.mkdir()
    copy_app(app)
    database = f"voxdash_deploy_{secrets.token_hex(4)}"
    database_url = f"{POSTGRES}/{database}"
    with ExitStack() as cleanup:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        cleanup.callback(_database_drop, database)
        redis_server = RedisServer(base)
        cleanup.callback(redis_server.kill)
        redis_server.start()
        simulator = Simulator(port=0, seed=1, calls=300, lifecycle_step_seconds=None, rate_limit=None)
        cleanup.callback(simulator.stop)
        simulator.start()
        stack = Stack(
            app=app,
            env=production_environment(
                VOXDASH_VENV=str(base / "venv"),
                VOXDASH_VAR_DIR=str(base / "var"),
                DATABASE_URL=database_url,
                CELERY_BROKER_URL=redis_server.url,
                VOX_API_BASE_URL=simulator.base_url,
                PORT=str(free_port()),
            ),
            database_url=database_url,
            simulator=simulator,
            logs=logs,
        )
        cleanup.callback(stack.stop)
        stack.outputs["install"] = stack.script("install", timeout=600)
        stack.outputs["migrate"] = stack.script("migrate")
        stack.start("web")
        stack.start("worker", "--concurrency", "1")
        stack.start("beat")
        stack.script("manage", "shell", "-c", USERS)  # while they start
        stack.wait_for("gunicorn answering", lambda: _answers(f"{stack.web_url}{PREFIX}/healthz"))
        yield stack


def _database_drop(database: str) -> None:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _answers(url: str, **kwargs) -> bool:
    try:
        return httpx.get(url, timeout=5, **kwargs).status_code == 200
    except httpx.HTTPError:
        return False


# --- nginx


@dataclass
class Proxy:
    https_port: int
    http_port: int
    certificate: Path
    prefix_dir: Path
    process: subprocess.Popen

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    def client(self, **kwargs) -> httpx.Client:
        """A browser-like client: HTTPS verified against the test's certificate, cookies kept."""
        tls = ssl.create_default_context(cafile=str(self.certificate))
        return httpx.Client(base_url=self.origin, verify=tls, timeout=60, **kwargs)

    def error_log(self) -> str:
        return (self.prefix_dir / "error.log").read_text(errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


SITE_MARK = re.compile(r"^(?P<indent>\s*)(?P<statement>[^#]*?;)(?P<comment>\s*# SITE.*)$")


def site_copy(text: str, values: dict[str, str]) -> str:
    """deploy/nginx.conf with each line marked `# SITE` replaced by its value here, every other
    byte unchanged. A marked line this test does not know fails: the test must learn it."""
    used, lines = set(), []
    for line in text.splitlines(keepends=True):
        marked = SITE_MARK.match(line.rstrip("\n"))
        if marked:
            statement = marked["statement"]
            assert statement in values, (
                f"deploy/nginx.conf has a SITE value the test does not set: {statement}"
            )
            used.add(statement)
            line = f"{marked['indent']}{values[statement]}{marked['comment']}\n"
        lines.append(line)
    assert used == set(values), f"no such SITE line in deploy/nginx.conf: {set(values) - used}"
    return "".join(lines)


def certificate_make(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def nginx_start(folder: Path, *, upstream: str, static_root: Path) -> Proxy:
    """Debian's nginx, as an unprivileged site would run it here: our site file inside a minimal
    main configuration (its logs, pid and temporary files in `folder`), on free ports."""
    _require(NGINX.exists(), f"{NGINX} is missing (scripts/ensure-nginx installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = certificate_make(folder)
    https_port, http_port = free_port(), free_port()
    site = site_copy(
        (DEPLOY / "nginx.conf").read_text(),
        {
            "server 127.0.0.1:8000;": f"server {upstream};",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "server_name intranet.example;": "server_name localhost;",
            "ssl_certificate /etc/ssl/voxdash/fullchain.pem;": f"ssl_certificate {certificate};",
            "ssl_certificate_key /etc/ssl/voxdash/privkey.pem;": f"ssl_certificate_key {key};",
            "alias /srv/voxdash/staticfiles/;": f"alias {static_root}/;",
        },
    )
    (folder / "voxdash.conf").write_text(site)
    temporary = {
        name: folder / "temp" / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    }
    for path in temporary.values():
        path.mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would otherwise become "nobody", who cannot enter pytest's folders.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
        f"{user}events {{ worker_connections 128; }}\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {folder / 'access.log'};\n"
        + "".join(f"    {name}_temp_path {path};\n" for name, path in temporary.items())
        + f"    include {folder / 'voxdash.conf'};\n"
        "}\n"
    )
    process = subprocess.Popen(
        [str(NGINX), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "stderr.log").open("w"),
    )
    proxy = Proxy(https_port, http_port, certificate, folder, process)
    until = time.monotonic() + 20
    while not _listening(https_port) or not _listening(http_port):
        assert process.poll() is None, (
            f"nginx exited:\n{(folder / 'stderr.log').read_text()}\n{proxy.error_log()}"
        )
        assert time.monotonic() < until, f"nginx did not listen:\n{proxy.error_log()}"
        time.sleep(0.05)
    return proxy


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="package")
def proxy(deploy_stack, tmp_path_factory) -> Iterator[Proxy]:
    running = nginx_start(
        tmp_path_factory.mktemp("nginx"),
        upstream=f"127.0.0.1:{deploy_stack.env['PORT']}",
        static_root=deploy_stack.app / "staticfiles",
    )
    yield running
    running.stop()
