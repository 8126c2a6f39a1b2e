"""The tutorial's models (notebooks 3-5, 8, 9); generators draw 28x28x1 images in [-1, 1]."""

import keras
import numpy as np
from keras import layers

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100
DIGITS = 10


def build_discriminator(
    filters: tuple[int, ...] = (32, 64, 128), dropout: float = 0.3, name: str = "discriminator"
) -> keras.Model:
    """The DCGAN discriminator, as notebook 3 builds it: three stride-2 conv blocks, a sigmoid."""
    stack = [keras.Input(IMAGE_SHAPE), *_conv_blocks(filters, dropout), layers.Flatten()]
    return keras.Sequential([*stack, layers.Dense(1, activation="sigmoid")], name=name)


def _conv_blocks(filters: tuple[int, ...], dropout: float) -> list[layers.Layer]:
    blocks: list[layers.Layer] = []
    for width in filters:
        blocks += [layers.Conv2D(width, 4, strides=2, padding="same"), layers.LeakyReLU(0.2)]
        blocks.append(layers.Dropout(dropout))
    return blocks


def build_generator(
    latent_dim: int = LATENT_DIM, filters: tuple[int, int] = (64, 32), name: str = "generator"
) -> keras.Model:
    """The DCGAN generator, as notebook 4 builds it: 7x7 up to 28x28 by transposed convolutions."""
    return keras.Sequential([keras.Input((latent_dim,)), *_generator_body(*filters)], name=name)


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
    """The DCGAN generator told which digit to draw (notebook 8): ``generator([z, digit])``."""
    latent = keras.Input((latent_dim,), name="z")
    digit = keras.Input((1,), dtype="int32", name="digit")
    one_hot = layers.CategoryEncoding(digits, output_mode="one_hot")(digit)
    x = layers.Concatenate()([latent, one_hot])
    for layer in _generator_body(*filters):
        x = layer(x)
    return keras.Model([latent, digit], x, name=name)


def build_conditional_discriminator(
    filters: tuple[int, ...] = (32, 64, 128),
    dropout: float = 0.3,
    digits: int = DIGITS,
    name: str = "conditional_discriminator",
) -> keras.Model:
    """The DCGAN discriminator asked "is this a real ``digit``?" (notebook 8): a projection head."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    digit = keras.Input((1,), dtype="int32", name="digit")
    x = image
    for layer in _conv_blocks(filters, dropout):
        x = layer(x)
    features = layers.Flatten()(x)
    shared = layers.Dense(1, name="real_score")(features)
    width = features.shape[-1]
    embedding = layers.Flatten()(layers.Embedding(digits, width, name="digit_embedding")(digit))
    matches = layers.Dot(axes=1, name="digit_match")([embedding, features])
    verdict = layers.Activation("sigmoid")(layers.Add()([shared, matches]))
    return keras.Model([image, digit], verdict, name=name)


def build_published_generator(
    latent_dim: int = LATENT_DIM, name: str = "published_generator"
) -> keras.Model:
    """The DCGAN generator the Brownlee tutorial published, with tanh for sigmoid (notebook 4)."""
    stack = [keras.Input((latent_dim,)), layers.Dense(7 * 7 * 128), layers.LeakyReLU(0.2)]
    stack.append(layers.Reshape((7, 7, 128)))
    for _ in range(2):
        stack += [layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2)]
    stack.append(layers.Conv2D(1, 7, padding="same", activation="tanh"))
    return keras.Sequential(stack, name=name)


def build_mlp_generator(
    latent_dim: int = LATENT_DIM,
    widths: tuple[int, ...] = (256, 512, 1024),
    name: str = "mlp_generator",
) -> keras.Model:
    """The dense generator of the MLP GAN tutorial (notebook 9)."""
    stack: list[layers.Layer] = [keras.Input((latent_dim,))]
    for width in widths:
        stack += [layers.Dense(width), layers.LeakyReLU(0.2)]
        stack.append(layers.BatchNormalization(momentum=0.8))
    stack += [layers.Dense(28 * 28, activation="tanh"), layers.Reshape(IMAGE_SHAPE)]
    return keras.Sequential(stack, name=name)


def build_mlp_discriminator(
    widths: tuple[int, ...] = (512, 256), name: str = "mlp_discriminator"
) -> keras.Model:
    """The dense discriminator of the MLP GAN tutorial (notebook 9)."""
    stack: list[layers.Layer] = [keras.Input(IMAGE_SHAPE), layers.Flatten()]
    for width in widths:
        stack += [layers.Dense(width), layers.LeakyReLU(0.2)]
    stack.append(layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(stack, name=name)


class FrozenDiscriminatorComposite(keras.Model):
    """``discriminator(generator(z))`` (notebook 5), training only the generator's weights: in
    Keras 3, ``discriminator.trainable = False`` would freeze it for its own training too."""

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, name: str = "composite"
    ) -> None:
        super().__init__(name=name)
        self.generator, self.discriminator = generator, discriminator

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
    """Chain ``generator`` then ``discriminator``, the discriminator frozen inside (notebook 5)."""
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
    """Multiply-adds per example of a forward pass (dense, conv layers); a step costs ~3 times."""
    total = 0
    for layer in _all_layers(model):
        if isinstance(layer, layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, layers.Conv2D | layers.Conv2DTranspose):
            # The whole kernel per output pixel; a transposed one paints it per input pixel.
            transposed = isinstance(layer, layers.Conv2DTranspose)
            _, height, width, _ = (layer.input if transposed else layer.output).shape
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
    """Images in [-1, 1] (float32) drawn in inference mode from (n, latent_dim) floats (and, if
    conditional, ``digits``: one per row or one for all); bad input gets a clear error."""
    latent_dim = latent_dim_of(generator)
    z = np.asarray(latent)
    if not np.issubdtype(z.dtype, np.floating):
        raise TypeError(f"latent vectors must be floats, got dtype {z.dtype}")
    if z.ndim != 2 or z.shape[1] != latent_dim or len(z) == 0:
        hint = " (one vector? use latent[np.newaxis])" if z.shape == (latent_dim,) else ""
        raise ValueError(f"latent vectors must have shape (n, {latent_dim}), got {z.shape}{hint}")
    if not np.isfinite(z).all():
        raise ValueError("latent vectors contain NaN or infinite values; draw them again")
    inputs = [z.astype(np.float32, copy=False)]
    if is_conditional(generator) and digits is None:
        raise ValueError(f"{generator.name} draws the digit it is given: pass digits=")
    if digits is not None and not is_conditional(generator):
        raise ValueError(f"{generator.name} is not conditional: leave out digits")
    if digits is not None:
        given = np.asarray(digits).reshape(-1)
        if given.size not in (1, len(z)):
            raise ValueError(f"one digit per latent vector, or one for all: got {given.size}")
        if given.min() < 0 or given.max() >= DIGITS or not np.array_equal(given, np.round(given)):
            raise ValueError(f"digits must be whole numbers from 0 to {DIGITS - 1}")
        labels = np.broadcast_to(given.astype(np.int32).reshape(-1, 1), (len(z), 1))
        inputs.append(np.ascontiguousarray(labels))
    parts = []
    for start in range(0, len(z), batch_size):
        batch = [part[start : start + batch_size] for part in inputs]
        output = generator(batch if len(batch) > 1 else batch[0], training=False)
        parts.append(keras.ops.convert_to_numpy(output))
    return np.concatenate(parts).astype(np.float32, copy=False)
