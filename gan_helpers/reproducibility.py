"""One place to make a run repeatable."""

from __future__ import annotations

import keras
import tensorflow as tf

DEFAULT_SEED = 42


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow ops deterministic.

    Call it once, before building any model: layer initialisers and dropout draw their
    randomness from the seed set here, so the same seed on the same machine gives the
    same weights bit for bit.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
