"""The command-line tools: ``python -m course_utils.fetch | serve | doctor``.

Downloads go to a local HTTP server on 127.0.0.1 (``COURSE_MIRROR``), never the internet;
the cache is in ``tmp_path`` (``COURSE_DATA_DIR``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from course_utils import data, doctor, fetch
from tests.local_mirror import add_file, closed_port_url, files_in, mirror  # noqa: F401 (fixture)

BODY = bytes(range(256)) * 200
DEBIAN_FASHION = all(
    data.verify(data.FASHION_MNIST_DEBIAN_DIR / Path(e.path).name, e) for e in data.REGISTRY["fashion-mnist"]
)
needs_debian_fashion = pytest.mark.skipif(
    not DEBIAN_FASHION, reason="needs the Debian package dataset-fashion-mnist"
)


def run_module(
    module: str, *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


@pytest.fixture
def toy(mirror, monkeypatch):
    """Two small registered data sets served by the local mirror."""
    monkeypatch.setitem(
        data.REGISTRY, "toy", [add_file(mirror.root, f"toy/part{i}.bin", BODY[i:]) for i in range(2)]
    )
    monkeypatch.setitem(data.REGISTRY, "toy-broken", [add_file(mirror.root, "toy-broken/file.bin", BODY)])
    mirror.faults["toy-broken/file.bin"] = "error"
    return mirror


# ---- fetch ---------------------------------------------------------------------------------


def test_fetch_downloads_verifies_and_reports(toy, tmp_path, capsys):
    assert fetch.main(["toy", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^toy\s+2\s+102\.4 kB\s+downloaded$", out, re.M), out
    assert files_in(tmp_path / "cache") == ["toy/part0.bin", "toy/part1.bin"]

    assert fetch.main(["toy", "--no-progress"]) == 0  # a second run downloads nothing
    assert re.search(r"^toy\s+2\s+102\.4 kB\s+cached$", capsys.readouterr().out, re.M)
    assert toy.requests["toy/part0.bin"] == 1


def test_fetch_failure_shows_the_fix_and_exits_non_zero(toy, tmp_path, capsys):
    assert fetch.main(["toy", "toy-broken", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^toy\s+2 .*downloaded$", out, re.M)
    assert re.search(r"^toy-broken\s+1 .*FAILED$", out, re.M)
    assert (
        "toy-broken: toy-broken/file.bin is not in the course cache" in out and "500" in out and "Fix:" in out
    )
    assert "1 of 2 failed: toy-broken" in out
    assert (
        not (tmp_path / "cache" / "toy-broken").exists() or files_in(tmp_path / "cache" / "toy-broken") == []
    )


def test_fetch_list_and_unknown_names(toy, capsys):
    assert fetch.main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("fashion-mnist", "imdb", "flowers", "vit-b32", "toy"):
        assert re.search(rf"^{re.escape(name)}\s", out, re.M), out
    assert toy.requests == {}  # listing downloads nothing
    with pytest.raises(SystemExit) as info:
        fetch.main(["no-such-data"])
    assert info.value.code == 2
    assert "unknown data set(s) no-such-data" in capsys.readouterr().err


def test_fetch_fashion_mnist_from_a_mirror_serving_debians_recompressed_files(
    mirror, monkeypatch, tmp_path, capsys
):
    if not DEBIAN_FASHION:
        pytest.skip("needs the Debian package dataset-fashion-mnist as the mirror's content")
    for entry in data.REGISTRY[
        "fashion-mnist"
    ]:  # the mirror holds Debian's copies (other .gz bytes, same content)
        target = mirror.root / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((data.FASHION_MNIST_DEBIAN_DIR / Path(entry.path).name).read_bytes())
    monkeypatch.setattr(
        data, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-debian-package"
    )  # a learner's laptop
    assert fetch.main(["fashion-mnist", "--no-progress"]) == 0
    assert re.search(r"^fashion-mnist\s+4\s+30\.\d MB\s+downloaded$", capsys.readouterr().out, re.M)
    assert data.is_cached("fashion-mnist")
    assert sum(mirror.requests.values()) == 4


@needs_debian_fashion
def test_fetch_cli_copies_fashion_mnist_from_the_debian_package(tmp_path):
    env = {"COURSE_DATA_DIR": str(tmp_path / "cache"), "COURSE_MIRROR": closed_port_url()}
    run = run_module("course_utils.fetch", "fashion-mnist", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^fashion-mnist\s+4\s+30\.\d MB\s+copied from the Debian package$", run.stdout, re.M), (
        run.stdout
    )
    assert files_in(tmp_path / "cache") == sorted(e.path for e in data.REGISTRY["fashion-mnist"])


def test_fetch_cli_offline_fails_with_the_fix(tmp_path):
    env = {"COURSE_DATA_DIR": str(tmp_path / "cache"), "COURSE_MIRROR": closed_port_url()}
    run = run_module("course_utils.fetch", "imdb", "--no-progress", env=env)
    assert run.returncode == 1
    assert re.search(r"^imdb\s+1\s+84\.1 MB\s+FAILED$", run.stdout, re.M), run.stdout
    assert "Fix: check COURSE_MIRROR=" in run.stdout and "`make fetch NAME=imdb`" in run.stdout
    assert "Traceback" not in run.stderr


# ---- serve ---------------------------------------------------------------------------------


def _start_server(cache: Path) -> tuple[subprocess.Popen, str, list[str]]:
    """Start ``serve`` on a free loopback port; return the process, its COURSE_MIRROR URL, its output."""
    env = {**os.environ, "COURSE_DATA_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "course_utils.serve", "--bind", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl+C"):
            mirror_line = next(x for x in lines if "export COURSE_MIRROR=" in x)
            return process, mirror_line.split("=", 1)[1].strip(), lines
    process.kill()
    raise AssertionError("serve did not start:\n" + "\n".join(lines))


@needs_debian_fashion
def test_serve_shares_the_cache_with_a_room(tmp_path, monkeypatch):
    instructor = tmp_path / "instructor-cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(instructor))
    data.copy_into_cache("fashion-mnist", data.FASHION_MNIST_DEBIAN_DIR)
    process, url, lines = _start_server(instructor)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert f"    export COURSE_MIRROR={url}" in lines
        for entry in data.REGISTRY["fashion-mnist"]:
            assert any(line.strip().startswith(entry.path) for line in lines)
        with urllib.request.urlopen(f"{url}/", timeout=10) as index:
            assert index.read().decode().split() == sorted(e.path for e in data.REGISTRY["fashion-mnist"])
        with pytest.raises(urllib.error.HTTPError) as not_served:
            urllib.request.urlopen(f"{url}/recorded-hashes.json", timeout=10)
        assert not_served.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as read_only:
            urllib.request.urlopen(
                urllib.request.Request(f"{url}/fashion-mnist/x", data=b"x", method="PUT"), timeout=10
            )
        assert read_only.value.code == 501

        # a learner: empty cache, COURSE_MIRROR from the printed line
        monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "learner-cache"))
        monkeypatch.setenv("COURSE_MIRROR", url)
        entry = next(e for e in data.REGISTRY["fashion-mnist"] if "t10k-labels" in e.path)
        path = data.fetch_file(entry, progress=False)
        assert path.read_bytes() == (instructor / entry.path).read_bytes()
        assert data.verify(path, entry)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Stopped." in out


def test_serve_refuses_an_empty_cache(tmp_path):
    run = run_module(
        "course_utils.serve",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        env={"COURSE_DATA_DIR": str(tmp_path / "empty")},
        timeout=30,
    )
    assert run.returncode == 1
    assert "Nothing to serve" in run.stderr and "Fix: run `make fetch`" in run.stderr


# ---- doctor --------------------------------------------------------------------------------


def test_doctor_quick_passes_here():
    run = run_module("course_utils.doctor", "--quick", env={}, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All checks passed" in run.stdout
    for name in ("Python", "keras", "vit-keras", "kernel", "movie reviews", "Fashion-MNIST", "cache folder"):
        assert re.search(rf"^  ok\s+{re.escape(name)}\s", run.stdout, re.M), run.stdout
    assert "CPU probe" not in run.stdout


def test_doctor_names_the_fix_when_the_data_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(data, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-debian-package")
    assert doctor.main(["--quick"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^  PROBLEM\s+Fashion-MNIST\s", out, re.M), out
    assert (
        "fix: run `make fetch NAME=fashion-mnist`" in out and "apt-get install dataset-fashion-mnist" in out
    )
    assert re.search(
        r"^  note\s+imdb\s+.*`make fetch NAME=imdb`", out, re.M
    )  # optional in the default profile
    assert "1 problem(s)" in out


def test_doctor_full_profile_needs_the_full_data(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "empty-cache"))
    check = doctor.check_optional_data("imdb", profile="full")
    assert check.status == "problem" and check.fix == "run `make fetch NAME=imdb` downloads it"


def test_doctor_cache_folder_problems(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_DATA_DIR", str(blocker / "cache"))
    check = doctor.check_cache_folder()
    assert check.status == "problem" and "is a file" in check.detail and "COURSE_DATA_DIR" in check.fix
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "fresh"))
    assert doctor.check_cache_folder().status == "ok"
    assert not (tmp_path / "fresh").exists()  # checking creates nothing


def test_doctor_python_and_package_versions():
    assert doctor.check_python((3, 11, 7)).status == "ok"
    for version in ((3, 12, 1), (3, 13, 0)):
        check = doctor.check_python(version)
        assert check.status == "ok" and "CI so far tests 3.11 only" in check.detail
    for version in ((3, 10, 14), (3, 11, 2), (3, 14, 0)):
        check = doctor.check_python(version)
        assert (
            check.status == "problem"
            and "3.11.5 or newer), 3.12 or 3.13" in check.detail
            and "make setup" in check.fix
        )
    pins = doctor.locked_versions()
    assert {"keras", "vit-keras", "numpy", "pooch"} <= set(pins)
    checks = {c.name: c for c in doctor.check_packages({**pins, "keras": "0.0.1"})}
    assert (
        checks["keras"].status == "problem"
        and "pins 0.0.1" in checks["keras"].detail
        and "make setup" in checks["keras"].fix
    )
    assert checks["numpy"].status == "ok"


def test_doctor_kernel_missing(monkeypatch):
    monkeypatch.setattr(doctor, "KERNEL_NAME", "no-such-course-kernel")
    check = doctor.check_kernel()
    assert check.status == "problem" and "not registered" in check.detail and "ipykernel install" in check.fix


def test_doctor_shipped_weights(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    assert [c.status for c in doctor.check_weights(weights)] == ["note"]  # nothing shipped: nothing to check
    blob = b"\x89HDF\r\n\x1a\n" + BODY
    (weights / "tiny.json").write_text(json.dumps({"sha256": data.hashlib.sha256(blob).hexdigest()}))
    [missing] = doctor.check_weights(weights)
    assert (
        missing.status == "problem" and "missing" in missing.detail and "course_utils.pretrain" in missing.fix
    )
    (weights / "tiny.weights.h5").write_bytes(blob)
    assert [c.status for c in doctor.check_weights(weights)] == ["ok"]
    (weights / "tiny.weights.h5").write_bytes(blob[:-1])
    [damaged] = doctor.check_weights(weights)
    assert damaged.status == "problem" and "does not match" in damaged.detail


@pytest.mark.slow
def test_doctor_cpu_probe_runs_a_real_workload(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    start = time.perf_counter()
    probe = doctor.cpu_probe(repeats=2)
    elapsed = time.perf_counter() - start
    assert set(probe["parts"]) == set(doctor.PROBE_PARTS)
    for part in probe["parts"].values():
        assert len(part["wall"]) == len(part["cpu"]) == 2
        assert all(s > 0 for s in part["wall"])
    timed = sum(sum(p["wall"]) for p in probe["parts"].values()) + sum(probe["warmup"].values())
    assert timed < elapsed  # the child's timings fit inside the time the parent waited
    assert doctor.read_saved_probe() == probe  # saved for the budget report
