"""Flatten: one feature axis from many."""

from __future__ import annotations

import math

from .base import Layer, register


@register()
class Flatten(Layer):
    """(n, d1, d2, ...) → (n, d1 · d2 · ...), e.g. 28×28 images to 784 features."""

    def __init__(self, *, input_shape: tuple[int, ...] | None = None, name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], math.prod(input_shape[1:]))

    def forward(self, x, training=False):
        return x.reshape(len(x), -1)

    def backward(self, grad_output):
        return grad_output.reshape((len(grad_output), *self.input_shape[1:]))


@register()
class Reshape(Layer):
    """(n, d1, d2, ...) → (n, *target_shape), in C order; one entry of target_shape may
    be −1 (inferred). Backward reshapes the gradient back."""

    def __init__(self, target_shape, *, name: str | None = None, input_shape=None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if (
            not isinstance(target_shape, (tuple, list))
            or not target_shape
            or not all(
                isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1)
                for d in target_shape
            )
            or list(target_shape).count(-1) > 1
        ):
            raise ValueError(
                "Reshape: `target_shape` must be a tuple of positive sizes (one may be -1). "
                f"Received: target_shape={target_shape!r}"
            )
        self.target_shape = tuple(target_shape)

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        target = tuple(size // known if d == -1 else d for d in self.target_shape)
        if math.prod(target) != size:
            raise ValueError(
                f"Reshape: cannot reshape inputs of shape {tuple(input_shape[1:])} ({size} "
                f"values per sample) to {self.target_shape}."
            )
        return (input_shape[0], *target)

    def forward(self, x, training=False):
        return x.reshape((len(x), *self.output_shape[1:]))

    def backward(self, grad_output):
        return grad_output.reshape((len(grad_output), *self.input_shape[1:]))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
