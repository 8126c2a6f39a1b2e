"""The conditional GAN: the projection discriminator, labels in fit, and the trainer."""

from __future__ import annotations

import numpy as np
import pytest

from gan_helpers import models
from gan_helpers.checkpoints import CheckpointMismatchError
from gan_helpers.training import RECIPES, ConditionalGANTrainer, GANTrainer, seed_optimizer

LATENT = 16


def small_conditional_trainer(digits: int = 2) -> ConditionalGANTrainer:
    return ConditionalGANTrainer(
        models.build_mlp_generator(LATENT, widths=(64,), categories=digits),
        models.build_projection_discriminator(digits, widths=(64,)),
        # Five times the recipe's rates: the toy task is learnt in hundreds of steps, not
        # thousands.
        d_optimizer=seed_optimizer(1e-3),
        g_optimizer=seed_optimizer(1e-3),
        real_label=0.9,
    )


def two_kinds(n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Images whose label decides their brightness: 0 dark (about -0.7), 1 bright (+0.7)."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, n)
    centre = np.where(labels == 1, 0.7, -0.7)[:, None, None, None]
    noise = rng.normal(0.0, 0.1, (n, 28, 28, 1))
    return np.clip(centre + noise, -1, 1).astype(np.float32), labels


def brightness_by_category(trainer: GANTrainer) -> list[float]:
    latent = np.random.default_rng(6).standard_normal((400, LATENT)).astype(np.float32)
    images = models.generate(trainer.generator, latent)
    categories = models.latent_categories(latent, 2)
    return [float(images[categories == k].mean()) for k in range(2)]


def test_projection_logit_is_the_shared_logit_plus_the_digits_own() -> None:
    discriminator = models.build_projection_discriminator(widths=(32,))
    images = np.random.default_rng(0).uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    shared, per_digit = (np.asarray(o) for o in discriminator(images))
    assert shared.shape == (6, 1) and per_digit.shape == (6, 10)
    digits = np.array([0, 3, 9, 3, 1, 7])
    logit = np.asarray(models.conditional_logit(discriminator(images), digits))
    np.testing.assert_allclose(logit, shared[:, 0] + per_digit[np.arange(6), digits], rtol=1e-6)
    # Per digit: a weight vector with no bias, as in the projection; the shared logit has one.
    assert discriminator.get_layer("digit_logits").bias is None
    assert (
        discriminator.count_params()
        == models.build_mlp_discriminator(widths=(32,)).count_params() + 32 * 10
    )


def test_conditional_generator_is_the_dense_generator_behind_the_code() -> None:
    generator = models.build_conditional_generator()
    assert models.categories_of(generator) == 10
    assert generator.count_params() == models.build_mlp_generator().count_params()


def test_trainer_refuses_models_that_cannot_condition() -> None:
    with pytest.raises(ValueError, match="CategoricalCode"):
        ConditionalGANTrainer(models.build_mlp_generator(), models.build_projection_discriminator())
    with pytest.raises(ValueError, match="one logit per category"):
        ConditionalGANTrainer(
            models.build_conditional_generator(digits=4), models.build_projection_discriminator()
        )


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (None, "pass fit the labels"),
        (np.zeros(10, int), r"shape \(512,\)"),
        (np.zeros(512), "whole numbers"),
        (np.full(512, 2), r"digits 0 to 1"),
        (np.full(512, -1), r"digits 0 to 1"),
    ],
)
def test_fit_says_what_is_wrong_with_the_labels(labels, message: str) -> None:
    images, _ = two_kinds()
    with pytest.raises(ValueError, match=message):
        small_conditional_trainer().fit(images, labels, steps=1, batch_size=32, progress=False)


def test_step_moves_both_players_and_the_composite_trains_only_the_generator() -> None:
    trainer = small_conditional_trainer()
    assert {id(w) for w in trainer.composite.trainable_weights} == {
        id(w) for w in trainer.generator.trainable_weights
    }
    images, labels = two_kinds()
    before_g = [w.numpy() for w in trainer.generator.trainable_weights]
    before_d = [w.numpy() for w in trainer.discriminator.trainable_weights]
    metrics = trainer.train_step(images[:32], np.random.default_rng(0), labels[:32])
    assert all(np.isfinite(value) for value in metrics.values())
    assert 0.0 <= metrics["d_real_mean"] <= 1.0  # probabilities, from the summed logits
    for before, weights in ((before_g, trainer.generator), (before_d, trainer.discriminator)):
        for old, weight in zip(before, weights.trainable_weights, strict=True):
            assert not np.array_equal(old, weight.numpy())
    with pytest.raises(ValueError, match="needs the digit"):
        trainer.train_step(images[:32], np.random.default_rng(0))


@pytest.mark.parametrize("shuffled", [False, True])
def test_the_labels_decide_what_each_category_draws(shuffled: bool) -> None:
    images, labels = two_kinds()
    if shuffled:
        # Labels that say nothing about the images: then the category cannot matter.
        labels = np.random.default_rng(7).permutation(labels)
    trainer = small_conditional_trainer()
    trainer.fit(images, labels, steps=300, batch_size=64, progress=False)
    dark, bright = brightness_by_category(trainer)
    if shuffled:
        assert abs(bright - dark) < 0.5, (dark, bright)
    else:
        assert dark < -0.4 and bright > 0.4, (dark, bright)


def test_unconditional_trainers_ignore_labels() -> None:
    images, labels = two_kinds(128)

    def trained_weights(*labelled: np.ndarray) -> list[np.ndarray]:
        trainer = GANTrainer(
            models.build_mlp_generator(LATENT, widths=(16,)),
            models.build_mlp_discriminator(widths=(16,)),
        )
        trainer.generator.set_weights(start_g)
        trainer.discriminator.set_weights(start_d)
        trainer.fit(images, *labelled, steps=3, batch_size=32, seed=3, progress=False)
        return trainer.generator.get_weights()

    first = GANTrainer(
        models.build_mlp_generator(LATENT, widths=(16,)),
        models.build_mlp_discriminator(widths=(16,)),
    )
    start_g, start_d = first.generator.get_weights(), first.discriminator.get_weights()
    for ours, theirs in zip(trained_weights(), trained_weights(labels), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_checkpoint_remembers_the_labels(tmp_path) -> None:
    images, labels = two_kinds(128)
    options = {"steps": 4, "batch_size": 32, "seed": 1, "progress": False}
    trainer = small_conditional_trainer()
    trainer.fit(images, labels, checkpoint_dir=tmp_path, checkpoint_every=2, **options)
    other = small_conditional_trainer()
    with pytest.raises(CheckpointMismatchError, match="labels_sha256"):
        other.fit(
            images, 1 - labels, checkpoint_dir=tmp_path, resume=True, **(options | {"steps": 6})
        )


def test_conditional_recipe_builds_a_conditional_trainer() -> None:
    recipe = RECIPES["conditional"]
    assert isinstance(recipe.trainer(), ConditionalGANTrainer)
    assert recipe.settings()["conditional"] is True
    assert "conditional" not in RECIPES["fast"].settings()
