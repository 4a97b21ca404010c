"""TEMPORARY minimal copy of ``tests/browser_support.py`` (issue 16, not merged yet).

Delete this file once ``tests/browser_support.py`` is in main: ``book/test_site.py`` imports
the shared module first and falls back to this copy only while it is missing.
"""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def skip_without_chromium() -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's Chromium is missing: `sudo apt-get install chromium`")
    pytest.importorskip("playwright", reason="Playwright is missing: install requirements-test.txt")


def launch_chromium(playwright):
    """Debian's Chromium with the flags this machine needs (Playwright's launch() gives it
    a fresh temporary profile folder; it refuses a --user-data-dir argument)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
