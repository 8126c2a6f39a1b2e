"""Shared fixtures: a fresh seed for every test, and random images in the models' range."""

from __future__ import annotations

import numpy as np
import pytest

from gan_helpers.reproducibility import seed_everything


@pytest.fixture(autouse=True)
def _seeded() -> None:
    seed_everything(1234)


@pytest.fixture(scope="session")
def small_images() -> np.ndarray:
    """512 digit-like images in the models' range, made without loading MNIST."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1.0, 1.0, size=(512, 28, 28, 1)).astype(np.float32)
    return images
