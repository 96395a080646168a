"""Numerically stable functions that more than one component computes: each written once.

The softmax is both an activation (``minifw.layers.Softmax``) and the inside of the
cross-entropies from logits (``minifw.losses``); both call ``softmax_parts``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax_parts"]


def softmax_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """softmax(z), z − max z and log Σ e^(z − max z), row by row (over the last axis),
    without overflow: log softmax(z) = (z − max z) − log Σ e^(z − max z). The one home of
    the softmax, for the activation and for the cross-entropies from logits."""
    shifted = z - z.max(axis=-1, keepdims=True)
    probabilities = np.exp(shifted)
    total = probabilities.sum(axis=-1, keepdims=True)
    probabilities /= total
    return probabilities, shifted, np.log(total)
