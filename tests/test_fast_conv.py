"""ShiftSumConv2D must be Conv2D computed another way: same outputs, same gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_helpers import models
from gan_helpers.fast_conv import ShiftSumConv2D, with_plain_convolutions


def outputs_and_gradients(layer: keras.layers.Layer, images: tf.Tensor) -> list[np.ndarray]:
    """The layer's output and the gradients of a random-weighted sum of it."""
    weighting = tf.random.stateless_normal(layer.compute_output_shape(images.shape), (1, 2))
    with tf.GradientTape() as tape:
        tape.watch(images)
        result = layer(images)
        loss = tf.reduce_sum(result * weighting)
    gradients = tape.gradient(loss, [images, *layer.trainable_weights])
    return [result.numpy(), *(gradient.numpy() for gradient in gradients)]


@pytest.mark.parametrize(
    ("filters", "kernel", "channels", "activation", "use_bias"),
    [
        (1, 7, 128, "tanh", True),  # the seed generator's last layer
        (1, 3, 5, None, False),
        (3, 5, 4, "relu", True),
        (2, 1, 6, None, True),
    ],
)
def test_matches_conv2d_outputs_and_gradients(
    filters: int, kernel: int, channels: int, activation: str | None, use_bias: bool
) -> None:
    images = tf.random.stateless_normal((3, 28, 28, channels), (0, 1))
    settings = dict(padding="same", activation=activation, use_bias=use_bias)
    plain = keras.layers.Conv2D(filters, kernel, **settings)
    fast = ShiftSumConv2D(filters, kernel, **settings)
    plain.build(images.shape)
    fast.build(images.shape)
    rng = np.random.default_rng(0)
    # Nonzero biases and kernels that are not symmetric, so a flipped or shifted tap shows.
    plain.set_weights([rng.normal(0.0, 0.1, w.shape).astype(np.float32) for w in plain.weights])
    fast.set_weights(plain.get_weights())

    expected = outputs_and_gradients(plain, images)
    got = outputs_and_gradients(fast, images)
    names = ["output", "input gradient", "kernel gradient", "bias gradient"]
    for name, want, have in zip(names, expected, got, strict=False):
        assert have.shape == want.shape, name
        np.testing.assert_allclose(
            have, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=name
        )


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (dict(strides=2, padding="same"), "strides"),
        (dict(padding="valid"), "padding"),
        (dict(padding="same", dilation_rate=2), "dilation_rate"),
        (dict(padding="same", kernel_size=4), "kernel_size"),
        (dict(padding="same", kernel_size=(3, 5)), "kernel_size"),
    ],
)
def test_refuses_what_it_does_not_compute(arguments: dict, complaint: str) -> None:
    arguments = {"kernel_size": 3, **arguments}
    with pytest.raises(ValueError, match=complaint):
        ShiftSumConv2D(1, **arguments)


def test_seed_generator_uses_it_and_equals_the_published_one() -> None:
    generator = models.build_dcgan_generator()
    assert isinstance(generator.layers[-1], ShiftSumConv2D)
    published = with_plain_convolutions(generator)
    assert type(published.layers[-1]) is keras.layers.Conv2D
    assert published.count_params() == generator.count_params()
    latent = np.random.default_rng(0).standard_normal((4, 100), dtype=np.float32)
    np.testing.assert_allclose(
        published(latent).numpy(), generator(latent).numpy(), rtol=1e-4, atol=1e-5
    )


def test_survives_save_and_load(tmp_path) -> None:
    generator = models.build_dcgan_generator()
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[-1], ShiftSumConv2D)
    latent = np.random.default_rng(1).standard_normal((2, 100), dtype=np.float32)
    np.testing.assert_array_equal(loaded(latent).numpy(), generator(latent).numpy())
