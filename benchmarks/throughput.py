"""Training speed of the shipped models: notebook 6's loop against GAN.fit, with and without XLA.

For each model (``dcgan``, then ``cdcgan``) three ways of training the same networks are timed:

- ``loop``: notebook 6's Brownlee-style loop in Python: fakes from the generator, then
  ``discriminator.train_on_batch`` on real + fake and ``composite.train_on_batch`` on 2n latents;
- ``fit``: :class:`gan_helpers.gan.GAN` (or ``ConditionalGAN``) trained by ``fit()``, fed by the
  input pipeline ``make pretrain`` uses;
- ``fit + XLA``: the same, compiled with ``compile(..., jit_compile=True)``.

The ways run in the same process, interleaved in blocks of ``--block`` steps for ``--rounds``
rounds, so that all of them see the same machine state (a shared machine's speed drifts); the
table gives each way's median steps/s, ms per step, real digits per second and its speed against
the loop. TensorFlow's op determinism (``--deterministic``) is off by default: it is what
``seed_everything`` and ``make pretrain`` turn on for repeatable runs, it costs speed, and
under it Keras compiles without XLA (with only a warning). Run: ``make bench-throughput`` (a
few minutes on 2 cores), or e.g. ``BENCH_ARGS="--models dcgan --rounds 3"``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from gan_helpers.data import load_mnist, to_model_range
from gan_helpers.gan import GAN, ConditionalGAN, adam
from gan_helpers.models import DIGITS, LATENT_DIM, build_composite
from gan_helpers.pretrained import MODELS, ModelSpec, batches

Step = Callable[[int], None]  # runs that many training steps


def loop_steps(spec: ModelSpec, images: np.ndarray, labels: np.ndarray, seed: int) -> Step:
    """Notebook 6's loop for ``spec``'s networks; conditional models get the digits too."""
    generator, discriminator = spec.build_generator(), spec.build_discriminator()
    composite = build_composite(generator, discriminator)
    discriminator.compile(adam(), "binary_crossentropy")
    composite.compile(adam(), "binary_crossentropy")
    rng = np.random.default_rng(seed)
    n = spec.batch_size
    targets = np.concatenate([np.full((n, 1), spec.real_label), np.zeros((n, 1))]).astype(
        np.float32
    )
    ones = np.ones((2 * n, 1), np.float32)

    def run(steps: int) -> None:
        for _ in range(steps):
            pick = rng.integers(0, len(images), n)
            z = rng.standard_normal((n, LATENT_DIM), dtype=np.float32)
            z2 = rng.standard_normal((2 * n, LATENT_DIM), dtype=np.float32)
            if spec.conditional:
                asked = rng.integers(0, DIGITS, (n, 1)).astype(np.int32)
                fakes = keras.ops.convert_to_numpy(generator([z, asked], training=True))
                digits = np.concatenate([labels[pick].reshape(-1, 1), asked])
                discriminator.train_on_batch(
                    [np.concatenate([images[pick], fakes]), digits], targets
                )
                asked2 = rng.integers(0, DIGITS, (2 * n, 1)).astype(np.int32)
                composite.train_on_batch([z2, asked2], ones)
            else:
                fakes = keras.ops.convert_to_numpy(generator(z, training=True))
                discriminator.train_on_batch(np.concatenate([images[pick], fakes]), targets)
                composite.train_on_batch(z2, ones)

    return run


def fit_steps(
    spec: ModelSpec, images: np.ndarray, labels: np.ndarray, seed: int, xla: bool
) -> Step:
    """``GAN.fit`` on ``make pretrain``'s input pipeline, compiled with or without XLA."""
    kind = ConditionalGAN if spec.conditional else GAN
    gan = kind(
        spec.build_generator(), spec.build_discriminator(), real_label=spec.real_label, seed=seed
    )
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=xla)
    arrays = [images, labels] if spec.conditional else [images]
    # One epoch's batches, built once (building them copies the 60,000 digits), repeated;
    # every fit() call starts a fresh iterator over them.
    per_epoch = len(images) // spec.batch_size
    data = batches(arrays, spec.batch_size, seed, 0, per_epoch).repeat()

    def run(steps: int) -> None:
        gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)

    return run


def measure(ways: dict[str, Step], rounds: int, block: int) -> dict[str, float]:
    """Median steps/s of each way over ``rounds`` interleaved blocks of ``block`` steps."""
    for run in ways.values():
        run(3)  # tracing, XLA compilation and first-call allocations, not timed
    rates: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, run in ways.items():
            start = time.perf_counter()
            run(block)
            rates[name].append(block / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=sorted(MODELS))
    parser.add_argument("--rounds", type=int, default=5, help="timed blocks per way")
    parser.add_argument("--block", type=int, default=100, help="steps per timed block")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="turn on TensorFlow's op determinism, as seed_everything and make pretrain do "
        "(Keras then refuses XLA, so the XLA way is left out)",
    )
    args = parser.parse_args()
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()

    mnist = load_mnist()
    images, labels = to_model_range(mnist.x_train), mnist.y_train.astype(np.int32)
    determinism = "on" if args.deterministic else "off"
    print(
        f"{args.rounds} rounds of {args.block} steps per way, interleaved; medians; "
        f"op determinism {determinism}"
    )
    header = f"{'model':8} {'way':10} {'steps/s':>8} {'ms/step':>8} {'digits/s':>9} {'vs loop':>8}"
    print(header)
    print("-" * len(header))
    for name in args.models:
        spec = MODELS[name]
        # Seeds only: seed_everything would also turn on op determinism (see --deterministic).
        keras.utils.set_random_seed(args.seed)
        ways = {
            "loop": loop_steps(spec, images, labels, args.seed),
            "fit": fit_steps(spec, images, labels, args.seed, xla=False),
        }
        if not args.deterministic:
            ways["fit + XLA"] = fit_steps(spec, images, labels, args.seed, xla=True)
        rates = measure(ways, args.rounds, args.block)
        for way, rate in rates.items():
            print(
                f"{name:8} {way:10} {rate:>8.1f} {1000 / rate:>8.1f} "
                f"{rate * spec.batch_size:>9,.0f} {rate / rates['loop']:>7.2f}x",
                flush=True,
            )
    print(f"batch: {spec.batch_size} real digits (and as many fakes) per step")


if __name__ == "__main__":
    main()
