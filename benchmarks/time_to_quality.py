"""Quality against training time: the conditional DCGAN, the DCGAN and a dense conditional GAN.

Each model is trained as ``make pretrain`` trains it (``GAN.fit`` on the same batches, op
determinism on, the weight average kept) for ``--minutes`` of training, one model after the
other, and its weight average is scored with ``gan_helpers.evaluation.evaluate_generator`` at
each of ``--checkpoints`` (minutes of training; 10,000 samples). The clock stops while the
generator is scored, so every model gets exactly the same training minutes. The dense model is
``benchmarks/dense_conditional.py``.

Prints a table as the run goes, writes every row as JSON (``artifacts/benchmarks/
time_to_quality.json``, rewritten after each model, so a crash keeps what was measured) and
draws score and Fréchet ratio against minutes (``docs/dcgan_time_to_quality.png``; ``--plot``).
Run: ``make bench-quality`` (over an hour with the defaults: three models, 20 minutes each,
plus the scoring), or e.g. ``BENCH_ARGS="--models cdcgan --minutes 5"``.
``benchmarks/five_minutes.py`` repeats short runs over seeds with the same code.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from dense_conditional import DENSE_CONDITIONAL

from gan_helpers.data import load_mnist, to_model_range
from gan_helpers.evaluation import evaluate_generator
from gan_helpers.gan import WeightAverage
from gan_helpers.paths import artifacts_dir, project_root
from gan_helpers.pretrained import MODELS, ModelSpec, batches
from gan_helpers.reproducibility import SEED

SPECS: dict[str, ModelSpec] = {
    "cdcgan": MODELS["cdcgan"],
    "dcgan": MODELS["dcgan"],
    "dense-cgan": DENSE_CONDITIONAL,
}


class StopAt(keras.callbacks.Callback):
    """Stops ``fit()`` after the batch at which ``seconds()`` reaches ``budget``."""

    def __init__(self, seconds: Callable[[], float], budget: float) -> None:
        super().__init__()
        self.seconds, self.budget = seconds, budget

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.seconds() >= self.budget:
            self.model.stop_training = True


def train_and_score(
    name: str,
    checkpoints: list[float],
    seed: int,
    samples: int,
    mnist: Any,
) -> list[dict[str, Any]]:
    """Train model ``name`` up to each of ``checkpoints`` (minutes) in turn; score at each.

    Returns one row per checkpoint, each also printed as a line of the table as soon as it is
    scored.
    """
    spec = SPECS[name]
    tf.config.experimental.enable_op_determinism()  # as make pretrain trains
    gan = spec.gan(seed)
    average = WeightAverage(gan.generator, spec.average_decay)
    arrays = [to_model_range(mnist.x_train)]
    if spec.conditional:
        arrays.append(mnist.y_train.astype(np.int32))
    per_epoch = len(arrays[0]) // spec.batch_size
    trained = 0.0  # seconds of training so far; the clock runs only inside fit()
    rows = []
    for minutes in checkpoints:
        while trained < minutes * 60:
            step = int(gan.d_optimizer.iterations)
            began = time.perf_counter()

            def clock(before: float = trained, began: float = began) -> float:
                return before + time.perf_counter() - began

            # One epoch's batches at a time, the batches make pretrain would train on.
            data = batches(arrays, spec.batch_size, seed, step, step + per_epoch)
            gan.fit(data, epochs=1, verbose=0, callbacks=[average, StopAt(clock, minutes * 60)])
            trained = clock()
        metrics = evaluate_generator(average.average, n_samples=samples)
        fractions = np.asarray(metrics["class_fractions"])
        rows.append(
            {
                "model": name,
                "seed": seed,
                "minutes": minutes,
                "trained_seconds": round(trained, 1),
                "steps": int(gan.d_optimizer.iterations),
                "samples": samples,
                "classifier_score": metrics["classifier_score"],
                "fd_ratio": metrics["fd_ratio"],
                "class_kl": metrics["class_kl"],
                "min_class": float(fractions.min()),
                "max_class": float(fractions.max()),
                "digit_accuracy": metrics.get("digit_accuracy"),
                "nn_distance": metrics["nn_distance_generated_mean"],
                "nn_distance_test": metrics["nn_distance_test_mean"],
                "near_copy_share": metrics["near_copy_share"],
            }
        )
        print(format_row(rows[-1]), flush=True)
    return rows


HEADER = (
    f"{'model':10} {'seed':>4} {'min':>5} {'sec':>5} {'steps':>6} {'score':>6} {'FD/floor':>8} "
    f"{'KL':>6} {'class %':<10} {'asked':>6} {'NN':>5}"
)


def format_row(row: dict[str, Any]) -> str:
    asked = row["digit_accuracy"]
    return (
        f"{row['model']:10} {row['seed']:>4} {row['minutes']:>5g} {row['trained_seconds']:>5.0f} "
        f"{row['steps']:>6} "
        f"{row['classifier_score']:>6.2f} {row['fd_ratio']:>8.1f} {row['class_kl']:>6.3f} "
        f"{100 * row['min_class']:>4.1f}-{100 * row['max_class']:<5.1f} "
        f"{'-' if asked is None else f'{100 * asked:.1f}':>6} {row['nn_distance']:>5.2f}"
    )


LEGEND = (
    "sec: seconds of training at the mark (the clock runs only inside fit); "
    "score: classifier score (max 10); FD/floor: Fréchet distance over the real-data floor "
    "(1 = real digits); KL: predicted-digit balance (0 = even); class %: rarest and commonest "
    "digit; asked: % read as the digit asked for (conditional models); NN: mean distance to "
    "the nearest training digit (real test digits: printed at the end)"
)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Score and Fréchet ratio against training minutes, one line per model and seed."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    measures = {
        "classifier_score": "classifier score (max 10)",
        "fd_ratio": "Fréchet distance / real-data floor",
    }
    runs = dict.fromkeys((row["model"], row["seed"]) for row in rows)
    for ax, (key, label) in zip(axes, measures.items(), strict=True):
        for name, seed in runs:
            mine = [row for row in rows if (row["model"], row["seed"]) == (name, seed)]
            ax.plot(
                [row["minutes"] for row in mine],
                [row[key] for row in mine],
                marker="o",
                label=f"{name} (seed {seed})",
            )
        ax.set(xlabel="training minutes (2-core CPU)", ylabel=label)
    axes[1].set_yscale("log")
    axes[0].legend(frameon=False, fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def minutes_list(text: str) -> list[float]:
    """``"2,5,10,20"`` -> ``[2.0, 5.0, 10.0, 20.0]``."""
    return sorted(float(part) for part in text.split(",") if part.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument("--minutes", type=float, default=20, help="training minutes per model")
    parser.add_argument(
        "--checkpoints",
        type=minutes_list,
        default=[2, 5, 10, 20],
        help="comma-separated training minutes at which to score (those past --minutes are "
        "dropped; --minutes itself is always scored)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--samples", type=int, default=10_000, help="samples per evaluation")
    parser.add_argument(
        "--out", type=Path, default=artifacts_dir("benchmarks") / "time_to_quality.json"
    )
    parser.add_argument(
        "--plot", type=Path, default=project_root() / "docs/dcgan_time_to_quality.png"
    )
    parser.add_argument(
        "--replot", action="store_true", help="train nothing: redraw the plot from --out"
    )
    args = parser.parse_args()
    if args.replot:
        plot(json.loads(args.out.read_text()), args.plot)
        print(f"redrew {args.plot} from {args.out}")
        return
    checkpoints = sorted({m for m in args.checkpoints if m < args.minutes} | {args.minutes})

    mnist = load_mnist()
    print(f"one run per model, scored at {', '.join(f'{m:g}' for m in checkpoints)} minutes")
    print(LEGEND)
    print(HEADER)
    rows: list[dict[str, Any]] = []
    for name in args.models:
        rows += train_and_score(name, checkpoints, args.seed, args.samples, mnist)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
        plot(rows, args.plot)
    print(f"NN of {args.samples:,} real test digits: {rows[0]['nn_distance_test']:.2f}")
    print(f"saved {args.out} and {args.plot}")


if __name__ == "__main__":
    main()
