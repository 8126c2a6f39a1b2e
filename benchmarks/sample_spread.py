"""Sampling noise: a shipped generator scored on several draws of latent vectors.

Every measure of ``gan_helpers.evaluation`` is an estimate from a finite sample of generated
digits. This script scores the same generator on ``--draws`` different sets of latent vectors
(``evaluate_generator`` seeds 42, 43, ...; seed 42 is the draw of the shipped record and of
notebook 10) and prints each draw's measures, then their mean, standard deviation and range.
Differences between models smaller than this spread are not evidence. Nothing is trained.
``--standing-stats`` first replaces the generator's batch-norm moving averages by the
statistics of its layers' inputs over 20,000 latent vectors (standing statistics, as BigGAN
does), to see whether the moving averages of training cost it anything.
Writes the numbers as JSON under ``artifacts/benchmarks/``. Run: ``make bench-spread`` (about
two minutes with the defaults), or e.g. ``BENCH_ARGS="--model dcgan --draws 10 --samples 5000"``.
"""

from __future__ import annotations

import argparse
import json
import statistics

import keras
import numpy as np

from gan_helpers.evaluation import evaluate_generator
from gan_helpers.models import DIGITS, is_conditional, latent_dim_of
from gan_helpers.paths import artifacts_dir
from gan_helpers.pretrained import MODELS, load_pretrained, record_path
from gan_helpers.reproducibility import SEED

# (key in evaluate_generator's result, column title, scale, decimals)
COLUMNS = (
    ("classifier_score", "score", 1.0, 3),
    ("fd_ratio", "FD/floor", 1.0, 2),
    ("class_kl", "class KL", 1.0, 4),
    ("nn_distance_generated_mean", "NN dist", 1.0, 3),
    ("near_copy_share", "copies %", 100.0, 2),
    ("parzen_log_likelihood", "Parzen", 1.0, 1),
)
ASKED = ("digit_accuracy", "asked %", 100.0, 2)  # conditional models only


def format_line(label: str, values: list[float], columns: tuple = COLUMNS) -> str:
    decimals = [column[-1] for column in columns]
    return f"{label:>6}" + "".join(f"{v:>10.{d}f}" for v, d in zip(values, decimals, strict=True))


def use_standing_statistics(generator: keras.Model, n: int = 20_000, seed: int = 0) -> None:
    """Set each batch-norm layer's moving mean and variance, first to last, to those of its
    inputs over ``n`` latent vectors (a conditional generator asked for 0-9 in turn)."""
    latent = np.random.default_rng(seed).standard_normal((n, latent_dim_of(generator)))
    inputs = [latent.astype(np.float32)]
    if is_conditional(generator):
        inputs.append((np.arange(n) % DIGITS).astype(np.int32)[:, None])
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            upstream = keras.Model(generator.inputs, layer.input)  # uses the layers set so far
            x = upstream.predict(inputs, batch_size=1000, verbose=0)
            axes = tuple(range(x.ndim - 1))
            layer.moving_mean.assign(x.mean(axes))
            layer.moving_variance.assign(x.var(axes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="cdcgan", choices=sorted(MODELS))
    parser.add_argument("--draws", type=int, default=5, help="sets of latent vectors to score")
    parser.add_argument("--samples", type=int, default=10_000, help="images per draw")
    parser.add_argument(
        "--standing-stats", action="store_true", help="recompute batch-norm statistics first"
    )
    args = parser.parse_args()
    if args.draws < 2:
        parser.error(f"--draws must be at least 2 to measure a spread, got {args.draws}")

    generator = load_pretrained(args.model, "generator")
    if args.standing_stats:
        use_standing_statistics(generator)
    columns = (*COLUMNS, ASKED) if MODELS[args.model].conditional else COLUMNS
    print(
        f"shipped {args.model!r} generator, {args.draws} draws of {args.samples:,} samples "
        f"(draw {SEED} of 10,000 is the one in {record_path(args.model).name})"
        + (", batch-norm statistics recomputed" if args.standing_stats else "")
    )
    print(f"{'draw':>6}" + "".join(f"{title:>10}" for _, title, _, _ in columns))
    rows = []
    for seed in range(SEED, SEED + args.draws):
        metrics = evaluate_generator(generator, n_samples=args.samples, seed=seed)
        rows.append({key: float(metrics[key]) for key, *_ in columns})
        line = [rows[-1][key] * scale for key, _, scale, _ in columns]
        print(format_line(str(seed), line, columns))

    summary = {}
    for key, *_ in columns:
        values = [row[key] for row in rows]
        summary[key] = {
            "mean": statistics.fmean(values),
            "sd": statistics.stdev(values),
            "min": min(values),
            "max": max(values),
        }
    for name in ("mean", "sd", "min", "max"):
        line = [summary[key][name] * scale for key, _, scale, _ in columns]
        print(format_line(name, line, columns))

    out = artifacts_dir("benchmarks") / "sample_spread.json"
    settings = {
        "model": args.model,
        "draws": args.draws,
        "samples": args.samples,
        "standing_stats": args.standing_stats,
    }
    out.write_text(json.dumps({**settings, "rows": rows, "summary": summary}, indent=1) + "\n")
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
