"""Helpers for the workshop-room tests: toy wheels, hashed locks, a serve process, a slow link.

Everything stays on 127.0.0.1 and in ``tmp_path``; no test asks a package registry.

* :func:`make_wheel` writes a real (tiny) wheel with ``zipfile``: METADATA, WHEEL, RECORD
  and one module, so pip installs it like any other;
* :func:`write_lock` writes a ``requirements*.txt`` pinned with sha256 hashes, as pip-compile does;
* ``python -m tests.room LOCK_ROOT REGISTRY.json -- SERVE-ARGS`` runs ``course_utils.serve`` with
  the lock files of ``LOCK_ROOT`` and extra registered data sets (the course's own locks pin
  hundreds of megabytes of wheels, too much for a unit test);
* :class:`SlowLink` is a TCP relay that passes a limited number of bytes per second, like a
  room's Wi-Fi, so that a test can kill the server while a transfer is under way.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    folder: Path, name: str, version: str = "1.0", requires: tuple[str, ...] = (), payload: bytes = b""
) -> Path:
    """A pure-Python wheel ``name`` that installs module ``name`` (``VALUE`` = its version).

    ``payload`` is stored uncompressed as ``<name>/payload.bin`` (to make a large wheel).
    """
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VALUE = {version!r}\n".encode(),
        f"{dist_info}/METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: {name}\n"
            f"Version: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests.room\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    if payload:
        files[f"{module}/payload.bin"] = payload
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = folder / f"{module}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, data in files.items():
            info = zipfile.ZipInfo(arcname, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if arcname.endswith(".bin") else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_lock(path: Path, wheels: list[Path], markers: dict[str, str] | None = None) -> Path:
    """A hashed lock of ``wheels`` (``name==version`` from the file name), like pip-compile's."""
    lines = ["# a test lock\n"]
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        marker = f" ; {markers[name]}" if markers and name in markers else ""
        lines.append(
            f"{name.replace('_', '-')}=={version}{marker} \\\n    --hash=sha256:{sha256_file(wheel)}\n"
            "    # via nothing\n"
        )
    path.write_text("".join(lines))
    return path


def start_serve(
    lock_root: Path, cache: Path, registry: dict | None = None, port: int = 0, timeout: float = 60
) -> tuple[subprocess.Popen, str, list[str]]:
    """Start ``course_utils.serve`` on 127.0.0.1; return the process, its COURSE_MIRROR URL, its banner."""
    registry_file = cache.parent / f"registry-{os.getpid()}-{time.monotonic_ns()}.json"
    registry_file.write_text(json.dumps(registry or {}))
    env = {**os.environ, "COURSE_DATA_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
    env.pop("COURSE_MIRROR", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.room",
            str(lock_root),
            str(registry_file),
            "--",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl+C"):
            url = next(x for x in lines if "export COURSE_MIRROR=" in x).split("=", 1)[1].strip()
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
            return process, url, lines
    process.kill()
    raise AssertionError("serve did not start:\n" + "\n".join(lines))


def isolated_pip_env() -> dict[str, str]:
    """An environment in which pip sees no configuration, index or find-links but the command line's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_INDEX_URL="http://127.0.0.1:9/closed",
    )  # a closed port: any index access fails
    return env


class SlowLink:
    """A TCP relay on 127.0.0.1 to ``port`` that forwards ``rate`` bytes per second per connection."""

    def __init__(self, port: int, rate: int = 8_000_000, chunk: int = 64 * 1024) -> None:
        self.target, self.rate, self.chunk = port, rate, chunk
        self.forwarded = 0  # bytes sent to clients so far
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
        except OSError:
            client.close()  # nothing listens: the client sees a closed connection
            return
        threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
        self._pipe(upstream, client, True)

    def _pipe(self, source: socket.socket, sink: socket.socket, throttle: bool) -> None:
        try:
            while True:
                data = source.recv(self.chunk)
                if not data:
                    break
                sink.sendall(data)
                if throttle:
                    self.forwarded += len(data)
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


def _serve_main(argv: list[str]) -> int:
    """``python -m tests.room LOCK_ROOT REGISTRY.json -- SERVE-ARGS``."""
    from course_utils import data, serve, wheels

    lock_root, registry_file, _, *serve_args = argv
    wheels.LOCK_ROOT = Path(lock_root)
    for name, entries in json.loads(Path(registry_file).read_text()).items():
        data.REGISTRY[name] = [
            data.RemoteFile(
                path=e["path"],
                url="http://127.0.0.1:9/unused",
                known_hash=f"sha256:{e['sha256']}",
                size=e["size"],
            )
            for e in entries
        ]
    return serve.main(serve_args)


if __name__ == "__main__":
    sys.exit(_serve_main(sys.argv[1:]))
