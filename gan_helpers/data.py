"""MNIST, loaded once and checked to be the real thing, and its two pixel scales (notebook 2)."""

import hashlib
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_helpers.paths import data_dir, replace_atomically

# Each array's shape and the SHA-256 of its bytes (not of the .npz, whose zip container varies).
MNIST_ARRAYS: dict[str, tuple[tuple[int, ...], str]] = {
    "x_train": (
        (60000, 28, 28),
        "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    ),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
_GOOD_COPY = "a good mnist.npz (the file keras.datasets.mnist downloads to ~/.keras/datasets/)"
# What np.load raises for a damaged file: also zlib.error (altered compressed bytes), EOFError.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError)


class MnistDataError(Exception):
    """The MNIST file is missing, unreadable or not genuine; the message says how to fix it."""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: arrays have no ==
class Mnist:
    """The four arrays of ``keras.datasets.mnist.load_data()``: uint8 images and digits."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays keyed by their names in ``mnist.npz``."""
        return dict(vars(self))


def sha256_of(array: np.ndarray) -> str:
    """Hex SHA-256 of an array's raw bytes in C order (shape and dtype are not included)."""
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()  # no tobytes() copy


def load_mnist(path: Path | None = None, *, download: bool = True) -> Mnist:
    """Load MNIST from ``path`` (default ``data/mnist.npz``), or download and save it there, and
    verify every array; an existing file is never replaced. Problems raise MnistDataError."""
    target = Path(path) if path is not None else data_dir() / "mnist.npz"
    if target.exists():
        return _verified(_read_npz(target), lambda problem: _bad_file(target, problem))
    if not download:
        raise MnistDataError(
            f"{target} does not exist and download=False. Copy {_GOOD_COPY} to that path (by "
            "default in the project's data/ folder), or call load_mnist(download=True)."
        )
    try:  # keras imported here: a broken Keras install also gets the clear error
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # Keras wraps network failures in several types
        raise MnistDataError(
            f"{target} does not exist and downloading MNIST failed ({type(exc).__name__}: "
            f"{exc}). Without internet, copy {_GOOD_COPY} to {target}, then run again."
        ) from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    # The bad bytes are in Keras's cache, not yet at ``target``: say where to delete them.
    where = f"the MNIST copy downloaded by keras.datasets.mnist (for {target})"
    fix = f"delete ~/.keras/datasets/mnist.npz and run again, or copy a good mnist.npz to {target}."
    mnist = _verified(arrays, lambda problem: MnistDataError(f"{where} {problem}. Fix: {fix}"))
    try:  # Compressed like the file Keras ships (about 11 MB instead of 55 MB).
        replace_atomically(target, lambda tmp: np.savez_compressed(tmp, **mnist.arrays()))
    except OSError as exc:  # the verified arrays are usable; only the cache failed
        warnings.warn(
            f"could not save MNIST to {target} ({type(exc).__name__}: {exc}); "
            "the next run will download it again",
            stacklevel=2,
        )
    return mnist


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 digits (N, 28, 28[, 1]) as float32 ``(N, 28, 28, 1)`` in the generators' [-1, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        # Floats are refused because a [0, 1] float image would be scaled silently wrong.
        raise TypeError(f"expected uint8 images with values 0-255, got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(
            f"expected images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}"
        )
    scaled = np.divide(images, np.float32(127.5), dtype=np.float32)
    return np.subtract(scaled, np.float32(1.0), out=scaled)  # in place: one float32 copy


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 or ``[-1, 1]`` images (floats clipped) as float32 in ``[0, 1]``, for plots etc."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return np.divide(images, np.float32(255.0), dtype=np.float32)
    unit = (images.astype(np.float32) + 1.0) / 2.0
    return np.clip(unit, 0.0, 1.0, out=unit)


def training_images(mnist: Mnist | None = None) -> np.ndarray:
    """The 60,000 training digits as float32 ``(60000, 28, 28, 1)`` in ``[-1, 1]``."""
    return to_model_range((mnist or load_mnist()).x_train)


def training_labels(mnist: Mnist | None = None) -> np.ndarray:
    """The digit (0-9) of each of the 60,000 training images, as int32, in their order."""
    return (mnist or load_mnist()).y_train.astype(np.int32)


def _bad_file(path: Path, problem: str) -> MnistDataError:
    return MnistDataError(
        f"{path}: {problem}. Fix: delete it and run again to download a fresh copy, or copy "
        f"{_GOOD_COPY} into data/."
    )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four arrays, every numpy or zip failure turned into one MnistDataError."""
    try:  # never allow_pickle: unpickling a downloaded or shared file can run any code
        archive = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise _bad_file(path, f"cannot be read ({type(exc).__name__}: {exc})") from None
    except _DAMAGED:  # numpy's own text suggests allow_pickle=True: not passed on
        raise _bad_file(path, "is truncated or corrupt: it is not an .npz archive") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _bad_file(path, "holds a single .npy array, not an .npz archive of the 4 arrays")
    with archive:
        missing = [key for key in MNIST_ARRAYS if key not in archive.files]
        if missing:
            has = ", ".join(archive.files) or "nothing"
            raise _bad_file(path, f"is missing the key(s) {', '.join(missing)} (it has: {has})")
        arrays: dict[str, np.ndarray] = {}
        try:
            for key in MNIST_ARRAYS:
                arrays[key] = archive[key]
        except ValueError:  # object arrays: allow_pickle=False refuses to unpickle them
            problem = f"array {key!r} holds pickled Python objects, which this loader never reads"
            raise _bad_file(path, problem) from None
        except (*_DAMAGED, OSError) as exc:
            problem = f"is truncated or corrupt: array {key!r} cannot be read ({exc})"
            raise _bad_file(path, problem) from None
    return arrays


def _verified(arrays: Mapping[str, np.ndarray], fail: Callable[[str], MnistDataError]) -> Mnist:
    """Check each array's dtype, shape and checksum; ``fail(problem)`` makes the error."""
    for key, (shape, digest) in MNIST_ARRAYS.items():
        array = np.asarray(arrays[key])
        if array.dtype != np.uint8:
            raise fail(f"array {key!r} has dtype {array.dtype}, expected uint8")
        if array.shape != shape:
            raise fail(f"array {key!r} has shape {array.shape}, expected {shape}")
        if sha256_of(array) != digest:
            raise fail(f"array {key!r} failed its SHA-256 checksum: its values were altered")
    return Mnist(**{key: np.asarray(arrays[key]) for key in MNIST_ARRAYS})
