"""Helpers for the gan-mnist-tutorial notebooks.

One module per concern: ``paths`` (where files live), ``data`` (MNIST),
``models`` (generators, discriminators, the frozen composite), ``training``
(the adversarial step and loop) and ``reproducibility`` (the seed).
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) reaches notebook
# outputs through the kernel's stderr and differs between machines; keep only errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
