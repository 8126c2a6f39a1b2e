"""Nothing unsafe: divergence stops cleanly, bad input is named, model files never run code."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from gan_helpers import checkpoints, model_files, pretrained
from gan_helpers.models import (
    build_light_dcgan_discriminator,
    build_mlp_discriminator,
    build_mlp_generator,
    generate,
)
from gan_helpers.pretrained import PretrainedWeightsError
from gan_helpers.training import GANTrainer, TrainingDivergedError


def tiny_trainer() -> GANTrainer:
    return GANTrainer(
        build_mlp_generator(latent_dim=8, widths=(16,)),
        build_light_dcgan_discriminator(filters=(4, 8)),
    )


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(3).uniform(-1, 1, (128, 28, 28, 1)).astype(np.float32)


# --- NaN / Inf guard -----------------------------------------------------------------------


def poison_step(trainer: GANTrainer, at_call: int, *, loss: float | None, weight: bool = False):
    """Let the real step run, then break its loss or a generator weight at one call."""
    real_step, calls = trainer.train_step, []

    def step(batch: np.ndarray, rng: np.random.Generator, *labels: np.ndarray) -> dict[str, float]:
        metrics = real_step(batch, rng, *labels)
        calls.append(None)
        if len(calls) - 1 == at_call:
            if loss is not None:
                metrics["g_loss"] = loss
            if weight:
                kernel = trainer.generator.trainable_weights[0]
                kernel.assign(np.full(kernel.shape, np.nan, np.float32))
        return metrics

    trainer.train_step = step


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(images, tmp_path, bad) -> None:
    trainer = tiny_trainer()
    poison_step(trainer, 9, loss=bad)
    with pytest.raises(TrainingDivergedError) as caught:
        trainer.fit(
            images, steps=20, batch_size=32, progress=False, checkpoint_dir=tmp_path,
            checkpoint_every=4,
        )  # fmt: skip
    message = str(caught.value)
    assert "Training diverged" in message and "at step 9 (counting from 0)" in message
    assert f"g_loss={bad}" in message
    assert "lower learning rate" in message and "scaled to [-1, 1]" in message
    assert "step-000000008" in message and "resume=True" in message
    assert caught.value.step == 9 and caught.value.checkpoint == tmp_path / "step-000000008"
    # Nothing was saved after the bad step, not even the end-of-training checkpoint.
    assert [step for step, _ in checkpoints.list_checkpoints(tmp_path)] == [4, 8]
    kept = checkpoints.load_checkpoint(tmp_path / "step-000000008")
    assert all(np.isfinite(a).all() for a in kept.arrays.values() if a.dtype.kind == "f")
    # ... and training can go on from it.
    history = tiny_trainer().fit(
        images, steps=12, batch_size=32, progress=False, checkpoint_dir=tmp_path, resume=True
    )
    assert len(history) == 12 and all(math.isfinite(v) for v in history.g_loss)


def test_non_finite_weights_are_never_saved(images, tmp_path) -> None:
    trainer = tiny_trainer()
    poison_step(trainer, 7, loss=None, weight=True)  # losses fine, weights broken at step 7
    with pytest.raises(TrainingDivergedError, match=r"generator variable .*kernel became NaN"):
        trainer.fit(
            images, steps=20, batch_size=32, progress=False, checkpoint_dir=tmp_path,
            checkpoint_every=4,
        )  # fmt: skip
    assert [step for step, _ in checkpoints.list_checkpoints(tmp_path)] == [4]


def test_a_really_diverged_model_stops_at_the_first_step(images) -> None:
    trainer = tiny_trainer()
    kernel = trainer.discriminator.trainable_weights[0]
    kernel.assign(np.full(kernel.shape, np.inf, np.float32))
    with pytest.raises(TrainingDivergedError, match="at step 0") as caught:
        trainer.fit(images, steps=5, batch_size=32, progress=False)
    assert "No checkpoint of this run was saved" in str(caught.value)


# --- bad arguments and bad images ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": -1}, ValueError, r"steps=-1: nothing to train. Ask for at least one step"),
        ({"epochs": -2}, ValueError, r"epochs=-2: nothing to train"),
        ({"steps": 3, "batch_size": 0}, ValueError, r"batch_size=0 needs between 2 and 256"),
        ({"steps": 3, "batch_size": 1000}, ValueError, r"batch_size=1000 needs between 2"),
        ({"steps": 2.5}, TypeError, r"steps must be a whole number, got 2.5"),
        ({"epochs": True}, TypeError, r"epochs must be a whole number, got True"),
        ({"steps": 3, "batch_size": "64"}, TypeError, r"batch_size must be a whole number"),
        ({"steps": 3, "resume": True}, ValueError, r"resume=True needs the checkpoint_dir"),
        ({"steps": 3, "checkpoint_every": 0}, ValueError, r"checkpoint_every=0: give a positive"),
        ({"steps": 3, "checkpoint_every": -5}, ValueError, r"checkpoint_every=-5"),
        ({"steps": 3, "keep_checkpoints": 0}, ValueError, r"keep_checkpoints=0: keep at least"),
    ],
)
def test_bad_fit_arguments_are_named(images, tmp_path, kwargs, error, message) -> None:
    if "checkpoint_every" in kwargs or "keep_checkpoints" in kwargs:
        kwargs = {**kwargs, "checkpoint_dir": tmp_path}
    with pytest.raises(error, match=message):
        tiny_trainer().fit(images, progress=False, **kwargs)
    assert checkpoints.list_checkpoints(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "error_message"),
    [
        (lambda x: x[..., 0], r"shape \(n, 28, 28, 1\).*got \(128, 28, 28\)"),
        (lambda x: x[:0], "images is empty"),
        (lambda x: ((x + 1) * 127.5).astype(np.uint8), "dtype uint8.*to_model_range"),
        (lambda x: (x + 1) * 127.5, r"range over \[0.00\d+, 254.9\d*\].*expect \[-1, 1\]"),
        (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x), "1 NaN"),
        (lambda x: np.where(x > 0.999, np.inf, x), "NaN or infinite values"),
    ],
)
def test_bad_images_are_named(images, change, error_message) -> None:
    with pytest.raises(ValueError, match=error_message):
        tiny_trainer().fit(change(images), steps=2, batch_size=32, progress=False)


# --- generate ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generator() -> keras.Model:
    return build_mlp_generator(latent_dim=8, widths=(16,))


def test_generate_runs_the_generator_in_inference_mode(generator) -> None:
    latent = np.random.default_rng(0).standard_normal((5, 8))  # float64 is accepted
    images = generate(generator, latent, batch_size=2)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    expected = generator(latent.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)
    # training=True would normalise with this batch's statistics and draw other images.
    in_training = generator(latent.astype(np.float32), training=True).numpy()
    assert not np.allclose(images, in_training)


@pytest.mark.parametrize(
    ("latent", "error", "message"),
    [
        (np.zeros((4, 7), np.float32), ValueError, r"shape \(n, 8\) for mlp_generator, got"),
        (np.zeros(8, np.float32), ValueError, r"got \(8,\) \(one vector\? use latent\[np"),
        (np.zeros((2, 4, 8), np.float32), ValueError, r"shape \(n, 8\).*got \(2, 4, 8\)"),
        (np.zeros((0, 8), np.float32), ValueError, "no latent vectors given"),
        (np.zeros((4, 8), np.int64), TypeError, "must be floating-point numbers, got dtype int64"),
        (np.array([["a"] * 8]), TypeError, "floating-point numbers, got dtype <U1"),
        (np.full((3, 8), np.nan, np.float32), ValueError, r"NaN or infinite .*rows \[0, 1, 2\]"),
        ([[math.inf] + [0.0] * 7], ValueError, r"1 values, in rows \[0\]"),
    ],
)
def test_generate_names_bad_latent_vectors(generator, latent, error, message) -> None:
    with pytest.raises(error, match=message):
        generate(generator, latent)


# --- model files ---------------------------------------------------------------------------


@pytest.fixture
def pretrained_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path))
    (tmp_path / "pretrained").mkdir()
    return tmp_path / "pretrained"


def test_a_discriminator_is_refused_where_a_generator_is_expected(pretrained_in_tmp) -> None:
    build_mlp_discriminator(widths=(8,)).save(pretrained_in_tmp / "fast_generator.keras")
    build_mlp_generator(latent_dim=8, widths=(8,)).save(
        pretrained_in_tmp / "fast_discriminator.keras"
    )
    with pytest.raises(PretrainedWeightsError) as caught:
        pretrained.load_pretrained("fast", "generator")
    message = str(caught.value)
    assert "fast_generator.keras holds a model that maps (None, 28, 28, 1) to (None, 1)" in message
    assert "which is what a discriminator does; a generator maps" in message
    assert "make pretrain" in message
    with pytest.raises(PretrainedWeightsError, match="what a generator does; a discriminator"):
        pretrained.load_pretrained("fast", "discriminator")
    with pytest.raises(ValueError, match="role must be one of"):
        pretrained.load_pretrained("fast", "critic")


def test_truncated_and_foreign_files_are_named(pretrained_in_tmp) -> None:
    path = pretrained_in_tmp / "fast_generator.keras"
    build_mlp_generator(latent_dim=8, widths=(8,)).save(path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(PretrainedWeightsError, match="could not be loaded: it is truncated"):
        pretrained.load_pretrained("fast", "generator")
    np.save(pretrained_in_tmp / "x.npy", np.zeros(3))
    path.write_bytes((pretrained_in_tmp / "x.npy").read_bytes())
    with pytest.raises(PretrainedWeightsError, match="could not be loaded: it is not a Keras"):
        pretrained.load_pretrained("fast", "generator")


def make_lambda_model(path: Path) -> None:
    model = keras.Sequential([keras.Input((8,)), layers.Lambda(lambda x: x * 2, name="doubler")])
    model.save(path)


def test_a_file_with_code_is_refused(pretrained_in_tmp) -> None:
    make_lambda_model(pretrained_in_tmp / "fast_generator.keras")
    with pytest.raises(PretrainedWeightsError) as caught:
        pretrained.load_pretrained("fast", "generator")
    message = str(caught.value)
    assert "fast_generator.keras contains code (a Lambda layer named 'doubler')" in message
    assert "was not loaded" in message


def test_keras_safe_mode_is_the_second_line_of_defence(pretrained_in_tmp, monkeypatch) -> None:
    make_lambda_model(pretrained_in_tmp / "fast_generator.keras")
    monkeypatch.setattr(model_files, "_code_in_archive", lambda path: [])  # scan defeated
    with pytest.raises(PretrainedWeightsError, match="contains code and was not loaded"):
        pretrained.load_pretrained("fast", "generator")


# --- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--checkpoint-every", "-1"], "--checkpoint-every must be 0 or more"),
        (["--resume", "--checkpoint-every", "0"], "--resume needs checkpoints"),
        (["--epochs", "0"], "--epochs must be at least 1"),
    ],
)
def test_command_line_names_bad_options(argv, message, capsys) -> None:
    with pytest.raises(SystemExit):
        pretrained.main(argv)
    assert message in capsys.readouterr().err
