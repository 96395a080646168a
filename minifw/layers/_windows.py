"""Sliding windows over images (n, H, W, C): Keras's padding rule, and each kernel offset
("tap") as one strided slice of the padded input, shared by convolution and pooling.

For one axis of size H, kernel k, stride s and dilation d, the window spans
(k − 1)·d + 1 cells and:

- ``"valid"``: H' = ⌊(H − span) / s⌋ + 1, no padding;
- ``"same"``: H' = ⌈H / s⌉, total padding max((H' − 1)·s + span − H, 0), of which
  total // 2 goes on top (left) and the rest at the bottom (right), as in Keras.

Tap (a, b) of the kernel reads the padded rows a·d, a·d + s, …, a·d + (H' − 1)·s: a
strided slice, so a whole batch's window cells for one tap are one NumPy view, and
accumulating a gradient into the input is kh·kw slice additions (no ``np.add.at``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np

from .base import Layer


def int_pair(value: object, name: str, owner: str) -> tuple[int, int]:
    """A positive int or a pair of them, as (rows, columns)."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    ok = (
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in pair)
    )
    if not ok or isinstance(value, bool):
        raise ValueError(
            f"{owner}: `{name}` must be a positive integer or a pair of them. "
            f"Received: {name}={value!r}"
        )
    return int(pair[0]), int(pair[1])


def padding_mode(value: object, owner: str) -> str:
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise ValueError(f"{owner}: `padding` must be 'valid' or 'same'. Received: {value!r}")
    return value.lower()


def axis_windows(size, kernel, stride, dilation, padding, owner, axis) -> tuple[int, int, int]:
    """(output size, padding before, padding after) along one axis."""
    span = (kernel - 1) * dilation + 1
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + span - size, 0)
        return out, total // 2, total - total // 2
    if span > size:
        raise ValueError(
            f"{owner}: the window spans {span} {axis} (kernel {kernel}, dilation {dilation}) "
            f"but the input has only {size}; use padding='same' or a smaller kernel."
        )
    return (size - span) // stride + 1, 0, 0


class Windows:
    """The windows of a kernel over inputs (n, H, W, C) of one height and width."""

    def __init__(self, input_shape, kernel, strides, dilation, padding, owner) -> None:
        if len(input_shape) != 4:
            raise ValueError(
                f"{owner} expects images (batch, height, width, channels), got input shape "
                f"{tuple(input_shape)}. Add a channel axis, e.g. X.reshape(n, H, W, 1)."
            )
        self.kernel, self.strides, self.dilation = kernel, strides, dilation
        self.height, self.width = input_shape[1], input_shape[2]
        self.out_h, top, bottom = axis_windows(
            self.height, kernel[0], strides[0], dilation[0], padding, owner, "rows"
        )
        self.out_w, left, right = axis_windows(
            self.width, kernel[1], strides[1], dilation[1], padding, owner, "columns"
        )
        self.pads = ((top, bottom), (left, right))
        self.padded = any(sum(p) for p in self.pads)

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def tiles(self) -> bool:
        """Windows side by side, no gap, no overlap, no padding: a reshape of the input's
        top-left H'·kh × W'·kw cells gives them (the rows and columns past are never read)."""
        return not self.padded and self.strides == self.kernel and self.dilation == (1, 1)

    def pad(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        """x with the padding rows and columns added (x itself when there are none)."""
        if not self.padded:
            return x
        return np.pad(x, ((0, 0), *self.pads, (0, 0)), constant_values=value)

    def crop(self, padded: np.ndarray) -> np.ndarray:
        """The inverse of ``pad``: the input's own rows and columns."""
        if not self.padded:
            return padded
        (top, _), (left, _) = self.pads
        return padded[:, top : top + self.height, left : left + self.width, :]

    def slices(self) -> Iterator[tuple[int, int, tuple[slice, slice, slice, slice]]]:
        """(a, b, index) for each tap, row-major: ``padded[index]`` has shape (n, H', W', C)."""
        (sh, sw), (dh, dw) = self.strides, self.dilation
        for a in range(self.kernel[0]):
            rows = slice(a * dh, a * dh + (self.out_h - 1) * sh + 1, sh)
            for b in range(self.kernel[1]):
                columns = slice(b * dw, b * dw + (self.out_w - 1) * sw + 1, sw)
                yield a, b, (slice(None), rows, columns, slice(None))


class WindowedLayer(Layer):
    """A layer that slides windows over images (n, H, W, C): convolution and pooling.

    A subclass says where its windows lie (``_window_for``) and how many channels
    it outputs (``_channels_out``); the output shape and ``windows`` follow.
    """

    _windows: Windows | None = None

    def _window_for(self, input_shape) -> Windows:
        raise NotImplementedError

    def _channels_out(self, input_shape) -> int:
        return input_shape[-1]

    @property
    def windows(self) -> Windows:
        """Where the windows of the built layer lie: output size, padding, taps."""
        if self._windows is None:
            raise RuntimeError(f"{self!r} is not built.")
        return self._windows

    def compute_output_shape(self, input_shape):
        windows = self._window_for(input_shape)
        return (input_shape[0], windows.out_h, windows.out_w, self._channels_out(input_shape))

    def build(self, input_shape, rng=None, dtype="float64"):
        super().build(input_shape, rng, dtype)
        self._windows = self._window_for(self.input_shape)
