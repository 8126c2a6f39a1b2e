"""Checkpoints: saved whole or not at all, a few kept, and a resumed run equals an unbroken one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from resume_worker import tiny_trainer

from gan_helpers import checkpoints
from gan_helpers.checkpoints import (
    CheckpointError,
    CheckpointMismatchError,
    CheckpointWarning,
    NoUsableCheckpointError,
)
from gan_helpers.training import GANTrainer

WORKER = Path(__file__).with_name("resume_worker.py")
STEPS = 20  # 256 images, batch 32: 16 steps an epoch, so runs cross an epoch boundary
BATCH = 32


class Interrupted(Exception):
    """Stands in for a crash or a Ctrl-C in the middle of training."""


def full_state(trainer: GANTrainer) -> list[np.ndarray]:
    """Every variable a continuation depends on, dropout seed states included."""
    models = [trainer.generator, trainer.discriminator, trainer.d_optimizer, trainer.g_optimizer]
    if trainer.ema_generator is not None:
        models.append(trainer.ema_generator)
    return [np.asarray(v.numpy()) for m in models for v in m.variables]


def assert_same_state(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y), "state differs"


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(3).uniform(-1, 1, (256, 28, 28, 1)).astype(np.float32)


def run_unbroken(trainer: GANTrainer, images: np.ndarray) -> tuple[list[np.ndarray], dict]:
    """The reference: the same run, never interrupted, no checkpoints."""
    history = trainer.fit(images, steps=STEPS, batch_size=BATCH, seed=11, progress=False)
    return full_state(trainer), history.as_dict()


@pytest.fixture(scope="module")
def unbroken(images: np.ndarray) -> tuple[list[np.ndarray], dict]:
    return run_unbroken(tiny_trainer(), images)


def fit(trainer: GANTrainer, images: np.ndarray, directory: Path, **kwargs):
    options = {"steps": STEPS, "batch_size": BATCH, "seed": 11, "progress": False}
    options.update(kwargs)
    return trainer.fit(images, checkpoint_dir=directory, **options)


def interrupt_at(step_to_fail: int):
    def on_step(step: int, metrics: dict[str, float]) -> None:
        if step == step_to_fail:
            raise Interrupted(f"stopped at step {step}")

    return on_step


@pytest.mark.parametrize(
    ("every", "fail_at", "resumes_from"),
    [(6, 13, 12), (8, 17, 16)],  # 16: resume exactly at an epoch boundary (a new shuffle)
)
@pytest.mark.parametrize("same_trainer", [True, False])
def test_interrupted_and_resumed_equals_unbroken(
    images, unbroken, tmp_path, every, fail_at, resumes_from, same_trainer
) -> None:
    trainer = tiny_trainer()
    with pytest.raises(Interrupted):
        fit(trainer, images, tmp_path, checkpoint_every=every, on_step=interrupt_at(fail_at))
    assert checkpoints.list_checkpoints(tmp_path)[-1][0] == resumes_from
    if not same_trainer:  # a new session: fresh models, fresh optimizers
        trainer = tiny_trainer()
    history = fit(trainer, images, tmp_path, checkpoint_every=every, resume=True)
    assert trainer.resumed_from_step == resumes_from
    state, expected_history = unbroken
    assert history.as_dict() == expected_history
    assert_same_state(full_state(trainer), state)


def test_an_xla_run_interrupted_and_resumed_equals_its_unbroken_run(images, tmp_path) -> None:
    expected_state, expected_history = run_unbroken(tiny_trainer(jit_compile=True), images)
    trainer = tiny_trainer(jit_compile=True)
    with pytest.raises(Interrupted):
        fit(trainer, images, tmp_path, checkpoint_every=6, on_step=interrupt_at(13))
    trainer = tiny_trainer(jit_compile=True)
    history = fit(trainer, images, tmp_path, checkpoint_every=6, resume=True)
    assert trainer.resumed_from_step == 12
    assert history.as_dict() == expected_history
    assert_same_state(full_state(trainer), expected_state)


def test_saves_at_the_interval_and_the_end_and_keeps_the_newest(images, tmp_path) -> None:
    fit(tiny_trainer(), images, tmp_path, checkpoint_every=6, keep_checkpoints=2)
    assert [step for step, _ in checkpoints.list_checkpoints(tmp_path)] == [18, 20]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000000018", "step-000000020"]
    latest = checkpoints.load_checkpoint(tmp_path / "step-000000020")
    assert latest.meta["run"]["batch_size"] == BATCH
    assert latest.meta["epoch"] == 1 and latest.meta["position_in_epoch"] == 4
    json.dumps(latest.meta["rng_state"])  # plain JSON
    with np.load(tmp_path / "step-000000020" / "arrays.npz", allow_pickle=False) as npz:
        assert "order" in npz.files and "history.d_loss" in npz.files


def test_resuming_a_finished_run_trains_nothing_and_a_longer_target_continues(
    images, unbroken, tmp_path
) -> None:
    trainer = tiny_trainer()
    fit(trainer, images, tmp_path, steps=12, checkpoint_every=100)
    assert [step for step, _ in checkpoints.list_checkpoints(tmp_path)] == [12]
    again = fit(tiny_trainer(), images, tmp_path, steps=12, resume=True)
    assert len(again) == 12
    trainer = tiny_trainer()
    history = fit(trainer, images, tmp_path, resume=True)  # on to STEPS
    state, expected_history = unbroken
    assert history.as_dict() == expected_history
    assert_same_state(full_state(trainer), state)


def test_resume_without_checkpoints_starts_from_scratch(images, unbroken, tmp_path) -> None:
    trainer = tiny_trainer()
    history = fit(trainer, images, tmp_path / "new", resume=True)
    assert trainer.resumed_from_step is None
    assert history.as_dict() == unbroken[1]


def test_a_fresh_run_refuses_a_folder_with_checkpoints(images, tmp_path) -> None:
    fit(tiny_trainer(), images, tmp_path, steps=2)
    with pytest.raises(CheckpointError, match=r"already holds checkpoints.*resume=True"):
        fit(tiny_trainer(), images, tmp_path, steps=2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 64}, "batch_size=32 there, 64 now"),
        ({"seed": 12}, "seed=11 there, 12 now"),
        ({"steps": 4}, "past the 4 steps"),
    ],
)
def test_resume_refuses_another_run(images, tmp_path, change, message) -> None:
    fit(tiny_trainer(), images, tmp_path, steps=6)
    with pytest.raises(CheckpointMismatchError, match=message):
        fit(tiny_trainer(), images, tmp_path, resume=True, **change)


def test_resume_refuses_other_data_and_another_architecture(images, tmp_path) -> None:
    fit(tiny_trainer(), images, tmp_path, steps=2)
    with pytest.raises(CheckpointMismatchError, match="images_sha256"):
        fit(tiny_trainer(), images[::-1], tmp_path, resume=True)
    wider = tiny_trainer(generator_widths=(24,))
    before = full_state(wider)
    with pytest.raises(CheckpointMismatchError, match="another architecture"):
        fit(wider, images, tmp_path, resume=True)
    assert_same_state(full_state(wider), before)  # nothing half-restored
    with pytest.raises(CheckpointMismatchError, match="ema_decay"):
        fit(tiny_trainer(ema_decay=None), images, tmp_path, resume=True)


def test_a_new_learning_rate_is_kept_and_announced(images, tmp_path) -> None:
    fit(tiny_trainer(), images, tmp_path, steps=4)
    trainer = tiny_trainer(learning_rate=1e-4)
    with pytest.warns(UserWarning, match="learning rate is 0.0001 here, 0.0002"):
        fit(trainer, images, tmp_path, steps=6, resume=True)
    assert float(trainer.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-4)


# --- atomic writes -------------------------------------------------------------------------


def test_a_save_that_fails_midway_leaves_the_previous_checkpoints_intact(
    images, tmp_path, monkeypatch
) -> None:
    fit(tiny_trainer(), images, tmp_path, steps=12, checkpoint_every=6)
    before = {
        p.name: (p / "arrays.npz").read_bytes() for _, p in checkpoints.list_checkpoints(tmp_path)
    }

    def disk_full(path: Path, body: dict) -> None:
        path.write_text('{"sha256": "', encoding="utf-8")  # half a file, then the failure
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "_write_meta", disk_full)
    # Resumed from step 12, the save at step 18 fails; so does the first save of a new run.
    with pytest.raises(OSError, match="No space"):
        fit(tiny_trainer(), images, tmp_path, steps=18, checkpoint_every=6, resume=True)
    with pytest.raises(OSError, match="No space"):
        fit(tiny_trainer(), images, tmp_path / "other", steps=6, checkpoint_every=6)
    monkeypatch.undo()

    assert {p.name for p in tmp_path.iterdir()} == {*before, "other"}
    for name, data in before.items():
        assert (tmp_path / name / "arrays.npz").read_bytes() == data
        checkpoints.load_checkpoint(tmp_path / name)  # still complete and verified
    assert list((tmp_path / "other").iterdir()) == []  # no half checkpoint left behind


def test_replacing_a_checkpoint_of_the_same_step_is_atomic(tmp_path, monkeypatch) -> None:
    checkpoints.save_checkpoint(tmp_path, 5, {"a": np.arange(3)}, {"note": "old"})
    monkeypatch.setattr(checkpoints, "_write_meta", lambda path, body: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        checkpoints.save_checkpoint(tmp_path, 5, {"a": np.arange(4)}, {"note": "new"})
    monkeypatch.undo()
    kept = checkpoints.load_checkpoint(tmp_path / "step-000000005")
    assert kept.meta == {"note": "old"} and kept.arrays["a"].tolist() == [0, 1, 2]
    checkpoints.save_checkpoint(tmp_path, 5, {"a": np.arange(4)}, {"note": "new"})
    assert checkpoints.load_checkpoint(tmp_path / "step-000000005").meta == {"note": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["step-000000005"]


def test_object_arrays_are_refused(tmp_path) -> None:
    with pytest.raises(TypeError, match="Python objects"):
        checkpoints.save_checkpoint(tmp_path, 1, {"a": np.array([{}], dtype=object)}, {})


# --- damaged checkpoints -------------------------------------------------------------------


def _truncate(folder: Path) -> None:
    path = folder / "arrays.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(folder: Path) -> None:
    path = folder / "arrays.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _garble_meta(folder: Path) -> None:
    (folder / "meta.json").write_text("{ not json", encoding="utf-8")


def _edit_meta(folder: Path) -> None:
    envelope = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    envelope["meta"]["run"]["seed"] = 12
    (folder / "meta.json").write_text(json.dumps(envelope), encoding="utf-8")


def _delete_arrays(folder: Path) -> None:
    (folder / "arrays.npz").unlink()


DAMAGE = {
    "truncated": (_truncate, "arrays.npz does not match its checksum"),
    "bit flip": (_flip_a_byte, "arrays.npz does not match its checksum"),
    "garbled meta": (_garble_meta, "meta.json is not complete JSON"),
    "edited meta": (_edit_meta, "meta.json does not match its checksum"),
    "missing arrays": (_delete_arrays, "arrays.npz unreadable"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_latest_falls_back_to_the_previous_one(images, unbroken, tmp_path, damage) -> None:
    trainer = tiny_trainer()
    with pytest.raises(Interrupted):
        fit(trainer, images, tmp_path, checkpoint_every=6, on_step=interrupt_at(13))
    damage_it, problem = DAMAGE[damage]
    damage_it(tmp_path / "step-000000012")
    trainer = tiny_trainer()
    with pytest.warns(CheckpointWarning) as warned:
        history = fit(trainer, images, tmp_path, checkpoint_every=6, resume=True)
    message = str(warned[0].message)
    assert "step-000000012" in message and problem in message
    assert "previous good one, step-000000006 (step 6)" in message
    assert trainer.resumed_from_step == 6
    state, expected_history = unbroken
    assert history.as_dict() == expected_history
    assert_same_state(full_state(trainer), state)
    checkpoints.load_checkpoint(tmp_path / "step-000000012")  # rewritten, good again


def test_a_damaged_newer_checkpoint_never_pushes_out_the_good_ones(tmp_path) -> None:
    for step in (2, 4):
        checkpoints.save_checkpoint(tmp_path, step, {"a": np.arange(step)}, {}, keep=2)
    _garble_meta(tmp_path / "step-000000004")
    with pytest.warns(CheckpointWarning, match="step-000000004"):
        assert checkpoints.load_latest_checkpoint(tmp_path).step == 2
    checkpoints.save_checkpoint(tmp_path, 3, {"a": np.arange(3)}, {}, keep=1)
    assert [s for s, _ in checkpoints.list_checkpoints(tmp_path)] == [3, 4]
    with pytest.warns(CheckpointWarning, match="previous good one, step-000000003"):
        assert checkpoints.load_latest_checkpoint(tmp_path).step == 3


def test_no_usable_checkpoint_is_said_clearly(images, tmp_path) -> None:
    fit(tiny_trainer(), images, tmp_path, steps=12, checkpoint_every=6)
    _truncate(tmp_path / "step-000000006")
    _garble_meta(tmp_path / "step-000000012")
    with pytest.raises(NoUsableCheckpointError) as caught:
        fit(tiny_trainer(), images, tmp_path, steps=12, resume=True)
    message = str(caught.value)
    assert "No usable checkpoint" in message and "all 2 are damaged" in message
    assert "step-000000006: arrays.npz does not match" in message
    assert "step-000000012: meta.json is not complete JSON" in message
    assert "delete that folder" in message


# --- a real crash: kill -9 in another process ----------------------------------------------


def _worker(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **kwargs,
    )


@pytest.mark.slow
def test_killed_process_resumed_in_another_equals_unbroken(tmp_path) -> None:
    data = tmp_path / "images.npy"
    np.save(data, np.random.default_rng(4).uniform(-1, 1, (256, 28, 28, 1)).astype(np.float32))
    common = ["--images", str(data), "--steps", "30", "--every", "4"]
    unbroken = _worker([*common, "--out", str(tmp_path / "unbroken.npz")])
    ckpt = ["--dir", str(tmp_path / "ckpt")]
    doomed = _worker([*common, *ckpt, "--out", str(tmp_path / "never.npz"), "--sleep", "0.1"])
    deadline = time.monotonic() + 120
    while len(checkpoints.list_checkpoints(tmp_path / "ckpt")) < 2:
        assert doomed.poll() is None, doomed.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    os.kill(doomed.pid, signal.SIGKILL)
    assert doomed.wait(timeout=30) == -signal.SIGKILL
    assert not (tmp_path / "never.npz").exists()
    killed_at = checkpoints.list_checkpoints(tmp_path / "ckpt")[-1][0]
    assert 8 <= killed_at < 30

    resumed = _worker([*common, *ckpt, "--out", str(tmp_path / "resumed.npz"), "--resume"])
    for process in (resumed, unbroken):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()[-3000:]
    with (
        np.load(tmp_path / "unbroken.npz", allow_pickle=False) as a,
        np.load(tmp_path / "resumed.npz", allow_pickle=False) as b,
    ):
        assert a.files == b.files and len(a.files) > 20
        assert int(b["resumed_from_step"]) == killed_at
        for name in a.files:
            if name != "resumed_from_step":
                assert np.array_equal(a[name], b[name]), name
