"""Adversarial training: one step, and a loop with a progress bar and a history.

A step follows the seeds: the discriminator learns from a batch that is half real
digits (label 1) and half generated ones (label 0); then the generator learns through
the frozen composite, from latent vectors labelled 1, i.e. "make the discriminator call
these real". Both updates run inside one compiled ``tf.function``, and one generator
pass serves both: the fakes the discriminator learns from are the first half of the
images the generator is then scored on, so the step runs the costly generator forward
once instead of twice.

``GANTrainer.fit`` can write checkpoints (``checkpoint_dir=``) and continue from the newest
good one (``resume=True``): an interrupted run, resumed, ends with the same weights bit for
bit as a run that was never interrupted. A loss that stops being a finite number ends
training with :class:`TrainingDivergedError` and leaves the last good checkpoint alone.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from gan_helpers import checkpoints, models
from gan_helpers.checkpoints import CheckpointError, CheckpointMismatchError
from gan_helpers.models import build_composite
from gan_helpers.reproducibility import DEFAULT_SEED

METRIC_NAMES = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_real_mean", "d_fake_mean")

# What a checkpoint must agree on with the call that resumes from it: anything else would
# continue a different run. Learning rates are deliberately not in this list (see fit).
_RUN_KEYS = (
    "batch_size",
    "seed",
    "n_images",
    "images_sha256",
    "steps_per_epoch",
    "real_label",
    "ema_decay",
    "labels_sha256",
)


class TrainingDivergedError(RuntimeError):
    """A loss or a weight stopped being a finite number; the message says where and what to try.

    ``step`` counts from 0 like ``on_step``; ``checkpoint`` is the last good checkpoint of the
    run, if any, which was left untouched.
    """

    def __init__(self, message: str, *, step: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint


def seed_optimizer(learning_rate: float = 2e-4, beta_1: float = 0.5) -> keras.Optimizer:
    """Adam as the seeds (and the DCGAN paper) set it: a small step, short momentum."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)


@dataclass
class History:
    """Per-step training record.

    Losses of both players, the discriminator's accuracy on the real and the fake half of
    its batch, and its mean output on each half: D(x) on real digits, D(G(z)) on fakes.
    """

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_acc_real: list[float] = field(default_factory=list)
    d_acc_fake: list[float] = field(default_factory=list)
    d_real_mean: list[float] = field(default_factory=list)
    d_fake_mean: list[float] = field(default_factory=list)

    def append(self, metrics: dict[str, float]) -> None:
        """Add one step's metrics (a dict with the keys of :data:`METRIC_NAMES`)."""
        for name in METRIC_NAMES:
            getattr(self, name).append(float(metrics[name]))

    def as_dict(self) -> dict[str, list[float]]:
        """The record as plain lists, ready for JSON."""
        return asdict(self)

    def __len__(self) -> int:
        return len(self.d_loss)


class GANTrainer:
    """Trains a generator and a discriminator against each other.

    ``batch_size`` counts the images of one discriminator update: half real, half fake.
    The generator update uses ``batch_size`` latent vectors, as in the seeds.
    ``real_label`` below 1 (e.g. 0.9) is one-sided label smoothing: the discriminator is
    asked for "90 % real" on real digits, which keeps it from growing overconfident and
    starving the generator of gradient. Fakes keep the label 0.
    ``ema_decay`` (e.g. 0.99, about the last hundred steps) also keeps ``ema_generator``, an
    exponential moving average of the generator's weights: the players circle each other, and
    the average of the generator's recent states draws cleaner digits than any single one. A
    longer average (0.999) draws smoother digits, nearer the training set (docs/benchmarks.md).
    ``jit_compile=True`` compiles the step with XLA, which fuses its many small operations into
    a few: the same computation up to round-off, 1.25 to 1.45 times the steps per second for
    the dense GANs on a 2-core CPU, but slower for the convolutional ones (docs/benchmarks.md).
    """

    # How many different labels fit must be given, one per image (a conditional GAN's
    # digits); 0: none, the GAN learns from the images alone.
    label_classes = 0

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        d_optimizer: keras.Optimizer | None = None,
        g_optimizer: keras.Optimizer | None = None,
        real_label: float = 1.0,
        ema_decay: float | None = None,
        jit_compile: bool = False,
    ) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.composite = build_composite(generator, discriminator)
        self.latent_dim: int = generator.input_shape[-1]
        self.real_label = real_label
        self.d_optimizer = d_optimizer or seed_optimizer()
        self.g_optimizer = g_optimizer or seed_optimizer()
        # Built eagerly: creating optimizer slots inside the traced step is fragile.
        self.d_optimizer.build(discriminator.trainable_variables)
        self.g_optimizer.build(self.composite.trainable_variables)
        self._bce = keras.losses.BinaryCrossentropy()
        self.ema_decay = ema_decay
        self.ema_generator: keras.Model | None = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self._compiled_step = tf.function(self._step, jit_compile=jit_compile)
        # Set by fit: the step a resumed run started from (None: from scratch), and the
        # training wall time including what came before a resume.
        self.resumed_from_step: int | None = None
        self.training_seconds: float = 0.0

    def _step(
        self, real_images: tf.Tensor, latent: tf.Tensor, real_labels: tf.Tensor | None
    ) -> dict[str, tf.Tensor]:
        n_real = tf.shape(real_images)[0]
        # One generator pass, recorded for the generator's update; its first n_real images
        # are also the discriminator's fakes. stop_gradient: the discriminator's loss must
        # not reach the generator.
        with tf.GradientTape() as g_tape:
            fake_images = self.generator(latent, training=True)
            with tf.GradientTape() as d_tape:
                images = tf.concat([real_images, tf.stop_gradient(fake_images[:n_real])], 0)
                predictions, d_loss = self._discriminator_loss(images, n_real, latent, real_labels)
            weights = self.discriminator.trainable_weights
            self.d_optimizer.apply(d_tape.gradient(d_loss, weights), weights)
            # The second half of the composite: the updated, frozen discriminator's verdict.
            g_loss = self._generator_loss(fake_images, latent)
        weights = self.composite.trainable_weights
        self.g_optimizer.apply(g_tape.gradient(g_loss, weights), weights)

        if self.ema_generator is not None:
            # Batch-norm statistics are averaged too: they belong to the averaged state.
            for average, current in zip(
                self.ema_generator.weights, self.generator.weights, strict=True
            ):
                average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * current)

        said_real = tf.cast(predictions > 0.5, tf.float32)
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_acc_real": tf.reduce_mean(said_real[:n_real]),
            "d_acc_fake": 1.0 - tf.reduce_mean(said_real[n_real:]),
            "d_real_mean": tf.reduce_mean(predictions[:n_real]),
            "d_fake_mean": tf.reduce_mean(predictions[n_real:]),
        }

    def _discriminator_loss(
        self,
        images: tf.Tensor,
        n_real: tf.Tensor,
        latent: tf.Tensor,
        real_labels: tf.Tensor | None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """The discriminator's "real" probabilities for ``images`` (real first) and its loss.

        ``real_labels``, the digits of the real images, is None unless ``label_classes``.
        """
        predictions = self.discriminator(images, training=True)
        return predictions, self._bce(self._discriminator_labels(n_real), predictions)

    def _discriminator_labels(self, n_real: tf.Tensor) -> tf.Tensor:
        """``real_label`` for the first ``n_real`` images (real), 0 for the rest (fake)."""
        real_labels = tf.fill((n_real, 1), self.real_label)
        return tf.concat([real_labels, tf.zeros((n_real, 1))], axis=0)

    def _generator_loss(self, fake_images: tf.Tensor, latent: tf.Tensor) -> tf.Tensor:
        """The generator's loss: the discriminator should call every fake real."""
        verdict = self.discriminator(fake_images, training=True)
        return self._bce(tf.ones_like(verdict), verdict)

    def train_step(
        self,
        real_images: np.ndarray,
        rng: np.random.Generator,
        real_labels: np.ndarray | None = None,
    ) -> dict[str, float]:
        """One discriminator update then one generator update; returns the step's metrics.

        ``real_images`` is (n, 28, 28, 1) in [-1, 1]. ``2 n`` latent vectors are drawn; the
        generator draws their images once: the first ``n`` are the discriminator's fakes,
        and all ``2 n`` are scored by the updated discriminator for the generator's update.
        ``real_labels`` (n whole numbers, the digits of ``real_images``) is needed by
        conditional trainers (``label_classes`` above 0) and ignored by the others.
        """
        n = len(real_images)
        latent = rng.standard_normal((2 * n, self.latent_dim), dtype=np.float32)
        if not self.label_classes:
            real_labels = None
        elif real_labels is None:
            raise ValueError(f"{type(self).__name__} needs the digit of each real image.")
        metrics = self._compiled_step(real_images, latent, real_labels)
        return {name: float(value) for name, value in metrics.items()}

    def fit(
        self,
        images: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int = 256,
        seed: int = DEFAULT_SEED,
        progress: bool = True,
        max_seconds: float | None = None,
        on_step: Callable[[int, dict[str, float]], None] | None = None,
        checkpoint_dir: Path | str | None = None,
        checkpoint_every: int = 500,
        keep_checkpoints: int = 3,
        resume: bool = False,
    ) -> History:
        """Train for ``epochs`` passes over ``images`` or for exactly ``steps`` steps.

        Each epoch visits the images in a fresh random order, ``batch_size // 2`` real
        images per step (the other half of the discriminator's batch is fake). ``seed``
        fixes that order and every latent vector drawn, so on one machine the same seed,
        the same starting weights and the same data give the same result bit for bit.
        ``max_seconds`` stops early once that much wall-clock time has passed (for
        benchmarks that compare recipes at equal training time). ``on_step(step, metrics)``
        is called after every step (``step`` counts from 0), e.g. to keep snapshots.

        Checkpoints: with a ``checkpoint_dir`` (e.g.
        ``checkpoints.default_checkpoint_dir("my-run")``), the whole training state is saved
        every ``checkpoint_every`` steps and at the end, and the newest ``keep_checkpoints``
        are kept. ``resume=True`` continues from the newest good checkpoint there (or starts
        from step 0 if the folder has none yet): call ``fit`` again with the same images,
        ``batch_size``, ``seed`` and target (``epochs``/``steps``; a larger target trains
        further). The result is the same, bit for bit, as an uninterrupted run. Damaged
        checkpoints are skipped with a warning. The learning rates are taken from this
        trainer's optimizers, not the checkpoint, so a diverged run can be resumed with a
        lower one (with a warning: that run then differs from the original). Without
        ``resume``, a ``checkpoint_dir`` that already holds checkpoints is refused, so two
        runs never mix. ``self.resumed_from_step`` tells where training started (None: from
        scratch); ``self.training_seconds`` is the wall time of the run including the time
        before a resume.

        ``labels`` holds the digit (0-9) of each image. A conditional trainer
        (``label_classes`` above 0, e.g. :class:`ConditionalGANTrainer`) requires them; the others
        ignore them, so a caller can pass them whatever the recipe.

        Returns the history of every step of the run, including steps before a resume.
        Raises :class:`TrainingDivergedError` when a loss or a weight becomes NaN or
        infinite, ValueError/TypeError for bad arguments or images, and
        :class:`~gan_helpers.checkpoints.CheckpointError` subclasses for checkpoint problems.
        """
        if (epochs is None) == (steps is None):
            raise ValueError("Give exactly one of epochs= or steps=.")
        for name, value in (("steps", steps), ("epochs", epochs), ("batch_size", batch_size)):
            if value is not None:
                _require_whole_number(name, value)
        images = self._checked_images(images)
        labels = self._checked_labels(labels, len(images)) if self.label_classes else None
        n_real = batch_size // 2
        if n_real < 1 or n_real > len(images):
            raise ValueError(
                f"batch_size={batch_size} needs between 2 and {2 * len(images)} "
                f"for {len(images)} training images."
            )
        steps_per_epoch = len(images) // n_real
        if steps is not None and steps < 1:
            raise ValueError(f"steps={steps}: nothing to train. Ask for at least one step.")
        if epochs is not None and epochs < 1:
            raise ValueError(f"epochs={epochs}: nothing to train. Ask for at least one epoch.")
        total = steps if steps is not None else epochs * steps_per_epoch
        if checkpoint_dir is None:
            if resume:
                raise ValueError("resume=True needs the checkpoint_dir= to resume from.")
        else:
            checkpoint_dir = Path(checkpoint_dir)
            _require_whole_number("seed", seed)
            _require_whole_number("checkpoint_every", checkpoint_every)
            _require_whole_number("keep_checkpoints", keep_checkpoints)
            if checkpoint_every < 1:
                raise ValueError(
                    f"checkpoint_every={checkpoint_every}: give a positive number of steps "
                    "between checkpoints (or no checkpoint_dir for none)."
                )
            if keep_checkpoints < 1:
                raise ValueError(f"keep_checkpoints={keep_checkpoints}: keep at least one.")

        started = time.perf_counter()
        rng = np.random.default_rng(seed)
        history = History()
        run = None
        if checkpoint_dir is not None:
            run = {
                "batch_size": int(batch_size),
                "seed": int(seed),
                "n_images": len(images),
                "images_sha256": hashlib.sha256(np.ascontiguousarray(images).data).hexdigest(),
                "labels_sha256": None
                if labels is None
                else hashlib.sha256(labels.data).hexdigest(),
                "steps_per_epoch": steps_per_epoch,
                "real_label": self.real_label,
                "ema_decay": self.ema_decay,
            }
        start, order, seconds_before = 0, None, 0.0
        self.resumed_from_step = None
        last_good: Path | None = None
        if checkpoint_dir is not None and resume:
            checkpoint = checkpoints.load_latest_checkpoint(checkpoint_dir)
            if checkpoint is not None:
                order, seconds_before = self._restore(checkpoint, run, total, rng, history)
                start = self.resumed_from_step = checkpoint.step
                last_good = checkpoint.path
        elif checkpoint_dir is not None and checkpoints.list_checkpoints(checkpoint_dir):
            newest = checkpoints.list_checkpoints(checkpoint_dir)[-1][1]
            raise CheckpointError(
                f"{checkpoint_dir} already holds checkpoints of a run (newest: {newest.name}). "
                "Pass resume=True (--resume on the command line) to continue it, or delete "
                "that folder or choose another checkpoint_dir to start again from step 0."
            )
        if order is None:
            order = rng.permutation(len(images))

        def save(done: int, order: np.ndarray, last_good: Path | None) -> Path:
            elapsed = seconds_before + time.perf_counter() - started
            return self._save(
                checkpoint_dir, done, run, total, rng, order, history, elapsed,
                keep_checkpoints, last_good,
            )  # fmt: skip

        bar = tqdm(total=total, initial=start, desc="training", unit="step", disable=not progress)
        done = start
        for step in range(start, total):
            position = step % steps_per_epoch
            if step and position == 0:
                order = rng.permutation(len(images))
            picked = order[position * n_real : (position + 1) * n_real]
            metrics = self.train_step(
                images[picked], rng, None if labels is None else labels[picked]
            )
            if not all(math.isfinite(value) for value in metrics.values()):
                raise TrainingDivergedError(
                    _diverged_message(step, metrics, last_good), step=step, checkpoint=last_good
                )
            history.append(metrics)
            done = step + 1
            if checkpoint_dir is not None and done % checkpoint_every == 0:
                last_good = save(done, order, last_good)
            if on_step is not None:
                on_step(step, metrics)
            bar.update()
            if step % 10 == 0 or step == total - 1:
                bar.set_postfix({name: f"{metrics[name]:.3f}" for name in ("d_loss", "g_loss")})
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
        bar.close()
        if checkpoint_dir is not None and done != start and done % checkpoint_every != 0:
            last_good = save(done, order, last_good)
        self.training_seconds = seconds_before + time.perf_counter() - started
        return history

    def _groups(self) -> dict[str, list[keras.Variable]]:
        """Every variable of the training state, in a fixed order, by group.

        ``model.variables`` includes what ``model.weights`` leaves out: the state of the
        random seed generators that drive dropout. Without it a resumed run would drop
        different units than an uninterrupted one.
        """
        groups = {
            "generator": list(self.generator.variables),
            "discriminator": list(self.discriminator.variables),
            "d_optimizer": list(self.d_optimizer.variables),
            "g_optimizer": list(self.g_optimizer.variables),
        }
        if self.ema_generator is not None:
            groups["ema_generator"] = list(self.ema_generator.variables)
        return groups

    def _save(
        self,
        directory: Path,
        done: int,
        run: dict[str, Any],
        total: int,
        rng: np.random.Generator,
        order: np.ndarray,
        history: History,
        seconds: float,
        keep: int,
        last_good: Path | None,
    ) -> Path:
        arrays: dict[str, np.ndarray] = {}
        layout: dict[str, list[list[Any]]] = {}
        for group, variables in self._groups().items():
            layout[group] = []
            for index, variable in enumerate(variables):
                value = np.asarray(variable.numpy())
                if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
                    where = f"{group} variable {variable.path}"
                    raise TrainingDivergedError(
                        _diverged_message(done - 1, None, last_good, where=where),
                        step=done - 1,
                        checkpoint=last_good,
                    )
                arrays[f"{group}.{index:04d}"] = value
                layout[group].append([variable.path, list(value.shape), str(value.dtype)])
        arrays["order"] = np.asarray(order, dtype=np.int64)
        for name, values in history.as_dict().items():
            arrays[f"history.{name}"] = np.asarray(values, dtype=np.float64)
        meta = {
            "run": run,
            "target_steps": total,
            "epoch": done // run["steps_per_epoch"],
            "position_in_epoch": done % run["steps_per_epoch"],
            "rng_state": rng.bit_generator.state,
            "layout": layout,
            "learning_rates": {
                "d_optimizer": _learning_rate(self.d_optimizer),
                "g_optimizer": _learning_rate(self.g_optimizer),
            },
            "training_seconds": round(seconds, 3),
            "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
        }
        return checkpoints.save_checkpoint(directory, done, arrays, meta, keep=keep)

    def _restore(
        self,
        checkpoint: checkpoints.Checkpoint,
        run: dict[str, Any],
        total: int,
        rng: np.random.Generator,
        history: History,
    ) -> tuple[np.ndarray, float]:
        """Load ``checkpoint`` into this trainer; returns the epoch order and seconds so far.

        Everything is checked before anything is assigned, so a mismatch leaves the
        trainer as it was.
        """
        where = checkpoint.path
        meta = checkpoint.meta
        try:
            saved_run, layout = meta["run"], meta["layout"]
            rng_state = meta["rng_state"]
        except KeyError as missing:
            raise CheckpointMismatchError(
                f"{where} lacks {missing} in its metadata: not written by GANTrainer.fit."
            ) from None
        differences = [
            f"{key}={saved_run.get(key)!r} there, {run[key]!r} now"
            for key in _RUN_KEYS
            if saved_run.get(key) != run[key]
        ]
        if differences:
            raise CheckpointMismatchError(
                f"{where} belongs to another run: {'; '.join(differences)}. Resume with the "
                "same images, batch_size, seed and trainer settings, or use another "
                "checkpoint_dir to start a new run."
            )
        if checkpoint.step > total:
            raise CheckpointMismatchError(
                f"{where} is already at step {checkpoint.step}, past the {total} steps asked "
                "for. Ask for at least as many steps (or epochs) as the checkpoint has done."
            )
        groups = self._groups()
        if set(layout) != set(groups):
            raise CheckpointMismatchError(
                f"{where} holds the state of {sorted(layout)}, this trainer has "
                f"{sorted(groups)} (an averaged generator needs the same ema_decay setting)."
            )
        assignments = []
        for group, variables in groups.items():
            if len(layout[group]) != len(variables):
                raise CheckpointMismatchError(
                    f"{where} holds {len(layout[group])} {group} variables, this trainer has "
                    f"{len(variables)}: the checkpoint was written for another architecture."
                )
            for index, variable in enumerate(variables):
                value = checkpoint.arrays.get(f"{group}.{index:04d}")
                wanted = (tuple(variable.shape), np.dtype(variable.dtype))
                if value is None or (value.shape, value.dtype) != wanted:
                    found = None if value is None else (value.shape, str(value.dtype))
                    raise CheckpointMismatchError(
                        f"{where}: {group} variable {variable.path} should be {wanted[0]} "
                        f"{wanted[1]}, the checkpoint has {found}: it was written for another "
                        "architecture."
                    )
                assignments.append((group, variable, value))
        order = checkpoint.arrays.get("order")
        if order is None or sorted(order.tolist()) != list(range(run["n_images"])):
            raise CheckpointMismatchError(f"{where} holds no valid shuffling order.")
        history_arrays = [checkpoint.arrays.get(f"history.{name}") for name in METRIC_NAMES]
        if any(a is None or len(a) != checkpoint.step for a in history_arrays):
            raise CheckpointMismatchError(f"{where} holds an incomplete training history.")

        for group, variable, value in assignments:
            optimizer = getattr(self, group, None)
            if isinstance(optimizer, keras.Optimizer) and variable is optimizer.learning_rate:
                # A setting, not state: keep this trainer's, and say when they differ.
                if not np.array_equal(np.asarray(variable.numpy()), value):
                    warnings.warn(
                        f"{group} learning rate is {float(variable.numpy()):g} here, "
                        f"{float(value):g} in {where.name}; continuing with "
                        f"{float(variable.numpy()):g}, so this run will differ from one "
                        "that was never interrupted.",
                        stacklevel=3,
                    )
                continue
            variable.assign(value)
        rng.bit_generator.state = rng_state
        for name, values in zip(METRIC_NAMES, history_arrays, strict=True):
            getattr(history, name).extend(float(v) for v in values)
        return order, float(meta.get("training_seconds", 0.0))

    def _checked_images(self, images: np.ndarray) -> np.ndarray:
        """``images`` as float32, after checking shape, dtype, finiteness and range."""
        array = np.asarray(images)
        expected = tuple(self.discriminator.input_shape[1:])
        if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected:
            raise ValueError(
                f"images should have shape (n, {', '.join(map(str, expected))}), the "
                f"discriminator's input; got {array.shape}."
            )
        if len(array) == 0:
            raise ValueError("images is empty: there is nothing to train on.")
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(
                f"images have dtype {array.dtype}; the models expect floats in [-1, 1]. "
                "Scale uint8 digits with gan_helpers.data.to_model_range."
            )
        array = np.asarray(array, dtype=np.float32)
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"images contain {int(np.sum(~np.isfinite(array)))} NaN or infinite values; "
                "training on them would make every weight NaN. Check how they were loaded."
            )
        low, high = float(array.min()), float(array.max())
        if low < -1.0 - 1e-5 or high > 1.0 + 1e-5:
            raise ValueError(
                f"images range over [{low:g}, {high:g}]; the models expect [-1, 1] (the "
                "generator ends in tanh). Scale them with gan_helpers.data.to_model_range."
            )
        return array

    def _checked_labels(self, labels: np.ndarray | None, n_images: int) -> np.ndarray:
        """``labels`` as int32, after checking there is one whole number in range per image."""
        if labels is None:
            raise ValueError(
                f"{type(self).__name__} learns which digit each image is: pass fit the "
                "labels too, e.g. fit(images, gan_helpers.data.training_labels(), ...)."
            )
        array = np.asarray(labels)
        if array.shape != (n_images,):
            raise ValueError(
                f"labels should have shape ({n_images},), one digit per image; got {array.shape}."
            )
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"labels have dtype {array.dtype}; give whole numbers (digits).")
        if array.min() < 0 or array.max() >= self.label_classes:
            raise ValueError(
                f"labels range over [{array.min()}, {array.max()}]; this discriminator knows "
                f"the digits 0 to {self.label_classes - 1}."
            )
        return np.ascontiguousarray(array, dtype=np.int32)


class InfoGANTrainer(GANTrainer):
    """:class:`GANTrainer` for a generator with a category code (InfoGAN, Chen et al. 2016).

    The generator reads a category from each latent vector
    (:class:`~gan_helpers.models.CategoricalCode`); the discriminator has a second head that
    guesses, from a fake alone, which category drew it
    (:func:`~gan_helpers.models.build_info_discriminator`). Both players add that head's
    cross-entropy, times ``info_weight``, to their loss: the discriminator learns to read
    the category, and the generator learns to draw each category so that it can be read.
    Nothing tells either which digit is which; the categories become digits because that
    is the easiest way to keep ten groups of drawings apart. The recorded ``d_loss`` and
    ``g_loss`` include the category term. Everything else (one shared generator pass, the
    frozen composite, the average, checkpoints) is :class:`GANTrainer`'s.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        info_weight: float = 1.0,
        **settings: Any,
    ) -> None:
        self._code = models.categorical_code_of(generator)
        heads = len(discriminator.outputs)
        if self._code is None or heads != 2:
            raise ValueError(
                "InfoGANTrainer needs a generator with a CategoricalCode layer and a "
                f"discriminator with two outputs; got {models.categories_of(generator)} "
                "categories and "
                f"{heads} output(s). Build them with models.build_info_generator and "
                "models.build_info_discriminator."
            )
        self.info_weight = info_weight
        self._category_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        super().__init__(generator, discriminator, **settings)

    def _discriminator_loss(
        self,
        images: tf.Tensor,
        n_real: tf.Tensor,
        latent: tf.Tensor,
        real_labels: tf.Tensor | None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        predictions, category_logits = self.discriminator(images, training=True)
        labels = self._discriminator_labels(n_real)
        # Only the fakes have a category to guess: the first n_real latent vectors drew them.
        guess_loss = self._category_loss(
            self._code.category(latent[:n_real]), category_logits[n_real:]
        )
        return predictions, self._bce(labels, predictions) + self.info_weight * guess_loss

    def _generator_loss(self, fake_images: tf.Tensor, latent: tf.Tensor) -> tf.Tensor:
        verdict, category_logits = self.discriminator(fake_images, training=True)
        guess_loss = self._category_loss(self._code.category(latent), category_logits)
        return self._bce(tf.ones_like(verdict), verdict) + self.info_weight * guess_loss


class ConditionalGANTrainer(GANTrainer):
    """:class:`GANTrainer` for a conditional GAN: both players are told which digit is meant.

    The generator reads the digit to draw from its latent vector
    (:class:`~gan_helpers.models.CategoricalCode`: category ``k`` means the digit ``k``).
    The discriminator, built by :func:`~gan_helpers.models.build_projection_discriminator`,
    judges "is this a real ``k``?": for a real image ``k`` is its label (``fit``'s
    ``labels``), for a fake the category that drew it, and its logit is
    :func:`~gan_helpers.models.conditional_logit`. A fake 3 that looks like a fine 8 is then
    caught, so the generator must draw each digit it is asked for, and every digit is drawn
    equally often. The losses are the usual binary cross-entropies (computed from logits,
    with ``real_label`` smoothing); everything else (one shared generator pass, the frozen
    composite, the average, checkpoints) is :class:`GANTrainer`'s.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, **settings: Any) -> None:
        self._code = models.categorical_code_of(generator)
        outputs = discriminator.outputs
        if self._code is None or len(outputs) != 2 or outputs[1].shape[-1] != self._code.categories:
            raise ValueError(
                "ConditionalGANTrainer needs a generator with a CategoricalCode layer and a "
                "projection discriminator with one logit per category; got "
                f"{models.categories_of(generator)} categories and outputs of shapes "
                f"{[tuple(o.shape) for o in outputs]}. Build them with "
                "models.build_conditional_generator and models.build_projection_discriminator."
            )
        super().__init__(generator, discriminator, **settings)
        self.label_classes = self._code.categories
        self._bce_logits = keras.losses.BinaryCrossentropy(from_logits=True)

    def _discriminator_loss(
        self,
        images: tf.Tensor,
        n_real: tf.Tensor,
        latent: tf.Tensor,
        real_labels: tf.Tensor | None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        # Real digits are judged as their label, the fakes as the category that drew them.
        fake_digits = self._code.category(latent[:n_real])
        digits = tf.concat([tf.cast(real_labels, tf.int32), tf.cast(fake_digits, tf.int32)], 0)
        logits = models.conditional_logit(self.discriminator(images, training=True), digits)
        labels = self._discriminator_labels(n_real)[:, 0]
        return tf.sigmoid(logits)[:, None], self._bce_logits(labels, logits)

    def _generator_loss(self, fake_images: tf.Tensor, latent: tf.Tensor) -> tf.Tensor:
        digits = self._code.category(latent)
        logits = models.conditional_logit(self.discriminator(fake_images, training=True), digits)
        return self._bce_logits(tf.ones_like(logits), logits)


def _require_whole_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a whole number, got {value!r}.")


def _learning_rate(optimizer: keras.Optimizer) -> float | None:
    rate = optimizer.learning_rate
    try:
        return float(np.asarray(rate.numpy() if hasattr(rate, "numpy") else rate))
    except (TypeError, ValueError):  # a schedule
        return None


def _diverged_message(
    step: int,
    metrics: dict[str, float] | None,
    last_good: Path | None,
    *,
    where: str | None = None,
) -> str:
    if metrics is not None:
        values = ", ".join(f"{name}={value:.4g}" for name, value in metrics.items())
        what = f"a loss became NaN or infinite at step {step} (counting from 0): {values}"
    else:
        what = f"{where} became NaN or infinite at step {step} (counting from 0)"
    kept = (
        f"The last good checkpoint, {last_good}, was kept; resume=True continues from it."
        if last_good is not None
        else "No checkpoint of this run was saved before (pass checkpoint_dir= to keep some)."
    )
    return (
        f"Training diverged: {what}. The weights are no longer usable. {kept} What to try: "
        "a lower learning rate (e.g. half of it), and check that the images are scaled to "
        "[-1, 1] (gan_helpers.data.to_model_range) and contain no NaN."
    )


def flops_per_step(
    generator: keras.Model,
    discriminator: keras.Model,
    batch_size: int,
    *,
    separate_fake_pass: bool = False,
) -> float:
    """Floating-point operations of one adversarial step (2 per multiply-add).

    The discriminator trains on ``batch_size`` images (forward + backward, about 3 forward
    passes); the generator update runs ``batch_size`` latent vectors through generator and
    discriminator, forward and backward. ``separate_fake_pass=True`` counts the seeds' way,
    which draws the discriminator's ``batch_size / 2`` fakes with a generator pass of their
    own; :class:`GANTrainer` reuses its one generator pass instead. Counts dense and
    convolution layers only (:func:`models.multiply_adds`).
    """
    g_ops, d_ops = models.multiply_adds(generator), models.multiply_adds(discriminator)
    multiply_adds = 3 * batch_size * d_ops + 3 * batch_size * (g_ops + d_ops)
    if separate_fake_pass:
        multiply_adds += batch_size // 2 * g_ops
    return 2.0 * multiply_adds


@dataclass(frozen=True)
class Recipe:
    """Everything that defines a training run except its length and seed."""

    name: str
    build_generator: Callable[[], keras.Model]
    build_discriminator: Callable[[], keras.Model]
    batch_size: int
    d_learning_rate: float = 2e-4
    g_learning_rate: float = 2e-4
    real_label: float = 1.0
    ema_decay: float | None = None
    info_weight: float | None = None
    # A conditional GAN: the trainer learns from the digits' labels (ConditionalGANTrainer).
    conditional: bool = False
    # How the step is compiled, not what it computes, so it stays out of settings() and the
    # shipped records: XLA changes only the round-off, as another CPU does.
    jit_compile: bool = False
    description: str = ""

    def trainer(self) -> GANTrainer:
        """Fresh models and optimisers for this recipe, ready to ``fit``.

        An :class:`InfoGANTrainer` when the recipe has an ``info_weight``, a
        :class:`ConditionalGANTrainer` when it is ``conditional``.
        """
        settings: dict[str, Any] = {
            "d_optimizer": seed_optimizer(self.d_learning_rate),
            "g_optimizer": seed_optimizer(self.g_learning_rate),
            "real_label": self.real_label,
            "ema_decay": self.ema_decay,
            "jit_compile": self.jit_compile,
        }
        if self.info_weight is not None:
            settings["info_weight"] = self.info_weight
            return InfoGANTrainer(self.build_generator(), self.build_discriminator(), **settings)
        if self.conditional:
            return ConditionalGANTrainer(
                self.build_generator(), self.build_discriminator(), **settings
            )
        return GANTrainer(self.build_generator(), self.build_discriminator(), **settings)

    def settings(self) -> dict[str, object]:
        """The recipe as plain values, for JSON records."""
        return (
            {
                "name": self.name,
                "generator": self.build_generator.__name__,
                "discriminator": self.build_discriminator.__name__,
                "batch_size": self.batch_size,
                "d_learning_rate": self.d_learning_rate,
                "g_learning_rate": self.g_learning_rate,
                "real_label": self.real_label,
                "ema_decay": self.ema_decay,
            }
            | ({} if self.info_weight is None else {"info_weight": self.info_weight})
            | ({"conditional": True} if self.conditional else {})
        )


# The recipe the notebooks teach and the shipped models come from (docs/benchmarks.md says
# how it was chosen).
DEFAULT_RECIPE = "conditional"

RECIPES: dict[str, Recipe] = {
    "fast": Recipe(
        name="fast",
        build_generator=models.build_mlp_generator,
        build_discriminator=models.build_mlp_discriminator,
        batch_size=128,
        real_label=0.9,
        ema_decay=0.999,
        jit_compile=True,
        description=(
            "the second seed's dense GAN with one-sided label smoothing and an averaged "
            "generator; the fastest plain GAN measured on a 2-core CPU"
        ),
    ),
    "info": Recipe(
        name="info",
        build_generator=models.build_info_generator,
        build_discriminator=models.build_info_discriminator,
        batch_size=128,
        real_label=0.9,
        ema_decay=0.99,
        info_weight=1.0,
        jit_compile=True,
        description=(
            "the fast recipe plus InfoGAN's category code, ten latent categories and a "
            "discriminator head that must tell which one drew each fake, and a shorter weight "
            "average; no labels (the default until the conditional recipe)"
        ),
    ),
    "conditional": Recipe(
        name="conditional",
        build_generator=models.build_conditional_generator,
        build_discriminator=models.build_projection_discriminator,
        batch_size=128,
        real_label=0.9,
        # Chosen for the memorisation goal: longer averages draw digits nearer the training
        # set (docs/benchmarks.md).
        ema_decay=0.9,
        conditional=True,
        jit_compile=True,
        description=(
            "the tutorial's default: the fast recipe made conditional, the generator's latent "
            "category is the digit to draw and a projection discriminator judges each image as "
            "the digit its label (or its category) says; a short weight average"
        ),
    ),
    "seed": Recipe(
        name="seed",
        build_generator=models.build_dcgan_generator,
        build_discriminator=models.build_dcgan_discriminator,
        batch_size=256,
        description="the seed tutorial's DCGAN as published: batch 256, hard labels",
    ),
    "light-dcgan": Recipe(
        name="light-dcgan",
        build_generator=models.build_light_dcgan_generator,
        build_discriminator=models.build_light_dcgan_discriminator,
        batch_size=64,
        d_learning_rate=4e-4,
        g_learning_rate=4e-4,
        real_label=0.9,
        description="a tenth of the seed DCGAN's cost per image, batch-normalised generator",
    ),
    "mlp": Recipe(
        name="mlp",
        build_generator=models.build_mlp_generator,
        build_discriminator=models.build_mlp_discriminator,
        batch_size=128,
        jit_compile=True,
        description="the second seed's dense GAN as published: hard labels, no averaging",
    ),
}
