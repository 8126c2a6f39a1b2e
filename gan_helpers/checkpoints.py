"""Training checkpoints on disk: written whole or not at all, a few kept, the newest good one found.

A checkpoint is a folder named after the number of steps completed when it was written::

    <checkpoint_dir>/step-000001500/
        arrays.npz   every array (weights, optimizer slots, ...), plain NumPy, no pickle
        meta.json    everything else as JSON, with the SHA-256 of arrays.npz and of itself

The folder is assembled under a hidden temporary name and renamed into place only once both
files are complete and flushed to disk, so a crash, a full disk or a ``kill -9`` in the middle
of a save leaves the earlier checkpoints as they were and never a half-written one under a
real name. The checksums catch what happens to a file later (truncated copies, bit rot, edits):
:func:`load_latest_checkpoint` then skips the damaged checkpoint with a warning and uses the
previous one.

This module only moves arrays and metadata between memory and disk; which arrays make up a
training state is decided by :mod:`gan_helpers.training`. Nothing here executes code from a
file: arrays load with ``allow_pickle=False``, metadata is JSON. One run writes to a folder
at a time: a save clears the hidden leftovers of other processes' interrupted saves.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_helpers.paths import artifacts_dir

FORMAT = "gan_helpers.checkpoint/1"
ARRAYS_FILE = "arrays.npz"
META_FILE = "meta.json"
_NAME = re.compile(r"^step-(\d{9,})$")
_TEMPORARY_PREFIXES = (".tmp-step-", ".old-step-")


class CheckpointError(Exception):
    """A checkpoint problem; the message says what is wrong and what to do."""


class CorruptCheckpointError(CheckpointError):
    """One checkpoint is damaged or unreadable (missing file, wrong checksum, bad JSON...)."""


class NoUsableCheckpointError(CheckpointError):
    """Checkpoints exist, but every one of them is damaged."""


class CheckpointMismatchError(CheckpointError):
    """A readable checkpoint that belongs to another run (other data, model or settings)."""


class CheckpointWarning(UserWarning):
    """A damaged checkpoint was skipped in favour of an older one."""


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint read back from disk.

    ``step`` is the number of training steps completed when it was written; ``arrays`` and
    ``meta`` are what was handed to :func:`save_checkpoint` (``meta`` without the bookkeeping
    keys this module adds).
    """

    path: Path
    step: int
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


def default_checkpoint_dir(run_name: str) -> Path:
    """``artifacts/checkpoints/<run_name>`` (gitignored), created if needed."""
    if not run_name or Path(run_name).name != run_name or run_name.startswith("."):
        raise ValueError(f"run_name must be a plain folder name, got {run_name!r}")
    return artifacts_dir("checkpoints", run_name)


def checkpoint_name(step: int) -> str:
    """Folder name of the checkpoint after ``step`` steps: ``step-000001500``."""
    if step < 0:
        raise ValueError(f"step must be 0 or more, got {step}")
    return f"step-{step:09d}"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every checkpoint in ``directory``, oldest first.

    Lists names only: a listed checkpoint may still turn out damaged when loaded. Hidden
    temporary folders of saves in progress (or interrupted) are never listed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _NAME.match(entry.name)
        if match and entry.is_dir():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def save_checkpoint(
    directory: Path,
    step: int,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    keep: int = 3,
) -> Path:
    """Write a checkpoint atomically, then delete all but the newest ``keep``; returns its folder.

    ``arrays`` must hold plain numeric arrays (object arrays are refused: they would need
    pickle). ``meta`` must be JSON-serialisable. An existing checkpoint for the same ``step``
    is replaced only once the new one is complete.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / checkpoint_name(step)
    tmp = directory / f".tmp-{final.name}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        arrays_sha256 = _write_arrays(tmp / ARRAYS_FILE, arrays)
        body = {"format": FORMAT, "step": step, "arrays_sha256": arrays_sha256, **meta}
        _write_meta(tmp / META_FILE, body)
        _fsync_directory(tmp)
        _move_into_place(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _fsync_directory(directory)
    prune_checkpoints(directory, keep, up_to=step)
    return final


def load_checkpoint(path: Path) -> Checkpoint:
    """Read one checkpoint folder and verify both checksums.

    Raises :class:`CorruptCheckpointError`, naming the problem, for anything short of a
    complete, unaltered checkpoint.
    """
    path = Path(path)
    match = _NAME.match(path.name)
    if not match:
        raise CorruptCheckpointError(f"{path} is not a checkpoint folder (step-NNNNNNNNN)")
    try:
        text = (path / META_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptCheckpointError(f"{META_FILE} unreadable ({_describe(error)})") from None
    try:
        envelope = json.loads(text)
        body, recorded = envelope["meta"], envelope["sha256"]
    except (ValueError, KeyError, TypeError):
        raise CorruptCheckpointError(f"{META_FILE} is not complete JSON") from None
    if not isinstance(body, dict) or _sha256(_canonical(body)) != recorded:
        raise CorruptCheckpointError(f"{META_FILE} does not match its checksum (altered)")
    if body.get("format") != FORMAT:
        raise CorruptCheckpointError(
            f"unknown format {body.get('format')!r}; this version reads {FORMAT!r}"
        )
    if body.get("step") != int(match.group(1)):
        raise CorruptCheckpointError(f"{META_FILE} says step {body.get('step')}, not {path.name}")
    try:
        data = (path / ARRAYS_FILE).read_bytes()
    except OSError as error:
        raise CorruptCheckpointError(f"{ARRAYS_FILE} unreadable ({_describe(error)})") from None
    if _sha256(data) != body.get("arrays_sha256"):
        raise CorruptCheckpointError(
            f"{ARRAYS_FILE} does not match its checksum (truncated or altered, {len(data):,} bytes)"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise CorruptCheckpointError(f"{ARRAYS_FILE} unreadable ({_describe(error)})") from None
    meta = {k: v for k, v in body.items() if k not in ("format", "step", "arrays_sha256")}
    return Checkpoint(path=path, step=body["step"], arrays=arrays, meta=meta)


def load_latest_checkpoint(directory: Path) -> Checkpoint | None:
    """The newest checkpoint in ``directory`` that loads cleanly, or None if there is none.

    Damaged checkpoints are skipped, newest first, with a :class:`CheckpointWarning` that
    names each one, why it was skipped, and which checkpoint is used instead. When
    checkpoints exist but none is usable, raises :class:`NoUsableCheckpointError`.
    """
    directory = Path(directory)
    found = list_checkpoints(directory)
    problems: list[str] = []
    for step, path in reversed(found):
        try:
            checkpoint = load_checkpoint(path)
        except CorruptCheckpointError as error:
            problems.append(f"{path.name}: {error}")
            continue
        if problems:
            warnings.warn(
                f"Skipped damaged checkpoint(s) in {directory}: {'; '.join(problems)}. "
                f"Resuming from the previous good one, {path.name} (step {step}).",
                CheckpointWarning,
                stacklevel=2,
            )
        return checkpoint
    if problems:
        raise NoUsableCheckpointError(
            f"No usable checkpoint in {directory}: all {len(problems)} are damaged "
            f"({'; '.join(problems)}). Training cannot resume; delete that folder (or use "
            "another checkpoint_dir) to start again from step 0."
        )
    return None


def prune_checkpoints(directory: Path, keep: int, *, up_to: int | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints and any leftovers of crashed saves.

    With ``up_to`` (the step just saved), "newest" counts only checkpoints up to that step,
    and later ones are left alone: after a resume that skipped a damaged checkpoint, the
    damaged one is later than the good ones and must not push them out; it is replaced when
    training reaches its step again. Returns the deleted checkpoint folders. Temporary
    folders of this process are left alone (a save of this process may be using them).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    directory = Path(directory)
    found = list_checkpoints(directory)
    if up_to is not None:
        found = [(step, path) for step, path in found if step <= up_to]
    removed = [path for _, path in found[: max(len(found) - keep, 0)]]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    for entry in directory.iterdir():
        if entry.name.startswith(_TEMPORARY_PREFIXES) and f"-{os.getpid()}-" not in entry.name:
            shutil.rmtree(entry, ignore_errors=True)
    return removed


def _write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> str:
    plain = {}
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects; checkpoints store numbers only")
        plain[name] = array
    buffer = io.BytesIO()
    np.savez(buffer, **plain)
    data = buffer.getvalue()
    _write_and_sync(path, data)
    return _sha256(data)


def _write_meta(path: Path, body: Mapping[str, Any]) -> None:
    body = dict(body)
    envelope = {"sha256": _sha256(_canonical(body)), "meta": body}
    _write_and_sync(path, (json.dumps(envelope, indent=1, sort_keys=True) + "\n").encode())


def _write_and_sync(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _move_into_place(tmp: Path, final: Path) -> None:
    if not final.exists():
        os.replace(tmp, final)
        return
    # A folder cannot be renamed onto a non-empty one: move the old one aside first. Should
    # the process die between the two renames, the older checkpoints are still there.
    aside = final.with_name(f".old-{final.name}-{os.getpid()}-{secrets.token_hex(4)}")
    os.replace(final, aside)
    os.replace(tmp, final)
    shutil.rmtree(aside, ignore_errors=True)


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms that cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _describe(error: BaseException) -> str:
    text = str(error).splitlines()[0][:160] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
