"""What every browser test shares: Debian's Chromium driven by Playwright, and JupyterLab
started exactly as `make lab` starts it (``tools/lab.sh``).

Playwright never downloads a browser here (``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1``): it drives
the Debian package ``chromium`` at ``/usr/bin/chromium``. Where that is missing, or Playwright
itself is not installed, :func:`require_browser` skips the test with the command that fixes it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "build" / "screenshots"
# Chromium in a container: no sandbox (we are often root), no GPU, and none of the
# background traffic (QUIC, component updates, sync) that would try to reach the network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip the calling test, naming the install command, when Playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(
            "Playwright is not installed: `make test` installs it, or "
            "`.venv/bin/python -m pip install --require-hashes --no-deps -r requirements-test.txt`"
        )
    if not CHROMIUM.is_file():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}: `sudo apt-get install chromium` "
            "(Debian/Ubuntu; `make test` does it when run as root), or set COURSE_CHROMIUM"
        )


def launch_chromium(playwright, user_data_dir: Path | None = None):
    """A headless Chromium context with a fresh profile: ``(context, page)``; close the context."""
    profile = Path(user_data_dir or tempfile.mkdtemp(prefix="chromium-profile-"))
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport={"width": 1280, "height": 900},
    )
    page = context.pages[0] if context.pages else context.new_page()
    return context, page


def screenshot(page, name: str) -> Path:
    """Save a full-window screenshot as build/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@dataclass
class Lab:
    """A JupyterLab started by tools/lab.sh: its process, log file and the URL it printed."""

    process: subprocess.Popen
    log: Path
    url: str  # the URL the learner is told to open, token included

    @property
    def base(self) -> str:
        return re.match(r"https?://[^/]+", self.url).group(0)

    @property
    def token(self) -> str:
        return re.search(r"token=([0-9a-f]+)", self.url).group(1)


def start_lab(course_dir: Path, port: int, home: Path, timeout: float = 120) -> Lab:
    """Run ``course_dir/tools/lab.sh --no-browser`` (what `make lab` runs) on ``port``.

    ``home`` gets the Jupyter runtime, user settings and workspaces, so that the browser
    starts from a fresh workspace (JupyterLab otherwise restores the tabs of earlier
    sessions). Waits for the printed URL and returns it.
    """
    log = home / "lab.log"
    env = {
        **os.environ,
        "LAB_PORT": str(port),
        "VENV": str(REPO / ".venv"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    env.pop("JUPYTER_CONFIG_PATH", None)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(course_dir / "tools" / "lab.sh"), "--no-browser", "--ServerApp.port_retries=0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=course_dir,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"^\s+(http://127\.0\.0\.1:\d+/\S*token=\S+)", log.read_text(), re.MULTILINE)
        if found:
            return Lab(process, log, found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.5)
    stop_lab(process)
    pytest.fail(f"tools/lab.sh printed no URL within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_lab(process: subprocess.Popen) -> None:
    """Stop the server if it still runs (SIGTERM, then SIGKILL to its process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def copy_course(destination: Path) -> Path:
    """The course's tracked files (as in the working tree) in a fresh git repository.

    The browser test edits and resets a notebook; it does so in this copy, never in the
    working tree (where `make reset` would discard a maintainer's edits).
    """
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    git = ["git", "-c", "user.name=course-test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=destination, check=True)
    subprocess.run([*git, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "course as handed out"], cwd=destination, check=True)
    return destination
