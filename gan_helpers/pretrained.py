"""The shipped DCGANs: the command that trains them, and how notebooks load them.

``python -m gan_helpers.pretrained --model dcgan|cdcgan`` (``make pretrain``) trains a model,
evaluates it and writes ``<model>_generator.keras`` (the weight average),
``<model>_discriminator.keras`` and ``<model>.json`` into ``data/pretrained/`` or ``--out DIR``.
After a crash, ``--resume`` ends with the same weights, bit for bit, as an unbroken run."""

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gan_helpers import models
from gan_helpers.data import load_mnist, to_model_range
from gan_helpers.gan import GAN, ConditionalGAN, StepHistory, WeightAverage, adam, no_autotune
from gan_helpers.model_files import PretrainedWeightsError, load_model_file
from gan_helpers.paths import artifacts_dir, data_dir, replace_atomically
from gan_helpers.reproducibility import SEED

COMMAND = "python -m gan_helpers.pretrained"
HISTORY_EVERY = 50  # steps between kept history points in the JSON record
EVALUATION_SAMPLES = 10_000


@dataclass(frozen=True)
class ModelSpec:
    """What a shipped model is: its two networks and how they are trained."""

    build_generator: Callable[[], keras.Model]
    build_discriminator: Callable[[], keras.Model]
    conditional: bool
    batch_size: int = 32  # real digits per step; the discriminator also sees as many fakes
    real_label: float = 0.9
    average_decay: float = 0.99
    learning_rate: float = 1e-3  # both players' Adam step (notebook 7)
    steps: int = 22_000  # the shipped model's length, the command's default
    description: str = ""

    def gan(self, seed: int) -> GAN:
        """Fresh models and optimisers, compiled; the same seed gives the same start."""
        keras.utils.set_random_seed(seed)
        kind = ConditionalGAN if self.conditional else GAN
        generator, discriminator = self.build_generator(), self.build_discriminator()
        gan = kind(generator, discriminator, real_label=self.real_label, seed=seed)
        gan.compile(d_optimizer=adam(self.learning_rate), g_optimizer=adam(self.learning_rate))
        return gan


MODELS: dict[str, ModelSpec] = {
    "dcgan": ModelSpec(
        models.build_generator,
        models.build_discriminator,
        conditional=False,
        description="the DCGAN of notebooks 3-7",
    ),
    "cdcgan": ModelSpec(
        models.build_conditional_generator,
        models.build_conditional_discriminator,
        conditional=True,
        average_decay=0.995,  # measured: docs/benchmarks.md, five minutes of training
        steps=20_000,
        description="the same DCGAN told which digit to draw (notebook 8)",
    ),
}
DEFAULT_MODEL = "dcgan"


def pretrained_dir() -> Path:
    """``data/pretrained``, where the shipped models and their records live."""
    return data_dir() / "pretrained"


def model_path(model: str, role: str, out: Path | None = None) -> Path:
    """Path of the shipped ``role`` ("generator" or "discriminator") of ``model``."""
    return (out or pretrained_dir()) / f"{model}_{role}.keras"


def record_path(model: str, out: Path | None = None) -> Path:
    """Path of the JSON record of how ``model`` was trained."""
    return (out or pretrained_dir()) / f"{model}.json"


def load_pretrained(model: str = DEFAULT_MODEL, role: str = "generator") -> keras.Model:
    """Load a shipped model safely (see :func:`~gan_helpers.model_files.load_model_file`)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    path = model_path(model, role)
    fix = (
        f"Restore it with `git checkout -- {path.name}` in data/pretrained/, or retrain it with "
        f"`{COMMAND} --model {model}`."
    )
    return load_model_file(path, role, fix=fix)


def pretrained_record(model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """The JSON record of the shipped ``model``."""
    return json.loads(record_path(model).read_text(encoding="utf-8"))


def batches(
    arrays: Sequence[np.ndarray], batch_size: int, seed: int, start: int, stop: int
) -> tf.data.Dataset:
    """Batches ``start`` to ``stop`` of a run that shuffles ``arrays`` anew every epoch, epoch
    ``e`` by ``default_rng([seed, e])``: a batch is the same whichever step a run starts from."""
    n = len(arrays[0])
    per_epoch = n // batch_size
    epochs = range(start // per_epoch, (stop - 1) // per_epoch + 1)
    order = np.concatenate(
        [np.random.default_rng([seed, e]).permutation(n)[: per_epoch * batch_size] for e in epochs]
    ).reshape(-1, batch_size)
    rows = order[start - epochs[0] * per_epoch :][: stop - start]
    tensors = tuple(tf.constant(a) for a in arrays)

    def gather(indices: tf.Tensor) -> Any:
        picked = tuple(tf.gather(t, indices) for t in tensors)
        return picked if len(picked) > 1 else picked[0]

    dataset = tf.data.Dataset.from_tensor_slices(rows).map(gather).prefetch(2)
    return dataset.with_options(no_autotune())


class CheckpointEvery(keras.callbacks.Callback):
    """Checkpoints every ``every`` steps; a NaN loss stops training, naming the last good one."""

    def __init__(
        self, manager: tf.train.CheckpointManager, every: int, step: int, seconds: tf.Variable
    ) -> None:
        super().__init__()
        self.manager, self.every, self.step = manager, every, step
        # Training time so far, saved with the checkpoint so a resumed run reports the total.
        self.seconds, self.seconds_before = seconds, float(seconds.numpy())
        self.began = time.perf_counter()

    def total_seconds(self) -> float:
        """Seconds of training in this run and the runs it resumed."""
        return self.seconds_before + time.perf_counter() - self.began

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        if not all(math.isfinite(float(v)) for v in (logs or {}).values()):
            raise TrainingDivergedError(
                f"a loss became NaN or infinite at step {self.step}; the last good checkpoint is "
                f"{self.manager.latest_checkpoint}. Try a lower learning rate, or check that "
                "the images are scaled to [-1, 1]."
            )
        if self.every and self.step % self.every == 0:
            self.seconds.assign(self.total_seconds())
            self.manager.save(checkpoint_number=self.step)


class TrainingDivergedError(RuntimeError):
    """A loss stopped being a finite number."""


def train(
    model: str = DEFAULT_MODEL,
    *,
    steps: int,
    seed: int = SEED,
    out: Path | None = None,
    checkpoint_every: int = 1000,
    resume: bool = False,
) -> tuple[GAN, WeightAverage, dict[str, Any]]:
    """Train ``model`` for ``steps`` steps; returns the GAN, its weight average and a record."""
    spec = MODELS[model]
    tf.config.experimental.enable_op_determinism()
    gan = spec.gan(seed)
    average = WeightAverage(gan.generator, spec.average_decay)
    seconds = tf.Variable(0.0, dtype=tf.float64)
    checkpoint = tf.train.Checkpoint(
        seconds=seconds,
        gan=gan,
        d_optimizer=gan.d_optimizer,
        g_optimizer=gan.g_optimizer,
        average=average.average,
        # The states of the GAN's random-number generators: its draws and dropout masks.
        random_states=[v for v in gan.variables if "seed_generator_state" in v.path],
    )
    directory = (out or artifacts_dir()) / "checkpoints" / f"{model}-seed{seed}"
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
    if manager.latest_checkpoint:
        if not resume:
            raise FileExistsError(
                f"{directory} already holds checkpoints: add --resume to continue that run, or "
                "delete the folder to start from step 0."
            )
        checkpoint.restore(manager.latest_checkpoint).assert_consumed()
    start = int(gan.d_optimizer.iterations)  # 0, unless restored
    mnist = load_mnist()
    arrays = [to_model_range(mnist.x_train), mnist.y_train.astype(np.int32)][: 1 + spec.conditional]
    history = StepHistory()
    saver = CheckpointEvery(manager, checkpoint_every, start, seconds)
    if start < steps:
        data = batches(arrays, spec.batch_size, seed, start, steps)
        # shuffle=False: the batches are already shuffled by (seed, epoch).
        gan.fit(data, epochs=1, shuffle=False, callbacks=[average, saver, history])
    record = {
        "model": model,
        "description": spec.description,
        "seed": seed,
        "steps": steps,
        "batch_size": spec.batch_size,
        "real_label": spec.real_label,
        "average_decay": spec.average_decay,
        "learning_rate": spec.learning_rate,
        "resumed_from_step": start or None,
        "training_seconds": round(saver.total_seconds(), 1),
        "machine": _machine(),
        "history_every": HISTORY_EVERY,
        "history": {
            k: [round(v, 4) for v in vs[::HISTORY_EVERY]] for k, vs in history.history.items()
        },
    }
    return gan, average, record


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def save(
    record: dict[str, Any],
    generator: keras.Model,
    discriminator: keras.Model | None = None,
    out: Path | None = None,
) -> None:
    """Write the record and the models given, each file replaced atomically."""
    name = record["model"]
    for role, network in (("generator", generator), ("discriminator", discriminator)):
        if network is not None:
            replace_atomically(model_path(name, role, out), network.save)
    text = json.dumps(record, indent=1) + "\n"
    replace_atomically(record_path(name, out), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _evaluate(record: dict[str, Any], generator: keras.Model, out: Path | None) -> None:
    """Score ``generator`` into the saved ``record`` (as plain JSON values); print the scores."""
    from gan_helpers.evaluation import evaluate_generator, format_report

    # The seed notebook 10 scores with, so that the record and the notebook agree.
    scores = evaluate_generator(generator, n_samples=EVALUATION_SAMPLES, seed=SEED)
    record["evaluation"] = {k: np.asarray(v).tolist() for k, v in scores.items()}
    save(record, generator=None, out=out)
    print(format_report(record["evaluation"]))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="train exactly STEPS steps (default: as shipped)")
    length.add_argument("--epochs", type=int, help="train EPOCHS passes over the 60,000 digits")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write here instead of data/pretrained/")
    parser.add_argument("--checkpoint-every", type=int, default=1000, metavar="STEPS")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    parser.add_argument("--no-evaluate", action="store_true", help="skip the evaluation")
    parser.add_argument(
        "--evaluate-only", action="store_true", help="score the saved generator, train nothing"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train a model and ship it under ``data/pretrained`` (or ``--out``)."""
    parser = _parser()
    args = parser.parse_args(argv)
    spec = MODELS[args.model]
    if args.checkpoint_every < 0:
        parser.error(f"--checkpoint-every must be 0 or more, got {args.checkpoint_every}")
    if args.resume and args.checkpoint_every == 0:
        parser.error("--resume needs checkpoints; leave out --checkpoint-every 0")
    if args.evaluate_only:
        if args.no_evaluate or args.resume:
            parser.error("--evaluate-only trains nothing: leave out --no-evaluate and --resume")
        try:
            generator = load_model_file(model_path(args.model, "generator", args.out), "generator")
            record = json.loads(record_path(args.model, args.out).read_text(encoding="utf-8"))
        except (OSError, PretrainedWeightsError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        _evaluate(record, generator, args.out)
        return 0
    steps = spec.steps if args.steps is None else args.steps
    if args.epochs is not None:
        steps = args.epochs * (60_000 // spec.batch_size)
    if steps < 1:
        parser.error(f"--steps and --epochs must be at least 1, got {steps} steps")
    try:
        gan, average, record = train(
            args.model,
            steps=steps,
            seed=args.seed,
            out=args.out,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
        )
    except (TrainingDivergedError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    record["command"] = f"{COMMAND} --model {args.model} --steps {steps} --seed {args.seed}"
    save(record, average.average, gan.discriminator, args.out)
    if not args.no_evaluate:
        _evaluate(record, average.average, args.out)
    print(f"trained {steps} steps; saved to {args.out or pretrained_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
