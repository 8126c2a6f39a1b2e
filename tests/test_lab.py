"""`make lab` starts JupyterLab on localhost with its token on; we fetch /lab and stop it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import harness

TOKEN = "test-token-7c1f"


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[str]:
    base = f"http://127.0.0.1:{(port := harness.free_port())}"
    with harness.make_server(
        ["lab", f"LAB_ARGS=--no-browser --port={port}"],
        f"{base}/api/status?token={TOKEN}",
        tmp_path / "lab.log",
        env=harness.isolated_jupyter_env(tmp_path, TOKEN),
    ):
        yield base


@pytest.mark.slow
def test_lab_serves_with_token_and_refuses_without(lab_server: str) -> None:
    status = harness.http_status
    assert status(f"{lab_server}/lab?token={TOKEN}") == 200
    assert status(f"{lab_server}/api/contents?token={TOKEN}") == 200
    assert status(f"{lab_server}/api/contents") == 403
    assert status(f"{lab_server}/api/contents?token=wrong") == 403
