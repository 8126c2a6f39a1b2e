"""The tutorial's one random seed, and the one place that applies it."""

from __future__ import annotations

import keras
import tensorflow as tf

SEED = 42


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow ops deterministic.

    Call it once, before building any model: layer initialisers, dropout and the GAN's latent
    draws take their randomness from the seed set here, so the same seed on the same machine
    gives the same weights bit for bit.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
