"""Serve the course cache (data and wheels) to a room: ``python -m course_utils.serve``.

Usage (an instructor, after ``make fetch``)::

    python -m course_utils.serve                 # port 8000, every network interface
    python -m course_utils.serve --port 8080 --bind 192.168.1.20

It prints the line learners run, e.g. ``export COURSE_MIRROR=http://192.168.1.20:8000``;
their downloads then come from this machine and are verified against the same checksums:
``make setup`` installs every package from ``$COURSE_MIRROR/wheels/`` (``pip install
--no-index --find-links``, still ``--require-hashes``) and ``make fetch`` the data.

The server is read-only (GET and HEAD only) and serves only files that pass their checksum
at start-up: the course's registered data files at the paths a mirror must have
(``<data set>/<file>``), and the wheels in ``wheels/`` whose sha256 a current lock file lists
(see :mod:`course_utils.wheels`). ``/wheels/`` is an HTML page of links (what pip's
``--find-links`` reads); ``/`` lists every served path. The banner says which platforms and
lock files the wheels cover. It refuses to start when there is nothing to serve.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import io
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from course_utils import data, wheels
from course_utils.fetch import human_size
from course_utils.paths import data_dir


def servable_files() -> dict[str, int]:
    """Registered files present in the cache that verify: ``{path on the mirror: size}``."""
    files = {}
    for entries in data.REGISTRY.values():
        for entry in entries:
            path = data.cached_path(entry)
            if data.verify(path, entry):
                files[entry.path] = path.stat().st_size
    return dict(sorted(files.items()))


class CacheHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files in ``served`` from the cache folder, and a plain-text index at ``/``."""

    served: frozenset[str] = frozenset()
    wheel_hashes: dict[str, str] = {}  # wheel file name -> sha256, for the /wheels/ page
    server_version = "course-mirror/1"

    def send_head(self):  # called for GET and HEAD; other methods get 501 from http.server
        path = unquote(urlsplit(self.path).path).lstrip("/")
        if path in ("", "index.txt"):
            return self._reply("".join(f"{p}\n" for p in sorted(self.served)), "text/plain")
        if path == wheels.WHEELS:  # relative links on the page need the trailing slash
            self.send_response(301)
            self.send_header("Location", f"/{wheels.WHEELS}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path in (f"{wheels.WHEELS}/", f"{wheels.WHEELS}/index.html"):
            return self._reply(self._wheel_page(), "text/html")
        if path not in self.served:
            self.send_error(404, "Not a course file on this mirror")
            return None
        return super().send_head()  # the file from the cache folder, with Content-Length

    def _wheel_page(self) -> str:
        """Links with their sha256 (pip checks it too), as pip's ``--find-links`` reads them."""
        links = "".join(
            f'<a href="{quote(name)}#sha256={digest}">{html.escape(name)}</a><br>\n'
            for name, digest in sorted(self.wheel_hashes.items())
        )
        return (
            f"<!DOCTYPE html>\n<html><head><title>course wheels</title></head><body>\n{links}</body></html>\n"
        )

    def _reply(self, text: str, content_type: str):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def room_address(bind: str) -> str:
    """The address learners use: the bind address, or this machine's LAN address for 0.0.0.0."""
    if bind not in ("", "0.0.0.0"):
        return bind
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # A UDP "connect" sends no packet; it only asks the OS which interface would be used.
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1, never routed to a real host
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class RoomServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # a room connects at once; the default backlog of 5 drops connections


def make_server(
    served: dict[str, int], bind: str, port: int, wheel_hashes: dict[str, str] | None = None
) -> http.server.ThreadingHTTPServer:
    wheel_hashes = wheel_hashes or {}
    paths = frozenset(served) | {f"{wheels.WHEELS}/{name}" for name in wheel_hashes}
    handler_class = type("Handler", (CacheHandler,), {"served": paths, "wheel_hashes": dict(wheel_hashes)})
    return RoomServer((bind, port), functools.partial(handler_class, directory=str(data_dir())))


def wheel_report(wheel_hashes: dict[str, str]) -> list[str]:
    """Banner lines: per platform fetched, which lock files a learner can install from here."""
    targets = wheels.recorded_targets() or [wheels.default_target()]
    lines = []
    for target in targets:
        cover = wheels.coverage(target, verified=wheel_hashes)
        complete = [c.lock for c in cover if c.complete]
        state = f"complete: {', '.join(complete)}" if complete else "no lock file complete"
        lines.append(f"  {target.name:<22} {state}  ({target.description})")
        for c in cover:
            if not c.complete:
                shown = ", ".join(c.missing[:4]) + (
                    f" and {len(c.missing) - 4} more" if len(c.missing) > 4 else ""
                )
                lines.append(
                    f"  {'':<22} {c.lock}: {len(c.missing)} of {c.pins} packages have no wheel here ({shown})"
                )
    return lines


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server like Ctrl+C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.serve",
        description="Serve the course cache folder over HTTP to a room (COURSE_MIRROR).",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument(
        "--bind", default="0.0.0.0", help="address to listen on (default 0.0.0.0: every interface)"
    )
    args = parser.parse_args(argv)

    cache = data_dir()
    print(f"Checking the course cache {cache} ...", flush=True)
    served = servable_files()
    try:
        wheel_hashes = wheels.verified_wheels()
    except wheels.WheelhouseError as exc:
        print(f"The wheels are not served: {exc}", file=sys.stderr)
        wheel_hashes = {}
    if not served and not wheel_hashes:
        hint = (
            " Fashion-MNIST is installed from Debian: `python -m course_utils.fetch fashion-mnist` "
            "copies it into the cache."
            if all(
                data.verify(data.FASHION_MNIST_DEBIAN_DIR / Path(e.path).name, e)
                for e in data.REGISTRY["fashion-mnist"]
            )
            else ""
        )
        print(
            f"Nothing to serve: the course cache {cache} holds no verified course files or wheels. "
            f"Fix: run `make fetch` (or `python -m course_utils.fetch --all`) first, "
            f"or point COURSE_DATA_DIR at the folder that holds them.{hint}",
            file=sys.stderr,
        )
        return 1
    try:
        server = make_server(served, args.bind, args.port, wheel_hashes)
    except OSError as exc:
        print(
            f"Cannot listen on {args.bind}:{args.port} ({exc}). Fix: choose another port, "
            f"e.g. `python -m course_utils.serve --port {args.port + 1 if args.port else 8001}`.",
            file=sys.stderr,
        )
        return 1
    port = server.server_address[1]
    address = room_address(args.bind)
    missing = [
        name for name, entries in sorted(data.REGISTRY.items()) if not all(e.path in served for e in entries)
    ]
    wheel_size = sum((cache / wheels.WHEELS / name).stat().st_size for name in wheel_hashes)
    print(
        f"Serving {len(served)} verified data files ({human_size(sum(served.values()))}) and "
        f"{len(wheel_hashes)} verified wheels ({human_size(wheel_size)}) from {cache} on port {port}."
    )
    print(
        "Learners run this line, then `make lab` "
        "(packages from this machine: `make setup`; data: `make fetch`):\n"
    )
    print(f"    export COURSE_MIRROR=http://{address}:{port}\n")
    if address.startswith("127."):
        print(
            "(This address is only reachable from this machine: "
            "use --bind with your network address for a room.)"
        )
    for path, size in served.items():
        print(f"  {path:<60} {human_size(size):>10}")
    if missing:
        print(
            f"Not in the cache, so not served: {', '.join(missing)} "
            "(`make fetch NAME=...` adds them; then restart)."
        )
    if wheel_hashes:
        print(
            f"Wheels for `make setup` ({{mirror}}/{wheels.WHEELS}/), by platform:".format(
                mirror="$COURSE_MIRROR"
            )
        )
        print("\n".join(wheel_report(wheel_hashes)))
        unserved = sorted(p.name for p in (cache / wheels.WHEELS).glob("*.whl") if p.name not in wheel_hashes)
        if unserved:
            print(
                f"Not served: {len(unserved)} wheel(s) that no current lock file pins with that checksum "
                "(older locks, or damaged copies: `make fetch NAME=wheels` replaces those), "
                f"e.g. {unserved[0]}"
            )
        print(
            'Other platforms: `make fetch NAME=wheels PLATFORMS="macos-arm64 linux-aarch64"`, then restart.'
        )
    else:
        print(
            "No wheels in the cache: learners install packages from the internet "
            "(`make fetch NAME=wheels` adds them; then restart)."
        )
    print("Press Ctrl+C to stop.", flush=True)

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
