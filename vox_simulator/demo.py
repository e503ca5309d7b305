"""`make demo`: the dashboard, the Vox simulator, a Celery worker and beat, on embedded defaults.

Needs no Redis, PostgreSQL or internet: SQLite and the filesystem broker live in ./var. Stops
everything on Ctrl-C. Running it again reuses the database and resets the demo logins.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from vox_simulator import keys

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("DEMO_PORT", "8000"))
SIMULATOR_PORT = int(os.environ.get("DEMO_SIMULATOR_PORT", "8001"))


def demo_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_DEBUG="1",
        VOX_API_BASE_URL=f"http://{HOST}:{SIMULATOR_PORT}",
        VOX_API_KEY=keys.DEMO_KEY,
        VOX_WEBHOOK_SECRET=keys.DEMO_WEBHOOK_SECRET,
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("TIME_ZONE", "Africa/Lagos")
    return env


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[2:4]} exited with {process.returncode}; see its output above.")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Nothing answered on port {port} after {seconds} s.")


def _interrupt(signum, frame):
    # Only the first interrupt counts: a second Ctrl-C (people press twice) landing while the
    # first is stopping the children would otherwise abandon some of them, still running.
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    # `kill`, a closed terminal or a CI timeout stop the demo as cleanly as Ctrl-C does.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    for port, what in ((WEB_PORT, "DEMO_PORT"), (SIMULATOR_PORT, "DEMO_SIMULATOR_PORT")):
        if not port_is_free(port):
            raise SystemExit(f"Port {port} is in use (another `make demo`?). Stop it, or set {what}=<port>.")
    env = demo_environment()
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    logins = subprocess.run(
        [*manage, "demo_users"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout

    celery = [python, "-m", "celery", "-A", "voxdash"]
    commands = {
        "simulator": [
            python,
            "-m",
            "vox_simulator",
            "--host",
            HOST,
            "--port",
            str(SIMULATOR_PORT),
            "--webhook-url",
            f"http://{HOST}:{WEB_PORT}/webhooks/vox/",
            "--webhook-secret",
            keys.DEMO_WEBHOOK_SECRET,
        ],
        "web": [*manage, "runserver", f"{HOST}:{WEB_PORT}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "WARNING"],
    }
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            # Each child in its own process group, so Ctrl-C reaches only us and we stop them in order.
            processes[name] = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
        wait_for_port(SIMULATOR_PORT, processes["simulator"])
        # Fill the local copy now, as beat's first runs would: the directory's comes only after
        # VOX_SYNC_DIRECTORY_EVERY (10 min), and until then the agent and number filters that read
        # it would offer nothing. A failure here costs only that; beat syncs again anyway.
        subprocess.run([*manage, "vox_sync"], env=env, cwd=ROOT, capture_output=True, timeout=120)
        wait_for_port(WEB_PORT, processes["web"])
        print(
            "\n"
            "  voxdash is running:   http://{host}:{web}/\n"
            "  Vox simulator:        http://{host}:{sim}/  (test key, webhooks to the dashboard)\n"
            "  Logins (user / password):\n{logins}"
            "  Press Ctrl-C to stop everything.\n".format(
                host=HOST,
                web=WEB_PORT,
                sim=SIMULATOR_PORT,
                logins="".join(f"    {line}\n" for line in logins.splitlines()),
            ),
            flush=True,
        )
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        stopped = [name for name, p in processes.items() if p.poll() is not None]
        print(f"\n{', '.join(stopped)} stopped unexpectedly; stopping the rest.", flush=True)
    except KeyboardInterrupt:
        print("\nStopping voxdash demo...", flush=True)
    finally:
        stop(processes)


def stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            # The main process only: Celery's warm shutdown stops its own pool processes.
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
