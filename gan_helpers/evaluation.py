"""How good is a generator? Five measures, all computed against real MNIST.

A GAN's losses say little about its images, so the tutorial scores generators from outside:

* **Classifier score**: the MNIST analogue of the Inception Score. A pretrained digit
  classifier should be sure about each image (sharp digits) while the predicted classes
  should be spread over all ten digits (variety). 10 is the maximum.
* **Fréchet distance** between the classifier's feature statistics of generated and real
  digits (the MNIST analogue of FID), reported next to its *floor*: the distance between
  real training and real test digits, which even a perfect generator cannot beat.
* **Class balance**: the fraction of images per predicted digit and its KL divergence from
  the uniform distribution (mode collapse shows up as a high KL).
* **Nearest-neighbour distance** to the training set: a generator that memorised its
  training digits would sit closer to them than real test digits do. The mean answers
  "closer on average?"; the **near-copy share** looks where copies would show: the
  fraction of generated images closer to a training digit than all but 1 % of test digits.
* **Parzen-window log-likelihood** of the test set (Goodfellow et al. 2014, Table 1), with
  the kernel width chosen on a held-out validation split. Shown for comparison with the
  papers; it is known to be a poor measure in 784 dimensions.

The classifier is shipped as ``data/mnist_classifier.keras``;
``python -m gan_helpers.evaluation train-classifier`` retrains it.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gan_helpers.data import Mnist, load_mnist, to_model_range, to_unit_range
from gan_helpers.model_files import load_model_file
from gan_helpers.models import generate, is_conditional, latent_dim_of
from gan_helpers.paths import data_dir, replace_atomically
from gan_helpers.reproducibility import SEED, seed_everything

NUM_CLASSES = 10
FEATURES_LAYER = "features"
FEATURE_WIDTH = 128
CLASSIFIER_FILENAME = "mnist_classifier.keras"
CLASSIFIER_RECORD_FILENAME = "mnist_classifier.json"
CLASSIFIER_EPOCHS = 7
CLASSIFIER_BATCH_SIZE = 128
TRAIN_COMMAND = "python -m gan_helpers.evaluation train-classifier"

# The last 10,000 training digits choose the Parzen width; the other 50,000 are the
# reference for nearest-neighbour distances, so no image plays both roles.
VALIDATION_SIZE = 10_000
DEFAULT_PARZEN_SIGMAS = np.logspace(-1, 0, 10)
NEAR_COPY_QUANTILE = 0.01


# --------------------------------------------------------------------------------------
# The classifier


def build_classifier() -> keras.Model:
    """A small CNN that labels (28, 28, 1) digits in [-1, 1], the generators' range.

    Two 3x3 convolution blocks (32 and 64 filters, batch norm, ReLU, 2x2 max pooling),
    then a 128-unit ReLU layer named ``"features"`` (the embedding that the Fréchet
    distance compares), dropout 0.25 and a 10-way softmax. About 225,000 parameters.
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            # No conv bias: the batch norm that follows has its own shift.
            layers.Conv2D(32, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            # Light dropout only: with a few epochs of training, heavier dropout (0.5)
            # left the network underfitted at about 99.1 % test accuracy.
            layers.Dense(FEATURE_WIDTH, activation="relu", name=FEATURES_LAYER),
            layers.Dropout(0.25),
            layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="mnist_classifier",
    )


def train_classifier(
    mnist: Mnist | None = None,
    *,
    epochs: int = CLASSIFIER_EPOCHS,
    batch_size: int = CLASSIFIER_BATCH_SIZE,
    seed: int = SEED,
    verbose: int = 0,
) -> keras.Model:
    """Train :func:`build_classifier` on the 60,000 training digits.

    Adam with a cosine-decaying learning rate: the decay lets a few epochs end at a
    well-settled minimum, which reaches over 99 % test accuracy in roughly two minutes
    on a 2-core CPU. Returns an uncompiled copy of the trained model, so that saving it
    stores no optimizer state (which would triple the file size). ``verbose`` is passed
    to ``fit`` (2 prints one line per epoch).
    """
    if mnist is None:
        mnist = load_mnist()
    seed_everything(seed)
    model = build_classifier()
    steps = epochs * math.ceil(len(mnist.x_train) / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        to_model_range(mnist.x_train),
        mnist.y_train.astype(np.int32),
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=verbose,
    )
    inference = build_classifier()
    inference.set_weights(model.get_weights())
    return inference


def classifier_path() -> Path:
    """Where the shipped classifier lives: ``data_dir() / "mnist_classifier.keras"``."""
    return data_dir() / CLASSIFIER_FILENAME


def classifier_record_path() -> Path:
    """The JSON record next to the classifier (accuracy, time, versions, command)."""
    return data_dir() / CLASSIFIER_RECORD_FILENAME


def load_classifier() -> keras.Model:
    """The shipped MNIST classifier; trained (about two minutes) and saved if missing.

    Loaded by :func:`~gan_helpers.model_files.load_model_file`, so no code in the file runs,
    and a damaged file, a file that is not a Keras model or one that carries code (a
    ``Lambda`` layer) raises :class:`~gan_helpers.model_files.PretrainedWeightsError`
    naming the file and how to restore or retrain it.
    """
    path = classifier_path()
    if not path.is_file():
        model, _ = train_and_save_classifier()
        return model
    fix = (
        f"Restore it with `git checkout -- {path.name}` in data/, or retrain it with "
        f"`{TRAIN_COMMAND}`."
    )
    return load_model_file(path, fix=fix)


def classifier_accuracy(
    classifier: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 500
) -> float:
    """Fraction of ``images`` whose most probable class equals ``labels``."""
    predicted = classify(classifier, images, batch_size=batch_size).probabilities.argmax(axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def train_and_save_classifier(
    mnist: Mnist | None = None, *, epochs: int = CLASSIFIER_EPOCHS, seed: int = SEED
) -> tuple[keras.Model, dict[str, Any]]:
    """Train the classifier, then write ``mnist_classifier.keras`` and its JSON record.

    Both files are written atomically (temporary file in the same folder, then
    ``os.replace``), so an interrupted run never leaves a half-written model behind.
    Returns the model and the record.
    """
    if mnist is None:
        mnist = load_mnist()
    start = time.perf_counter()
    model = train_classifier(mnist, epochs=epochs, seed=seed, verbose=2)
    seconds = time.perf_counter() - start
    accuracy = classifier_accuracy(model, mnist.x_test, mnist.y_test)
    record: dict[str, Any] = {
        "test_accuracy": round(accuracy, 4),
        "training_seconds": round(seconds, 1),
        "epochs": epochs,
        "batch_size": CLASSIFIER_BATCH_SIZE,
        "seed": seed,
        "parameters": model.count_params(),
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "command": TRAIN_COMMAND,
    }
    path = classifier_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    replace_atomically(path, lambda tmp: model.save(tmp))
    replace_atomically(
        classifier_record_path(),
        lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8"),
    )
    return model, record


# --------------------------------------------------------------------------------------
# Running the classifier


@dataclass(frozen=True)
class ClassifierOutputs:
    """What the classifier says about a batch of images.

    ``probabilities`` is float64 ``(N, 10)``; ``features`` is float64 ``(N, F)``, the
    activations of the layer named ``"features"``.
    """

    probabilities: np.ndarray
    features: np.ndarray


def _as_model_images(images: np.ndarray) -> np.ndarray:
    """Images as float32 (N, 28, 28, 1) in [-1, 1]; uint8 digits are scaled first."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return to_model_range(images)
    return images.reshape(-1, 28, 28, 1).astype(np.float32, copy=False)


def classify(
    classifier: keras.Model, images: np.ndarray, batch_size: int = 500
) -> ClassifierOutputs:
    """Class probabilities and features of ``images`` in one pass through ``classifier``.

    ``images`` are float (N, 28, 28[, 1]) in [-1, 1] (generator output) or uint8 MNIST
    digits. The model is called directly on batches rather than through ``predict``,
    which would print a progress bar into notebooks.
    """
    images = _as_model_images(images)
    # A single input tensor (not the one-element list) matches the arrays passed in below.
    both = keras.Model(
        classifier.inputs[0], [classifier.get_layer(FEATURES_LAYER).output, classifier.outputs[0]]
    )
    features, probabilities = [], []
    for start in range(0, len(images), batch_size):
        feats, probs = both(images[start : start + batch_size], training=False)
        features.append(np.asarray(feats, dtype=np.float64))
        probabilities.append(np.asarray(probs, dtype=np.float64))
    if not features:
        width = classifier.get_layer(FEATURES_LAYER).units
        return ClassifierOutputs(np.zeros((0, NUM_CLASSES)), np.zeros((0, width)))
    return ClassifierOutputs(np.concatenate(probabilities), np.concatenate(features))


# --------------------------------------------------------------------------------------
# The measures


def _plogq(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``p * log(p / q)`` elementwise, with the convention ``0 * log(0 / q) = 0``."""
    p = np.asarray(p, dtype=np.float64)
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), p.shape)
    out = np.zeros_like(p)
    used = p > 0
    out[used] = p[used] * (np.log(p[used]) - np.log(q[used]))
    return out


def classifier_score(probabilities: np.ndarray) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))``, the MNIST analogue of the Inception Score.

    ``p(y)`` is the mean of the rows of ``probabilities`` (N, 10). Confident predictions
    spread evenly over the ten classes give 10; one class for every image gives 1.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    marginal = probabilities.mean(axis=0, keepdims=True)
    kl_per_image = _plogq(probabilities, marginal).sum(axis=1)
    return float(np.exp(kl_per_image.mean()))


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """``tr((A B)^{1/2})`` for symmetric positive semi-definite ``A`` and ``B``.

    ``A B`` is not symmetric, but it has the same eigenvalues as the symmetric matrix
    ``A^{1/2} B A^{1/2}``, whose eigenvalues ``eigvalsh`` finds reliably. Round-off can
    make some of them slightly negative; they are clipped to zero before the square root.
    """
    values, vectors = np.linalg.eigh(cov_a)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    middle = (middle + middle.T) / 2.0
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum())


def _gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features of shape (N >= 2, F), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _frechet_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    diff = mu_a - mu_b
    value = (
        diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * _trace_sqrt_product(cov_a, cov_b)
    )
    # The exact distance is never negative; a tiny negative value is round-off.
    return max(float(value), 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples).

    ``||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2})``, computed in float64.
    With few samples the estimate is biased upwards, so compare distances computed from
    the same number of samples (as :func:`evaluate_generator` does with its floor).
    """
    return _frechet_from_stats(*_gaussian_stats(features_a), *_gaussian_stats(features_b))


def class_histogram(probabilities: np.ndarray) -> np.ndarray:
    """Fraction of images whose most probable class is each digit: float64, length 10."""
    predicted = np.asarray(probabilities).argmax(axis=1)
    counts = np.bincount(predicted, minlength=NUM_CLASSES).astype(np.float64)
    return counts / max(len(predicted), 1)


def kl_from_uniform(fractions: np.ndarray) -> float:
    """``KL(fractions || uniform)`` in nats: 0 for balanced classes, ``log(K)`` for one class.

    ``fractions`` is normalised to sum to 1 first; empty classes contribute 0.
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or np.any(fractions < 0) or fractions.sum() <= 0:
        raise ValueError("fractions must be a non-negative 1-D array with a positive sum")
    fractions = fractions / fractions.sum()
    return float(_plogq(fractions, 1.0 / len(fractions)).sum())


def _flat(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    return images.reshape(len(images), -1)


def _squared_distances(
    points: np.ndarray, reference: np.ndarray, reference_sq: np.ndarray
) -> np.ndarray:
    """``||p - r||^2`` for every pair via one matmul, clipped at 0 against round-off."""
    squared = (points * points).sum(axis=1, keepdims=True) - 2.0 * (points @ reference.T)
    squared += reference_sq
    return np.clip(squared, 0.0, None, out=squared)


def nearest_neighbour_distances(
    images: np.ndarray, reference: np.ndarray, batch_size: int = 256
) -> np.ndarray:
    """Euclidean distance from each image to its nearest image in ``reference``.

    Both are flattened (784 pixels for MNIST); :func:`evaluate_generator` passes them in
    [0, 1] pixel units. ``||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2`` turns the search into
    batched float32 matrix products; ``batch_size`` rows at a time keeps memory at
    ``batch_size x len(reference)`` floats. Distances between near-duplicates carry a
    float32 round-off of about 1e-3.
    """
    images, reference = _flat(images), _flat(reference)
    reference_sq = (reference * reference).sum(axis=1)[np.newaxis, :]
    nearest = np.empty(len(images), dtype=np.float64)
    for start in range(0, len(images), batch_size):
        squared = _squared_distances(images[start : start + batch_size], reference, reference_sq)
        nearest[start : start + batch_size] = np.sqrt(squared.min(axis=1))
    return nearest


def near_copy_share(
    generated_distances: np.ndarray,
    real_distances: np.ndarray,
    quantile: float = NEAR_COPY_QUANTILE,
) -> tuple[float, float]:
    """Share of generated images nearer the training set than nearly all unseen real digits.

    Both arguments are :func:`nearest_neighbour_distances` to the same training digits:
    ``real_distances`` for real digits the generator never saw (the test set). The
    threshold is their ``quantile`` (1 %: only one real digit in 100 is that close to a
    training digit). Returns ``(share, threshold)``: a generator that draws new digits
    has a share near ``quantile``; one that replays training digits, far above it. The
    mean distance cannot tell those apart from a generator that merely leaves out the
    unusual digits (which sit far from everything): this tail can.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be between 0 and 1, got {quantile!r}")
    generated = np.asarray(generated_distances, dtype=np.float64).ravel()
    real = np.asarray(real_distances, dtype=np.float64).ravel()
    if len(generated) == 0 or len(real) == 0:
        raise ValueError("both distance arrays need at least one value")
    threshold = float(np.quantile(real, quantile))
    return float(np.mean(generated < threshold)), threshold


def _parzen_log_likelihoods(
    samples: np.ndarray, points: np.ndarray, sigmas: Sequence[float], batch_size: int
) -> np.ndarray:
    """(len(sigmas), len(points)) log-likelihoods, sharing one distance matrix per batch."""
    samples, points = _flat(samples), _flat(points)
    n, dim = samples.shape
    sigmas = np.asarray(sigmas, dtype=np.float64)
    samples_sq = (samples * samples).sum(axis=1)[np.newaxis, :]
    result = np.empty((len(sigmas), len(points)), dtype=np.float64)
    for start in range(0, len(points), batch_size):
        squared = _squared_distances(points[start : start + batch_size], samples, samples_sq)
        # Shifting by each row's nearest sample keeps exp() in (0, 1]: no overflow, and the
        # nearest sample (which dominates the sum) is represented exactly.
        closest = squared.min(axis=1, keepdims=True)
        excess = squared - closest
        for row, sigma in enumerate(sigmas):
            scale = np.float32(-0.5 / sigma**2)
            total = np.exp(excess * scale).sum(axis=1, dtype=np.float64)
            log_sum = np.log(total) - 0.5 * closest[:, 0].astype(np.float64) / sigma**2
            normaliser = math.log(n) + 0.5 * dim * math.log(2.0 * math.pi * sigma**2)
            result[row, start : start + batch_size] = log_sum - normaliser
    return result


def parzen_log_likelihood(
    samples: np.ndarray, points: np.ndarray, sigma: float, batch_size: int = 500
) -> np.ndarray:
    """Log-likelihood (nats) of each of ``points`` under a Gaussian KDE on ``samples``.

    The density is the mean of isotropic Gaussians of width ``sigma`` centred on the
    flattened ``samples``: ``log p(x) = logsumexp_s(-||x - s||^2 / (2 sigma^2)) - log N
    - d/2 log(2 pi sigma^2)``. The Parzen-window estimate of Goodfellow et al. (2014);
    pass pixels in [0, 1] to compare with their table.
    """
    return _parzen_log_likelihoods(samples, points, [sigma], batch_size)[0]


def select_parzen_sigma(
    samples: np.ndarray,
    validation: np.ndarray,
    sigmas: Sequence[float] = DEFAULT_PARZEN_SIGMAS,
    batch_size: int = 500,
) -> float:
    """The ``sigma`` among ``sigmas`` that gives ``validation`` the highest mean log-likelihood."""
    means = _parzen_log_likelihoods(samples, validation, sigmas, batch_size).mean(axis=1)
    return float(np.asarray(sigmas, dtype=np.float64)[int(np.argmax(means))])


# --------------------------------------------------------------------------------------
# Scoring a generator


@dataclass
class _RealReference:
    """Real-data statistics for one (classifier, MNIST) pair, kept for the process.

    It holds the classifier and MNIST objects themselves: the cache is keyed by their
    ``id``, and keeping them alive stops Python from reusing those ids for other objects.
    """

    classifier: keras.Model
    mnist: Mnist
    test_mean: np.ndarray
    test_cov: np.ndarray
    floors: dict[int, float] = field(default_factory=dict)
    nn_test_distances: dict[int, np.ndarray] = field(default_factory=dict)


_REAL_CACHE: dict[tuple[int, int], _RealReference] = {}
_REAL_CACHE_SIZE = 2


@functools.lru_cache(maxsize=1)
def _default_mnist() -> Mnist:
    return load_mnist()


@functools.lru_cache(maxsize=1)
def _default_classifier() -> keras.Model:
    return load_classifier()


def _real_reference(classifier: keras.Model, mnist: Mnist) -> _RealReference:
    key = (id(classifier), id(mnist))
    cached = _REAL_CACHE.get(key)
    if cached is not None:
        return cached
    test_mean, test_cov = _gaussian_stats(classify(classifier, mnist.x_test).features)
    reference = _RealReference(classifier, mnist, test_mean, test_cov)
    while len(_REAL_CACHE) >= _REAL_CACHE_SIZE:
        _REAL_CACHE.pop(next(iter(_REAL_CACHE)))
    _REAL_CACHE[key] = reference
    return reference


def _unit_pixels(digits: np.ndarray) -> np.ndarray:
    """uint8 digits as flat float32 pixels in [0, 1], the space of the pixel measures."""
    pixels = digits.reshape(len(digits), -1).astype(np.float32)
    pixels /= 255.0
    return pixels


def _generate(generator: Any, n_samples: int, seed: int, batch_size: int) -> np.ndarray:
    """``n_samples`` images from ``generator``; a conditional one draws each digit in turn."""
    latent = np.random.default_rng(seed).standard_normal((n_samples, latent_dim_of(generator)))
    digits = np.arange(n_samples) % NUM_CLASSES if is_conditional(generator) else None
    return generate(generator, latent.astype(np.float32), digits, batch_size=batch_size)


def quick_score(generator: Any, n_samples: int = 2000, seed: int = 0) -> float:
    """The classifier score of ``n_samples`` images: a few seconds, for live training runs.

    Noisier than :func:`evaluate_generator`'s 10,000-sample score; compare at one ``n_samples``.
    """
    images = _generate(generator, n_samples, seed, batch_size=500)
    return classifier_score(classify(_default_classifier(), images).probabilities)


def evaluate_generator(
    generator: Any,
    *,
    n_samples: int = 10_000,
    seed: int = 0,
    classifier: keras.Model | None = None,
    mnist: Mnist | None = None,
    batch_size: int = 500,
) -> dict[str, float | list[float]]:
    """Score ``generator`` with all five measures; higher is not always better, see keys.

    ``generator`` is a Keras generator or any object with ``input_shape`` (last entry the
    latent size) that, called as ``generator(latent, training=False)`` on float32
    ``(batch, latent_dim)`` standard-normal vectors, returns ``(batch, 28, 28, 1)`` images
    in [-1, 1]. Latent vectors come from ``np.random.default_rng(seed)``, so a fixed seed
    scores the same images every time. ``n_samples`` can be small (1,000 for a quick
    look); the Fréchet floor then also uses that many real images, but its small-sample
    bias is a larger share of it, so ``fd_ratio`` reads lower with fewer samples: compare
    ratios at one sample size. Every estimate is noisier, too.

    Returned keys:

    * ``classifier_score``: up to 10 (sharp and varied digits).
    * ``frechet_distance``: generated vs the 10,000 test digits, in classifier features.
    * ``frechet_floor``: ``n_samples`` real training digits vs the test digits.
    * ``fd_ratio``: ``frechet_distance / frechet_floor``; about 1 is as good as real data.
    * ``class_fractions`` (list of 10) and ``class_kl``: predicted-digit balance, 0 is even.
    * ``nn_distance_generated_mean`` and ``nn_distance_test_mean``: mean pixel distance
      ([0, 1] units) to the nearest of the first 50,000 training digits, for generated and
      for ``n_samples`` test digits; generated much closer than test suggests memorising.
    * ``near_copy_share``: :func:`near_copy_share` of those distances, the fraction of
      generated images closer to a training digit than ``near_copy_threshold``, which only
      1 % of the test digits are; about 0.01 is normal, much more means copying.
    * ``parzen_log_likelihood`` and ``parzen_log_likelihood_stderr``: mean test-set
      log-likelihood (nats) under a Gaussian KDE on the generated images, and its
      standard error; ``parzen_sigma``: the width chosen on the last 10,000 training digits.
    * ``n_samples``.

    Real-data statistics are cached for the process, so scoring a second generator (or
    the same one again) only pays for the generated images.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    mnist = mnist if mnist is not None else _default_mnist()
    classifier = classifier if classifier is not None else _default_classifier()
    real = _real_reference(classifier, mnist)

    n_reference = len(mnist.x_train) - VALIDATION_SIZE
    reference = _unit_pixels(mnist.x_train[:n_reference])
    validation = _unit_pixels(mnist.x_train[n_reference:])
    test = _unit_pixels(mnist.x_test)

    if n_samples not in real.floors:
        floor_features = classify(classifier, mnist.x_train[:n_samples]).features
        real.floors[n_samples] = _frechet_from_stats(
            *_gaussian_stats(floor_features), real.test_mean, real.test_cov
        )
    if n_samples not in real.nn_test_distances:
        real.nn_test_distances[n_samples] = nearest_neighbour_distances(test[:n_samples], reference)
    test_nn = real.nn_test_distances[n_samples]

    images = _generate(generator, n_samples, seed, batch_size)
    outputs = classify(classifier, images, batch_size=batch_size)
    fd = _frechet_from_stats(*_gaussian_stats(outputs.features), real.test_mean, real.test_cov)
    floor = real.floors[n_samples]
    fractions = class_histogram(outputs.probabilities)
    asked = {}
    if is_conditional(generator):
        # The share of samples the classifier reads as the digit they were asked for.
        read = outputs.probabilities.argmax(axis=1)
        asked["digit_accuracy"] = float(np.mean(read == np.arange(n_samples) % NUM_CLASSES))

    generated = to_unit_range(images)
    generated_nn = nearest_neighbour_distances(generated, reference)
    copies, copy_threshold = near_copy_share(generated_nn, test_nn, NEAR_COPY_QUANTILE)
    sigma = select_parzen_sigma(generated, validation, batch_size=batch_size)
    log_likelihoods = parzen_log_likelihood(generated, test, sigma, batch_size=batch_size)

    return {
        "classifier_score": classifier_score(outputs.probabilities),
        "frechet_distance": fd,
        "frechet_floor": floor,
        "fd_ratio": fd / floor if floor > 0 else math.inf,
        "class_fractions": [float(f) for f in fractions],
        "class_kl": kl_from_uniform(fractions),
        "nn_distance_generated_mean": float(generated_nn.mean()),
        "nn_distance_test_mean": float(test_nn.mean()),
        "near_copy_share": copies,
        "near_copy_threshold": copy_threshold,
        "parzen_log_likelihood": float(log_likelihoods.mean()),
        "parzen_log_likelihood_stderr": float(
            log_likelihoods.std(ddof=1) / math.sqrt(len(log_likelihoods))
        ),
        "parzen_sigma": sigma,
        "n_samples": n_samples,
        **asked,
    }


def format_report(metrics: dict[str, Any]) -> str:
    """A short aligned table of :func:`evaluate_generator`'s results for notebooks.

    Values are rounded (score 2 decimals, distances 1-2, KL 3, Parzen 0) so that
    float noise between runs does not change the printed text.
    """
    quantile = f"{100 * NEAR_COPY_QUANTILE:g} %"

    def fixed(value: float, decimals: int) -> str:
        # "+ 0.0" turns a rounded -0.0 into 0.0, so the text never flips sign on noise.
        return f"{round(float(value), decimals) + 0.0:.{decimals}f}"

    percents = " ".join(f"{100 * f:.0f}" for f in metrics["class_fractions"])
    rows = [
        ("Samples", str(int(metrics["n_samples"])), ""),
        ("Classifier score", fixed(metrics["classifier_score"], 2), "max 10, higher is better"),
        (
            "Fréchet distance",
            fixed(metrics["frechet_distance"], 1),
            f"real-data floor {fixed(metrics['frechet_floor'], 1)}",
        ),
        ("FD / floor", fixed(metrics["fd_ratio"], 1), "1 is as good as real digits"),
        ("Class KL", fixed(metrics["class_kl"], 3), f"0 is balanced; % per digit: {percents}"),
        (
            "NN distance",
            fixed(metrics["nn_distance_generated_mean"], 2),
            f"real test digits {fixed(metrics['nn_distance_test_mean'], 2)}; "
            "much lower suggests copying",
        ),
        (
            "Near copies",
            f"{fixed(100 * metrics['near_copy_share'], 1)} %",
            f"nearer than {fixed(metrics['near_copy_threshold'], 2)}, as {quantile} of test "
            f"digits are; far above {quantile} is copying",
        ),
        (
            "Parzen log-lik.",
            fixed(metrics["parzen_log_likelihood"], 0),
            f"± {fixed(metrics['parzen_log_likelihood_stderr'], 1)} nats, "
            f"sigma {fixed(metrics['parzen_sigma'], 2)}",
        ),
    ]
    if "digit_accuracy" in metrics:
        rows.insert(
            1,
            (
                "Asked digit read",
                f"{fixed(100 * metrics['digit_accuracy'], 1)} %",
                "samples the classifier reads as the digit they were asked for",
            ),
        )
    name_width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines = [
        f"{name:<{name_width}}  {value:>{value_width}}  {note}".rstrip()
        for name, value, note in rows
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gan_helpers.evaluation train-classifier``: retrain and overwrite the files."""
    parser = argparse.ArgumentParser(prog="python -m gan_helpers.evaluation")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train-classifier", help="retrain the MNIST classifier and overwrite the shipped files"
    )
    train.add_argument("--epochs", type=int, default=CLASSIFIER_EPOCHS)
    train.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    _, record = train_and_save_classifier(epochs=args.epochs, seed=args.seed)
    size = classifier_path().stat().st_size
    print(
        f"test accuracy {record['test_accuracy']:.4f}, {record['training_seconds']:.0f} s, "
        f"{size / 1e6:.2f} MB -> {classifier_path()}"
    )
    if record["test_accuracy"] < 0.99:
        print("warning: test accuracy below 0.99", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
