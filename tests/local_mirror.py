"""A small HTTP server on 127.0.0.1 that stands in for the internet in the data tests.

It serves the files of a folder (like an instructor's ``python -m course_utils.serve``)
and can misbehave on chosen paths, the way real servers and networks do:

* ``"error"``     -- answer ``500 Internal Server Error``;
* ``"truncated"`` -- announce the full ``Content-Length`` but send only half of the
  body, then close the connection (a dropped download);
* ``"wrong"``     -- send bytes of the right length with every byte flipped (bit rot);
* ``"slow"``      -- send the body in small pieces with pauses, so that two clients
  download at the same time.

No test touches the real network: every URL used in the tests is on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from course_utils.data import RemoteFile


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        mirror = self.server.mirror
        path = urlsplit(self.path).path.lstrip("/")
        mirror.requests[path] += 1
        fault = mirror.faults.get(path)
        if fault == "error":
            self.send_error(500, "Internal Server Error (test)")
            return
        file = mirror.root / path
        if not file.is_file():
            self.send_error(404, "Not Found")
            return
        body = file.read_bytes()
        if fault == "wrong":
            body = bytes(255 - b for b in body)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "truncated":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True  # the server closes the socket: the client sees a short body
            return
        if fault == "slow":
            for start in range(0, len(body), 4096):
                self.wfile.write(body[start : start + 4096])
                self.wfile.flush()
                time.sleep(0.02)
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # keep pytest's output clean
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    mirror: LocalMirror


class LocalMirror:
    """A threaded HTTP server on 127.0.0.1 serving ``root``; ``faults`` maps a path to a fault."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.mirror = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalMirror:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (a machine without network, for our purposes)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gzipped(data: bytes, level: int = 9, mtime: int = 0) -> bytes:
    """gzip ``data``; different ``level``/``mtime`` give different bytes for the same content."""
    return gzip.compress(data, compresslevel=level, mtime=mtime)


def add_file(mirror_root: Path, path: str, body: bytes, hashing: str = "sha256") -> RemoteFile:
    """Put ``body`` on the mirror at ``path`` and return a registry entry for it.

    ``hashing`` is how the entry is verified: ``"sha256"`` or ``"md5"`` (a published checksum),
    ``"none"`` (no published checksum, like the ViT-B/32 weights: recorded at first fetch),
    or ``"content"`` (a gzip file verified by the sha256 of its decompressed bytes, like
    Fashion-MNIST).
    """
    target = mirror_root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    origin = f"{closed_port_url()}/{path}"  # never used while COURSE_MIRROR is set
    if hashing == "sha256":
        return RemoteFile(path=path, url=origin, known_hash=f"sha256:{sha256(body)}", size=len(body))
    if hashing == "md5":
        return RemoteFile(
            path=path, url=origin, known_hash=f"md5:{hashlib.md5(body).hexdigest()}", size=len(body)
        )
    if hashing == "none":
        return RemoteFile(path=path, url=origin, known_hash=None)
    if hashing == "content":
        return RemoteFile(
            path=path,
            url=origin,
            known_hash=f"md5:{hashlib.md5(body).hexdigest()}",
            content_sha256=sha256(gzip.decompress(body)),
        )
    raise ValueError(hashing)


def files_in(folder: Path) -> list[str]:
    """Every file below ``folder`` (relative paths, sorted): what a download left behind."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local mirror on 127.0.0.1, with COURSE_MIRROR pointing at it and an empty cache in tmp_path."""
    root = tmp_path / "mirror"
    root.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    server = LocalMirror(root).start()
    monkeypatch.setenv("COURSE_MIRROR", server.url)
    yield server
    server.stop()
