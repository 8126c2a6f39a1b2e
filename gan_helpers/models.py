"""The tutorial's models, each introduced by a notebook: the DCGAN's discriminator (3) and
generator (4), the composite that trains the generator through the frozen discriminator (5), the
same DCGAN told which digit to draw (8), the published Brownlee generator (4, for its cost) and
the dense MLP pair (9). Generators draw 28x28x1 images in [-1, 1]; discriminators return the
probability that an image (of a given digit) is real.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100
DIGITS = 10


def build_discriminator(
    filters: tuple[int, int] = (32, 64), dropout: float = 0.3, name: str = "discriminator"
) -> keras.Model:
    """The DCGAN discriminator, as notebook 3 builds it.

    (28, 28, 1) -> two blocks of a stride-2 4x4 ``Conv2D`` + ``LeakyReLU(0.2)`` + ``Dropout``
    (28 -> 14 -> 7 pixels) -> flatten -> ``Dense(1, sigmoid)``: the probability that the image
    is a real digit.
    """
    first, second = filters
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Conv2D(first, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(dropout),
            layers.Conv2D(second, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(dropout),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ],
        name=name,
    )


def build_generator(
    latent_dim: int = LATENT_DIM, filters: tuple[int, int] = (64, 32), name: str = "generator"
) -> keras.Model:
    """The DCGAN generator, as notebook 4 builds it.

    (latent_dim,) -> ``Dense`` to 7x7x``filters[0]`` -> ``Conv2DTranspose`` stride 2 to
    14x14x``filters[1]`` -> ``Conv2DTranspose`` stride 2 to 28x28x1 with tanh. The hidden
    layers are batch-normalised with ReLU, as in the DCGAN paper (Radford et al. 2016); their
    biases would be cancelled by the batch norm, so they are left out.
    """
    first, second = filters
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            *_generator_body(first, second),
        ],
        name=name,
    )


def _generator_body(first: int, second: int) -> list[layers.Layer]:
    return [
        layers.Dense(7 * 7 * first, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Reshape((7, 7, first)),
        layers.Conv2DTranspose(second, 4, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh"),
    ]


def build_conditional_generator(
    latent_dim: int = LATENT_DIM,
    filters: tuple[int, int] = (64, 32),
    digits: int = DIGITS,
    name: str = "conditional_generator",
) -> keras.Model:
    """The DCGAN generator told which digit to draw (notebook 8): ``generator([z, digit])``.

    The digit (one whole number per image, shape (n, 1)) is one-hot encoded and concatenated to
    the latent vector; everything after that is :func:`build_generator`'s layers.
    """
    latent = keras.Input((latent_dim,), name="z")
    digit = keras.Input((1,), dtype="int32", name="digit")
    one_hot = layers.CategoryEncoding(digits, output_mode="one_hot")(digit)
    x = layers.Concatenate()([latent, one_hot])
    for layer in _generator_body(*filters):
        x = layer(x)
    return keras.Model([latent, digit], x, name=name)


def build_conditional_discriminator(
    filters: tuple[int, int] = (32, 64),
    dropout: float = 0.3,
    digits: int = DIGITS,
    name: str = "conditional_discriminator",
) -> keras.Model:
    """The DCGAN discriminator asked "is this a real ``digit``?" (notebook 8).

    :func:`build_discriminator`'s convolutions give features ``h``; a projection head
    (Miyato and Koyama 2018) reads the verdict as ``w . h + e_digit . h``: one "real?" score
    shared by every digit, plus how well the features match the digit's own embedding
    ``e_digit``, then a sigmoid.
    """
    first, second = filters
    image = keras.Input(IMAGE_SHAPE, name="image")
    digit = keras.Input((1,), dtype="int32", name="digit")
    x = image
    for width in (first, second):
        x = layers.Conv2D(width, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(dropout)(x)
    features = layers.Flatten()(x)
    shared = layers.Dense(1, name="real_score")(features)
    embedding = layers.Flatten()(
        layers.Embedding(digits, 7 * 7 * second, name="digit_embedding")(digit)
    )
    matches = layers.Dot(axes=1, name="digit_match")([embedding, features])
    verdict = layers.Activation("sigmoid")(layers.Add()([shared, matches]))
    return keras.Model([image, digit], verdict, name=name)


def build_published_generator(
    latent_dim: int = LATENT_DIM, name: str = "published_generator"
) -> keras.Model:
    """The DCGAN generator as the Brownlee tutorial published it (notebook 4's cost comparison).

    (latent_dim,) -> ``Dense`` to 7x7x128 -> two stride-2 4x4 ``Conv2DTranspose(128)``, each
    with ``LeakyReLU(0.2)`` -> 7x7 ``Conv2D`` to one channel: tanh for our [-1, 1] pixels,
    where the tutorial has sigmoid for its [0, 1] ones (same cost).
    """
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 128),
            layers.LeakyReLU(0.2),
            layers.Reshape((7, 7, 128)),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(1, 7, padding="same", activation="tanh"),
        ],
        name=name,
    )


def build_mlp_generator(
    latent_dim: int = LATENT_DIM,
    widths: tuple[int, ...] = (256, 512, 1024),
    name: str = "mlp_generator",
) -> keras.Model:
    """The dense generator of the MLP GAN tutorial (notebook 9).

    (latent_dim,) -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` +
    ``BatchNormalization(momentum=0.8)`` -> ``Dense(784, tanh)`` -> (28, 28, 1).
    """
    stack: list[layers.Layer] = [keras.Input((latent_dim,))]
    for width in widths:
        stack += [
            layers.Dense(width),
            layers.LeakyReLU(0.2),
            layers.BatchNormalization(momentum=0.8),
        ]
    stack += [layers.Dense(28 * 28, activation="tanh"), layers.Reshape(IMAGE_SHAPE)]
    return keras.Sequential(stack, name=name)


def build_mlp_discriminator(
    widths: tuple[int, ...] = (512, 256), name: str = "mlp_discriminator"
) -> keras.Model:
    """The dense discriminator of the MLP GAN tutorial (notebook 9).

    (28, 28, 1) -> flatten to 784 -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` ->
    ``Dense(1, sigmoid)``.
    """
    stack: list[layers.Layer] = [keras.Input(IMAGE_SHAPE), layers.Flatten()]
    for width in widths:
        stack += [layers.Dense(width), layers.LeakyReLU(0.2)]
    stack.append(layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(stack, name=name)


class FrozenDiscriminatorComposite(keras.Model):
    """``discriminator(generator(z))``, a model that trains only the generator (notebook 5).

    ``discriminator.trainable = False`` would freeze the shared discriminator everywhere in
    Keras 3, so its own ``train_on_batch`` would train nothing. This composite leaves the flag
    alone and declares which weights it trains: exactly the generator's. For a conditional pair
    the input is ``[z, digit]`` and the digit goes to both players.
    """

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, name: str = "composite"
    ) -> None:
        super().__init__(name=name)
        self.generator = generator
        self.discriminator = discriminator

    def call(self, inputs: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        images = self.generator(inputs, training=training)
        if isinstance(inputs, list | tuple):
            images = [images, inputs[1]]
        return self.discriminator(images, training=training)

    @property
    def trainable_weights(self) -> list[keras.Variable]:
        return self.generator.trainable_weights if self.trainable else []

    @property
    def trainable_variables(self) -> list[keras.Variable]:
        return self.trainable_weights

    @property
    def non_trainable_weights(self) -> list[keras.Variable]:
        trainable_ids = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable_ids]

    @property
    def non_trainable_variables(self) -> list[keras.Variable]:
        trainable_ids = {id(v) for v in self.trainable_weights}
        return [v for v in self.variables if id(v) not in trainable_ids]


def build_composite(
    generator: keras.Model, discriminator: keras.Model
) -> FrozenDiscriminatorComposite:
    """Chain ``generator`` then ``discriminator``, the discriminator frozen inside (notebook 5).

    The result maps latent vectors (or ``[z, digit]``) to probabilities; its trainable weights
    are exactly the generator's, while ``discriminator`` keeps training normally on its own.
    """
    if any(isinstance(layer, layers.BatchNormalization) for layer in _all_layers(discriminator)):
        raise ValueError(
            f"{discriminator.name} has BatchNormalization layers, whose moving statistics "
            "would change while the discriminator is frozen in the composite. Use a "
            "discriminator without BatchNormalization (dropout or layer normalisation are fine)."
        )
    composite = FrozenDiscriminatorComposite(generator, discriminator)
    shapes = [tuple(t.shape) for t in generator.inputs]
    composite.build(shapes if len(shapes) > 1 else shapes[0])
    return composite


def _all_layers(model: keras.Model) -> list[layers.Layer]:
    found = []
    for layer in getattr(model, "layers", []):
        found += [layer, *_all_layers(layer)]
    return found


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds one forward pass of ``model`` needs per example (dense and conv layers).

    A training step costs about three times this per example (forward, and two products in
    the backward pass). Activations, normalisation and biases are a few percent and not counted.
    """
    total = 0
    for layer in _all_layers(model):
        if isinstance(layer, layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, layers.Conv2DTranspose):
            # Every input pixel is painted into the output through the whole kernel.
            _, height, width, _ = layer.input.shape
            total += height * width * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.Conv2D):
            _, height, width, _ = layer.output.shape
            total += height * width * int(np.prod(layer.kernel.shape))
    return int(total)


def is_conditional(generator: keras.Model) -> bool:
    """True for a generator that takes ``[z, digit]``."""
    return len(generator.inputs) > 1


def latent_dim_of(generator: keras.Model) -> int:
    """How many numbers a latent vector of ``generator`` has."""
    return int(generator.inputs[0].shape[-1])


def generate(
    generator: keras.Model,
    latent: np.ndarray,
    digits: np.ndarray | int | None = None,
    *,
    batch_size: int = 1000,
) -> np.ndarray:
    """Images drawn by ``generator`` in inference mode, as a float32 array in [-1, 1].

    ``latent`` is (n, latent_dim) floats, e.g. ``rng.standard_normal((16, 100))``; a
    conditional generator also needs ``digits``, one per vector or one for all. Bad input
    raises a TypeError or ValueError that says what was expected.
    """
    latent_dim = latent_dim_of(generator)
    array = np.asarray(latent)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"latent vectors must be floats, got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[1] != latent_dim or len(array) == 0:
        hint = " (one vector? use latent[np.newaxis])" if array.shape == (latent_dim,) else ""
        raise ValueError(
            f"latent vectors must have shape (n, {latent_dim}), got {array.shape}{hint}"
        )
    if not np.isfinite(array).all():
        raise ValueError("latent vectors contain NaN or infinite values; draw them again")
    inputs = [array.astype(np.float32, copy=False)]
    if is_conditional(generator) != (digits is not None):
        need = (
            "draws the digit it is given: pass digits="
            if digits is None
            else "is not conditional: leave out digits"
        )
        raise ValueError(f"{generator.name} {need}")
    if digits is not None:
        given = np.asarray(digits).reshape(-1)
        if given.size not in (1, len(array)):
            raise ValueError(f"one digit per latent vector, or one for all: got {given.size}")
        if given.min() < 0 or given.max() >= DIGITS or not np.array_equal(given, np.round(given)):
            raise ValueError(f"digits must be whole numbers from 0 to {DIGITS - 1}")
        labels = np.broadcast_to(given.astype(np.int32).reshape(-1, 1), (len(array), 1))
        inputs.append(np.ascontiguousarray(labels))
    parts = []
    for start in range(0, len(array), batch_size):
        batch = [part[start : start + batch_size] for part in inputs]
        output = generator(batch if len(batch) > 1 else batch[0], training=False)
        parts.append(keras.ops.convert_to_numpy(output))
    return np.concatenate(parts).astype(np.float32, copy=False)
