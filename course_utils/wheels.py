"""The course's wheelhouse: every wheel of the lock files, for a workshop room.

``python -m course_utils.fetch wheels`` (part of ``make fetch``) runs ``pip download
--only-binary=:all: --require-hashes --no-deps`` for every hashed lock file of the course
(``requirements*.txt`` at the top of the checkout, whatever they are called), by default for
this machine's platform and Python, with ``--platform`` for others (e.g. ``macos-arm64``), into
``<cache>/wheels/``. ``python -m course_utils.serve`` serves that folder as a plain HTML page of
links, which is what ``pip install --no-index --find-links URL`` reads; a learner with
``COURSE_MIRROR`` set gets ``--no-index --find-links $COURSE_MIRROR/wheels/`` from the Makefile
and installs with ``--require-hashes`` as usual.

Nothing here downloads by itself: pip does, and checks every hash against the lock. This
module reads the locks, chooses the pins that apply to a platform (environment markers are
evaluated for the *target*, which ``pip download --platform`` does not do), checks afterwards
which pins have a wheel in the folder whose sha256 is in the lock (:func:`coverage`), and says
what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from course_utils.paths import REPO_ROOT, data_dir

WHEELS = "wheels"
"""The wheelhouse folder inside the cache, and its path on a mirror (``$COURSE_MIRROR/wheels/``)."""
TARGETS_FILE = "targets.json"
"""Which platforms ``fetch`` was asked for (inside the wheelhouse; not served)."""


LOCK_ROOT = REPO_ROOT
"""The folder whose ``requirements*.txt`` define the wheelhouse (the checkout; tests point it elsewhere)."""


class WheelhouseError(RuntimeError):
    """The wheelhouse could not be built; the message names the fix."""


# --------------------------------------------------------------------------------------
# Lock files
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """One ``name==version`` line of a hashed lock file, with its marker and hashes."""

    name: str  # canonical (PEP 503) name
    version: str
    marker: str | None
    hashes: frozenset[str]  # sha256 hex digests
    lock: str  # the lock file's name

    def applies(self, env: dict[str, str]) -> bool:
        return self.marker is None or Marker(self.marker).evaluate(env)

    def line(self) -> str:
        """The pin as a requirements line, without its marker (already evaluated)."""
        return f"{self.name}=={self.version} " + " ".join(f"--hash=sha256:{h}" for h in sorted(self.hashes))


def lock_files(root: Path | None = None) -> list[Path]:
    """The hashed requirement files the set-up installs: ``requirements*.txt`` at the top."""
    return sorted((root or LOCK_ROOT).glob("requirements*.txt"))


def _logical_lines(text: str) -> list[str]:
    """Lines with ``\\`` continuations joined and comments dropped (pip's own rules)."""
    joined = re.sub(r"\\\r?\n", " ", text)
    lines = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s+)#.*$", "", line).strip()
        if line:
            lines.append(line)
    return lines


def read_lock(path: Path) -> tuple[list[Pin], list[str]]:
    """The pins of a hashed lock file, and its index options (``--find-links`` etc.)."""
    pins, options = [], []
    for line in _logical_lines(path.read_text()):
        if line.startswith("-"):
            if line.startswith(("--index-url", "-i ", "--extra-index-url", "--find-links", "-f ")):
                options.append(line)
            continue
        spec = line.partition(" --hash=")[0]
        hashes = frozenset(h.split(":", 1)[1] for h in re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
        requirement = Requirement(spec.strip())
        version = next((s.version for s in requirement.specifier if s.operator == "=="), None)
        if version is None or not hashes:
            raise WheelhouseError(
                f"{path.name}: `{spec.strip()}` is not pinned with `==` and a sha256 hash, "
                "so its wheel cannot be "
                f"verified. Fix: regenerate {path.name} with hashes (see `make lock`)."
            )
        pins.append(
            Pin(
                canonicalize_name(requirement.name),
                version,
                str(requirement.marker) if requirement.marker else None,
                hashes,
                path.name,
            )
        )
    return pins, options


# --------------------------------------------------------------------------------------
# Target platforms
# --------------------------------------------------------------------------------------


def _manylinux(glibc_minor: int, arch: str) -> list[str]:
    """``manylinux_2_<glibc_minor>_<arch>`` and every older manylinux tag a machine with it accepts."""
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = []
    for minor in range(glibc_minor, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy and (minor == 17 or arch in ("x86_64", "i686")):
            tags.append(f"{legacy[minor]}_{arch}")
    return tags


# name: (platform tags a laptop of that kind accepts, marker environment, what it means)
PLATFORMS: dict[str, tuple[list[str], dict[str, str], str]] = {
    "linux-x86_64": (
        _manylinux(28, "x86_64"),
        {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": "x86_64",
            "os_name": "posix",
        },
        "Linux x86_64, glibc 2.28 or newer",
    ),
    "linux-aarch64": (
        _manylinux(28, "aarch64"),
        {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": "aarch64",
            "os_name": "posix",
        },
        "Linux ARM64, glibc 2.28 or newer",
    ),
    "macos-arm64": (
        list(mac_platforms((14, 0), "arm64")),
        {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "platform_machine": "arm64",
            "os_name": "posix",
        },
        "macOS 14 or newer on Apple silicon",
    ),
}
"""Platforms an instructor can prepare for (``fetch wheels --platform NAME``)."""


def this_platform() -> str:
    """The :data:`PLATFORMS` name of this machine (``"linux-x86_64"`` here), or ``"native"``."""
    system, machine = platform.system(), platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "arm64" if system == "Darwin" else "aarch64"}.get(machine, machine)
    name = f"{'macos' if system == 'Darwin' else system.lower()}-{machine}"
    return name if name in PLATFORMS else "native"


@dataclass(frozen=True)
class Target:
    """A platform and a Python version to download wheels for (CPython only)."""

    platform: str  # a PLATFORMS name, or "native" (this machine as pip sees it)
    python: str = field(default_factory=platform.python_version)  # "3.11" or "3.11.7"

    def __post_init__(self) -> None:
        if self.platform != "native" and self.platform not in PLATFORMS:
            raise WheelhouseError(
                f"Unknown platform {self.platform!r}; known: {', '.join(PLATFORMS)} (or `this`)."
            )
        if not re.fullmatch(r"3\.\d+(\.\d+)?", self.python):
            raise WheelhouseError(f"Python version {self.python!r} must look like 3.11 or 3.11.7.")
        if (
            self.python.count(".") == 1
        ):  # pip compares the full version with Requires-Python (>=3.11.5 occurs)
            same = self._version() == sys.version_info[:2]
            object.__setattr__(self, "python", platform.python_version() if same else f"{self.python}.0")

    @property
    def cp(self) -> str:
        return "cp{}{}".format(*self._version())

    @property
    def full_python(self) -> str:
        return self.python

    @property
    def name(self) -> str:
        return f"{self.platform} {self.cp}"

    @property
    def description(self) -> str:
        what = (
            PLATFORMS[self.platform][2]
            if self.platform in PLATFORMS
            else f"this machine ({sysconfig.get_platform()})"
        )
        return "{}, Python {}.{}".format(what, *self._version())

    def _version(self) -> tuple[int, int]:
        major, minor = self.python.split(".")[:2]
        return int(major), int(minor)

    def platform_tags(self) -> list[str]:
        if self.platform == "native":
            return [sysconfig.get_platform().replace("-", "_").replace(".", "_")]
        return PLATFORMS[self.platform][0]

    def tags(self) -> set[Tag]:
        """Every wheel tag a CPython of this version on this platform installs."""
        if self.platform == "native" and self._version() == sys.version_info[:2]:
            from packaging.tags import sys_tags

            return set(sys_tags())
        cp = self.cp
        plats = self.platform_tags()
        return set(cpython_tags(self._version(), abis=[cp], platforms=plats)) | set(
            compatible_tags(self._version(), interpreter=cp, platforms=plats)
        )

    def environment(self) -> dict[str, str]:
        """The environment markers of the lock files are evaluated in (PEP 508)."""
        env = dict(default_environment())
        if self.platform in PLATFORMS:
            env.update(PLATFORMS[self.platform][1])
        env.update(
            implementation_name="cpython",
            platform_python_implementation="CPython",
            python_version="{}.{}".format(*self._version()),
            python_full_version=self.full_python,
        )
        return env

    def pip_args(self) -> list[str]:
        """``pip download`` options for this target (none for this machine's own Python)."""
        if self.platform == "native" and self._version() == sys.version_info[:2]:
            return []
        args = [
            "--python-version",
            self.full_python,
            "--implementation",
            "cp",
            "--abi",
            self.cp,
            "--abi",
            "abi3",
            "--abi",
            "none",
        ]
        for tag in self.platform_tags():
            args += ["--platform", tag]
        return args

    def as_json(self) -> dict[str, str]:
        return {"platform": self.platform, "python": self.full_python}


def default_target() -> Target:
    return Target(this_platform())


def parse_target(text: str, python: str | None = None) -> Target:
    """``"macos-arm64"`` or ``"this"`` (this machine), for Python ``python`` (default: this one's)."""
    name = this_platform() if text in ("this", "native") else text
    return Target(name, python) if python else Target(name)


# --------------------------------------------------------------------------------------
# What is in the wheelhouse
# --------------------------------------------------------------------------------------


def wheel_dir() -> Path:
    return data_dir() / WHEELS


_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """sha256 of a file, remembered while its size and modification time stay the same."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


@dataclass
class Wheel:
    path: Path
    name: str
    version: Version
    tags: frozenset[Tag]


def wheels_in(folder: Path) -> list[Wheel]:
    """The wheel files of ``folder`` whose names parse (anything else is ignored)."""
    out = []
    for path in sorted(folder.glob("*.whl")) if folder.is_dir() else []:
        try:
            name, version, _, tags = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        out.append(Wheel(path, name, version, tags))
    return out


def all_pins(root: Path | None = None) -> list[Pin]:
    pins = []
    for lock in lock_files(root):
        pins += read_lock(lock)[0]
    return pins


def verified_wheels(folder: Path | None = None, root: Path | None = None) -> dict[str, str]:
    """Wheels in the folder that a current lock file pins, with a sha256 it lists: ``{file name: sha256}``.

    Everything else (damaged copies, wheels of older locks) is left out: serve never offers it.
    """
    folder = folder or wheel_dir()
    allowed: dict[tuple[str, Version], set[str]] = {}
    for pin in all_pins(root):
        allowed.setdefault((pin.name, Version(pin.version)), set()).update(pin.hashes)
    out = {}
    for wheel in wheels_in(folder):
        hashes = allowed.get((wheel.name, wheel.version))
        if hashes and sha256_of(wheel.path) in hashes:
            out[wheel.path.name] = sha256_of(wheel.path)
    return out


@dataclass
class LockCoverage:
    """For one target and one lock file: which of its pins have a verified wheel."""

    lock: str
    pins: int  # pins that apply to the target
    missing: list[str]  # "name==version" without a verified, compatible wheel
    files: list[str]  # the wheels that cover it
    size: int
    pins_covered: list[str] = field(default_factory=list)  # "name==version" with one

    @property
    def complete(self) -> bool:
        return not self.missing


def coverage(
    target: Target,
    folder: Path | None = None,
    root: Path | None = None,
    verified: dict[str, str] | None = None,
) -> list[LockCoverage]:
    """Per lock file: can a learner on ``target`` install it from ``folder`` alone?"""
    folder = folder or wheel_dir()
    verified = verified_wheels(folder, root) if verified is None else verified
    tags, env = target.tags(), target.environment()
    wheels = [w for w in wheels_in(folder) if w.path.name in verified and w.tags & tags]
    out = []
    for lock in lock_files(root):
        pins = [p for p in read_lock(lock)[0] if p.applies(env)]
        missing, files, covered = [], [], []
        for pin in pins:
            match = [
                w
                for w in wheels
                if w.name == pin.name
                and w.version == Version(pin.version)
                and verified[w.path.name] in pin.hashes
            ]
            if match:
                files.append(match[0].path.name)
                covered.append(f"{pin.name}=={pin.version}")
            else:
                missing.append(f"{pin.name}=={pin.version}")
        out.append(
            LockCoverage(
                lock.name, len(pins), missing, files, sum((folder / f).stat().st_size for f in files), covered
            )
        )
    return out


def recorded_targets(folder: Path | None = None) -> list[Target]:
    """The targets ``fetch`` was asked for, as recorded in the wheelhouse."""
    path = (folder or wheel_dir()) / TARGETS_FILE
    try:
        return [Target(t["platform"], t["python"]) for t in json.loads(path.read_text())]
    except (OSError, ValueError, KeyError, TypeError, WheelhouseError):
        return []


def _record_target(folder: Path, target: Target) -> None:
    targets = [t for t in recorded_targets(folder) if t != target] + [target]
    tmp = folder / f"{TARGETS_FILE}.{os.getpid()}.part"
    tmp.write_text(json.dumps([t.as_json() for t in targets], indent=2) + "\n")
    tmp.replace(folder / TARGETS_FILE)


# --------------------------------------------------------------------------------------
# Downloading (pip does it)
# --------------------------------------------------------------------------------------


def mirror_pip_args(mirror: str | None = None) -> list[str]:
    """With ``COURSE_MIRROR`` set: install from its wheelhouse only (the Makefile passes the same)."""
    mirror = (os.environ.get("COURSE_MIRROR", "") if mirror is None else mirror).strip().rstrip("/")
    if not mirror:
        return []
    from urllib.parse import urlsplit

    host = urlsplit(mirror).hostname or ""
    return ["--no-index", "--find-links", f"{mirror}/{WHEELS}/", "--trusted-host", host]


_NO_MATCH = re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)==")


@dataclass
class DownloadResult:
    target: Target
    coverage: list[LockCoverage]
    unavailable: list[str]  # pins pip found no wheel for (source-only, or not built for the target)
    downloaded: int  # wheels new in the folder

    @property
    def complete(self) -> bool:
        return all(c.complete for c in self.coverage)


def download(
    target: Target, folder: Path | None = None, root: Path | None = None, quiet: bool = True
) -> DownloadResult:
    """``pip download`` every pin of every lock file that applies to ``target`` into ``folder``.

    pip checks each wheel's sha256 against the lock (``--require-hashes``). A pin without a
    wheel for the target is set aside, named in the result, and the rest is downloaded.
    Network and hash failures raise :class:`WheelhouseError` with pip's message and the fix.
    """
    folder = folder or wheel_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WheelhouseError(
            f"Cannot create {folder} ({exc}). Fix: set COURSE_DATA_DIR to a folder you can write to."
        ) from None
    env = target.environment()
    pins: dict[str, Pin] = {}
    options: list[str] = []
    for lock in lock_files(root):
        lock_pins, lock_options = read_lock(lock)
        options += [o for o in lock_options if o not in options]
        for pin in lock_pins:
            if pin.applies(env):
                key = f"{pin.name}=={pin.version}"
                pins[key] = Pin(
                    pin.name,
                    pin.version,
                    None,
                    pins[key].hashes | pin.hashes if key in pins else pin.hashes,
                    "",
                )
    before = {p.name for p in folder.glob("*.whl")}
    have = {name for c in coverage(target, folder, root) for name in set(c.pins_covered)}
    pins = {
        key: pin for key, pin in pins.items() if key not in have
    }  # already here and verified: pip not needed
    mirror = mirror_pip_args()
    unavailable: list[str] = []
    while pins:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="course-wheels-", delete=False) as req:
            if not mirror:
                req.write("".join(f"{o}\n" for o in options))
            req.write("".join(f"{p.line()}\n" for p in pins.values()))
        # The lock already chose the versions for each Python (a lock may be installed with
        # --ignore-requires-python, e.g. vit-keras): download its files whatever they declare.
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "--ignore-requires-python",
            "--disable-pip-version-check",
            "--progress-bar",
            "off" if quiet else "on",
            "-d",
            str(folder),
            *target.pip_args(),
            *mirror,
            "-r",
            req.name,
        ]
        try:
            # pip's errors go to stderr (read below); its progress to stdout, shown unless quiet
            run = subprocess.run(
                command, stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE, text=True
            )
        finally:
            os.unlink(req.name)
        if run.returncode == 0:
            break
        output = (run.stdout or "") + (run.stderr or "")
        missing = {canonicalize_name(m) for m in _NO_MATCH.findall(output)}
        found = [k for k in pins if k.split("==")[0] in missing]
        if not found:
            tail = "\n".join(output.strip().splitlines()[-8:])
            raise WheelhouseError(
                f"pip could not download the wheels for {target.name}:\n{tail}\nFix: check the network (or "
                "COURSE_MIRROR), then run `make fetch NAME=wheels` again; "
                "wheels already downloaded are kept."
            )
        for key in found:
            unavailable.append(key)
            del pins[key]
    _record_target(folder, target)
    after = {p.name for p in folder.glob("*.whl")}
    return DownloadResult(target, coverage(target, folder, root), sorted(unavailable), len(after - before))


def remove_damaged(folder: Path | None = None, root: Path | None = None) -> list[str]:
    """Delete wheels that a lock pins but whose sha256 it does not list (e.g. a truncated copy)."""
    folder = folder or wheel_dir()
    pinned = {(p.name, Version(p.version)) for p in all_pins(root)}
    verified = verified_wheels(folder, root)
    removed = []
    for wheel in wheels_in(folder):
        if (wheel.name, wheel.version) in pinned and wheel.path.name not in verified:
            wheel.path.unlink(missing_ok=True)
            removed.append(wheel.path.name)
    return removed
