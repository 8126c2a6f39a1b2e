"""A faster way to compute the seed generator's last layer on a CPU, with the same result.

The seed DCGAN ends in ``Conv2D(1, 7, padding="same")``: 128 channels of a 28x28 map mixed
into one grey image. TensorFlow's CPU convolution handles that shape badly: only 7 % of its
multiply-adds, yet as slow as the largest layer (``make bench-layers``), because a
convolution with a single output channel leaves the matrix unit nothing wide to work on.

:class:`ShiftSumConv2D` computes the same function another way. A ``k x k`` convolution is
a sum over its ``k * k`` kernel taps, each tap a 1x1 convolution (a plain matrix product
over channels) shifted into place. So it does all the taps' products at once, one matrix
product from ``channels`` to ``k * k * filters`` numbers per pixel (the same multiply-adds
as the convolution), then adds the ``k * k`` shifted maps. Its backward pass is written out
the same way: two matrix products and shifted copies. The layer is a ``Conv2D`` in every
other respect (weights, configuration, bias, activation), so saved weights move freely
between the two; ``tests/test_fast_conv.py`` checks outputs and gradients agree.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="gan_helpers")
class ShiftSumConv2D(layers.Conv2D):
    """``Conv2D`` computed as one matrix product plus shifted sums: for few filters on a CPU.

    Takes the arguments of ``keras.layers.Conv2D`` and gives the same outputs (up to float
    rounding), but only for what it was made for: stride 1, ``padding="same"``, no dilation,
    no groups, channels last and an odd square kernel. Anything else raises ValueError. It
    pays off when ``filters`` is small (the seed generator's 1): its scratch memory is
    ``kernel_size ** 2 * filters`` numbers per pixel.
    """

    def __init__(self, filters: int, kernel_size: int | tuple[int, int], **kwargs: object) -> None:
        super().__init__(filters, kernel_size, **kwargs)
        height, width = self.kernel_size
        unsupported = {
            "strides": self.strides != (1, 1),
            "padding": self.padding != "same",
            "dilation_rate": self.dilation_rate != (1, 1),
            "groups": self.groups != 1,
            "data_format": self.data_format != "channels_last",
            "kernel_size": height != width or height % 2 == 0,
        }
        wrong = [name for name, is_wrong in unsupported.items() if is_wrong]
        if wrong:
            raise ValueError(
                f"ShiftSumConv2D supports stride 1, padding='same', no dilation or groups, "
                f"channels_last and an odd square kernel; not this {', '.join(wrong)}. "
                "Use keras.layers.Conv2D for that."
            )

    def convolution_op(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        return _shift_sum_conv(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


@tf.custom_gradient
def _shift_sum_conv(images: tf.Tensor, kernel: tf.Tensor) -> tuple[tf.Tensor, object]:
    size, _, channels, filters = kernel.shape
    half = size // 2
    taps = size * size
    batch = tf.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    pixels = tf.reshape(images, (-1, channels))
    tap_weights = tf.reshape(kernel, (taps, channels, filters))
    tap_weights = tf.reshape(tf.transpose(tap_weights, (0, 2, 1)), (taps * filters, channels))
    # Tap-major layout, so that each shifted map below is one contiguous slice.
    per_tap = tf.matmul(tap_weights, pixels, transpose_b=True)
    per_tap = tf.reshape(per_tap, (taps, filters, batch, height, width))
    per_tap = tf.pad(per_tap, [[0, 0], [0, 0], [0, 0], [half, half], [half, half]])
    # Tap (i, j) looks (i - half, j - half) pixels away from the output pixel.
    total = tf.add_n(
        [
            per_tap[i * size + j, :, :, i : i + height, j : j + width]
            for i in range(size)
            for j in range(size)
        ]
    )
    outputs = tf.transpose(total, (1, 2, 3, 0))

    def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        upstream = tf.pad(
            tf.transpose(upstream, (3, 0, 1, 2)), [[0, 0], [0, 0], [half, half], [half, half]]
        )
        # Each tap's map received the upstream gradient shifted back the other way.
        back = 2 * half
        per_tap_grad = tf.stack(
            [
                upstream[:, :, back - i : back - i + height, back - j : back - j + width]
                for i in range(size)
                for j in range(size)
            ]
        )
        per_tap_grad = tf.reshape(per_tap_grad, (taps * filters, -1))
        image_grad = tf.matmul(per_tap_grad, tap_weights, transpose_a=True)
        weight_grad = tf.matmul(per_tap_grad, pixels)
        weight_grad = tf.transpose(tf.reshape(weight_grad, (taps, filters, channels)), (0, 2, 1))
        return (
            tf.reshape(image_grad, tf.shape(images)),
            tf.reshape(weight_grad, (size, size, channels, filters)),
        )

    return outputs, gradient


def with_plain_convolutions(model: keras.Model) -> keras.Model:
    """A copy of ``model`` whose :class:`ShiftSumConv2D` layers are plain ``Conv2D`` again.

    The copy has the same weights and computes the same function, the usual (slower) way:
    e.g. the seed generator exactly as the seed tutorial wrote it, for comparisons.
    """

    def plain(layer: layers.Layer) -> layers.Layer:
        if isinstance(layer, ShiftSumConv2D):
            return layers.Conv2D.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=plain)
    copy.set_weights(model.get_weights())
    return copy
