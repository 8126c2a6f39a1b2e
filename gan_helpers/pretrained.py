"""The shipped pretrained GAN: the command that makes it, and how notebooks load it.

``python -m gan_helpers.pretrained --recipe fast --epochs 20`` (or ``make pretrain``)
trains a recipe from scratch with the same helper code the notebooks use, evaluates the
generator, and writes into ``data/pretrained/``:

- ``<recipe>_generator.keras`` and ``<recipe>_discriminator.keras``;
- ``<recipe>.json``: the recipe, seed, epochs, steps, wall time, machine, versions, the
  evaluation and a thinned training history.

Notebooks load these files and never download anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_helpers.data import training_images
from gan_helpers.paths import data_dir, replace_atomically
from gan_helpers.reproducibility import DEFAULT_SEED, seed_everything
from gan_helpers.training import RECIPES

HISTORY_EVERY = 50  # steps between kept history points in the JSON record


class PretrainedWeightsError(Exception):
    """A shipped weights file is missing or unusable; the message says how to fix it."""


def pretrained_dir() -> Path:
    """``data/pretrained``, where the shipped models and their records live."""
    return data_dir() / "pretrained"


def model_path(recipe: str, role: str) -> Path:
    """Path of the shipped ``role`` ("generator" or "discriminator") of ``recipe``."""
    return pretrained_dir() / f"{recipe}_{role}.keras"


def record_path(recipe: str) -> Path:
    """Path of the JSON record of how ``recipe``'s shipped models were trained."""
    return pretrained_dir() / f"{recipe}.json"


def load_pretrained(recipe: str = "fast", role: str = "generator") -> keras.Model:
    """Load a shipped model with Keras' safe mode on (no code inside the file is run)."""
    path = model_path(recipe, role)
    if not path.is_file():
        raise PretrainedWeightsError(
            f"{path} does not exist. It is made by `make pretrain` "
            f"(python -m gan_helpers.pretrained --recipe {recipe}); a fresh clone has it."
        )
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file
        raise PretrainedWeightsError(
            f"{path} could not be loaded as a Keras model ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}). Restore it with `git checkout -- {path.name}` "
            "in data/pretrained/, or retrain it with `make pretrain`."
        ) from None


def pretrained_record(recipe: str = "fast") -> dict[str, Any]:
    """The JSON record of the shipped ``recipe`` models."""
    return json.loads(record_path(recipe).read_text(encoding="utf-8"))


def train_and_save(
    recipe_name: str = "fast",
    *,
    epochs: int = 20,
    seed: int = DEFAULT_SEED,
    evaluate: bool = True,
) -> dict[str, Any]:
    """Train ``recipe_name`` from scratch for ``epochs``, save both models and the record."""
    recipe = RECIPES[recipe_name]
    seed_everything(seed)
    images = training_images()
    trainer = recipe.trainer()
    started = time.perf_counter()
    history = trainer.fit(images, epochs=epochs, batch_size=recipe.batch_size, seed=seed)
    seconds = time.perf_counter() - started

    record: dict[str, Any] = {
        "recipe": recipe.settings(),
        "seed": seed,
        "epochs": epochs,
        "steps": len(history),
        "training_seconds": round(seconds, 1),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "command": f"python -m gan_helpers.pretrained --recipe {recipe_name} "
        f"--epochs {epochs} --seed {seed}",
        "history_every": HISTORY_EVERY,
        "history": {
            name: [round(v, 4) for v in values[::HISTORY_EVERY]]
            for name, values in history.as_dict().items()
        },
    }
    # With an averaged generator, the average is what ships: it draws the cleaner digits.
    generator = trainer.ema_generator or trainer.generator
    if evaluate:
        from gan_helpers.evaluation import evaluate_generator

        record["evaluation"] = _plain(evaluate_generator(generator, n_samples=10_000))

    for role, model in (("generator", generator), ("discriminator", trainer.discriminator)):
        replace_atomically(model_path(recipe_name, role), lambda tmp, m=model: m.save(tmp))
    replace_atomically(
        record_path(recipe_name),
        lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8"),
    )
    return record


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, list | tuple | np.ndarray):
            return [convert(v) for v in value]
        return value

    return {key: convert(value) for key, value in values.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train a recipe and ship its models under ``data/pretrained``."""
    parser = argparse.ArgumentParser(prog="python -m gan_helpers.pretrained", description=__doc__)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="fast")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    record = train_and_save(
        args.recipe, epochs=args.epochs, seed=args.seed, evaluate=not args.no_evaluate
    )
    print(f"trained {record['steps']} steps in {record['training_seconds']:.0f} s")
    if "evaluation" in record:
        from gan_helpers.evaluation import format_report

        print(format_report(record["evaluation"]))
    print(f"saved to {pretrained_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
