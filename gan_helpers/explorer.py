"""A latent-space explorer for a trained generator, built on ipywidgets.

``LatentExplorer(generator, mnist=mnist).widget`` is one box that shows, side by side, the
digit the generator draws for the current latent point and the training digit closest to
it, and lets the reader move that point:

- **seed** picks the starting latent point (the standard-normal vector drawn with that seed)
  and **random** jumps to a fresh one;
- **direction sliders** move the point along a few *principal latent directions*, the ones
  that change the drawn image the most (see :func:`principal_latent_directions`);
- **interpolation** walks from the seed's point towards a second seed's point, along a
  straight line or along the sphere (see :func:`slerp` for why the sphere suits a Gaussian
  latent);
- **category** (for a generator with a :class:`~gan_helpers.models.CategoricalCode`) pins
  the category code, so the other controls change only the style.

Every control redraws while it is dragged: the generator is called directly (no
``predict``, which adds a progress bar and milliseconds of set-up), the digit is encoded as a
small PNG with Pillow and handed to an ``ipywidgets.Image`` of fixed size, so the page never
reflows, and the nearest training digit is found with one matrix-vector product against the
60,000 flattened training images (:class:`NearestTrainingImage`).

The widgets carry CSS classes (``latent-explorer``, ``explorer-image``,
``explorer-slider-0`` ...) so that browser tests can find them.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import keras
import numpy as np
from PIL import Image

from gan_helpers import models
from gan_helpers.data import Mnist, load_mnist

INTERPOLATION_MODES = ("linear", "spherical")
PIXELS = 28
DEFAULT_SCALE = 6  # 28 x 6 = 168 screen pixels per digit
SLIDER_RANGE = 4.0  # sliders move up to 4 standard deviations along a unit direction
SEED_MAX = 2**31 - 1
FREE_CATEGORY = -1  # the category menu's "leave it to the latent point"


# --------------------------------------------------------------------------------------
# Latent points and paths between them


def latent_dim_of(generator: keras.Model) -> int:
    """Length of the generator's latent vector (the last axis of its input)."""
    return int(generator.inputs[0].shape[-1])


def latent_for_seed(seed: int, latent_dim: int) -> np.ndarray:
    """The standard-normal latent point ``seed`` stands for: float32 ``(latent_dim,)``.

    A seed is a short name for a 100-number vector; the same seed always gives the same point.
    """
    return np.random.default_rng(seed).standard_normal(latent_dim).astype(np.float32)


def lerp(start: np.ndarray, end: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction ``t`` of the way along the straight line from ``start`` to ``end``."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    return ((1.0 - t) * start + t * end).astype(np.float32)


def slerp(start: np.ndarray, end: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation: turn from ``start`` towards ``end`` at a steady angular speed.

    Why not a straight line? A standard-normal vector in ``d`` dimensions has a length of
    almost exactly ``sqrt(d)`` (10 for ``d = 100``, give or take 0.7), and two independent
    ones are nearly perpendicular. The midpoint of the straight line between them is only
    ``sqrt(d / 2)`` (about 7) long: a region the generator never saw during training, which
    it tends to draw as faint, blurred digits. Here the *direction* turns along the great
    circle through both points while the *length* changes linearly from one endpoint's to
    the other's, so every point on the path is as typical a latent as the two ends.

    Falls back to :func:`lerp` when the two directions are (anti)parallel and the great
    circle is not defined.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    start_norm, end_norm = np.linalg.norm(start), np.linalg.norm(end)
    if start_norm == 0.0 or end_norm == 0.0:
        return lerp(start, end, t)
    start_unit, end_unit = start / start_norm, end / end_norm
    angle = float(np.arccos(np.clip(start_unit @ end_unit, -1.0, 1.0)))
    if np.sin(angle) < 1e-6:
        return lerp(start, end, t)
    sin_angle = np.sin(angle)
    direction = np.sin((1.0 - t) * angle) / sin_angle * start_unit
    direction += np.sin(t * angle) / sin_angle * end_unit
    length = (1.0 - t) * start_norm + t * end_norm
    return (length * direction).astype(np.float32)


def interpolate(
    start: np.ndarray, end: np.ndarray, steps: int, mode: str = "spherical"
) -> np.ndarray:
    """``steps`` latent points from ``start`` to ``end`` inclusive: float32 ``(steps, d)``.

    ``mode`` is ``"linear"`` (:func:`lerp`) or ``"spherical"`` (:func:`slerp`).
    """
    step = _interpolator(mode)
    return np.stack([step(start, end, float(t)) for t in np.linspace(0.0, 1.0, steps)])


def _interpolator(mode: str) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    if mode not in INTERPOLATION_MODES:
        raise ValueError(f"mode must be one of {INTERPOLATION_MODES}, got {mode!r}")
    return lerp if mode == "linear" else slerp


# --------------------------------------------------------------------------------------
# Principal latent directions


@dataclass(frozen=True)
class LatentDirections:
    """Unit latent directions that change the generated image the most.

    ``directions`` is float32 ``(k, latent_dim)`` with orthonormal rows. ``pixel_variance``
    is the share of the generated images' pixel variance that lies along each of the
    ``k`` image-space principal components; ``linear_fit`` is the R² with which a linear
    function of the latent predicts that component (1 would mean perfectly linear).
    """

    directions: np.ndarray
    pixel_variance: np.ndarray
    linear_fit: np.ndarray


def generate(generator: keras.Model, latents: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Images for ``latents`` as float32 ``(N, 28, 28)`` in ``[-1, 1]``.

    The model is called directly, in inference mode (``training=False`` uses batch
    norm's running statistics), which for one latent is several times faster than
    ``predict`` and prints nothing.
    """
    latents = np.asarray(latents, np.float32).reshape(-1, latent_dim_of(generator))
    images = models.generate(generator, latents, batch_size=batch_size)
    return images.reshape(-1, PIXELS, PIXELS)


def principal_latent_directions(
    generator: keras.Model, n_directions: int = 4, *, n_samples: int = 2048, seed: int = 0
) -> LatentDirections:
    """The latent directions along which the generator's drawings vary most.

    A latent vector has 100 coordinates, and a single coordinate rarely means anything on
    its own: the generator mixes them all. So the directions are found from the images:

    1. draw ``n_samples`` standard-normal latents ``Z`` and generate their images ``X``;
    2. principal component analysis of ``X`` (an SVD of the centred pixels) gives the
       ``n_directions`` image-space directions of largest variation, and each image's score
       along each of them;
    3. least squares maps those scores back to latent space: the column ``w_j`` that best
       solves ``Z w_j ≈ score_j`` is the latent direction whose movement best predicts a
       move along image component ``j``;
    4. the ``w_j`` are made orthonormal (QR, keeping each one's sign), so the sliders are
       independent and one slider unit is one standard deviation of a Gaussian latent.

    This costs one batch through the generator and two small matrix factorisations (about a
    second on a CPU), needs no gradients, and depends only on ``seed``.
    """
    latent_dim = latent_dim_of(generator)
    if not 1 <= n_directions <= latent_dim:
        raise ValueError(f"n_directions must be between 1 and {latent_dim}, got {n_directions}")
    latents = np.random.default_rng(seed).standard_normal((n_samples, latent_dim))
    pixels = generate(generator, latents).reshape(n_samples, -1).astype(np.float64)
    centred = pixels - pixels.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ components[:n_directions].T
    # Scores have mean 0 but a finite sample of latents does not quite: centre it too, so
    # that the fit needs no intercept.
    centred_latents = latents - latents.mean(axis=0)
    weights, *_ = np.linalg.lstsq(centred_latents, scores, rcond=None)
    predicted = centred_latents @ weights
    linear_fit = 1.0 - ((scores - predicted) ** 2).sum(axis=0) / (scores**2).sum(axis=0)
    orthonormal, upper = np.linalg.qr(weights)
    orthonormal *= np.sign(np.diag(upper))  # keep each direction pointing like its w_j
    return LatentDirections(
        directions=orthonormal.T.astype(np.float32),
        pixel_variance=(singular[:n_directions] ** 2 / (singular**2).sum()),
        linear_fit=linear_fit,
    )


def chosen_directions(directions: np.ndarray, latent_dim: int) -> LatentDirections:
    """Directions picked by hand (one per row), scaled to unit length.

    Their pixel variance and linear fit are unknown and reported as ``nan``.
    """
    rows = np.atleast_2d(np.asarray(directions, np.float64))
    if rows.shape[1] != latent_dim:
        raise ValueError(f"directions must have {latent_dim} columns, got shape {rows.shape}")
    lengths = np.linalg.norm(rows, axis=1, keepdims=True)
    if np.any(lengths == 0.0):
        raise ValueError("a direction of length 0 cannot be followed")
    unknown = np.full(len(rows), np.nan)
    return LatentDirections((rows / lengths).astype(np.float32), unknown, unknown.copy())


# --------------------------------------------------------------------------------------
# Pictures and the nearest training digit


def png_bytes(image: np.ndarray, scale: int = DEFAULT_SCALE) -> bytes:
    """A ``(28, 28)`` digit as PNG bytes, ``scale`` times larger, white on black.

    Accepts model-range floats in ``[-1, 1]`` or uint8 pixels. Each pixel becomes a
    ``scale x scale`` block (nearest-neighbour upscaling keeps the pixels crisp) and the
    PNG is written with light compression: encoding takes well under a millisecond.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = np.clip((pixels.astype(np.float32) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    pixels = pixels.reshape(PIXELS, PIXELS)
    if scale > 1:
        pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class NearestTrainingImage:
    """Finds the training digit closest (in pixel distance) to a generated one, fast.

    The training images are kept flattened as float32 in ``[0, 1]`` (60,000 x 784, 188 MB)
    with their squared lengths precomputed, so each query is
    ``||x - r||² = ||r||² - 2 r·x + ||x||²``: one matrix-vector product and an ``argmin``.
    Distances are in the same ``[0, 1]`` pixel units as
    :func:`gan_helpers.evaluation.nearest_neighbour_distances`.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None) -> None:
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise TypeError(f"expected uint8 training images, got dtype {images.dtype}")
        self.images = images.reshape(len(images), PIXELS, PIXELS)
        self.labels = None if labels is None else np.asarray(labels)
        self._flat = self.images.reshape(len(images), -1).astype(np.float32)
        self._flat /= 255.0
        self._squared_norms = np.einsum("ij,ij->i", self._flat, self._flat)

    def query(self, image: np.ndarray) -> tuple[int, float]:
        """Index of the nearest training image to a model-range ``image`` and its distance."""
        unit = np.clip((np.asarray(image, np.float32).reshape(-1) + 1.0) / 2.0, 0.0, 1.0)
        squared = self._squared_norms - 2.0 * (self._flat @ unit)
        index = int(np.argmin(squared))
        return index, float(np.sqrt(max(float(squared[index] + unit @ unit), 0.0)))


# --------------------------------------------------------------------------------------
# The explorer


class LatentExplorer:
    """An interactive view of a generator's latent space; display ``explorer.widget``.

    Args:
        generator: a Keras model from latent vectors to ``(28, 28, 1)`` images in
            ``[-1, 1]``, e.g. ``load_pretrained("conditional", "generator")``.
        mnist: MNIST as returned by :func:`gan_helpers.data.load_mnist` (loaded if omitted);
            its training digits are searched for the nearest neighbour.
        n_directions: how many principal latent directions get a slider.
        directions: latent directions of your own instead, one per row (e.g.
            ``np.eye(100)[:4]`` for the first four coordinates); rows are scaled to length 1.
        seed: the seed of the starting latent point.
        end_seed: the seed of the point the interpolation slider walks towards.
        scale: screen pixels per image pixel.

    The current latent point is ``path(seed, end_seed, t) + sum_j a_j * d_j``: the point a
    fraction ``t`` along the linear or spherical path between the two seeds' points, moved
    by ``a_j`` along each unit direction ``d_j``. The sliders are offsets, so at zero the
    point is exactly the seed's (or the path's); "reset" puts them back.

    For a generator with a :class:`~gan_helpers.models.CategoricalCode` (the InfoGAN
    recipe) a "category" menu appears: "free" leaves the category to the latent point, a
    number pins it with :func:`~gan_helpers.models.with_category`, after the sliders, so
    they then change only how that category's digit is drawn.
    """

    def __init__(
        self,
        generator: keras.Model,
        mnist: Mnist | None = None,
        *,
        n_directions: int = 4,
        directions: np.ndarray | None = None,
        seed: int = 0,
        end_seed: int = 1,
        scale: int = DEFAULT_SCALE,
    ) -> None:
        if mnist is None:
            mnist = load_mnist()
        self.generator = generator
        self.latent_dim = latent_dim_of(generator)
        self.categories = models.categories_of(generator)
        self.scale = scale
        if directions is None:
            self.principal = principal_latent_directions(generator, n_directions)
        else:
            self.principal = chosen_directions(directions, self.latent_dim)
        self.nearest = NearestTrainingImage(mnist.x_train, mnist.y_train)
        self._random = np.random.default_rng(seed)
        self._nearest_png: dict[int, bytes] = {}
        self.last_render_seconds = 0.0
        self._build(seed, end_seed)
        self.render()

    # -- layout ----------------------------------------------------------------------

    def _build(self, seed: int, end_seed: int) -> None:
        side = f"{PIXELS * self.scale}px"
        picture = widgets.Layout(width=side, height=side, border="1px solid #bbb")
        self.image = widgets.Image(format="png", layout=picture)
        self.image.add_class("explorer-image")
        self.nearest_image = widgets.Image(format="png", layout=picture)
        self.nearest_image.add_class("explorer-nearest")
        both = f"{2 * PIXELS * self.scale + 16}px"  # the two pictures and the gap between them
        self.readout = widgets.HTML(layout=widgets.Layout(width=both, min_height="3.2em"))
        self.readout.add_class("explorer-readout")

        wide = {"description_width": "100px"}  # one width, so the controls line up
        row = widgets.Layout(width="360px")
        field = widgets.Layout(width="220px")
        self.seed = widgets.BoundedIntText(
            value=seed,
            min=0,
            max=SEED_MAX,
            description="seed",
            style=wide,
            layout=field,
        )
        self.seed.add_class("explorer-seed")
        self.random_button = widgets.Button(
            description="random",
            icon="random",
            tooltip="jump to a random latent point",
            layout=widgets.Layout(width="110px"),
        )
        self.random_button.add_class("explorer-random")
        self.random_button.on_click(self._random_seed)

        self.sliders = []
        for index, variance in enumerate(self.principal.pixel_variance):
            slider = widgets.FloatSlider(
                value=0.0,
                min=-SLIDER_RANGE,
                max=SLIDER_RANGE,
                step=0.05,
                description=f"direction {index + 1}",
                continuous_update=True,
                readout_format=".2f",
                style=wide,
                layout=row,
                tooltip=(
                    f"principal direction {index + 1}: {variance:.0%} of pixel variance"
                    if np.isfinite(variance)
                    else f"direction {index + 1}"
                ),
            )
            slider.add_class(f"explorer-slider-{index}")
            self.sliders.append(slider)
        self.reset_button = widgets.Button(
            description="reset directions", icon="undo", layout=widgets.Layout(width="160px")
        )
        self.reset_button.add_class("explorer-reset")
        self.reset_button.on_click(self._reset_directions)

        self.end_seed = widgets.BoundedIntText(
            value=end_seed,
            min=0,
            max=SEED_MAX,
            description="towards seed",
            style=wide,
            layout=field,
        )
        self.end_seed.add_class("explorer-end-seed")
        self.mode = widgets.ToggleButtons(
            options=list(INTERPOLATION_MODES),
            value="spherical",
            tooltips=["straight line", "along the sphere (slerp)"],
            style={"button_width": "100px"},
            layout=widgets.Layout(margin="2px 0 2px 104px"),
        )
        self.mode.add_class("explorer-mode")
        self.interpolation = widgets.FloatSlider(
            value=0.0,
            min=0.0,
            max=1.0,
            step=0.01,
            description="interpolation",
            continuous_update=True,
            readout_format=".2f",
            style=wide,
            layout=row,
        )
        self.interpolation.add_class("explorer-interpolation")

        # Shown only for generators with a category code; "free" (-1) leaves it to the point.
        self.category = widgets.Dropdown(
            options=[("free", FREE_CATEGORY)] + [(str(k), k) for k in range(self.categories)],
            value=FREE_CATEGORY,
            description="category",
            style=wide,
            layout=field,
        )
        self.category.add_class("explorer-category")

        controls = [self.seed, *self.sliders, self.end_seed, self.mode, self.interpolation]
        for control in [*controls, self.category]:
            control.observe(self._changed, names="value")

        def titled(text: str, *children: widgets.Widget) -> widgets.VBox:
            return widgets.VBox([widgets.HTML(f"<b>{text}</b>"), *children])

        neighbour = titled("nearest training digit", self.nearest_image)
        neighbour.layout.margin = "0 0 0 16px"
        pictures = widgets.HBox([titled("generated", self.image), neighbour])
        sections = [
            titled("latent point", widgets.HBox([self.seed, self.random_button])),
            titled("principal directions", *self.sliders, self.reset_button),
            titled("interpolation", self.end_seed, self.mode, self.interpolation),
        ]
        if self.categories:
            sections.append(titled("category code", self.category))
        controls = widgets.VBox(sections, layout=widgets.Layout(margin="0 0 0 24px"))
        header = widgets.HTML(
            "<h3 style='margin:0 0 4px 0'>Latent explorer</h3>"
            "<span>Move the sliders: the left digit is drawn by the generator for the current "
            "latent point, the right one is the closest of MNIST's 60,000 training digits."
            "</span>"
        )
        self.widget = widgets.VBox(
            [header, widgets.HBox([widgets.VBox([pictures, self.readout]), controls])],
            layout=widgets.Layout(padding="8px"),
        )
        self.widget.add_class("latent-explorer")

    # -- behaviour -------------------------------------------------------------------

    def latent(self) -> np.ndarray:
        """The current latent point, float32 ``(latent_dim,)``."""
        start = latent_for_seed(self.seed.value, self.latent_dim)
        end = latent_for_seed(self.end_seed.value, self.latent_dim)
        point = _interpolator(self.mode.value)(start, end, self.interpolation.value)
        offsets = np.array([slider.value for slider in self.sliders], np.float32)
        point = point + offsets @ self.principal.directions
        if self.category.value != FREE_CATEGORY:
            point = models.with_category(point, self.category.value, self.categories)
        return point

    def render(self) -> None:
        """Draw the current latent point and its nearest training digit."""
        started = time.perf_counter()
        latent = self.latent()
        image = generate(self.generator, latent[np.newaxis])[0]
        index, distance = self.nearest.query(image)
        self.image.value = png_bytes(image, self.scale)
        if index not in self._nearest_png:
            self._nearest_png[index] = png_bytes(self.nearest.images[index], self.scale)
        self.nearest_image.value = self._nearest_png[index]
        label = "" if self.nearest.labels is None else f", a {int(self.nearest.labels[index])}"
        code = ""
        if self.categories:
            category = int(models.latent_categories(latent[np.newaxis], self.categories)[0])
            code = f"; latent category {category}"
        self.readout.value = (
            html.escape(f"distance {distance:.2f} to training digit #{index}{label}")
            + f"<br><small>(Euclidean, pixels in [0, 1]){code}</small>"
        )
        self.last_render_seconds = time.perf_counter() - started

    def _changed(self, _change: dict) -> None:
        self.render()

    def _random_seed(self, _button: widgets.Button) -> None:
        self.seed.value = int(self._random.integers(0, 1_000_000))

    def _reset_directions(self, _button: widgets.Button) -> None:
        # One redraw for the whole reset instead of one per slider.
        for slider in self.sliders:
            slider.unobserve(self._changed, names="value")
            slider.value = 0.0
            slider.observe(self._changed, names="value")
        self.render()
