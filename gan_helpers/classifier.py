"""The MNIST classifier that judges generated digits (notebook 10), ``data/mnist_classifier.keras``;
``python -m gan_helpers.classifier train`` retrains it (about two minutes on 2 CPU cores)."""

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
from gan_helpers.model_files import load_model_file
from gan_helpers.models import DIGITS, IMAGE_SHAPE
from gan_helpers.paths import data_dir, replace_atomically
from gan_helpers.reproducibility import SEED, seed_everything

FEATURES_LAYER = "features"
FEATURE_WIDTH = 128
CLASSIFIER_EPOCHS = 7
TRAIN_COMMAND = "python -m gan_helpers.classifier train"


def build_classifier() -> keras.Model:
    """A small CNN for digits in [-1, 1]; the Fréchet distance compares its ``features`` layer."""
    stack: list[layers.Layer] = [keras.Input(IMAGE_SHAPE)]
    for width in (32, 64):  # no conv bias: the batch norm that follows has its own shift
        stack += [layers.Conv2D(width, 3, use_bias=False), layers.BatchNormalization()]
        stack += [layers.ReLU(), layers.MaxPooling2D()]
    stack += [layers.Flatten(), layers.Dense(FEATURE_WIDTH, "relu", name=FEATURES_LAYER)]
    # Light dropout only: heavier (0.5) left it underfitted at about 99.1 % test accuracy.
    stack += [layers.Dropout(0.25), layers.Dense(DIGITS, "softmax", name="probabilities")]
    return keras.Sequential(stack, name="mnist_classifier")


def classifier_path() -> Path:
    """Where the shipped classifier lives: ``data/mnist_classifier.keras``."""
    return data_dir() / "mnist_classifier.keras"


def load_classifier() -> keras.Model:
    """The shipped classifier, loaded safely; if unusable, the error says how to retrain it."""
    path = classifier_path()
    fix = (
        f"Restore it with `git checkout -- data/{path.name}`, or train it (about two "
        f"minutes) with `{TRAIN_COMMAND}`."
    )
    return load_model_file(path, fix=fix)


@dataclass(frozen=True)
class ClassifierOutputs:
    """Float64 ``probabilities`` (N, 10) and ``features`` (N, 128) of a batch of images."""

    probabilities: np.ndarray
    features: np.ndarray


def classify(
    classifier: keras.Model, images: np.ndarray, batch_size: int = 500
) -> ClassifierOutputs:
    """Probabilities and features of ``images`` (in [-1, 1], or uint8) in one pass."""
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
    """Train :func:`build_classifier`; atomically write and return it and its record."""
    mnist = mnist if mnist is not None else load_mnist()
    start = time.perf_counter()
    seed_everything(seed)
    model, batch_size = build_classifier(), 128
    steps = epochs * math.ceil(len(mnist.x_train) / batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    images, labels = to_model_range(mnist.x_train), mnist.y_train.astype(np.int32)
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=2)
    inference = build_classifier()
    inference.set_weights(model.get_weights())
    record: dict[str, Any] = {
        "test_accuracy": round(classifier_accuracy(inference, mnist.x_test, mnist.y_test), 4),
        "training_seconds": round(time.perf_counter() - start, 1),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "parameters": inference.count_params(),
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "command": TRAIN_COMMAND,
    }
    replace_atomically(classifier_path(), inference.save)
    text = json.dumps(record, indent=2) + "\n"
    record_file = data_dir() / "mnist_classifier.json"
    replace_atomically(record_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return inference, record


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
    path = classifier_path()
    print(
        f"test accuracy {record['test_accuracy']:.4f}, {record['training_seconds']:.0f} s, "
        f"{path.stat().st_size / 1e6:.2f} MB -> {path}"
    )
    if record["test_accuracy"] < 0.99:
        print("warning: test accuracy below 0.99", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
