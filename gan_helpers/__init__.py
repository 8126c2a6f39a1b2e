"""Helpers for the gan-mnist-tutorial notebooks.

One module per concern: ``paths`` (where files live), ``data`` (MNIST), ``models``
(generators, discriminators, the frozen composite), ``fast_conv`` (a faster way to compute
the seed generator's last layer), ``training`` (the adversarial step, loop and recipes),
``checkpoints`` (saving and resuming runs), ``evaluation`` (judging a generator),
``pretrained`` and ``model_files`` (the shipped models), ``plots`` (figures), ``widgets``
(the latent explorer) and ``reproducibility`` (the seed).

Importing the package loads TensorFlow once, quietly: its C++ start-up log (CUDA probes,
CPU feature notes, each line stamped with the time and a process id) would otherwise land
in every notebook's first output, differ on every run, and fail the nbval comparison.
"""

import os

__version__ = "0.1.0"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly() -> None:
    # The chatter is written by C++ straight to file descriptor 2 before TensorFlow's log
    # level applies, so the descriptor itself is pointed at /dev/null for the import and
    # the device probe. Python exceptions still propagate with their messages.
    stderr_copy = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()
        # Grappler's "remapper" (which fuses conv + bias + activation) fails on the gradient
        # graph of Conv2D + LeakyReLU, prints an error line into the notebook, and leaves the
        # graph unfused anyway. Off, it prints nothing; training speed measured the same.
        tf.config.optimizer.set_experimental_options({"remapping": False})
    finally:
        os.dup2(stderr_copy, 2)
        os.close(stderr_copy)
        os.close(devnull)


_import_tensorflow_quietly()

from gan_helpers.reproducibility import DEFAULT_SEED, seed_everything  # noqa: E402

__all__ = ["DEFAULT_SEED", "seed_everything"]
