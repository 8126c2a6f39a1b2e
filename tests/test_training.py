"""The adversarial loop: both players learn, the record is complete, seeds repeat exactly."""

from __future__ import annotations

import numpy as np
import pytest

from gan_helpers.models import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
)
from gan_helpers.reproducibility import seed_everything
from gan_helpers.training import METRIC_NAMES, GANTrainer


def small_trainer() -> GANTrainer:
    generator = build_dcgan_generator(latent_dim=16, filters=16)
    discriminator = build_dcgan_discriminator(filters=8)
    return GANTrainer(generator, discriminator)


def all_weights(trainer: GANTrainer) -> list[np.ndarray]:
    return [w.numpy() for w in trainer.generator.weights + trainer.discriminator.weights]


def test_one_step_moves_both_players(small_images: np.ndarray) -> None:
    trainer = small_trainer()
    g_before = [w.numpy() for w in trainer.generator.trainable_weights]
    d_before = [w.numpy() for w in trainer.discriminator.trainable_weights]
    metrics = trainer.train_step(small_images[:32], np.random.default_rng(0))
    assert set(metrics) == set(METRIC_NAMES)
    assert 0.0 <= metrics["d_acc_real"] <= 1.0 and 0.0 <= metrics["d_acc_fake"] <= 1.0
    assert np.isfinite(metrics["d_loss"]) and np.isfinite(metrics["g_loss"])
    for old, weight in zip(g_before, trainer.generator.trainable_weights, strict=True):
        assert not np.array_equal(old, weight.numpy())
    for old, weight in zip(d_before, trainer.discriminator.trainable_weights, strict=True):
        assert not np.array_equal(old, weight.numpy())


def test_fit_records_every_step_and_counts_epochs(small_images: np.ndarray) -> None:
    history = small_trainer().fit(small_images, epochs=2, batch_size=128, progress=False)
    # 512 images, 64 real per step: 8 steps an epoch.
    assert len(history) == 16
    assert set(history.as_dict()) == set(METRIC_NAMES)
    assert all(len(values) == 16 for values in history.as_dict().values())


def test_same_seed_same_weights_bit_for_bit(small_images: np.ndarray) -> None:
    runs = []
    for _ in range(2):
        seed_everything(7)
        trainer = small_trainer()
        history = trainer.fit(small_images, steps=12, batch_size=64, seed=7, progress=False)
        runs.append((all_weights(trainer), history.as_dict()))
    (weights_a, history_a), (weights_b, history_b) = runs
    assert history_a == history_b
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))


def test_xla_step_repeats_bit_for_bit_and_matches_the_plain_step(small_images: np.ndarray) -> None:
    """``jit_compile`` may change the round-off, never the computation or its repeatability."""
    runs = {}
    for label, jit_compile in [("xla", True), ("xla again", True), ("plain", False)]:
        seed_everything(7)
        trainer = GANTrainer(
            build_mlp_generator(latent_dim=16, widths=(32, 64)),
            build_mlp_discriminator(widths=(64, 32)),
            real_label=0.9,
            ema_decay=0.9,
            jit_compile=jit_compile,
        )
        history = trainer.fit(small_images, steps=6, batch_size=64, seed=7, progress=False)
        runs[label] = (all_weights(trainer), history.as_dict())
    (xla, xla_history), (again, again_history) = runs["xla"], runs["xla again"]
    assert xla_history == again_history
    assert all(np.array_equal(a, b) for a, b in zip(xla, again, strict=True))
    plain, plain_history = runs["plain"]
    for a, b in zip(xla, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for name, values in plain_history.items():
        np.testing.assert_allclose(xla_history[name], values, rtol=1e-4, atol=1e-5)


def test_another_seed_gives_another_run(small_images: np.ndarray) -> None:
    results = []
    for seed in (7, 8):
        seed_everything(7)
        trainer = small_trainer()
        trainer.fit(small_images, steps=4, batch_size=64, seed=seed, progress=False)
        results.append(all_weights(trainer))
    assert not all(np.array_equal(a, b) for a, b in zip(*results, strict=True))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "at least one"),
        ({"epochs": 0}, "at least one"),
        ({"steps": 3, "epochs": 1}, "exactly one"),
        ({}, "exactly one"),
        ({"steps": 3, "batch_size": 1}, "batch_size=1"),
        ({"steps": 3, "batch_size": -4}, "batch_size=-4"),
    ],
)
def test_bad_arguments_are_named(small_images: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        small_trainer().fit(small_images, progress=False, **kwargs)


def test_max_seconds_stops_early(small_images: np.ndarray) -> None:
    history = small_trainer().fit(
        small_images, steps=10_000, batch_size=64, progress=False, max_seconds=0.0
    )
    assert len(history) == 1


@pytest.mark.parametrize("decay", [0.0, 1.0, 0.5])
def test_ema_generator_averages_the_generator(small_images: np.ndarray, decay: float) -> None:
    generator = build_dcgan_generator(latent_dim=16, filters=16)
    trainer = GANTrainer(generator, build_dcgan_discriminator(filters=8), ema_decay=decay)
    initial = [w.numpy() for w in generator.weights]
    trainer.fit(small_images, steps=3, batch_size=64, progress=False)
    ema = [w.numpy() for w in trainer.ema_generator.weights]
    now = [w.numpy() for w in generator.weights]
    same_as_now = [np.array_equal(a, b) for a, b in zip(ema, now, strict=True)]
    same_as_start = [np.array_equal(a, b) for a, b in zip(ema, initial, strict=True)]
    if decay == 0.0:  # follows the generator exactly
        assert all(same_as_now)
    elif decay == 1.0:  # never moves
        assert all(same_as_start)
    else:  # somewhere between the start and the current weights
        trainable = [w.trainable for w in generator.weights]
        assert not any(s for s, t in zip(same_as_now, trainable, strict=True) if t)
        assert not any(s for s, t in zip(same_as_start, trainable, strict=True) if t)


def test_without_ema_there_is_no_average(small_images: np.ndarray) -> None:
    assert small_trainer().ema_generator is None
