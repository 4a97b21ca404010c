"""Check that the lock files resolve for every supported Python (and platform).

For each supported Python version, uv resolves ``requirements.in`` for the lock's platforms
with the lock's own pins as constraints (``-c``), using wheels only. The lock holds for that
Python when the resolution succeeds and needs no package that the lock lacks (a pin the lock
has and that Python does not need, e.g. ``overrides`` below 3.12 only, is harmless).

    python tools/check_locks.py            # uses PyPI (what `make check-locks` and CI run)
    python tools/check_locks.py --offline  # only uv's cache (what tests/test_locks.py runs)

Exit status: 0 all resolve, 1 a lock does not resolve for some Python, 2 uv could not answer
offline (its cache lacks the index data; run once without --offline).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11.5", "3.12", "3.13")
"""The supported Pythons: 3.11.5 is the oldest 3.11 some pinned wheels accept."""

TARGETS = {
    # lock file: the platforms it must hold for (uv target triples)
    "requirements.txt": ("x86_64-manylinux_2_28",),
    "requirements.universal.txt": ("x86_64-manylinux_2_28", "aarch64-apple-darwin", "aarch64-manylinux_2_28"),
}
OFFLINE = 2
UV_OFFLINE = re.compile(
    r"offline|network connectivity is disabled|network was disabled|not found in the cache", re.I
)
"""What uv says when the answer needs the network (so: cannot tell offline)."""


def pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` for every ``name==version`` line of a lock file."""
    out = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^ ;\\]+)", line)
        if match:
            out[match.group(1).lower().replace("_", "-")] = match.group(2)
    return out


def find_uv() -> str | None:
    """uv next to this Python (the course venv has it), else on PATH."""
    here = Path(sys.executable).with_name("uv")
    return str(here) if here.is_file() else shutil.which("uv")


def resolve(
    uv: str, lock: Path, python: str, platform: str, offline: bool
) -> tuple[int, str, dict[str, str]]:
    """Resolve requirements.in for one Python and platform, constrained by ``lock``'s pins."""
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in pins(lock.read_text()).items()))
        out = Path(tmp) / "out.txt"
        cmd = [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--only-binary",
            ":all:",
            "--python-version",
            python,
            "--python-platform",
            platform,
            "-c",
            str(constraints),
            "-o",
            str(out),
            str(ROOT / "requirements.in"),
        ]
        if offline:
            cmd.append("--offline")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        return proc.returncode, proc.stderr.strip(), pins(out.read_text()) if out.is_file() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="use only uv's cache (no network)")
    parser.add_argument(
        "--python", action="append", help=f"Python versions to check (default: {' '.join(PYTHONS)})"
    )
    args = parser.parse_args(argv)
    uv = find_uv()
    if uv is None:
        print(
            "uv is not installed: `make setup` installs it into .venv (or `pip install uv`).", file=sys.stderr
        )
        return 1
    failures = 0
    for lock_name, platforms in TARGETS.items():
        lock = ROOT / lock_name
        locked = pins(lock.read_text())
        for python in args.python or PYTHONS:
            for platform in platforms:
                code, err, resolved = resolve(uv, lock, python, platform, args.offline)
                where = f"{lock_name} on Python {python}, {platform}"
                if code != 0 and args.offline and UV_OFFLINE.search(err):
                    last = err.splitlines()[-1] if err else code
                    print(f"SKIP {where}: uv's cache cannot answer offline ({last})")
                    return OFFLINE
                if code != 0:
                    print(f"FAIL {where}: uv could not resolve it with the lock's pins:\n{err}")
                    failures += 1
                    continue
                lacking = {n: v for n, v in resolved.items() if locked.get(n) != v}
                if lacking:
                    print(f"FAIL {where}: needs {lacking}, which the lock does not pin (run `make lock`)")
                    failures += 1
                else:
                    print(f"ok   {where}: {len(resolved)} packages, all pinned by the lock")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
