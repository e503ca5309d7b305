#!/usr/bin/env python3
"""Save PNGs of the main pages, light and dark, to docs/screenshots/ (1280x800) for the README.

    .venv/bin/python scripts/screenshots.py

It reuses the browser tests' pieces (a live server, the Vox simulator, seeded data, Debian's
chromium), so it runs like one test module: tests/browser/screenshots.py.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    args = [
        str(ROOT / "tests" / "browser" / "screenshots.py"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
    ]
    code = pytest.main(args + sys.argv[1:])
    if code == 0:
        for png in sorted((ROOT / "docs" / "screenshots").glob("*.png")):
            print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KB")
    sys.exit(code)
