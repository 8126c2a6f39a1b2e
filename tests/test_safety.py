"""Bad input gets a clear error: latent vectors for generate(), and model files (no code runs)."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from gan_helpers import model_files, models, pretrained
from gan_helpers.model_files import PretrainedWeightsError, load_model_file

# --- generate --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generator() -> keras.Model:
    return models.build_generator(latent_dim=8, filters=(4, 4))


@pytest.fixture(scope="module")
def conditional() -> keras.Model:
    return models.build_conditional_generator(latent_dim=8, filters=(4, 4))


def test_generate_runs_the_generator_in_inference_mode(generator: keras.Model) -> None:
    latent = np.random.default_rng(0).standard_normal((5, 8))  # float64 is accepted
    images = models.generate(generator, latent, batch_size=2)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    expected = generator(latent.astype(np.float32), training=False).numpy()
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)
    # training=True would normalise with this batch's statistics and draw other images.
    assert not np.allclose(images, generator(latent.astype(np.float32), training=True))


@pytest.mark.parametrize(
    ("latent", "error", "message"),
    [
        (
            np.zeros((4, 7), np.float32),
            ValueError,
            r"must have shape \(n, 8\), got \(4, 7\)",
        ),
        (np.zeros(8, np.float32), ValueError, r"got \(8,\) \(one vector\? use latent\[np.newaxis"),
        (np.zeros((2, 4, 8), np.float32), ValueError, r"shape \(n, 8\).*got \(2, 4, 8\)"),
        (np.zeros((0, 8), np.float32), ValueError, r"shape \(n, 8\), got \(0, 8\)"),
        (np.zeros((4, 8), np.int64), TypeError, "latent vectors must be floats, got dtype int64"),
        (np.array([["a"] * 8]), TypeError, "must be floats, got dtype <U1"),
        (np.full((3, 8), np.nan, np.float32), ValueError, "NaN or infinite values"),
        ([[math.inf] + [0.0] * 7], ValueError, "NaN or infinite values"),
    ],
)
def test_generate_names_bad_latent_vectors(generator, latent, error, message) -> None:
    with pytest.raises(error, match=message):
        models.generate(generator, latent)


def test_generate_asks_a_conditional_generator_for_digits(conditional, generator) -> None:
    latent = np.zeros((3, 8), np.float32)
    assert models.generate(conditional, latent, 7).shape == (3, 28, 28, 1)  # one digit for all
    assert models.generate(conditional, latent, [0, 1, 2]).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="draws the digit it is given: pass digits="):
        models.generate(conditional, latent)
    with pytest.raises(ValueError, match="digits must be whole numbers from 0 to 9"):
        models.generate(conditional, latent, [0, 1, 10])
    with pytest.raises(ValueError, match="generator is not conditional: leave out digits"):
        models.generate(generator, latent, 3)


# --- model files -----------------------------------------------------------------------------

PAIRS = {
    "dcgan": (models.build_generator, models.build_discriminator),
    "cdcgan": (models.build_conditional_generator, models.build_conditional_discriminator),
}


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_each_player_loads_in_its_role_and_is_refused_in_the_other(kind, tmp_path) -> None:
    build_generator, build_discriminator = PAIRS[kind]
    build_generator().save(tmp_path / "g.keras")
    build_discriminator().save(tmp_path / "d.keras")
    assert load_model_file(tmp_path / "g.keras", "generator").output_shape == (None, 28, 28, 1)
    assert load_model_file(tmp_path / "d.keras", "discriminator").output_shape == (None, 1)
    with pytest.raises(PretrainedWeightsError) as caught:
        load_model_file(tmp_path / "d.keras", "generator", fix="Retrain it.")
    message = str(caught.value)
    assert "d.keras holds a model that maps" in message
    assert "which is what a discriminator does; a generator maps" in message
    assert "another architecture than its name says. Retrain it." in message
    with pytest.raises(PretrainedWeightsError, match="what a generator does; a discriminator"):
        load_model_file(tmp_path / "g.keras", "discriminator")


def test_a_model_that_is_neither_player_is_refused(tmp_path) -> None:
    keras.Sequential([keras.Input((5,)), layers.Dense(3)]).save(tmp_path / "m.keras")
    with pytest.raises(PretrainedWeightsError, match=r"maps \(None, 5\) to \(None, 3\); a gen"):
        load_model_file(tmp_path / "m.keras", "generator")
    with pytest.raises(ValueError, match="role must be one of"):
        load_model_file(tmp_path / "m.keras", "critic")


def test_missing_truncated_and_foreign_files_are_named(tmp_path) -> None:
    path = tmp_path / "g.keras"
    with pytest.raises(PretrainedWeightsError, match=r"g\.keras does not exist\. Fix it"):
        load_model_file(path, fix="Fix it.")
    models.build_generator(latent_dim=8, filters=(4, 4)).save(path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(PretrainedWeightsError, match="could not be loaded: it is truncated"):
        load_model_file(path)
    np.save(tmp_path / "x.npy", np.zeros(3))
    path.write_bytes((tmp_path / "x.npy").read_bytes())
    with pytest.raises(PretrainedWeightsError, match="could not be loaded: it is not a Keras"):
        load_model_file(path)
    path.write_bytes(b"")
    with pytest.raises(PretrainedWeightsError, match="0 bytes, empty") as caught:
        load_model_file(path)
    assert caught.value.__suppress_context__  # one message, no Keras traceback under it


def make_lambda_model(path: Path) -> None:
    model = keras.Sequential([keras.Input((8,)), layers.Lambda(lambda x: x * 2, name="doubler")])
    model.save(path)


@pytest.fixture
def pretrained_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAN_TUTORIAL_DATA_DIR", str(tmp_path))
    (tmp_path / "pretrained").mkdir()
    return tmp_path / "pretrained"


def test_a_file_with_code_is_refused_before_keras_reads_it(pretrained_in_tmp, monkeypatch) -> None:
    make_lambda_model(pretrained_in_tmp / "dcgan_generator.keras")
    read = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: read.append(a))
    with pytest.raises(PretrainedWeightsError) as caught:
        pretrained.load_pretrained("dcgan", "generator")
    message = str(caught.value)
    assert "dcgan_generator.keras contains code (a Lambda layer named 'doubler')" in message
    assert "was not loaded" in message and read == []


def test_keras_safe_mode_is_the_second_line_of_defence(pretrained_in_tmp, monkeypatch) -> None:
    make_lambda_model(pretrained_in_tmp / "dcgan_generator.keras")
    monkeypatch.setattr(model_files, "_code_in_archive", lambda path: [])  # scan defeated
    with pytest.raises(PretrainedWeightsError, match="contains code and was not loaded"):
        pretrained.load_pretrained("dcgan", "generator")
