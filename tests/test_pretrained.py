"""The shipped models load safely, and a bad file gets one clear message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gan_helpers import evaluation, pretrained
from gan_helpers.models import IMAGE_SHAPE
from gan_helpers.paths import project_root
from gan_helpers.training import DEFAULT_RECIPE, RECIPES


def test_the_default_recipe_is_shipped_and_matches_its_record() -> None:
    record = pretrained.pretrained_record()
    generator = pretrained.load_pretrained(DEFAULT_RECIPE, "generator")
    discriminator = pretrained.load_pretrained(DEFAULT_RECIPE, "discriminator")
    assert record["recipe"] == RECIPES[DEFAULT_RECIPE].settings()
    assert isinstance(record["jit_compile"], bool)
    assert record["steps"] > 0 and record["training_seconds"] > 0
    latent = np.random.default_rng(0).standard_normal((4, 100), dtype=np.float32)
    images = generator(latent, training=False).numpy()
    assert images.shape == (4, *IMAGE_SHAPE)
    real_or_fake = discriminator(images, training=False)
    if isinstance(real_or_fake, list | tuple):  # "real?" first, then per category or digit
        real_or_fake = real_or_fake[0]
    assert real_or_fake.shape == (4, 1)
    assert {"classifier_score", "fd_ratio", "class_kl"} <= record["evaluation"].keys()


def test_only_the_default_recipe_is_shipped() -> None:
    # Models of another recipe would be stale: nothing loads them, nothing checks them.
    shipped = {path.stem for path in pretrained.pretrained_dir().glob("*.json")}
    assert shipped == {DEFAULT_RECIPE}


@pytest.fixture
def data_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path))
    # Checkpoints of the training command land here, not in the project's artifacts/.
    monkeypatch.setenv("GAN_TUTORIAL_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    (tmp_path / "pretrained").mkdir()
    return tmp_path / "pretrained"


def test_missing_file_says_how_to_make_it(data_in_tmp: Path) -> None:
    with pytest.raises(pretrained.PretrainedWeightsError, match="make pretrain"):
        pretrained.load_pretrained("fast", "generator")


@pytest.mark.parametrize("content", [b"", b"not a keras file at all", b"PK\x03\x04truncated"])
def test_damaged_file_gets_one_clear_error(data_in_tmp: Path, content: bytes) -> None:
    (data_in_tmp / "fast_generator.keras").write_bytes(content)
    with pytest.raises(pretrained.PretrainedWeightsError) as caught:
        pretrained.load_pretrained("fast", "generator")
    message = str(caught.value)
    assert "fast_generator.keras" in message and "could not be loaded" in message
    assert caught.value.__suppress_context__


def test_training_command_writes_models_and_record(data_in_tmp: Path, monkeypatch) -> None:
    import gan_helpers.pretrained as module

    small = np.random.default_rng(0).uniform(-1, 1, (256, *IMAGE_SHAPE)).astype(np.float32)
    monkeypatch.setattr(module, "training_images", lambda: small)
    assert module.main(["--recipe", "mlp", "--epochs", "1", "--no-evaluate"]) == 0
    record = json.loads((data_in_tmp / "mlp.json").read_text())
    assert record["steps"] == 4 and record["epochs"] == 1 and record["jit_compile"] is True
    assert record["command"].startswith("python -m gan_helpers.pretrained --recipe mlp")
    assert pretrained.load_pretrained("mlp", "generator").output_shape == (None, *IMAGE_SHAPE)


def test_training_command_gives_a_conditional_recipe_the_labels(
    data_in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gan_helpers.pretrained as module

    rng = np.random.default_rng(0)
    small = rng.uniform(-1, 1, (256, *IMAGE_SHAPE)).astype(np.float32)
    digits = rng.integers(0, 10, 256).astype(np.int32)
    asked = []
    monkeypatch.setattr(module, "training_images", lambda: small)
    monkeypatch.setattr(module, "training_labels", lambda: asked.append(True) or digits)
    assert module.main(["--recipe", "conditional", "--epochs", "1", "--no-evaluate"]) == 0
    record = json.loads((data_in_tmp / "conditional.json").read_text())
    assert asked == [True] and record["steps"] == 4 and record["recipe"]["conditional"] is True


def test_training_command_resumes_to_the_same_weights(
    data_in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import gan_helpers.pretrained as module

    small = np.random.default_rng(0).uniform(-1, 1, (256, *IMAGE_SHAPE)).astype(np.float32)
    monkeypatch.setattr(module, "training_images", lambda: small)
    quick = ["--recipe", "mlp", "--no-evaluate", "--checkpoint-every", "3"]

    def shipped_weights() -> list[np.ndarray]:
        return [
            w.numpy()
            for role in ("generator", "discriminator")
            for w in pretrained.load_pretrained("mlp", role).weights
        ]

    # An unbroken 2-epoch run (8 steps), then the same run in two legs: 1 epoch, resume.
    monkeypatch.setenv("GAN_TUTORIAL_ARTIFACTS_DIR", str(data_in_tmp / "unbroken"))
    assert module.main([*quick, "--epochs", "2"]) == 0
    unbroken = shipped_weights()
    monkeypatch.setenv("GAN_TUTORIAL_ARTIFACTS_DIR", str(data_in_tmp / "legs"))
    assert module.main([*quick, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert module.main([*quick, "--epochs", "2"]) == 1  # no silent restart over old checkpoints
    assert "already holds checkpoints" in capsys.readouterr().err
    assert module.main([*quick, "--epochs", "2", "--resume"]) == 0
    assert "resumed from step 4" in capsys.readouterr().out
    record = json.loads((data_in_tmp / "mlp.json").read_text())
    assert record["steps"] == 8 and record["resumed_from_step"] == 4
    resumed = shipped_weights()
    assert all(np.array_equal(a, b) for a, b in zip(unbroken, resumed, strict=True))
    checkpoint_dir = data_in_tmp / "legs" / "checkpoints" / "mlp-seed42"
    assert [p.name for p in sorted(checkpoint_dir.iterdir())] == [
        "step-000000003",
        "step-000000004",
        "step-000000006",
        "step-000000008",
    ][-3:]


def test_evaluate_only_rescores_the_shipped_generator_and_keeps_the_rest(
    data_in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import gan_helpers.pretrained as module

    small = np.random.default_rng(0).uniform(-1, 1, (256, *IMAGE_SHAPE)).astype(np.float32)
    monkeypatch.setattr(module, "training_images", lambda: small)
    monkeypatch.setattr(module, "EVALUATION_SAMPLES", 200)
    # The evaluation needs the real MNIST and the shipped classifier beside the models.
    project_data = project_root() / "data"
    classifier_files = (evaluation.CLASSIFIER_FILENAME, evaluation.CLASSIFIER_RECORD_FILENAME)
    for name in ("mnist.npz", *classifier_files):
        (data_in_tmp.parent / name).symlink_to(project_data / name)
    assert module.main(["--recipe", "mlp", "--epochs", "1", "--no-evaluate"]) == 0
    before = json.loads((data_in_tmp / "mlp.json").read_text())
    model_bytes = (data_in_tmp / "mlp_generator.keras").read_bytes()
    capsys.readouterr()

    assert module.main(["--recipe", "mlp", "--evaluate-only"]) == 0
    assert "Near copies" in capsys.readouterr().out
    after = json.loads((data_in_tmp / "mlp.json").read_text())
    assert after.pop("evaluation")["n_samples"] == 200
    assert after == before
    assert (data_in_tmp / "mlp_generator.keras").read_bytes() == model_bytes


def test_evaluate_only_without_a_shipped_model_says_how_to_make_it(
    data_in_tmp: Path, capsys: pytest.CaptureFixture
) -> None:
    assert pretrained.main(["--recipe", "mlp", "--evaluate-only"]) == 1
    assert "make pretrain" in capsys.readouterr().err
