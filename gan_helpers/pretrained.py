"""The shipped pretrained GAN: the command that makes it, and how notebooks load it.

``python -m gan_helpers.pretrained --recipe conditional --epochs 60`` (or ``make pretrain``)
trains a recipe from scratch with the same helper code the notebooks use, evaluates the
generator, and writes into ``data/pretrained/``:

- ``<recipe>_generator.keras`` and ``<recipe>_discriminator.keras``;
- ``<recipe>.json``: the recipe, seed, epochs, steps, wall time, machine, versions, the
  evaluation and a thinned training history.

Training writes checkpoints to ``artifacts/checkpoints/<recipe>-seed<seed>/`` every
``--checkpoint-every`` steps (default 500; 0 for none). After an interruption (a crash, a
reboot, Ctrl-C), run the same command again with ``--resume``: training continues from the
newest good checkpoint and ends with the same weights, bit for bit, as an uninterrupted run.

``--evaluate-only`` scores the shipped generator again without training (after the
evaluation gained a measure, say) and rewrites only the record's ``evaluation``.

Notebooks load these files and never download anything. Loading runs no code from the file:
Keras' safe mode is on, and a file that contains code (a ``Lambda`` layer) is refused (see
:func:`gan_helpers.model_files.load_model_file`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_helpers.checkpoints import CheckpointError, default_checkpoint_dir
from gan_helpers.data import training_images, training_labels
from gan_helpers.model_files import ROLES, PretrainedWeightsError, load_model_file
from gan_helpers.paths import data_dir, replace_atomically
from gan_helpers.reproducibility import DEFAULT_SEED, seed_everything
from gan_helpers.training import DEFAULT_RECIPE, RECIPES, TrainingDivergedError

HISTORY_EVERY = 50  # steps between kept history points in the JSON record
DEFAULT_EPOCHS = 60  # what the shipped models were trained for (`make pretrain`)
EVALUATION_SAMPLES = 10_000


def pretrained_dir() -> Path:
    """``data/pretrained``, where the shipped models and their records live."""
    return data_dir() / "pretrained"


def model_path(recipe: str, role: str) -> Path:
    """Path of the shipped ``role`` ("generator" or "discriminator") of ``recipe``."""
    return pretrained_dir() / f"{recipe}_{role}.keras"


def record_path(recipe: str) -> Path:
    """Path of the JSON record of how ``recipe``'s shipped models were trained."""
    return pretrained_dir() / f"{recipe}.json"


def load_pretrained(recipe: str = DEFAULT_RECIPE, role: str = "generator") -> keras.Model:
    """Load a shipped model safely and check that it is a ``role`` (see :func:`load_model_file`)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    path = model_path(recipe, role)
    if not path.is_file():
        raise PretrainedWeightsError(
            f"{path} does not exist. It is made by `make pretrain` "
            f"(python -m gan_helpers.pretrained --recipe {recipe}); a fresh clone has it."
        )
    fix = (
        f"Restore it with `git checkout -- {path.name}` in data/pretrained/, or retrain it "
        "with `make pretrain`."
    )
    return load_model_file(path, role, fix=fix)


def pretrained_record(recipe: str = DEFAULT_RECIPE) -> dict[str, Any]:
    """The JSON record of the shipped ``recipe`` models."""
    return json.loads(record_path(recipe).read_text(encoding="utf-8"))


def train_and_save(
    recipe_name: str = DEFAULT_RECIPE,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = DEFAULT_SEED,
    evaluate: bool = True,
    checkpoint_every: int = 500,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``recipe_name`` for ``epochs``, save both models and the record.

    Checkpoints go to ``checkpoint_dir`` (default :func:`run_checkpoint_dir`) every
    ``checkpoint_every`` steps (0: none). ``resume=True`` continues from the newest good
    checkpoint there (from scratch if there is none).
    """
    recipe = RECIPES[recipe_name]
    if checkpoint_every and checkpoint_dir is None:
        checkpoint_dir = run_checkpoint_dir(recipe_name, seed)
    if resume and not checkpoint_every:
        raise ValueError("resume=True needs checkpoints: checkpoint_every must not be 0.")
    seed_everything(seed)
    images = training_images()
    labels = training_labels() if recipe.conditional else None
    trainer = recipe.trainer()
    history = trainer.fit(
        images,
        labels,
        epochs=epochs,
        batch_size=recipe.batch_size,
        seed=seed,
        checkpoint_dir=checkpoint_dir if checkpoint_every else None,
        checkpoint_every=checkpoint_every or 1,
        resume=resume,
    )
    seconds = trainer.training_seconds

    record: dict[str, Any] = {
        "recipe": recipe.settings(),
        # Outside the recipe: XLA changes the round-off, not the computation (training.Recipe).
        "jit_compile": recipe.jit_compile,
        "seed": seed,
        "epochs": epochs,
        "steps": len(history),
        "training_seconds": round(seconds, 1),
        "resumed_from_step": trainer.resumed_from_step,
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

        record["evaluation"] = _plain(evaluate_generator(generator, n_samples=EVALUATION_SAMPLES))

    for role, model in (("generator", generator), ("discriminator", trainer.discriminator)):
        replace_atomically(model_path(recipe_name, role), lambda tmp, m=model: m.save(tmp))
    _write_record(recipe_name, record)
    return record


def reevaluate(recipe_name: str = DEFAULT_RECIPE) -> dict[str, Any]:
    """Score the shipped ``recipe_name`` generator again and rewrite its record's evaluation.

    Nothing is trained and the models are not touched; the rest of the record stays as it
    was. The evaluation draws its latent vectors from a fixed seed, so the measures that
    existed before come out the same on the same machine type.
    """
    from gan_helpers.evaluation import evaluate_generator

    generator = load_pretrained(recipe_name, "generator")
    record = pretrained_record(recipe_name)
    record["evaluation"] = _plain(evaluate_generator(generator, n_samples=EVALUATION_SAMPLES))
    _write_record(recipe_name, record)
    return record


def _write_record(recipe_name: str, record: dict[str, Any]) -> None:
    replace_atomically(
        record_path(recipe_name),
        lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8"),
    )


def run_checkpoint_dir(recipe_name: str, seed: int = DEFAULT_SEED) -> Path:
    """Where the command keeps checkpoints: ``artifacts/checkpoints/<recipe>-seed<seed>``."""
    return default_checkpoint_dir(f"{recipe_name}-seed{seed}")


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
    from gan_helpers.evaluation import format_report

    parser = argparse.ArgumentParser(
        prog="python -m gan_helpers.pretrained",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--recipe", choices=sorted(RECIPES), default=DEFAULT_RECIPE)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation")
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="do not train: score the shipped generator again and update its record",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=500,
        metavar="STEPS",
        help="save a checkpoint every STEPS training steps and at the end (0: no checkpoints)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest good checkpoint of this recipe and seed",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.checkpoint_every < 0:
        parser.error(f"--checkpoint-every must be 0 or more, got {args.checkpoint_every}")
    if args.resume and args.checkpoint_every == 0:
        parser.error("--resume needs checkpoints; leave out --checkpoint-every 0")
    if args.evaluate_only:
        if args.no_evaluate or args.resume:
            parser.error("--evaluate-only trains nothing: leave out --no-evaluate and --resume")
        try:
            record = reevaluate(args.recipe)
        except (OSError, PretrainedWeightsError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(format_report(record["evaluation"]))
        print(f"updated {record_path(args.recipe)}")
        return 0
    if args.checkpoint_every:
        print(f"checkpoints: {run_checkpoint_dir(args.recipe, args.seed)}")
    try:
        record = train_and_save(
            args.recipe,
            epochs=args.epochs,
            seed=args.seed,
            evaluate=not args.no_evaluate,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
        )
    except (CheckpointError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if record["resumed_from_step"] is not None:
        print(f"resumed from step {record['resumed_from_step']}")
    elif args.resume:
        print("no checkpoint to resume from yet: trained from step 0")
    print(f"trained {record['steps']} steps in {record['training_seconds']:.0f} s")
    if "evaluation" in record:
        print(format_report(record["evaluation"]))
    print(f"saved to {pretrained_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
