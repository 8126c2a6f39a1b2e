"""Where the tutorial keeps its files.

``data/`` holds what the notebooks read (MNIST, the shipped pretrained weights);
``artifacts/`` holds what they write (checkpoints, GIFs, figures, caches). Both sit
at the project root so every notebook finds them whatever its working directory.
Set ``GAN_TUTORIAL_DATA_DIR`` or ``GAN_TUTORIAL_ARTIFACTS_DIR`` to move them.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout that holds ``pyproject.toml`` (the package is installed editable)."""
    candidate = _PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def data_dir() -> Path:
    """Folder of input data and shipped weights (``$GAN_TUTORIAL_DATA_DIR`` or ``data/``)."""
    override = os.environ.get("GAN_TUTORIAL_DATA_DIR")
    return Path(override) if override else project_root() / "data"


def artifacts_dir(*parts: str) -> Path:
    """A gitignored folder for generated files, created on first use.

    ``artifacts_dir("checkpoints")`` gives ``<root>/artifacts/checkpoints``.
    """
    override = os.environ.get("GAN_TUTORIAL_ARTIFACTS_DIR")
    base = Path(override) if override else project_root() / "artifacts"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
