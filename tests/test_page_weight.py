"""The page-weight budget of benchmarks/page_weight.py, in the suite (files and bytes, not
timings): every main page loads only the known scripts and stylesheets (a new library is a
decision, not an accident), and its HTML, CSS, JS, other bytes and requests stay within budget."""

import importlib
from pathlib import Path

import pytest
from django.test import Client

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def page_weight(monkeypatch):
    # The script and the seed it uses live beside the other benchmarks, not in a package.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("page_weight")


@pytest.mark.django_db
def test_every_main_page_loads_only_known_scripts_and_stylesheets_within_budget(
    page_weight, client, vox_settings
):
    page_weight.seed_little()
    client.force_login(page_weight.staff_caller())
    weights = page_weight.weigh_pages(client, Client())
    assert [w.name for w in weights] == list(page_weight.PAGES)
    assert {w.name: w.unknown_assets() for w in weights if w.unknown_assets()} == {}
    assert {w.name: w.over() for w in weights if w.over()} == {}
    assert {w.name: w.missing for w in weights if w.missing} == {}
    # Every page has htmx and ours, and stylesheets: the parse found what is there.
    for weight in weights:
        assert {"voxdash/vendor/htmx-2.0.11.min.js", "voxdash/voxdash.js", "voxdash/voxdash.css"} <= set(
            weight.assets
        ), weight.name


def test_a_new_library_or_a_heavier_script_fails_the_budget(page_weight):
    html = b"""<html><head>
      <link rel="stylesheet" href="/static/voxdash/voxdash.css">
      <script src="/static/voxdash/vendor/htmx-2.0.11.min.js"></script>
      <script src="/static/vendor/chart-4.4.0.min.js"></script>
    </head><body><img src="/static/voxdash/favicon.svg"></body></html>"""
    files = {
        "voxdash/voxdash.css": b"a { background: url(../admin/img/search.svg) } @import 'extra.css';",
        "voxdash/extra.css": b"b {}",
        "voxdash/vendor/htmx-2.0.11.min.js": b"x" * 52_000,
        "vendor/chart-4.4.0.min.js": b"x" * 200_000,
        "voxdash/favicon.svg": b"<svg/>",
        "admin/img/search.svg": b"<svg></svg>",
    }
    weight = page_weight.weigh("a page", "/a/", html, files.get)
    assert weight.unknown_assets() == ["vendor/chart-4.4.0.min.js", "voxdash/extra.css"]
    assert weight.js == 252_000 and weight.over() == ["js 252,000 > 65,536"]
    assert weight.may_load == ["admin/img/search.svg"] and weight.requests == 1 + 5
