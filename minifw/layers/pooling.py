"""Pooling over windows of channels-last images: max and average, windowed and global."""

from __future__ import annotations

import numpy as np

from ._windows import WindowedLayer, Windows, int_pair, padding_mode
from .base import Layer, register


class _Pooling2D(WindowedLayer):
    """Shared by MaxPooling2D and AveragePooling2D: the windows and the config."""

    def __init__(
        self, pool_size=2, strides=None, padding: str = "valid", *, name=None, input_shape=None
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        owner = type(self).__name__
        self.pool_size = int_pair(pool_size, "pool_size", owner)
        self.strides = self.pool_size if strides is None else int_pair(strides, "strides", owner)
        self.padding = padding_mode(padding, owner)

    def _window_for(self, input_shape) -> Windows:
        return Windows(
            input_shape, self.pool_size, self.strides, (1, 1), self.padding, type(self).__name__
        )

    def _tiles(self, x: np.ndarray) -> np.ndarray:
        """x as (n, H', ph, W', pw, C): the windows of a tiling (see ``Windows.tiles``)."""
        w, (ph, pw) = self.windows, self.pool_size
        used = x[:, : w.out_h * ph, : w.out_w * pw, :]
        return used.reshape(len(x), w.out_h, ph, w.out_w, pw, -1)

    def _tiles_shape(self, grad_output) -> tuple:
        n, out_h, out_w, channels = grad_output.shape
        return (n, out_h, self.pool_size[0], out_w, self.pool_size[1], channels)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


@register()
class MaxPooling2D(_Pooling2D):
    """out[n, y, x, c] = max of the window's cells (padding cells never win).

    Backward: each window's gradient goes to one cell, its maximum, the first in
    row-major order when several are equal (PyTorch's rule); other cells get 0. The
    taps are visited in row-major order, each taking the windows whose maximum it holds
    and no earlier tap took.
    """

    def forward(self, x, training=False):
        w = self.windows
        if w.tiles():
            self._source = self._tiles(x)
            out = self._source.max(axis=(2, 4))
        else:
            self._source = w.pad(x, -np.inf)
            cells = (self._source[tap] for _, _, tap in w.slices())
            out = next(cells).copy()
            for more in cells:
                np.maximum(out, more, out=out)
        self._pooled = out  # the maxima, to find where each came from
        return out

    def backward(self, grad_output):
        w, source, out = self.windows, self._source, self._pooled
        taken = np.zeros(out.shape, bool)
        if w.tiles():
            tiles = np.zeros(self._tiles_shape(grad_output), grad_output.dtype)
            for a, b, _ in w.slices():
                first = (source[:, :, a, :, b, :] == out) & ~taken
                taken |= first
                tiles[:, :, a, :, b, :] = grad_output * first
            return _uncrop(tiles, w, grad_output)
        padded = np.zeros(_padded_shape(w, grad_output), grad_output.dtype)
        for _, _, tap in w.slices():
            first = (source[tap] == out) & ~taken
            taken |= first
            padded[tap] += grad_output * first
        return w.crop(padded)


@register()
class AveragePooling2D(_Pooling2D):
    """out[n, y, x, c] = mean of the window's cells; with ``"same"`` padding the padded
    cells are left out of the mean (Keras's rule, PyTorch's count_include_pad=False).

    Backward: each cell of a window gets the window's gradient / its cell count.
    """

    def build(self, input_shape, rng=None, dtype="float64"):
        super().build(input_shape, rng, dtype)
        self._counts = None  # made at the first pass: a built layer holds nothing image-sized

    def counts(self) -> np.ndarray:
        """The real (unpadded) cells of each window, shape (1, H', W', 1)."""
        if self._counts is None:
            w = self.windows
            ones = w.pad(np.ones((1, w.height, w.width, 1), self.dtype))
            self._counts = sum(ones[tap] for _, _, tap in w.slices())
        return self._counts

    def forward(self, x, training=False):
        w = self.windows
        if w.tiles():
            out = self._tiles(x).mean(axis=(2, 4))
        else:
            padded = w.pad(x)
            out = sum(padded[tap] for _, _, tap in w.slices()) / self.counts()
        return out

    def backward(self, grad_output):
        w = self.windows
        share = grad_output / self.counts()
        if w.tiles():
            tiles = np.broadcast_to(share[:, :, None, :, None, :], self._tiles_shape(grad_output))
            return _uncrop(tiles, w, grad_output)
        padded = np.zeros(_padded_shape(w, grad_output), grad_output.dtype)
        for _, _, tap in w.slices():
            padded[tap] += share
        return w.crop(padded)


def _uncrop(tiles: np.ndarray, w: Windows, grad_output: np.ndarray) -> np.ndarray:
    """∂L/∂x from the tiles' gradient: the tiled cells, and 0 for rows and columns past."""
    n, out_h, ph, out_w, pw, channels = tiles.shape
    if (out_h * ph, out_w * pw) == (w.height, w.width):
        return tiles.reshape(n, w.height, w.width, channels)
    grad = np.zeros((n, w.height, w.width, channels), grad_output.dtype)
    grad[:, : out_h * ph, : out_w * pw, :] = tiles.reshape(n, out_h * ph, out_w * pw, channels)
    return grad


def _padded_shape(w: Windows, grad_output: np.ndarray) -> tuple:
    return (
        len(grad_output),
        w.height + sum(w.pads[0]),
        w.width + sum(w.pads[1]),
        grad_output.shape[-1],
    )


class _GlobalPooling2D(Layer):
    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"{type(self).__name__} expects images (batch, height, width, channels), got "
                f"input shape {tuple(input_shape)}."
            )
        return (input_shape[0], input_shape[-1])


@register()
class GlobalAveragePooling2D(_GlobalPooling2D):
    """(n, H, W, C) → (n, C): the mean over each channel's H·W cells."""

    def forward(self, x, training=False):
        return x.mean(axis=(1, 2))

    def backward(self, grad_output):
        _, height, width, channels = self.input_shape
        share = grad_output[:, None, None, :] / (height * width)
        return np.broadcast_to(share, (len(grad_output), height, width, channels)).copy()


@register()
class GlobalMaxPooling2D(_GlobalPooling2D):
    """(n, H, W, C) → (n, C): each channel's maximum; the gradient goes to its first
    maximum in row-major order."""

    def forward(self, x, training=False):
        flat = x.reshape(len(x), -1, x.shape[-1])
        self._winner = flat.argmax(axis=1)
        return np.take_along_axis(flat, self._winner[:, None, :], axis=1)[:, 0, :]

    def backward(self, grad_output):
        _, height, width, channels = self.input_shape
        grad = np.zeros((len(grad_output), height * width, channels), grad_output.dtype)
        np.put_along_axis(grad, self._winner[:, None, :], grad_output[:, None, :], axis=1)
        return grad.reshape(len(grad_output), height, width, channels)
