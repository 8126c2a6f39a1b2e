"""The latent explorer's parts: paths, principal directions, PNGs, nearest neighbours, widgets.

A tiny dense "generator" and a few hundred random "training digits" stand in for the shipped
model and MNIST, so these tests run in seconds; the browser tests use the real ones.
"""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from PIL import Image

from gan_helpers import models, widgets
from gan_helpers.data import Mnist
from gan_helpers.evaluation import nearest_neighbour_distances

LATENT_DIM = 16


def tiny_generator(activation: str | None = "tanh") -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(28 * 28, activation=activation),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )


@pytest.fixture
def fake_mnist() -> Mnist:
    rng = np.random.default_rng(0)

    def digits(n: int) -> np.ndarray:
        return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)

    def labels(n: int) -> np.ndarray:
        return rng.integers(0, 10, n).astype(np.uint8)

    return Mnist(digits(300), labels(300), digits(10), labels(10))


@pytest.fixture
def explorer(fake_mnist: Mnist) -> widgets.LatentExplorer:
    return widgets.LatentExplorer(tiny_generator(), mnist=fake_mnist, n_directions=3)


# --------------------------------------------------------------------------------------
# Paths between latent points


def test_latent_for_seed_is_a_fixed_standard_normal_vector() -> None:
    first = widgets.latent_for_seed(7, LATENT_DIM)
    assert first.shape == (LATENT_DIM,) and first.dtype == np.float32
    np.testing.assert_array_equal(first, widgets.latent_for_seed(7, LATENT_DIM))
    assert not np.array_equal(first, widgets.latent_for_seed(8, LATENT_DIM))


@pytest.mark.parametrize("step", [widgets.lerp, widgets.slerp])
def test_both_paths_start_and_end_at_the_endpoints(step) -> None:
    start, end = widgets.latent_for_seed(1, 100), widgets.latent_for_seed(2, 100)
    np.testing.assert_allclose(step(start, end, 0.0), start, atol=1e-5)
    np.testing.assert_allclose(step(start, end, 1.0), end, atol=1e-5)


def test_slerp_keeps_typical_lengths_where_lerp_shrinks_them() -> None:
    start, end = widgets.latent_for_seed(1, 100), widgets.latent_for_seed(2, 100)
    start_norm, end_norm = np.linalg.norm(start), np.linalg.norm(end)
    middle = widgets.slerp(start, end, 0.5)
    assert np.linalg.norm(middle) == pytest.approx((start_norm + end_norm) / 2, rel=1e-5)
    assert np.linalg.norm(widgets.lerp(start, end, 0.5)) < 0.8 * min(start_norm, end_norm)


def test_slerp_turns_at_a_steady_angular_speed() -> None:
    x, y = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for t in (0.25, 0.5, 0.8):
        angle = np.pi / 2 * t
        np.testing.assert_allclose(widgets.slerp(x, y, t), [np.cos(angle), np.sin(angle)], 1e-6)


def test_slerp_falls_back_to_a_line_when_the_circle_is_undefined() -> None:
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(widgets.slerp(x, -x, 0.5), np.zeros(3), atol=1e-6)
    np.testing.assert_allclose(widgets.slerp(x, 2 * x, 0.5), 1.5 * x, rtol=1e-6)
    np.testing.assert_allclose(widgets.slerp(np.zeros(3), x, 0.5), 0.5 * x, rtol=1e-6)


def test_interpolate_gives_the_requested_steps_and_refuses_unknown_modes() -> None:
    start, end = widgets.latent_for_seed(1, LATENT_DIM), widgets.latent_for_seed(2, LATENT_DIM)
    path = widgets.interpolate(start, end, 7, "linear")
    assert path.shape == (7, LATENT_DIM) and path.dtype == np.float32
    np.testing.assert_allclose(path[3], (start + end) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="mode must be one of"):
        widgets.interpolate(start, end, 3, "cubic")


# --------------------------------------------------------------------------------------
# Principal latent directions


def test_principal_directions_are_orthonormal_and_ordered() -> None:
    found = widgets.principal_latent_directions(tiny_generator(), 4, n_samples=512)
    assert found.directions.shape == (4, LATENT_DIM)
    np.testing.assert_allclose(found.directions @ found.directions.T, np.eye(4), atol=1e-5)
    assert np.all(np.diff(found.pixel_variance) <= 0)
    assert np.all((found.linear_fit > 0) & (found.linear_fit <= 1))


def test_a_linear_generator_is_predicted_exactly_along_its_top_components() -> None:
    # A linear generator with a clear spectrum: latent direction u_j stretches to s_j * v_j.
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((LATENT_DIM, LATENT_DIM)))[0]
    v = np.linalg.qr(rng.standard_normal((28 * 28, LATENT_DIM)))[0]
    spectrum = 0.5 ** np.arange(LATENT_DIM)
    generator = tiny_generator(activation=None)
    generator.layers[0].kernel.assign((u * spectrum) @ v.T)
    found = widgets.principal_latent_directions(generator, 2, n_samples=2048)
    np.testing.assert_allclose(found.linear_fit, 1.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(found.directions @ u[:, :2]), np.eye(2), atol=0.02)


def test_principal_directions_are_reproducible_and_checked() -> None:
    generator = tiny_generator()
    first = widgets.principal_latent_directions(generator, 2, n_samples=256, seed=3)
    again = widgets.principal_latent_directions(generator, 2, n_samples=256, seed=3)
    np.testing.assert_array_equal(first.directions, again.directions)
    with pytest.raises(ValueError, match="n_directions"):
        widgets.principal_latent_directions(generator, LATENT_DIM + 1)


def test_chosen_directions_are_scaled_to_unit_length() -> None:
    chosen = widgets.chosen_directions(3 * np.eye(LATENT_DIM)[:2], LATENT_DIM)
    np.testing.assert_allclose(chosen.directions, np.eye(LATENT_DIM)[:2])
    assert np.isnan(chosen.pixel_variance).all()
    with pytest.raises(ValueError, match="columns"):
        widgets.chosen_directions(np.eye(3), LATENT_DIM)
    with pytest.raises(ValueError, match="length 0"):
        widgets.chosen_directions(np.zeros((1, LATENT_DIM)), LATENT_DIM)


# --------------------------------------------------------------------------------------
# PNGs and the nearest training digit


def test_png_bytes_upscale_crisply_and_map_the_model_range_to_0_255() -> None:
    image = np.full((28, 28), -1.0, np.float32)
    image[0, 0], image[27, 27] = 1.0, 0.0
    decoded = np.asarray(Image.open(io.BytesIO(widgets.png_bytes(image, scale=6))))
    assert decoded.shape == (168, 168) and decoded.dtype == np.uint8
    assert (decoded[:6, :6] == 255).all() and decoded[6, 6] == 0
    assert (decoded[-6:, -6:] == 128).all()
    assert decoded.sum() == 36 * (255 + 128)


def test_png_bytes_accepts_uint8_digits_unchanged() -> None:
    digit = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(widgets.png_bytes(digit, scale=1))))
    np.testing.assert_array_equal(decoded, digit)


def test_nearest_training_image_agrees_with_the_evaluation_measure(fake_mnist: Mnist) -> None:
    index = widgets.NearestTrainingImage(fake_mnist.x_train, fake_mnist.y_train)
    queries = np.random.default_rng(1).uniform(-1, 1, (5, 28, 28)).astype(np.float32)
    reference = fake_mnist.x_train.astype(np.float32) / 255.0
    expected = nearest_neighbour_distances((queries + 1) / 2, reference)
    for query, distance in zip(queries, expected, strict=True):
        found, found_distance = index.query(query)
        assert found_distance == pytest.approx(distance, abs=1e-3)
        brute = np.linalg.norm(reference.reshape(300, -1) - (query.ravel() + 1) / 2, axis=1)
        assert found == int(np.argmin(brute))


def test_a_training_digit_is_its_own_nearest_neighbour(fake_mnist: Mnist) -> None:
    index = widgets.NearestTrainingImage(fake_mnist.x_train)
    digit = fake_mnist.x_train[123].astype(np.float32) / 127.5 - 1.0
    found, distance = index.query(digit)
    assert found == 123 and distance == pytest.approx(0.0, abs=2e-2)
    with pytest.raises(TypeError, match="uint8"):
        widgets.NearestTrainingImage(fake_mnist.x_train.astype(np.float32))


# --------------------------------------------------------------------------------------
# The explorer widget


def test_the_explorer_shows_a_digit_and_its_neighbour_at_start(
    explorer: widgets.LatentExplorer,
) -> None:
    assert "latent-explorer" in explorer.widget._dom_classes
    assert "explorer-image" in explorer.image._dom_classes
    assert [s._dom_classes for s in explorer.sliders] == [
        ("explorer-slider-0",),
        ("explorer-slider-1",),
        ("explorer-slider-2",),
    ]
    assert all(slider.continuous_update for slider in explorer.sliders)
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert bytes(explorer.nearest_image.value).startswith(b"\x89PNG")
    assert "distance" in explorer.readout.value
    np.testing.assert_array_equal(explorer.latent(), widgets.latent_for_seed(0, LATENT_DIM))


def test_every_control_redraws_the_digit(explorer: widgets.LatentExplorer) -> None:
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
        assert bytes(explorer.image.value) != before, (
            f"{control.description or control} did not redraw"
        )


def test_the_latent_point_combines_path_and_slider_offsets(
    explorer: widgets.LatentExplorer,
) -> None:
    explorer.seed.value, explorer.end_seed.value = 3, 4
    explorer.interpolation.value = 1.0
    np.testing.assert_allclose(explorer.latent(), widgets.latent_for_seed(4, LATENT_DIM), 1e-5)
    explorer.sliders[1].value = 1.5
    moved = explorer.latent() - widgets.latent_for_seed(4, LATENT_DIM)
    np.testing.assert_allclose(moved, 1.5 * explorer.principal.directions[1], atol=1e-5)


def test_reset_and_random_buttons(explorer: widgets.LatentExplorer) -> None:
    for slider in explorer.sliders:
        slider.value = -1.0
    explorer.reset_button.click()
    assert [slider.value for slider in explorer.sliders] == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(explorer.latent(), widgets.latent_for_seed(0, LATENT_DIM))
    before = explorer.seed.value, bytes(explorer.image.value)
    explorer.random_button.click()
    assert (explorer.seed.value, bytes(explorer.image.value)) != before


def test_directions_can_be_chosen_by_hand(fake_mnist: Mnist) -> None:
    explorer = widgets.LatentExplorer(
        tiny_generator(), mnist=fake_mnist, directions=np.eye(LATENT_DIM)[:2]
    )
    assert len(explorer.sliders) == 2
    explorer.sliders[1].value = 2.0
    expected = widgets.latent_for_seed(0, LATENT_DIM) + 2.0 * np.eye(LATENT_DIM)[1]
    np.testing.assert_allclose(explorer.latent(), expected, atol=1e-6)


def test_a_plain_generator_gets_no_category_menu(explorer: widgets.LatentExplorer) -> None:
    assert explorer.categories == 0
    assert "category" not in explorer.readout.value
    assert explorer.category not in _all_children(explorer.widget)


def test_the_category_menu_pins_the_code_and_keeps_the_style(fake_mnist: Mnist) -> None:
    generator = models.build_mlp_generator(latent_dim=LATENT_DIM, widths=(8,), categories=4)
    explorer = widgets.LatentExplorer(generator, mnist=fake_mnist, n_directions=2)
    assert explorer.category in _all_children(explorer.widget)
    assert [value for _, value in explorer.category.options] == [-1, 0, 1, 2, 3]
    free = explorer.latent()
    own = int(models.latent_categories(free[np.newaxis], 4)[0])
    assert f"latent category {own}" in explorer.readout.value
    other = (own + 1) % 4
    before = bytes(explorer.image.value)
    explorer.category.value = other
    pinned = explorer.latent()
    assert models.latent_categories(pinned[np.newaxis], 4)[0] == other
    np.testing.assert_array_equal(pinned[4:], free[4:])
    assert bytes(explorer.image.value) != before
    assert f"latent category {other}" in explorer.readout.value
    explorer.sliders[0].value = 3.0  # a slider moves the style, the category stays pinned
    assert models.latent_categories(explorer.latent()[np.newaxis], 4)[0] == other
    explorer.category.value = -1
    np.testing.assert_allclose(
        explorer.latent(), free + 3.0 * explorer.principal.directions[0], atol=1e-6
    )


def _all_children(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _all_children(child)
    return found
