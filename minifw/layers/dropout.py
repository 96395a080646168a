"""Dropout: randomly zero units while training."""

from __future__ import annotations

import numpy as np

from .base import Layer


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

    def __init__(self, rate: float, *, name: str | None = None) -> None:
        super().__init__(name=name)
        is_number = isinstance(rate, (int, float)) and not isinstance(rate, bool)
        if not is_number or not 0 <= rate < 1:
            raise ValueError(f"Dropout: `rate` must be a number in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self._scaled_mask: np.ndarray | None = None
        self._rng = np.random.default_rng()

    def _init_params(self, input_shape, rng, dtype):
        self._rng = np.random.default_rng(rng.integers(2**63))
        return {}

    def _forward(self, x, training):
        if training and self.rate > 0:
            keep = self._rng.random(x.shape, dtype=x.dtype) >= self.rate
            self._scaled_mask = keep * x.dtype.type(1 / (1 - self.rate))
            self._out = x * self._scaled_mask
        else:
            self._scaled_mask = None
            self._out = x
        return self._out

    def _backward(self, grad_out):
        return grad_out if self._scaled_mask is None else grad_out * self._scaled_mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
