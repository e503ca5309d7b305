"""deploy/voxdash, the one install-and-start script, run as production runs it (conftest.py's
deploy_stack): the runtime lock alone in a fresh virtualenv, the migration and deployment checks
against PostgreSQL, and web, worker and beat that really serve, queue and sync. Docker cannot run
here, so the Dockerfile, compose.yaml and the systemd units are checked to run nothing but this
script."""

from __future__ import annotations

import re
import subprocess

import httpx
import yaml

from tests.deploy.conftest import DEPLOY, PREFIX, dockerignore_rules, image_ignores


def subcommands() -> set[str]:
    """What deploy/voxdash says it takes (its usage text, printed for no arguments)."""
    result = subprocess.run([str(DEPLOY / "voxdash")], capture_output=True, text=True)
    assert result.returncode == 2
    return set(re.findall(r"deploy/voxdash (\w+)", result.stderr))


def test_the_virtualenv_holds_the_runtime_lock_and_nothing_else(deploy_stack):
    python = str(deploy_stack.venv / "bin" / "python")
    probe = "import importlib.util as u, sys; print(' '.join(m for m in sys.argv[1:] if u.find_spec(m)))"
    wanted, unwanted = (
        ["django", "gunicorn", "celery", "psycopg", "allauth"],
        ["pytest", "playwright", "ruff"],
    )
    found = subprocess.run(
        [python, "-c", probe, *wanted, *unwanted], capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == wanted  # the test tools are not there
    # Every installed package's requirements are met by the lock's pins.
    subprocess.run([python, "-m", "pip", "check"], capture_output=True, check=True)
    # Its own, not sharing the system's packages.
    assert "include-system-site-packages = false" in (deploy_stack.venv / "pyvenv.cfg").read_text()
    install = deploy_stack.outputs["install"].stdout
    assert "static files copied" in install and "post-processed" in install  # the manifest for nginx
    assert (deploy_stack.app / "staticfiles" / "staticfiles.json").exists()


def test_install_refuses_to_clear_a_folder_that_is_not_a_virtualenv(deploy_stack, tmp_path):
    (tmp_path / "precious.txt").write_text("an operator's file")
    env = deploy_stack.env | {"VOXDASH_VENV": str(tmp_path)}
    result = subprocess.run(
        [str(deploy_stack.app / "deploy" / "voxdash"), "install"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1 and "is not a virtualenv" in result.stderr
    assert (tmp_path / "precious.txt").read_text() == "an operator's file"


def test_migrate_applies_the_schema_and_passes_the_deployment_checks(deploy_stack):
    output = deploy_stack.outputs["migrate"]
    assert "Applying calls.0001_initial... OK" in output.stdout
    assert "System check identified no issues" in output.stdout + output.stderr
    groups = {name for (name,) in deploy_stack.query("SELECT name FROM auth_group")}
    assert {"Viewers", "Callers"} <= groups


def test_web_is_ready_with_database_broker_and_vox(deploy_stack):
    answers = []

    def ready() -> bool:
        # Probed as an orchestrator does, again until it passes: on a busy machine the first look at
        # Vox may time out, and /readyz then remembers that for ten seconds.
        answers.append(
            httpx.get(f"{deploy_stack.web_url}{PREFIX}/readyz", headers={"Host": "localhost"}, timeout=10)
        )
        checks = answers[-1].json()["checks"]
        return answers[-1].status_code == 200 and all(check["status"] == "ok" for check in checks.values())

    try:
        deploy_stack.wait_for("/readyz", ready, timeout=30)
    except AssertionError as failed:
        raise AssertionError(answers[-1].text) from failed
    checks = answers[-1].json()["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "database": "ok",
        "broker": "ok",
        "vox": "ok",
    }
    # The probe compose.yaml runs finds the same port, prefix and an allowed host by itself.
    probe = deploy_stack.script("ready", timeout=30)
    assert '"status": "ok"' in probe.stdout


def test_beat_schedules_the_sync_and_the_worker_fills_the_mirror(deploy_stack):
    """Nobody but beat queues the incremental sync: a finished run and mirrored calls mean beat
    scheduled it and the worker ran it, against Vox (the simulator)."""

    def mirrored() -> bool:
        finished = deploy_stack.query("SELECT last_finished_at FROM calls_syncstate WHERE name = 'calls'")
        return bool(finished and finished[0][0])

    deploy_stack.wait_for("beat's call sync, run by the worker", mirrored)
    (count,) = deploy_stack.query("SELECT count(*) FROM calls_call")[0]
    assert count == 300  # the simulator's every call
    newest = deploy_stack.simulator.store.list_calls(None, None, None, 1, 1)[0][0]
    assert deploy_stack.query("SELECT 1 FROM calls_call WHERE vox_id = %s", newest["id"])
    assert "voxdash.calls.tasks.sync_calls" in deploy_stack.log("worker")
    assert "Sending due task sync-calls" in deploy_stack.log("beat")


def test_gunicorn_refuses_paths_outside_the_prefix(deploy_stack):
    # The prefix moved to SCRIPT_NAME (gunicorn.conf.py): the proxy must pass the full path.
    inside = httpx.get(f"{deploy_stack.web_url}{PREFIX}/healthz", timeout=10)
    outside = httpx.get(f"{deploy_stack.web_url}/healthz", timeout=10)
    assert inside.status_code == 200 and outside.status_code != 200


# --- The recipes around the script (Docker and systemd cannot run here: read them).


def test_compose_services_run_the_script(deploy_stack):
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "voxdash"}
    assert set(ours) == {"migrate", "static", "web", "worker", "beat"}
    for name, service in ours.items():
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name
        assert service["command"][0] in subcommands(), name
        assert service["env_file"] == "../.env", name
        assert service["environment"]["VOXDASH_URL_PREFIX"] == PREFIX, name
    assert [ours[name]["command"][0] for name in ("migrate", "static", "web", "worker", "beat")] == [
        "migrate",
        "collectstatic",
        "web",
        "worker",
        "beat",
    ]
    assert ours["web"]["healthcheck"]["test"] == ["CMD", "deploy/voxdash", "ready"]
    for name in ("web", "worker", "beat"):
        assert ours[name]["restart"] == "always"
        assert ours[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"postgres", "redis", "nginx"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:17")
    assert services["redis"]["image"].startswith("redis:7")
    # Only nginx is reachable from outside.
    assert [name for name, s in services.items() if s.get("ports")] == ["nginx"]
    # nginx gets deploy/nginx.conf with one SITE line rewritten: that line must exist, once.
    rewrite = re.search(r"sed 's/([^/]+)/([^/]+)/'", " ".join(services["nginx"]["command"]))
    assert (DEPLOY / "nginx.conf").read_text().count(rewrite[1]) == 1
    assert "./nginx.conf:/etc/voxdash/nginx.conf:ro" in services["nginx"]["volumes"]


def test_dockerfile_is_a_thin_wrapper_over_the_script():
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.13-slim"
    assert "RUN deploy/voxdash install" in lines
    assert lines[-2:] == ['ENTRYPOINT ["deploy/voxdash"]', 'CMD ["web"]']
    user = next(line for line in lines if line.startswith("USER "))
    assert user != "USER root" and lines.index(user) > lines.index("RUN deploy/voxdash install")


def test_the_image_leaves_out_secrets_and_development_files():
    rules = dockerignore_rules()
    for path in (".env", ".env.production", ".git/config", "tests/conftest.py", "vox_simulator/api.py"):
        assert image_ignores(path, rules), path
    for path in (".env.example", "voxdash/settings.py", "deploy/voxdash", "requirements.txt", "manage.py"):
        assert not image_ignores(path, rules), path
    assert image_ignores("voxdash/calls/__pycache__/views.cpython-313.pyc", rules)


def systemd_unit(name: str) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file, by key (a key may repeat)."""
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_systemd_units_run_the_script_as_voxdash():
    for name, subcommand in (("web", "web"), ("worker", "worker"), ("beat", "beat"), ("migrate", "migrate")):
        unit = systemd_unit(f"voxdash-{name}.service")
        (command,) = unit["ExecStart"]
        assert command.split()[:2] == ["/srv/voxdash/deploy/voxdash", subcommand], name
        assert unit["User"] == ["voxdash"] and unit["EnvironmentFile"] == ["/etc/voxdash/env"], name
        assert unit["WorkingDirectory"] == ["/srv/voxdash"], name
        if name == "migrate":
            assert unit["Type"] == ["oneshot"]
            continue
        assert unit["Restart"] == ["always"] and unit["KillMode"] == ["mixed"], name
        assert unit["TimeoutStopSec"] == ["60"], name
        assert "voxdash-migrate.service" in unit["After"][0], name
    # Bound to the host itself: only the local nginx reaches gunicorn.
    assert "--bind 127.0.0.1:${PORT}" in systemd_unit("voxdash-web.service")["ExecStart"][0]
