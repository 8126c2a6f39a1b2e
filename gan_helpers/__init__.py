"""The code the gan-mnist-tutorial notebooks write, kept for the notebooks that follow.

One module per concern, each naming the notebook that introduces it: ``data`` (MNIST,
notebook 2), ``models`` (the DCGAN and its composite, notebooks 3-5; its conditional form,
notebook 8; the dense GAN, notebook 9), ``gan`` (``GAN(keras.Model)`` and its callbacks,
notebooks 7-8), ``pretrained`` (the shipped models and the command that trains them),
``classifier``, ``metrics`` and ``evaluation`` (judging a generator, notebook 10), ``plots``
(figures), ``explorer`` (the latent explorer, notebook 11), ``model_files`` (safe loading),
``paths`` (where files live) and ``reproducibility`` (the seed).

Importing the package changes no global setting or environment variable.
"""

from gan_helpers.reproducibility import SEED, seed_everything

__version__ = "0.2.0"
__all__ = ["SEED", "seed_everything"]
