"""InfoGAN's category code: the layer, the two-headed discriminator and the trainer."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_helpers import models
from gan_helpers.model_files import load_model_file
from gan_helpers.training import RECIPES, GANTrainer, InfoGANTrainer


def test_code_is_the_one_hot_index_of_the_largest_leading_number() -> None:
    latent = np.random.default_rng(0).standard_normal((500, 16)).astype(np.float32)
    coded = np.asarray(models.CategoricalCode(4, scale=2.0)(latent))
    categories = models.latent_categories(latent, 4)
    assert np.array_equal(categories, np.argmax(latent[:, :4], axis=1))
    assert np.array_equal(coded[:, :4], 2.0 * np.eye(4, dtype=np.float32)[categories])
    assert np.array_equal(coded[:, 4:], latent[:, 4:])


def test_categories_of_standard_normal_latents_are_equally_likely() -> None:
    latent = np.random.default_rng(1).standard_normal((50_000, 100))
    shares = np.bincount(models.latent_categories(latent, 10), minlength=10) / len(latent)
    # Each share has a standard error of about 0.0013 here.
    assert np.all(np.abs(shares - 0.1) < 0.006), shares


def test_with_category_moves_the_category_and_keeps_everything_else() -> None:
    latent = np.random.default_rng(2).standard_normal((300, 12)).astype(np.float32)
    for category in range(4):
        moved = models.with_category(latent, category, 4)
        assert np.all(models.latent_categories(moved, 4) == category)
        assert np.array_equal(moved[:, 4:], latent[:, 4:])  # the style numbers
        assert np.array_equal(np.sort(moved, axis=1), np.sort(latent, axis=1))  # a swap
    own = models.latent_categories(latent[:1], 4)[0]
    assert np.array_equal(models.with_category(latent[0], own, 4), latent[0])
    with pytest.raises(ValueError, match=r"0\.\.3"):
        models.with_category(latent, 4, 4)


def test_code_needs_two_categories() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        models.CategoricalCode(1)


def test_info_models_have_the_dense_models_layers_plus_a_category_head() -> None:
    generator = models.build_info_generator()
    discriminator = models.build_info_discriminator()
    assert models.categories_of(generator) == 10
    assert models.categories_of(models.build_mlp_generator()) == 0
    assert generator.count_params() == models.build_mlp_generator().count_params()
    assert discriminator.count_params() == models.build_mlp_discriminator().count_params() + 2570
    real, category = discriminator(np.zeros((3, 28, 28, 1), np.float32))
    assert real.shape == (3, 1) and category.shape == (3, 10)


def test_info_models_save_and_load_as_their_roles(tmp_path) -> None:
    generator = models.build_info_generator(latent_dim=16, categories=4)
    discriminator = models.build_info_discriminator(categories=4, widths=(8,))
    latent = np.random.default_rng(2).standard_normal((5, 16)).astype(np.float32)
    for role, model, inputs in (
        ("generator", generator, latent),
        ("discriminator", discriminator, np.asarray(generator(latent, training=False))),
    ):
        path = tmp_path / f"{role}.keras"
        model.save(path)
        loaded = load_model_file(path, role)
        for ours, theirs in zip(
            keras.tree.flatten(model(inputs, training=False)),
            keras.tree.flatten(loaded(inputs, training=False)),
            strict=True,
        ):
            np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def small_info_trainer(info_weight: float) -> InfoGANTrainer:
    return InfoGANTrainer(
        models.build_info_generator(latent_dim=16, categories=4),
        models.build_info_discriminator(categories=4, widths=(64,)),
        info_weight=info_weight,
    )


def test_info_trainer_refuses_models_without_a_code() -> None:
    with pytest.raises(ValueError, match="CategoricalCode"):
        InfoGANTrainer(models.build_mlp_generator(), models.build_mlp_discriminator())


def test_info_step_moves_both_players_and_the_composite_trains_only_the_generator(
    small_images: np.ndarray,
) -> None:
    trainer = small_info_trainer(1.0)
    composite_ids = {id(w) for w in trainer.composite.trainable_weights}
    assert composite_ids == {id(w) for w in trainer.generator.trainable_weights}
    before = [w.numpy() for w in trainer.generator.trainable_weights]
    before_d = [w.numpy() for w in trainer.discriminator.trainable_weights]
    metrics = trainer.train_step(small_images[:32], np.random.default_rng(0))
    assert all(np.isfinite(value) for value in metrics.values())
    for old, weight in zip(before, trainer.generator.trainable_weights, strict=True):
        assert not np.array_equal(old, weight.numpy())
    # Every discriminator weight moves, the category head's included.
    for old, weight in zip(before_d, trainer.discriminator.trainable_weights, strict=True):
        assert not np.array_equal(old, weight.numpy())


def category_accuracy(trainer: InfoGANTrainer) -> float:
    latent = np.random.default_rng(3).standard_normal((1000, 16)).astype(np.float32)
    fakes = trainer.generator(latent, training=False)
    _, logits = trainer.discriminator(fakes, training=False)
    guessed = np.argmax(np.asarray(logits), axis=1)
    return float(np.mean(guessed == models.latent_categories(latent, 4)))


@pytest.mark.parametrize(("info_weight", "readable"), [(1.0, True), (0.0, False)])
def test_the_category_term_makes_categories_readable(
    small_images: np.ndarray, info_weight: float, readable: bool
) -> None:
    trainer = small_info_trainer(info_weight)
    trainer.fit(small_images, steps=150, batch_size=64, progress=False)
    accuracy = category_accuracy(trainer)
    # Chance is 1 in 4 categories; without the term nothing trains the category head.
    assert (accuracy > 0.8) if readable else (accuracy < 0.5), accuracy


def test_info_recipe_builds_an_info_trainer_and_records_its_weight() -> None:
    recipe = RECIPES["info"]
    assert isinstance(recipe.trainer(), InfoGANTrainer)
    assert recipe.settings()["info_weight"] == 1.0
    assert type(RECIPES["fast"].trainer()) is GANTrainer
    assert "info_weight" not in RECIPES["fast"].settings()
