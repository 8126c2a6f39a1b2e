"""Load MNIST once, check it is the real thing, and scale it for the models.

``load_mnist()`` reads ``data/mnist.npz`` (the file ``keras.datasets.mnist`` downloads).
When that file is missing it downloads MNIST through Keras and keeps a verified copy in
``data/``, so every later run works offline. Whatever is wrong with the file, the user sees
a single :class:`MnistDataError` that names the file and says how to fix it.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_helpers.paths import data_dir, replace_atomically

MNIST_FILENAME = "mnist.npz"

# Hashes of the raw array bytes rather than of the .npz file: the zip container differs with
# numpy version and compression level, the pixels do not.
MNIST_SHA256: dict[str, str] = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

# A hash covers bytes only, so shape and dtype are checked on their own; checking them first
# also gives a clearer message than "checksum mismatch" for a wrongly built file.
MNIST_SHAPES: dict[str, tuple[int, ...]] = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
MNIST_DTYPE = np.dtype(np.uint8)

_FIX_HINT = (
    "Fix: delete it and run again to download a fresh copy, or copy a good mnist.npz "
    "(the file keras.datasets.mnist downloads to ~/.keras/datasets/) into the project's "
    "data/ folder"
)

# What np.load / NpzFile raise for a damaged file besides ValueError: zlib.error comes from
# a compressed member whose bytes were cut or altered, EOFError from an empty file.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)


class MnistDataError(Exception):
    """The MNIST file is missing, unreadable or not the genuine data set.

    The message always names the file and says how to fix the problem.
    """


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays, exactly as ``keras.datasets.mnist.load_data()`` returns them.

    Images are uint8 ``(N, 28, 28)`` with values 0-255; labels are uint8 digits 0-9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays keyed by their names in ``mnist.npz``."""
        return {
            "x_train": self.x_train,
            "y_train": self.y_train,
            "x_test": self.x_test,
            "y_test": self.y_test,
        }


def sha256_of(array: np.ndarray) -> str:
    """Hex SHA-256 of an array's raw bytes in C order (shape and dtype are not included)."""
    # Hashing the buffer directly avoids the extra 47 MB copy that ``tobytes()`` would make.
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def default_mnist_path() -> Path:
    """Where the tutorial keeps MNIST: ``data_dir() / "mnist.npz"``."""
    return data_dir() / MNIST_FILENAME


def load_mnist(path: Path | None = None, *, download: bool = True) -> Mnist:
    """Load MNIST from ``path`` (default ``data/mnist.npz``) and verify every array.

    If the file does not exist and ``download`` is true, MNIST is fetched with
    ``keras.datasets.mnist.load_data()``, verified, and saved to ``path`` so later runs need
    no internet. An existing file is never replaced automatically: a damaged file is
    reported rather than silently re-downloaded, so the user learns about it.

    Raises:
        MnistDataError: the file is missing (and could not be downloaded), unreadable, or
            does not hold the genuine MNIST arrays. The message names the file and the fix.
    """
    target = Path(path) if path is not None else default_mnist_path()
    if target.exists():
        return _verified(_read_npz(target), target)
    if not download:
        raise MnistDataError(
            f"{target} does not exist and download=False. Copy a good mnist.npz (the file "
            "keras.datasets.mnist downloads to ~/.keras/datasets/) to that path (by default in the "
            "project's data/ folder), or call load_mnist(download=True) to fetch it."
        )
    mnist = _verified(_download(target), target, downloaded=True)
    _save_atomically(mnist, target)
    return mnist


def to_model_range(images: np.ndarray) -> np.ndarray:
    """Scale uint8 digits to float32 ``(N, 28, 28, 1)`` in ``[-1, 1]``.

    The generators end in ``tanh``, whose outputs lie in ``[-1, 1]``; real images must share
    that range or the discriminator could tell real from fake by brightness alone.
    Accepts ``(N, 28, 28)`` or ``(N, 28, 28, 1)``; 0 maps to -1.0 and 255 to 1.0 exactly.
    """
    images = np.asarray(images)
    if images.dtype != MNIST_DTYPE:
        # Floats are refused because a [0, 1] float image would be scaled silently wrong.
        raise TypeError(f"expected uint8 images with values 0-255, got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(
            f"expected images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}"
        )
    # In-place arithmetic keeps the peak memory at one float32 copy of the training set.
    scaled = images.astype(np.float32)
    scaled /= 127.5
    scaled -= 1.0
    return scaled


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Images as float32 in ``[0, 1]``, the range matplotlib and the pixel measures use.

    uint8 digits are divided by 255; floats are taken to be in the models' ``[-1, 1]``
    (generator output) and clipped, because a generator's output, or noise added to it,
    can stray a little outside and matplotlib warns about or wraps such pixels.
    The shape is kept unchanged.
    """
    images = np.asarray(images)
    if images.dtype == MNIST_DTYPE:
        unit = images.astype(np.float32)
        unit /= 255.0
        return unit
    unit = (images.astype(np.float32) + 1.0) / 2.0
    return np.clip(unit, 0.0, 1.0, out=unit)


def training_images(mnist: Mnist | None = None) -> np.ndarray:
    """The 60,000 training digits as float32 ``(60000, 28, 28, 1)`` in ``[-1, 1]``.

    Loads MNIST with :func:`load_mnist` when ``mnist`` is not given.
    """
    if mnist is None:
        mnist = load_mnist()
    return to_model_range(mnist.x_train)


def training_labels(mnist: Mnist | None = None) -> np.ndarray:
    """The digit (0-9) of each of the 60,000 training images, as int32, in their order.

    Loads MNIST with :func:`load_mnist` when ``mnist`` is not given.
    """
    if mnist is None:
        mnist = load_mnist()
    return mnist.y_train.astype(np.int32)


def _bad_file(path: Path, problem: str) -> MnistDataError:
    return MnistDataError(f"{path}: {problem}. {_FIX_HINT}.")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read the four arrays, turning every numpy/zip failure into one MnistDataError."""
    # allow_pickle stays False: unpickling a downloaded or shared file can run arbitrary code.
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise _bad_file(path, f"cannot be read ({type(exc).__name__}: {exc})") from None
    except ValueError:
        # numpy's own text here suggests loading with allow_pickle=True; do not pass that on.
        raise _bad_file(
            path, "is truncated or corrupt: it is neither an .npz archive nor an .npy array"
        ) from None
    except _DAMAGED as exc:
        raise _bad_file(path, f"is truncated or corrupt ({type(exc).__name__}: {exc})") from None

    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _bad_file(
            path,
            "holds a single .npy array, not an .npz archive of x_train, y_train, x_test, y_test",
        )

    with archive:
        missing = [key for key in MNIST_SHA256 if key not in archive.files]
        if missing:
            raise _bad_file(
                path,
                f"is missing the key(s) {', '.join(missing)} (it has: "
                f"{', '.join(archive.files) or 'nothing'})",
            )
        arrays: dict[str, np.ndarray] = {}
        for key in MNIST_SHA256:
            try:
                arrays[key] = archive[key]
            except ValueError as exc:
                # Object arrays land here: allow_pickle=False refuses to unpickle them.
                raise _bad_file(
                    path,
                    f"array {key!r} holds pickled Python objects or a damaged header ({exc}); "
                    "genuine MNIST holds plain uint8 arrays, and this loader never unpickles",
                ) from None
            except (*_DAMAGED, OSError) as exc:
                raise _bad_file(
                    path,
                    f"is truncated or corrupt: array {key!r} cannot be read "
                    f"({type(exc).__name__}: {exc})",
                ) from None
    return arrays


def _verified(arrays: Mapping[str, np.ndarray], path: Path, *, downloaded: bool = False) -> Mnist:
    """Check shape, dtype and checksum of each array; return them as an :class:`Mnist`."""

    def fail(problem: str) -> MnistDataError:
        if downloaded:
            # The bad bytes are in Keras's cache, not yet at ``path``; say where to delete.
            return MnistDataError(
                f"the MNIST copy downloaded by keras.datasets.mnist (for {path}) {problem}. "
                "Fix: delete ~/.keras/datasets/mnist.npz and run again, or copy a good "
                f"mnist.npz to {path} in the project's data/ folder."
            )
        return _bad_file(path, problem)

    checked: dict[str, np.ndarray] = {}
    for key, shape in MNIST_SHAPES.items():
        array = np.asarray(arrays[key])
        if array.dtype != MNIST_DTYPE:
            raise fail(f"array {key!r} has dtype {array.dtype}, expected {MNIST_DTYPE}")
        if array.shape != shape:
            raise fail(f"array {key!r} has shape {array.shape}, expected {shape}")
        checked[key] = array
    for key, expected in MNIST_SHA256.items():
        actual = sha256_of(checked[key])
        if actual != expected:
            raise fail(
                f"array {key!r} failed its SHA-256 checksum (got {actual[:12]}..., expected "
                f"{expected[:12]}...): its values were altered or damaged"
            )
    return Mnist(**checked)


def _download(target: Path) -> dict[str, np.ndarray]:
    """Fetch MNIST through Keras, which caches it under ``~/.keras/datasets``."""
    try:
        # Imported here, inside the try, so a broken Keras install also gets the clear error.
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:
        # Keras wraps network failures in several exception types; all mean "no data".
        raise MnistDataError(
            f"{target} does not exist and downloading MNIST failed "
            f"({type(exc).__name__}: {exc}). Without internet, copy a good mnist.npz (the "
            "file keras.datasets.mnist downloads to ~/.keras/datasets/) to "
            f"{target} in the project's data/ folder, then run again."
        ) from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _save_atomically(mnist: Mnist, target: Path) -> None:
    """Write ``mnist`` to ``target`` in the Keras layout, never leaving half a file.

    A crash or a parallel notebook mid-write must not leave a truncated ``mnist.npz`` that
    the next run would reject: :func:`~gan_helpers.paths.replace_atomically` writes a
    temporary file and renames it into place.
    """
    try:
        # Compressed like the file Keras ships (about 11 MB instead of 55 MB).
        replace_atomically(target, lambda tmp: np.savez_compressed(tmp, **mnist.arrays()))
    except OSError as exc:
        # The arrays in memory are verified and usable; failing to cache them only costs a
        # download next time, so warn instead of stopping the notebook.
        warnings.warn(
            f"could not save MNIST to {target} ({type(exc).__name__}: {exc}); "
            "the next run will download it again",
            stacklevel=3,
        )
