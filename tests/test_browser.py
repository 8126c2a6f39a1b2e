"""The latent explorer in a real browser: JupyterLab (`make lab`) and the Voilà app (`make app`).

Debian's Chromium (/usr/bin/chromium; `.ci/run` installs it) is driven by Playwright through
pytest-playwright's fixtures. Each test starts the server the way a user would, waits for an
explorer's image, drags its first direction slider with the mouse and checks that the picture
on screen changed; in the app it also picks another digit in the conditional explorer's digit
menu. The image is served as a blob: URL, so pixels are compared (element screenshots), not
URLs. Screenshots before and after go to ``test-artifacts/``. Without the browser the tests
are skipped, except under CI (the CI variable set), where a missing browser fails them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from benchmarks import harness
from gan_helpers.paths import project_root

CHROMIUM = harness.CHROMIUM

TOKEN = "browser-test-token-5e2a"
NOTEBOOK = "11_latent_explorer.ipynb"
EXPLORER_SECONDS = 150  # from page load to the explorer's first picture (kernel, model, data)
ARTIFACTS = project_root() / "test-artifacts"

# JupyterLab settings for the throw-away config dir: no news pop-up over the page, no
# autosave (the test edits the notebook's outputs in the browser and must never write them
# back), and every cell attached to the DOM so the widget is there to be found.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium (sudo apt install chromium)",
    ),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches Debian's Chromium, headless, with these flags."""
    return {**browser_type_launch_args, **harness.chromium_launch_args()}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


# --------------------------------------------------------------------------------------
# Servers


@contextlib.contextmanager
def serve(make_args: list[str], ready_url: str, home: Path) -> Iterator[None]:
    """Run ``make <make_args>`` with its Jupyter files under ``home`` until the block ends."""
    with harness.make_server(
        make_args, ready_url, home / "server.log", harness.isolated_jupyter_env(home, TOKEN)
    ):
        yield


def notebook_digest() -> str:
    return hashlib.sha256((project_root() / "notebooks" / NOTEBOOK).read_bytes()).hexdigest()


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    for plugin, settings in LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        path = (
            tmp_path / "config" / "lab" / "user-settings" / package / f"{name}.jupyterlab-settings"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    before = notebook_digest()
    ready = f"{base}/api/status?token={TOKEN}"
    with serve(["lab", f"LAB_ARGS=--no-browser --port={port}"], ready, tmp_path):
        yield base
    assert notebook_digest() == before, "the browser session wrote to the notebook"


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    # A light URL to poll: fetching "/" would run the whole notebook in a kernel.
    with serve(["app", f"APP_PORT={port}"], f"{base}/voila/static/extension.js", tmp_path):
        yield f"{base}/"


# --------------------------------------------------------------------------------------
# The checks


def drag_slider_changes_picture(page: Page, explorer: str, name: str) -> None:
    """Drag direction 1 of ``explorer`` (a CSS selector) with the mouse: its digit must change."""
    ARTIFACTS.mkdir(exist_ok=True)
    image = page.locator(f"{explorer} img.explorer-image")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"), timeout=EXPLORER_SECONDS * 1000)
    image.scroll_into_view_if_needed()
    before = stable_screenshot(image, ARTIFACTS / f"{name}_before.png")

    handle = page.locator(f"{explorer} .explorer-slider-0 .noUi-handle")
    expect(handle).to_have_attribute("role", "slider")
    start = float(handle.get_attribute("aria-valuenow"))
    box = handle.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 50, y, steps=10)
    page.mouse.up()
    moved = float(handle.get_attribute("aria-valuenow"))
    assert moved > start, f"the handle did not move (aria-valuenow {start} -> {moved})"
    after = changed_screenshot(image, before, ARTIFACTS / f"{name}_after.png")
    page.screenshot(path=ARTIFACTS / f"{name}_page.png")
    if after == before:
        pytest.fail(f"the picture did not change after dragging the slider to {moved}")


def choosing_a_digit_changes_picture(page: Page, explorer: str, name: str) -> None:
    """Pick another digit in the conditional explorer's menu: its digit must change."""
    image = page.locator(f"{explorer} img.explorer-image")
    menu = page.locator(f"{explorer} .explorer-digit select")
    other = str((int(menu.input_value()) + 1) % 10)
    before = stable_screenshot(image, ARTIFACTS / f"{name}_digit_before.png")
    menu.select_option(label=other)
    after = changed_screenshot(image, before, ARTIFACTS / f"{name}_digit_after.png")
    assert after != before, f"the picture did not change when digit {other} was chosen"


def stable_screenshot(image: Locator, path: Path) -> bytes:
    """The element's pixels once two screenshots in a row agree (the picture has settled)."""
    previous, current = b"", image.screenshot()
    while current != previous:
        previous = current
        image.page.wait_for_timeout(300)
        current = image.screenshot()
    path.write_bytes(current)
    return current


def changed_screenshot(
    image: Locator, before: bytes, path: Path, seconds: float = EXPLORER_SECONDS
) -> bytes:
    """The element's pixels once they differ from ``before`` (a round trip to the kernel).

    As long a wait as for the first picture: in JupyterLab, "Run All Cells" queues the
    notebook's later cells ahead of the slider's message, and the kernel answers it only after
    them (over 30 s on a slow machine). How fast a redraw is, the latency benchmark measures.
    """
    deadline = time.monotonic() + seconds
    after = before
    while after == before and time.monotonic() < deadline:
        image.page.wait_for_timeout(250)
        after = image.screenshot()
    path.write_bytes(after)
    return after


# --------------------------------------------------------------------------------------
# The tests

UNCONDITIONAL = ".latent-explorer.explorer-unconditional"
CONDITIONAL = ".latent-explorer.explorer-conditional"


def test_explorer_in_jupyterlab_redraws_when_a_slider_is_dragged(page: Page, lab_url: str) -> None:
    page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}?token={TOKEN}")
    idle = page.get_by_text(re.compile(r"\(ipykernel\) \| Idle$"))
    expect(idle).to_be_visible(timeout=EXPLORER_SECONDS * 1000)
    page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
    drag_slider_changes_picture(page, UNCONDITIONAL, "lab")


def test_voila_app_redraws_when_a_slider_is_dragged_or_a_digit_chosen(
    page: Page, app_url: str
) -> None:
    page.goto(app_url)
    expect(page.locator(CONDITIONAL)).to_be_visible(timeout=EXPLORER_SECONDS * 1000)
    # The app shows the explorers and nothing of the lesson around them, and no code.
    expect(page.locator(".latent-explorer")).to_have_count(2)
    expect(page.locator(".jp-InputArea")).to_have_count(0)
    expect(page.get_by_text("You will learn")).to_have_count(0)
    drag_slider_changes_picture(page, UNCONDITIONAL, "voila")
    drag_slider_changes_picture(page, CONDITIONAL, "voila_conditional")
    choosing_a_digit_changes_picture(page, CONDITIONAL, "voila")
