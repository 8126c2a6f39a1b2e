"""The GAN models of the tutorial and the frozen composite.

The seeds' DCGAN and dense (MLP) GAN, a light DCGAN, the InfoGAN pair (the dense generator
behind a :class:`CategoricalCode`, and a discriminator with a second head that guesses the
category of a fake) and the default recipe's conditional pair (the same generator, whose
category is the digit to draw, and a projection discriminator told each image's digit).

Every generator maps a latent vector of ``latent_dim`` numbers to a 28x28x1 image in
[-1, 1] (tanh), the range :func:`gan_helpers.data.to_model_range` puts MNIST in.
Every discriminator maps such an image to one probability, "this digit is real"; the
InfoGAN discriminator returns the category logits beside it, and the projection
discriminator returns logits, one shared and one per digit.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import layers

from gan_helpers.fast_conv import ShiftSumConv2D

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100


def build_dcgan_discriminator(
    filters: int = 64, dropout: float = 0.4, name: str = "dcgan_discriminator"
) -> keras.Model:
    """The seed's convolutional discriminator.

    (28, 28, 1) image -> two blocks of stride-2 3x3 ``Conv2D`` + ``LeakyReLU(0.2)`` +
    ``Dropout`` (28 -> 14 -> 7 pixels) -> flatten -> ``Dense(1, sigmoid)``.
    With the defaults it has 40,705 parameters, all trainable.
    """
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Conv2D(filters, 3, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(dropout),
            layers.Conv2D(filters, 3, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(dropout),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ],
        name=name,
    )


def build_dcgan_generator(
    latent_dim: int = LATENT_DIM, filters: int = 128, name: str = "dcgan_generator"
) -> keras.Model:
    """The seed's convolutional generator.

    (latent_dim,) -> ``Dense`` to 7x7x``filters`` -> two stride-2 4x4 ``Conv2DTranspose``
    (7 -> 14 -> 28 pixels), each with ``LeakyReLU(0.2)`` -> 7x7 ``Conv2D`` to one channel
    with tanh -> (28, 28, 1). With the defaults it has 1,164,289 parameters and needs
    about 70 million multiply-adds per image.

    The last layer is a :class:`~gan_helpers.fast_conv.ShiftSumConv2D`: the seed's
    ``Conv2D(1, 7)`` with the same weights and outputs, computed about 4x faster on a CPU.
    """
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * filters),
            layers.LeakyReLU(0.2),
            layers.Reshape((7, 7, filters)),
            layers.Conv2DTranspose(filters, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(filters, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            ShiftSumConv2D(1, 7, padding="same", activation="tanh"),
        ],
        name=name,
    )


def build_mlp_generator(
    latent_dim: int = LATENT_DIM,
    widths: tuple[int, ...] = (256, 512, 1024),
    name: str = "mlp_generator",
    categories: int = 0,
) -> keras.Model:
    """The second seed's fully connected generator.

    (latent_dim,) -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` +
    ``BatchNormalization(momentum=0.8)`` -> ``Dense(784, tanh)`` -> (28, 28, 1).
    With the defaults it has 1,493,520 parameters (3,584 of them BatchNorm statistics).
    ``categories`` above 0 puts a :class:`CategoricalCode` in front (see
    :func:`build_info_generator`); the parameter count stays the same.
    """
    stack: list[layers.Layer] = [keras.Input((latent_dim,))]
    if categories:
        stack.append(CategoricalCode(categories))
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
    """The second seed's fully connected discriminator.

    (28, 28, 1) -> flatten to 784 -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` ->
    ``Dense(1, sigmoid)``. With the defaults it has 533,505 parameters.
    """
    stack: list[layers.Layer] = [keras.Input(IMAGE_SHAPE), layers.Flatten()]
    for width in widths:
        stack += [layers.Dense(width), layers.LeakyReLU(0.2)]
    stack.append(layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(stack, name=name)


@keras.saving.register_keras_serializable(package="gan_helpers")
class CategoricalCode(layers.Layer):
    """Reads a category out of a standard-normal latent vector, InfoGAN style.

    The category is the index of the largest of the first ``categories`` numbers; for
    standard-normal latents each category is equally likely, so the generator still takes
    plain N(0, I) vectors and every tool that draws latents works unchanged. Those numbers
    are replaced by the category as a one-hot code (times ``scale``); the rest of the vector
    passes through. The code is a step function of the latent: crossing from one category to
    the next, the generator's input jumps, so it can switch digits abruptly instead of
    morphing through half-drawn shapes. Use :func:`latent_categories` for the same
    category in NumPy.
    """

    def __init__(self, categories: int, scale: float = 2.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        if categories < 2:
            raise ValueError(f"categories must be at least 2, got {categories}")
        self.categories = int(categories)
        self.scale = float(scale)

    def category(self, latent: keras.KerasTensor) -> keras.KerasTensor:
        """The category of each latent vector, as integers (also inside a compiled step)."""
        return keras.ops.argmax(latent[:, : self.categories], axis=-1)

    def call(self, latent: keras.KerasTensor) -> keras.KerasTensor:
        """(batch, latent_dim) -> one-hot category (times scale) and the remaining numbers."""
        code = keras.ops.one_hot(self.category(latent), self.categories, dtype=latent.dtype)
        code = code * self.scale
        return keras.ops.concatenate([code, latent[:, self.categories :]], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """The same shape: ``categories`` code numbers replace as many latent numbers."""
        return tuple(input_shape)

    def get_config(self) -> dict[str, object]:
        """What a saved model needs to rebuild the layer."""
        return {**super().get_config(), "categories": self.categories, "scale": self.scale}


@functools.cache
def _code_layer(categories: int) -> CategoricalCode:
    # One weightless layer per size, built once: the explorer asks on every redraw.
    return CategoricalCode(categories)


def latent_categories(latent: np.ndarray, categories: int) -> np.ndarray:
    """The category :class:`CategoricalCode` reads from each latent vector, as NumPy integers."""
    return keras.ops.convert_to_numpy(_code_layer(categories).category(np.asarray(latent)))


def with_category(latent: np.ndarray, category: int, categories: int) -> np.ndarray:
    """Copies of latent vectors that :class:`CategoricalCode` reads as ``category``.

    Each vector's largest code number trades places with the number at index ``category``;
    nothing else changes. Swapping coordinates of a standard-normal vector leaves it just as
    likely, so the result is still a typical latent, with the same "style" numbers.
    """
    if not 0 <= category < categories:
        raise ValueError(f"category must be in 0..{categories - 1}, got {category}")
    moved = np.array(latent, dtype=np.float32, copy=True)
    rows = moved.reshape(-1, moved.shape[-1])  # a view: 1-D and 2-D inputs alike
    current = latent_categories(rows, categories)
    everyone = np.arange(len(rows))
    rows[everyone, current], rows[everyone, category] = (
        rows[everyone, category],
        rows[everyone, current],
    )
    return moved


def categorical_code_of(generator: keras.Model) -> CategoricalCode | None:
    """``generator``'s :class:`CategoricalCode` layer, or None if it has none."""
    codes = [layer for layer in _all_layers(generator) if isinstance(layer, CategoricalCode)]
    return codes[0] if codes else None


def categories_of(generator: keras.Model) -> int:
    """How many categories ``generator``'s :class:`CategoricalCode` has (0: none)."""
    code = categorical_code_of(generator)
    return code.categories if code is not None else 0


def build_info_generator(
    latent_dim: int = LATENT_DIM, categories: int = 10, name: str = "info_generator"
) -> keras.Model:
    """The dense generator with a :class:`CategoricalCode` in front (InfoGAN, Chen et al. 2016).

    Same layers and parameters as :func:`build_mlp_generator`; the first ``categories``
    latent numbers choose a category. Trained against :func:`build_info_discriminator`, whose
    second head must tell which category drew each fake, every category becomes a
    recognisably different kind of digit.
    """
    return build_mlp_generator(latent_dim, name=name, categories=categories)


def build_info_discriminator(
    categories: int = 10, widths: tuple[int, ...] = (512, 256), name: str = "info_discriminator"
) -> keras.Model:
    """The dense discriminator with a second head that guesses the generator's category.

    (28, 28, 1) -> flatten -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` -> two outputs:
    ``Dense(1, sigmoid)``, "this digit is real", and ``Dense(categories)``, the logits of
    which :class:`CategoricalCode` category drew it (meaningful for fakes only). The heads
    share every hidden layer, so the second one costs 2,570 more parameters with the
    defaults.
    """
    image = keras.Input(IMAGE_SHAPE)
    features = layers.Flatten()(image)
    for width in widths:
        features = layers.LeakyReLU(0.2)(layers.Dense(width)(features))
    real = layers.Dense(1, activation="sigmoid", name="real")(features)
    category = layers.Dense(categories, name="category")(features)
    return keras.Model(image, [real, category], name=name)


def build_conditional_generator(
    latent_dim: int = LATENT_DIM, digits: int = 10, name: str = "conditional_generator"
) -> keras.Model:
    """The dense generator told which digit to draw by a :class:`CategoricalCode`.

    The same layers as :func:`build_info_generator`; trained against
    :func:`build_projection_discriminator`, category ``k`` of the code draws the digit ``k``
    (:func:`with_category` chooses it).
    """
    return build_mlp_generator(latent_dim, name=name, categories=digits)


def build_projection_discriminator(
    digits: int = 10, widths: tuple[int, ...] = (512, 256), name: str = "projection_discriminator"
) -> keras.Model:
    """The dense discriminator of a conditional GAN, with a projection head (Miyato et al. 2018).

    (28, 28, 1) -> flatten -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` = features
    ``h`` -> two outputs: ``Dense(1)``, a "real?" logit shared by all digits, and
    ``Dense(digits, use_bias=False)``, one more logit per digit, ``e_k . h``. The verdict on
    "this is a real k" is the sum of the shared logit and the ``k``-th
    (:func:`conditional_logit`): one linear map reads "how real" and "how much like a k"
    from the same features. Logits, not probabilities: the sum must come before the sigmoid.
    """
    image = keras.Input(IMAGE_SHAPE)
    features = layers.Flatten()(image)
    for width in widths:
        features = layers.LeakyReLU(0.2)(layers.Dense(width)(features))
    shared = layers.Dense(1, name="real_logit")(features)
    per_digit = layers.Dense(digits, use_bias=False, name="digit_logits")(features)
    return keras.Model(image, [shared, per_digit], name=name)


def conditional_logit(
    outputs: tuple[keras.KerasTensor, keras.KerasTensor], digits: keras.KerasTensor
) -> keras.KerasTensor:
    """The projection discriminator's logit for "a real ``digits[i]``", one per image.

    ``outputs`` is what :func:`build_projection_discriminator`'s model returns for a batch;
    ``digits`` holds one whole number per image (the label of a real digit, the category
    that drew a fake).
    """
    shared, per_digit = outputs
    chosen = keras.ops.take_along_axis(per_digit, keras.ops.cast(digits, "int32")[:, None], axis=1)
    return shared[:, 0] + chosen[:, 0]


def build_light_dcgan_generator(
    latent_dim: int = LATENT_DIM,
    filters: tuple[int, int] = (128, 64),
    bn_momentum: float = 0.99,
    name: str = "light_dcgan_generator",
) -> keras.Model:
    """The ``light-dcgan`` recipe's generator: the seed's layout, lighter and batch-normalised.

    (latent_dim,) -> ``Dense`` to 7x7x``filters[0]`` -> ``Conv2DTranspose`` stride 2 to
    14x14x``filters[1]`` -> ``Conv2DTranspose`` stride 2 to 28x28x1 with tanh. Hidden layers
    use ``BatchNormalization`` + ReLU, as in the DCGAN paper; biases before a batch norm
    would be cancelled by it, so they are left out. With the defaults it has 784,641
    parameters (12,672 of them batch-norm statistics) and needs about 7.3 million
    multiply-adds per image, a tenth of the seed generator's 70 million.
    """
    first, second = filters
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * first, use_bias=False),
            layers.BatchNormalization(momentum=bn_momentum),
            layers.ReLU(),
            layers.Reshape((7, 7, first)),
            layers.Conv2DTranspose(second, 4, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(momentum=bn_momentum),
            layers.ReLU(),
            layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh"),
        ],
        name=name,
    )


def build_light_dcgan_discriminator(
    filters: tuple[int, int] = (64, 128),
    dropout: float = 0.3,
    name: str = "light_dcgan_discriminator",
) -> keras.Model:
    """The ``light-dcgan`` recipe's discriminator: two stride-2 4x4 convolutions, no batch norm.

    (28, 28, 1) -> ``Conv2D`` to 14x14x``filters[0]`` -> ``Conv2D`` to 7x7x``filters[1]``,
    each with ``LeakyReLU(0.2)`` + ``Dropout`` -> flatten -> ``Dense(1, sigmoid)``.
    With the defaults it has 138,561 parameters.
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


class FrozenDiscriminatorComposite(keras.Model):
    """``discriminator(generator(z))``, a model that trains only the generator.

    This is the seeds' "GAN model": the generator is scored by the discriminator, and
    training it with the label "real" teaches the generator to fool the discriminator.
    The discriminator must not learn here, or it would learn to call fakes real.

    The seeds froze it with ``discriminator.trainable = False``. In Keras 3 that flag is
    live and belongs to the layer object, which the composite shares with the stand-alone
    discriminator: setting it freezes the discriminator *everywhere*, and its own
    ``train_on_batch`` then trains nothing, with one easily missed warning ("The model
    does not have any trainable weights"). So this composite leaves the flag
    alone and instead declares which weights it trains: exactly the generator's. The
    discriminator's weights stay in the forward pass (gradients flow through them to
    the generator) but are never handed to this model's optimizer.

    The discriminator runs in training mode here, as in the seeds, so its dropout is
    active; it must not hold layers that update state in training mode
    (``BatchNormalization``), or those statistics would drift while it is "frozen".
    """

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, name: str = "composite"
    ) -> None:
        super().__init__(name=name)
        self.generator = generator
        self.discriminator = discriminator

    def call(self, latent: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        return self.discriminator(self.generator(latent, training=training), training=training)

    @property
    def trainable_weights(self) -> list[keras.Variable]:
        return self.generator.trainable_weights if self.trainable else []

    @property
    def trainable_variables(self) -> list[keras.Variable]:
        return self.generator.trainable_variables if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[keras.Variable]:
        frozen = self.generator.non_trainable_weights + self.discriminator.weights
        return frozen if self.trainable else self.weights

    @property
    def non_trainable_variables(self) -> list[keras.Variable]:
        trainable_ids = {id(v) for v in self.trainable_variables}
        return [v for v in self.variables if id(v) not in trainable_ids]


def build_composite(
    generator: keras.Model, discriminator: keras.Model
) -> FrozenDiscriminatorComposite:
    """Chain ``generator`` then ``discriminator`` with the discriminator frozen inside.

    The result maps (batch, latent_dim) latent vectors to (batch, 1) probabilities (and,
    for an InfoGAN discriminator, to its category logits as a second output). Its
    trainable weights are exactly the generator's, while ``discriminator`` keeps training
    normally on its own. Compile it with the generator's optimizer and
    ``binary_crossentropy``, then train it on latent vectors labelled 1 ("real").
    """
    if any(isinstance(layer, layers.BatchNormalization) for layer in _all_layers(discriminator)):
        raise ValueError(
            f"{discriminator.name} has BatchNormalization layers, whose moving statistics "
            "would change while the discriminator is frozen in the composite. Use a "
            "discriminator without BatchNormalization (dropout, spectral or layer "
            "normalisation are fine)."
        )
    latent_dim = generator.input_shape[-1]
    composite = FrozenDiscriminatorComposite(generator, discriminator)
    composite.build((None, latent_dim))
    return composite


def _all_layers(model: keras.Model) -> list[layers.Layer]:
    found = []
    for layer in getattr(model, "layers", []):
        found += [layer, *_all_layers(layer)]
    return found


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds one forward pass of ``model`` needs per example (dense and conv layers).

    A training step costs about three times this per example (forward, and two products
    in the backward pass). Activations, normalisation and biases are not counted: they are
    a few percent of the total in these models.
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


def generate(generator: keras.Model, latent: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Images drawn by ``generator`` from ``latent`` vectors, as a float32 NumPy array.

    ``latent`` must be a 2-D array of finite floating-point numbers, one row of
    ``latent_dim`` values per image, e.g.
    ``np.random.default_rng(0).standard_normal((16, 100), dtype=np.float32)``. The
    generator runs with ``training=False`` (batch norm uses its averaged statistics, nothing
    is updated), ``batch_size`` vectors at a time. Bad input raises a TypeError or
    ValueError that says what was expected.
    """
    latent_dim = generator.input_shape[-1]
    example = f"e.g. rng.standard_normal((n, {latent_dim}), dtype=np.float32)"
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    array = np.asarray(latent)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"latent vectors must be floating-point numbers, got dtype {array.dtype} ({example})"
        )
    if array.ndim != 2 or array.shape[1] != latent_dim:
        hint = " (one vector? use latent[np.newaxis])" if array.shape == (latent_dim,) else ""
        raise ValueError(
            f"latent vectors must have shape (n, {latent_dim}) for {generator.name}, got "
            f"{array.shape}{hint}"
        )
    if len(array) == 0:
        raise ValueError("no latent vectors given: the array has 0 rows")
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(
            f"latent vectors contain NaN or infinite values ({int(bad.sum())} values, in rows "
            f"{rows[:5].tolist()}{'...' if len(rows) > 5 else ''}); draw them again ({example})"
        )
    array = array.astype(np.float32, copy=False)
    parts = [
        keras.ops.convert_to_numpy(generator(array[start : start + batch_size], training=False))
        for start in range(0, len(array), batch_size)
    ]
    return np.concatenate(parts, axis=0).astype(np.float32, copy=False)
