"""Servers and a browser for the code that drives the tutorial the way a reader does.

``make lab`` and ``make app`` are started as a reader starts them, on a free local port and
in their own process group, and Debian's Chromium is launched headless through Playwright
with one set of flags. Support code for tests and measurements, not for the notebooks, so
it stays out of ``gan_helpers``. ``benchmarks/explorer_latency.py`` imports it as its
neighbour, ``harness``; ``tests/test_browser.py`` and ``tests/test_lab.py`` as
``benchmarks.harness``, which works because pytest puts the project root on ``sys.path`` for
the ``conftest.py`` there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# The checkout, found from this file rather than through gan_helpers: importing the package
# loads TensorFlow, which the benchmark's browser half has no use for.
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: containers and CI machines often run as root, where Chromium's sandbox refuses
# to start. No GPU: headless machines have none. The rest turns off Chromium's own traffic
# (QUIC, first-run pages, component updates, sync): only the page under test talks to a server.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class ServerError(RuntimeError):
    """A server started with :func:`make_server` exited early or never answered."""


def chromium_launch_args() -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch``: Debian's Chromium, headless."""
    return {"executable_path": str(CHROMIUM), "headless": True, "args": list(CHROMIUM_ARGS)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 5) -> int:
    """The HTTP status ``url`` answers with, error codes included; ``OSError`` if none."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:  # an answer, even if an error code
        return error.code


def isolated_jupyter_env(home: Path, token: str) -> dict[str, str]:
    """The environment for a Jupyter server whose files all live under ``home``.

    The server then never reads the user's Jupyter settings nor writes next to them, and
    ``token`` is the one it requires.
    """
    return {
        **os.environ,
        "JUPYTER_TOKEN": token,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }


@contextlib.contextmanager
def make_server(
    make_args: Sequence[str],
    ready_url: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    start_seconds: float = 120,
) -> Iterator[subprocess.Popen]:
    """Run ``make <make_args>`` at the project root until the ``with`` block ends.

    Yields the process once ``ready_url`` answers at all (any HTTP status). Its output goes
    to ``log_path``. Raises :class:`ServerError`, with the log, if make exits first or
    nothing answers within ``start_seconds``. On the way out the whole process group (make,
    the server and its kernels) gets SIGTERM, then SIGKILL after 30 s.
    """
    target = make_args[0]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", *make_args],
            cwd=ROOT,
            env=None if env is None else dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so make, the server and its kernels stop together
        )
        try:
            deadline = time.monotonic() + start_seconds
            while True:
                try:
                    http_status(ready_url)
                    break
                except OSError:
                    pass
                if process.poll() is not None:
                    raise ServerError(f"make {target} exited early:\n{log_path.read_text()}")
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"make {target} did not answer at {ready_url} within "
                        f"{start_seconds:.0f} s:\n{log_path.read_text()}"
                    )
                time.sleep(0.5)
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
