"""Dropout: randomly zero units while training."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .base import LOCAL, BatchContext, Layer, register


@register()
class Dropout(Layer):
    """Inverted dropout: o = x · m / (1 − rate) with m_j ~ Bernoulli(1 − rate), in training only.

    At inference (``training=False``, as in ``predict`` and ``evaluate``) it is the
    identity, so no rescaling is needed there. Backward: ∂L/∂x = ∂L/∂o · m / (1 − rate).
    Masks are drawn from a generator seeded from the model's seed when the
    layer is built: the same seed gives the same masks.

    Parameters
    ----------
    rate : float
        Fraction of units dropped, 0 ≤ rate < 1.
    """

    keeps_mask = True  # each step alone: a sequence's mask passes through
    any_length = True

    def __init__(
        self, rate: float, *, name: str | None = None, input_shape: tuple | None = None
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        is_number = isinstance(rate, (int, float)) and not isinstance(rate, bool)
        if not is_number or not 0 <= rate < 1:
            raise ValueError(f"Dropout: `rate` must be a number in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self._scaled_mask: np.ndarray | None = None
        self.rng = np.random.default_rng()

    def build(self, input_shape, rng=None, dtype="float64"):
        super().build(input_shape, rng, dtype)
        self.rng = np.random.default_rng(None if rng is None else rng.integers(2**63))

    whole_batch = True  # the masks are drawn for the whole batch

    def steps(self, context: BatchContext = LOCAL):
        (step,) = super().steps(context)  # backward as written: the mask needs no context
        return [replace(step, forward=lambda x, training: self.drop(x, training, context))]

    def forward(self, x, training=False):
        return self.drop(x, training, LOCAL)

    def drop(self, x: np.ndarray, training: bool, context: BatchContext) -> np.ndarray:
        """o = x · m / (1 − rate) in training, o = x otherwise; the masks are drawn for
        ``context``'s whole batch and these rows' part of them kept."""
        if training and self.rate > 0:
            if context.part is None:
                keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
            else:  # the whole batch's masks, then this process's rows of them
                total, start = context.part
                drawn = self.rng.random((total, *x.shape[1:]), dtype=x.dtype)
                keep = drawn[start : start + len(x)] >= self.rate
            self._scaled_mask = keep * x.dtype.type(1 / (1 - self.rate))
            return x * self._scaled_mask
        self._scaled_mask = None
        return x

    def backward(self, grad_output):
        """∂L/∂x = ∂L/∂o · m / (1 − rate) (the mask of the last forward pass)."""
        if self._scaled_mask is None:
            return grad_output
        return grad_output * self._scaled_mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
