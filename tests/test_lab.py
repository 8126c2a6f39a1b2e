"""`make lab` starts JupyterLab on localhost with its token on; we fetch /lab and stop it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.harness import free_port, http_status, isolated_jupyter_env, make_server

TOKEN = "test-token-7c1f"


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with make_server(
        ["lab", f"LAB_ARGS=--no-browser --port={port}"],
        f"{base}/api/status?token={TOKEN}",
        tmp_path / "lab.log",
        env=isolated_jupyter_env(tmp_path, TOKEN),
    ):
        yield base


@pytest.mark.slow
def test_lab_serves_with_token_and_refuses_without(lab_server: str) -> None:
    assert http_status(f"{lab_server}/lab?token={TOKEN}") == 200
    assert http_status(f"{lab_server}/api/contents?token={TOKEN}") == 200
    assert http_status(f"{lab_server}/api/contents") == 403
    assert http_status(f"{lab_server}/api/contents?token=wrong") == 403
