"""How good is a generator? Five measures against real MNIST, in one report (notebook 10).

A GAN's losses say little about its images, so notebook 10 scores generators from outside,
with the classifier of :mod:`gan_helpers.classifier` and the measures of
:mod:`gan_helpers.metrics`:

* **Classifier score**: the MNIST analogue of the Inception Score; 10 is the maximum.
* **Fréchet distance** between classifier features of generated and real test digits,
  next to its *floor*: the distance from real training digits, which no generator beats.
* **Class balance**: the fraction of images per predicted digit and its KL divergence from
  uniform (mode collapse shows as a high KL).
* **Nearest-neighbour distance** to the training set, and the **near-copy share**: the
  fraction of generated images closer to a training digit than all but 1 % of test digits.
* **Parzen-window log-likelihood** of the test set (Goodfellow et al. 2014, Table 1), for
  comparison with the papers; a poor measure in 784 dimensions.

:func:`evaluate_generator` computes them all, :func:`format_report` prints them, and
:func:`quick_score` gives the classifier score alone in seconds, for live training runs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from gan_helpers import metrics
from gan_helpers.classifier import classify, load_classifier
from gan_helpers.data import Mnist, load_mnist, to_unit_range
from gan_helpers.models import DIGITS, generate, is_conditional, latent_dim_of

# The last 10,000 training digits choose the Parzen width; the other 50,000 are the
# reference for nearest-neighbour distances, so no image plays both roles.
VALIDATION_SIZE = 10_000


@dataclass
class _RealReference:
    """Real-data statistics for one (classifier, MNIST) pair, kept for the process.

    It holds the classifier and MNIST objects themselves: the cache is keyed by their
    ``id``, and keeping them alive stops Python from reusing those ids for other objects.
    """

    classifier: keras.Model
    mnist: Mnist
    test_stats: tuple[np.ndarray, np.ndarray]
    floors: dict[int, float] = field(default_factory=dict)
    test_nn: dict[int, np.ndarray] = field(default_factory=dict)

    def floor(self, n_samples: int) -> float:
        """Fréchet distance of ``n_samples`` real training digits to the test digits."""
        if n_samples not in self.floors:
            features = classify(self.classifier, self.mnist.x_train[:n_samples]).features
            stats = metrics.gaussian_stats(features)
            self.floors[n_samples] = metrics.frechet_from_stats(*stats, *self.test_stats)
        return self.floors[n_samples]

    def pixels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat [0, 1] pixels of the nearest-neighbour reference (the first 50,000 training
        digits), the Parzen validation digits (the last 10,000) and the test digits.

        Made anew for each call rather than kept: they take about 200 MB.
        """
        split = len(self.mnist.x_train) - VALIDATION_SIZE
        parts = (self.mnist.x_train[:split], self.mnist.x_train[split:], self.mnist.x_test)
        return tuple(to_unit_range(part).reshape(len(part), -1) for part in parts)

    def test_distances(self, n_samples: int, reference: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Nearest-training-digit distances of the first ``n_samples`` test digits."""
        if n_samples not in self.test_nn:
            self.test_nn[n_samples] = metrics.nearest_neighbours(test[:n_samples], reference)[1]
        return self.test_nn[n_samples]


_REAL_CACHE: dict[tuple[int, int], _RealReference] = {}


@functools.lru_cache(maxsize=1)
def _default_mnist() -> Mnist:
    return load_mnist()


@functools.lru_cache(maxsize=1)
def _default_classifier() -> keras.Model:
    return load_classifier()


def _real_reference(classifier: keras.Model, mnist: Mnist) -> _RealReference:
    key = (id(classifier), id(mnist))
    if key not in _REAL_CACHE:
        _REAL_CACHE.clear()  # one pair at a time is all the notebooks use
        test_stats = metrics.gaussian_stats(classify(classifier, mnist.x_test).features)
        _REAL_CACHE[key] = _RealReference(classifier, mnist, test_stats)
    return _REAL_CACHE[key]


def _generate(generator: Any, n_samples: int, seed: int, batch_size: int) -> np.ndarray:
    """``n_samples`` images from ``generator``; a conditional one draws each digit in turn."""
    latent = np.random.default_rng(seed).standard_normal((n_samples, latent_dim_of(generator)))
    digits = np.arange(n_samples) % DIGITS if is_conditional(generator) else None
    return generate(generator, latent.astype(np.float32), digits, batch_size=batch_size)


def quick_score(generator: Any, n_samples: int = 2000, seed: int = 0) -> float:
    """The classifier score of ``n_samples`` images: a few seconds, for live training runs.

    Noisier than :func:`evaluate_generator`'s 10,000-sample score; compare at one ``n_samples``.
    """
    images = _generate(generator, n_samples, seed, batch_size=500)
    return metrics.classifier_score(classify(_default_classifier(), images).probabilities)


def evaluate_generator(
    generator: Any,
    *,
    n_samples: int = 10_000,
    seed: int = 0,
    classifier: keras.Model | None = None,
    mnist: Mnist | None = None,
    batch_size: int = 500,
) -> dict[str, Any]:
    """Score ``generator`` with all five measures on ``n_samples`` images.

    Latent vectors come from ``np.random.default_rng(seed)``, so a fixed seed scores the
    same images every time; a conditional generator draws the digits 0-9 in turn. With
    fewer samples every estimate is noisier and ``fd_ratio`` reads lower (the floor's
    small-sample bias is a larger share of it): compare at one ``n_samples``. Keys:

    * ``classifier_score`` (up to 10); ``frechet_distance`` to the 10,000 test digits;
      ``frechet_floor`` (``n_samples`` training digits to the test digits) and ``fd_ratio``
      (about 1 is as good as real data);
    * ``class_fractions`` (10) and ``class_kl`` (0 is balanced);
    * ``nn_distance_generated_mean`` and ``nn_distance_test_mean``: mean distance ([0, 1]
      pixels) to the nearest of the first 50,000 training digits, for generated and
      ``n_samples`` test digits; ``near_copy_share`` and ``near_copy_threshold``
      (:func:`~gan_helpers.metrics.near_copy_share`; about 0.01 is normal);
    * ``parzen_log_likelihood`` (mean over the test set, nats), its ``_stderr`` and the
      ``parzen_sigma`` chosen on the last 10,000 training digits;
    * ``n_samples``; for a conditional generator, ``digit_accuracy``: the share of images
      the classifier reads as the digit they were asked for.

    Real-data statistics are cached, so a second generator pays only for its own images.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    classifier = classifier if classifier is not None else _default_classifier()
    real = _real_reference(classifier, mnist if mnist is not None else _default_mnist())
    images = _generate(generator, n_samples, seed, batch_size)
    outputs = classify(classifier, images, batch_size=batch_size)
    scores = _classifier_measures(outputs, real, n_samples)
    if is_conditional(generator):
        read = outputs.probabilities.argmax(axis=1)
        scores["digit_accuracy"] = float(np.mean(read == np.arange(n_samples) % DIGITS))
    return {**scores, **_pixel_measures(to_unit_range(images), real, n_samples, batch_size)}


def _classifier_measures(outputs: Any, real: _RealReference, n_samples: int) -> dict[str, Any]:
    fd = metrics.frechet_from_stats(*metrics.gaussian_stats(outputs.features), *real.test_stats)
    floor = real.floor(n_samples)
    fractions = metrics.class_histogram(outputs.probabilities)
    return {
        "classifier_score": metrics.classifier_score(outputs.probabilities),
        "frechet_distance": fd,
        "frechet_floor": floor,
        "fd_ratio": fd / floor if floor > 0 else math.inf,
        "class_fractions": [float(f) for f in fractions],
        "class_kl": metrics.kl_from_uniform(fractions),
    }


def _pixel_measures(
    generated: np.ndarray, real: _RealReference, n_samples: int, batch_size: int
) -> dict[str, Any]:
    reference, validation, test = real.pixels()
    test_nn = real.test_distances(n_samples, reference, test)
    _, generated_nn = metrics.nearest_neighbours(generated, reference)
    copies, threshold = metrics.near_copy_share(generated_nn, test_nn)
    sigma = metrics.select_parzen_sigma(generated, validation, batch_size=batch_size)
    log_likelihoods = metrics.parzen_log_likelihood(generated, test, sigma, batch_size)
    return {
        "nn_distance_generated_mean": float(generated_nn.mean()),
        "nn_distance_test_mean": float(test_nn.mean()),
        "near_copy_share": copies,
        "near_copy_threshold": threshold,
        "parzen_log_likelihood": float(log_likelihoods.mean()),
        "parzen_log_likelihood_stderr": float(
            log_likelihoods.std(ddof=1) / math.sqrt(len(log_likelihoods))
        ),
        "parzen_sigma": sigma,
        "n_samples": n_samples,
    }


def _fixed(value: float, decimals: int) -> str:
    # "+ 0.0" turns a rounded -0.0 into 0.0, so the text never flips sign on noise.
    return f"{round(float(value), decimals) + 0.0:.{decimals}f}"


def format_report(scores: dict[str, Any]) -> str:
    """A short aligned table of :func:`evaluate_generator`'s results for notebooks.

    Values are rounded (score 2 decimals, distances 1-2, KL 3, Parzen 0) so that float
    noise between runs does not change the printed text.
    """
    s, f = scores, _fixed
    tail = f"{100 * metrics.NEAR_COPY_QUANTILE:g} %"
    percents = " ".join(f"{100 * v:.0f}" for v in s["class_fractions"])
    rows = [
        ("Samples", str(int(s["n_samples"])), ""),
        ("Classifier score", f(s["classifier_score"], 2), "max 10, higher is better"),
        (
            "Fréchet distance",
            f(s["frechet_distance"], 1),
            f"real-data floor {f(s['frechet_floor'], 1)}",
        ),
        ("FD / floor", f(s["fd_ratio"], 1), "1 is as good as real digits"),
        ("Class KL", f(s["class_kl"], 3), f"0 is balanced; % per digit: {percents}"),
        (
            "NN distance",
            f(s["nn_distance_generated_mean"], 2),
            f"real test digits {f(s['nn_distance_test_mean'], 2)}; much lower suggests copying",
        ),
        (
            "Near copies",
            f"{f(100 * s['near_copy_share'], 1)} %",
            f"nearer than {f(s['near_copy_threshold'], 2)}, as {tail} of test digits are; "
            f"far above {tail} is copying",
        ),
        (
            "Parzen log-lik.",
            f(s["parzen_log_likelihood"], 0),
            f"± {f(s['parzen_log_likelihood_stderr'], 1)} nats, sigma {f(s['parzen_sigma'], 2)}",
        ),
    ]
    if "digit_accuracy" in s:
        note = "samples the classifier reads as the digit they were asked for"
        rows.insert(1, ("Asked digit read", f"{f(100 * s['digit_accuracy'], 1)} %", note))
    name_width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return "\n".join(
        f"{name:<{name_width}}  {value:>{value_width}}  {note}".rstrip()
        for name, value, note in rows
    )
