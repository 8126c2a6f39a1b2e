"""The tutorial's models: shapes, ranges, costs, and the frozen composite weight by weight."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from gan_helpers import models
from gan_helpers.gan import adam


def snapshot(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w.numpy(), copy=True) for w in model.weights]


def moved(before: list[np.ndarray], model: keras.Model) -> list[bool]:
    """For each weight of ``model``: did it change since ``before``?"""
    return [not np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights, strict=True)]


def trainable_moved(before: list[np.ndarray], model: keras.Model) -> list[bool]:
    trainable = {id(w) for w in model.trainable_weights}
    return [
        m for m, w in zip(moved(before, model), model.weights, strict=True) if id(w) in trainable
    ]


RNG = np.random.default_rng(0)
LATENT = RNG.standard_normal((3, models.LATENT_DIM)).astype(np.float32)
DIGIT = np.array([[0], [4], [9]], np.int32)
IMAGES = RNG.uniform(-1, 1, (3, *models.IMAGE_SHAPE)).astype(np.float32)


@pytest.mark.parametrize(
    ("builder", "inputs", "output_shape", "params"),
    [
        (models.build_generator, LATENT, (3, 28, 28, 1), 359_553),
        (models.build_discriminator, IMAGES, (3, 1), 166_625),
        (models.build_conditional_generator, [LATENT, DIGIT], (3, 28, 28, 1), 390_913),
        (models.build_conditional_discriminator, [IMAGES, DIGIT], (3, 1), 187_105),
        (models.build_published_generator, LATENT, (3, 28, 28, 1), 1_164_289),
        (models.build_mlp_generator, LATENT, (3, 28, 28, 1), 1_493_520),
        (models.build_mlp_discriminator, IMAGES, (3, 1), 533_505),
    ],
)
def test_shapes_ranges_and_parameter_counts(builder, inputs, output_shape, params) -> None:
    model = builder()
    out = np.asarray(model(inputs, training=False))
    assert out.shape == output_shape
    assert model.count_params() == params
    if output_shape[1:] == models.IMAGE_SHAPE:  # tanh: the range of to_model_range
        assert out.min() >= -1.0 and out.max() <= 1.0
    else:  # sigmoid: a probability
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_the_generator_knows_its_kind_and_latent_size() -> None:
    assert not models.is_conditional(models.build_generator(latent_dim=8))
    assert models.latent_dim_of(models.build_generator(latent_dim=8)) == 8
    assert models.is_conditional(models.build_conditional_generator())


def test_a_conditional_generator_draws_different_digits_from_one_latent_vector() -> None:
    generator = models.build_conditional_generator()
    latent = np.repeat(LATENT[:1], 2, axis=0)
    images = generator([latent, np.array([[1], [7]], np.int32)], training=False)
    assert not np.allclose(images[0], images[1])


def test_multiply_adds_match_the_hand_count() -> None:
    # Dense 100 x 3136; 4x4 transposed convs 64->32 on a 7x7 input and 32->1 on 14x14.
    assert (
        models.multiply_adds(models.build_generator())
        == 100 * 3136 + 49 * 16 * (64 * 32) + 196 * 16 * 32
    )
    # 4x4 convs 1->32 with a 14x14 output, 32->64 with 7x7, 64->128 with 4x4; Dense 2048 x 1.
    assert (
        models.multiply_adds(models.build_discriminator())
        == 196 * 16 * 32 + 49 * 16 * (32 * 64) + 16 * 16 * (64 * 128) + 2048
    )


# --- the frozen composite --------------------------------------------------------------------


def compiled_pair(conditional: bool) -> tuple[keras.Model, keras.Model, keras.Model]:
    if conditional:
        generator = models.build_conditional_generator()
        discriminator = models.build_conditional_discriminator()
    else:
        generator, discriminator = models.build_generator(), models.build_discriminator()
    discriminator.compile(adam(), "binary_crossentropy")
    composite = models.build_composite(generator, discriminator)
    composite.compile(adam(), "binary_crossentropy")
    return generator, discriminator, composite


def test_the_composite_trains_exactly_the_generator_weights() -> None:
    generator, discriminator, composite = compiled_pair(conditional=False)
    assert [id(w) for w in composite.trainable_weights] == [
        id(w) for w in generator.trainable_weights
    ]
    assert discriminator.trainable and len(discriminator.trainable_weights) == 8
    assert {id(w) for w in discriminator.weights} <= {
        id(w) for w in composite.non_trainable_weights
    }


@pytest.mark.parametrize("conditional", [False, True], ids=["dcgan", "cdcgan"])
def test_each_train_on_batch_moves_only_its_own_player(conditional: bool) -> None:
    """The loop of notebook 6: D learns on its own, and the composite never touches D."""
    generator, discriminator, composite = compiled_pair(conditional)
    fakes = [LATENT, DIGIT] if conditional else LATENT
    reals = [IMAGES, DIGIT] if conditional else IMAGES
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # "no trainable weights" must not happen
        for _ in range(2):
            d_before, g_before = snapshot(discriminator), snapshot(generator)
            discriminator.train_on_batch(reals, np.ones((3, 1), np.float32))
            assert all(trainable_moved(d_before, discriminator)), "every D weight learns"
            assert not any(moved(g_before, generator))

            d_before, g_before = snapshot(discriminator), snapshot(generator)
            composite.train_on_batch(fakes, np.ones((3, 1), np.float32))
            assert not any(moved(d_before, discriminator)), "D moved inside the composite"
            assert all(trainable_moved(g_before, generator)), "every G weight learns"


def test_the_keras_3_trap_that_build_composite_avoids() -> None:
    """The published recipe: ``d.trainable = False`` before ``Sequential([g, d])``.

    In Keras 3 the flag belongs to the shared layer object, so the discriminator is frozen
    everywhere: its own train_on_batch then trains nothing. If this test fails, Keras has
    changed, and notebook 5's explanation needs another look.
    """
    generator, discriminator = models.build_generator(), models.build_discriminator()
    discriminator.compile(adam(), "binary_crossentropy")
    discriminator.trainable = False
    published = keras.Sequential([generator, discriminator])
    published.compile(adam(), "binary_crossentropy")
    before = snapshot(discriminator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        discriminator.train_on_batch(IMAGES, np.ones((3, 1), np.float32))
    assert not any(moved(before, discriminator)), "the frozen flag no longer freezes D itself"


def test_the_composite_refuses_a_discriminator_with_batch_normalization() -> None:
    discriminator = keras.Sequential(
        [
            keras.Input(models.IMAGE_SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="normalised",
    )
    with pytest.raises(ValueError, match="normalised has BatchNormalization layers"):
        models.build_composite(models.build_generator(), discriminator)
