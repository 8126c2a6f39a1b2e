"""``GAN(keras.Model)`` and its callbacks (notebook 7), and :class:`ConditionalGAN` (notebook 8)."""

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from gan_helpers.models import build_composite, generate, latent_dim_of


def adam(learning_rate: float = 2e-4) -> keras.optimizers.Optimizer:
    """Adam with the DCGAN paper's short momentum (beta_1 0.5) and, by default, its step 2e-4."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.5)


def no_autotune() -> tf.data.Options:
    """tf.data options with the autotuner off: its clean-up can stall ``fit()`` (notebook 7)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


class GAN(keras.Model):
    """A generator and a discriminator trained against each other by ``fit()`` (notebook 7);
    ``real_label`` 0.9 is one-sided label smoothing; ``seed`` seeds the latent draws."""

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
        # Built: under tf.distribute, fit() would otherwise call the generator on images.
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
        # The optimisers' slots, made now in the strategy's scope: tf.distribute refuses slots
        # made lazily on every replica, and a checkpoint can restore them before the first step.
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
        self, model: keras.Model, optimizer: keras.optimizers.Optimizer, inputs: Any, targets: Any
    ) -> tuple[Any, Any]:
        """What ``model.train_on_batch(inputs, targets)`` does: one gradient step on its loss."""
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = self.loss_fn(targets, predictions)
        weights = model.trainable_weights
        optimizer.apply(tape.gradient(loss, weights), weights)
        # Keras divides each of N devices' losses by N (summed gradients); report the mean.
        return loss * tf.distribute.get_strategy().num_replicas_in_sync, predictions

    def draw(self, n: Any) -> Any:
        """This device's ``n`` rows of :meth:`latent_batch` drawn for all devices: under
        ``tf.distribute``, N devices get different fakes, exactly the draws of one device."""
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
    """:class:`GAN` trained on (images, digits) pairs, both players told the digit (notebook 8)."""

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
    """Keeps ``average``, an exponential moving average of the generator's weights."""

    def __init__(self, generator: keras.Model, decay: float = 0.99) -> None:
        super().__init__()
        self.generator, self.decay = generator, decay
        self.average = keras.models.clone_model(generator)
        self.average.set_weights(generator.get_weights())

    @tf.function
    def _average_in(self) -> None:
        for average, current in zip(self.average.weights, self.generator.weights, strict=True):
            average.assign(self.decay * average + (1.0 - self.decay) * current)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._average_in()


class Snapshots(keras.callbacks.Callback):
    """The same latent points drawn every ``every`` steps: ``images[i]`` after ``steps[i]``."""

    def __init__(
        self,
        latent: np.ndarray,
        every: int,
        generator: keras.Model | None = None,
        digits: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.latent, self.every, self.digits, self.source = latent, every, digits, generator
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
