"""The shipped models, and the command that trains them: its errors, its files, its resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_helpers import pretrained
from gan_helpers.model_files import PretrainedWeightsError, load_model_file
from gan_helpers.models import IMAGE_SHAPE, generate, is_conditional
from gan_helpers.paths import project_root

ROLES = ("generator", "discriminator")


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints of a command run without --out land here, never beside a real run's."""
    monkeypatch.setenv("GAN_TUTORIAL_ARTIFACTS_DIR", str(tmp_path / "artifacts"))


# --- the shipped files -----------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(pretrained.MODELS))
def test_the_shipped_model_loads_and_matches_its_record(model: str) -> None:
    record = pretrained.pretrained_record(model)
    generator = pretrained.load_pretrained(model, "generator")
    discriminator = pretrained.load_pretrained(model, "discriminator")
    assert record["model"] == model and record["steps"] > 0 and record["training_seconds"] > 0
    assert is_conditional(generator) == pretrained.MODELS[model].conditional
    latent = np.random.default_rng(0).standard_normal((4, 100))
    digits = np.arange(4) if is_conditional(generator) else None
    images = generate(generator, latent, digits)
    verdicts = discriminator([images, digits[:, None]] if digits is not None else images)
    assert images.shape == (4, *IMAGE_SHAPE) and tuple(verdicts.shape) == (4, 1)
    assert {"classifier_score", "fd_ratio", "class_kl"} <= record["evaluation"].keys()


def test_only_the_models_the_command_makes_are_shipped() -> None:
    # Files nothing loads would go stale unnoticed.
    shipped = {path.name for path in pretrained.pretrained_dir().iterdir()}
    expected = {f"{m}_{role}.keras" for m in pretrained.MODELS for role in ROLES}
    assert shipped == expected | {f"{m}.json" for m in pretrained.MODELS}


@pytest.fixture
def data_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path))
    (tmp_path / "pretrained").mkdir()
    return tmp_path / "pretrained"


def test_a_missing_or_unknown_model_says_what_to_do(data_in_tmp: Path) -> None:
    with pytest.raises(PretrainedWeightsError) as caught:
        pretrained.load_pretrained("dcgan", "generator")
    assert "dcgan_generator.keras does not exist" in str(caught.value)
    assert "python -m gan_helpers.pretrained --model dcgan" in str(caught.value)
    with pytest.raises(ValueError, match=r"model must be one of \['cdcgan', 'dcgan'\]"):
        pretrained.load_pretrained("gan", "generator")


# --- the command -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--checkpoint-every", "-1"], "--checkpoint-every must be 0 or more"),
        (["--resume", "--checkpoint-every", "0"], "--resume needs checkpoints"),
        (["--steps", "0"], "--steps and --epochs must be at least 1"),
        (["--epochs", "0"], "--steps and --epochs must be at least 1"),
        (["--steps", "5", "--epochs", "1"], "not allowed with argument"),
        (["--model", "gan"], "invalid choice: 'gan'"),
        (["--evaluate-only", "--resume"], "--evaluate-only trains nothing"),
    ],
)
def test_the_command_names_bad_options(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    def train(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{argv} started training instead of stopping with {message!r}")

    monkeypatch.setattr(pretrained, "train", train)
    with pytest.raises(SystemExit) as caught:
        pretrained.main([*argv, "--out", str(tmp_path)])
    assert caught.value.code == 2 and message in capsys.readouterr().err


def test_evaluate_only_without_a_model_says_so(tmp_path: Path, capsys) -> None:
    assert pretrained.main(["--evaluate-only", "--out", str(tmp_path)]) == 1
    assert "dcgan_generator.keras does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("model", sorted(pretrained.MODELS))
def test_a_few_steps_write_both_models_and_the_record(model: str, tmp_path: Path) -> None:
    assert (
        pretrained.main(["--model", model, "--steps", "3", "--out", str(tmp_path), "--no-evaluate"])
        == 0
    )
    for role in ROLES:  # with the role checks the notebooks load them with
        load_model_file(pretrained.model_path(model, role, tmp_path), role)
    record = json.loads(pretrained.record_path(model, tmp_path).read_text())
    assert record["model"] == model and record["steps"] == 3 and record["seed"] == 42
    assert record["resumed_from_step"] is None and "evaluation" not in record
    assert (
        record["command"] == f"python -m gan_helpers.pretrained --model {model} --steps 3 --seed 42"
    )
    assert set(record["history"]) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(math.isfinite(v) for values in record["history"].values() for v in values)


def test_evaluate_only_rescores_and_keeps_everything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = ["--out", str(tmp_path)]
    assert pretrained.main(["--steps", "2", "--no-evaluate", *out]) == 0
    before = json.loads(pretrained.record_path("dcgan", tmp_path).read_text())
    model_bytes = pretrained.model_path("dcgan", "generator", tmp_path).read_bytes()
    monkeypatch.setattr(pretrained, "EVALUATION_SAMPLES", 200)
    capsys.readouterr()
    assert pretrained.main(["--evaluate-only", *out]) == 0
    assert "Near copies" in capsys.readouterr().out
    after = json.loads(pretrained.record_path("dcgan", tmp_path).read_text())
    assert after.pop("evaluation")["n_samples"] == 200 and after == before
    assert pretrained.model_path("dcgan", "generator", tmp_path).read_bytes() == model_bytes


def test_a_loss_that_is_nan_stops_training_and_names_the_last_checkpoint(tmp_path: Path) -> None:
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(step=tf.Variable(0)), tmp_path, max_to_keep=2
    )
    saver = pretrained.CheckpointEvery(
        manager, every=2, step=0, seconds=tf.Variable(0.0, tf.float64)
    )
    for _ in range(4):
        saver.on_train_batch_end(0, {"d_loss": 0.7, "g_loss": 0.7})
    with pytest.raises(pretrained.TrainingDivergedError) as caught:
        saver.on_train_batch_end(0, {"d_loss": 0.7, "g_loss": math.nan})
    assert "at step 5" in str(caught.value) and str(tmp_path / "ckpt-4") in str(caught.value)
    assert manager.latest_checkpoint == str(tmp_path / "ckpt-4")


def test_batch_s_is_the_same_whichever_step_a_run_starts_from() -> None:
    images = np.arange(40, dtype=np.float32)
    whole = [b.numpy() for b in pretrained.batches([images], 8, seed=3, start=0, stop=12)]
    later = [b.numpy() for b in pretrained.batches([images], 8, seed=3, start=7, stop=12)]
    assert all(np.array_equal(a, b) for a, b in zip(whole[7:], later, strict=True))
    # Each epoch (5 batches) is a new permutation of all the images.
    assert sorted(np.concatenate(whole[5:10])) == list(images)
    assert not np.array_equal(np.concatenate(whole[:5]), np.concatenate(whole[5:10]))


def test_batches_run_without_tf_data_s_autotuner() -> None:
    # Its clean-up held fit() for seconds after an epoch's last step (docs/benchmarks.md).
    dataset = pretrained.batches([np.zeros(16, np.float32)], 8, seed=0, start=0, stop=2)
    assert dataset.options().autotune.enabled is False
    assert len(list(dataset)) == 2


# --- resume after kill -9 --------------------------------------------------------------------

COMMAND = ["--model", "dcgan", "--steps", "60", "--checkpoint-every", "20", "--no-evaluate"]


def run_command(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "gan_helpers.pretrained", *COMMAND, "--out", str(out), *extra],
        cwd=project_root(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err


def latest_checkpoint(out: Path) -> str | None:
    state = out / "checkpoints" / "dcgan-seed42" / "checkpoint"
    return tf.train.latest_checkpoint(state.parent) if state.is_file() else None


def shipped_weights(out: Path) -> list[np.ndarray]:
    return [
        w.numpy()
        for role in ROLES
        for w in keras.saving.load_model(pretrained.model_path("dcgan", role, out)).weights
    ]


@pytest.mark.slow
def test_a_run_killed_mid_way_resumes_to_the_same_weights_bit_for_bit(tmp_path: Path) -> None:
    broken, unbroken = tmp_path / "broken", tmp_path / "unbroken"
    process = run_command(broken)
    deadline = time.monotonic() + 240
    while latest_checkpoint(broken) is None:  # the first checkpoint, ckpt-20, is complete
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert not pretrained.model_path("dcgan", "generator", broken).exists(), "ended before kill"

    finish(run_command(broken, "--resume"))
    finish(run_command(unbroken))
    record = json.loads(pretrained.record_path("dcgan", broken).read_text())
    assert record["resumed_from_step"] in (20, 40) and record["steps"] == 60
    resumed, reference = shipped_weights(broken), shipped_weights(unbroken)
    assert len(resumed) == len(reference)
    assert all(np.array_equal(a, b) for a, b in zip(resumed, reference, strict=True))
