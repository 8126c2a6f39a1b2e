"""Tests for gan_helpers.data: verified MNIST loading, the download path, and scaling."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gan_helpers import data
from gan_helpers.data import (
    MNIST_ARRAYS,
    Mnist,
    MnistDataError,
    load_mnist,
    sha256_of,
    to_model_range,
    to_unit_range,
    training_images,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _find_real_mnist() -> Path:
    """The genuine mnist.npz: $MNIST_NPZ, then data/, then the shared copy next to the repo."""
    candidates = []
    if os.environ.get("MNIST_NPZ"):
        candidates.append(Path(os.environ["MNIST_NPZ"]))
    candidates += [
        PROJECT_ROOT / "data" / "mnist.npz",
        PROJECT_ROOT.parent / "shared" / "data" / "mnist.npz",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    # Not a skip: CI always provides the file, so its absence is a broken setup to report.
    pytest.fail(
        "no mnist.npz found; looked at "
        + ", ".join(str(c) for c in candidates)
        + ". Set MNIST_NPZ or copy mnist.npz (keras.datasets.mnist layout) into data/."
    )


@pytest.fixture(scope="module")
def real_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the genuine file, so no test can touch the original."""
    copy = tmp_path_factory.mktemp("real") / "mnist.npz"
    # copyfile, not copy: the shared original is read-only and its mode must not follow.
    shutil.copyfile(_find_real_mnist(), copy)
    return copy


@pytest.fixture(scope="module")
def real_arrays(real_npz: Path) -> dict[str, np.ndarray]:
    with np.load(real_npz, allow_pickle=False) as archive:
        return {key: archive[key] for key in MNIST_ARRAYS}


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point data_dir() at a temp folder so no test reads or writes the project's data/."""
    folder = tmp_path / "data"
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(folder))
    return folder


def _assert_chain_hidden(error: MnistDataError) -> None:
    # The user should see one error, not a numpy/zipfile traceback above it.
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def _small_arrays(**overrides: np.ndarray) -> dict[str, np.ndarray]:
    """Tiny arrays with the right dtype; shape is checked first, so they fail fast."""
    arrays = {
        "x_train": np.zeros((4, 28, 28), np.uint8),
        "y_train": np.zeros(4, np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8),
        "y_test": np.zeros(2, np.uint8),
    }
    arrays.update(overrides)
    return arrays


# --- the genuine file ---------------------------------------------------------------------


def test_real_file_loads_and_every_hash_matches(real_npz: Path) -> None:
    mnist = load_mnist(real_npz, download=False)

    for key, array in mnist.arrays().items():
        assert array.dtype == np.uint8
        assert (array.shape, sha256_of(array)) == MNIST_ARRAYS[key]
    assert set(np.unique(mnist.y_train)) == set(range(10))


def test_default_path_is_data_dir(real_npz: Path, isolated_data_dir: Path) -> None:
    isolated_data_dir.mkdir()
    shutil.copyfile(real_npz, isolated_data_dir / "mnist.npz")

    mnist = load_mnist(download=False)

    assert mnist.x_test.shape == (10000, 28, 28)


def test_sha256_of_hashes_c_order_bytes() -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    transposed = array.T  # not C-contiguous

    expected = hashlib.sha256(np.ascontiguousarray(transposed).tobytes()).hexdigest()
    assert sha256_of(transposed) == expected


def test_to_model_range_gives_float32_nhwc_in_minus_one_to_one(
    real_arrays: dict[str, np.ndarray],
) -> None:
    images = real_arrays["x_test"][:500]

    scaled = to_model_range(images)

    assert scaled.dtype == np.float32
    assert scaled.shape == (500, 28, 28, 1)
    assert scaled.min() == -1.0
    assert scaled.max() == 1.0


def test_to_model_range_maps_the_ends_exactly_and_accepts_a_channel_axis() -> None:
    images = np.stack([np.full((28, 28), value, np.uint8) for value in (0, 255, 128)])

    scaled = to_model_range(images[..., np.newaxis])

    assert scaled.shape == (3, 28, 28, 1)
    assert scaled[0].max() == -1.0
    assert scaled[1].min() == 1.0
    assert scaled[2, 0, 0, 0] == pytest.approx(128 / 127.5 - 1, abs=1e-6)  # float32


def test_to_unit_range_round_trips_model_range(real_arrays: dict[str, np.ndarray]) -> None:
    images = real_arrays["x_test"][:500]

    unit = to_unit_range(to_model_range(images))

    assert unit.dtype == np.float32
    assert unit.shape == (500, 28, 28, 1)
    assert 0.0 <= unit.min() and unit.max() <= 1.0
    np.testing.assert_array_equal(np.rint(unit[..., 0] * 255).astype(np.uint8), images)


def test_to_unit_range_clips_values_outside_the_model_range() -> None:
    unit = to_unit_range(np.array([-1.5, -1.0, 0.0, 1.0, 1.2]))

    assert unit.dtype == np.float32
    np.testing.assert_array_equal(unit, np.array([0.0, 0.0, 0.5, 1.0, 1.0], np.float32))


def test_to_unit_range_divides_uint8_digits_by_255() -> None:
    digits = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_array_equal(to_unit_range(digits), np.array([[0.0, 0.2, 1.0]], np.float32))


@pytest.mark.parametrize(
    ("images", "error"),
    [
        (np.zeros((2, 28, 28), np.float32), TypeError),
        (np.zeros((2, 28, 28, 3), np.uint8), ValueError),
        (np.zeros((28, 28), np.uint8), ValueError),
    ],
)
def test_to_model_range_rejects_other_inputs(images: np.ndarray, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_model_range(images)


def test_training_images_are_the_scaled_training_set(real_npz: Path) -> None:
    mnist = load_mnist(real_npz, download=False)

    images = training_images(mnist)

    assert images.shape == (60000, 28, 28, 1)
    assert images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0


# --- bad files ------------------------------------------------------------------------------


def _truncated(real: Path, target: Path) -> None:
    raw = real.read_bytes()
    target.write_bytes(raw[: len(raw) // 2])


def _random_bytes(real: Path, target: Path) -> None:
    target.write_bytes(np.random.default_rng(0).bytes(4096))


def _empty(real: Path, target: Path) -> None:
    target.write_bytes(b"")


def _missing_key(real: Path, target: Path) -> None:
    arrays = _small_arrays()
    del arrays["y_test"]
    np.savez(target, **arrays)


def _wrong_shape(real: Path, target: Path) -> None:
    np.savez(target, **_small_arrays())


def _wrong_dtype(real: Path, target: Path) -> None:
    np.savez(target, **_small_arrays(x_train=np.zeros((60000, 28, 28), np.float32)))


def _object_array(real: Path, target: Path) -> None:
    np.savez(target, **_small_arrays(x_train=np.array([{"evil": 1}], dtype=object)))


def _single_npy(real: Path, target: Path) -> None:
    with target.open("wb") as handle:
        np.save(handle, np.zeros((60000, 28, 28), np.uint8))


BAD_FILES: dict[str, tuple[Callable[[Path, Path], None], list[str]]] = {
    "truncated": (_truncated, ["truncated or corrupt"]),
    "random bytes": (_random_bytes, ["truncated or corrupt", "not an .npz archive"]),
    "empty": (_empty, ["truncated or corrupt"]),
    "missing key": (_missing_key, ["missing the key(s) y_test"]),
    "wrong shape": (_wrong_shape, ["'x_train' has shape (4, 28, 28)", "(60000, 28, 28)"]),
    "wrong dtype": (_wrong_dtype, ["'x_train' has dtype float32", "expected uint8"]),
    "object array": (_object_array, ["'x_train'", "pickled"]),
    "single npy": (_single_npy, ["single .npy array"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gives_one_clear_error(case: str, real_npz: Path, tmp_path: Path) -> None:
    build, expected_text = BAD_FILES[case]
    target = tmp_path / "mnist.npz"
    build(real_npz, target)

    # download=True on purpose: an existing bad file must be reported, not re-downloaded.
    with pytest.raises(MnistDataError) as caught:
        load_mnist(target)

    message = str(caught.value)
    assert str(target) in message
    for text in expected_text:
        assert text in message
    assert "delete it and run again" in message
    assert "allow_pickle=True" not in message
    _assert_chain_hidden(caught.value)


def test_missing_file_without_download(tmp_path: Path) -> None:
    target = tmp_path / "mnist.npz"

    with pytest.raises(MnistDataError) as caught:
        load_mnist(target, download=False)

    message = str(caught.value)
    assert str(target) in message
    assert "does not exist" in message
    assert "data/" in message
    _assert_chain_hidden(caught.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    target = tmp_path / "mnist.npz"
    target.mkdir()

    with pytest.raises(MnistDataError) as caught:
        load_mnist(target)

    assert str(target) in str(caught.value)
    assert "cannot be read" in str(caught.value)
    _assert_chain_hidden(caught.value)


def test_one_tampered_pixel_fails_that_arrays_checksum(
    real_arrays: dict[str, np.ndarray], tmp_path: Path
) -> None:
    arrays = {key: value.copy() for key, value in real_arrays.items()}
    arrays["x_test"][1234, 14, 14] ^= 1
    target = tmp_path / "mnist.npz"
    np.savez(target, **arrays)

    with pytest.raises(MnistDataError) as caught:
        load_mnist(target)

    message = str(caught.value)
    assert str(target) in message
    assert "'x_test' failed its SHA-256 checksum" in message
    assert "x_train" not in message
    _assert_chain_hidden(caught.value)


# --- the download path ----------------------------------------------------------------------


def _fake_load_data(arrays: dict[str, np.ndarray]) -> Callable[..., object]:
    def load_data(*args: object, **kwargs: object) -> object:
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    return load_data


def _refuse_download(*args: object, **kwargs: object) -> object:
    raise AssertionError("load_mnist downloaded although a good copy was on disk")


@pytest.fixture
def keras_serves_mnist(real_arrays: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch):
    """keras.datasets.mnist.load_data returns the genuine arrays without the network."""
    import keras

    monkeypatch.setattr(keras.datasets.mnist, "load_data", _fake_load_data(real_arrays))
    return keras


def test_download_saves_a_verified_copy_that_reloads_offline(
    keras_serves_mnist, isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloaded = load_mnist()

    target = isolated_data_dir / "mnist.npz"
    assert target.is_file()
    # The temp file was renamed into place, not left behind.
    assert [p.name for p in isolated_data_dir.iterdir()] == ["mnist.npz"]
    with np.load(target, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(MNIST_ARRAYS)

    monkeypatch.setattr(keras_serves_mnist.datasets.mnist, "load_data", _refuse_download)
    reloaded = load_mnist()

    assert isinstance(reloaded, Mnist)
    for key, array in reloaded.arrays().items():
        np.testing.assert_array_equal(array, downloaded.arrays()[key])


def test_a_download_that_cannot_be_saved_warns_and_still_loads(
    keras_serves_mnist, isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(target: Path, write: Callable[[Path], object]) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data, "replace_atomically", full_disk)
    with pytest.warns(UserWarning, match="could not save MNIST .* will download it again"):
        mnist = load_mnist()
    assert mnist.x_train.shape == (60000, 28, 28) and not isolated_data_dir.exists()


def test_bad_download_is_rejected_and_not_saved(
    real_arrays: dict[str, np.ndarray],
    isolated_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keras

    arrays = dict(real_arrays, y_train=real_arrays["y_train"].copy())
    arrays["y_train"][0] = (arrays["y_train"][0] + 1) % 10
    monkeypatch.setattr(keras.datasets.mnist, "load_data", _fake_load_data(arrays))

    with pytest.raises(MnistDataError) as caught:
        load_mnist()

    message = str(caught.value)
    assert "'y_train' failed its SHA-256 checksum" in message
    assert str(isolated_data_dir / "mnist.npz") in message
    assert not (isolated_data_dir / "mnist.npz").exists()


def test_failed_download_explains_the_offline_fix(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    def no_internet(*args: object, **kwargs: object) -> object:
        raise OSError("Name or service not known")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_internet)

    with pytest.raises(MnistDataError) as caught:
        load_mnist()

    message = str(caught.value)
    target = isolated_data_dir / "mnist.npz"
    assert str(target) in message
    assert "does not exist" in message
    assert "downloading MNIST failed (OSError: Name or service not known)" in message
    assert "data/" in message
    assert not target.exists()
    _assert_chain_hidden(caught.value)
