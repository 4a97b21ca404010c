"""JupyterLab smoke test: what `make lab` gives a learner, driven through the server's API.

Start ``jupyter lab`` from this environment on 127.0.0.1 with a random token, start the
course kernel ``transformers-course`` through the REST API, run a cell over the kernel's
websocket channel and read its output, delete the kernel, and shut the server down cleanly.
Every wait is bounded; the server is always stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket  # websocket-client, a dependency of jupyter_server

import course_utils
from tests.local_mirror import free_port

REPO = Path(__file__).resolve().parents[1]
KERNEL = "transformers-course"


@pytest.fixture
def lab(tmp_path):
    """A running JupyterLab server: ``(base_url, token)``; stopped (cleanly if possible) afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - the server writes to it until the fixture ends
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={REPO}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",
            "--LabApp.extension_manager=readonly",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(
                    "jupyter lab exited with "
                    f"{process.returncode}:\n{(tmp_path / 'lab.log').read_text()[-3000:]}"
                )
            try:
                if requests.get(f"{base}/api/status", params={"token": token}, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer /api/status within 90 s")
            time.sleep(0.5)
        yield base, token, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log.close()


def execute(ws: websocket.WebSocket, code: str, timeout: float = 120) -> tuple[str, list[dict]]:
    """Send one execute_request over the channels websocket; return its stdout and any errors."""
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "date": "",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "buffers": [],
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            }
        )
    )
    stdout, errors, deadline = [], [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(1.0, deadline - time.monotonic()))
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream" and msg["content"]["name"] == "stdout":
            stdout.append(msg["content"]["text"])
        elif kind == "error":
            errors.append(msg["content"])
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(stdout), errors
    raise TimeoutError(f"no reply to the cell within {timeout} s")


def test_lab_runs_a_cell_in_the_course_kernel(lab):
    base, token, process = lab
    auth = {"Authorization": f"token {token}"}
    assert requests.get(f"{base}/api/status", timeout=10).status_code == 403  # the token is required
    specs = requests.get(f"{base}/api/kernelspecs", headers=auth, timeout=10).json()
    assert KERNEL in specs["kernelspecs"]
    assert requests.get(f"{base}/lab", headers=auth, timeout=30).status_code == 200  # the Lab page itself
    assert (
        requests.get(
            f"{base}/api/contents/notebooks/00_start_here.ipynb", headers=auth, timeout=10
        ).status_code
        == 200
    )

    kernel = requests.post(f"{base}/api/kernels", json={"name": KERNEL}, headers=auth, timeout=60)
    assert kernel.status_code == 201, kernel.text
    kernel_id = kernel.json()["id"]
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{base.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {token}"],
        timeout=60,
    )
    try:
        out, errors = execute(
            ws, "import sys, course_utils\nprint(course_utils.PROFILE)\nprint(sys.executable)"
        )
    finally:
        ws.close()
    assert errors == []
    assert out.split("\n")[:2] == [course_utils.PROFILE, sys.executable]

    assert requests.delete(f"{base}/api/kernels/{kernel_id}", headers=auth, timeout=30).status_code == 204
    assert requests.get(f"{base}/api/kernels", headers=auth, timeout=10).json() == []
    assert requests.post(f"{base}/api/shutdown", headers=auth, timeout=30).status_code == 200
    assert process.wait(timeout=30) == 0
