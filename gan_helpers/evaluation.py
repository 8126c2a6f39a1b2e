"""How good is a generator? Five measures against real MNIST, in one report (notebook 10)."""

import functools
import math
from typing import Any

import keras
import numpy as np

from gan_helpers import metrics
from gan_helpers.classifier import classify, load_classifier
from gan_helpers.data import Mnist, load_mnist, to_unit_range
from gan_helpers.models import DIGITS, generate, is_conditional, latent_dim_of

# Real-data statistics, once per process; the caches hold the objects they key on (by identity).
_default_mnist = functools.lru_cache(maxsize=1)(load_mnist)
_default_classifier = functools.lru_cache(maxsize=1)(load_classifier)


@functools.lru_cache(maxsize=2)
def _test_stats(classifier: keras.Model, mnist: Mnist) -> tuple[np.ndarray, np.ndarray]:
    return metrics.gaussian_stats(classify(classifier, mnist.x_test).features)


@functools.lru_cache(maxsize=4)
def _frechet_floor(classifier: keras.Model, mnist: Mnist, n_samples: int) -> float:
    """Fréchet distance of ``n_samples`` real training digits to the test digits."""
    stats = metrics.gaussian_stats(classify(classifier, mnist.x_train[:n_samples]).features)
    return metrics.frechet_from_stats(*stats, *_test_stats(classifier, mnist))


def _pixels(mnist: Mnist) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat [0, 1] pixels: nearest-neighbour reference (the first 50,000 training digits),
    Parzen validation (the last 10,000: no image plays both roles) and test digits (200 MB)."""
    split = len(mnist.x_train) - 10_000
    parts = (mnist.x_train[:split], mnist.x_train[split:], mnist.x_test)
    return tuple(to_unit_range(part).reshape(len(part), -1) for part in parts)


@functools.lru_cache(maxsize=4)
def _test_distances(mnist: Mnist, n_samples: int) -> np.ndarray:
    reference, _, test = _pixels(mnist)
    return metrics.nearest_neighbours(test[:n_samples], reference)[1]


def _generate(generator: Any, n_samples: int, seed: int, batch_size: int) -> np.ndarray:
    """``n_samples`` images from ``generator``; a conditional one draws each digit in turn."""
    latent = np.random.default_rng(seed).standard_normal((n_samples, latent_dim_of(generator)))
    digits = np.arange(n_samples) % DIGITS if is_conditional(generator) else None
    return generate(generator, latent.astype(np.float32), digits, batch_size=batch_size)


def quick_score(generator: Any, n_samples: int = 2000, seed: int = 0) -> float:
    """The classifier score of ``n_samples`` images in seconds, for live training runs (noisy)."""
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
    """All five measures of ``n_samples`` images drawn from ``seed`` (0-9 in turn, for a
    conditional generator), as a dict; compare at one ``n_samples`` (fewer: lower ``fd_ratio``)."""
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    classifier = classifier if classifier is not None else _default_classifier()
    mnist = mnist if mnist is not None else _default_mnist()
    images = _generate(generator, n_samples, seed, batch_size)
    outputs = classify(classifier, images, batch_size=batch_size)
    floor = _frechet_floor(classifier, mnist, n_samples)
    stats = metrics.gaussian_stats(outputs.features)
    fd = metrics.frechet_from_stats(*stats, *_test_stats(classifier, mnist))
    fractions = metrics.class_histogram(outputs.probabilities)
    asked = outputs.probabilities.argmax(axis=1) == np.arange(n_samples) % DIGITS
    generated = to_unit_range(images)
    reference, validation, test = _pixels(mnist)
    test_nn = _test_distances(mnist, n_samples)
    generated_nn = metrics.nearest_neighbours(generated, reference)[1]
    copies, threshold = metrics.near_copy_share(generated_nn, test_nn)
    sigma = metrics.select_parzen_sigma(generated, validation, batch_size=batch_size)
    log_likelihoods = metrics.parzen_log_likelihood(generated, test, sigma, batch_size)
    return {
        "classifier_score": metrics.classifier_score(outputs.probabilities),
        "frechet_distance": fd,
        "frechet_floor": floor,
        "fd_ratio": fd / floor if floor > 0 else math.inf,
        "class_fractions": [float(f) for f in fractions],
        "class_kl": metrics.kl_from_uniform(fractions),
        **({"digit_accuracy": float(np.mean(asked))} if is_conditional(generator) else {}),
        "nn_distance_generated_mean": float(generated_nn.mean()),
        "nn_distance_test_mean": float(test_nn.mean()),
        "near_copy_share": copies,
        "near_copy_threshold": threshold,
        "parzen_log_likelihood": float(log_likelihoods.mean()),
        "parzen_log_likelihood_stderr": float(log_likelihoods.std(ddof=1) / math.sqrt(len(test))),
        "parzen_sigma": sigma,
        "n_samples": n_samples,
    }


def format_report(scores: dict[str, Any]) -> str:
    """:func:`evaluate_generator`'s results as a table, rounded so that float noise cannot show."""
    s = scores

    def f(key: str, decimals: int, scale: float = 1.0) -> str:  # "+ 0.0": never print -0.0
        return f"{round(scale * float(s[key]), decimals) + 0.0:.{decimals}f}"

    tail = f"{100 * metrics.NEAR_COPY_QUANTILE:g} %"
    percents = " ".join(f"{100 * v:.0f}" for v in s["class_fractions"])
    nn_note = f"real test digits {f('nn_distance_test_mean', 2)}; much lower suggests copying"
    copy_note = (
        f"nearer than {f('near_copy_threshold', 2)}, as {tail} of test digits are; "
        f"far above {tail} is copying"
    )
    parzen_note = f"± {f('parzen_log_likelihood_stderr', 1)} nats, sigma {f('parzen_sigma', 2)}"
    rows = [
        ("Samples", str(int(s["n_samples"])), ""),
        ("Classifier score", f("classifier_score", 2), "max 10, higher is better"),
        ("Fréchet distance", f("frechet_distance", 1), f"real-data floor {f('frechet_floor', 1)}"),
        ("FD / floor", f("fd_ratio", 1), "1 is as good as real digits"),
        ("Class KL", f("class_kl", 3), f"0 is balanced; % per digit: {percents}"),
        ("NN distance", f("nn_distance_generated_mean", 2), nn_note),
        ("Near copies", f"{f('near_copy_share', 1, 100)} %", copy_note),
        ("Parzen log-lik.", f("parzen_log_likelihood", 0), parzen_note),
    ]
    if "digit_accuracy" in s:
        note = "samples the classifier reads as the digit they were asked for"
        rows.insert(1, ("Asked digit read", f"{f('digit_accuracy', 1, 100)} %", note))
    name_width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return "\n".join(
        f"{name:<{name_width}}  {value:>{value_width}}  {note}".rstrip()
        for name, value, note in rows
    )
