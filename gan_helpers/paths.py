"""Where the tutorial keeps its files: ``data/`` (what the notebooks read) and ``artifacts/``
(what they write), at the project root; ``GAN_TUTORIAL_DATA_DIR`` / ``_ARTIFACTS_DIR`` move them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds ``pyproject.toml`` (the package is installed editable)."""
    candidate = Path(__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def data_dir() -> Path:
    """Folder of input data and shipped weights (``$GAN_TUTORIAL_DATA_DIR`` or ``data/``)."""
    override = os.environ.get("GAN_TUTORIAL_DATA_DIR")
    return Path(override) if override else project_root() / "data"


def artifacts_dir(*parts: str) -> Path:
    """A gitignored folder for generated files, created on first use: ``artifacts/<parts>``."""
    override = os.environ.get("GAN_TUTORIAL_ARTIFACTS_DIR")
    path = (Path(override) if override else project_root() / "artifacts").joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def replace_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """Let ``write(tmp)`` create a temporary file beside ``target``, then rename it into place.

    A crash mid-write leaves the old ``target`` whole (the data are fsynced before the rename).
    The temporary name keeps the suffix (Keras picks the format from it); the writer creates
    the file itself, so it gets the usual permissions (``mkstemp`` would make it private).
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
