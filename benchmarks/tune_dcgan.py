"""Tuning the DCGANs: which setting helps them most in a fixed training time.

Each variant changes one or a few things of the ``dcgan`` (or, for the ``c-`` variants, of the
conditional ``cdcgan``), both at their first shipped learning rate, 2e-4 (``base``, ``c-base``), of
``gan_helpers.pretrained``: the widths of its two networks, the weight average's decay, the learning
rates (both players' or each one's), the batch, the discriminator's dropout, depth or normalisation,
the loss (hinge or Wasserstein for binary cross-entropy; or binary cross-entropy with the R1
penalty, or with top-k training of the generator). Every variant is trained for ``--minutes`` (5) of
training time with the code of ``benchmarks/time_to_quality.py`` (the batches, determinism and
weight average of ``make pretrain``) and its weight average scored on 10,000 samples at each of
``--checkpoints``. One run at a time; rows are printed as they come and written as JSON to
``artifacts/benchmarks/tune_dcgan.json`` (appended run by run, so a crash keeps them).
Run: ``make bench-tune`` (all variants, several hours), or e.g. ``BENCH_ARGS="--variants base
avg999"``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from functools import partial
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from keras import ops
from time_to_quality import HEADER, LEGEND, SPECS, minutes_list, train_and_score

from gan_helpers import models
from gan_helpers.data import load_mnist
from gan_helpers.gan import GAN, adam
from gan_helpers.paths import artifacts_dir
from gan_helpers.pretrained import MODELS, ModelSpec


class ScoreGAN(GAN):
    """:class:`GAN` whose discriminator outputs an unbounded score, not a probability (it must
    end without the sigmoid), under a loss of :meth:`discriminator_loss`; the generator raises
    its fakes' scores."""

    def discriminator_loss(self, images: Any, targets: Any, scores: Any) -> Any:
        """The discriminator's loss on ``images``, n real digits then n fakes (as
        :meth:`GAN.train_step` stacks them), whose ``targets`` are ``real_label`` and 0."""
        raise NotImplementedError

    def generator_loss(self, scores: Any) -> Any:
        """The generator's loss on its fakes' ``scores``: lower as they rise."""
        return -ops.mean(scores)

    def update(
        self, model: keras.Model, optimizer: keras.optimizers.Optimizer, inputs: Any, targets: Any
    ) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            scores = model(inputs, training=True)
            if model is self.discriminator:
                loss = self.discriminator_loss(inputs, targets, scores)
            else:
                loss = self.generator_loss(scores)
        weights = model.trainable_weights
        optimizer.apply(tape.gradient(loss, weights), weights)
        return loss, scores  # one device only: no per-device loss scaling, unlike GAN.update


class HingeGAN(ScoreGAN):
    """The hinge loss (Lim and Ye 2017; Miyato et al. 2018): real digits' scores above 1,
    fakes' below -1."""

    def discriminator_loss(self, images: Any, targets: Any, scores: Any) -> Any:
        real = ops.cast(targets > 0.5, scores.dtype)
        return ops.mean(real * ops.relu(1.0 - scores) + (1.0 - real) * ops.relu(1.0 + scores))


class WassersteinGAN(ScoreGAN):
    """WGAN-GP (Gulrajani et al. 2017): real digits' scores as far above the fakes' as a
    discriminator (a critic) can put them while its gradient norm stays near 1 between real and
    fake digits (a penalty, weight 10). Unlike the paper: one critic step per generator step
    (not five), Adam as in every variant here (beta_1 0.5, beta_2 0.999; the paper's 0 and 0.9).
    The critic must have no active dropout or batch norm (the penalty reads one gradient per
    sample); the targets are not used."""

    penalty_weight = 10.0

    def discriminator_loss(self, images: Any, targets: Any, scores: Any) -> Any:
        n = ops.shape(scores)[0] // 2  # GAN.train_step stacks n real digits, then n fakes
        real, fake = images[:n], images[n:]
        mix = keras.random.uniform((n, 1, 1, 1), seed=self.seed_generator)
        between = mix * real + (1.0 - mix) * fake
        with tf.GradientTape() as tape:  # inside the update's tape: the penalty is trained too
            tape.watch(between)
            between_scores = self.discriminator(between, training=True)
        gradients = tape.gradient(between_scores, between)
        norms = ops.sqrt(ops.sum(ops.square(gradients), axis=(1, 2, 3)) + 1e-12)
        penalty = ops.mean(ops.square(norms - 1.0))
        return ops.mean(scores[n:]) - ops.mean(scores[:n]) + self.penalty_weight * penalty


class R1GAN(ScoreGAN):
    """Binary cross-entropy, played on the scores (logits) with the non-saturating generator
    loss as :class:`GAN` plays it, plus the R1 penalty (Mescheder et al. 2018): the squared
    gradient norm of the real digits' scores, weight ``penalty_weight`` / 2, which keeps the
    discriminator flat on the data. Dropout stays on; each pass draws its own masks."""

    penalty_weight = 1.0

    def discriminator_loss(self, images: Any, targets: Any, scores: Any) -> Any:
        n = ops.shape(scores)[0] // 2  # GAN.train_step stacks n real digits, then n fakes
        real = images[:n]
        with tf.GradientTape() as tape:  # inside the update's tape: the penalty is trained too
            tape.watch(real)
            real_scores = self.discriminator(real, training=True)
        gradients = tape.gradient(real_scores, real)  # of their sum: one row per digit
        penalty = ops.mean(ops.sum(ops.square(gradients), axis=(1, 2, 3)))
        crossentropy = keras.losses.binary_crossentropy(targets, scores, from_logits=True)
        return ops.mean(crossentropy) + 0.5 * self.penalty_weight * penalty

    def generator_loss(self, scores: Any) -> Any:
        return ops.mean(ops.softplus(-scores))  # -log D(G(z)), as the composite's loss


class R1TenthGAN(R1GAN):
    """:class:`R1GAN` with a tenth of its penalty."""

    penalty_weight = 0.1


class TopKGAN(GAN):
    """Top-k training (Sinha et al. 2020): the generator learns only from the ``top`` share of
    its fakes that the discriminator finds most real; the worst are not pushed around. Binary
    cross-entropy otherwise, as :class:`GAN`."""

    top = 0.5

    def update(
        self, model: keras.Model, optimizer: keras.optimizers.Optimizer, inputs: Any, targets: Any
    ) -> tuple[Any, Any]:
        if model is self.discriminator:
            return super().update(model, optimizer, inputs, targets)
        k = int(self.top * inputs.shape[0])  # the batch is a static shape in fit()'s graph
        with tf.GradientTape() as tape:
            verdicts = model(inputs, training=True)
            best = ops.top_k(verdicts[:, 0], k).values
            loss = self.loss_fn(targets[:k], best[:, None])
        weights = model.trainable_weights
        optimizer.apply(tape.gradient(loss, weights), weights)
        return loss, verdicts


class TopThreeQuartersGAN(TopKGAN):
    """:class:`TopKGAN` learning from three quarters of the fakes."""

    top = 0.75


LOSSES: dict[str, type[GAN]] = {
    "hinge": HingeGAN,
    "wgan-gp": WassersteinGAN,
    "r1": R1GAN,
    "r1-tenth": R1TenthGAN,
    "top-half": TopKGAN,
    "top-three-quarters": TopThreeQuartersGAN,
}


@dataclasses.dataclass(frozen=True)
class TunedSpec(ModelSpec):
    """A :class:`ModelSpec` whose two players may take different Adam learning rates (each
    falls back to ``learning_rate``, both players', when not set) and may play another loss than
    binary cross-entropy alone (a key of ``LOSSES``; a :class:`ScoreGAN`'s discriminator must end
    without the sigmoid)."""

    d_learning_rate: float | None = None
    g_learning_rate: float | None = None
    loss: str | None = None

    def gan(self, seed: int) -> GAN:
        gan = super().gan(seed)
        if self.loss:  # the same seeded networks, played with the other loss
            gan = LOSSES[self.loss](
                gan.generator, gan.discriminator, real_label=self.real_label, seed=seed
            )
        if self.loss or self.d_learning_rate is not None or self.g_learning_rate is not None:
            gan.compile(
                d_optimizer=adam(self.d_learning_rate or self.learning_rate),
                g_optimizer=adam(self.g_learning_rate or self.learning_rate),
            )
        return gan


def tunable(model: str) -> TunedSpec:
    """The shipped ``model``'s settings, as a :class:`TunedSpec`."""
    return TunedSpec(
        **{f.name: getattr(MODELS[model], f.name) for f in dataclasses.fields(ModelSpec)}
    )


# Both DCGANs as first shipped: learning rate 2e-4, two discriminator blocks, weight average 0.99.
# They ship with `lr-1e-3`'s rate and `d3-lr-1e-3`'s third block since, the conditional one also
# with `c-d3-avg995-lr-1e-3`'s average; the tables of docs/benchmarks.md name the variants by
# these bases.
TWO_BLOCKS = (32, 64)
BASE = dataclasses.replace(
    tunable("dcgan"),
    learning_rate=2e-4,
    build_discriminator=partial(models.build_discriminator, filters=TWO_BLOCKS),
)
C_BASE = dataclasses.replace(
    tunable("cdcgan"),
    learning_rate=2e-4,
    average_decay=0.99,
    build_discriminator=partial(models.build_conditional_discriminator, filters=TWO_BLOCKS),
)
WIDE_G = partial(models.build_generator, filters=(128, 64))
WIDE_D = partial(models.build_discriminator, filters=(64, 128))
D3 = partial(models.build_discriminator, filters=(32, 64, 128))
C_D3 = partial(models.build_conditional_discriminator, filters=(32, 64, 128))


def spectral_discriminator() -> keras.Model:
    """The two-block DCGAN discriminator with each kernel spectrally normalised (Miyato et al.
    2018)."""
    plain = models.build_discriminator(filters=TWO_BLOCKS)
    layers = [keras.Input(models.IMAGE_SHAPE)]
    for layer in plain.layers:
        clone = layer.__class__.from_config(layer.get_config())
        wrap = isinstance(clone, keras.layers.Conv2D | keras.layers.Dense)
        layers.append(keras.layers.SpectralNormalization(clone) if wrap else clone)
    return keras.Sequential(layers, name="spectral_discriminator")


def score_discriminator(dropout: float = 0.3) -> keras.Model:
    """Notebook 3's discriminator without its final sigmoid: a score for :class:`ScoreGAN`."""
    plain = models.build_discriminator(dropout=dropout)
    body = [layer.__class__.from_config(layer.get_config()) for layer in plain.layers[:-1]]
    stack = [keras.Input(models.IMAGE_SHAPE), *body, keras.layers.Dense(1)]
    return keras.Sequential(stack, name="score_discriminator")


# The Wasserstein critic: scores, and no dropout, as in the paper.
CRITIC = partial(score_discriminator, dropout=0.0)


def layernorm_discriminator() -> keras.Model:
    """Notebook 3's three blocks with layer normalisation in place of dropout after the second
    and third convolutions: the DCGAN paper's batch norm (Radford et al. 2016) is ruled out, its
    moving statistics would change inside the frozen composite (``models.build_composite``)."""
    stack: list[keras.layers.Layer] = [keras.Input(models.IMAGE_SHAPE)]
    for i, width in enumerate((32, 64, 128)):
        stack.append(keras.layers.Conv2D(width, 4, strides=2, padding="same"))
        if i > 0:
            stack.append(keras.layers.LayerNormalization())
        stack.append(keras.layers.LeakyReLU(0.2))
    stack += [keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack, name="layernorm_discriminator")


VARIANTS: dict[str, TunedSpec] = {
    "base": BASE,
    "avg999": dataclasses.replace(BASE, average_decay=0.999),
    "wide": dataclasses.replace(BASE, build_generator=WIDE_G, build_discriminator=WIDE_D),
    "wide-g": dataclasses.replace(BASE, build_generator=WIDE_G),
    "wide-d": dataclasses.replace(BASE, build_discriminator=WIDE_D),
    "batch64": dataclasses.replace(BASE, batch_size=64),
    "no-dropout": dataclasses.replace(
        BASE,
        build_discriminator=partial(models.build_discriminator, filters=TWO_BLOCKS, dropout=0.0),
    ),
    "label1": dataclasses.replace(BASE, real_label=1.0),
    "avg999-no-dropout": dataclasses.replace(
        BASE,
        average_decay=0.999,
        build_discriminator=partial(models.build_discriminator, filters=TWO_BLOCKS, dropout=0.0),
    ),
    "g-lr-1e-3": dataclasses.replace(BASE, g_learning_rate=1e-3),
    "d-lr-1e-4": dataclasses.replace(BASE, d_learning_rate=1e-4),
    "lr-5e-4": dataclasses.replace(BASE, learning_rate=5e-4),
    "lr-1e-3": dataclasses.replace(BASE, learning_rate=1e-3),
    "lr-2e-3": dataclasses.replace(BASE, learning_rate=2e-3),
    # Longer runs: does width pay at the larger rate, given the shipped model's 30 minutes?
    "wide-lr-1e-3": dataclasses.replace(
        BASE,
        build_generator=WIDE_G,
        build_discriminator=WIDE_D,
        learning_rate=1e-3,
    ),
    "sn-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=spectral_discriminator, learning_rate=1e-3
    ),
    # A third stride-2 block (7x7 to 4x4): a deeper discriminator, still cheap.
    "d3-lr-1e-3": dataclasses.replace(BASE, build_discriminator=D3, learning_rate=1e-3),
    # With the third block: is 1e-3 still the rate, and is the generator now the weaker player?
    "d3-lr-5e-4": dataclasses.replace(BASE, build_discriminator=D3, learning_rate=5e-4),
    "d3-lr-2e-3": dataclasses.replace(BASE, build_discriminator=D3, learning_rate=2e-3),
    "d3-wide-g-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=D3, build_generator=WIDE_G, learning_rate=1e-3
    ),
    "d4-lr-1e-3": dataclasses.replace(
        BASE,
        build_discriminator=partial(models.build_discriminator, filters=(32, 64, 128, 256)),
        learning_rate=1e-3,
    ),
    "d3-ln-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=layernorm_discriminator, learning_rate=1e-3
    ),
    # Another loss: the hinge, with the shipped three blocks.
    "hinge-d3-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=score_discriminator, loss="hinge", learning_rate=1e-3
    ),
    "hinge-d3-lr-2e-4": dataclasses.replace(
        BASE, build_discriminator=score_discriminator, loss="hinge", learning_rate=2e-4
    ),
    # Wasserstein with gradient penalty: the critic has three blocks, as the hinge variants'
    # (compare with d3-lr-1e-3 and hinge-d3-*), and no dropout, as in the paper.
    "wgan-gp-lr-1e-4": dataclasses.replace(
        BASE,
        build_discriminator=CRITIC,
        loss="wgan-gp",
        learning_rate=1e-4,
    ),
    "wgan-gp-lr-1e-3": dataclasses.replace(
        BASE,
        build_discriminator=CRITIC,
        loss="wgan-gp",
        learning_rate=1e-3,
    ),
    # Two more losses: R1 (a penalty on the discriminator) and top-k (the generator's loss).
    "r1-d3-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=score_discriminator, learning_rate=1e-3, loss="r1"
    ),
    "r1-tenth-d3-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=score_discriminator, learning_rate=1e-3, loss="r1-tenth"
    ),
    "top-half-d3-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=D3, learning_rate=1e-3, loss="top-half"
    ),
    "top-3q-d3-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=D3, learning_rate=1e-3, loss="top-three-quarters"
    ),
    # Two time-scales (Heusel et al. 2017): the discriminator's steps twice the generator's.
    "ttur-lr-1e-3": dataclasses.replace(BASE, learning_rate=1e-3, d_learning_rate=2e-3),
    # Short runs (the notebooks' two minutes): does a faster start come from larger steps?
    "c-base": C_BASE,
    "c-lr-5e-4": dataclasses.replace(C_BASE, learning_rate=5e-4),
    "c-g-lr-1e-3": dataclasses.replace(C_BASE, g_learning_rate=1e-3),
    "c-lr-1e-3": dataclasses.replace(C_BASE, learning_rate=1e-3),
    "c-lr-2e-3": dataclasses.replace(C_BASE, learning_rate=2e-3),
    "c-avg999-lr-1e-3": dataclasses.replace(C_BASE, average_decay=0.999, learning_rate=1e-3),
    "c-batch64-lr-5e-4": dataclasses.replace(C_BASE, batch_size=64, learning_rate=5e-4),
    "c-d3-lr-1e-3": dataclasses.replace(C_BASE, build_discriminator=C_D3, learning_rate=1e-3),
    # The five-minute conditional goal's one miss (seed 2): do longer averages help? And the
    # conditional DCGAN's new decay, 0.995, on the unconditional one.
    "d3-avg995-lr-1e-3": dataclasses.replace(
        BASE, build_discriminator=D3, learning_rate=1e-3, average_decay=0.995
    ),
    "c-d3-avg999-lr-1e-3": dataclasses.replace(
        C_BASE, build_discriminator=C_D3, learning_rate=1e-3, average_decay=0.999
    ),
    "c-d3-avg995-lr-1e-3": dataclasses.replace(
        C_BASE, build_discriminator=C_D3, learning_rate=1e-3, average_decay=0.995
    ),
    # Notebook 8's two minutes with three blocks: does the larger step pay again?
    "c-d3-lr-2e-3": dataclasses.replace(C_BASE, build_discriminator=C_D3, learning_rate=2e-3),
    "c-avg9-lr-5e-4": dataclasses.replace(C_BASE, average_decay=0.9, learning_rate=5e-4),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--minutes", type=float, default=5, help="training minutes per run")
    parser.add_argument("--checkpoints", type=minutes_list, default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=10_000, help="samples per evaluation")
    parser.add_argument("--out", type=Path, default=artifacts_dir("benchmarks") / "tune_dcgan.json")
    args = parser.parse_args()
    checkpoints = sorted({m for m in args.checkpoints if m < args.minutes} | {args.minutes})

    mnist = load_mnist()
    rows: list[dict[str, Any]] = json.loads(args.out.read_text()) if args.out.exists() else []
    print(LEGEND)
    print(HEADER)
    for name in args.variants:
        SPECS[name] = VARIANTS[name]
        rows += train_and_score(name, checkpoints, args.seed, args.samples, mnist)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
