"""Shapes, parameter counts and the frozen composite, watched weight by weight."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from gan_helpers import models
from gan_helpers.training import seed_optimizer


def snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w.numpy(), copy=True) for w in model.weights]


def unchanged(before: list[np.ndarray], model: keras.Model) -> bool:
    """True when every weight is bitwise equal to the snapshot."""
    return all(np.array_equal(a, b) for a, b in zip(before, snapshot(model), strict=True))


def untouched_count(before: list[np.ndarray], model: keras.Model) -> int:
    return sum(np.array_equal(a, b) for a, b in zip(before, snapshot(model), strict=True))


PAIRS = {
    "dcgan": (models.build_dcgan_generator, models.build_dcgan_discriminator),
    "mlp": (models.build_mlp_generator, models.build_mlp_discriminator),
    "fast": (models.build_light_dcgan_generator, models.build_light_dcgan_discriminator),
}


@pytest.mark.parametrize(
    ("builder", "input_shape", "output_shape", "params"),
    [
        (models.build_dcgan_generator, (3, 100), (3, 28, 28, 1), 1_164_289),
        (models.build_dcgan_discriminator, (3, 28, 28, 1), (3, 1), 40_705),
        (models.build_mlp_generator, (3, 100), (3, 28, 28, 1), 1_493_520),
        (models.build_mlp_discriminator, (3, 28, 28, 1), (3, 1), 533_505),
        (models.build_light_dcgan_generator, (3, 100), (3, 28, 28, 1), 784_641),
        (models.build_light_dcgan_discriminator, (3, 28, 28, 1), (3, 1), 138_561),
    ],
)
def test_shapes_and_parameter_counts(builder, input_shape, output_shape, params) -> None:
    model = builder()
    out = model(np.zeros(input_shape, np.float32))
    assert tuple(out.shape) == output_shape
    assert model.count_params() == params


def test_generators_draw_in_model_range() -> None:
    for build_generator, _ in PAIRS.values():
        latent = np.random.default_rng(0).standard_normal((8, 16), dtype=np.float32)
        images = build_generator(latent_dim=16)(latent)
        assert float(np.min(images)) >= -1.0 and float(np.max(images)) <= 1.0


def test_widths_and_latent_size_are_parameters() -> None:
    generator = models.build_dcgan_generator(latent_dim=8, filters=16)
    assert generator.input_shape == (None, 8)
    assert models.build_dcgan_discriminator(filters=8).count_params() < 2_000
    assert models.build_mlp_generator(latent_dim=8, widths=(32,)).output_shape == (None, 28, 28, 1)


def compiled_pair(kind: str) -> tuple[keras.Model, keras.Model, keras.Model]:
    build_generator, build_discriminator = PAIRS[kind]
    generator, discriminator = build_generator(), build_discriminator()
    discriminator.compile(seed_optimizer(), "binary_crossentropy", metrics=["accuracy"])
    composite = models.build_composite(generator, discriminator)
    composite.compile(seed_optimizer(), "binary_crossentropy")
    return generator, discriminator, composite


def discriminator_step(discriminator: keras.Model, rng: np.random.Generator) -> None:
    images = rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    labels = np.concatenate([np.ones((8, 1)), np.zeros((8, 1))]).astype(np.float32)
    discriminator.train_on_batch(images, labels)


def composite_step(composite: keras.Model, rng: np.random.Generator) -> None:
    latent = rng.standard_normal((16, 100)).astype(np.float32)
    composite.train_on_batch(latent, np.ones((16, 1), np.float32))


@pytest.mark.parametrize("kind", sorted(PAIRS))
@pytest.mark.parametrize("first", ["discriminator", "composite"])
def test_frozen_composite_with_train_on_batch(kind: str, first: str) -> None:
    """The Keras 3 trap: the discriminator must still learn, the composite must not touch it."""
    generator, discriminator, composite = compiled_pair(kind)
    rng = np.random.default_rng(0)
    order = (
        ["discriminator", "composite"]
        if first == "discriminator"
        else ["composite", "discriminator"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "no trainable weights" must not happen
        for _ in range(2):
            for which in order:
                d_before, g_before = snapshot(discriminator), snapshot(generator)
                if which == "discriminator":
                    discriminator_step(discriminator, rng)
                    assert untouched_count(d_before, discriminator) == 0, "every D weight learns"
                    assert unchanged(g_before, generator)
                else:
                    composite_step(composite, rng)
                    assert unchanged(d_before, discriminator), "D moved inside the composite"
                    g_trainable = {id(w) for w in generator.trainable_weights}
                    moved = [
                        not np.array_equal(old, w.numpy())
                        for old, w in zip(g_before, generator.weights, strict=True)
                        if id(w) in g_trainable
                    ]
                    assert all(moved), "every trainable G weight learns"


def test_composite_trains_exactly_the_generator_weights() -> None:
    generator, discriminator, composite = compiled_pair("dcgan")
    assert {id(w) for w in composite.trainable_weights} == {
        id(w) for w in generator.trainable_weights
    }
    assert discriminator.trainable and len(discriminator.trainable_weights) == 6
    assert {id(w) for w in discriminator.weights} <= {
        id(w) for w in composite.non_trainable_weights
    }


def test_composite_refuses_a_discriminator_with_batchnorm() -> None:
    discriminator = keras.Sequential(
        [
            keras.Input(models.IMAGE_SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    with pytest.raises(ValueError, match="BatchNormalization"):
        models.build_composite(models.build_mlp_generator(), discriminator)


def test_multiply_adds_match_the_hand_count() -> None:
    # Dense 100x6272; two 4x4 128->128 transposed convs on 7x7 and 14x14 inputs; 7x7 128->1
    # conv on 28x28 outputs.
    hand = 100 * 6272 + (49 + 196) * 16 * 128 * 128 + 784 * 49 * 128
    assert models.multiply_adds(models.build_dcgan_generator()) == hand
    assert models.multiply_adds(models.build_mlp_discriminator()) == 784 * 512 + 512 * 256 + 256
