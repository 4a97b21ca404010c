"""A workshop room that installs everything from the instructor's laptop (issue 12).

The wheelhouse (``course_utils.wheels``), ``fetch wheels``, ``serve``'s ``/wheels/`` page and
the Makefile's ``COURSE_MIRROR`` arguments. Loopback only: the wheels are tiny ones built here
(:mod:`tests.room`), the mirror is ``course_utils.serve`` on 127.0.0.1, and pip runs with no
configuration, no cache and a closed index URL, so that it can only install from the mirror.
The full lock from a loopback mirror is measured by ``benchmarks/room_install.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import venv
from pathlib import Path

import pytest
from packaging.tags import Tag

from course_utils import fetch, wheels
from tests.room import ROOT, SlowLink, isolated_pip_env, make_wheel, sha256_file, start_serve, write_lock

# ---- the course's own locks ---------------------------------------------------------------


def test_the_course_locks_parse_and_every_pin_is_hashed():
    locks = wheels.lock_files(ROOT)
    assert {p.name for p in locks} >= {"requirements.txt", "requirements-data.txt"}
    for lock in locks:
        pins, _ = wheels.read_lock(lock)
        assert pins, lock
        assert all(p.hashes and re.fullmatch(r"[0-9a-f]{64}", next(iter(p.hashes))) for p in pins)


def test_markers_are_evaluated_for_the_target_platform_not_this_machine():
    pins, _ = wheels.read_lock(ROOT / "requirements.universal.txt")
    chosen = {
        name: {p.name for p in pins if p.applies(wheels.Target(name).environment())}
        for name in wheels.PLATFORMS
    }
    assert "tensorflow-cpu" in chosen["linux-x86_64"] and "tensorflow" not in chosen["linux-x86_64"]
    assert "tensorflow" in chosen["macos-arm64"] and "tensorflow-cpu" not in chosen["macos-arm64"]
    assert "appnope" in chosen["macos-arm64"] and "appnope" not in chosen["linux-aarch64"]
    assert "tensorflow" in chosen["linux-aarch64"]


def test_target_tags_and_pip_arguments():
    linux, mac = wheels.Target("linux-x86_64", "3.11"), wheels.Target("macos-arm64", "3.12")
    assert Tag("cp311", "cp311", "manylinux_2_17_x86_64") in linux.tags()
    assert Tag("cp311", "cp311", "manylinux2014_x86_64") in linux.tags()
    assert Tag("cp311", "cp311", "manylinux_2_31_x86_64") not in linux.tags()  # newer glibc than promised
    assert (
        Tag("py3", "none", "any") in linux.tags()
        and Tag("cp311", "abi3", "manylinux_2_28_x86_64") in linux.tags()
    )
    assert Tag("cp312", "cp312", "macosx_11_0_arm64") in mac.tags()
    assert Tag("cp312", "cp312", "macosx_11_0_x86_64") not in mac.tags()
    assert Tag("cp311", "cp311", "macosx_11_0_arm64") not in mac.tags()
    args = mac.pip_args()
    assert args[:2] == ["--python-version", "3.12.0"] and "--platform" in args and "macosx_14_0_arm64" in args
    with pytest.raises(wheels.WheelhouseError, match="known: linux-x86_64"):
        wheels.Target("windows-arm")
    assert wheels.parse_target("this").platform == wheels.this_platform()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pip's own import of pkg_resources
def test_makefile_passes_the_mirror_to_every_setup_pip_install_and_pip_trusts_it():
    """`make setup` with COURSE_MIRROR: --no-index, the mirror's /wheels/, --trusted-host on a LAN."""
    from pip._internal.models.link import Link
    from pip._internal.network.session import PipSession

    mirror = "http://192.168.1.20:8000"
    run = subprocess.run(
        [
            "make",
            "-n",
            "-W",
            "requirements.txt",
            "-W",
            "requirements-data.txt",
            "setup",
            f"COURSE_MIRROR={mirror}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    installs = [line for line in run.stdout.splitlines() if " -m pip install" in line]
    assert len(installs) >= 2, run.stdout + run.stderr
    expected = " ".join(wheels.mirror_pip_args(mirror))
    assert expected == f"--no-index --find-links {mirror}/wheels/ --trusted-host 192.168.1.20"
    for line in installs:
        assert expected in line, line
    assert all("--require-hashes" in line for line in installs if " -r " in line)
    # pip ignores plain-http find-links on a LAN address unless the host is trusted
    assert not PipSession().is_secure_origin(Link(f"{mirror}/wheels/"))
    assert PipSession(trusted_hosts=["192.168.1.20"]).is_secure_origin(Link(f"{mirror}/wheels/"))
    without = subprocess.run(
        ["make", "-n", "-W", "requirements.txt", "setup", "COURSE_MIRROR="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "--no-index" not in without.stdout and " -m pip install" in without.stdout


# ---- a toy room --------------------------------------------------------------------------


@pytest.fixture
def room(tmp_path):
    """Toy wheels in an instructor's cache, two hashed lock files (one with a marker), a data file."""
    build = tmp_path / "built"
    base = make_wheel(build, "room-base", "1.0")
    app = make_wheel(build, "room-app", "2.0", requires=("room-base==1.0",))
    extra = make_wheel(build, "room-extra", "0.3")
    mac_only = make_wheel(build, "room-mac", "1.0")
    locks = tmp_path / "checkout"
    locks.mkdir()
    write_lock(
        locks / "requirements.txt", [base, app, mac_only], markers={"room_mac": "sys_platform == 'darwin'"}
    )
    write_lock(locks / "requirements-extra.txt", [extra])
    cache = tmp_path / "instructor"
    (cache / "wheels").mkdir(parents=True)
    for wheel in (base, app, extra):  # not room-mac: the fetch "was" for Linux only
        (cache / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    (cache / "wheels" / "stray-9.9-py3-none-any.whl").write_bytes(b"not in any lock")
    body = os.urandom(300_000)
    (cache / "toy").mkdir()
    (cache / "toy" / "file.bin").write_bytes(body)
    registry = {
        "toy": [{"path": "toy/file.bin", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}]
    }
    wheels_dir = cache / "wheels"
    (wheels_dir / wheels.TARGETS_FILE).write_text(
        json.dumps(
            [
                {"platform": wheels.this_platform(), "python": "3.11"},
                {"platform": "macos-arm64", "python": "3.11"},
            ]
        )
    )
    return {"locks": locks, "cache": cache, "registry": registry, "built": build}


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin" / "python"


def _pip(python: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-m", "pip", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=isolated_pip_env(),
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_fresh_venv_installs_the_lock_from_serve_with_no_index_and_require_hashes(room, tmp_path):
    process, url, banner = start_serve(room["locks"], room["cache"], room["registry"])
    try:
        text = "\n".join(banner)
        assert "Serving 1 verified data files" in text and "3 verified wheels" in text
        assert re.search(
            rf"{wheels.this_platform()} cp311\s+complete: requirements-extra.txt, requirements.txt", text
        ), text
        assert re.search(r"macos-arm64 cp311\s+complete: requirements-extra.txt\s", text), text
        assert "requirements.txt: 1 of 3 packages have no wheel here (room-mac==1.0)" in text
        assert "Not served: 1 wheel(s)" in text and "stray-9.9-py3-none-any.whl" in text
        page = urllib.request.urlopen(f"{url}/wheels/", timeout=10)
        assert page.headers.get_content_type() == "text/html"
        links = re.findall(r'href="([^"#]+)#sha256=([0-9a-f]{64})"', page.read().decode())
        assert sorted(name for name, _ in links) == sorted(
            p.name for p in room["built"].glob("*.whl") if "mac" not in p.name
        )
        for name, digest in links:
            assert digest == sha256_file(room["cache"] / "wheels" / name)
        with pytest.raises(urllib.error.HTTPError, match="404"):  # in no lock file: never served
            urllib.request.urlopen(f"{url}/wheels/stray-9.9-py3-none-any.whl", timeout=10)
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{url}/wheels/{wheels.TARGETS_FILE}", timeout=10)

        python = _fresh_venv(tmp_path / "learner")
        report = tmp_path / "report.json"
        mirror_args = wheels.mirror_pip_args(url)
        run = _pip(
            python,
            "install",
            *mirror_args,
            "--require-hashes",
            "--report",
            str(report),
            "-r",
            str(room["locks"] / "requirements.txt"),
            "-r",
            str(room["locks"] / "requirements-extra.txt"),
        )
        assert run.returncode == 0, run.stdout + run.stderr
        installed = json.loads(report.read_text())["install"]
        assert sorted(i["metadata"]["name"] for i in installed) == ["room-app", "room-base", "room-extra"]
        assert all(
            i["download_info"]["url"].startswith(f"{url}/wheels/") for i in installed
        )  # all from the mirror
        check = subprocess.run(
            [str(python), "-c", "import room_app, room_base, room_extra; print(room_app.VALUE)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert check.stdout.strip() == "2.0", check.stderr

        # a lock whose hash does not match the served wheel: pip refuses and keeps nothing
        tampered = tmp_path / "requirements-tampered.txt"
        tampered.write_text(f"room-extra==0.3 --hash=sha256:{'0' * 64}\n")
        refused = _pip(
            Path(sys.executable),
            "download",
            *mirror_args,
            "--require-hashes",
            "--no-deps",
            "-r",
            str(tampered),
            "-d",
            str(tmp_path / "refused"),
        )
        assert refused.returncode != 0 and "DO NOT MATCH THE HASHES" in refused.stderr
        assert list((tmp_path / "refused").glob("*")) == []
    finally:
        _stop(process)


def test_fetch_wheels_from_a_mirror_and_coverage(room, tmp_path, monkeypatch, capsys):
    """A second laptop builds its own wheelhouse from the first (pip download --no-index)."""
    process, url, _ = start_serve(room["locks"], room["cache"], room["registry"])
    try:
        monkeypatch.setattr(wheels, "LOCK_ROOT", room["locks"])
        monkeypatch.setenv("COURSE_MIRROR", url)
        monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "second"))
        for key in [k for k in os.environ if k.startswith("PIP_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        result = wheels.download(wheels.default_target())
        assert result.complete and result.downloaded == 3 and result.unavailable == []
        assert sorted(p.name for p in (tmp_path / "second" / "wheels").glob("*.whl")) == sorted(
            p.name for p in (room["cache"] / "wheels").glob("room*.whl")
        )
        mac = wheels.download(wheels.Target("macos-arm64"))  # room-mac has no wheel on the mirror
        assert mac.unavailable == ["room-mac==1.0"] and not mac.complete
        assert [c.missing for c in mac.coverage] == [[], ["room-mac==1.0"]]
        assert [t.platform for t in wheels.recorded_targets()] == [wheels.this_platform(), "macos-arm64"]
        # a damaged wheel is found and removed; the next download replaces it
        victim = tmp_path / "second" / "wheels" / "room_base-1.0-py3-none-any.whl"
        victim.write_bytes(victim.read_bytes()[:-10])
        assert wheels.remove_damaged() == [victim.name] and not victim.exists()
        assert wheels.download(wheels.default_target()).downloaded == 1 and victim.exists()
        # the command line: one row per platform, what is missing and what it means
        assert fetch.main(["wheels", "--platform", "this", "--platform", "macos-arm64"]) == 0
        out = capsys.readouterr().out
        assert re.search(rf"^wheels {wheels.this_platform()} cp311\s+3\s+\S+ kB\s+cached$", out, re.M), out
        assert re.search(
            r"^wheels macos-arm64 cp311\s+3\s+\S+ kB\s+partial: requirements-extra.txt complete$", out, re.M
        )
        assert "requirements.txt lacks room-mac==1.0" in out and "cannot install requirements.txt" in out
    finally:
        _stop(process)


def test_thirty_concurrent_clients_download_the_wheelhouse_and_the_data(room, tmp_path):
    """30 learners at once: each lists the mirror, downloads every file and verifies its sha256."""
    for i in range(20):  # a wheelhouse of 23 wheels, 20 of them 200 kB
        wheel = make_wheel(room["built"], f"room-bulk{i}", "1.0", payload=os.urandom(200_000))
        (room["cache"] / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    write_lock(room["locks"] / "requirements-bulk.txt", sorted(room["built"].glob("room_bulk*.whl")))
    expected = {
        f"wheels/{p.name}": sha256_file(p) for p in room["built"].glob("*.whl") if "mac" not in p.name
    }
    expected.update({e["path"]: e["sha256"] for e in room["registry"]["toy"]})
    process, url, _ = start_serve(room["locks"], room["cache"], room["registry"])
    results: list[tuple[int, int, float]] = []
    errors: list[str] = []
    barrier = threading.Barrier(30)

    def learner(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            start, verified, size = time.perf_counter(), 0, 0
            listing = urllib.request.urlopen(f"{url}/", timeout=60).read().decode().split()
            assert sorted(listing) == sorted(expected), listing
            for path in listing:
                body = urllib.request.urlopen(f"{url}/{path}", timeout=60).read()
                verified += hashlib.sha256(body).hexdigest() == expected[path]
                size += len(body)
            results.append((verified, size, time.perf_counter() - start))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(f"learner {index}: {exc!r}")

    try:
        start = time.perf_counter()
        threads = [threading.Thread(target=learner, args=(i,)) for i in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.perf_counter() - start
    finally:
        _stop(process)
    assert not errors, errors[:3]
    assert len(results) == 30
    files = sum(r[0] for r in results)
    assert files == 30 * len(expected) == 30 * 24
    print(
        f"30 clients: {files}/{30 * len(expected)} files verified, {sum(r[1] for r in results) / 1e6:.1f} MB "
        f"in {elapsed:.1f} s (slowest client {max(r[2] for r in results):.1f} s)"
    )


def _kill_mid_transfer(link: SlowLink, process: subprocess.Popen, client: subprocess.Popen, size: int) -> int:
    """Wait until the client has 1 MB of a ``size``-byte transfer, then SIGKILL the server.

    Returns the bytes seen by then."""
    deadline = time.monotonic() + 60
    while link.forwarded < 1_000_000 and time.monotonic() < deadline and client.poll() is None:
        time.sleep(0.02)
    seen = link.forwarded
    process.kill()
    process.wait(timeout=10)
    assert 1_000_000 <= seen < size // 2, f"not mid-transfer: {seen} of {size} bytes"
    return seen


def test_server_killed_mid_transfer_leaves_nothing_half_written_and_a_rerun_completes(room, tmp_path):
    """A 24 MB wheel and a 24 MB data file over a slow link; the server is killed during each transfer."""
    big_wheel = make_wheel(room["built"], "room-big", "1.0", payload=os.urandom(24_000_000))
    (room["cache"] / "wheels" / big_wheel.name).write_bytes(big_wheel.read_bytes())
    lock = write_lock(room["locks"] / "requirements-big.txt", [big_wheel])
    body = os.urandom(24_000_000)
    (room["cache"] / "big").mkdir()
    (room["cache"] / "big" / "data.bin").write_bytes(body)
    room["registry"]["big"] = [
        {"path": "big/data.bin", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    ]
    python = _fresh_venv(tmp_path / "learner")
    learner_cache = tmp_path / "learner-cache"
    port = _free_port()

    def serve() -> subprocess.Popen:
        return start_serve(room["locks"], room["cache"], room["registry"], port=port)[0]

    fetch_code = (
        "import sys; from course_utils import data\n"
        "data.REGISTRY['big'] = [data.RemoteFile(path='big/data.bin', url='http://127.0.0.1:9/x', "
        f"known_hash='sha256:{hashlib.sha256(body).hexdigest()}', size={len(body)})]\n"
        "sys.argv[1:] = ['big', '--no-progress']\n"
        "from course_utils import fetch; sys.exit(fetch.main())"
    )
    steps = {
        "pip install": [str(python), "-m", "pip", "install", "--require-hashes", "-r", str(lock)],
        "pip download": [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(lock),
            "-d",
            str(learner_cache / "wheels"),
        ],
        "data fetch": [sys.executable, "-c", fetch_code],
    }
    for label, command in steps.items():
        process = serve()
        link = SlowLink(port)
        mirror = f"http://127.0.0.1:{link.port}"
        env = {
            **isolated_pip_env(),
            "COURSE_MIRROR": mirror,
            "COURSE_DATA_DIR": str(learner_cache),
            "PYTHONPATH": str(ROOT),
        }
        args = command[:4] + wheels.mirror_pip_args(mirror) + command[4:] if "pip" in label else command
        before = _files(learner_cache)
        client = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            _kill_mid_transfer(link, process, client, 24_000_000)
            out, _ = client.communicate(timeout=120)
        finally:
            _stop(process)
            link.close()
        assert client.returncode != 0, f"{label} succeeded over a dead server:\n{out}"
        assert _files(learner_cache) == before, f"{label} left {_files(learner_cache) - before}"
        if label == "pip install":
            listed = subprocess.run(
                [str(python), "-m", "pip", "list", "--format=freeze"],
                capture_output=True,
                text=True,
                env=isolated_pip_env(),
                timeout=60,
            ).stdout
            assert "room-big" not in listed and "room_big" not in listed

        # the re-run, with the server back (no slow link needed)
        process = serve()
        try:
            mirror = f"http://127.0.0.1:{port}"
            env["COURSE_MIRROR"] = mirror
            args = command[:4] + wheels.mirror_pip_args(mirror) + command[4:] if "pip" in label else command
            rerun = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        finally:
            _stop(process)
        assert rerun.returncode == 0, f"{label} re-run:\n{rerun.stdout}{rerun.stderr}"
    assert sha256_file(learner_cache / "wheels" / big_wheel.name) == sha256_file(big_wheel)
    assert (
        hashlib.sha256((learner_cache / "big" / "data.bin").read_bytes()).hexdigest()
        == hashlib.sha256(body).hexdigest()
    )
    check = subprocess.run(
        [
            str(python),
            "-c",
            "import room_big, pathlib; print(pathlib.Path(room_big.__file__).parent"
            ".joinpath('payload.bin').stat().st_size)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.stdout.strip() == "24000000", check.stderr


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
