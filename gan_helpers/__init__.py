"""The code the gan-mnist-tutorial notebooks write, one module per concern, for the notebooks
that follow. Importing it changes no global setting or environment variable."""

from gan_helpers.reproducibility import SEED, seed_everything

__version__ = "0.2.0"
__all__ = ["SEED", "seed_everything"]
