"""The set-up's decisions and its data step (issue 11: two commands on any fresh machine).

* the lock for the platform (tools/check_platform.sh, the Makefile's LOCK), with a stub
  ``uname`` on PATH standing in for other machines;
* the Python decision (tools/find_python.sh), with stub interpreters and a stub ``uv``;
* the data step (``python -m course_utils.provision``): Debian files hidden and a loopback
  mirror; a stub ``apt-get``; no source at all (the message). Nothing but 127.0.0.1 is used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import data, provision
from tests.local_mirror import LocalMirror, closed_port_url, files_in

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"


def write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


# ---- the lock for the platform ----------------------------------------------------------------


def fake_uname(tmp_path: Path, system: str, machine: str) -> dict[str, str]:
    """An environment whose ``uname -s`` / ``uname -m`` say ``system`` / ``machine``."""
    write_script(
        tmp_path / "bin" / "uname",
        f'case "$1" in -s) echo {system};; -m) echo {machine};; *) echo {system};; esac\n',
    )
    return {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}


@pytest.mark.parametrize(
    "system, machine, lock",
    [
        ("Linux", "x86_64", "requirements.txt"),
        ("Darwin", "arm64", "requirements.universal.txt"),
        ("Darwin", "x86_64", "requirements.universal.txt"),
        ("Linux", "aarch64", "requirements.universal.txt"),
    ],
)
def test_the_lock_is_chosen_for_the_platform(tmp_path, system, machine, lock):
    env = fake_uname(tmp_path, system, machine)
    out = subprocess.run(["sh", str(TOOLS / "check_platform.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == lock
    # the Makefile uses it unless LOCK is given, and an explicit LOCK wins
    help_text = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "help"], env=env, capture_output=True, text=True
    ).stdout
    assert f"Lock for this machine: {lock} (chosen by tools/check_platform.sh)" in help_text
    other = "requirements.txt" if lock != "requirements.txt" else "requirements.universal.txt"
    help_text = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "help", f"LOCK={other}"], env=env, capture_output=True, text=True
    ).stdout
    assert f"Lock for this machine: {other} (chosen by you)" in help_text


def test_windows_is_pointed_to_wsl2(tmp_path):
    env = fake_uname(tmp_path, "MINGW64_NT-10.0-19045", "x86_64")
    out = subprocess.run(["sh", str(TOOLS / "check_platform.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == "" and "WSL2" in out.stderr and "wsl --install" in out.stderr
    help_text = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "help"], env=env, capture_output=True, text=True
    ).stdout
    assert "Lock for this machine: none" in help_text


# ---- the Python decision ------------------------------------------------------------------------


def fake_python(path: Path, version: str, can_venv: bool = False) -> Path:
    """A stub interpreter: reports ``version``; with ``can_venv``, ``-m venv DIR`` makes a venv
    whose python installs a stub ``uv`` when asked to ``-m pip install ... uv``."""
    venv = ""
    if can_venv:
        venv = (
            'if [ "$1 $2" = "-m venv" ]; then /bin/mkdir -p "$3/bin"; /bin/cat > "$3/bin/python" <<\'PY\'\n'
            "#!/bin/sh\n"
            'if [ "$1 $2 $3" = "-m pip install" ]; then d=$(/usr/bin/dirname "$0"); '
            '/bin/cp "$UV_STUB" "$d/uv"; /bin/chmod +x "$d/uv"; echo "pip $*" >> "$CALLS"; exit 0; fi\n'
            "exit 1\n"
            "PY\n"
            '/bin/chmod +x "$3/bin/python"; exit 0; fi\n'
        )
    return write_script(path, f'if [ "$1" = "-c" ]; then echo {version}; exit 0; fi\n{venv}exit 1\n')


@pytest.fixture
def sandbox(tmp_path):
    """A PATH with nothing but stub interpreters (added by the test), dirname, cat and sh; a stub uv kept
    aside (tests put it on PATH or let the bootstrap install it); a log of uv/pip calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "cat", "sh"):  # what any Unix has
        (bin_dir / tool).symlink_to(shutil.which(tool))
    calls = tmp_path / "calls.log"
    managed = fake_python(tmp_path / "uv-pythons" / "python3.11", "3.11.9")
    uv_stub = write_script(
        tmp_path / "uv-stub",
        (
            f'echo "uv $*" >> {calls}\n'
            'if [ "$1 $2" = "python install" ]; then exit 0; fi\n'
            f'if [ "$1 $2" = "python find" ]; then echo {managed}; exit 0; fi\n'
            "exit 1\n"
        ),
    )
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "UV_STUB": str(uv_stub), "CALLS": str(calls)}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        # a copy of tools/ so that the bootstrap venv lands in this test's build/, not the repo's
        tools = tmp_path / "repo" / "tools"
        if not tools.exists():
            shutil.copytree(TOOLS, tools)
        return subprocess.run(
            ["/bin/sh", str(tools / "find_python.sh"), *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    run.bin = bin_dir
    run.calls = calls
    run.managed = managed
    run.uv_stub = uv_stub
    run.repo = tmp_path / "repo"
    return run


def test_python_3_11_is_preferred_when_several_are_there(sandbox):
    fake_python(sandbox.bin / "python3.13", "3.13.0")
    fake_python(sandbox.bin / "python3.11", "3.11.7")
    fake_python(sandbox.bin / "python3", "3.12.3")
    out = sandbox()
    assert out.returncode == 0 and out.stdout.strip() == str(sandbox.bin / "python3.11")
    assert out.stderr == ""  # nothing to say about the tested version


@pytest.mark.parametrize("version", ["3.12.3", "3.13.0"])
def test_python_3_12_and_3_13_are_accepted_with_one_note(sandbox, version):
    fake_python(sandbox.bin / "python3", version)
    out = sandbox()
    assert out.returncode == 0 and out.stdout.strip() == str(sandbox.bin / "python3")
    assert out.stderr.count("CI so far tests 3.11 only") == 1 and version in out.stderr


@pytest.mark.parametrize("version", ["3.11.4", "3.10.14", "3.14.0", "2.7.18"])
def test_unsupported_pythons_are_passed_over_and_the_message_names_the_options(sandbox, version):
    fake_python(sandbox.bin / "python3", version)  # no venv/pip: cannot bootstrap uv either
    out = sandbox()
    assert out.returncode == 1 and out.stdout == ""
    for option in (
        "apt-get install python3.11-venv",
        "brew install python@3.11",
        "uv python install 3.11",
        "conda env create -f environment.yml",
        "PYTHON=/path/to/python3.11 make lab",
    ):
        assert option in out.stderr
    assert "Traceback" not in out.stderr


def test_an_unsupported_PYTHON_is_refused_even_if_another_would_do(sandbox):
    fake_python(sandbox.bin / "python3.11", "3.11.7")
    old = fake_python(sandbox.bin / "old-python", "3.10.14")
    out = sandbox(PYTHON=str(old))
    assert out.returncode == 1 and "is Python 3.10.14, not a Python this set-up supports" in out.stderr
    good = fake_python(sandbox.bin / "my-python", "3.12.3")
    assert sandbox(PYTHON=str(good)).stdout.strip() == str(good)


def test_no_python_but_uv_on_path_installs_3_11_with_uv(sandbox):
    shutil.copy(sandbox.uv_stub, sandbox.bin / "uv")
    out = sandbox()
    assert out.returncode == 0 and out.stdout.strip() == str(sandbox.managed)
    assert sandbox.calls.read_text().splitlines() == ["uv python install 3.11", "uv python find 3.11"]
    assert "Installed Python 3.11.9 with uv" in out.stderr


def test_no_python_no_uv_bootstraps_uv_with_any_python_3(sandbox):
    fake_python(sandbox.bin / "python3", "3.10.14", can_venv=True)
    out = sandbox()
    assert out.returncode == 0 and out.stdout.strip() == str(sandbox.managed), out.stderr
    calls = sandbox.calls.read_text().splitlines()
    assert calls[0].startswith("pip -m pip install") and calls[0].endswith(
        " uv"
    )  # through tools/pip_install.sh
    assert calls[1:] == ["uv python install 3.11", "uv python find 3.11"]
    assert (sandbox.repo / "build" / "uv-bootstrap" / "bin" / "uv").is_file()
    assert "installing uv" in out.stderr and "Installed Python 3.11.9 with uv" in out.stderr


def test_the_legacy_environment_asks_for_3_11_only(sandbox):
    fake_python(sandbox.bin / "python3", "3.12.3")
    shutil.copy(sandbox.uv_stub, sandbox.bin / "uv")
    out = sandbox("3.11")
    assert out.stdout.strip() == str(sandbox.managed)  # 3.12 passed over, 3.11 provisioned
    assert "uv python install 3.11" in sandbox.calls.read_text()


def test_uv_that_fails_leads_to_the_message(sandbox):
    write_script(sandbox.bin / "uv", "echo 'error: no network' >&2; exit 2\n")
    out = sandbox()
    assert (
        out.returncode == 1
        and "uv could not install Python 3.11" in out.stderr
        and "brew install python@3.11" in out.stderr
    )


# ---- the data step -------------------------------------------------------------------------------


def real_fashion_files() -> dict[str, Path]:
    """The verified Fashion-MNIST files on this machine (cache or Debian package). `make setup`
    provisions them before the tests run, so their absence is a failure, not a skip."""
    found = {}
    for entry in data.REGISTRY["fashion-mnist"]:
        for candidate in (data.cached_path(entry), data.FASHION_MNIST_DEBIAN_DIR / Path(entry.path).name):
            if data.verify(candidate, entry):
                found[entry.path] = candidate
                break
    assert len(found) == 4, "Fashion-MNIST is not on this machine: `make setup` should have provisioned it"
    return found


def data_step(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "course_utils.provision"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def fashion_mirror(tmp_path):
    root = tmp_path / "mirror"
    for path, source in real_fashion_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / path)
    server = LocalMirror(root).start()
    yield server
    server.stop()


def test_data_step_without_debian_files_downloads_from_a_loopback_mirror_once(tmp_path, fashion_mirror):
    env = {
        "COURSE_DATA_DIR": str(tmp_path / "cache"),
        "COURSE_DEBIAN_FASHION_MNIST": str(tmp_path / "no-debian"),
        "COURSE_APT_GET": "",
        "COURSE_MIRROR": fashion_mirror.url,
    }
    first = data_step(env)
    assert first.returncode == 0, first.stderr
    assert f"from a download from {fashion_mirror.url}" in first.stdout
    assert sorted(fashion_mirror.requests) == sorted(e.path for e in data.REGISTRY["fashion-mnist"])
    assert set(fashion_mirror.requests.values()) == {1}
    assert files_in(tmp_path / "cache") == sorted(e.path for e in data.REGISTRY["fashion-mnist"])
    # idempotent: the second run finds the cache and asks the mirror for nothing
    second = data_step(env)
    assert second.returncode == 0 and "from the course cache" in second.stdout
    assert set(fashion_mirror.requests.values()) == {1}


def stub_apt_get(tmp_path: Path, debian_dir: Path, works_after_update: bool) -> tuple[Path, Path]:
    """A stub apt-get: the first `install` fails as on a machine with no package lists; after
    `update`, `install` puts the real files into ``debian_dir`` (if ``works_after_update``)."""
    log = tmp_path / "apt.log"
    copies = "".join(
        f'/bin/cp "{src}" "{debian_dir}/{Path(path).name}"; ' for path, src in real_fashion_files().items()
    )
    install_ok = (
        f'/bin/mkdir -p "{debian_dir}"; {copies}exit 0'
        if works_after_update
        else "echo 'E: broken' >&2; exit 100"
    )
    stub = write_script(
        tmp_path / "stub-bin" / "apt-get",
        (
            f'echo "$* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> {log}\n'
            f'if [ "$1" = update ]; then touch {tmp_path}/updated; exit 0; fi\n'
            f"if [ -e {tmp_path}/updated ]; then {install_ok}; fi\n"
            "echo 'E: Unable to locate package dataset-fashion-mnist' >&2; exit 100\n"
        ),
    )
    return stub, log


def test_data_step_as_root_installs_the_debian_package_with_apt_get(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_MIRROR", closed_port_url())  # a download would fail
    debian = tmp_path / "debian"
    stub, log = stub_apt_get(tmp_path, debian, works_after_update=True)
    report = provision.provision(debian_dir=debian, apt_get=str(stub), is_root=True, say=lambda _: None)
    assert report.ok and "dataset-fashion-mnist, just installed" in report.source
    assert log.read_text().splitlines() == [
        "install -y -q dataset-fashion-mnist DEBIAN_FRONTEND=noninteractive",
        "update -q DEBIAN_FRONTEND=noninteractive",
        "install -y -q dataset-fashion-mnist DEBIAN_FRONTEND=noninteractive",
    ]
    assert files_in(tmp_path / "cache") == []  # the Debian files are used where they are
    again = provision.provision(debian_dir=debian, apt_get=str(stub), is_root=True, say=lambda _: None)
    assert again.ok and "Debian package's files" in again.source and len(log.read_text().splitlines()) == 3


def test_data_step_does_not_run_apt_get_unless_root(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_MIRROR", closed_port_url())
    stub, log = stub_apt_get(tmp_path, tmp_path / "debian", works_after_update=True)
    report = provision.provision(
        debian_dir=tmp_path / "debian", apt_get=str(stub), is_root=False, say=lambda _: None
    )
    assert not report.ok and not log.exists()
    assert any("sudo apt-get install dataset-fashion-mnist" in line for line in report.tried)


def test_data_step_with_no_source_at_all_gives_one_message(tmp_path):
    stub, log = stub_apt_get(tmp_path, tmp_path / "debian", works_after_update=False)
    env = {
        "COURSE_DATA_DIR": str(tmp_path / "cache"),
        "COURSE_DEBIAN_FASHION_MNIST": str(tmp_path / "no-debian"),
        "COURSE_APT_GET": str(stub),
        "COURSE_MIRROR": closed_port_url(),
    }
    out = data_step(env)
    assert out.returncode == 1 and "verified" not in out.stdout  # stdout: the steps as they run
    message = out.stderr
    assert "Traceback" not in message and message.count("is not available") == 1
    assert f"{tmp_path / 'no-debian'}: not there" in message
    if os.geteuid() == 0:  # as root the stub apt-get was tried, and said why it failed
        assert "apt-get install dataset-fashion-mnist: E: broken" in message
    else:
        assert "not running as root" in message
    assert f"download from {env['COURSE_MIRROR']}" in message
    for fix in (
        "sudo apt-get install dataset-fashion-mnist",
        "COURSE_MIRROR=",
        "make fetch NAME=fashion-mnist",
        "COURSE_DATA_DIR",
    ):
        assert fix in message
    assert files_in(tmp_path / "cache") == []  # nothing half-written


def test_ci_runs_the_readme_command_and_nothing_else():
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [ln for ln in lines if ln and not ln.startswith("#")]
    assert "make test" in commands and not any(re.search(r"\bapt(-get)?\b|\bpip\b", ln) for ln in commands)
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "setup-data: $(STAMP)\n\t@$(PY) -m course_utils.provision" in makefile
        and "setup: setup-data" in makefile
    )
