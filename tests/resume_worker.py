"""A tiny training run in its own process, for tests/test_checkpoints.py to kill and resume.

python tests/resume_worker.py --images X.npy --steps N --every K --out OUT.npz
    [--dir CHECKPOINTS] [--resume] [--sleep SECONDS]

Trains a tiny GAN on the images in X.npy (seeded, so every process starts from the same
weights) and writes every variable of the final training state to OUT.npz. ``--sleep``
slows each step down so that the test can kill the process half-way. The test module
imports :func:`tiny_trainer` from here for its in-process runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from gan_helpers.models import build_light_dcgan_discriminator, build_mlp_generator
from gan_helpers.reproducibility import seed_everything
from gan_helpers.training import GANTrainer, seed_optimizer


def tiny_trainer(
    ema_decay: float | None = 0.9,
    learning_rate: float = 2e-4,
    generator_widths: tuple[int, ...] = (16,),
    jit_compile: bool = False,
) -> GANTrainer:
    """The tiny GAN of the resume tests, seeded: every call starts from the same weights.

    It has every kind of state a resume must restore: batch-norm statistics, dropout seeds,
    Adam slots and a weight average. tests/test_checkpoints.py builds its in-process runs
    here too, so the killed process and the other tests train one and the same model.
    """
    seed_everything(5)
    return GANTrainer(
        build_mlp_generator(latent_dim=8, widths=generator_widths),
        build_light_dcgan_discriminator(filters=(4, 8)),
        d_optimizer=seed_optimizer(learning_rate),
        g_optimizer=seed_optimizer(learning_rate),
        real_label=0.9,
        ema_decay=ema_decay,
        jit_compile=jit_compile,
    )


def main() -> None:
    """Parse the arguments, train, save the final state."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--every", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()

    trainer = tiny_trainer()
    images = np.load(args.images, allow_pickle=False)
    history = trainer.fit(
        images,
        steps=args.steps,
        batch_size=32,
        seed=11,
        progress=False,
        checkpoint_dir=args.dir,
        checkpoint_every=args.every,
        resume=args.resume,
        on_step=(lambda step, metrics: time.sleep(args.sleep)) if args.sleep else None,
    )
    state = {}
    for group, model in [
        ("generator", trainer.generator),
        ("discriminator", trainer.discriminator),
        ("d_optimizer", trainer.d_optimizer),
        ("g_optimizer", trainer.g_optimizer),
        ("ema_generator", trainer.ema_generator),
    ]:
        for index, variable in enumerate(model.variables):
            state[f"{group}.{index:03d}"] = np.asarray(variable.numpy())
    for name, values in history.as_dict().items():
        state[f"history.{name}"] = np.asarray(values)
    resumed = trainer.resumed_from_step
    state["resumed_from_step"] = np.asarray(-1 if resumed is None else resumed)
    np.savez(args.out, **state)


if __name__ == "__main__":
    main()
