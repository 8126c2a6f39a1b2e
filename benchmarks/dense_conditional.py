"""A dense conditional GAN: notebook 9's MLP pair, told which digit to draw, for comparisons.

Not part of the tutorial: ``benchmarks/time_to_quality.py`` trains it next to the two shipped
DCGANs, to show what the convolutions buy at equal training time. The generator takes
``[z, digit]`` (the digit one-hot encoded and concatenated to z, as in
``gan_helpers.models.build_conditional_generator``) through notebook 9's dense layers; the
discriminator is notebook 9's dense discriminator with a projection head (as in
``build_conditional_discriminator``). It trains with ``gan_helpers.gan.ConditionalGAN`` and
the shipped models' settings (:data:`DENSE_CONDITIONAL`).
"""

from __future__ import annotations

import keras
from keras import layers

from gan_helpers.models import DIGITS, IMAGE_SHAPE, LATENT_DIM
from gan_helpers.pretrained import ModelSpec


def build_dense_conditional_generator(
    latent_dim: int = LATENT_DIM,
    widths: tuple[int, ...] = (256, 512, 1024),
    digits: int = DIGITS,
    name: str = "dense_conditional_generator",
) -> keras.Model:
    """``[z, digit]`` -> one-hot digit joined to z -> for each width: ``Dense`` +
    ``LeakyReLU(0.2)`` + ``BatchNormalization(momentum=0.8)`` -> ``Dense(784, tanh)`` -> image.
    """
    latent = keras.Input((latent_dim,), name="z")
    digit = keras.Input((1,), dtype="int32", name="digit")
    one_hot = layers.CategoryEncoding(digits, output_mode="one_hot")(digit)
    x = layers.Concatenate()([latent, one_hot])
    for width in widths:
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.BatchNormalization(momentum=0.8)(x)
    x = layers.Dense(28 * 28, activation="tanh")(x)
    return keras.Model([latent, digit], layers.Reshape(IMAGE_SHAPE)(x), name=name)


def build_dense_conditional_discriminator(
    widths: tuple[int, ...] = (512, 256),
    digits: int = DIGITS,
    name: str = "dense_conditional_discriminator",
) -> keras.Model:
    """``[image, digit]`` -> flatten -> for each width: ``Dense`` + ``LeakyReLU(0.2)`` ->
    features ``h``; verdict ``sigmoid(w . h + e_digit . h)``, a projection head.
    """
    image = keras.Input(IMAGE_SHAPE, name="image")
    digit = keras.Input((1,), dtype="int32", name="digit")
    features = layers.Flatten()(image)
    for width in widths:
        features = layers.LeakyReLU(0.2)(layers.Dense(width)(features))
    shared = layers.Dense(1, name="real_score")(features)
    embedding = layers.Embedding(digits, widths[-1], name="digit_embedding")(digit)
    embedding = layers.Flatten()(embedding)
    matches = layers.Dot(axes=1, name="digit_match")([embedding, features])
    verdict = layers.Activation("sigmoid")(layers.Add()([shared, matches]))
    return keras.Model([image, digit], verdict, name=name)


# Trained exactly as the shipped conditional DCGAN is (batch, label smoothing, weight average).
DENSE_CONDITIONAL = ModelSpec(
    build_dense_conditional_generator,
    build_dense_conditional_discriminator,
    conditional=True,
    description="notebook 9's dense GAN told which digit to draw (projection discriminator)",
)
