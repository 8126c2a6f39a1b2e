"""The generator measures: exact values on toy inputs, and good-vs-bad on real models."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from gan_helpers import evaluation, model_files
from gan_helpers.data import Mnist, load_mnist, to_model_range
from gan_helpers.model_files import PretrainedWeightsError
from gan_helpers.models import build_dcgan_generator

METRIC_KEYS = {
    "classifier_score",
    "frechet_distance",
    "frechet_floor",
    "fd_ratio",
    "class_fractions",
    "class_kl",
    "nn_distance_generated_mean",
    "nn_distance_test_mean",
    "near_copy_share",
    "near_copy_threshold",
    "parzen_log_likelihood",
    "parzen_log_likelihood_stderr",
    "parzen_sigma",
    "n_samples",
}


# --------------------------------------------------------------------------------------
# Classifier score and class balance


def test_classifier_score_is_ten_for_ten_equally_used_confident_classes() -> None:
    probabilities = np.tile(np.eye(10), (7, 1))
    assert evaluation.classifier_score(probabilities) == pytest.approx(10.0)


def test_classifier_score_is_one_for_a_single_class() -> None:
    probabilities = np.zeros((50, 10))
    probabilities[:, 3] = 1.0
    assert evaluation.classifier_score(probabilities) == pytest.approx(1.0)


def test_classifier_score_is_one_for_uncertain_predictions() -> None:
    # Spread predictions but no confidence: p(y|x) = p(y), so every KL term is zero.
    assert evaluation.classifier_score(np.full((20, 10), 0.1)) == pytest.approx(1.0)


def test_class_histogram_counts_predicted_classes() -> None:
    probabilities = np.eye(10)[[0, 0, 1, 9]] * 0.8 + 0.02
    fractions = evaluation.class_histogram(probabilities)
    assert fractions.shape == (10,)
    np.testing.assert_allclose(fractions, [0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25])


def test_kl_from_uniform() -> None:
    assert evaluation.kl_from_uniform(np.full(10, 0.1)) == pytest.approx(0.0, abs=1e-12)
    assert evaluation.kl_from_uniform(np.eye(10)[4]) == pytest.approx(math.log(10))
    half = np.array([0.5, 0.5] + [0.0] * 8)
    assert evaluation.kl_from_uniform(half) == pytest.approx(math.log(5))


# --------------------------------------------------------------------------------------
# Fréchet distance


def test_frechet_distance_is_zero_for_identical_features() -> None:
    features = np.random.default_rng(0).normal(size=(300, 16))
    assert evaluation.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians() -> None:
    # Samples whitened to exactly the intended mean and covariance, so the estimate must
    # equal the closed form ||mu_a - mu_b||^2 + sum (sqrt(var_a) - sqrt(var_b))^2.
    rng = np.random.default_rng(1)
    dim, n = 8, 2000

    def exact_samples(mean: np.ndarray, variances: np.ndarray) -> np.ndarray:
        raw = rng.normal(size=(n, dim))
        raw -= raw.mean(axis=0)
        chol = np.linalg.cholesky(np.cov(raw, rowvar=False))
        white = raw @ np.linalg.inv(chol).T
        return white * np.sqrt(variances) + mean

    mean_a, mean_b = rng.normal(size=dim), rng.normal(size=dim)
    var_a, var_b = rng.uniform(0.5, 3.0, dim), rng.uniform(0.5, 3.0, dim)
    a, b = exact_samples(mean_a, var_a), exact_samples(mean_b, var_b)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert evaluation.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_symmetric_and_positive() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(400, 12))
    b = rng.normal(size=(500, 12)) @ rng.normal(size=(12, 12)) + 1.0
    forward, backward = evaluation.frechet_distance(a, b), evaluation.frechet_distance(b, a)
    assert forward > 1.0
    assert forward == pytest.approx(backward, rel=1e-9)


# --------------------------------------------------------------------------------------
# Pixel-space measures


def test_nearest_neighbour_distances_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    images = rng.uniform(size=(37, 28, 28, 1)).astype(np.float32)
    reference = rng.uniform(size=(53, 28, 28)).astype(np.float32)
    reference[5] = images[2, ..., 0]  # one exact copy: distance 0, not NaN from sqrt(-eps)
    brute = np.array(
        [
            min(np.linalg.norm(image.ravel().astype(np.float64) - ref.ravel()) for ref in reference)
            for image in images
        ]
    )
    found = evaluation.nearest_neighbour_distances(images, reference, batch_size=10)
    assert np.all(np.isfinite(found))
    np.testing.assert_allclose(found, brute, rtol=1e-4, atol=2e-3)
    assert found[2] < 2e-3


def test_near_copy_share_counts_the_generated_images_below_the_real_tail() -> None:
    real = np.linspace(1.0, 5.0, 1001)  # the 1 % quantile is 1.04
    share, threshold = evaluation.near_copy_share(real, real)
    assert threshold == pytest.approx(1.04)
    assert share == pytest.approx(0.01, abs=1e-3)
    # Fewer unusual digits lower the mean, not the share; copies raise the share.
    typical = np.clip(real, None, 3.0)
    assert evaluation.near_copy_share(typical, real)[0] == pytest.approx(share)
    copies = np.concatenate([np.zeros(100), real[100:]])  # the 100 nearest became copies
    assert evaluation.near_copy_share(copies, real)[0] == pytest.approx(100 / 1001)


@pytest.mark.parametrize("quantile", [0.0, 1.0, -0.1])
def test_near_copy_share_refuses_a_quantile_outside_zero_one(quantile: float) -> None:
    with pytest.raises(ValueError, match="quantile"):
        evaluation.near_copy_share(np.ones(3), np.ones(3), quantile)


def test_parzen_log_likelihood_matches_a_direct_loop() -> None:
    rng = np.random.default_rng(4)
    samples = rng.uniform(size=(23, 6, 6))
    points = rng.uniform(size=(9, 36))
    sigma = 0.3
    dim = 36
    direct = []
    for point in points:
        logs = [
            -np.sum((point - sample.ravel()) ** 2) / (2 * sigma**2)
            - math.log(len(samples))
            - dim / 2 * math.log(2 * math.pi * sigma**2)
            for sample in samples
        ]
        top = max(logs)
        direct.append(top + math.log(sum(math.exp(v - top) for v in logs)))
    found = evaluation.parzen_log_likelihood(samples, points, sigma, batch_size=4)
    np.testing.assert_allclose(found, direct, rtol=1e-5)


def test_select_parzen_sigma_picks_the_scale_of_the_data() -> None:
    # Samples and validation points from one Gaussian of width 0.3 in 2-D: the best kernel
    # is narrower than the data but nowhere near the extremes of the grid.
    rng = np.random.default_rng(5)
    samples = rng.normal(scale=0.3, size=(2000, 2))
    validation = rng.normal(scale=0.3, size=(500, 2))
    sigmas = np.logspace(-3, 1, 13)
    chosen = evaluation.select_parzen_sigma(samples, validation, sigmas)
    assert 0.02 <= chosen <= 0.3
    tiny = evaluation.parzen_log_likelihood(samples, validation, 1e-3).mean()
    best = evaluation.parzen_log_likelihood(samples, validation, chosen).mean()
    assert best > tiny


# --------------------------------------------------------------------------------------
# The shipped classifier and whole-generator scores


@pytest.fixture(scope="module")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="module")
def classifier() -> keras.Model:
    if not evaluation.classifier_path().is_file():
        pytest.fail(
            f"{evaluation.classifier_path()} is missing; create it with "
            f"`{evaluation.TRAIN_COMMAND}` and commit it"
        )
    return evaluation.load_classifier()


def test_shipped_classifier_is_accurate_and_has_the_features_layer(
    classifier: keras.Model, mnist: Mnist
) -> None:
    # Every fifth test digit: 2,000 images spread over the whole test set. The first 2,000
    # alone would not do, because the first half of the MNIST test set is markedly harder
    # than the second (98.9 % vs 99.6 % for this classifier, 99.2 % overall).
    sample = slice(None, None, 5)
    accuracy = evaluation.classifier_accuracy(
        classifier, mnist.x_test[sample], mnist.y_test[sample]
    )
    assert accuracy >= 0.99
    outputs = evaluation.classify(classifier, to_model_range(mnist.x_test[:7]), batch_size=3)
    assert outputs.features.shape == (7, evaluation.FEATURE_WIDTH)
    assert outputs.probabilities.shape == (7, 10)
    np.testing.assert_allclose(outputs.probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_shipped_classifier_file_is_small() -> None:
    assert evaluation.classifier_path().stat().st_size < 1.5e6


@pytest.fixture
def classifier_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where load_classifier looks, moved to an empty folder; the test writes the file."""
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path))
    return evaluation.classifier_path()


@pytest.mark.parametrize("content", [b"", b"not a keras file at all", b"PK\x03\x04truncated"])
def test_a_damaged_classifier_file_gets_one_clear_error(
    classifier_in_tmp: Path, content: bytes
) -> None:
    classifier_in_tmp.write_bytes(content)
    with pytest.raises(PretrainedWeightsError) as caught:
        evaluation.load_classifier()
    message = str(caught.value)
    assert "mnist_classifier.keras could not be loaded" in message
    assert evaluation.TRAIN_COMMAND in message  # says how to fix it
    assert caught.value.__suppress_context__  # no Keras traceback chained to it
    assert classifier_in_tmp.read_bytes() == content  # reported, not silently retrained


@pytest.mark.parametrize("scan", ["on", "defeated"])
def test_a_classifier_file_with_code_is_refused(
    classifier_in_tmp: Path, monkeypatch: pytest.MonkeyPatch, scan: str
) -> None:
    doubler = layers.Lambda(lambda x: x * 2, name="doubler")
    keras.Sequential([keras.Input((28, 28, 1)), doubler]).save(classifier_in_tmp)
    if scan == "defeated":  # then Keras' safe mode is what refuses it
        monkeypatch.setattr(model_files, "_code_in_archive", lambda path: [])
    with pytest.raises(PretrainedWeightsError, match=r"mnist_classifier\.keras contains code"):
        evaluation.load_classifier()


class RealDigits:
    """A stand-in generator that ignores its latent input and returns real test digits."""

    input_shape = (None, 100)

    def __init__(self, images: np.ndarray) -> None:
        self.images = to_model_range(images)
        self.served = 0

    def __call__(self, latent: np.ndarray, training: bool = False) -> np.ndarray:
        batch = self.images[self.served : self.served + len(latent)]
        self.served += len(latent)
        return batch


def assert_complete(metrics: dict) -> None:
    assert set(metrics) == METRIC_KEYS
    for key, value in metrics.items():
        values = value if isinstance(value, list) else [value]
        assert all(math.isfinite(v) for v in values), key
    assert len(metrics["class_fractions"]) == 10
    assert sum(metrics["class_fractions"]) == pytest.approx(1.0)


def test_untrained_generator_scores_badly(classifier: keras.Model, mnist: Mnist) -> None:
    metrics = evaluation.evaluate_generator(
        build_dcgan_generator(), n_samples=500, classifier=classifier, mnist=mnist
    )
    assert_complete(metrics)
    assert metrics["n_samples"] == 500
    assert metrics["fd_ratio"] > 10
    assert metrics["classifier_score"] < 5
    report = evaluation.format_report(metrics)
    assert "Classifier score" in report
    assert report == evaluation.format_report(dict(metrics))


def test_real_digits_score_like_real_data(classifier: keras.Model, mnist: Mnist) -> None:
    metrics = evaluation.evaluate_generator(
        RealDigits(mnist.x_test[:500]), n_samples=500, classifier=classifier, mnist=mnist
    )
    assert_complete(metrics)
    assert metrics["classifier_score"] > 9
    assert metrics["fd_ratio"] < 3
    assert metrics["class_kl"] < 0.05
    # Test digits are the "real" reference for copying: same distance as themselves.
    assert metrics["nn_distance_generated_mean"] == pytest.approx(
        metrics["nn_distance_test_mean"], rel=1e-5
    )
    assert metrics["near_copy_share"] <= 0.02


def test_a_generator_replaying_training_digits_is_caught_as_copying(
    classifier: keras.Model, mnist: Mnist
) -> None:
    metrics = evaluation.evaluate_generator(
        RealDigits(mnist.x_train[:500]), n_samples=500, classifier=classifier, mnist=mnist
    )
    assert metrics["near_copy_share"] == 1.0
    assert metrics["nn_distance_generated_mean"] < 0.01
    assert "Near copies" in evaluation.format_report(metrics)
