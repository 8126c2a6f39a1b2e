"""The MNIST classifier that judges generated digits (notebook 10).

A small CNN, trained once on the 60,000 training digits and shipped as
``data/mnist_classifier.keras`` with its record ``data/mnist_classifier.json``. Its class
probabilities and its 128 ``"features"`` feed the measures of :mod:`gan_helpers.metrics`.
``python -m gan_helpers.classifier train`` retrains it (about two minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gan_helpers.data import Mnist, load_mnist, to_model_range
from gan_helpers.model_files import PretrainedWeightsError, load_model_file
from gan_helpers.models import DIGITS, IMAGE_SHAPE
from gan_helpers.paths import data_dir, replace_atomically
from gan_helpers.reproducibility import SEED, seed_everything

FEATURES_LAYER = "features"
FEATURE_WIDTH = 128
CLASSIFIER_EPOCHS = 7
CLASSIFIER_BATCH_SIZE = 128
TRAIN_COMMAND = "python -m gan_helpers.classifier train"


def build_classifier() -> keras.Model:
    """A small CNN that labels (28, 28, 1) digits in [-1, 1], the generators' range.

    Two 3x3 convolution blocks (32 and 64 filters, batch norm, ReLU, 2x2 max pooling),
    then a 128-unit ReLU layer named ``"features"`` (the embedding that the Fréchet
    distance compares), dropout 0.25 and a 10-way softmax. About 225,000 parameters.
    """
    stack: list[layers.Layer] = [keras.Input(IMAGE_SHAPE)]
    for width in (32, 64):  # no conv bias: the batch norm that follows has its own shift
        stack += [layers.Conv2D(width, 3, use_bias=False), layers.BatchNormalization()]
        stack += [layers.ReLU(), layers.MaxPooling2D()]
    return keras.Sequential(
        [
            *stack,
            layers.Flatten(),
            # Light dropout only: after a few epochs, heavier dropout (0.5) left the
            # network underfitted at about 99.1 % test accuracy.
            layers.Dense(FEATURE_WIDTH, activation="relu", name=FEATURES_LAYER),
            layers.Dropout(0.25),
            layers.Dense(DIGITS, activation="softmax", name="probabilities"),
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

    Adam with a cosine-decaying learning rate, so a few epochs end at a well-settled
    minimum (over 99 % test accuracy). Returns an uncompiled copy of the trained model, so
    that saving it stores no optimizer state (which would triple the file size).
    ``verbose`` is passed to ``fit`` (2 prints one line per epoch).
    """
    mnist = mnist if mnist is not None else load_mnist()
    seed_everything(seed)
    model = build_classifier()
    steps = epochs * math.ceil(len(mnist.x_train) / batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    images, labels = to_model_range(mnist.x_train), mnist.y_train.astype(np.int32)
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=verbose)
    inference = build_classifier()
    inference.set_weights(model.get_weights())
    return inference


def classifier_path() -> Path:
    """Where the shipped classifier lives: ``data/mnist_classifier.keras``."""
    return data_dir() / "mnist_classifier.keras"


def classifier_record_path() -> Path:
    """The JSON record beside the classifier (accuracy, time, versions, command)."""
    return data_dir() / "mnist_classifier.json"


def load_classifier() -> keras.Model:
    """The shipped MNIST classifier, loaded without running code from the file.

    A missing, damaged or foreign file, or one that carries code (a ``Lambda`` layer),
    raises :class:`~gan_helpers.model_files.PretrainedWeightsError` naming the file and
    how to restore or retrain it; nothing is trained behind the reader's back.
    """
    path = classifier_path()
    fix = (
        f"Restore it with `git checkout -- data/{path.name}`, or train it (about two "
        f"minutes) with `{TRAIN_COMMAND}`."
    )
    if not path.is_file():
        raise PretrainedWeightsError(f"{path} does not exist. {fix}")
    return load_model_file(path, fix=fix)


@dataclass(frozen=True)
class ClassifierOutputs:
    """What the classifier says about a batch of images.

    ``probabilities`` is float64 ``(N, 10)``; ``features`` is float64 ``(N, 128)``, the
    activations of the layer named ``"features"``.
    """

    probabilities: np.ndarray
    features: np.ndarray


def classify(
    classifier: keras.Model, images: np.ndarray, batch_size: int = 500
) -> ClassifierOutputs:
    """Class probabilities and features of ``images`` in one pass through ``classifier``.

    ``images`` are float (N, 28, 28[, 1]) in [-1, 1] (generator output) or uint8 MNIST
    digits. The model is called on batches rather than through ``predict``, which would
    print a progress bar into notebooks.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = to_model_range(images)
    images = images.reshape(-1, *IMAGE_SHAPE).astype(np.float32, copy=False)
    features_layer = classifier.get_layer(FEATURES_LAYER)
    both = keras.Model(classifier.inputs[0], [features_layer.output, classifier.outputs[0]])
    features, probabilities = [np.zeros((0, features_layer.units))], [np.zeros((0, DIGITS))]
    for start in range(0, len(images), batch_size):
        feats, probs = both(images[start : start + batch_size], training=False)
        features.append(np.asarray(feats, dtype=np.float64))
        probabilities.append(np.asarray(probs, dtype=np.float64))
    return ClassifierOutputs(np.concatenate(probabilities), np.concatenate(features))


def classifier_accuracy(
    classifier: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 500
) -> float:
    """Fraction of ``images`` whose most probable class equals ``labels``."""
    predicted = classify(classifier, images, batch_size).probabilities.argmax(axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def train_and_save_classifier(
    mnist: Mnist | None = None, *, epochs: int = CLASSIFIER_EPOCHS, seed: int = SEED
) -> tuple[keras.Model, dict[str, Any]]:
    """Train the classifier, then write ``mnist_classifier.keras`` and its JSON record.

    Both files are replaced atomically, so an interrupted run never leaves half a model.
    Returns the model and the record.
    """
    mnist = mnist if mnist is not None else load_mnist()
    start = time.perf_counter()
    model = train_classifier(mnist, epochs=epochs, seed=seed, verbose=2)
    record: dict[str, Any] = {
        "test_accuracy": round(classifier_accuracy(model, mnist.x_test, mnist.y_test), 4),
        "training_seconds": round(time.perf_counter() - start, 1),
        "epochs": epochs,
        "batch_size": CLASSIFIER_BATCH_SIZE,
        "seed": seed,
        "parameters": model.count_params(),
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "command": TRAIN_COMMAND,
    }
    replace_atomically(classifier_path(), lambda tmp: model.save(tmp))
    replace_atomically(
        classifier_record_path(),
        lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8"),
    )
    return model, record


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gan_helpers.classifier train``: retrain and overwrite the shipped files."""
    parser = argparse.ArgumentParser(prog="python -m gan_helpers.classifier")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="retrain the classifier and overwrite its files")
    train.add_argument("--epochs", type=int, default=CLASSIFIER_EPOCHS)
    train.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
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
