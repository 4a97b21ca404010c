"""JupyterLab smoke test: what `make lab` gives a learner, driven through the server's API.

Start JupyterLab with tools/lab.sh (the command `make lab` runs) on a free loopback port, check
what the course's settings promise (the printed URL opens notebook 00, the server's root is
the repository, the jupytext twins are not listed, only the course kernel), start the
course kernel ``transformers-course`` through the REST API, run a cell over the kernel's
websocket channel and read its output, delete the kernel, and shut the server down cleanly.
Every wait is bounded; the server is always stopped.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

import pytest
import requests
import websocket  # websocket-client, a dependency of jupyter_server

import course_utils
from tests.browser_support import REPO, start_lab, stop_lab
from tests.local_mirror import free_port

KERNEL = "transformers-course"


@pytest.fixture
def lab(tmp_path):
    """JupyterLab started exactly as `make lab` starts it (tools/lab.sh, without a browser):
    ``(base_url, token, process, printed_url)``; stopped afterwards."""
    server = start_lab(REPO, free_port(), tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if (
                    requests.get(
                        f"{server.base}/api/status", params={"token": server.token}, timeout=5
                    ).status_code
                    == 200
                ):
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer /api/status within 90 s:\n{server.log.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield server.base, server.token, server.process, server.url
    finally:
        stop_lab(server.process)


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
    base, token, process, printed_url = lab
    assert printed_url.startswith(f"{base}/lab/tree/notebooks/00_start_here.ipynb?token="), printed_url
    auth = {"Authorization": f"token {token}"}
    assert requests.get(f"{base}/api/status", timeout=10).status_code == 403  # the token is required
    specs = requests.get(f"{base}/api/kernelspecs", headers=auth, timeout=10).json()
    assert sorted(specs["kernelspecs"]) == [KERNEL]  # ipykernel's "Python 3" is not offered
    top = {
        item["name"]
        for item in requests.get(f"{base}/api/contents/", headers=auth, timeout=10).json()["content"]
    }
    assert {"notebooks", "solutions", "docs", "README.md"} <= top, top  # rooted at the repository
    lessons = [
        item["name"]
        for item in requests.get(f"{base}/api/contents/notebooks", headers=auth, timeout=10).json()["content"]
    ]
    assert "00_start_here.ipynb" in lessons and not [n for n in lessons if n.endswith(".py")], lessons
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
