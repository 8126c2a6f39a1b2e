"""Training throughput: the seeds' train_on_batch loop against the project's compiled trainer.

For each recipe (the seed DCGAN at its batch of 256, then the default recipe), both ways of
training are run in the same process, interleaved in short blocks so that both see the same
machine state, and the script prints steps/s, images/s, the ratio, and the achieved GFLOP/s
against this machine's fp32 matrix-multiply peak, measured between the blocks too (a shared
machine's speed drifts, and a peak measured once at the start drifts with it). Both ways train
the same models on the same batches; the trainer's step reuses one generator pass for both
updates, so it does less work per step, and each way's GFLOP/s counts the work it does.

The project's seed generator computes its last layer with ``ShiftSumConv2D`` (same function,
faster on a CPU; see ``gan_helpers.fast_conv``). The seed loop runs the generator as the seed
published it (plain ``Conv2D``), and once more with the project's layer, so the table shows
what the trainer's step gains on its own and together with the layer. The trainer compiles its
step with XLA where the recipe says so (the dense ones); ``--compare-xla`` times it the other
way round too, interleaved with the rest, to show what XLA buys or costs each recipe.
Run: ``make bench-throughput``.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

import gan_helpers  # noqa: F401  (loads TensorFlow quietly)
from gan_helpers import models
from gan_helpers.data import load_mnist, training_images, training_labels
from gan_helpers.fast_conv import ShiftSumConv2D, with_plain_convolutions
from gan_helpers.training import DEFAULT_RECIPE, RECIPES, Recipe, flops_per_step, seed_optimizer


def matmul_peak_gflops(size: int = 2048, repeats: int = 20) -> float:
    """Best fp32 GFLOP/s of a square matrix product on this machine."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    tf.matmul(a, b).numpy()  # one product, eagerly: its call overhead is microseconds
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


class SeedLoop:
    """The seeds' training loop, with the composite that is correct on Keras 3.

    Fakes come from ``generator.predict``; the discriminator trains with
    ``train_on_batch`` on half real, half fake; the composite trains with
    ``train_on_batch`` on latent vectors labelled 1. For an InfoGAN recipe both models are
    compiled with a second loss, the category guess, weighted by ``info_weight`` as in
    :class:`~gan_helpers.training.InfoGANTrainer`. For a conditional recipe the
    discriminator is wrapped in a model that takes the digits too and returns the
    probability that each image is a real one of its digit, as
    :class:`~gan_helpers.training.ConditionalGANTrainer` computes it.
    """

    def __init__(self, recipe: Recipe, *, as_published: bool = True) -> None:
        self.generator = recipe.build_generator()
        if as_published:
            self.generator = with_plain_convolutions(self.generator)
        self.discriminator = recipe.build_discriminator()
        self.categories = models.categories_of(self.generator)
        self.conditional = recipe.conditional
        if self.conditional:
            self._compile_conditional(recipe)
        else:
            self._compile_unconditional(recipe)
        self.real_label = recipe.real_label
        self.latent_dim = self.generator.input_shape[-1]

    def _compile_unconditional(self, recipe: Recipe) -> None:
        losses: object = "binary_crossentropy"
        weights = None
        if self.categories:
            guess = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            losses, weights = ["binary_crossentropy", guess], [1.0, recipe.info_weight]
        self.discriminator.compile(
            seed_optimizer(recipe.d_learning_rate), losses, loss_weights=weights
        )
        self.composite = models.build_composite(self.generator, self.discriminator)
        self.composite.compile(seed_optimizer(recipe.g_learning_rate), losses, loss_weights=weights)

    def _compile_conditional(self, recipe: Recipe) -> None:
        image = keras.Input(models.IMAGE_SHAPE)
        digit = keras.Input((), dtype="int32")
        logit = models.conditional_logit(self.discriminator(image), digit)
        verdict = keras.layers.Activation("sigmoid")(keras.ops.expand_dims(logit, -1))
        self.judge = keras.Model([image, digit], verdict)
        self.judge.compile(seed_optimizer(recipe.d_learning_rate), "binary_crossentropy")
        self.composite = ConditionalComposite(self.generator, self.judge)
        self.composite.build((None, self.generator.input_shape[-1]))
        self.composite.compile(seed_optimizer(recipe.g_learning_rate), "binary_crossentropy")

    def train_step(
        self, real: np.ndarray, rng: np.random.Generator, digits: np.ndarray | None = None
    ) -> None:
        n = len(real)
        latent = rng.standard_normal((n, self.latent_dim), dtype=np.float32)
        fake = self.generator.predict(latent, verbose=0)
        labels = np.concatenate([np.full((n, 1), self.real_label), np.zeros((n, 1))])
        images, labels = np.concatenate([real, fake]), labels.astype(np.float32)
        if self.conditional:
            drew = models.latent_categories(latent, self.categories)
            self.judge.train_on_batch([images, np.concatenate([digits, drew])], labels)
        elif self.categories:
            # Only the fakes have a category to guess. Keras averages a weighted loss over
            # all 2n rows, so weight 2 on the n fakes gives the mean over the fakes.
            guessed = models.latent_categories(latent, self.categories)
            self.discriminator.train_on_batch(
                images,
                [labels, np.concatenate([guessed, guessed])],
                sample_weight=[np.ones(2 * n), np.repeat([0.0, 2.0], n)],
            )
        else:
            self.discriminator.train_on_batch(images, labels)
        latent = rng.standard_normal((2 * n, self.latent_dim), dtype=np.float32)
        real_targets = np.ones((2 * n, 1), np.float32)
        if self.categories and not self.conditional:
            categories = models.latent_categories(latent, self.categories)
            self.composite.train_on_batch(latent, [real_targets, categories])
        else:
            self.composite.train_on_batch(latent, real_targets)


class ConditionalComposite(models.FrozenDiscriminatorComposite):
    """The frozen composite for a conditional judge: the category that drew a fake is its digit."""

    def call(self, latent: keras.KerasTensor, training: bool | None = None) -> keras.KerasTensor:
        fakes = self.generator(latent, training=training)
        digits = models.categorical_code_of(self.generator).category(latent)
        return self.discriminator([fakes, digits], training=training)


# The name of the extra way of --compare-xla, by whether the recipe itself uses XLA.
TRAINER_OTHER_XLA = {True: "no XLA", False: "with XLA"}


def measure(
    recipe: Recipe,
    images: np.ndarray,
    labels: np.ndarray,
    rounds: int,
    block: int,
    compare_xla: bool = False,
) -> dict[str, float]:
    """Interleave blocks of seed-loop and trainer steps; median steps/s of each way.

    ``compare_xla`` adds the trainer with XLA the other way round from the recipe.
    """
    rng = np.random.default_rng(0)
    n = recipe.batch_size // 2
    trainer = recipe.trainer()
    runners = {"seed loop": SeedLoop(recipe).train_step}
    if any(isinstance(layer, ShiftSumConv2D) for layer in trainer.generator.layers):
        runners["loop+layer"] = SeedLoop(recipe, as_published=False).train_step
    runners["trainer"] = trainer.train_step
    if compare_xla:
        other = dataclasses.replace(recipe, jit_compile=not recipe.jit_compile).trainer()
        runners[TRAINER_OTHER_XLA[recipe.jit_compile]] = other.train_step
    rates: dict[str, list[float]] = {name: [] for name in runners}
    peaks = []

    def batches(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        picks = [rng.choice(len(images), n) for _ in range(count)]
        return [(images[pick], labels[pick]) for pick in picks]

    for step in runners.values():  # warm-up: tracing and first-call allocations
        for batch, digits in batches(3):
            step(batch, rng, digits)
    for _ in range(rounds):
        for name, step in runners.items():
            timed = batches(block)
            start = time.perf_counter()
            for batch, digits in timed:
                step(batch, rng, digits)
            rates[name].append(block / (time.perf_counter() - start))
        peaks.append(matmul_peak_gflops(repeats=5))
    # The best the machine did while this recipe trained: the strictest yardstick.
    result = {"peak": max(peaks)}
    for name, values in rates.items():
        result[name] = statistics.median(values)
        # The seed loop draws the discriminator's fakes with a generator pass of their own;
        # the trainer reuses its one pass, so each way is credited with the work it does.
        flops = flops_per_step(
            trainer.generator,
            trainer.discriminator,
            recipe.batch_size,
            separate_fake_pass=name in ("seed loop", "loop+layer"),
        )
        result[f"{name} gflop"] = flops / 1e9
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--recipes", nargs="+", default=["seed", DEFAULT_RECIPE], choices=sorted(RECIPES)
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds-per-block", type=float, default=4.0)
    parser.add_argument(
        "--compare-xla",
        action="store_true",
        help="also time the trainer with XLA the other way round from each recipe",
    )
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    mnist = load_mnist()
    images, labels = training_images(mnist), training_labels(mnist)
    with_xla = ", ".join(name for name in args.recipes if RECIPES[name].jit_compile) or "none"
    print(f"the trainer compiles its step with XLA for: {with_xla}")
    print(
        f"fp32 matmul peak on this machine at the start: {matmul_peak_gflops():.0f} GFLOP/s "
        f"({tf.__version__}, "
        f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'} threads)"
    )
    print()
    header = (
        f"{'recipe':12} {'batch':>5} {'GFLOP/step':>10} {'way':>10} {'steps/s':>8} "
        f"{'images/s':>9} {'GFLOP/s':>8} {'peak':>5} {'% peak':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for name in args.recipes:
        recipe = RECIPES[name]
        # Blocks long enough to time well, short enough to interleave several times.
        probe = measure(recipe, images, labels, rounds=1, block=2)
        block = max(2, int(args.seconds_per_block * probe["trainer"]))
        result = measure(recipe, images, labels, args.rounds, block, compare_xla=args.compare_xla)
        extra = list(TRAINER_OTHER_XLA.values())
        ways = [way for way in ("seed loop", "loop+layer", "trainer", *extra) if way in result]
        for way in ways:
            steps = result[way]
            gflop = result[f"{way} gflop"]
            achieved = steps * gflop
            # Each faster way against the seed loop as published.
            ratio = f"{steps / result['seed loop']:.2f}x" if way != "seed loop" else ""
            print(
                f"{name:12} {recipe.batch_size:>5} {gflop:>10.2f} {way:>10} "
                f"{steps:>8.2f} {steps * recipe.batch_size:>9.0f} {achieved:>8.1f} "
                f"{result['peak']:>5.0f} {100 * achieved / result['peak']:>6.1f}% {ratio:>6}"
            )
    print()
    print(
        "seed loop: the seeds' loop and models as published; loop+layer: the same loop with "
        "the project's ShiftSumConv2D; trainer: the project's compiled step (and layer), with "
        "XLA for the recipes named above; no XLA / with XLA: the trainer the other way round "
        "(--compare-xla). ratio: steps/s against the seed loop. peak: the best fp32 matmul "
        "GFLOP/s measured between this recipe's blocks; % peak is against it."
    )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print()
    print(f"peak memory of this process (max RSS): {peak_rss:.2f} GiB")


if __name__ == "__main__":
    main()
