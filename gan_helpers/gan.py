"""``GAN(keras.Model)``: notebook 6's two updates as a ``train_step``, trained by ``fit()``.

Notebook 7 writes :class:`GAN` and the callbacks (weight average, snapshots of fixed latent
points, per-step history); notebook 8 writes :class:`ConditionalGAN`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from gan_helpers.models import build_composite, generate, latent_dim_of


def adam() -> keras.optimizers.Optimizer:
    """Adam as the DCGAN paper sets it: learning rate 2e-4, short momentum (beta_1 0.5)."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


class GAN(keras.Model):
    """A generator and a discriminator trained against each other by ``fit()`` (notebook 7).

    ``real_label`` below 1 (e.g. 0.9) is one-sided label smoothing: real digits are labelled
    "90 % real", which keeps the discriminator from growing overconfident. ``seed`` seeds the
    latent vectors the step draws.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        real_label: float = 1.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.composite = build_composite(generator, discriminator)
        self.latent_dim = latent_dim_of(generator)
        self.real_label = real_label
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Both players are built. Under tf.distribute, fit() would otherwise "build" the GAN
        # by calling it on a training batch: the generator on images.
        self.built = True

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        **kwargs: Any,
    ) -> None:
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy()
        # The optimisers' slots, made now (inside a strategy's scope, if any): made lazily in
        # the first step, they would be made on every replica at once, which tf.distribute
        # refuses. A checkpoint can also restore them before the first step.
        for optimizer, model in ((d_optimizer, self.discriminator), (g_optimizer, self.composite)):
            if not optimizer.built:
                optimizer.build(model.trainable_variables)

    def train_step(self, data: Any) -> dict[str, Any]:
        real = self.real_inputs(data)
        n = ops.shape(keras.tree.flatten(real)[0])[0]

        # 1. The discriminator: n real digits labelled real_label, n fakes labelled 0.
        fake = self.fake_inputs(self.draw(n))
        images = keras.tree.map_structure(lambda r, f: ops.concatenate([r, f], 0), real, fake)
        targets = ops.concatenate([ops.full((n, 1), self.real_label), ops.zeros((n, 1))], 0)
        d_loss, verdicts = self.update(self.discriminator, self.d_optimizer, images, targets)

        # 2. The generator, through the composite: 2n fakes that should be called real.
        latent = self.draw(2 * n)
        g_loss, _ = self.update(self.composite, self.g_optimizer, latent, ops.ones((2 * n, 1)))

        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": ops.mean(verdicts[:n]),  # D(x): the discriminator's verdict on real digits
            "d_fake": ops.mean(verdicts[n:]),  # D(G(z)): its verdict on fakes
        }

    def update(
        self,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        inputs: Any,
        targets: Any,
    ) -> tuple[Any, Any]:
        """What ``model.train_on_batch(inputs, targets)`` does: one gradient step on its loss."""
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = self.loss_fn(targets, predictions)
        weights = model.trainable_weights
        optimizer.apply(tape.gradient(loss, weights), weights)
        # On N devices Keras divides each device's loss by N, so that the summed gradients are
        # those of the whole batch's mean; the loss we report is the mean itself.
        return loss * tf.distribute.get_strategy().num_replicas_in_sync, predictions

    def draw(self, n: Any) -> Any:
        """This device's ``n`` rows of :meth:`latent_batch`, drawn for all devices at once.

        On one device this is ``latent_batch(n)``. Under ``tf.distribute`` every device runs
        the step with the same random state and would draw the same latents; drawing the
        whole global batch and keeping its own rows gives each device different fakes, and N
        devices exactly the draws of one.
        """
        context = tf.distribute.get_replica_context()
        devices, device = context.num_replicas_in_sync, context.replica_id_in_sync_group
        whole = self.latent_batch(n * devices)
        return keras.tree.map_structure(lambda t: t[device * n : (device + 1) * n], whole)

    def latent_batch(self, n: Any) -> Any:
        """``n`` latent vectors from the standard normal distribution: the generator's input."""
        return keras.random.normal((n, self.latent_dim), seed=self.seed_generator)

    def real_inputs(self, data: Any) -> Any:
        """What the discriminator sees of a batch of training data: the images."""
        return data

    def fake_inputs(self, latent: Any) -> Any:
        """What the discriminator sees of the fakes drawn from ``latent``."""
        return self.generator(latent, training=True)

    def call(self, latent: Any, training: bool | None = None) -> Any:
        return self.generator(latent, training=training)


class ConditionalGAN(GAN):
    """:class:`GAN` for a generator that draws the digit it is asked for (notebook 8).

    The training data are (images, digits) pairs. The generator's input becomes ``[z, digit]``
    with a random digit, and the discriminator judges ``[image, digit]``: a real image with its
    label, a fake with the digit it was asked to draw. The two updates are unchanged.
    """

    def __init__(self, *args: Any, digits: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.digits = digits

    def latent_batch(self, n: Any) -> Any:
        latent = super().latent_batch(n)
        digits = keras.random.randint(
            (n, 1), 0, self.digits, seed=self.seed_generator, dtype="int32"
        )
        return [latent, digits]

    def real_inputs(self, data: Any) -> Any:
        images, digits = data
        return [images, ops.reshape(ops.cast(digits, "int32"), (-1, 1))]

    def fake_inputs(self, latent: Any) -> Any:
        return [self.generator(latent, training=True), latent[1]]


class WeightAverage(keras.callbacks.Callback):
    """Keeps ``average``, an exponential moving average of the generator's weights.

    The players circle each other; the average of the generator's recent states draws cleaner
    digits than any single one. ``decay`` 0.99 averages over roughly the last 100 steps.
    Batch-norm statistics are averaged too: they belong to the averaged state.
    """

    def __init__(self, generator: keras.Model, decay: float = 0.99) -> None:
        super().__init__()
        self.generator = generator
        self.decay = decay
        self.average = keras.models.clone_model(generator)
        self.average.set_weights(generator.get_weights())
        self._update = tf.function(self._average_in)

    def _average_in(self) -> None:
        for average, current in zip(self.average.weights, self.generator.weights, strict=True):
            average.assign(self.decay * average + (1.0 - self.decay) * current)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._update()


class Snapshots(keras.callbacks.Callback):
    """Draws the same latent points every ``every`` steps, to watch the generator learn.

    ``images[i]`` holds the pictures after ``steps[i]`` steps; ``generator`` (default: the
    model's own) can be a :class:`WeightAverage`'s ``average``. ``digits`` is for a
    conditional generator.
    """

    def __init__(
        self,
        latent: np.ndarray,
        every: int,
        generator: keras.Model | None = None,
        digits: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.latent, self.every, self.digits = latent, every, digits
        self.source = generator
        self.steps: list[int] = []
        self.images: list[np.ndarray] = []
        self._step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not self.steps:
            self._snap()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._step += 1
        if self._step % self.every == 0:
            self._snap()

    def _snap(self) -> None:
        generator = self.source if self.source is not None else self.model.generator
        self.steps.append(self._step)
        self.images.append(generate(generator, self.latent, self.digits))


class StepHistory(keras.callbacks.Callback):
    """Every step's losses and verdicts (``fit``'s own History keeps one value per epoch)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
