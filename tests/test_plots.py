"""The figure helpers draw what they promise, and degrade to one line without graphviz."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from gan_helpers import plots
from gan_helpers.models import build_discriminator


def test_digit_grid_lays_out_every_digit() -> None:
    images = np.random.default_rng(0).integers(0, 256, (23, 28, 28), dtype=np.uint8)
    fig = plots.digit_grid(images, ncols=10, titles=[str(i) for i in range(23)])
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 30 and len(shown) == 23
    np.testing.assert_allclose(shown[4].images[0].get_array(), images[4] / 255.0)


def test_model_range_images_are_shown_in_unit_range() -> None:
    fig = plots.digit_grid(np.full((2, 28, 28, 1), -1.0, np.float32))
    assert float(fig.axes[0].images[0].get_array().max()) == 0.0


def test_step_curves_draws_the_losses_and_the_verdicts_of_step_history() -> None:
    history = {key: list(np.linspace(0, 1, 60)) for key in ("d_loss", "g_loss", "d_real", "d_fake")}
    fig = plots.step_curves(history, smooth=10)
    assert len(fig.axes) == 2
    # Per panel: each of two curves raw and smoothed, and the equilibrium line.
    assert all(len(ax.lines) == 5 for ax in fig.axes)
    assert len(fig.axes[0].lines[1].get_xdata()) == 51  # 60 steps, averaged over 10


def test_nearest_distance_histograms_show_both_sets_and_the_threshold() -> None:
    rng = np.random.default_rng(0)
    generated, real = rng.uniform(2, 6, 300), rng.uniform(1, 7, 200)
    fig = plots.nearest_distance_histograms(generated, real, threshold=1.5)
    (ax,) = fig.axes
    heights = [sum(bar.get_height() for bar in container) for container in ax.containers]
    assert len(heights) == 2 and all(h > 0 for h in heights)
    assert [line.get_xdata()[0] for line in ax.lines] == [1.5]
    assert len(plots.nearest_distance_histograms(generated, real).axes[0].lines) == 0


def test_progress_gif_has_one_frame_per_grid(tmp_path) -> None:
    from PIL import Image

    frames = [np.full((8, 28, 28, 1), value, np.float32) for value in (-1.0, 0.0, 1.0)]
    path = plots.save_progress_gif(frames, tmp_path / "progress.gif", captions=["a", "b", "c"])
    with Image.open(path) as gif:
        assert gif.n_frames == 3


def test_architecture_diagram_without_graphviz_says_so(monkeypatch, capsys) -> None:
    monkeypatch.setattr(plots.shutil, "which", lambda name: None)
    assert plots.architecture_diagram(build_discriminator()) is None
    assert "graphviz" in capsys.readouterr().out


@pytest.mark.skipif(plots.shutil.which("dot") is None, reason="graphviz not installed")
def test_architecture_diagram_with_graphviz(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GAN_TUTORIAL_ARTIFACTS_DIR", str(tmp_path))
    image = plots.architecture_diagram(build_discriminator(), name="d")
    assert image is not None and (tmp_path / "figures" / "d.png").stat().st_size > 1000


def test_image_strip_labels_each_row_and_draws_every_digit() -> None:
    rows = {"step 1": np.zeros((4, 28, 28, 1), np.float32), "step 9": np.ones((3, 28, 28))}
    fig = plots.image_strip(rows)
    assert len(fig.axes) == 8 and sum(bool(ax.images) for ax in fig.axes) == 7
    assert [fig.axes[0].get_ylabel(), fig.axes[4].get_ylabel()] == ["step 1", "step 9"]
