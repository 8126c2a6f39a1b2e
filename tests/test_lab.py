"""`make lab` starts JupyterLab on localhost with its token on; we fetch /lab and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gan_helpers.paths import project_root

TOKEN = "test-token-7c1f"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def lab_server(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_TOKEN": TOKEN,
        "HOME": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    log = (tmp_path / "lab.log").open("w")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS=--no-browser --port={port}"],
        cwd=project_root(),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the whole group (make and jupyter) can be stopped
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make lab exited early:\n{(tmp_path / 'lab.log').read_text()}")
        try:
            http_status(f"{base}/api/status?token={TOKEN}")
            break
        except OSError:
            time.sleep(0.5)
    else:
        pytest.fail(f"JupyterLab did not answer:\n{(tmp_path / 'lab.log').read_text()}")
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


@pytest.mark.slow
def test_lab_serves_with_token_and_refuses_without(lab_server: str) -> None:
    assert http_status(f"{lab_server}/lab?token={TOKEN}") == 200
    assert http_status(f"{lab_server}/api/contents?token={TOKEN}") == 200
    assert http_status(f"{lab_server}/api/contents") == 403
    assert http_status(f"{lab_server}/api/contents?token=wrong") == 403
