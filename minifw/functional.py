"""Numerically stable functions that more than one component computes: each written once.

The softmax is both an activation (``minifw.layers.Softmax``) and the inside of the
cross-entropies from logits (``minifw.losses``); both call ``softmax_parts``. Written
with ufuncs and the row reductions ``row_max`` and ``row_sum``, which
``minifw.jit.primitives`` gives numba forms of, so the compiled engine runs them too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["row_max", "row_sum", "softmax_parts"]


def row_max(z: np.ndarray) -> np.ndarray:
    """The largest entry of each row (over the last axis), as a column (keepdims)."""
    return z.max(axis=-1, keepdims=True)


def row_sum(z: np.ndarray) -> np.ndarray:
    """The sum of each row (over the last axis), as a column (keepdims)."""
    return z.sum(axis=-1, keepdims=True)


def softmax_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """softmax(z), z − max z and log Σ e^(z − max z), row by row (over the last axis),
    without overflow: log softmax(z) = (z − max z) − log Σ e^(z − max z). The one home of
    the softmax, for the activation and for the cross-entropies from logits (and, compiled
    by numba with its forms of ``row_max`` and ``row_sum``, for the compiled engine)."""
    shifted = z - row_max(z)
    probabilities = np.exp(shifted)
    total = row_sum(probabilities)
    probabilities /= total
    return probabilities, shifted, np.log(total)
