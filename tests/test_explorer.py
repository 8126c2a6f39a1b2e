"""The latent explorer's parts: paths, principal directions, the nearest digit, the widget.

Tiny dense generators (one unconditional, one taking ``[z, digit]``) and a few hundred random
"training digits" stand in for the shipped models and MNIST, so these tests take seconds;
tests/test_browser.py drives the real ones in a browser.
"""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from PIL import Image

from gan_helpers import explorer as ex
from gan_helpers.data import Mnist

LATENT_DIM = 16


def tiny_generator() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(28 * 28, activation="tanh"),
            keras.layers.Reshape((28, 28, 1)),
        ],
        name="tiny",
    )


def tiny_conditional_generator() -> keras.Model:
    latent = keras.Input((LATENT_DIM,), name="z")
    digit = keras.Input((1,), dtype="int32", name="digit")
    one_hot = keras.layers.CategoryEncoding(10, output_mode="one_hot")(digit)
    x = keras.layers.Dense(28 * 28, activation="tanh")(
        keras.layers.Concatenate()([latent, one_hot])
    )
    return keras.Model([latent, digit], keras.layers.Reshape((28, 28, 1))(x), name="tiny_cond")


class Recording:
    """A generator that remembers the inputs of every call (to check what the menu feeds it)."""

    def __init__(self, model: keras.Model) -> None:
        self.model, self.calls = model, []
        self.inputs, self.name = model.inputs, model.name

    def __call__(self, inputs, training: bool = False):
        self.calls.append(inputs)
        return self.model(inputs, training=training)


@pytest.fixture(scope="module")
def training() -> ex.TrainingDigits:
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 300).astype(np.uint8)
    return ex.TrainingDigits(Mnist(digits, labels, digits[:10], labels[:10]))


@pytest.fixture
def explorer(training: ex.TrainingDigits) -> ex.LatentExplorer:
    return ex.LatentExplorer(tiny_generator(), training, n_directions=3)


# --------------------------------------------------------------------------------------
# Paths between latent points


@pytest.mark.parametrize("step", [ex.lerp, ex.slerp])
def test_both_paths_start_and_end_at_the_endpoints(step) -> None:
    start, end = ex.latent_for_seed(1), ex.latent_for_seed(2)
    np.testing.assert_allclose(step(start, end, 0.0), start, atol=1e-5)
    np.testing.assert_allclose(step(start, end, 1.0), end, atol=1e-5)


def test_slerp_keeps_typical_lengths_where_lerp_shrinks_them() -> None:
    start, end = ex.latent_for_seed(1), ex.latent_for_seed(2)
    start_norm, end_norm = np.linalg.norm(start), np.linalg.norm(end)
    for t in (0.25, 0.5, 0.75):
        expected = (1 - t) * start_norm + t * end_norm
        assert np.linalg.norm(ex.slerp(start, end, t)) == pytest.approx(expected, rel=1e-5)
    assert np.linalg.norm(ex.lerp(start, end, 0.5)) < 0.8 * min(start_norm, end_norm)


def test_slerp_turns_at_a_steady_angular_speed_and_falls_back_to_a_line() -> None:
    x, y = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for t in (0.25, 0.5, 0.8):
        angle = np.pi / 2 * t
        np.testing.assert_allclose(ex.slerp(x, y, t), [np.cos(angle), np.sin(angle)], 1e-6)
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ex.slerp(v, -v, 0.5), np.zeros(3), atol=1e-6)
    np.testing.assert_allclose(ex.slerp(np.zeros(3), v, 0.5), 0.5 * v, rtol=1e-6)


def test_interpolate_gives_the_requested_steps_and_refuses_unknown_modes() -> None:
    start, end = ex.latent_for_seed(1, LATENT_DIM), ex.latent_for_seed(2, LATENT_DIM)
    path = ex.interpolate(start, end, 7, "linear")
    assert path.shape == (7, LATENT_DIM) and path.dtype == np.float32
    np.testing.assert_allclose(path[3], (start + end) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="mode must be one of"):
        ex.interpolate(start, end, 3, "cubic")


# --------------------------------------------------------------------------------------
# Principal latent directions


@pytest.mark.parametrize("build", [tiny_generator, tiny_conditional_generator])
def test_principal_directions_are_orthonormal_and_ordered(build) -> None:
    found = ex.principal_directions(build(), 4, n_samples=512)
    assert found.directions.shape == (4, LATENT_DIM)
    np.testing.assert_allclose(found.directions @ found.directions.T, np.eye(4), atol=1e-5)
    assert np.all(np.diff(found.pixel_variance) <= 0)
    assert np.all((found.linear_fit > 0) & (found.linear_fit <= 1))


def test_a_linear_generator_is_predicted_exactly_along_its_top_components() -> None:
    # Latent direction u_j is stretched to s_j * v_j in pixels, with a clear spectrum s_j.
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((LATENT_DIM, LATENT_DIM)))[0]
    v = np.linalg.qr(rng.standard_normal((28 * 28, LATENT_DIM)))[0]
    generator = tiny_generator()
    generator.layers[0].activation = keras.activations.linear
    generator.layers[0].kernel.assign((u * 0.5 ** np.arange(LATENT_DIM)) @ v.T)
    found = ex.principal_directions(generator, 2, n_samples=2048)
    np.testing.assert_allclose(found.linear_fit, 1.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(found.directions @ u[:, :2]), np.eye(2), atol=0.02)


# --------------------------------------------------------------------------------------
# Pictures and the nearest training digit


def test_png_bytes_upscale_crisply_and_map_the_model_range_to_0_255() -> None:
    image = np.full((28, 28), -1.0, np.float32)
    image[0, 0], image[27, 27] = 1.0, 0.0
    decoded = np.asarray(Image.open(io.BytesIO(ex.png_bytes(image, scale=6))))
    assert decoded.shape == (168, 168) and decoded.dtype == np.uint8
    assert (decoded[:6, :6] == 255).all() and decoded[6, 6] == 0
    assert (decoded[-6:, -6:] == 128).all() and decoded.sum() == 36 * (255 + 128)
    digit = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(Image.open(io.BytesIO(ex.png_bytes(digit, scale=1))), digit)


def test_the_nearest_digit_matches_a_brute_force_search(training: ex.TrainingDigits) -> None:
    queries = np.random.default_rng(1).uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
    indices, distances = training.nearest(queries)
    reference = training.images.reshape(300, -1) / 255.0
    for query, index, distance in zip(queries, indices, distances, strict=True):
        brute = np.linalg.norm(reference - (query.ravel() + 1.0) / 2.0, axis=1)
        assert index == np.argmin(brute)
        assert distance == pytest.approx(brute.min(), abs=1e-3)
    own = training.images[123:124].astype(np.float32) / 127.5 - 1.0
    index, distance = training.nearest(own)
    assert index[0] == 123 and distance[0] == pytest.approx(0.0, abs=2e-2)


# --------------------------------------------------------------------------------------
# The widget


def test_the_explorer_starts_with_a_digit_and_its_neighbour(explorer: ex.LatentExplorer) -> None:
    assert {"latent-explorer", "explorer-unconditional"} <= set(explorer.widget._dom_classes)
    assert [s._dom_classes for s in explorer.sliders] == [
        ("explorer-slider-0",),
        ("explorer-slider-1",),
        ("explorer-slider-2",),
    ]
    assert all(slider.continuous_update for slider in explorer.sliders)
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert bytes(explorer.nearest_image.value).startswith(b"\x89PNG")
    assert "at distance" in explorer.readout.value and "|z| =" in explorer.readout.value
    np.testing.assert_array_equal(explorer.latent(), ex.latent_for_seed(ex.SEED, LATENT_DIM))


def test_every_control_redraws_the_digit(explorer: ex.LatentExplorer) -> None:
    controls = [
        (explorer.sliders[0], 2.0),
        (explorer.seed, 5),
        (explorer.interpolation, 0.5),
        (explorer.mode, "linear"),
        (explorer.end_seed, 9),
    ]
    for control, value in controls:
        before = bytes(explorer.image.value)
        control.value = value
        assert bytes(explorer.image.value) != before, f"{control.description} did not redraw"


def test_the_latent_point_is_the_path_plus_the_slider_offsets(
    explorer: ex.LatentExplorer,
) -> None:
    explorer.seed.value, explorer.end_seed.value = 3, 4
    explorer.interpolation.value = 1.0
    np.testing.assert_allclose(explorer.latent(), ex.latent_for_seed(4, LATENT_DIM), atol=1e-5)
    explorer.sliders[1].value = 1.5
    moved = explorer.latent() - ex.latent_for_seed(4, LATENT_DIM)
    np.testing.assert_allclose(moved, 1.5 * explorer.principal.directions[1], atol=1e-5)


def test_reset_and_random_buttons(explorer: ex.LatentExplorer) -> None:
    for slider in explorer.sliders:
        slider.value = -1.0
    explorer.reset_button.click()
    assert [slider.value for slider in explorer.sliders] == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(explorer.latent(), ex.latent_for_seed(ex.SEED, LATENT_DIM))
    before = explorer.seed.value, bytes(explorer.image.value)
    explorer.random_button.click()
    assert (explorer.seed.value, bytes(explorer.image.value)) != before


def test_an_unconditional_generator_gets_no_digit_menu(explorer: ex.LatentExplorer) -> None:
    assert explorer.digit is None
    assert not any("explorer-digit" in w._dom_classes for w in _all_children(explorer.widget))


def test_the_digit_menu_is_the_digit_the_conditional_generator_is_given(
    training: ex.TrainingDigits,
) -> None:
    generator = Recording(tiny_conditional_generator())
    explorer = ex.LatentExplorer(generator, training, n_directions=2, digit=3)
    assert {"explorer-conditional"} <= set(explorer.widget._dom_classes)
    assert explorer.digit in _all_children(explorer.widget)
    assert list(explorer.digit.options) == list(range(10))
    latent, digits = generator.calls[-1]
    np.testing.assert_array_equal(digits, [[3]])
    before = bytes(explorer.image.value)
    explorer.digit.value = 7
    latent_after, digits = generator.calls[-1]
    np.testing.assert_array_equal(digits, [[7]])
    np.testing.assert_array_equal(latent_after, latent)  # the same z: only the digit changed
    assert bytes(explorer.image.value) != before
    explorer.sliders[0].value = 2.0  # a slider moves z; the digit stays the menu's
    np.testing.assert_array_equal(generator.calls[-1][1], [[7]])


def _all_children(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _all_children(child)
    return found
