"""``GAN`` and ``ConditionalGAN`` under ``MirroredStrategy``: two devices train as one does.

The distributed half runs in a subprocess (this file run as a script): TensorFlow fixes its
devices when it initialises, so the two logical CPUs that stand in for two GPUs must be
declared before anything else touches TensorFlow, which pytest's process has long done.
The subprocess trains each model from the same weights on the same global batches twice, on
one device and mirrored on two, and the test compares every step's losses and verdicts.

What a replica cannot match, the test takes out, and says why:

- Dropout is 0 in the discriminator. Each replica draws its dropout masks for its own half of
  the batch from the same seed state, so no pair of replica masks equals the one mask a
  single device draws for the whole batch. With dropout on, a mirrored run still trains; it
  is only not comparable step by step.
- The generator's batch normalisation is ``synchronized=True``. By default each replica
  normalises its half of the batch by that half's own mean and variance, a (usually harmless)
  difference from one device, which normalises over the global batch.

``GAN`` itself handles the rest: it is built, builds its optimisers in ``compile`` (inside
the strategy's scope), reports the global mean loss, and each replica keeps its own rows of
latents drawn for the whole global batch (``GAN.draw``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPLICAS = 2
GLOBAL_BATCH = 16  # real digits per step, 8 on each replica
STEPS = 6
SEED = 3
# The two runs may differ only by float rounding: one device takes the mean over 16 images
# in one reduction, two replicas add two means over 8, and Adam turns last-bit differences of
# near-zero gradients into small weight differences. Measured here: at most 1.2e-7 in any
# logged value over the 6 steps (2e-5 on other data); the tolerance leaves room for that.
TOLERANCE = 1e-4


def _train(model: str, strategy_name: str) -> dict[str, Any]:
    """Train a fresh ``model`` ("dcgan" or "cdcgan") for STEPS steps; its per-step logs."""
    import keras
    import tensorflow as tf

    from gan_helpers.gan import GAN, ConditionalGAN, StepHistory, adam
    from gan_helpers.models import (
        build_conditional_discriminator,
        build_conditional_generator,
        build_discriminator,
        build_generator,
    )
    from gan_helpers.reproducibility import seed_everything

    def synchronized(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if isinstance(layer, keras.layers.BatchNormalization):
            config["synchronized"] = True
        return type(layer).from_config(config)

    if strategy_name == "mirrored":
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices[:REPLICAS])
    else:
        strategy = tf.distribute.get_strategy()  # the default: one device, no replicas

    seed_everything(SEED)
    rng = np.random.default_rng(SEED)
    images = rng.uniform(-1, 1, (STEPS * GLOBAL_BATCH, 28, 28, 1)).astype(np.float32)
    digits = rng.integers(0, 10, STEPS * GLOBAL_BATCH).astype(np.int32)
    conditional = model == "cdcgan"
    data = (images, digits) if conditional else images
    batches = tf.data.Dataset.from_tensor_slices(data).batch(GLOBAL_BATCH)
    with strategy.scope():
        if conditional:
            kind = ConditionalGAN
            generator = build_conditional_generator()
            discriminator = build_conditional_discriminator(dropout=0.0)
        else:
            kind = GAN
            generator, discriminator = build_generator(), build_discriminator(dropout=0.0)
        generator = keras.models.clone_model(generator, clone_function=synchronized)
        gan = kind(generator, discriminator, seed=SEED)
        gan.compile(d_optimizer=adam(), g_optimizer=adam())
    history = StepHistory()
    gan.fit(batches, epochs=1, verbose=0, callbacks=[history])
    return {"replicas": strategy.num_replicas_in_sync, "history": history.history}


MODELS = ("dcgan", "cdcgan")
STRATEGIES = ("one", "mirrored")


def main(model: str, out: Path) -> None:
    """Declare the logical devices, train ``model`` on one and on two, write both runs."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS
    )
    out.write_text(json.dumps({strategy: _train(model, strategy) for strategy in STRATEGIES}))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``runs[model][strategy]``: each model in a process of its own (a second
    MirroredStrategy in one process aborts its collective ops)."""
    folder = tmp_path_factory.mktemp("distributed")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    found = {}
    for model in MODELS:
        out = folder / f"{model}.json"
        done = subprocess.run(
            [sys.executable, __file__, model, str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        found[model] = json.loads(out.read_text())
    return found


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_the_mirrored_run_has_two_replicas(runs: dict[str, Any], model: str) -> None:
    assert runs[model]["one"]["replicas"] == 1
    assert runs[model]["mirrored"]["replicas"] == REPLICAS


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", ["d_loss", "g_loss", "d_real", "d_fake"])
def test_two_replicas_log_what_one_device_logs_at_every_step(
    runs: dict[str, Any], model: str, name: str
) -> None:
    one = np.array(runs[model]["one"]["history"][name])
    mirrored = np.array(runs[model]["mirrored"]["history"][name])
    assert len(one) == len(mirrored) == STEPS
    np.testing.assert_allclose(mirrored, one, rtol=0, atol=TOLERANCE)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
