""".env.example and the README's configuration table list exactly the environment variables voxdash
reads, each with the default the code uses.

The reads are found in the source, not in a list kept by hand: the AST of voxdash/**/*.py and
gunicorn.conf.py, every call of the settings' strict helpers (`env`, `env_bool`, `env_int`,
`env_float`, `env_list`; gunicorn.conf.py's `_whole_number`), `os.environ.get`, `os.environ[...]`,
`"NAME" in os.environ` and `os.getenv` with a literal name. A read whose name is not a literal cannot
be checked, so it fails the test unless UNCHECKED names the function it is in and why.

Deliberately not production settings, so not scanned: the simulator (vox_simulator/: a test double
of Vox) and the demo (vox_simulator/demo.py: DEMO_PORT, DEMO_SIMULATOR_PORT). `os.environ.setdefault`
is a write (wsgi.py's DJANGO_SETTINGS_MODULE, gunicorn.conf.py's SCRIPT_NAME), not a read.
"""

import ast
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCES = [*sorted((ROOT / "voxdash").rglob("*.py")), ROOT / "gunicorn.conf.py"]
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"

# Functions whose first argument is the name of the variable they read.
READERS = {"env", "env_bool", "env_int", "env_float", "env_list", "_whole_number"}
# (file, function) -> why a read there may have a name that is not a literal.
UNCHECKED = {
    ("voxdash/settings.py", "env"): "the strict helpers: the name is their caller's, checked at each call",
    ("voxdash/settings.py", "env_bool"): "the same",
    ("voxdash/settings.py", "_env_number"): "the same (env_int's and env_float's)",
    ("voxdash/settings.py", "env_list"): "the same",
    ("gunicorn.conf.py", "_whole_number"): "gunicorn.conf.py's helper: the same",
}
# Read by a library on purpose, not by our code; listed so an operator finds them.
THIRD_PARTY = {
    "SENTRY_ENVIRONMENT": "sentry-sdk",
    "SENTRY_RELEASE": "sentry-sdk",
    "SCRIPT_NAME": "gunicorn (gunicorn.conf.py sets it from VOXDASH_URL_PREFIX)",
}


@dataclass
class Reads:
    names: dict[str, list[str]] = field(default_factory=dict)  # name -> ["file:line", ...]
    defaults: dict[str, object] = field(default_factory=dict)  # name -> its literal default, if any
    unchecked: list[str] = field(default_factory=list)  # "file:line in function()" of a non-literal read


def _is_environ(node: ast.AST) -> bool:
    """`os.environ` (or a bare `environ` imported from os)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _read_name(node: ast.AST) -> tuple[ast.AST, ast.AST | None] | None:
    """(the name's node, the default's node) if `node` reads an environment variable."""
    if isinstance(node, ast.Call):
        func = node.func
        is_reader = isinstance(func, ast.Name) and func.id in READERS
        is_get = isinstance(func, ast.Attribute) and (
            (func.attr == "get" and _is_environ(func.value))
            or (func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os")
        )
        if (is_reader or is_get) and node.args:
            return node.args[0], node.args[1] if len(node.args) > 1 else None
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
        return node.slice, None
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and _is_environ(node.comparators[0])
    ):
        return node.left, None
    return None


def variables_read(source: str, filename: str) -> Reads:
    """Every environment variable `source` reads, where, and its literal default."""
    reads = Reads()

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        found = _read_name(node)
        if found is not None:
            name, default = found
            where = f"{filename}:{node.lineno}"
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                reads.names.setdefault(name.value, []).append(where)
                if isinstance(default, ast.Constant) and name.value not in reads.defaults:
                    reads.defaults[name.value] = default.value
            elif (filename, function) not in UNCHECKED:
                reads.unchecked.append(f"{where} in {function or 'the module'}(): {ast.unparse(name)}")
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source, filename), "")
    return reads


@functools.cache  # the same sources for every test: parsed once
def voxdash_reads() -> Reads:
    total = Reads()
    for path in SOURCES:
        reads = variables_read(path.read_text(), str(path.relative_to(ROOT)))
        for name, places in reads.names.items():
            total.names.setdefault(name, []).extend(places)
        for name, default in reads.defaults.items():
            total.defaults.setdefault(name, default)
        total.unchecked.extend(reads.unchecked)
    return total


def env_example_entries(text: str) -> dict[str, tuple[str, bool]]:
    """NAME -> (value, commented out) for each `NAME=value` or `# NAME=value` line."""
    entries = {}
    for line in text.splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            entries[match.group(2)] = (match.group(3).strip(), bool(match.group(1)))
    return entries


def readme_table_names(text: str) -> set[str]:
    """The names in the first cell of each row of the README's `## Configuration` table."""
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def unlisted(read: set[str], listed: set[str]) -> list[str]:
    return sorted(read - listed)


def stale(read: set[str], listed: set[str]) -> list[str]:
    return sorted(listed - read - set(THIRD_PARTY))


def test_every_read_has_a_literal_name():
    assert voxdash_reads().unchecked == []


def test_every_variable_read_is_in_env_example_and_the_readme_table():
    read = voxdash_reads()
    expected = set(read.names) | set(THIRD_PARTY)
    missing_example = unlisted(expected, set(env_example_entries(ENV_EXAMPLE.read_text())))
    missing_readme = unlisted(expected, readme_table_names(README.read_text()))
    assert not missing_example, {
        name: read.names.get(name, THIRD_PARTY.get(name)) for name in missing_example
    }
    assert not missing_readme, {name: read.names.get(name, THIRD_PARTY.get(name)) for name in missing_readme}


def test_nothing_listed_is_no_longer_read():
    read = set(voxdash_reads().names)
    assert stale(read, set(env_example_entries(ENV_EXAMPLE.read_text()))) == [], ".env.example"
    assert stale(read, readme_table_names(README.read_text())) == [], "README's configuration table"


def _same(listed: str, default: object) -> bool:
    if isinstance(default, bool):
        return listed == ("1" if default else "0")
    if isinstance(default, int | float):
        try:
            return math.isclose(float(listed), default)
        except ValueError:
            return False
    return listed == str(default)


def test_the_defaults_in_env_example_are_the_codes():
    """A commented-out line is the default in force, so it must be the one the code uses (where
    the code's default is a literal)."""
    read = voxdash_reads()
    wrong = {
        name: (value, read.defaults[name])
        for name, (value, commented) in env_example_entries(ENV_EXAMPLE.read_text()).items()
        if commented and name in read.defaults and not _same(value, read.defaults[name])
    }
    assert wrong == {}


def test_required_settings_are_uncommented_placeholders():
    entries = env_example_entries(ENV_EXAMPLE.read_text())
    for name in ("DJANGO_SECRET_KEY", "VOX_API_KEY"):  # production refuses to start without them
        assert entries[name] == ("", False), name


# --- the finder itself: a test that cannot fail proves nothing


SNIPPET = """
import os
from os import environ
A = env("MADE_UP_STR", "x")
B = env_int("MADE_UP_INT", 3)
C = os.environ.get("MADE_UP_GET")
D = os.getenv("MADE_UP_GETENV", "")
E = environ["MADE_UP_ITEM"]
if "MADE_UP_IN" in os.environ:
    pass
os.environ.setdefault("NOT_A_READ", "1")
os.environ["NOT_A_READ_EITHER"] = "1"
def helper(name):
    return os.environ.get(name)
"""


def test_the_finder_catches_every_kind_of_read():
    reads = variables_read(SNIPPET, "snippet.py")
    made_up = {"MADE_UP_STR", "MADE_UP_INT", "MADE_UP_GET", "MADE_UP_GETENV", "MADE_UP_ITEM", "MADE_UP_IN"}
    assert set(reads.names) == made_up
    assert reads.defaults == {"MADE_UP_STR": "x", "MADE_UP_INT": 3, "MADE_UP_GETENV": ""}
    assert reads.unchecked == ["snippet.py:14 in helper(): name"]
    # Read by this snippet but listed nowhere: each one is named.
    listed = set(env_example_entries(ENV_EXAMPLE.read_text()))
    assert unlisted(set(reads.names), listed) == sorted(made_up)
    assert unlisted(set(reads.names), readme_table_names(README.read_text())) == sorted(made_up)


def test_a_listed_variable_nobody_reads_is_caught():
    read = set(voxdash_reads().names)
    assert stale(read, read | set(THIRD_PARTY) | {"VOX_NO_LONGER_READ"}) == ["VOX_NO_LONGER_READ"]


def test_the_readme_table_reads_several_names_in_one_cell():
    table = (
        "\n## Configuration\n\n| variable | default | meaning |\n|---|---|---|\n"
        "| `VOX_CONNECT_TIMEOUT`, `VOX_READ_TIMEOUT` | `3`, `10` | Seconds (`VOX_API_KEY` is not here). |\n"
        "\n## Next\n| `NOT_IN_THE_TABLE` | | |\n"
    )
    assert readme_table_names(table) == {"VOX_CONNECT_TIMEOUT", "VOX_READ_TIMEOUT"}
