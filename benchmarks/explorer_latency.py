"""Latent explorer latency: from a slider move in the browser to the new digit on screen.

Starts the Voilà app (``make app``) on a free local port, opens it in Debian's headless
Chromium through Playwright, holds the first direction slider's handle of one explorer (the
unconditional DCGAN's or the conditional one's, ``--explorer``) with the mouse and moves it
back and forth in small steps. For each move the page itself records the time from
the ``pointermove`` event to the first frame painted after the new picture was decoded
(``img.decode()``, then a frame and a task), and the script waits for that picture before
the next move, so moves never queue up. Prints p50, p95 and max over the moves (goal:
p95 <= 150 ms), then, in this process with the server stopped, the time of the pieces of one
redraw in the kernel: one generator call, one PNG encode, one nearest-neighbour search.
Run it under ``flock /tmp/cpu.lock`` when other work shares the machine: it times the CPU.

Run: ``make bench-latency`` (``BENCH_ARGS="--moves 100"``; ``--screenshot docs/x.png`` also
saves a picture of the app). This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from harness import ServerError, chromium_launch_args, free_port, make_server

# Installed once the explorer is on the page: the pointermove that starts a move stamps t0,
# and the first frame after the new picture is decoded closes it.
INSTRUMENT = """(selector) => {
  const image = document.querySelector(selector + " img.explorer-image");
  const state = { started: null, samples: [] };
  window.latency = state;
  document.addEventListener("pointermove", () => {
    if (state.started === null) state.started = performance.now();
  }, true);
  new MutationObserver(() => {
    const started = state.started;
    if (started === null) return;
    image.decode().catch(() => {}).then(() => requestAnimationFrame(() => {
      const channel = new MessageChannel();  // runs after the frame has been painted
      channel.port1.onmessage = () => {
        state.samples.push(performance.now() - started);
        state.started = null;
      };
      channel.port2.postMessage(null);
    }));
  }).observe(image, { attributes: true, attributeFilter: ["src"] });
}"""


def measure_in_browser(
    url: str, explorer: str, moves: int, screenshot: Path | None
) -> tuple[list[float], int]:
    """Latencies in ms of ``moves`` slider moves, and how many moves showed no new picture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_launch_args())
        page = browser.new_page(viewport={"width": 1000, "height": 600})
        started = time.perf_counter()
        page.goto(url)
        selector = f".latent-explorer.explorer-{explorer}"
        page.wait_for_selector(f"{selector} img.explorer-image[src^='blob:']", timeout=180_000)
        print(f"page load to the explorer's first picture: {time.perf_counter() - started:.1f} s")
        page.wait_for_timeout(1000)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.locator(selector).screenshot(path=screenshot)
            print(f"saved {screenshot} ({screenshot.stat().st_size // 1024} kB)")
        page.locator(selector).scroll_into_view_if_needed()
        page.evaluate(INSTRUMENT, selector)

        box = page.locator(f"{selector} .explorer-slider-0 .noUi-handle").bounding_box()
        assert box is not None
        x0, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x0, y)
        page.mouse.down()
        missed, offset, step = 0, 0, 6
        for _ in range(moves):
            if abs(offset + step) > 60:  # bounce between -60 and +60 px around the middle
                step = -step
            offset += step
            count = page.evaluate("window.latency.samples.length")
            page.mouse.move(x0 + offset, y)
            try:
                page.wait_for_function(
                    f"window.latency.samples.length > {count}", polling="raf", timeout=5000
                )
            except Exception:  # the move changed no pixel, or the picture never came
                missed += 1
                page.evaluate("window.latency.started = null")
            page.wait_for_timeout(50)
        page.mouse.up()
        samples = page.evaluate("window.latency.samples")
        browser.close()
    return samples, missed


def timed(function: Callable[[], object], repeats: int) -> float:
    """Median milliseconds of ``function()`` over ``repeats`` calls, after one warm-up."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure_kernel_parts(explorer: str, repeats: int) -> dict[str, float]:
    """Median ms of each part of one redraw, measured here as the kernel does it."""
    from gan_helpers import models
    from gan_helpers.explorer import LatentExplorer, TrainingDigits, png_bytes
    from gan_helpers.pretrained import load_pretrained

    generator = load_pretrained("cdcgan" if explorer == "conditional" else "dcgan")
    digit = 3 if models.is_conditional(generator) else None
    latent = np.random.default_rng(0).standard_normal((1, models.latent_dim_of(generator)))
    latent = latent.astype(np.float32)
    image = models.generate(generator, latent, digit)
    training = TrainingDigits()
    whole = LatentExplorer(generator, training)
    return {
        "one generator call (models.generate)": timed(
            lambda: models.generate(generator, latent, digit), repeats
        ),
        "one PNG encode (Pillow, 168 x 168)": timed(lambda: png_bytes(image[0]), repeats),
        "one nearest-neighbour search (60,000 digits)": timed(
            lambda: training.nearest(image), repeats
        ),
        "one whole redraw in the kernel (all of it, plus widget updates)": timed(
            whole.render, repeats
        ),
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60, help="slider moves to time (>= 50)")
    parser.add_argument(
        "--explorer",
        choices=("unconditional", "conditional"),
        default="conditional",
        help="whose slider to move: the DCGAN's or the conditional DCGAN's",
    )
    parser.add_argument("--repeats", type=int, default=200, help="repeats of each kernel part")
    parser.add_argument("--screenshot", type=Path, help="also save a picture of the app here")
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(Path(home) / "runtime")}
        app = make_server(
            ["app", f"APP_PORT={port}"],
            f"{url}voila/static/extension.js",  # a light URL: "/" would run the notebook
            Path(home) / "app.log",
            env=env,
        )
        try:
            with app:
                samples, missed = measure_in_browser(
                    url, args.explorer, args.moves, args.screenshot
                )
        except ServerError as error:
            raise SystemExit(f"the app did not start: {error}") from None

    print(
        f"\nslider move -> new picture on screen, {args.explorer} explorer, Voilà in headless "
        f"Chromium, {len(samples)} moves ({missed} showed no new picture):"
    )
    print(
        f"  p50 {percentile(samples, 50):.0f} ms   p95 {percentile(samples, 95):.0f} ms   "
        f"max {max(samples):.0f} ms   (goal: p95 <= 150 ms)"
    )
    print("\nparts of one redraw in the kernel (median):")
    for name, milliseconds in measure_kernel_parts(args.explorer, args.repeats).items():
        print(f"  {name:66} {milliseconds:6.2f} ms")


if __name__ == "__main__":
    main()
