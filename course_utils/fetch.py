"""Pre-download the course's data and weights into the cache folder.

Usage::

    python -m course_utils.fetch --list            # what can be fetched, and what is cached
    python -m course_utils.fetch imdb flowers      # some data sets, by name
    python -m course_utils.fetch --all             # everything, wheels included (``make fetch``)
    python -m course_utils.fetch wheels --platform this --platform macos-arm64   # a mixed room

``wheels`` downloads the wheels of every lock file (``requirements*.txt``) with
``pip download --require-hashes --only-binary=:all:`` into ``<cache>/wheels/``, for this
machine's platform or the ones named with ``--platform`` (see :mod:`course_utils.wheels`),
so that ``make serve`` can install a whole room without the internet.

Every file is verified against its checksum; downloads show a progress bar and land in the
cache folder (``$COURSE_DATA_DIR``) only once complete and verified. With ``COURSE_MIRROR``
set, files come from that mirror (an instructor's ``python -m course_utils.serve``) instead
of the internet. Fashion-MNIST is copied from the Debian package ``dataset-fashion-mnist``
when it is installed, so that ``make serve`` can offer it to a room without a download.

The summary table says, per data set, whether it was already cached, downloaded, copied,
or failed, with the fix. The exit status is 1 if anything failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from course_utils import data, wheels
from course_utils.paths import data_dir

WHEELS = "wheels"
"""The name `make fetch NAME=...` takes for the wheelhouse."""


@dataclass
class Outcome:
    """What happened to one data set."""

    name: str
    files: int
    size: int | None  # bytes in the cache (registered size if it failed), None if unknown
    status: str  # "cached", "downloaded", "copied from the Debian package", "FAILED"
    fix: str = ""


def human_size(size: int | None) -> str:
    """``84125825`` -> ``"84.1 MB"``, ``29515`` -> ``"29.5 kB"``; ``None`` (no published size) -> ``"?"``."""
    if size is None:
        return "?"
    if size >= 1e9:
        return f"{size / 1e9:.2f} GB"
    if size >= 1e6:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e3:.1f} kB"


def _cached_size(name: str) -> int:
    return sum(
        data.cached_path(e).stat().st_size for e in data.REGISTRY[name] if data.cached_path(e).is_file()
    )


def _registered_size(name: str) -> int | None:
    sizes = [e.size for e in data.REGISTRY[name]]
    return None if None in sizes else sum(sizes)


def _debian_has(name: str) -> bool:
    """True when the Debian package holds every file of ``name`` and each one verifies."""
    if name != "fashion-mnist":
        return False
    return all(data.verify(data.FASHION_MNIST_DEBIAN_DIR / Path(e.path).name, e) for e in data.REGISTRY[name])


def fetch_one(name: str, progress: bool = True) -> Outcome:
    """Make every file of data set ``name`` present and verified in the cache."""
    entries = data.REGISTRY[name]
    missing = [e for e in entries if not data.verify(data.cached_path(e), e)]
    try:
        if not missing:
            status = "cached"
        elif _debian_has(name):
            print(f"{name}: copying from the Debian package ({data.FASHION_MNIST_DEBIAN_DIR})", flush=True)
            data.copy_into_cache(name, data.FASHION_MNIST_DEBIAN_DIR)
            status = "copied from the Debian package"
        else:
            for entry in missing:
                print(f"{name}: {entry.path} from {data.source_url(entry)}", flush=True)
                data.fetch_file(entry, progress=progress)
            status = "downloaded"
    except data.CourseDataError as exc:
        return Outcome(name, len(entries), _registered_size(name), "FAILED", fix=str(exc))
    except OSError as exc:  # e.g. the disk filled up while copying
        return Outcome(
            name,
            len(entries),
            _registered_size(name),
            "FAILED",
            fix=f"{exc}. Fix: free some disk space or set COURSE_DATA_DIR to a folder with room.",
        )
    return Outcome(name, len(entries), _cached_size(name), status)


def fetch_wheels(target: wheels.Target, progress: bool = True) -> Outcome:
    """Download (pip) the wheels of every lock file for ``target``; say what is missing."""
    name = f"wheels {target.name}"
    print(
        f"{name}: pip download of {', '.join(p.name for p in wheels.lock_files())} ({target.description})",
        flush=True,
    )
    try:
        wheels.remove_damaged()
        result = wheels.download(target, quiet=not progress)
    except wheels.WheelhouseError as exc:
        return Outcome(name, 0, None, "FAILED", fix=str(exc))
    files = sorted({f for c in result.coverage for f in c.files})
    size = sum((wheels.wheel_dir() / f).stat().st_size for f in files)
    complete = [c.lock for c in result.coverage if c.complete]
    gaps = [c for c in result.coverage if not c.complete]
    if not gaps:
        return Outcome(name, len(files), size, "downloaded" if result.downloaded else "cached")
    missing = "; ".join(f"{c.lock} lacks {', '.join(c.missing)}" for c in gaps)
    fix = (
        f"no wheel for {target.description}: {missing} (pip found no wheel of that version for it: "
        f"source-only, or not built for this platform). "
        f"Learners on it cannot install {', '.join(c.lock for c in gaps)} from the room's mirror"
    )
    if complete:
        return Outcome(
            name,
            len(files),
            size,
            f"partial: {', '.join(complete)} complete",
            fix=fix + f"; {', '.join(complete)} install completely.",
        )
    return Outcome(
        name, len(files), size, "FAILED", fix=fix + ". Fix: choose another --platform or Python version."
    )


def format_table(outcomes: list[Outcome]) -> str:
    """The summary: one row per data set, then the fix of each failure."""
    width = max([16] + [len(o.name) + 2 for o in outcomes])
    lines = [f"{'data set':<{width}}{'files':>6}{'size':>11}  status"]
    for o in outcomes:
        lines.append(f"{o.name:<{width}}{o.files:>6}{human_size(o.size):>11}  {o.status}")
    for o in outcomes:
        if o.fix:
            lines.append(f"\n{o.name}: {o.fix}")
    return "\n".join(lines)


def list_table() -> str:
    """What can be fetched: name, files, size, whether it is cached, description."""
    lines = [f"{'data set':<16}{'files':>6}{'size':>11}  {'cached':<7} description"]
    for name, entries in sorted(data.REGISTRY.items()):
        cached = "yes" if data.is_cached(name) else ("Debian" if _debian_has(name) else "no")
        size = _cached_size(name) if cached == "yes" else _registered_size(name)
        lines.append(
            f"{name:<16}{len(entries):>6}{human_size(size):>11}  {cached:<7} {entries[0].description}"
        )
    lines.append(
        f"{WHEELS:<16}{'':>6}{'':>11}  {'-':<7} wheels of {', '.join(p.name for p in wheels.lock_files())} "
        f"for a room (--platform: this, {', '.join(wheels.PLATFORMS)})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.fetch",
        description="Pre-download the course's data and weights (verified) into the cache folder.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"data sets to fetch: {', '.join(sorted(data.REGISTRY))}, or {WHEELS} (the lock files' wheels)",
    )
    parser.add_argument("--all", action="store_true", help=f"fetch every data set and the {WHEELS}")
    parser.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="PLATFORM",
        help=f"wheels for: this (default: this machine's), {', '.join(wheels.PLATFORMS)}; repeat for several",
    )
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="3.X",
        help="wheels for this Python version (default: the running one); repeat for several",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the data sets and what is cached, fetch nothing"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    unknown = [n for n in args.names if n not in data.REGISTRY and n != WHEELS]
    if unknown:
        parser.error(
            f"unknown data set(s) {', '.join(unknown)}; known: {', '.join(sorted(data.REGISTRY))}, {WHEELS}"
        )
    try:
        targets = [
            wheels.parse_target(p, py) for p in (args.platform or ["this"]) for py in (args.python or [None])
        ]
    except wheels.WheelhouseError as exc:
        parser.error(str(exc))
    print(f"Course cache: {data_dir()}" + ("  (COURSE_DATA_DIR)" if "COURSE_DATA_DIR" in os.environ else ""))
    if args.list or not (args.names or args.all):
        print(list_table())
        if not args.list:
            print("\nName data sets to fetch, or --all (e.g. `python -m course_utils.fetch imdb`).")
        return 0
    names = sorted(data.REGISTRY) + [WHEELS] if args.all else list(dict.fromkeys(args.names))

    import pooch

    pooch.get_logger().setLevel("WARNING")  # we print our own line per file
    outcomes = [fetch_one(name, progress=not args.no_progress) for name in names if name != WHEELS]
    if WHEELS in names:
        outcomes += [fetch_wheels(target, progress=not args.no_progress) for target in dict.fromkeys(targets)]
    print()
    print(format_table(outcomes))
    failed = [o.name for o in outcomes if o.status == "FAILED"]
    if failed:
        print(f"\n{len(failed)} of {len(outcomes)} failed: {', '.join(failed)} (the fix is above).")
        return 1
    print(f"\nAll {len(outcomes)} fetched and verified in {data_dir()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
