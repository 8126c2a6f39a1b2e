"""Where the tutorial keeps its files.

``data/`` holds what the notebooks read (MNIST, the shipped pretrained weights);
``artifacts/`` holds what they write (checkpoints, GIFs, figures, caches). Both sit
at the project root so every notebook finds them whatever its working directory.
Set ``GAN_TUTORIAL_DATA_DIR`` or ``GAN_TUTORIAL_ARTIFACTS_DIR`` to move them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
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


def replace_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """Let ``write(tmp)`` create a temporary file beside ``target``, then rename it into place.

    A crash or a full disk mid-write leaves the previous ``target`` untouched, never half a
    file: the data reach the disk (``fsync``) before the rename. The temporary name keeps
    ``target``'s suffix because Keras picks the format from it. The writer creates the file
    itself (``mkstemp`` would make it private to its owner), so the result gets the usual
    permissions and can be shared and committed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(
        f".{target.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{target.suffix}"
    )
    try:
        write(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
