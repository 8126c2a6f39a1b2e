"""Time to quality: each recipe trained for fixed wall-clock budgets, evaluated at each one.

The training clock stops while the generator is evaluated, so every recipe gets exactly the
same training minutes. Prints a table, and saves a plot of classifier score and Fréchet
distance (as a multiple of the real-data floor) against minutes, plus the raw numbers as
JSON, under ``artifacts/benchmarks/``. Run: ``make bench-quality`` (about 45 minutes with
the defaults: two recipes, 20 minutes each, one seed), or choose ``--minutes`` and
``--seeds``, e.g. ``--recipes conditional --minutes 5 --seeds 0 1 2`` for the collapse check.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import gan_helpers
from gan_helpers.data import load_mnist, training_images, training_labels
from gan_helpers.evaluation import evaluate_generator
from gan_helpers.paths import artifacts_dir
from gan_helpers.training import DEFAULT_RECIPE, RECIPES


def run(
    recipe_name: str, minutes: list[float], seed: int, samples: int, images, labels
) -> list[dict]:
    """Train one recipe up to each budget in turn; evaluate at each."""
    recipe = RECIPES[recipe_name]
    gan_helpers.seed_everything(seed)
    trainer = recipe.trainer()
    trained_seconds, steps, rows = 0.0, 0, []
    for budget in minutes:
        history = trainer.fit(
            images,
            labels,  # used by conditional recipes only
            steps=10**9,
            batch_size=recipe.batch_size,
            seed=seed + steps,  # a fresh shuffle for each leg, still determined by the seed
            progress=False,
            max_seconds=budget * 60 - trained_seconds,
        )
        trained_seconds = budget * 60
        steps += len(history)
        generator = trainer.ema_generator or trainer.generator
        metrics = evaluate_generator(generator, n_samples=samples, seed=1)
        fractions = np.asarray(metrics["class_fractions"])
        rows.append(
            {
                "recipe": recipe_name,
                "seed": seed,
                "minutes": budget,
                "steps": steps,
                "classifier_score": metrics["classifier_score"],
                "fd_ratio": metrics["fd_ratio"],
                "frechet_distance": metrics["frechet_distance"],
                "frechet_floor": metrics["frechet_floor"],
                "class_kl": metrics["class_kl"],
                "min_class": float(fractions.min()),
                "max_class": float(fractions.max()),
                "nn_distance": metrics["nn_distance_generated_mean"],
                "nn_distance_test": metrics["nn_distance_test_mean"],
                "near_copy_share": metrics["near_copy_share"],
            }
        )
        print(format_row(rows[-1]), flush=True)
    return rows


def format_row(row: dict) -> str:
    return (
        f"{row['recipe']:12} {row['seed']:>4} {row['minutes']:>6g} {row['steps']:>7} "
        f"{row['classifier_score']:>6.2f} {row['fd_ratio']:>8.1f} {row['class_kl']:>7.3f} "
        f"{100 * row['min_class']:>5.1f}-{100 * row['max_class']:.1f}% "
        f"{row['nn_distance']:>5.2f} {100 * row['near_copy_share']:>6.2f}%"
    )


# The goals, drawn on the plot so a curve can be read against them at a glance.
FIVE_MINUTE_GOALS = {"classifier_score": 8.5, "fd_ratio": 40.0}
SHIPPED_GOALS = {"classifier_score": 9.5, "fd_ratio": 5.0}


def plot(rows: list[dict], path: Path) -> None:
    """Score and Fréchet ratio against training minutes, one line per recipe and seed."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    measures = {
        "classifier_score": "classifier score (max 10)",
        "fd_ratio": "Fréchet distance / real floor",
    }
    runs = dict.fromkeys((r["recipe"], r["seed"]) for r in rows)
    for ax, (key, ylabel) in zip(axes, measures.items(), strict=True):
        for name, seed in runs:
            mine = [r for r in rows if (r["recipe"], r["seed"]) == (name, seed)]
            ax.plot(
                [r["minutes"] for r in mine],
                [r[key] for r in mine],
                marker="o",
                label=f"{name} (seed {seed})",
            )
        for goals, style, when in (
            (FIVE_MINUTE_GOALS, ":", "5-minute"),
            (SHIPPED_GOALS, "--", "shipped"),
        ):
            ax.axhline(goals[key], color="grey", linestyle=style, linewidth=1, label=f"{when} goal")
        ax.set(xlabel="training minutes", ylabel=ylabel)
    axes[1].set_yscale("log")
    axes[0].legend(frameon=False, fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--recipes", nargs="+", default=[DEFAULT_RECIPE, "seed"], choices=sorted(RECIPES)
    )
    parser.add_argument("--minutes", nargs="+", type=float, default=[2, 5, 10, 20])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--samples", type=int, default=10_000, help="images per evaluation")
    parser.add_argument(
        "--replot",
        action="store_true",
        help="train nothing: redraw the plot from the last run's JSON",
    )
    args = parser.parse_args()
    out = artifacts_dir("benchmarks")
    if args.replot:
        saved = out / "time_to_quality.json"
        if not saved.exists():
            parser.error(f"--replot needs {saved}: run the benchmark once first")
        rows = json.loads(saved.read_text())
        plot(rows, out / "time_to_quality.png")
        print(f"redrew {out / 'time_to_quality.png'}")
        return

    mnist = load_mnist()
    images, labels = training_images(mnist), training_labels(mnist)
    print(
        f"{'recipe':12} {'seed':>4} {'min':>6} {'steps':>7} {'score':>6} {'FD/floor':>8} "
        f"{'KL':>7} classes     {'NN':>5} {'copies':>7}"
    )
    print("NN: mean distance to the nearest training digit (real test digits: about 4.26)")
    rows = []
    for seed in args.seeds:
        for name in args.recipes:
            rows += run(name, sorted(args.minutes), seed, args.samples, images, labels)
            # Saved after every recipe, so a crash late in a long run keeps what it measured.
            (out / "time_to_quality.json").write_text(json.dumps(rows, indent=1) + "\n")
            plot(rows, out / "time_to_quality.png")
    print(f"\nsaved {out / 'time_to_quality.png'} and {out / 'time_to_quality.json'}")


if __name__ == "__main__":
    main()
