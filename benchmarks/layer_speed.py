"""Where the seed DCGAN's training time goes: each layer of its models timed on its own.

For every dense and convolution layer of the seed generator and discriminator, at the seed's
batch of 256, the script times one forward pass and one forward + backward pass (gradients
for the layer's input and weights, as training needs), and prints milliseconds, achieved
GFLOP/s and the share of this machine's fp32 matrix-multiply peak. A layer whose GFLOP/s is far
below the peak is where a faster step would have to come from. The generator's last layer is
timed twice: as the seed wrote it (``Conv2D``) and as the project computes it
(``ShiftSumConv2D``, the same function; see ``gan_helpers.fast_conv``). Run:
``make bench-layers``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import keras
import tensorflow as tf
from throughput import matmul_peak_gflops

import gan_helpers  # noqa: F401  (loads TensorFlow quietly)
from gan_helpers import models
from gan_helpers.fast_conv import ShiftSumConv2D


def best_seconds(function: Callable[[tf.Tensor], object], value: tf.Tensor, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls, after two untimed ones (tracing, allocation)."""
    for _ in range(2):
        tf.nest.map_structure(lambda t: t.numpy(), function(value))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), function(value))
        best = min(best, time.perf_counter() - start)
    return best


def time_layer(
    layer: keras.layers.Layer, batch: int, repeats: int, as_type: type | None = None
) -> tuple[float, float, int]:
    """Forward and forward + backward seconds of ``layer`` on a random batch, and its mult-adds.

    ``as_type`` times a layer of that class made from ``layer``'s configuration instead.
    """
    # A fresh copy of the layer in a model of its own, so multiply_adds counts just this one.
    inner = (as_type or type(layer)).from_config(layer.get_config())
    single = keras.Sequential([keras.Input(layer.input.shape[1:]), inner])
    value = tf.random.normal((batch, *layer.input.shape[1:]))

    @tf.function
    def forward(x: tf.Tensor) -> tf.Tensor:
        return inner(x)

    @tf.function
    def forward_backward(x: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(inner(x)))
        return tape.gradient(loss, [x, *inner.trainable_weights])

    return (
        best_seconds(forward, value, repeats),
        best_seconds(forward_backward, value, repeats),
        models.multiply_adds(single),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    peak = matmul_peak_gflops()
    print(f"fp32 matmul peak on this machine: {peak:.0f} GFLOP/s; batch {args.batch}")
    print()
    header = (
        f"{'model':20} {'layer':32} {'MFLOP/img':>9} {'fwd ms':>7} {'fwd %pk':>7} "
        f"{'f+b ms':>7} {'f+b %pk':>7}"
    )
    print(header)
    print("-" * len(header))
    for model in (models.build_dcgan_generator(), models.build_dcgan_discriminator()):
        for layer in model.layers:
            if not isinstance(
                layer, keras.layers.Dense | keras.layers.Conv2D | keras.layers.Conv2DTranspose
            ):
                continue
            ways = [type(layer)]
            if isinstance(layer, ShiftSumConv2D):
                ways.insert(0, keras.layers.Conv2D)  # the seed's way first
            for way in ways:
                forward, both, multiply_adds = time_layer(layer, args.batch, args.repeats, way)
                flops = 2.0 * multiply_adds * args.batch
                shape = "x".join(str(d) for d in layer.output.shape[1:])
                print(
                    f"{model.name:20} {way.__name__ + ' -> ' + shape:32} "
                    f"{2 * multiply_adds / 1e6:>9.1f} {forward * 1e3:>7.1f} "
                    f"{100 * flops / forward / 1e9 / peak:>6.0f}% {both * 1e3:>7.1f} "
                    f"{100 * 3 * flops / both / 1e9 / peak:>6.0f}%"
                )


if __name__ == "__main__":
    main()
