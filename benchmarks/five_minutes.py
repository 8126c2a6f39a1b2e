"""Five minutes of training, several seeds: how reliably a model gets somewhere in 5 minutes.

Trains each of ``--models`` for ``--minutes`` (5) of training time once per seed in
``--seeds`` (0 1 2), as ``make pretrain`` trains (the code of ``benchmarks/time_to_quality.py``),
and scores the weight average with ``gan_helpers.evaluation.evaluate_generator`` (10,000
samples): classifier score, Fréchet ratio, the range of digit shares and their KL divergence
from even, per seed, then the mean and spread over seeds. Writes the rows as JSON under
``artifacts/benchmarks/``. Run: ``make bench-five`` (about 20 minutes with the defaults), or
e.g. ``BENCH_ARGS="--models cdcgan dcgan --seeds 0 1 2 3"``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from time_to_quality import HEADER, LEGEND, SPECS, train_and_score

from gan_helpers.data import load_mnist
from gan_helpers.paths import artifacts_dir

SUMMARY = {
    "classifier_score": ("score", 1.0, 2),
    "fd_ratio": ("FD/floor", 1.0, 1),
    "class_kl": ("KL", 1.0, 3),
    "min_class": ("rarest %", 100.0, 1),
    "max_class": ("commonest %", 100.0, 1),
}


def summary(rows: list[dict[str, Any]]) -> str:
    """Mean, standard deviation and range over seeds of each measure."""
    lines = []
    for key, (label, scale, decimals) in SUMMARY.items():
        values = [scale * row[key] for row in rows]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(
            f"  {label:12} mean {statistics.fmean(values):.{decimals}f}  sd {spread:.{decimals}f}"
            f"  range {min(values):.{decimals}f}-{max(values):.{decimals}f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["cdcgan"], choices=list(SPECS))
    parser.add_argument("--minutes", type=float, default=5, help="training minutes per run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=10_000, help="samples per evaluation")
    parser.add_argument(
        "--out", type=Path, default=artifacts_dir("benchmarks") / "five_minutes.json"
    )
    args = parser.parse_args()

    mnist = load_mnist()
    print(f"{args.minutes:g} minutes of training per run; seeds {args.seeds}")
    print(LEGEND)
    print(HEADER)
    rows: list[dict[str, Any]] = []
    for name in args.models:
        mine = []
        for seed in args.seeds:
            mine += train_and_score(name, [args.minutes], seed, args.samples, mnist)
        print(f"{name} over {len(mine)} seeds:\n{summary(mine)}", flush=True)
        rows += mine
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"NN of {args.samples:,} real test digits: {rows[0]['nn_distance_test']:.2f}")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
