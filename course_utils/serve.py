"""Serve the course cache to a room: ``python -m course_utils.serve``.

Usage (an instructor, after ``make fetch``)::

    python -m course_utils.serve                 # port 8000, every network interface
    python -m course_utils.serve --port 8080 --bind 192.168.1.20

It prints the line learners run, e.g. ``export COURSE_MIRROR=http://192.168.1.20:8000``;
their downloads then come from this machine and are verified against the same checksums.

The server is read-only (GET and HEAD only) and serves only the course's registered files
that are in the cache and pass their checksum at start-up, at the paths a mirror must have
(``<data set>/<file>``). ``/`` lists them. It refuses to start when there is nothing to serve.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from course_utils import data
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
    server_version = "course-mirror/1"

    def send_head(self):  # called for GET and HEAD; other methods get 501 from http.server
        path = unquote(urlsplit(self.path).path).lstrip("/")
        if path in ("", "index.txt"):
            return self._index()
        if path not in self.served:
            self.send_error(404, "Not a course file on this mirror")
            return None
        return super().send_head()  # the file from the cache folder, with Content-Length

    def _index(self):
        body = "".join(f"{path}\n" for path in sorted(self.served)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
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


def make_server(served: dict[str, int], bind: str, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(
        type("Handler", (CacheHandler,), {"served": frozenset(served)}), directory=str(data_dir())
    )
    return http.server.ThreadingHTTPServer((bind, port), handler)


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
    if not served:
        hint = (
            " Fashion-MNIST is installed from Debian: `python -m course_utils.fetch fashion-mnist` copies it "
            "into the cache."
            if all(
                data.verify(data.FASHION_MNIST_DEBIAN_DIR / Path(e.path).name, e)
                for e in data.REGISTRY["fashion-mnist"]
            )
            else ""
        )
        print(
            f"Nothing to serve: the course cache {cache} holds no verified course files. "
            f"Fix: run `make fetch` (or `python -m course_utils.fetch --all`) first, "
            f"or point COURSE_DATA_DIR at the folder that holds them.{hint}",
            file=sys.stderr,
        )
        return 1
    try:
        server = make_server(served, args.bind, args.port)
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
    print(
        f"Serving {len(served)} verified files ({human_size(sum(served.values()))}) from {cache} on port "
        f"{port}."
    )
    print("Learners run this line, then `make lab` (or `make fetch`):\n")
    print(f"    export COURSE_MIRROR=http://{address}:{port}\n")
    if address.startswith("127."):
        print(
            "(This address is only reachable from this machine: use --bind with your network address for a "
            "room.)"
        )
    for path, size in served.items():
        print(f"  {path:<60} {human_size(size):>10}")
    if missing:
        print(
            f"Not in the cache, so not served: {', '.join(missing)} (`make fetch NAME=...` adds them; then "
            "restart)."
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
