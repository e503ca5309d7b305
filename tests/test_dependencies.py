"""Dependencies point one way: services never import the tasks that run them, and the mirror
imports models and the Vox vocabulary, never a view, a task, a queue or the webhook app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "voxdash"
SERVICES = [
    "calls/sync.py",
    "directory/sync.py",
    "webhooks/services.py",
    "placements/services.py",
    "placements/scheduled.py",
    "placements/guard.py",
    "directory/do_not_call.py",
    "campaigns/drafts.py",
    "campaigns/running.py",
    "sweep.py",
    *(f"mirror/{p.name}" for p in (ROOT / "mirror").glob("*.py")),
]


def imported(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (inside functions too), as absolute names."""
    package = ".".join(("voxdash", *path.relative_to(ROOT).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            names.update(f"{base}.{alias.name}" for alias in node.names)
            names.add(base)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_services_import_no_tasks_and_no_queue(service):
    names = imported(ROOT / service)
    assert not [n for n in names if n.endswith((".tasks", ".queue")) or ".tasks." in n or ".queue." in n]


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "mirror").glob("*.py")))
def test_the_mirror_imports_no_view_and_no_webhook_code(module):
    names = imported(ROOT / "mirror" / module)
    assert not [n for n in names if ".views" in n or n.startswith("voxdash.webhooks")]


# --- The whole package: what each app may import (docs/architecture.md, "Who may import whom").
# Another app's models are a shared vocabulary; its views, tasks, queues, admin and template tags
# are its own business. Project modules (settings, urls, celery, wsgi, runtime) wire everything.
MAY_IMPORT = {
    "vox": set(),  # the client: nothing of voxdash but the version
    "lib": {"vox"},
    "audit": {"lib"},  # everyone records into it; it knows none of them
    "accounts": {"audit", "lib", "vox"},
    "mirror": {"calls", "directory", "placements", "vox", "lib"},  # their models only (below)
    "directory": {"accounts", "audit", "mirror", "lib", "vox"},
    "placements": {"accounts", "audit", "directory", "mirror", "lib", "vox"},
    "campaigns": {"accounts", "audit", "calls", "directory", "placements", "mirror", "lib", "vox"},
    "webhooks": {"accounts", "audit", "mirror", "sweep", "lib", "vox"},
    "calls": {"accounts", "audit", "directory", "placements", "webhooks", "mirror", "sweep", "lib", "vox"},
    "sweep": {"calls", "mirror", "webhooks"},
    "stats": {"calls", "lib", "vox"},
    "overview": {"accounts", "calls", "stats", "lib", "vox"},
    "health": {"accounts", "overview", "lib", "vox"},
    # Reads what the others keep (the mirror, placed calls, campaigns, webhooks, the connection
    # status, the budget) to decide what to tell; nothing imports it but the project modules
    # and subscriptions (the Alert model, to tell other systems of alerts).
    "alerts": {
        "accounts",
        "audit",
        "calls",
        "campaigns",
        "directory",
        "placements",
        "webhooks",
        "overview",
        "health",
        "mirror",
        "lib",
        "vox",
    },
}

# voxdash's own API serves what the pages serve, through the same services: it may use any app
# but the alerts (whose events reach others through subscriptions); nothing imports it but the
# project modules.
MAY_IMPORT["api"] = {
    "accounts", "audit", "calls", "campaigns", "directory", "placements", "stats", "webhooks",
    "mirror", "overview", "lib", "vox",
}  # fmt: skip

# Tells other systems what the others learn: it reads what it watches (the mirror's calls, the
# campaigns' events, the alerts) and the placed calls; nothing imports it but the project modules.
MAY_IMPORT["subscriptions"] = {
    "alerts",
    "audit",
    "calls",
    "campaigns",
    "mirror",
    "placements",
    "webhooks",
    "lib",
}

PROJECT = {"settings", "urls", "celery", "wsgi", "runtime", "__init__"}
PRIVATE = ("views", "views_log", "tasks", "queue", "admin", "templatetags", "management")


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = ("voxdash", *path.relative_to(ROOT).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "voxdash" and len(parts) > 1 else None


def voxdash_imports(path: Path) -> set[str]:
    known = modules()
    # `from . import deadline` names the submodule, not the package it is in.
    return {name for name in imported(path) if name in known}


def test_no_import_cycles():
    graph = {name: voxdash_imports(path) - {name} for name, path in modules().items()}
    for name in graph:  # a package's own __init__ is not an import of its submodules' parent
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            pytest.fail("import cycle: " + " -> ".join([*trail[trail.index(name) :], name]))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("module", sorted(modules()))
def test_each_app_imports_only_what_the_architecture_allows(module):
    app = app_of(module)
    if app is None or app in PROJECT:
        return
    assert app in MAY_IMPORT, (
        f"{app}: a new app; say in MAY_IMPORT (and docs/architecture.md) what it may import"
    )
    for name in voxdash_imports(modules()[module]):
        other = app_of(name)
        if other is None or other == app or other in PROJECT:
            continue
        assert other in MAY_IMPORT[app], f"{module} imports {name}: {app} may not import {other}"
        assert not any(part in PRIVATE for part in name.split(".")[2:]), (
            f"{module} imports {name}, private to {other}"
        )
        if app == "mirror" or module.endswith(".models"):
            assert name.endswith(".models") or other in ("vox", "lib"), (
                f"{module} may use {other}'s models only"
            )
