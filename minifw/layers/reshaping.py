"""Flatten: one feature axis from many."""

from __future__ import annotations

import math

from .base import Layer, register


@register()
class Flatten(Layer):
    """(n, d1, d2, ...) → (n, d1 · d2 · ...), e.g. 28×28 images to 784 features."""

    def __init__(self, *, input_shape: tuple[int, ...] | None = None, name: str | None = None):
        super().__init__(name=name)
        self._declared = None if input_shape is None else (None, *input_shape)

    @property
    def declared_input_shape(self):
        return self._declared

    def compute_output_shape(self, input_shape):
        return (input_shape[0], math.prod(input_shape[1:]))

    def forward(self, x, training=False):
        self._out = x.reshape(len(x), -1)
        return self._out

    def backward(self, grad_output):
        return grad_output.reshape((len(grad_output), *self.input_shape[1:]))

    def get_config(self):
        shape = None if self._declared is None else list(self._declared[1:])
        return {**super().get_config(), "input_shape": shape}
