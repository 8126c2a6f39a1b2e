"""The tutorial's one random seed, and the one place that applies it."""

import keras
import tensorflow as tf

SEED = 42


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow ops deterministic: called
    once before building any model, the same seed on the same machine gives the same weights."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
