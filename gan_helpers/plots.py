"""Figures for the notebooks, drawn with matplotlib, so that the notebooks can stay about GANs."""

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.figure import Figure

from gan_helpers.data import to_unit_range
from gan_helpers.paths import artifacts_dir

_REAL_COLOUR = "#1f77b4"
_FAKE_COLOUR = "#d62728"


def _as_unit_images(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28[, 1]) images in [-1, 1] or uint8 -> (N, 28, 28) floats in [0, 1]."""
    images = to_unit_range(images)
    return images[..., 0] if images.ndim == 4 else images


def digit_grid(
    images: np.ndarray,
    *,
    ncols: int = 10,
    titles: Sequence[str] | None = None,
    suptitle: str | None = None,
) -> Figure:
    """A grid of digits (uint8 or in [-1, 1]), white on black, ``titles`` over them (notebook 2)."""
    digits = _as_unit_images(images)
    nrows = int(np.ceil(len(digits) / ncols))
    size = (ncols * 0.9, nrows * 0.9 * (1.2 if titles else 1.0))  # inches
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(digits):
            ax.imshow(digits[index], cmap="gray", vmin=0.0, vmax=1.0)
            if titles is not None:
                ax.set_title(titles[index], fontsize=8, pad=2)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout(pad=0.3)
    return fig


def image_strip(rows: Mapping[str, np.ndarray]) -> Figure:
    """Labelled rows of digits, one row per entry of ``rows`` (notebook 6)."""
    names = list(rows)
    ncols = max(len(row) for row in rows.values())
    size = (ncols * 0.9, len(names) * 0.9)  # inches
    fig, axes = plt.subplots(len(names), ncols, figsize=size, squeeze=False)
    for row_axes, name in zip(axes, names, strict=True):
        digits = _as_unit_images(rows[name])
        for index, ax in enumerate(row_axes):
            ax.set(xticks=[], yticks=[])  # not axis("off"): the row's name is its y label
            ax.spines[:].set_visible(False)
            if index < len(digits):
                ax.imshow(digits[index], cmap="gray", vmin=0.0, vmax=1.0)
        row_axes[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout(pad=0.3)
    return fig


def step_curves(history: Mapping[str, Sequence[float]], *, smooth: int = 25) -> Figure:
    """A StepHistory's losses, and D(x) against D(G(z)), per step, with equilibria (notebook 6)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    losses = [("d_loss", "discriminator"), ("g_loss", "generator")]
    verdicts = [("d_real", "D(x), real digits"), ("d_fake", "D(G(z)), fakes")]
    panels = [
        ("Losses", "binary cross-entropy", losses, np.log(2), "log 2"),
        ("Discriminator output", "mean probability 'real'", verdicts, 0.5, "1/2"),
    ]
    for ax, (title, ylabel, curves, level, level_label) in zip(axes, panels, strict=True):
        for (key, label), colour in zip(curves, (_REAL_COLOUR, _FAKE_COLOUR), strict=True):
            values = np.asarray(history[key], dtype=np.float64)
            steps = np.arange(1, len(values) + 1)
            ax.plot(steps, values, color=colour, lw=0.5, alpha=0.3)
            window = max(1, min(smooth, len(values)))
            curve = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(steps[len(steps) - len(curve) :], curve, color=colour, label=label)
        ax.axhline(level, color="gray", lw=0.8, ls="--", label=level_label)
        ax.set(xlabel="step", ylabel=ylabel, title=title)
        ax.legend(frameon=False, fontsize=8)
    axes[1].set_ylim(-0.02, 1.02)
    fig.tight_layout()
    return fig


def nearest_distance_histograms(
    generated: np.ndarray, real: np.ndarray, *, threshold: float | None = None
) -> Figure:
    """Nearest-training-digit distances of generated and real test digits (notebook 10)."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    bins = np.linspace(0.0, max(np.max(generated), np.max(real)) * 1.02, 50)
    ax.hist(real, bins=bins, density=True, alpha=0.5, color=_REAL_COLOUR, label="real test digits")
    ax.hist(generated, bins=bins, density=True, alpha=0.5, color=_FAKE_COLOUR, label="generated")
    if threshold is not None:
        ax.axvline(threshold, color="gray", ls="--", lw=0.8, label="near-copy threshold")
    xlabel = "distance to the nearest training digit (pixels in [0, 1])"
    ax.set(xlabel=xlabel, ylabel="density", title="How close to the training set?")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def toy_gan_panels(snapshots: Sequence[Mapping[str, np.ndarray | float | int]]) -> Figure:
    """One panel per snapshot of the 1-D toy GAN: p_data, p_g, D(x) and D* (notebook 1). A
    snapshot holds ``step``, grid ``x``, ``p_data`` and ``d`` on it, and ``fake`` samples."""
    size = (3.4 * len(snapshots), 3.0)  # inches
    fig, axes = plt.subplots(1, len(snapshots), figsize=size, sharey=True, squeeze=False)
    for ax, snap in zip(axes[0], snapshots, strict=True):
        x, p_data = np.asarray(snap["x"]), np.asarray(snap["p_data"])
        # Gaussian kernel density of the fakes (bandwidth 0.1): smoother than a histogram.
        fake = np.asarray(snap["fake"])[:: max(1, len(snap["fake"]) // 5000)]
        z = (x[:, None] - fake[None, :]) / 0.1
        p_g = np.exp(-0.5 * z**2).sum(axis=1) / (len(fake) * 0.1 * np.sqrt(2 * np.pi))
        # D* is a ratio of two densities: where both are ~0 it is noise, so it is not drawn.
        total = p_data + p_g
        d_star = np.where(total > 0.02, p_data / np.maximum(total, 1e-12), np.nan)
        ax.fill_between(x, p_data, color=_REAL_COLOUR, alpha=0.3, label="$p_{data}$")
        ax.fill_between(x, p_g, color=_FAKE_COLOUR, alpha=0.3, label="$p_g$")
        ax.plot(x, snap["d"], color="#2ca02c", lw=2, label="$D(x)$")
        ax.plot(x, d_star, color="black", lw=1, ls=":", label="$D^*(x)$")
        ax.set(title=f"step {snap['step']}", xlabel="x", ylim=(0, 1.05))
    axes[0][0].legend(loc="upper left", frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def save_progress_gif(
    frames: Sequence[np.ndarray],
    path: Path,
    *,
    captions: Sequence[str] | None = None,
    ncols: int = 8,
    fps: int = 4,
) -> Path:
    """Animate frames of (N, 28, 28, 1) digits, tiled ``ncols`` wide, into a GIF (notebook 6)."""
    tiles = []
    for frame in frames:  # each digit gets a 1-pixel black frame above and left of it
        digits = _as_unit_images(frame)
        nrows = -(-len(digits) // ncols)
        padded = np.pad(digits, ((0, nrows * ncols - len(digits)), (1, 0), (1, 0)))
        grid = padded.reshape(nrows, ncols, 29, 29).transpose(0, 2, 1, 3)
        tiles.append(np.pad(grid.reshape(nrows * 29, ncols * 29), ((0, 1), (0, 1))))
    fig, ax = plt.subplots(figsize=(tiles[0].shape[1] / 40, tiles[0].shape[0] / 40 + 0.4))
    ax.axis("off")
    shown = ax.imshow(tiles[0], cmap="gray", vmin=0.0, vmax=1.0)
    title = ax.set_title(captions[0] if captions else "")

    def draw(index: int) -> list:
        shown.set_data(tiles[index])
        if captions:
            title.set_text(captions[index])
        return [shown, title]

    path.parent.mkdir(parents=True, exist_ok=True)
    FuncAnimation(fig, draw, frames=len(tiles)).save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return path


def architecture_diagram(model: keras.Model, *, name: str | None = None) -> object:
    """Keras's block diagram of ``model`` (notebooks 3-4), or ``None`` if graphviz is missing."""
    from IPython.display import Image

    if shutil.which("dot") is None:
        print(
            "(No diagram: the graphviz program 'dot' is not installed. "
            "Debian/Ubuntu: sudo apt install graphviz; conda: it comes with environment.yml.)"
        )
        return None
    path = artifacts_dir("figures") / f"{name or model.name}.png"
    keras.utils.plot_model(
        model, to_file=str(path), show_shapes=True, show_layer_names=False, dpi=72
    )
    return Image(filename=str(path))
