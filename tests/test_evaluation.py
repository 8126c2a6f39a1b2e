"""The shipped classifier and the whole-generator report: good against bad on real models."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from gan_helpers import classifier as judge
from gan_helpers import evaluation, model_files
from gan_helpers.data import Mnist, load_mnist, to_model_range
from gan_helpers.model_files import PretrainedWeightsError
from gan_helpers.models import build_conditional_generator, build_generator

N = 200  # samples per report: one size, so the real-data statistics are computed once
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


@pytest.fixture(scope="module")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="module")
def small_mnist(mnist: Mnist) -> Mnist:
    """A quarter of MNIST: the reports' real-data statistics in a fraction of the time."""
    return Mnist(
        mnist.x_train[:15_000], mnist.y_train[:15_000], mnist.x_test[::4], mnist.y_test[::4]
    )


@pytest.fixture(scope="module")
def classifier() -> keras.Model:
    return judge.load_classifier()


# --- the classifier --------------------------------------------------------------------------


def test_shipped_classifier_is_accurate_and_has_the_features_layer(
    classifier: keras.Model, mnist: Mnist
) -> None:
    # Every fifth test digit: the first half of the MNIST test set is markedly harder than
    # the second, so the first 2,000 alone would not stand for the whole.
    sample = slice(None, None, 5)
    accuracy = judge.classifier_accuracy(classifier, mnist.x_test[sample], mnist.y_test[sample])
    assert accuracy >= 0.99
    outputs = judge.classify(classifier, to_model_range(mnist.x_test[:7]), batch_size=3)
    assert outputs.features.shape == (7, judge.FEATURE_WIDTH)
    np.testing.assert_allclose(outputs.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # uint8 digits are scaled on the way in: the same answer.
    np.testing.assert_allclose(
        judge.classify(classifier, mnist.x_test[:7]).probabilities, outputs.probabilities, atol=1e-6
    )
    assert judge.classify(classifier, np.zeros((0, 28, 28, 1), np.float32)).features.shape == (
        0,
        judge.FEATURE_WIDTH,
    )


def test_shipped_classifier_file_is_small() -> None:
    assert judge.classifier_path().stat().st_size < 1.5e6


@pytest.fixture
def classifier_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where load_classifier looks, moved to an empty folder."""
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path))
    return judge.classifier_path()


def test_a_missing_classifier_names_the_command_that_trains_it(classifier_in_tmp: Path) -> None:
    with pytest.raises(PretrainedWeightsError) as caught:
        judge.load_classifier()
    message = str(caught.value)
    assert f"{classifier_in_tmp} does not exist" in message
    assert "python -m gan_helpers.classifier train" in message
    assert not classifier_in_tmp.exists()  # reported, not trained behind the reader's back


@pytest.mark.parametrize("content", [b"", b"not a keras file at all", b"PK\x03\x04truncated"])
def test_a_damaged_classifier_file_gets_one_clear_error(
    classifier_in_tmp: Path, content: bytes
) -> None:
    classifier_in_tmp.write_bytes(content)
    with pytest.raises(PretrainedWeightsError) as caught:
        judge.load_classifier()
    message = str(caught.value)
    assert "mnist_classifier.keras could not be loaded" in message
    assert judge.TRAIN_COMMAND in message
    assert caught.value.__suppress_context__  # no Keras traceback chained to it
    assert classifier_in_tmp.read_bytes() == content


@pytest.mark.parametrize("scan", ["on", "defeated"])
def test_a_classifier_file_with_code_is_refused(
    classifier_in_tmp: Path, monkeypatch: pytest.MonkeyPatch, scan: str
) -> None:
    doubler = layers.Lambda(lambda x: x * 2, name="doubler")
    keras.Sequential([keras.Input((28, 28, 1)), doubler]).save(classifier_in_tmp)
    if scan == "defeated":  # then Keras's safe mode is what refuses it
        monkeypatch.setattr(model_files, "_code_in_archive", lambda path: [])
    with pytest.raises(PretrainedWeightsError, match=r"mnist_classifier\.keras contains code"):
        judge.load_classifier()


def test_the_train_command_refuses_a_bad_epoch_count(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        judge.main(["train", "--epochs", "0"])
    assert "--epochs must be at least 1" in capsys.readouterr().err


# --- the report ------------------------------------------------------------------------------


class RealDigits:
    """A stand-in generator that ignores its latent input and returns real digits."""

    name = "real_digits"

    def __init__(self, images: np.ndarray) -> None:
        self.inputs = [keras.KerasTensor((None, 100))]  # what latent_dim_of reads
        self.images = to_model_range(images)
        self.served = 0

    def __call__(self, latent: np.ndarray, training: bool = False) -> np.ndarray:
        batch = self.images[self.served : self.served + len(latent)]
        self.served += len(latent)
        return batch


def assert_complete(scores: dict, extra: frozenset = frozenset()) -> None:
    assert set(scores) == METRIC_KEYS | extra
    for key, value in scores.items():
        assert all(math.isfinite(v) for v in np.ravel(value)), key
    assert sum(scores["class_fractions"]) == pytest.approx(1.0)


def test_an_untrained_generator_scores_badly(classifier: keras.Model, small_mnist: Mnist) -> None:
    scores = evaluation.evaluate_generator(
        build_generator(), n_samples=N, classifier=classifier, mnist=small_mnist
    )
    assert_complete(scores)
    assert scores["n_samples"] == N
    assert scores["fd_ratio"] > 10 and scores["classifier_score"] < 5
    report = evaluation.format_report(scores)
    assert "Classifier score" in report and "Asked digit" not in report


def test_real_digits_score_like_real_data(classifier: keras.Model, small_mnist: Mnist) -> None:
    scores = evaluation.evaluate_generator(
        RealDigits(small_mnist.x_test[:N]), n_samples=N, classifier=classifier, mnist=small_mnist
    )
    assert_complete(scores)
    assert scores["classifier_score"] > 9 and scores["fd_ratio"] < 3
    assert scores["class_kl"] < 0.05
    # Test digits are the "real" reference for copying: as far as themselves.
    assert scores["nn_distance_generated_mean"] == pytest.approx(
        scores["nn_distance_test_mean"], rel=1e-5
    )
    assert scores["near_copy_share"] <= 0.02


def test_a_generator_replaying_training_digits_is_caught_copying(
    classifier: keras.Model, small_mnist: Mnist
) -> None:
    scores = evaluation.evaluate_generator(
        RealDigits(small_mnist.x_train[:N]), n_samples=N, classifier=classifier, mnist=small_mnist
    )
    assert scores["near_copy_share"] == 1.0
    assert scores["nn_distance_generated_mean"] < 0.01


def test_a_conditional_generator_is_asked_for_each_digit_in_turn(
    classifier: keras.Model, small_mnist: Mnist
) -> None:
    scores = evaluation.evaluate_generator(
        build_conditional_generator(), n_samples=N, classifier=classifier, mnist=small_mnist
    )
    assert_complete(scores, frozenset({"digit_accuracy"}))
    assert 0.0 <= scores["digit_accuracy"] <= 1.0
    assert "Asked digit read" in evaluation.format_report(scores).splitlines()[1]


def test_the_report_rounds_away_noise() -> None:
    scores = {key: 0.0 for key in METRIC_KEYS} | {
        "class_fractions": [0.1] * 10,
        "class_kl": -1e-9,
        "classifier_score": 9.87654,
        "n_samples": 10_000,
    }
    report = evaluation.format_report(scores)
    assert "9.88" in report and "-0.000" not in report and "0.000" in report


def test_quick_score_is_the_classifier_score_of_fresh_images() -> None:
    score = evaluation.quick_score(build_generator(), n_samples=200)
    assert 1.0 <= score <= 10.0
    assert evaluation.quick_score(build_generator(), n_samples=200) != score  # new weights
