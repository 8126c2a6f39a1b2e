"""Notebook 11's latent explorer (ipywidgets); CSS classes let browser tests find the widgets."""

import html
import io
from dataclasses import dataclass

import ipywidgets as widgets
import keras
import numpy as np
from PIL import Image

from gan_helpers import models
from gan_helpers.data import Mnist, load_mnist, to_unit_range
from gan_helpers.metrics import nearest_neighbours
from gan_helpers.reproducibility import SEED

INTERPOLATIONS = ("linear", "spherical")
SCALE = 6  # screen pixels per image pixel: 28 x 6 = 168
SLIDER_RANGE = 4.0  # standard deviations of the Gaussian latent along a unit direction


def latent_for_seed(seed: int, latent_dim: int = models.LATENT_DIM) -> np.ndarray:
    """The standard-normal latent point that ``seed`` names: float32 ``(latent_dim,)``."""
    return np.random.default_rng(seed).standard_normal(latent_dim).astype(np.float32)


def lerp(start: np.ndarray, end: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction ``t`` along the straight line from ``start`` to ``end``."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    return ((1.0 - t) * start + t * end).astype(np.float32)


def slerp(start: np.ndarray, end: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation (notebook 11): turn at a steady speed, the length changing linearly,
    so every point is as long as a typical latent vector (parallel or zero ends: :func:`lerp`)."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    start_norm, end_norm = np.linalg.norm(start), np.linalg.norm(end)
    if start_norm == 0.0 or end_norm == 0.0:
        return lerp(start, end, t)
    angle = float(np.arccos(np.clip(start @ end / (start_norm * end_norm), -1.0, 1.0)))
    if np.sin(angle) < 1e-6:
        return lerp(start, end, t)
    turn = np.sin((1.0 - t) * angle) * start / start_norm + np.sin(t * angle) * end / end_norm
    length = (1.0 - t) * start_norm + t * end_norm
    return (length * turn / np.sin(angle)).astype(np.float32)


def interpolate(
    start: np.ndarray, end: np.ndarray, steps: int, mode: str = "spherical"
) -> np.ndarray:
    """``steps`` points from ``start`` to ``end`` inclusive, ``mode`` "linear" or "spherical"."""
    if mode not in INTERPOLATIONS:
        raise ValueError(f"mode must be one of {INTERPOLATIONS}, got {mode!r}")
    step = lerp if mode == "linear" else slerp
    return np.stack([step(start, end, float(t)) for t in np.linspace(0.0, 1.0, steps)])


@dataclass(frozen=True)
class LatentDirections:
    """Orthonormal latent directions (rows), their images' variance shares and R² on ``z``."""

    directions: np.ndarray
    pixel_variance: np.ndarray
    linear_fit: np.ndarray


def principal_directions(
    generator: keras.Model, n_directions: int = 4, *, n_samples: int = 2000, seed: int = SEED
) -> LatentDirections:
    """The latent directions along which ``generator``'s digits change most (notebook 11): their
    images' principal components (within each digit), mapped back to ``z`` by least squares."""
    latent_dim = models.latent_dim_of(generator)
    if not 1 <= n_directions <= latent_dim:
        raise ValueError(f"n_directions must be between 1 and {latent_dim}, got {n_directions}")
    latents = np.random.default_rng(seed).standard_normal((n_samples, latent_dim))
    digits = np.arange(n_samples) % models.DIGITS if models.is_conditional(generator) else None
    images = models.generate(generator, latents.astype(np.float32), digits)
    pixels = images.reshape(n_samples, -1).astype(np.float64)
    for group in np.unique(digits if digits is not None else 0):
        rows = slice(None) if digits is None else digits == group
        pixels[rows] -= pixels[rows].mean(axis=0)
    # The pixel covariance's leading eigenvectors: the principal components of the images.
    variances, components = np.linalg.eigh(pixels.T @ pixels)
    scores = pixels @ components[:, ::-1][:, :n_directions]
    centred = latents - latents.mean(axis=0)  # the scores have mean 0: no intercept needed
    weights, *_ = np.linalg.lstsq(centred, scores, rcond=None)
    residual = ((scores - centred @ weights) ** 2).sum(axis=0)
    orthonormal, upper = np.linalg.qr(weights)
    orthonormal *= np.sign(np.diag(upper))  # each direction keeps its component's sign
    return LatentDirections(
        directions=orthonormal.T.astype(np.float32),
        pixel_variance=variances[::-1][:n_directions] / variances.sum(),
        linear_fit=1.0 - residual / (scores**2).sum(axis=0),
    )


class TrainingDigits:
    """MNIST's training digits, flat in [0, 1] with their squared lengths: one matmul a search."""

    def __init__(self, mnist: Mnist | None = None) -> None:
        mnist = mnist if mnist is not None else load_mnist()
        self.images, self.labels = mnist.x_train, mnist.y_train
        self.pixels = to_unit_range(self.images).reshape(len(self.images), -1)
        self.squared = np.einsum("ij,ij->i", self.pixels, self.pixels)

    def nearest(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For model-range ``images``: the nearest training digit's index, and the distance."""
        return nearest_neighbours(to_unit_range(images), self.pixels, reference_sq=self.squared)


def png_bytes(image: np.ndarray, scale: int = SCALE) -> bytes:
    """A 28x28 digit (uint8, or floats in [-1, 1]) as PNG bytes, ``scale`` times larger."""
    pixels = np.round(to_unit_range(image) * 255.0).astype(np.uint8).reshape(28, 28)
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)  # fast, not small
    return buffer.getvalue()


class LatentExplorer:
    """``explorer.widget``: the digit drawn at ``path(seed, end_seed, t) + sum_j a_j d_j`` (along
    principal directions ``d_j``) beside the nearest :class:`TrainingDigits` digit."""

    def __init__(
        self,
        generator: keras.Model,
        training: TrainingDigits | None = None,
        *,
        n_directions: int = 4,
        seed: int = SEED,
        end_seed: int = SEED + 1,
        digit: int = 0,
        scale: int = SCALE,
        title: str | None = None,
    ) -> None:
        self.generator, self.scale, self.title = generator, scale, title or generator.name
        self.latent_dim = models.latent_dim_of(generator)
        self.training = training if training is not None else TrainingDigits()
        self.principal = principal_directions(generator, n_directions)
        self._random = np.random.default_rng(seed)
        self._nearest_png: dict[int, bytes] = {}
        side = f"{28 * scale}px"  # fixed, so the page never reflows while dragging
        frame = widgets.Layout(width=side, height=side, border="1px solid #bbb")
        self.image = widgets.Image(format="png", layout=frame).add_class("explorer-image")
        self.nearest_image = widgets.Image(format="png", layout=frame).add_class("explorer-nearest")
        width = widgets.Layout(width=f"{56 * scale + 16}px", min_height="3.2em")
        self.readout = widgets.HTML(layout=width).add_class("explorer-readout")
        self._build_controls(seed, end_seed, digit)
        self.widget = _layout(self)
        self.render()

    def _build_controls(self, seed: int, end_seed: int, digit: int) -> None:
        self.seed = _seed_box(seed, "seed", "explorer-seed")
        self.random_button = _button("random", "random", "explorer-random", self._random_seed)
        self.sliders = [
            _slider(f"direction {j + 1}", -SLIDER_RANGE, SLIDER_RANGE, 0.05, f"explorer-slider-{j}")
            for j in range(len(self.principal.directions))
        ]
        self.reset_button = _button("reset", "undo", "explorer-reset", self._reset_directions)
        self.end_seed = _seed_box(end_seed, "towards seed", "explorer-end-seed")
        tooltips = ["straight line (lerp)", "along the sphere (slerp)"]
        mode = widgets.ToggleButtons(options=INTERPOLATIONS, value="spherical", tooltips=tooltips)
        mode.style.button_width, mode.layout.margin = "100px", "2px 0 2px 104px"
        self.mode = mode.add_class("explorer-mode")
        self.interpolation = _slider("interpolation", 0.0, 1.0, 0.01, "explorer-interpolation")
        self.digit = None  # an unconditional generator decides the digit itself: no menu
        if models.is_conditional(self.generator):
            menu = widgets.Dropdown(options=list(range(models.DIGITS)), value=digit)
            menu.description, menu.style.description_width = "digit", "100px"
            self.digit = menu.add_class("explorer-digit")
        controls = [self.seed, *self.sliders, self.end_seed, self.mode, self.interpolation]
        for control in [*controls, *([self.digit] if self.digit is not None else [])]:
            control.observe(self._changed, names="value")

    def latent(self) -> np.ndarray:
        """The current latent point, float32 ``(latent_dim,)``."""
        start = latent_for_seed(self.seed.value, self.latent_dim)
        end = latent_for_seed(self.end_seed.value, self.latent_dim)
        step = lerp if self.mode.value == "linear" else slerp
        offsets = np.array([slider.value for slider in self.sliders], np.float32)
        return step(start, end, self.interpolation.value) + offsets @ self.principal.directions

    def render(self) -> None:
        """Draw the current latent point and the training digit nearest to the drawing."""
        latent = self.latent()
        digit = None if self.digit is None else self.digit.value
        image = models.generate(self.generator, latent[np.newaxis], digit)
        indices, distances = self.training.nearest(image)
        index = int(indices[0])
        self.image.value = png_bytes(image[0], self.scale)
        if index not in self._nearest_png:
            self._nearest_png[index] = png_bytes(self.training.images[index], self.scale)
        self.nearest_image.value = self._nearest_png[index]
        label = int(self.training.labels[index])
        self.readout.value = (
            f"training digit #{index} (a {label}) at distance {distances[0]:.2f}<br><small>"
            f"(Euclidean, pixels in [0, 1]); |z| = {np.linalg.norm(latent):.1f}</small>"
        )

    def _changed(self, _change: dict) -> None:
        self.render()

    def _random_seed(self, _button: widgets.Button) -> None:
        self.seed.value = int(self._random.integers(0, 1_000_000))

    def _reset_directions(self, _button: widgets.Button) -> None:
        for slider in self.sliders:  # one redraw for the whole reset, not one per slider
            slider.unobserve(self._changed, names="value")
            slider.value = 0.0
            slider.observe(self._changed, names="value")
        self.render()


def _slider(description: str, low: float, high: float, step: float, css: str) -> widgets.Widget:
    slider = widgets.FloatSlider(
        value=0.0, min=low, max=high, step=step, description=description, readout_format=".2f"
    )
    slider.style.description_width, slider.layout.width = "100px", "360px"
    return slider.add_class(css)


def _seed_box(value: int, description: str, css: str) -> widgets.Widget:
    box = widgets.BoundedIntText(value=value, min=0, max=2**31 - 1, description=description)
    box.style.description_width, box.layout.width = "100px", "220px"
    return box.add_class(css)


def _button(description: str, icon: str, css: str, action) -> widgets.Widget:
    button = widgets.Button(description=description, icon=icon, layout={"width": "110px"})
    button.on_click(action)
    return button.add_class(css)


def _titled(text: str, *children: widgets.Widget) -> widgets.VBox:
    return widgets.VBox([widgets.HTML(f"<b>{html.escape(text)}</b>"), *children])


def _layout(explorer: LatentExplorer) -> widgets.Widget:
    neighbour = _titled("nearest training digit", explorer.nearest_image)
    neighbour.layout.margin = "0 0 0 16px"
    pictures = widgets.HBox([_titled("generated", explorer.image), neighbour])
    sections = [
        _titled("latent point", widgets.HBox([explorer.seed, explorer.random_button])),
        _titled("principal directions", *explorer.sliders, explorer.reset_button),
        _titled("interpolation", explorer.end_seed, explorer.mode, explorer.interpolation),
    ]
    if explorer.digit is not None:
        sections.insert(0, _titled("digit (the generator's second input)", explorer.digit))
    kind = "conditional" if explorer.digit is not None else "unconditional"
    header = widgets.HTML(f"<h3 style='margin:0 0 4px 0'>{html.escape(explorer.title)}</h3>")
    controls = widgets.VBox(sections, layout=widgets.Layout(margin="0 0 0 24px"))
    body = widgets.HBox([widgets.VBox([pictures, explorer.readout]), controls])
    box = widgets.VBox([header, body], layout=widgets.Layout(padding="8px"))
    return box.add_class("latent-explorer").add_class(f"explorer-{kind}")
