"""TEMPORARY minimal copy of ``tests/browser_support.py`` (issue 16, not in main yet).

Same interface as that module (``require_browser``, ``launch_chromium``). Delete this file
once ``tests/browser_support.py`` is in main: ``book/test_site.py`` imports the shared
module first and falls back to this copy only while it is missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def require_browser() -> None:
    """Skip the calling test, naming the install command, when Playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed: `.venv/bin/python -m pip install playwright`")
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: `sudo apt-get install chromium`")


def launch_chromium(playwright, user_data_dir: Path | None = None):
    """A headless Chromium context with a fresh profile: ``(context, page)``; close the context."""
    profile = Path(user_data_dir or tempfile.mkdtemp(prefix="chromium-profile-"))
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
        viewport={"width": 1280, "height": 900},
    )  # fmt: skip
    page = context.pages[0] if context.pages else context.new_page()
    return context, page
