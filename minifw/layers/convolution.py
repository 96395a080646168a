"""Conv2D: 2-D convolution (cross-correlation, as in every framework) on channels-last images."""

from __future__ import annotations

import numpy as np

from ..validation import positive_int
from ._windows import WindowedLayer, Windows, int_pair, padding_mode
from .base import register
from .kernel import KernelLayer

# im2col (one matrix product over a patch buffer) while a patch row is at most this long;
# per-tap products beyond (measured on W5's layers: see docs/convolution.md).
IM2COL_MAX_PATCH = 32


@register()
class Conv2D(WindowedLayer, KernelLayer):
    """out[n, y, x, f] = b_f + Σ_{a, c, ch} X_pad[n, y·s + a·d, x·s + c·d, ch] · W[a, c, ch, f].

    Shapes: X (n, H, W, C), W (kh, kw, C, filters) as in Keras, b (filters,), output
    (n, H', W', filters) with H', W' from ``padding`` (see ``minifw.layers._windows``).

    With G = ∂L/∂out and one matrix product per kernel offset (a, c) (a "tap", whose
    input cells form the strided view T_ac of shape (n·H'·W', C)):

        ∂L/∂W[a, c] = T_acᵀ G          ∂L/∂b = Σ over n, y, x of G
        ∂L/∂X_pad[tap (a, c)] += G W[a, c]ᵀ   (then the padding is cropped)

    Two ways to the same numbers, picked by the patch length kh·kw·C: up to
    ``IM2COL_MAX_PATCH`` the taps are copied side by side into one patch matrix
    (n·H'·W', kh·kw·C) and each pass is one matrix product (best for a first layer
    with few channels); beyond, one product per tap, with no patch buffer.

    Parameters
    ----------
    filters : int
    kernel_size, strides, dilation_rate : int or (int, int)
    padding : "valid" or "same"
    activation : str or Activation, optional
        Shorthand for this layer followed by that activation.
    input_shape : (H, W, C), optional
        For the first layer of a model.
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        activation=None,
        *,
        input_shape=None,
        dilation_rate=1,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        use_bias: bool = True,
        kernel_regularizer=None,
        bias_regularizer=None,
        name: str | None = None,
    ) -> None:
        owner = "Conv2D"
        if input_shape is not None and (
            not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3
        ):
            raise ValueError(
                f"Conv2D: `input_shape` must be (height, width, channels). "
                f"Received: input_shape={input_shape!r}"
            )
        super().__init__(
            activation,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            use_bias=use_bias,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            name=name,
            input_shape=input_shape,
        )
        self.filters = positive_int(filters, "filters", owner)
        self.kernel_size = int_pair(kernel_size, "kernel_size", owner)
        self.strides = int_pair(strides, "strides", owner)
        self.dilation_rate = int_pair(dilation_rate, "dilation_rate", owner)
        self.padding = padding_mode(padding, owner)

    def _window_for(self, input_shape) -> Windows:
        return Windows(
            input_shape, self.kernel_size, self.strides, self.dilation_rate, self.padding, "Conv2D"
        )

    def kernel_shape(self, input_shape):
        """W: (kh, kw, in_channels, filters), Keras's layout."""
        self._window_for(input_shape)  # refuses an input the kernel cannot slide over
        return (*self.kernel_size, input_shape[-1], self.filters)

    def _channels_out(self, input_shape) -> int:
        return self.filters

    def build(self, input_shape, rng=None, dtype="float64"):
        super().build(input_shape, rng, dtype)
        self._im2col = self.windows.taps * self.input_shape[-1] <= IM2COL_MAX_PATCH

    def net(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The convolution before the activation (see the class docstring)."""
        windows, W = self.windows, self.params["W"]
        n, C, F = len(x), x.shape[-1], self.filters
        rows = n * windows.out_h * windows.out_w
        padded = windows.pad(x)
        if self._im2col:
            patches = np.empty((n, windows.out_h, windows.out_w, *self.kernel_size, C), x.dtype)
            for a, b, tap in windows.slices():
                patches[:, :, :, a, b, :] = padded[tap]
            patches = patches.reshape(rows, -1)
            out = patches.dot(W.reshape(-1, F))
            self._cache = patches
        else:
            out = np.zeros((rows, F), x.dtype)
            for a, b, tap in windows.slices():
                out += np.ascontiguousarray(padded[tap]).reshape(rows, C).dot(W[a, b])
            self._cache = padded
        if self.use_bias:
            out += self.params["b"][np.newaxis]
        return out.reshape(n, windows.out_h, windows.out_w, F)

    def net_backward(self, grad_out: np.ndarray) -> np.ndarray:
        """∂L/∂X, after ``parameter_gradients`` (see the class docstring)."""
        self.parameter_gradients(grad_out)
        windows, W = self.windows, self.params["W"]
        n, C = len(grad_out), self.input_shape[-1]
        G = grad_out.reshape(-1, self.filters)
        padded = np.zeros(
            (n, windows.height + sum(windows.pads[0]), windows.width + sum(windows.pads[1]), C),
            grad_out.dtype,
        )
        shape = (n, windows.out_h, windows.out_w, C)
        if self._im2col:
            cells = G.dot(W.reshape(-1, self.filters).T)  # ∂L/∂patches
            cells = cells.reshape(*shape[:3], *self.kernel_size, C)
            for a, b, tap in windows.slices():
                padded[tap] += cells[:, :, :, a, b, :]
        else:
            for a, b, tap in windows.slices():
                padded[tap] += G.dot(W[a, b].T).reshape(shape)
        return windows.crop(padded)

    def parameter_gradients(self, grad_out: np.ndarray) -> None:
        """∂L/∂W and ∂L/∂b into ``grads``: all a model's first layer computes."""
        windows, dW = self.windows, self.grads["W"]
        G = grad_out.reshape(-1, self.filters)
        if self._im2col:
            self._cache.T.dot(G, out=dW.reshape(-1, self.filters))
        else:
            rows, C = len(G), self.input_shape[-1]
            for a, b, tap in windows.slices():
                tap_cells = np.ascontiguousarray(self._cache[tap]).reshape(rows, C)
                tap_cells.T.dot(G, out=dW[a, b])
        if self.use_bias:
            G.sum(axis=0, out=self.grads["b"])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
        }
