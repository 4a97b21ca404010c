"""The locks hold for every supported Python (3.11.5, 3.12, 3.13) and platform.

Two checks:

* markers (always runs, offline): for each Python and platform, every direct requirement of
  requirements.in gets exactly one pin whose environment marker applies there;
* resolution (tools/check_locks.py --offline): uv resolves requirements.in, wheels only,
  for each Python and platform with the lock's pins as constraints, from uv's cache. Tests
  never use the network, so on a machine whose uv cache has not seen PyPI's index (a fresh
  CI runner) this test is skipped with the reason; `make check-locks` (run by `make lock`
  and by the GitHub workflow before `make test`) does the same check online.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_locks  # noqa: E402

PLATFORMS = {
    "linux-x86_64": {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
    },
    "macos-arm64": {
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "arm64",
        "os_name": "posix",
    },
}
LOCK_PLATFORMS = {
    "requirements.txt": ("linux-x86_64",),
    "requirements.universal.txt": ("linux-x86_64", "macos-arm64"),
}


def environment(python: str, platform: str) -> dict[str, str]:
    major_minor = ".".join(python.split(".")[:2])
    full = python if python.count(".") == 2 else f"{python}.0"
    return {
        **PLATFORMS[platform],
        "python_version": major_minor,
        "python_full_version": full,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def locked(lock: Path) -> list[tuple[str, str, Marker | None]]:
    """(name, version, marker) of each pin of a uv/pip-compile lock."""
    out = []
    for line in lock.read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            req = Requirement(line.rstrip(" \\"))
            out.append((canonicalize_name(req.name), str(req.specifier).lstrip("="), req.marker))
    return out


def direct_requirements() -> list[Requirement]:
    lines = [ln.split("#", 1)[0].strip() for ln in (ROOT / "requirements.in").read_text().splitlines()]
    return [Requirement(ln) for ln in lines if ln]


@pytest.mark.parametrize("python", check_locks.PYTHONS)
@pytest.mark.parametrize("lock_name", sorted(LOCK_PLATFORMS))
def test_every_direct_requirement_has_one_pin_for_each_python_and_platform(lock_name, python):
    pins = locked(ROOT / lock_name)
    assert len(pins) > 100
    for platform in LOCK_PLATFORMS[lock_name]:
        env = environment(python, platform)
        for req in direct_requirements():
            if req.marker is not None and not req.marker.evaluate(env):
                continue  # e.g. tensorflow-cpu off Linux x86_64
            applicable = [
                v for n, v, m in pins if n == canonicalize_name(req.name) and (m is None or m.evaluate(env))
            ]
            assert len(applicable) == 1, (
                f"{lock_name}: {req.name} has pins {applicable} on Python {python}, {platform}"
            )


def test_the_locks_resolve_for_every_supported_python_offline():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_locks.py"), "--offline"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode == check_locks.OFFLINE:
        pytest.skip(
            f"uv's cache cannot answer offline here ({proc.stdout.strip()}); `make check-locks` checks online"
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checked = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert len(checked) == sum(len(p) for p in check_locks.TARGETS.values()) * len(check_locks.PYTHONS)
