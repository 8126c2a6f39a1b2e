"""``GAN(keras.Model)``: the same step as notebook 6's loop, the conditional form, the average."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_helpers.gan import GAN, ConditionalGAN, WeightAverage, adam
from gan_helpers.models import (
    build_composite,
    build_conditional_discriminator,
    build_conditional_generator,
    build_discriminator,
    build_generator,
)

BATCH = 8
STEPS = 3
BUILD_SEED = 7


class GivenLatents(GAN):
    """A GAN whose step takes its latent vectors from a list instead of drawing them."""

    def __init__(self, *args: object, latents: Sequence[np.ndarray], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.latents = list(latents)

    def latent_batch(self, n: object) -> tf.Tensor:
        return tf.constant(self.latents.pop(0))


@pytest.fixture(scope="module")
def batches() -> dict[str, list[np.ndarray]]:
    """Real batches, the discriminator's latents (n each) and the generator's (2n each)."""
    rng = np.random.default_rng(0)
    return {
        "real": [rng.uniform(-1, 1, (BATCH, 28, 28, 1)).astype(np.float32) for _ in range(STEPS)],
        "for_d": [rng.standard_normal((BATCH, 100)).astype(np.float32) for _ in range(STEPS)],
        "for_g": [rng.standard_normal((2 * BATCH, 100)).astype(np.float32) for _ in range(STEPS)],
    }


def fresh_pair() -> tuple[keras.Model, keras.Model]:
    # The same seed before each build gives both copies the same weights and the same seeds
    # for the discriminator's dropout layers, so their masks match step by step too.
    keras.utils.set_random_seed(BUILD_SEED)
    return build_generator(), build_discriminator()


def comparable_adam() -> keras.optimizers.Optimizer:
    """Notebook 6's Adam (``gan_helpers.gan.adam``), with epsilon 1e-4 instead of Keras's 1e-7.

    Adam's first steps move each weight by about the learning rate whatever its gradient's size,
    so a gradient that is zero up to float rounding (the generator's Dense kernel, which feeds
    batch norm, has many such components) takes the sign of that rounding: compiled differently,
    on some CPUs, such a weight moves the other way and the two runs end 2 x 2e-4 apart. A larger
    epsilon shrinks those steps to nothing while gradients of real size still take Adam's steps,
    with its running averages carried from step to step.
    """
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5, epsilon=1e-4)


def brownlee_loop(batches: dict[str, list[np.ndarray]]) -> tuple[keras.Model, keras.Model]:
    """Notebook 6's loop: ``train_on_batch`` on the discriminator, then on the composite."""
    generator, discriminator = fresh_pair()
    discriminator.compile(comparable_adam(), "binary_crossentropy")
    composite = build_composite(generator, discriminator)
    composite.compile(comparable_adam(), "binary_crossentropy")
    targets = np.concatenate([np.ones((BATCH, 1)), np.zeros((BATCH, 1))]).astype(np.float32)
    for real, for_d, for_g in zip(batches["real"], batches["for_d"], batches["for_g"], strict=True):
        # training=True: the fakes pass batch norm as they do inside GAN.train_step.
        fake = generator(for_d, training=True)
        discriminator.train_on_batch(np.concatenate([real, fake]), targets)
        composite.train_on_batch(for_g, np.ones((2 * BATCH, 1), np.float32))
    return generator, discriminator


def keras_steps(
    batches: dict[str, list[np.ndarray]], real_label: float = 1.0
) -> tuple[keras.Model, keras.Model]:
    """The same steps as ``GAN.train_step`` calls, the latents given in the order it asks."""
    generator, discriminator = fresh_pair()
    latents = [z for pair in zip(batches["for_d"], batches["for_g"], strict=True) for z in pair]
    gan = GivenLatents(generator, discriminator, real_label=real_label, latents=latents)
    gan.compile(d_optimizer=comparable_adam(), g_optimizer=comparable_adam())
    for real in batches["real"]:
        gan.train_step(tf.constant(real))
    return generator, discriminator


def assert_same_weights(a: Sequence[keras.Model], b: Sequence[keras.Model]) -> None:
    for model_a, model_b in zip(a, b, strict=True):
        for wa, wb in zip(model_a.weights, model_b.weights, strict=True):
            np.testing.assert_allclose(
                wa.numpy(), wb.numpy(), rtol=1e-5, atol=1e-6, err_msg=wa.path
            )


def test_the_notebooks_step_and_the_packages_step_give_the_same_weights(batches) -> None:
    """Three steps of notebook 6's loop and of ``GAN.train_step`` from one start agree.

    Every generator and discriminator weight (batch-norm statistics included) must match to
    rtol 1e-5, atol 1e-6: the two run the same arithmetic, only compiled differently (a
    ``tf.function`` per ``train_on_batch`` against an eager step), so only float rounding
    may differ (and Adam's epsilon keeps rounding from deciding a step: ``comparable_adam``).
    Dropout stays on: both discriminators draw the same masks.
    """
    loop = brownlee_loop(batches)
    assert_same_weights(loop, keras_steps(batches))
    # The comparison can fail: one-sided label smoothing is a different step.
    with pytest.raises(AssertionError):
        assert_same_weights(loop, keras_steps(batches, real_label=0.9))


def weights_of(model: keras.Model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in model.weights]


def changed(before: list[np.ndarray], model: keras.Model) -> list[bool]:
    return [not np.array_equal(b, w.numpy()) for b, w in zip(before, model.weights, strict=True)]


def test_conditional_gan_trains_both_players_and_the_composite_only_the_generator() -> None:
    gan = ConditionalGAN(build_conditional_generator(), build_conditional_discriminator(), seed=3)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    generator, discriminator = gan.generator, gan.discriminator
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (BATCH, 28, 28, 1)).astype(np.float32)
    digits = rng.integers(0, 10, BATCH).astype(np.int32)

    g_before, d_before = weights_of(generator), weights_of(discriminator)
    gan.train_step((tf.constant(images), tf.constant(digits)))
    assert all(changed(g_before, generator)), "every generator weight should move in a step"
    assert all(changed(d_before, discriminator)), "every discriminator weight should move"

    trainable = {id(w) for w in gan.composite.trainable_weights}
    assert trainable == {id(w) for w in generator.trainable_weights}

    latent = gan.latent_batch(2 * BATCH)
    g_before, d_before = weights_of(generator), weights_of(discriminator)
    gan.update(gan.composite, gan.g_optimizer, latent, tf.ones((2 * BATCH, 1)))
    assert not any(changed(d_before, discriminator)), "the composite moved the discriminator"
    assert any(changed(g_before, generator))

    real = [tf.constant(images), tf.constant(digits.reshape(-1, 1))]
    d_before = weights_of(discriminator)
    gan.update(gan.discriminator, gan.d_optimizer, real, tf.ones((BATCH, 1)))
    assert all(changed(d_before, discriminator))


class StateRecorder(keras.callbacks.Callback):
    """Copies the generator's weights and their average after every step (after the average's
    own callback, which must come first in the list)."""

    def __init__(self, average: WeightAverage) -> None:
        super().__init__()
        self.source = average
        self.generator: list[list[np.ndarray]] = []
        self.average: list[list[np.ndarray]] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.generator.append(self.source.generator.get_weights())
        self.average.append(self.source.average.get_weights())


def test_weight_average_is_the_decay_weighted_mix_of_the_generators_states(small_images) -> None:
    gan = GAN(build_generator(), build_discriminator(), seed=3)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    start = gan.generator.get_weights()
    average = WeightAverage(gan.generator, decay=0.9)
    recorder = StateRecorder(average)
    data = tf.data.Dataset.from_tensor_slices(small_images[: STEPS * BATCH]).batch(BATCH)
    gan.fit(data, epochs=1, verbose=0, shuffle=False, callbacks=[average, recorder])
    assert len(recorder.average) == STEPS

    # By hand: each step's average is 0.9 of the previous average (at first, the starting
    # weights) plus 0.1 of the generator's new weights, batch-norm statistics included.
    expected = start
    for step in range(STEPS):
        expected = [
            0.9 * a + 0.1 * w for a, w in zip(expected, recorder.generator[step], strict=True)
        ]
        for got, want in zip(recorder.average[step], expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    moved = [not np.allclose(a, w) for a, w in zip(recorder.average[-1], start, strict=True)]
    assert any(moved), "the average should follow the training generator"
