"""Where files live, and the one way the package replaces a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_helpers import paths


def test_replace_atomically_puts_the_new_file_in_place(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "model.keras"
    written = []

    def write(tmp: Path) -> None:
        assert tmp.parent == target.parent and tmp.suffix == ".keras"  # Keras reads the suffix
        written.append(tmp)
        tmp.write_text("new")

    assert paths.replace_atomically(target, write) == target
    assert target.read_text() == "new" and not written[0].exists()
    assert [p.name for p in target.parent.iterdir()] == ["model.keras"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")

    def write_half(tmp: Path) -> None:
        tmp.write_text("ha")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        paths.replace_atomically(target, write_half)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_the_folders_follow_their_environment_variables(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("GAN_TUTORIAL_ARTIFACTS_DIR", str(tmp_path / "a"))
    assert paths.data_dir() == tmp_path / "d"
    assert paths.artifacts_dir("figures") == tmp_path / "a" / "figures"
    assert (tmp_path / "a" / "figures").is_dir()  # made on first use
    monkeypatch.delenv("GAN_TUTORIAL_DATA_DIR")
    assert paths.data_dir() == paths.project_root() / "data"
    assert (paths.project_root() / "pyproject.toml").is_file()
