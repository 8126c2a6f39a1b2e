"""Adversarial training: one step, and a loop with a progress bar and a history.

A step follows the seeds: the discriminator learns from a batch that is half real
digits (label 1) and half generated ones (label 0); then the generator learns through
the frozen composite, from latent vectors labelled 1, i.e. "make the discriminator call
these real". Both updates run inside one compiled ``tf.function``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from gan_helpers import models
from gan_helpers.models import build_composite
from gan_helpers.reproducibility import DEFAULT_SEED

METRIC_NAMES = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_real_mean", "d_fake_mean")


def seed_optimizer(learning_rate: float = 2e-4, beta_1: float = 0.5) -> keras.Optimizer:
    """Adam as the seeds (and the DCGAN paper) set it: a small step, short momentum."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)


@dataclass
class History:
    """Per-step training record.

    Losses of both players, the discriminator's accuracy on the real and the fake half of
    its batch, and its mean output on each half: D(x) on real digits, D(G(z)) on fakes.
    """

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_acc_real: list[float] = field(default_factory=list)
    d_acc_fake: list[float] = field(default_factory=list)
    d_real_mean: list[float] = field(default_factory=list)
    d_fake_mean: list[float] = field(default_factory=list)

    def append(self, metrics: dict[str, float]) -> None:
        """Add one step's metrics (a dict with the keys of :data:`METRIC_NAMES`)."""
        for name in METRIC_NAMES:
            getattr(self, name).append(float(metrics[name]))

    def as_dict(self) -> dict[str, list[float]]:
        """The record as plain lists, ready for JSON."""
        return asdict(self)

    def __len__(self) -> int:
        return len(self.d_loss)


class GANTrainer:
    """Trains a generator and a discriminator against each other.

    ``batch_size`` counts the images of one discriminator update: half real, half fake.
    The generator update uses ``batch_size`` latent vectors, as in the seeds.
    ``real_label`` below 1 (e.g. 0.9) is one-sided label smoothing: the discriminator is
    asked for "90 % real" on real digits, which keeps it from growing overconfident and
    starving the generator of gradient. Fakes keep the label 0.
    ``ema_decay`` (e.g. 0.999) also keeps ``ema_generator``, an exponential moving average
    of the generator's weights: the players circle each other, and the average of the
    generator's recent states draws cleaner digits than any single one.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        d_optimizer: keras.Optimizer | None = None,
        g_optimizer: keras.Optimizer | None = None,
        real_label: float = 1.0,
        ema_decay: float | None = None,
    ) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.composite = build_composite(generator, discriminator)
        self.latent_dim: int = generator.input_shape[-1]
        self.real_label = real_label
        self.d_optimizer = d_optimizer or seed_optimizer()
        self.g_optimizer = g_optimizer or seed_optimizer()
        # Built eagerly: creating optimizer slots inside the traced step is fragile.
        self.d_optimizer.build(discriminator.trainable_variables)
        self.g_optimizer.build(self.composite.trainable_variables)
        self._bce = keras.losses.BinaryCrossentropy()
        self.ema_decay = ema_decay
        self.ema_generator: keras.Model | None = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self._compiled_step = tf.function(self._step)

    def _step(
        self, real_images: tf.Tensor, latent_for_d: tf.Tensor, latent_for_g: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        fake_images = self.generator(latent_for_d, training=True)
        images = tf.concat([real_images, fake_images], axis=0)
        n_real = tf.shape(real_images)[0]
        real_labels = tf.fill((n_real, 1), self.real_label)
        labels = tf.concat([real_labels, tf.zeros((tf.shape(fake_images)[0], 1))], axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(images, training=True)
            d_loss = self._bce(labels, predictions)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply(tape.gradient(d_loss, weights), weights)

        with tf.GradientTape() as tape:
            verdict = self.composite(latent_for_g, training=True)
            g_loss = self._bce(tf.ones_like(verdict), verdict)
        weights = self.composite.trainable_weights
        self.g_optimizer.apply(tape.gradient(g_loss, weights), weights)

        if self.ema_generator is not None:
            # Batch-norm statistics are averaged too: they belong to the averaged state.
            for average, current in zip(
                self.ema_generator.weights, self.generator.weights, strict=True
            ):
                average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * current)

        said_real = tf.cast(predictions > 0.5, tf.float32)
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_acc_real": tf.reduce_mean(said_real[:n_real]),
            "d_acc_fake": 1.0 - tf.reduce_mean(said_real[n_real:]),
            "d_real_mean": tf.reduce_mean(predictions[:n_real]),
            "d_fake_mean": tf.reduce_mean(predictions[n_real:]),
        }

    def train_step(self, real_images: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
        """One discriminator update then one generator update; returns the step's metrics.

        ``real_images`` is (n, 28, 28, 1) in [-1, 1]; ``n`` fakes are drawn for the
        discriminator and ``2 n`` latent vectors for the generator.
        """
        n = len(real_images)
        latent_for_d = rng.standard_normal((n, self.latent_dim), dtype=np.float32)
        latent_for_g = rng.standard_normal((2 * n, self.latent_dim), dtype=np.float32)
        metrics = self._compiled_step(real_images, latent_for_d, latent_for_g)
        return {name: float(value) for name, value in metrics.items()}

    def fit(
        self,
        images: np.ndarray,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int = 256,
        seed: int = DEFAULT_SEED,
        progress: bool = True,
        max_seconds: float | None = None,
        on_step: Callable[[int, dict[str, float]], None] | None = None,
    ) -> History:
        """Train for ``epochs`` passes over ``images`` or for exactly ``steps`` steps.

        Each epoch visits the images in a fresh random order, ``batch_size // 2`` real
        images per step (the other half of the discriminator's batch is fake). ``seed``
        fixes that order and every latent vector drawn, so on one machine the same seed,
        the same starting weights and the same data give the same result bit for bit.
        ``max_seconds`` stops early once that much wall-clock time has passed (for
        benchmarks that compare recipes at equal training time). ``on_step(step, metrics)``
        is called after every step, e.g. to keep snapshots of generated images.
        """
        if (epochs is None) == (steps is None):
            raise ValueError("Give exactly one of epochs= or steps=.")
        n_real = batch_size // 2
        if n_real < 1 or n_real > len(images):
            raise ValueError(
                f"batch_size={batch_size} needs between 2 and {2 * len(images)} "
                f"for {len(images)} training images."
            )
        steps_per_epoch = len(images) // n_real
        total = steps if steps is not None else epochs * steps_per_epoch
        if total < 1:
            raise ValueError(f"Nothing to train: {total} steps. Ask for at least one.")

        started = time.perf_counter()
        rng = np.random.default_rng(seed)
        history = History()
        bar = tqdm(total=total, desc="training", unit="step", disable=not progress)
        order = rng.permutation(len(images))
        for step in range(total):
            position = step % steps_per_epoch
            if step and position == 0:
                order = rng.permutation(len(images))
            batch = images[order[position * n_real : (position + 1) * n_real]]
            metrics = self.train_step(batch, rng)
            history.append(metrics)
            if on_step is not None:
                on_step(step, metrics)
            bar.update()
            if step % 10 == 0 or step == total - 1:
                bar.set_postfix({name: f"{metrics[name]:.3f}" for name in ("d_loss", "g_loss")})
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
        bar.close()
        return history


def flops_per_step(generator: keras.Model, discriminator: keras.Model, batch_size: int) -> float:
    """Floating-point operations of one adversarial step (2 per multiply-add).

    The discriminator update generates ``batch_size / 2`` fakes (a forward pass) and trains
    on ``batch_size`` images (forward + backward, about 3 forward passes); the generator
    update runs ``batch_size`` latent vectors through generator and discriminator, forward
    and backward. Counts dense and convolution layers only (:func:`models.multiply_adds`).
    """
    g_ops, d_ops = models.multiply_adds(generator), models.multiply_adds(discriminator)
    n_fake = batch_size // 2
    multiply_adds = n_fake * g_ops + 3 * batch_size * d_ops + 3 * batch_size * (g_ops + d_ops)
    return 2.0 * multiply_adds


@dataclass(frozen=True)
class Recipe:
    """Everything that defines a training run except its length and seed."""

    name: str
    build_generator: Callable[[], keras.Model]
    build_discriminator: Callable[[], keras.Model]
    batch_size: int
    d_learning_rate: float = 2e-4
    g_learning_rate: float = 2e-4
    real_label: float = 1.0
    ema_decay: float | None = None
    description: str = ""

    def trainer(self) -> GANTrainer:
        """Fresh models and optimisers for this recipe, ready to ``fit``."""
        return GANTrainer(
            self.build_generator(),
            self.build_discriminator(),
            d_optimizer=seed_optimizer(self.d_learning_rate),
            g_optimizer=seed_optimizer(self.g_learning_rate),
            real_label=self.real_label,
            ema_decay=self.ema_decay,
        )

    def settings(self) -> dict[str, object]:
        """The recipe as plain values, for JSON records."""
        return {
            "name": self.name,
            "generator": self.build_generator.__name__,
            "discriminator": self.build_discriminator.__name__,
            "batch_size": self.batch_size,
            "d_learning_rate": self.d_learning_rate,
            "g_learning_rate": self.g_learning_rate,
            "real_label": self.real_label,
            "ema_decay": self.ema_decay,
        }


RECIPES: dict[str, Recipe] = {
    "fast": Recipe(
        name="fast",
        build_generator=models.build_mlp_generator,
        build_discriminator=models.build_mlp_discriminator,
        batch_size=128,
        real_label=0.9,
        ema_decay=0.999,
        description=(
            "the tutorial's default, chosen by measurement on a 2-core CPU: the second seed's "
            "dense GAN with one-sided label smoothing and an averaged generator"
        ),
    ),
    "seed": Recipe(
        name="seed",
        build_generator=models.build_dcgan_generator,
        build_discriminator=models.build_dcgan_discriminator,
        batch_size=256,
        description="the seed tutorial's DCGAN as published: batch 256, hard labels",
    ),
    "light-dcgan": Recipe(
        name="light-dcgan",
        build_generator=models.build_fast_generator,
        build_discriminator=models.build_fast_discriminator,
        batch_size=64,
        d_learning_rate=4e-4,
        g_learning_rate=4e-4,
        real_label=0.9,
        description="a tenth of the seed DCGAN's cost per image, batch-normalised generator",
    ),
    "mlp": Recipe(
        name="mlp",
        build_generator=models.build_mlp_generator,
        build_discriminator=models.build_mlp_discriminator,
        batch_size=128,
        description="the second seed's dense GAN as published: hard labels, no averaging",
    ),
}
