"""Minibatches and validation splits, as row selections of the caller's arrays.

Nothing here copies a whole data set: a split is two views, and each batch is
gathered by index when it is used.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .validation import positive_float


def batch_rows(n: int, batch_size: int, order: np.ndarray | None = None) -> Iterator:
    """The rows of each minibatch: ``slice``s in data order, or chunks of ``order``.

    The last batch holds the remaining n mod batch_size rows; it is used, not dropped.
    """
    for start in range(0, n, batch_size):
        stop = start + batch_size
        yield slice(start, stop) if order is None else order[start:stop]


def n_batches(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def split_validation(
    X: np.ndarray, Y: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The last ``fraction`` of the rows (before any shuffling) for validation, as Keras does.

    Returns views ``X_train, Y_train, X_val, Y_val``.
    """
    fraction = positive_float(fraction, "validation_split", "fit")
    if fraction >= 1:
        raise ValueError(f"fit: `validation_split` must be between 0 and 1. Received: {fraction!r}")
    split_at = int(len(X) * (1.0 - fraction))
    if split_at == 0 or split_at == len(X):
        raise ValueError(
            f"fit: validation_split={fraction} of {len(X)} samples leaves "
            f"{split_at} for training and {len(X) - split_at} for validation; both need at "
            "least one."
        )
    return X[:split_at], Y[:split_at], X[split_at:], Y[split_at:]
