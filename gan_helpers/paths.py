"""The project's ``data/`` (read) and ``artifacts/`` (written), or ``$GAN_TUTORIAL_*_DIR``."""

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
    """Let ``write(tmp)`` create ``tmp`` (same suffix, usual permissions) beside ``target``, then
    fsync and rename it into place: a crash mid-write leaves the old ``target`` whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    name = f".{target.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{target.suffix}"
    tmp = target.with_name(name)
    try:
        write(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
