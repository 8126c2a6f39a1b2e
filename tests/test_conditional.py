"""The conditional DCGAN of notebook 8: its two networks, ``generate`` with digits, one step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_helpers.gan import ConditionalGAN, adam
from gan_helpers.models import (
    build_composite,
    build_conditional_discriminator,
    build_conditional_generator,
    build_generator,
    generate,
)

N = 6


@pytest.fixture(scope="module")
def generator() -> keras.Model:
    keras.utils.set_random_seed(3)
    return build_conditional_generator()


@pytest.fixture(scope="module")
def discriminator() -> keras.Model:
    keras.utils.set_random_seed(4)
    return build_conditional_discriminator()


def latent(n: int = N) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 100)).astype(np.float32)


def digits(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int32).reshape(-1, 1)


def images(n: int = N) -> np.ndarray:
    return np.random.default_rng(1).uniform(-1, 1, (n, 28, 28, 1)).astype(np.float32)


def weights_of(model: keras.Model) -> list[np.ndarray]:
    return [w.numpy() for w in model.weights]


def unchanged(before: list[np.ndarray], model: keras.Model) -> list[bool]:
    return [np.array_equal(old, w.numpy()) for old, w in zip(before, model.weights, strict=True)]


def still_trainable(before: list[np.ndarray], model: keras.Model) -> int:
    """How many of ``model``'s trainable weights still hold their ``before`` values."""
    trainable = {id(w) for w in model.trainable_weights}
    return sum(
        same
        for same, w in zip(unchanged(before, model), model.weights, strict=True)
        if id(w) in trainable
    )


def test_generator_draws_images_in_the_models_range(generator: keras.Model) -> None:
    # Far-out latent vectors too: the tanh at the end keeps every pixel in [-1, 1].
    far = latent() * np.array([[1.0], [1.0], [1.0], [1e3], [1e3], [1e3]], np.float32)
    drawn = np.asarray(generator([far, digits(0, 1, 2, 7, 8, 9)], training=False))
    assert drawn.shape == (N, 28, 28, 1)
    assert drawn.min() >= -1.0 and drawn.max() <= 1.0
    assert np.abs(drawn[3:]).max() > 0.9  # the far-out ones reach the edges of the range
    # The one-hot digit is 10 more inputs to the first Dense layer: the only extra weights.
    extra = generator.count_params() - build_generator().count_params()
    assert extra == 10 * 7 * 7 * 64


def test_generator_draws_differently_for_another_digit(generator: keras.Model) -> None:
    z = latent()
    threes = np.asarray(generator([z, digits(*[3] * N)], training=False))
    fives = np.asarray(generator([z, digits(*[5] * N)], training=False))
    assert not np.allclose(threes, fives)


def test_discriminator_gives_one_probability_per_image(discriminator: keras.Model) -> None:
    verdicts = np.asarray(discriminator([images(), digits(0, 1, 2, 7, 8, 9)], training=False))
    assert verdicts.shape == (N, 1)
    assert (verdicts > 0).all() and (verdicts < 1).all()


def test_the_verdict_depends_on_the_digit(discriminator: keras.Model) -> None:
    same = images(1).repeat(10, axis=0)
    verdicts = np.asarray(discriminator([same, digits(*range(10))], training=False))[:, 0]
    assert np.ptp(verdicts) > 1e-4, verdicts


def test_the_digit_enters_only_through_the_projection() -> None:
    """With every digit's embedding zero, the verdict forgets the digit: no other path."""
    discriminator = build_conditional_discriminator()
    embedding = discriminator.get_layer("digit_embedding")
    embedding.set_weights([np.zeros_like(w) for w in embedding.get_weights()])
    same = images(1).repeat(10, axis=0)
    verdicts = np.asarray(discriminator([same, digits(*range(10))], training=False))[:, 0]
    np.testing.assert_allclose(verdicts, verdicts[0], rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "pass digits="),
        (10, "from 0 to 9"),
        (-1, "from 0 to 9"),
        (np.array([0, 1, 2, 3, 4, 12]), "from 0 to 9"),
    ],
)
def test_generate_refuses_bad_digits(generator: keras.Model, given: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(generator, latent(), given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (np.full(N, 2.5), "whole numbers"),
        (np.arange(3), "one digit per latent vector"),
    ],
)
def test_generate_refuses_fractions_and_the_wrong_count(
    generator: keras.Model, given: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        generate(generator, latent(), given)


def test_generate_takes_one_digit_for_all_or_one_each(generator: keras.Model) -> None:
    z = latent()
    one_for_all = generate(generator, z, 4)
    one_each = generate(generator, z, np.full(N, 4))
    np.testing.assert_array_equal(one_for_all, one_each)
    with pytest.raises(ValueError, match="not conditional"):
        generate(build_generator(), z, 4)


def small_conditional_gan() -> ConditionalGAN:
    keras.utils.set_random_seed(5)
    gan = ConditionalGAN(build_conditional_generator(), build_conditional_discriminator(), seed=5)
    # Eager: tracing fit's graph would take longer than the few steps the tests make.
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), run_eagerly=True)
    return gan


def labelled_batch(n: int = 8) -> tuple[tf.Tensor, tf.Tensor]:
    # Labels as a dataset of (image, label) pairs gives them: shape (n,), not (n, 1).
    labels = np.random.default_rng(2).integers(0, 10, n).astype(np.int32)
    return tf.constant(images(n)), tf.constant(labels)


def test_a_step_moves_every_trainable_weight_of_both_players() -> None:
    gan = small_conditional_gan()
    before_g, before_d = weights_of(gan.generator), weights_of(gan.discriminator)
    metrics = gan.train_step(labelled_batch())
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert 0.0 < float(metrics["d_real"]) < 1.0 and 0.0 < float(metrics["d_fake"]) < 1.0
    assert still_trainable(before_g, gan.generator) == 0
    assert still_trainable(before_d, gan.discriminator) == 0


def test_the_step_pairs_fakes_with_the_digits_they_were_asked_for() -> None:
    gan = small_conditional_gan()
    z, asked = gan.latent_batch(5)
    assert z.shape == (5, 100) and asked.shape == (5, 1) and asked.dtype == "int32"
    fake_images, fake_digits = gan.fake_inputs([z, asked])
    np.testing.assert_array_equal(np.asarray(fake_digits), np.asarray(asked))
    assert fake_images.shape == (5, 28, 28, 1)
    given_images, real_digits = gan.real_inputs(labelled_batch(5))
    assert given_images.shape == (5, 28, 28, 1)
    assert real_digits.shape == (5, 1) and real_digits.dtype == "int32"


def test_composite_passes_the_digit_to_both_players(
    generator: keras.Model, discriminator: keras.Model
) -> None:
    composite = build_composite(generator, discriminator)
    z, asked = latent(), digits(0, 3, 3, 6, 9, 9)
    drawn = np.asarray(generator([z, asked], training=False))
    expected = np.asarray(discriminator([drawn, asked], training=False))
    np.testing.assert_allclose(np.asarray(composite([z, asked], training=False)), expected)


def test_a_composite_update_leaves_the_conditional_discriminator_alone() -> None:
    gan = small_conditional_gan()
    before_g, before_d = weights_of(gan.generator), weights_of(gan.discriminator)
    gan.update(gan.composite, gan.g_optimizer, gan.latent_batch(16), tf.ones((16, 1)))
    assert all(unchanged(before_d, gan.discriminator)), "the discriminator moved in the composite"
    assert still_trainable(before_g, gan.generator) == 0, "the generator did not learn"
    trainable_g = {id(w) for w in gan.generator.trainable_weights}
    assert {id(w) for w in gan.composite.trainable_weights} == trainable_g


def test_fit_takes_a_dataset_of_images_and_labels() -> None:
    gan = small_conditional_gan()
    images_, labels = labelled_batch(16)
    data = tf.data.Dataset.from_tensor_slices((images_, labels)).batch(8)
    history = gan.fit(data, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert int(gan.d_optimizer.iterations) == 2
