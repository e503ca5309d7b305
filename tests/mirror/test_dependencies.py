"""Dependencies point one way: services never import the tasks that run them, and the mirror
imports models and the Vox vocabulary, never a view, a task, a queue or the webhook app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "voxdash"
SERVICES = [
    "calls/sync.py",
    "directory/sync.py",
    "webhooks/services.py",
    "placements/services.py",
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
