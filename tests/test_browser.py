"""The latent explorer in a real browser: JupyterLab (`make lab`) and the Voilà app (`make app`).

Debian's Chromium (/usr/bin/chromium; `.ci/run` installs it) is driven by Playwright through
pytest-playwright's fixtures. Each test starts the server the way a user would, waits for the
explorer's image, drags the first direction slider with the mouse and checks that the picture
on screen changed; in the app it also picks another category in the category menu. The image
is served as a blob: URL, so pixels are compared (element screenshots), not URLs. Screenshots
before and after go to ``test-artifacts/``.
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

from benchmarks.harness import (
    CHROMIUM,
    chromium_launch_args,
    free_port,
    isolated_jupyter_env,
    make_server,
)
from gan_helpers.paths import project_root

TOKEN = "browser-test-token-5e2a"
NOTEBOOK = "09_latent_explorer.ipynb"
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
    return {**browser_type_launch_args, **chromium_launch_args()}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


# --------------------------------------------------------------------------------------
# Servers


@contextlib.contextmanager
def serve(make_args: list[str], ready_url: str, home: Path) -> Iterator[None]:
    """Run ``make <make_args>`` with its Jupyter files under ``home`` until the block ends."""
    with make_server(make_args, ready_url, home / "server.log", isolated_jupyter_env(home, TOKEN)):
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
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    before = notebook_digest()
    ready = f"{base}/api/status?token={TOKEN}"
    with serve(["lab", f"LAB_ARGS=--no-browser --port={port}"], ready, tmp_path):
        yield base
    assert notebook_digest() == before, "the browser session wrote to the notebook"


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # A light URL to poll: fetching "/" would run the whole notebook in a kernel.
    with serve(["app", f"APP_PORT={port}"], f"{base}/voila/static/extension.js", tmp_path):
        yield f"{base}/"


# --------------------------------------------------------------------------------------
# The check both tests make


def drag_slider_changes_picture(page: Page, name: str) -> None:
    """Drag direction 1 with the mouse; the generated digit on screen must change."""
    ARTIFACTS.mkdir(exist_ok=True)
    image = page.locator("img.explorer-image")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"), timeout=EXPLORER_SECONDS * 1000)
    image.scroll_into_view_if_needed()
    before = stable_screenshot(image, ARTIFACTS / f"{name}_before.png")

    handle = page.locator(".explorer-slider-0 .noUi-handle")
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

    # The new picture arrives after a round trip to the kernel: poll the pixels.
    deadline = time.monotonic() + 30
    after = before
    while after == before and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        after = image.screenshot()
    (ARTIFACTS / f"{name}_after.png").write_bytes(after)
    page.screenshot(path=ARTIFACTS / f"{name}_page.png")
    if after == before:
        pytest.fail(f"the picture did not change after dragging the slider to {moved}")


def choosing_a_category_changes_picture(page: Page, name: str) -> None:
    """Pick another category in the menu; the digit and the category read-out must change."""
    image = page.locator("img.explorer-image")
    readout = page.locator(".explorer-readout")
    expect(readout).to_contain_text(re.compile(r"latent category \d"))
    match = re.search(r"latent category (\d)", readout.inner_text())
    assert match is not None
    other = str((int(match.group(1)) + 1) % 10)
    before = stable_screenshot(image, ARTIFACTS / f"{name}_category_before.png")
    page.locator(".explorer-category select").select_option(label=other)
    expect(readout).to_contain_text(f"latent category {other}", timeout=30_000)
    after = stable_screenshot(image, ARTIFACTS / f"{name}_category_after.png")
    assert after != before, f"the picture did not change when category {other} was chosen"


def stable_screenshot(image: Locator, path: Path) -> bytes:
    """The element's pixels once two screenshots in a row agree (the picture has settled)."""
    previous, current = b"", image.screenshot()
    while current != previous:
        previous = current
        image.page.wait_for_timeout(300)
        current = image.screenshot()
    path.write_bytes(current)
    return current


# --------------------------------------------------------------------------------------
# The tests


def test_explorer_in_jupyterlab_redraws_when_a_slider_is_dragged(page: Page, lab_url: str) -> None:
    page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}?token={TOKEN}")
    idle = page.get_by_text(re.compile(r"\(ipykernel\) \| Idle$"))
    expect(idle).to_be_visible(timeout=EXPLORER_SECONDS * 1000)
    page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
    drag_slider_changes_picture(page, "lab")


def test_voila_app_redraws_when_a_slider_is_dragged(page: Page, app_url: str) -> None:
    page.goto(app_url)
    expect(page.locator(".latent-explorer")).to_be_visible(timeout=EXPLORER_SECONDS * 1000)
    # The app shows the explorer and nothing of the lesson around it, and no code.
    expect(page.locator(".jp-InputArea")).to_have_count(0)
    expect(page.get_by_text("You will learn")).to_have_count(0)
    drag_slider_changes_picture(page, "voila")
    choosing_a_category_changes_picture(page, "voila")
